//! `watsmith exec`: run a body under limits and print its results (or its outcome as JSON).

use std::path::PathBuf;

use clap::Args;
use watsmith_engine::{Outcome, Status, Value};
use watsmith_runtime::{Environment, ExecSpec, Prewarm};

use crate::Exit;
use crate::args::{Context, Flags, ModelArgs, RunArgs, failure, unmark};

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The body to run; `-` reads standard input.
    file: PathBuf,
    /// Arguments of the program, available to `argv`, typed by the local each `argv` reads
    /// into: an i32, i64 or float local reads a WebAssembly number (`42`, `-7`, `0xff`,
    /// `1_000`, `4294967295` for the i32 -1, `2.5`, `-0`, `-inf`, `nan:0x1`), a str local text.
    /// An argument no `argv` reads by a constant index is an integer or a float by its form,
    /// else text. Negative numbers are arguments (`-inf` and `-0x10` too); other words that
    /// start with `-` go after `--`.
    #[arg(allow_negative_numbers = true)]
    args: Vec<String>,
    /// Treat every argument as text, whatever its form.
    #[arg(long = "str")]
    all_text: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// The configuration file whose `[agent]` table names the model `--allow ai` asks
    /// (default: `$WATSMITH_CONFIG`, else `./watsmith.toml`, else
    /// `~/.config/watsmith/watsmith.toml`, if one exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the outcome as JSON (status, code, results, logs, trap, diagnostics, ...).
    #[arg(long)]
    json: bool,
}

impl ExecArgs {
    fn values(&self) -> watsmith_runtime::Args {
        if self.all_text {
            watsmith_runtime::Args::Values(
                self.args.iter().map(|a| Value::Str(unmark(a))).collect(),
            )
        } else {
            watsmith_runtime::Args::Words(self.args.iter().map(|a| unmark(a)).collect())
        }
    }
}

pub(crate) async fn run(args: &ExecArgs, env: &Environment) -> Exit {
    let body = match crate::expand::read_source(&args.file) {
        Ok(body) => body,
        Err(error) => {
            eprintln!("{} {error:#}", crate::color::error_label());
            return Exit::Input;
        }
    };
    let flags = Flags {
        run: Some(&args.run),
        model: Some(&args.model),
        config: args.config.as_deref(),
        ..Flags::default()
    };
    let runtime = match flags.start(env, Prewarm::OnDemand).await {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let spec = ExecSpec {
        body,
        args: args.values(),
        policy: args.run.policy_or_standard(),
        limits: Default::default(),
        cancel: None,
    };
    match runtime.exec(spec).await {
        Ok(outcome) => report(&outcome, args.json),
        Err(error) => failure(&error, Context::Run),
    }
}

/// Prints an outcome (plain or JSON) and gives the exit status it stands for.
pub(crate) fn report(outcome: &Outcome, json: bool) -> Exit {
    if json {
        let json = serde_json::to_string_pretty(outcome).expect("an outcome serialises");
        crate::emit(&format!("{json}\n"));
    } else {
        print_plain(outcome);
    }
    match outcome.status {
        Status::Ok => Exit::Ok,
        Status::Error => Exit::ProgramError,
        Status::Invalid => Exit::Invalid,
        Status::Busy | Status::Cancelled => Exit::Temporary,
        Status::Trap => Exit::Trap,
    }
}

/// Results on stdout, one per line; logs, diagnostics and the reason of a failure on stderr.
fn print_plain(outcome: &Outcome) {
    use crate::escape::controls;
    for line in &outcome.logs {
        eprintln!("[log] {}", controls(line));
    }
    if !outcome.diagnostics.is_empty() {
        eprint!(
            "{}",
            watsmith_preprocessor::Diagnostics::from(outcome.diagnostics.clone())
                .render_with(crate::color::palette())
        );
    }
    for result in &outcome.results {
        crate::emit(&format!("{}\n", controls(&result.to_string())));
    }
    match (outcome.status, &outcome.trap) {
        (Status::Error, _) => match outcome.code {
            Some(code) => eprintln!(
                "{} the program ended with status {code}",
                crate::color::error_label()
            ),
            None => eprintln!(
                "{} the program ended with an error",
                crate::color::error_label()
            ),
        },
        (Status::Trap, Some(trap)) => {
            eprintln!("trap: {}: {}", trap.kind.name(), controls(&trap.message))
        }
        _ => {}
    }
}
