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
use serde_json::Value;
use watsmith_agent::{
    Agent, AgentLimits, AgentParts, ChatFuture, ChatRequest, ChatResponse, ClientOptions, Deltas,
    Ending, Event, ModelSettings, OpenAi, Protocol, Provider, Session, StopReason, TokenUsage,
};
use watsmith_catalog::{Catalog, Prepared};
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
                reasoning: String::new(),
                text,
                tool_calls: Vec::new(),
                usage: TokenUsage::default(),
                stop_reason: StopReason::EndTurn,
            })
        })
    }
}

/// The scripted OpenAI-compatible server on 127.0.0.1 (its own thread and runtime), answering
/// as [`Instant`] does; its base URL.
fn loopback_server() -> String {
    let (address, _) = watsmith_test_support::openai_server(|request: &Value| {
        if request["messages"].as_array().map_or(0, Vec::len) == 2 {
            format!("```wat\n{BODY}\n```")
        } else {
            "42".to_owned()
        }
    });
    format!("http://{address}/v1")
}

fn agent(provider: Arc<dyn Provider>, catalog: &Arc<Prepared>, stream: bool) -> Agent {
    let mut settings = ModelSettings::new("instant", Protocol::Text);
    settings.stream = stream;
    Agent::new(AgentParts {
        provider,
        catalog: Arc::clone(catalog),
        policy: Policy::standard(),
        limits: Limits::default(),
        agent_limits: AgentLimits::default(),
        settings,
    })
}

fn bench(c: &mut Criterion) {
    watsmith_test_support::install_tls();
    let engine = Arc::new(Engine::new(&EngineConfig::default()).expect("engine"));
    let catalog = Arc::new(Prepared::new(
        Arc::new(Catalog::builtin()),
        Arc::clone(&engine),
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base_url = loopback_server();
    let openai = || -> Arc<dyn Provider> {
        Arc::new(OpenAi::new(ClientOptions::new(base_url.clone())).expect("client"))
    };
    for (name, agent) in [
        ("task_in_process", agent(Arc::new(Instant), &catalog, false)),
        ("task_over_loopback", agent(openai(), &catalog, false)),
        (
            "task_over_loopback_streamed",
            agent(openai(), &catalog, true),
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
        b.iter(|| {
            let outcome = engine.exec(BODY, vec![], &policy, &limits);
            assert_eq!(outcome.results, [watsmith_engine::Value::I64(42)]);
            black_box(outcome)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
