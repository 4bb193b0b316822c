//! `watsmith bench`: a reproducible benchmark of this machine (issues #4 and #11), printed as a table of
//! p50/p90/p99 and calls per second, or as JSON, with the goals checked.
//!
//! The scenarios compare the ways a tool call can be served: a pre-linked catalog program run
//! in-process; a body seen for the first time (preprocess, assemble, compile, link, run) and the
//! same body from the compile cache; the same computation by spawning a Python interpreter per
//! call, and spawning `/bin/true`, the floor of any process-per-call design; and the throughput
//! of pre-linked calls on one thread and on several. Every result is checked (`fib(20)` must be
//! 6765): a benchmark of a wrong answer is worthless, so a wrong one stops the run.

mod machine;
mod measure;
mod report;
mod runtime;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use clap::Args;
use watsmith_engine::{
    CacheState, Engine, Limits, LimitsSpec, Outcome, Policy, PolicySpec, Program, Status, Value,
    limits,
};
use watsmith_runtime::{Effective, Prewarm, Runtime, RuntimeOptions};

use self::machine::{Interpreter, Machine};
use self::measure::Summary;
use self::report::{Measured, Report, Scenario, Settings, Throughput};
use crate::Exit;

/// Timed calls of each in-process scenario by default: about 10 s in all on a 2-core VM, most of
/// it the fresh-body scenario, which compiles on every call.
const DEFAULT_ITERATIONS: u32 = 5_000;
/// Timed spawns of each process scenario by default: 1 to 8 s of Python start-ups (11 to 80 ms
/// each, depending on the interpreter's site packages).
const DEFAULT_SPAWNS: u32 = 100;
/// Timed calls of each thread in the throughput runs by default (about half a second each).
const DEFAULT_CALLS_PER_THREAD: u32 = 100_000;

/// The catalog call of the goals, `fib(20)`, and its result (checked by `PYTHON_FIB`).
pub(crate) const FIB_ARG: i64 = 20;
pub(crate) const FIB_RESULT: i64 = 6765;
/// The text hashed by the `sha256` scenario, and its digest (checked: `printf 'abc' |
/// sha256sum`).
const SHA256_INPUT: &str = "abc";
const SHA256_DIGEST: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
/// `fib(20)` in Python, stepping the pair as the catalog's `fib` does, printed.
const PYTHON_FIB: &str = "a, b = 0, 1\nfor _ in range(20):\n    a, b = b, a + b\nprint(a)";
/// What `PYTHON_FIB` prints.
const PYTHON_FIB_OUTPUT: &str = "6765\n";
/// The cheapest process there is: the floor of any process-per-call design.
const TRUE_PATH: &str = "/bin/true";

/// The scenarios' names: stable, since JSON consumers look them up.
const CATALOG_FIB: &str = "catalog fib(20)";
const CATALOG_SHA256: &str = "catalog sha256(\"abc\")";
const FRESH_BODY: &str = "fresh body";
const CACHED_BODY: &str = "cached body";
const PYTHON_SPAWN: &str = "python3 spawn";
const TRUE_SPAWN: &str = "/bin/true spawn";

/// Goal: a pre-linked catalog call's p50.
const GOAL_CATALOG_P50_NS: u64 = 5_000;
/// Goal: a fresh body's p50 (preprocess to run, cache off).
const GOAL_FRESH_P50_NS: u64 = 500_000;
/// Goal: how many times faster than spawning Python a catalog call is, at least.
const GOAL_VS_PYTHON: f64 = 2_000.0;
/// Goal: how many times faster than spawning `/bin/true` a catalog call is, at least.
const GOAL_VS_TRUE: f64 = 100.0;
/// "Scales with cores", made measurable: `n` threads give at least this fraction of
/// `min(n, cores)` times one thread's calls per second.
const GOAL_SCALING_EFFICIENCY: f64 = 0.85;

