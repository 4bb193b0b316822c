//! The agent's own cost per step, model latency excluded: one task of two requests (a program,
//! then the answer) against a provider that answers at once, so what is timed is building the
//! requests (system prompt, history, hash), reading the answers, running the action through the
//! engine (the body is cached after the first iteration, as a retried or repeated body is), the
//! observation and the events.
//!
//! - `task_in_process`: the provider is in the process (no network at all);
//! - `task_over_loopback` and `task_over_loopback_streamed`: the real OpenAI client against a
//!   scripted OpenAI-compatible server on 127.0.0.1 (its own thread and runtime), answering
//!   JSON or a server-sent-event stream, so the client's encoding, HTTP and decoding count;
//! - `engine_run_alone`: the same body through `Engine::exec`, to subtract.
//!
//! `cargo bench -p watsmith-agent --bench step`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use watsmith_agent::{
    Agent, AgentLimits, AgentParts, ChatFuture, ChatRequest, ChatResponse, ClientOptions, Deltas,
    Ending, Event, ModelSettings, OpenAi, Protocol, Provider, Session, StopReason, TokenUsage,
};
use watsmith_catalog::Catalog;
use watsmith_engine::{Engine, EngineConfig, Limits, Policy};

const BODY: &str =
    "(local $n i64)\n(local.set $n (i64.mul (i64.const 6) (i64.const 7)))\n(resv $n)";

/// Answers with the program until the conversation has its observation, then with the answer.
struct Instant;

impl Provider for Instant {
    fn name(&self) -> &str {
        "instant"
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, _deltas: Deltas<'a>) -> ChatFuture<'a> {
        let text = if request.messages.len() == 1 {
            format!("```wat\n{BODY}\n```")
        } else {
            "42".to_owned()
        };
        Box::pin(async move {
            Ok(ChatResponse {
                text,
                tool_calls: Vec::new(),
                usage: TokenUsage::default(),
                stop_reason: StopReason::EndTurn,
            })
        })
    }
}

/// The answer of the scripted OpenAI-compatible server to `request`, as [`Instant`] answers.
fn openai_answer(request: &Value) -> ([(&'static str, &'static str); 1], String) {
    let text = if request["messages"].as_array().map_or(0, Vec::len) == 2 {
        format!("```wat\n{BODY}\n```")
    } else {
        "42".to_owned()
    };
    let usage = json!({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2});
    if request["stream"] == true {
        let chunk = json!({"id": "c", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]});
        let tail = json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
            "usage": usage});
        (
            [("content-type", "text/event-stream")],
            format!("data: {chunk}\n\ndata: {tail}\n\ndata: [DONE]\n\n"),
        )
    } else {
        (
            [("content-type", "application/json")],
            json!({"id": "c", "object": "chat.completion", "choices": [{"index": 0,
                "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": usage})
            .to_string(),
        )
    }
}

/// Starts the scripted server on 127.0.0.1 in its own thread; its base URL.
fn loopback_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = axum::Router::new().route(
                "/v1/chat/completions",
                axum::routing::post(|body: axum::Json<Value>| async move { openai_answer(&body) }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    format!("http://{address}/v1")
}

fn agent(provider: Arc<dyn Provider>, engine: &Arc<Engine>, stream: bool) -> Agent {
    let mut settings = ModelSettings::new("instant", Protocol::Text);
    settings.stream = stream;
    Agent::new(AgentParts {
        provider,
        engine: engine.clone(),
        catalog: Arc::new(Catalog::builtin()),
        policy: Policy::standard(),
        limits: Limits::default(),
        agent_limits: AgentLimits::default(),
        settings,
    })
}

fn bench(c: &mut Criterion) {
    let engine = Arc::new(Engine::new(&EngineConfig::default()).expect("engine"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base_url = loopback_server();
    let openai = || -> Arc<dyn Provider> {
        Arc::new(OpenAi::new(ClientOptions::new(base_url.clone())).expect("client"))
    };
    for (name, agent) in [
        ("task_in_process", agent(Arc::new(Instant), &engine, false)),
        ("task_over_loopback", agent(openai(), &engine, false)),
        (
            "task_over_loopback_streamed",
            agent(openai(), &engine, true),
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut events = 0usize;
                let finish = runtime.block_on(agent.run(
                    &mut Session::default(),
                    "6 * 7?",
                    &mut |_: &Event| events += 1,
                ));
                assert_eq!(finish.ending, Ending::Answer("42".to_owned()));
                black_box(events)
            })
        });
    }
    let policy = Policy::standard();
    let limits = Limits::default();
    c.bench_function("engine_run_alone", |b| {
        b.iter(|| black_box(engine.exec(BODY, vec![], &policy, &limits)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
