//! The runtime from an async caller, as a server calls it: catalog calls through
//! `Runtime::use_program` by one task and by two at once, and fresh bodies through
//! `Runtime::exec` while another task makes catalog calls. That last pair shows whether
//! compiling blocks the executor: if it did, the catalog calls' p99 would jump to a compile's
//! time; compiled on the blocking pool, they only share the cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use watsmith_catalog::Literal;
use watsmith_engine::{Outcome, PolicySpec, Status, Value};
use watsmith_runtime::{CallSpec, ExecSpec, Runtime, UseSpec};

use super::measure::{Summary, per_second};
use super::report::{Measured, Scenario};
use super::{BenchError, FIB_ARG, FIB_RESULT};

/// The scenarios' names: stable, since JSON consumers look them up.
pub(crate) const RUNTIME_USE: &str = "runtime use fib(20)";
pub(crate) const RUNTIME_USE_TWO: &str = "runtime use fib(20), 2 tasks";
pub(crate) const RUNTIME_FRESH: &str = "runtime fresh body, catalog calls beside";
pub(crate) const RUNTIME_BESIDE: &str = "runtime use fib(20), beside fresh bodies";

/// Fresh bodies compiled beside the catalog calls: one per this many catalog iterations.
const FRESH_DIVISOR: usize = 10;

fn fib_call() -> UseSpec {
    UseSpec {
        call: CallSpec::Literals {
            name: "fib".to_owned(),
            args: vec![Literal::Int(FIB_ARG)],
        },
        policy: PolicySpec::standard(),
        limits: Default::default(),
        cancel: None,
    }
}

fn check(scenario: &'static str, outcome: &Outcome) -> Result<(), BenchError> {
    if outcome.status == Status::Ok && outcome.results == [Value::I64(FIB_RESULT)] {
        return Ok(());
    }
    Err(BenchError::Failed {
        scenario,
        problem: format!(
            "expected results [{FIB_RESULT}], got {}",
            super::describe(outcome)
        ),
    })
}

fn nanos(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

fn summary(scenario: &'static str, samples: Vec<u64>) -> Result<Summary, BenchError> {
    Summary::of(samples).ok_or(BenchError::Failed {
        scenario,
        problem: "no calls to time (ask for at least one)".to_owned(),
    })
}

/// `calls` catalog calls in a row, each timed.
async fn catalog_calls(runtime: &Runtime, calls: usize) -> Result<Vec<u64>, BenchError> {
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let outcome = runtime.use_program(fib_call()).await;
        let elapsed = started.elapsed();
        let outcome = outcome.map_err(|e| BenchError::Failed {
            scenario: RUNTIME_USE,
            problem: e.to_string(),
        })?;
        check(RUNTIME_USE, &outcome)?;
        samples.push(nanos(elapsed));
    }
    Ok(samples)
}

/// A spawned task's result (its panic, resumed).
async fn joined<T>(task: tokio::task::JoinHandle<Result<T, BenchError>>) -> Result<T, BenchError> {
    task.await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
}

/// The four scenarios, on `runtime` (its catalog pre-warmed) driven by `tokio` (two worker
/// threads, as the `watsmith` binary makes).
pub(crate) fn scenarios(
    tokio: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    iterations: usize,
) -> Result<Vec<Scenario>, BenchError> {
    tokio.block_on(async {
        eprintln!("bench: {RUNTIME_USE} x {iterations}");
        catalog_calls(runtime, iterations.div_ceil(10)).await?;
        let one = summary(RUNTIME_USE, catalog_calls(runtime, iterations).await?)?;

        eprintln!("bench: {RUNTIME_USE_TWO} x {iterations} each");
        let started = Instant::now();
        // Two tasks at once, on the two workers.
        let calls = |runtime: Arc<Runtime>| {
            tokio::spawn(async move { catalog_calls(&runtime, iterations).await })
        };
        let (first, second) = (calls(Arc::clone(runtime)), calls(Arc::clone(runtime)));
        let mut samples = joined(first).await?;
        samples.extend(joined(second).await?);
        let wall = started.elapsed();
        let mut two = summary(RUNTIME_USE_TWO, samples)?;
        two.calls_per_sec = per_second(two.calls, wall);

        let fresh_calls = iterations.div_ceil(FRESH_DIVISOR);
        eprintln!("bench: {RUNTIME_FRESH} x {fresh_calls}");
        let fib = runtime
            .catalog()
            .get("fib")
            .ok_or(BenchError::NotInCatalog("fib"))?
            .body
            .clone();
        let compiling = Arc::new(AtomicBool::new(true));
        let (catalog_runtime, still) = (Arc::clone(runtime), Arc::clone(&compiling));
        let beside = tokio::spawn(async move {
            let mut samples = Vec::new();
            // At least one call, however quick the compiles.
            loop {
                samples.append(&mut catalog_calls(&catalog_runtime, 1).await?);
                if !still.load(Ordering::Relaxed) {
                    break;
                }
                tokio::task::yield_now().await;
            }
            Ok::<_, BenchError>(samples)
        });
        let compile_runtime = Arc::clone(runtime);
        let compiles = tokio::spawn(async move {
            let mut fresh = Vec::with_capacity(fresh_calls);
            for n in 0..fresh_calls {
                // A body never seen before, as in the engine's fresh-body scenario.
                let body = format!("{fib}\n(drop (i64.const {}))", n + 1_000_000);
                let started = Instant::now();
                let outcome = compile_runtime
                    .exec(ExecSpec {
                        body,
                        args: vec![Value::I64(FIB_ARG)].into(),
                        policy: PolicySpec::standard(),
                        limits: Default::default(),
                        cancel: None,
                    })
                    .await
                    .map_err(|e| BenchError::Failed {
                        scenario: RUNTIME_FRESH,
                        problem: e.to_string(),
                    })?;
                let elapsed = started.elapsed();
                check(RUNTIME_FRESH, &outcome)?;
                fresh.push(nanos(elapsed));
            }
            compiling.store(false, Ordering::Relaxed);
            Ok::<_, BenchError>(fresh)
        });
        let (fresh, beside) = (joined(compiles).await?, joined(beside).await?);
        Ok(vec![
            Scenario {
                name: RUNTIME_USE,
                result: Measured::Timed(one),
            },
            Scenario {
                name: RUNTIME_USE_TWO,
                result: Measured::Timed(two),
            },
            Scenario {
                name: RUNTIME_FRESH,
                result: Measured::Timed(summary(RUNTIME_FRESH, fresh)?),
            },
            Scenario {
                name: RUNTIME_BESIDE,
                result: Measured::Timed(summary(RUNTIME_BESIDE, beside)?),
            },
        ])
    })
}