/// Exit statuses of `watsmith bench`.
pub(crate) const BENCH_HELP: &str = "\
Exit status:
  0   the benchmark ran (met goals or not)
  1   a scenario failed or gave a wrong answer (the message says which)
  64  usage error, or a --python that cannot be run";

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Timed calls of each in-process scenario, after an untimed warm-up of a tenth of them
    /// (at most 100).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ITERATIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// Timed spawns of each process scenario (python3, /bin/true), after a warm-up likewise.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SPAWNS,
          value_parser = clap::value_parser!(u32).range(1..))]
    spawns: u32,
    /// Threads of the throughput run, at most the engine's pool slots [default: the number of
    /// cores].
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(limits::DEFAULT_POOL_SLOTS)))]
    threads: Option<u32>,
    /// Timed calls of each thread in the throughput runs.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CALLS_PER_THREAD,
          value_parser = clap::value_parser!(u32).range(1..))]
    calls_per_thread: u32,
    /// The Python interpreter to compare with, a name on PATH or a path [default: python3;
    /// skipped with a note when there is none]. It is resolved to its `sys.executable`, so that
    /// a pyenv or asdf shim is not what gets timed.
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Print one JSON object: machine, settings, scenarios (`name`, `calls`, `p50_ns`,
    /// `p90_ns`, `p99_ns`, `mean_ns`, `calls_per_sec`, or `skipped`), throughput and goals.
    #[arg(long)]
    json: bool,
}

/// A scenario went wrong: the numbers would mean nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    /// A program the benchmark runs is missing from the built-in catalog.
    #[error("`{0}` is not in the built-in catalog")]
    NotInCatalog(&'static str),
    /// A scenario failed or gave a wrong answer.
    #[error("{scenario}: {problem}")]
    Failed {
        /// The scenario's name.
        scenario: &'static str,
        /// What went wrong.
        problem: String,
    },
}

pub(crate) fn run(args: &BenchArgs) -> Exit {
    let requested = args.python.as_deref().unwrap_or(Path::new("python3"));
    let python = match Interpreter::resolve(requested, std::env::var_os("PATH")) {
        Ok(python) => Ok(python),
        Err(reason) if args.python.is_some() => {
            eprintln!(
                "{} --python {}: {reason}",
                crate::color::error_label(),
                requested.display()
            );
            return Exit::Usage;
        }
        Err(reason) => Err(reason),
    };
    let settings = Settings {
        iterations: args.iterations as usize,
        spawns: args.spawns as usize,
        // One run takes one pool slot; `--threads` is checked against them, the default too.
        threads: args.threads.map_or_else(
            || machine::cores().min(limits::DEFAULT_POOL_SLOTS as usize),
            |n| n as usize,
        ),
        calls_per_thread: args.calls_per_thread as usize,
    };
    match bench(settings, python) {
        Ok(report) if args.json => {
            let json = serde_json::to_string_pretty(&report).expect("a report serialises");
            crate::emit(&format!("{json}\n"));
            Exit::Ok
        }
        Ok(report) => {
            crate::emit(&report::render(&report));
            Exit::Ok
        }
        Err(error) => {
            eprintln!("{} {error}", crate::color::error_label());
            Exit::ProgramError
        }
    }
}

/// Runs every scenario in order, the in-process ones first, all on one runtime (of the default
/// settings, its catalog pre-warmed) and its engine.
fn bench(settings: Settings, python: Result<Interpreter, String>) -> Result<Report, BenchError> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BenchError::Failed {
            scenario: CATALOG_FIB,
            problem: format!("cannot start the async runtime: {e}"),
        })?;
    let mut options = RuntimeOptions::new(Effective::default());
    options.prewarm = Prewarm::Now;
    let runtime =
        Arc::new(
            tokio
                .block_on(Runtime::start(options))
                .map_err(|e| BenchError::Failed {
                    scenario: CATALOG_FIB,
                    problem: e.to_string(),
                })?,
        );
    let fixture = Fixture::new(&runtime)?;
    let mut scenarios = fixture.in_process(settings.iterations)?;
    scenarios.extend(runtime::scenarios(&tokio, &runtime, settings.iterations)?);
    scenarios.extend(spawned(settings.spawns, python.as_ref())?);
    let throughput = fixture.throughput(settings.threads, settings.calls_per_thread)?;
    let machine = Machine::detect();
    let goals = report::goals(&scenarios, &throughput, machine.cores);
    Ok(Report {
        watsmith: env!("CARGO_PKG_VERSION"),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        machine,
        python: python.ok(),
        settings,
        scenarios,
        throughput,
        goals,
    })
}

/// What the in-process scenarios share: the runtime's engine with its compile cache, the policy
/// and limits of every run (the runtime's, from the standard spec), and the catalog programs
/// pre-linked on that engine.
struct Fixture<'a> {
    engine: &'a Engine,
    policy: Policy,
    limits: Limits,
    /// The catalog's `fib`, whose body the fresh and cached scenarios compile.
    fib: &'a watsmith_catalog::Program,
    fib_program: Arc<Program>,
    sha256_program: Arc<Program>,
}

