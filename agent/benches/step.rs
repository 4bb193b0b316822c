//! The agent's own cost per step, model latency excluded: one task of two requests (a program,
//! then the answer) against a provider that answers at once, so what is timed is building the
//! requests (system prompt, history, hash), reading the answers, running the action through the
//! engine (the body is cached after the first iteration, as a retried or repeated body is), the
//! observation and the events.
//!
//! - `task_in_process`: the provider is in the process (no network at all);
//! - `engine_run_alone`: the same body through `Engine::exec`, to subtract.
//!
//! `cargo bench -p watsmith-agent --bench step`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use watsmith_agent::{
    Agent, AgentLimits, AgentParts, ChatFuture, ChatRequest, ChatResponse, Deltas, Ending, Event,
    ModelSettings, Protocol, Provider, Session, StopReason, TokenUsage,
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

fn bench(c: &mut Criterion) {
    let engine = Arc::new(Engine::new(&EngineConfig::default()).expect("engine"));
    let agent = Agent::new(AgentParts {
        provider: Arc::new(Instant),
        engine: engine.clone(),
        catalog: Arc::new(Catalog::builtin()),
        policy: Policy::standard(),
        limits: Limits::default(),
        agent_limits: AgentLimits::default(),
        settings: ModelSettings::new("instant", Protocol::Text),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    c.bench_function("task_in_process", |b| {
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
    let policy = Policy::standard();
    let limits = Limits::default();
    c.bench_function("engine_run_alone", |b| {
        b.iter(|| black_box(engine.exec(BODY, vec![], &policy, &limits)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
