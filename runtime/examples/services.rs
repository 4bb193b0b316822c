//! The runtime services' figures, for the README: what cancellation adds to a catalog call
//! (beside admission, which every call goes through), events per second through a subscriber,
//! and the memory of an idle live session. Run it in release:
//! `cargo run --release -p watsmith-runtime --example services`. Every result is checked.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use watsmith_agent::{
    ChatFuture, ChatRequest, ChatResponse, Deltas, PromptStyle, Protocol, Provider, StopReason,
    TokenUsage,
};
use watsmith_catalog::Literal;
use watsmith_engine::{CancellationToken, PolicySpec, Status, Value};
use watsmith_runtime::{
    CallSpec, Database, Effective, ModelChoice, Prewarm, Runtime, RuntimeOptions, SessionSpec,
    Sessions, SessionsConfig, Store, Streamed, UseSpec,
};

/// Timed catalog calls of each kind per round, and rounds (alternating the kinds, so that the
/// machine's drift falls on both).
const CALLS: usize = 20_000;
const ROUNDS: usize = 5;
/// Deltas the model streams in the events run.
const DELTAS: usize = 200_000;
/// Idle sessions made in the memory run.
const SESSIONS: usize = 5_000;

/// A model in the process that answers every request with `DELTAS` streamed pieces of text,
/// yielding to the executor every 16.
struct Streaming;

impl Provider for Streaming {
    fn name(&self) -> &str {
        "streaming"
    }

    fn chat<'a>(&'a self, _request: &'a ChatRequest, deltas: Deltas<'a>) -> ChatFuture<'a> {
        Box::pin(async move {
            for n in 0..DELTAS {
                deltas("x");
                // A model's stream arrives in network reads: a few pieces at a time, the
                // executor free between them.
                if n % 16 == 15 {
                    tokio::task::yield_now().await;
                }
            }
            Ok(ChatResponse {
                text: "The answer is 42.".to_owned(),
                reasoning: String::new(),
                tool_calls: Vec::new(),
                usage: TokenUsage::default(),
                stop_reason: StopReason::EndTurn,
            })
        })
    }
}

fn fib(cancel: Option<CancellationToken>) -> UseSpec {
    UseSpec {
        call: CallSpec::Literals {
            name: "fib".to_owned(),
            args: vec![Literal::Int(20)],
        },
        policy: PolicySpec::standard(),
        limits: Default::default(),
        cancel,
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// The process's resident memory, in bytes.
fn resident() -> Result<u64, Box<dyn std::error::Error>> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm.split_whitespace().nth(1).ok_or("statm")?.parse()?;
    Ok(pages * 4096)
}

async fn calls(
    runtime: &Runtime,
    cancel: Option<&CancellationToken>,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let spec = fib(cancel.cloned());
        let started = Instant::now();
        let outcome = runtime.use_program(spec).await?;
        samples.push(started.elapsed());
        if outcome.status != Status::Ok || outcome.results != [Value::I64(6765)] {
            return Err(format!("fib(20) gave {outcome:?}").into());
        }
    }
    Ok(median(samples))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(Database::open(&dir.path().join("w.db"))?.database);
    let mut settings = Effective::default();
    settings.agent.stream = true;
    let mut options = RuntimeOptions::new(settings);
    options.prewarm = Prewarm::Now;
    options.store = Some(Arc::clone(&store));
    options.models = BTreeMap::from([(
        "streaming".to_owned(),
        ModelChoice {
            provider: Arc::new(Streaming),
            model: "m".to_owned(),
            protocol: Protocol::Text,
            prompt: PromptStyle::Compact,
        },
    )]);
    let runtime = Arc::new(Runtime::start(options).await?);

    // A catalog call, plain and with a cancellation token.
    calls(&runtime, None).await?;
    let token = CancellationToken::new();
    let (mut plain, mut cancellable) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        plain.push(calls(&runtime, None).await?);
        cancellable.push(calls(&runtime, Some(&token)).await?);
    }
    println!(
        "runtime use fib(20): p50 {:?} (medians of {ROUNDS} rounds of {CALLS}: {plain:?})",
        median(plain.clone())
    );
    println!(
        "runtime use fib(20), cancellable: p50 {:?} ({cancellable:?})",
        median(cancellable.clone())
    );

    // Events through a subscriber: a task whose model streams DELTAS pieces.
    let sessions = Sessions::start(Arc::clone(&runtime), SessionsConfig::default());
    let id = sessions
        .create(SessionSpec {
            model: Some("streaming".to_owned()),
            ..SessionSpec::default()
        })
        .await?
        .id;
    let mut subscription = sessions.subscribe(&id, None, 0).await?;
    let reader = tokio::spawn(async move {
        let (mut items, mut lagged) = (0_usize, false);
        let mut first = None;
        while let Some(item) = subscription.next().await? {
            first.get_or_insert_with(Instant::now);
            items += 1;
            match item {
                Streamed::Ended { .. } => break,
                Streamed::Lagged { .. } => {
                    lagged = true;
                    break;
                }
                _ => {}
            }
        }
        let elapsed = first.map_or(Duration::ZERO, |first| first.elapsed());
        Ok::<_, watsmith_runtime::StoreError>((items, lagged, elapsed))
    });
    let started = Instant::now();
    let never = CancellationToken::new();
    sessions
        .run(&id, "stream", &mut |_: &watsmith_agent::Event| {}, &never)
        .await?;
    let task = started.elapsed();
    let (items, lagged, elapsed) = reader.await??;
    println!(
        "events through a subscriber: {items} items in {elapsed:?} ({:.0}/s){}; the task took {task:?}",
        items as f64 / elapsed.as_secs_f64(),
        if lagged {
            ", the subscriber lagged"
        } else {
            ""
        }
    );

    // Idle live sessions.
    let before = resident()?;
    for _ in 0..SESSIONS {
        sessions
            .create(SessionSpec {
                model: Some("streaming".to_owned()),
                ..SessionSpec::default()
            })
            .await?;
    }
    let after = resident()?;
    println!(
        "idle live sessions: {} live, {} bytes each (resident memory {} -> {} MiB)",
        sessions.live(),
        after.saturating_sub(before) / SESSIONS as u64,
        before >> 20,
        after >> 20
    );
    Ok(())
}