impl<'a> Fixture<'a> {
    fn new(runtime: &'a Runtime) -> Result<Self, BenchError> {
        let catalog = runtime.catalog();
        let program = |name| catalog.get(name).ok_or(BenchError::NotInCatalog(name));
        let (fib, sha256) = (program("fib")?, program("sha256")?);
        let prepare = |scenario, program| {
            runtime
                .prepared()
                .program(program)
                .map_err(|outcome| BenchError::Failed {
                    scenario,
                    problem: format!("does not compile: {}", describe(&outcome)),
                })
        };
        let fib_program = prepare(CATALOG_FIB, fib)?;
        let sha256_program = prepare(CATALOG_SHA256, sha256)?;
        let (policy, limits) = runtime
            .grants(&PolicySpec::standard(), &LimitsSpec::default())
            .map_err(|error| BenchError::Failed {
                scenario: CATALOG_FIB,
                problem: error.to_string(),
            })?;
        Ok(Self {
            engine: runtime.engine(),
            policy,
            limits,
            fib,
            fib_program,
            sha256_program,
        })
    }

    /// One pre-linked `fib(20)`.
    fn fib(&self) -> Outcome {
        self.engine.run(
            &self.fib_program,
            vec![Value::I64(FIB_ARG)],
            &self.policy,
            &self.limits,
        )
    }

    /// The catalog calls, then the fib body from the cache and fresh.
    fn in_process(&self, iterations: usize) -> Result<Vec<Scenario>, BenchError> {
        let fib_result = || vec![Value::I64(FIB_RESULT)];
        let mut scenarios = vec![
            scenario(CATALOG_FIB, iterations, || {
                measure::timed(iterations, || self.fib(), outcome_is(fib_result(), None))
            })?,
            scenario(CATALOG_SHA256, iterations, || {
                let digest = vec![Value::Str(SHA256_DIGEST.to_owned())];
                measure::timed(
                    iterations,
                    || {
                        let text = Value::Str(SHA256_INPUT.to_owned());
                        let (policy, limits) = (&self.policy, &self.limits);
                        self.engine
                            .run(&self.sha256_program, vec![text], policy, limits)
                    },
                    outcome_is(digest, None),
                )
            })?,
        ];
        // The body itself, compiled once and then found by its text; measured before the fresh
        // bodies, which then fill the compile cache.
        let cached = scenario(CACHED_BODY, iterations, || {
            measure::timed(
                iterations,
                || {
                    self.engine.exec(
                        &self.fib.body,
                        vec![Value::I64(FIB_ARG)],
                        &self.policy,
                        &self.limits,
                    )
                },
                outcome_is(fib_result(), Some(CacheState::Hit)),
            )
        })?;
        // Each call a body never seen before: the catalog's `fib` with a distinct no-op at its
        // end, so that neither the program cache nor the engine's cache of compiled functions
        // can serve the body's own function (only what every module shares, its trampolines).
        let mut fresh = 0u64;
        scenarios.push(scenario(FRESH_BODY, iterations, || {
            measure::timed(
                iterations,
                || {
                    fresh += 1;
                    let body = format!("{}\n(drop (i64.const {fresh}))", self.fib.body);
                    self.engine
                        .exec(&body, vec![Value::I64(FIB_ARG)], &self.policy, &self.limits)
                },
                outcome_is(fib_result(), Some(CacheState::Miss)),
            )
        })?);
        scenarios.push(cached);
        Ok(scenarios)
    }

    /// Pre-linked `fib(20)` on one thread and on `threads` at once, all on the shared engine.
    fn throughput(&self, threads: usize, calls: usize) -> Result<Throughput, BenchError> {
        eprintln!(
            "bench: throughput, 1 thread and {} x {calls}",
            threads_word(threads)
        );
        let [one, many] = measure::throughput(
            threads,
            calls,
            || self.fib(),
            outcome_is(vec![Value::I64(FIB_RESULT)], None),
        )
        .map_err(|problem| BenchError::Failed {
            scenario: "throughput",
            problem,
        })?;
        Ok(Throughput {
            calls_per_thread: calls,
            scaling: many.summary.calls_per_sec / one.summary.calls_per_sec,
            runs: vec![one, many],
        })
    }
}

