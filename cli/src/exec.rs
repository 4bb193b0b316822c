//! `watsmith exec`: run a body under limits and print its results (or its outcome as JSON).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use watsmith_engine::{Engine, EngineConfig, Limits, Outcome, Policy, Status, Value, limits};

use crate::Exit;

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The body to run; `-` reads standard input.
    file: PathBuf,
    /// Arguments of the program, available to `argv`.
    args: Vec<String>,
    /// Treat every argument as text, whatever its form.
    #[arg(long = "str")]
    all_text: bool,
    /// Instruction budget; `0` for unlimited (the deadline still applies).
    #[arg(long, default_value_t = limits::DEFAULT_FUEL)]
    fuel: u64,
    /// Wall-clock deadline in milliseconds.
    #[arg(long, default_value_t = limits::DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout_ms: u64,
    /// Cap on the linear memory, in MiB.
    #[arg(long, default_value_t = limits::DEFAULT_MEMORY_BYTES >> 20)]
    memory_mb: u64,
    /// Grant a capability (repeatable). `core` is always granted.
    #[arg(long = "allow", value_name = "CAP")]
    allow: Vec<String>,
    /// Print the outcome as JSON (status, code, results, logs, trap, diagnostics, ...).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &ExecArgs) -> Exit {
    let body = match crate::expand::read_source(&args.file) {
        Ok(body) => body,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Exit::Input;
        }
    };
    let engine = match Engine::new(&EngineConfig::default()) {
        Ok(engine) => engine,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Input;
        }
    };
    let mut policy = Policy::deny_all();
    for capability in &args.allow {
        if engine.registry().get(capability).is_none() {
            let known: Vec<&str> = engine.registry().iter().map(|c| c.name()).collect();
            eprintln!(
                "error: unknown capability `{capability}`; known: {}",
                known.join(", ")
            );
            return Exit::Usage;
        }
        policy = policy.allow(capability.clone());
    }
    let limits = Limits {
        fuel: (args.fuel > 0).then_some(args.fuel),
        timeout: Duration::from_millis(args.timeout_ms),
        memory_bytes: args.memory_mb.saturating_mul(1 << 20),
        ..Limits::default()
    };
    let values = args
        .args
        .iter()
        .map(|a| {
            if args.all_text {
                Value::Str(a.clone())
            } else {
                Value::from_literal(a)
            }
        })
        .collect();
    let outcome = engine.exec(&body, values, &policy, &limits);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcome).expect("an outcome serialises")
        );
    } else {
        print_plain(&outcome);
    }
    match outcome.status {
        Status::Ok => Exit::Ok,
        Status::Error => Exit::ProgramError,
        Status::Invalid => Exit::Invalid,
        Status::Trap => Exit::Trap,
    }
}

/// Results on stdout, one per line; logs, diagnostics and the reason of a failure on stderr.
fn print_plain(outcome: &Outcome) {
    for line in &outcome.logs {
        eprintln!("[log] {line}");
    }
    if !outcome.diagnostics.is_empty() {
        eprint!(
            "{}",
            watsmith_preprocessor::Diagnostics::from(outcome.diagnostics.clone()).render()
        );
    }
    for result in &outcome.results {
        println!("{result}");
    }
    match (outcome.status, &outcome.trap) {
        (Status::Error, _) => eprintln!("error: the program ended with status {}", outcome.code),
        (Status::Trap, Some(trap)) => {
            let kind = serde_json::to_value(trap.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            eprintln!("trap: {kind}: {}", trap.message);
        }
        _ => {}
    }
}