/// The process-per-call scenarios: Python computing `fib(20)`, and `/bin/true`; each skipped
/// with its reason when there is nothing to spawn.
fn spawned(
    spawns: usize,
    python: Result<&Interpreter, &String>,
) -> Result<Vec<Scenario>, BenchError> {
    let python = match python {
        Ok(python) => scenario(PYTHON_SPAWN, spawns, || {
            measure::timed(
                spawns,
                || spawn(&python.path, &["-c", PYTHON_FIB]),
                prints(PYTHON_FIB_OUTPUT),
            )
        })?,
        Err(reason) => skipped(PYTHON_SPAWN, reason.clone()),
    };
    let true_path = Path::new(TRUE_PATH);
    let true_spawn = if machine::is_executable(true_path) {
        scenario(TRUE_SPAWN, spawns, || {
            measure::timed(spawns, || spawn(true_path, &[]), prints(""))
        })?
    } else {
        skipped(TRUE_SPAWN, format!("there is no executable {TRUE_PATH}"))
    };
    Ok(vec![python, true_spawn])
}

/// Runs one scenario (saying so on stderr, since a run takes a while) and names its failure.
fn scenario(
    name: &'static str,
    calls: usize,
    measure: impl FnOnce() -> Result<Summary, String>,
) -> Result<Scenario, BenchError> {
    eprintln!("bench: {name} x {calls}");
    let summary = measure().map_err(|problem| BenchError::Failed {
        scenario: name,
        problem,
    })?;
    Ok(Scenario {
        name,
        result: Measured::Timed(summary),
    })
}

fn skipped(name: &'static str, reason: String) -> Scenario {
    eprintln!("bench: {name} skipped: {reason}");
    Scenario {
        name,
        result: Measured::Skipped { skipped: reason },
    }
}

/// A check that a run returned `expected` (and, when given, that its program came from the
/// cache or was compiled for it, as the scenario means to measure).
fn outcome_is(
    expected: Vec<Value>,
    cache: Option<CacheState>,
) -> impl Fn(&Outcome) -> Result<(), String> + Sync {
    move |outcome| {
        if outcome.status != Status::Ok || outcome.results != expected {
            let expected: Vec<String> = expected.iter().map(Value::to_string).collect();
            return Err(format!(
                "expected results [{}], got {}",
                expected.join(", "),
                describe(outcome)
            ));
        }
        match cache {
            Some(state) if outcome.cache != Some(state) => Err(format!(
                "expected a compile cache {}, got {}",
                cache_word(Some(state)),
                cache_word(outcome.cache)
            )),
            _ => Ok(()),
        }
    }
}

/// `1 thread`, `2 threads`.
pub(crate) fn threads_word(threads: usize) -> String {
    match threads {
        1 => "1 thread".to_owned(),
        n => format!("{n} threads"),
    }
}

fn cache_word(state: Option<CacheState>) -> &'static str {
    match state {
        Some(CacheState::Hit) => "hit",
        Some(CacheState::Miss) => "miss",
        Some(CacheState::Disk) => "disk",
        None => "bypass",
    }
}

/// An outcome in one line, for a failure message.
pub(crate) fn describe(outcome: &Outcome) -> String {
    let results: Vec<String> = outcome.results.iter().map(Value::to_string).collect();
    let mut text = match outcome.status {
        Status::Ok => return format!("results [{}]", results.join(", ")),
        status => match outcome.code {
            Some(code) => format!("status {} ({})", status.name(), code.name()),
            None => format!("status {}", status.name()),
        },
    };
    if let Some(trap) = &outcome.trap {
        text.push_str(&format!(": {}", trap.message));
    }
    if let Some(diagnostic) = outcome.diagnostics.first() {
        text.push_str(&format!(
            ": line {}, column {}: {}",
            diagnostic.line, diagnostic.column, diagnostic.message
        ));
    }
    text
}

/// Spawns `program` with `args`, no input, and collects what it prints, as a process-per-call
/// tool would.
fn spawn(program: &Path, args: &[&str]) -> std::io::Result<Output> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
}

/// A check that a spawned process succeeded and printed exactly `expected`.
fn prints(expected: &'static str) -> impl Fn(&std::io::Result<Output>) -> Result<(), String> {
    move |output| match output {
        Err(error) => Err(format!("cannot start it: {error}")),
        Ok(output) if !output.status.success() => Err(format!(
            "it failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(output) if output.stdout != expected.as_bytes() => Err(format!(
            "expected it to print {expected:?}, got {:?}",
            String::from_utf8_lossy(&output.stdout)
        )),
        Ok(_) => Ok(()),
    }
}
