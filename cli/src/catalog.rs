//! `watsmith use` and `watsmith catalog list|show`: the built-in catalog of ready programs.

use clap::{Args, Subcommand};
use watsmith_catalog::{Fixture, Program, SERVER_PLACEHOLDER, call};
use watsmith_runtime::{CallSpec, Environment, Prewarm, Runtime, UseSpec};

use crate::Exit;
use crate::args::{Context, Flags, ModelArgs, RunArgs, Sources, failure, unmark, usage};

#[derive(Debug, Args)]
pub(crate) struct UseArgs {
    /// `'fib(30)'` (an `@use` call: integers, floats, quoted strings), or a program's name
    /// followed by its arguments (`fib 30`), which are typed by the program's parameters and
    /// read as WebAssembly text writes numbers (`0xff`, `1_000`, `-inf`, `nan:0x1`). Negative
    /// numbers are arguments; other words that start with `-` go after `--`.
    #[arg(required = true, allow_negative_numbers = true)]
    call: Vec<String>,
    /// Print the outcome as JSON, as `watsmith exec --json` does.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    sources: Sources,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CatalogArgs {
    #[command(subcommand)]
    command: CatalogCommand,
    #[command(flatten)]
    sources: Sources,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// One line per program: its signature and what it computes.
    List {
        /// Only the programs with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// A JSON array instead (name, signature, description, tags, capabilities).
        #[arg(long)]
        json: bool,
    },
    /// A program's signature, description, examples and source.
    Show {
        /// The program's name.
        name: String,
    },
    /// Check a directory of programs (default: the built-in catalog): every file parses and
    /// every example gives its results. Exit status 0 when all pass, 1 when an example fails,
    /// 2 when a file does not parse.
    Check {
        /// The directory to check.
        dir: Option<std::path::PathBuf>,
    },
}

/// The call the words of `watsmith use` make.
fn call_spec(words: &[String]) -> CallSpec {
    match words {
        [text] if text.contains('(') => CallSpec::Text(text.clone()),
        [name, rest @ ..] => CallSpec::Words {
            name: name.clone(),
            words: rest.to_vec(),
        },
        // Clap requires at least one word.
        [] => CallSpec::Text(String::new()),
    }
}

pub(crate) async fn run_use(args: &UseArgs, env: &Environment) -> Exit {
    let flags = Flags {
        sources: Some(&args.sources),
        run: Some(&args.run),
        model: Some(&args.model),
        ..Flags::default()
    };
    // Only the program called is compiled: a process that runs one program warms one.
    let runtime = match flags.start(env, Prewarm::OnDemand).await {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let spec = UseSpec {
        call: call_spec(
            &args
                .call
                .iter()
                .map(|word| unmark(word))
                .collect::<Vec<_>>(),
        ),
        policy: args.run.policy_or_standard(),
        limits: Default::default(),
        cancel: None,
    };
    match runtime.use_program(spec).await {
        Ok(outcome) => crate::exec::report(&outcome, args.json),
        Err(error) => failure(&error, Context::Run),
    }
}

pub(crate) async fn run_catalog(args: &CatalogArgs, env: &Environment) -> Exit {
    let flags = Flags {
        sources: Some(&args.sources),
        ..Flags::default()
    };
    let runtime = match flags.start(env, Prewarm::OnDemand).await {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let catalog = runtime.catalog();
    match &args.command {
        CatalogCommand::List { tag, json } => {
            let listing = runtime.listing(tag.as_deref());
            if *json {
                let text = serde_json::to_string_pretty(&listing).expect("a listing serialises");
                crate::emit(&format!("{text}\n"));
            } else {
                let lines: String = listing
                    .iter()
                    .map(|p| format!("{}\n    {}\n", p.signature, p.description))
                    .collect();
                crate::emit(&lines);
            }
            Exit::Ok
        }
        CatalogCommand::Check { dir } => check(&runtime, dir.as_deref()).await,
        CatalogCommand::Show { name } => match catalog.find(name) {
            Ok(program) => {
                crate::emit(&show(program));
                Exit::Ok
            }
            Err(error) => usage(&error.to_string()),
        },
    }
}

/// `catalog check`: the problems of `dir` (or of the loaded catalog), then every example.
async fn check(runtime: &Runtime, dir: Option<&std::path::Path>) -> Exit {
    let report = match runtime.check_catalog(dir).await {
        Ok(report) => report,
        Err(error) => return failure(&error, Context::Run),
    };
    if dir.is_some() {
        for problem in &report.problems {
            eprintln!("{} {problem}", crate::color::error_label());
        }
    }
    for failure in &report.failures {
        eprintln!("failed: {failure}");
    }
    let counted =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    crate::emit(&format!(
        "{}, {}: {} failed, {} not load\n",
        counted(report.programs, "program", "programs"),
        counted(report.examples, "example", "examples"),
        report.failures.len(),
        counted(report.problems.len(), "file did", "files did"),
    ));
    if !report.problems.is_empty() {
        Exit::Invalid
    } else if !report.failures.is_empty() {
        Exit::ProgramError
    } else {
        Exit::Ok
    }
}

fn show(program: &Program) -> String {
    let front = &program.front;
    let mut text = format!("{}\n\n{}\n", front.signature(), front.description);
    if !front.tags.is_empty() {
        text.push_str(&format!("\ntags: {}\n", front.tags.join(", ")));
    }
    if !front.capabilities.is_empty() {
        text.push_str(&format!(
            "capabilities: {}\n",
            front.capabilities.join(", ")
        ));
    }
    if !front.examples.is_empty() {
        text.push_str("\nexamples:\n");
        for example in &front.examples {
            text.push_str(&format!("  {}\n", call::example_line(front, example)));
        }
        if front.fixture != Fixture::default() {
            text.push_str(&format!(
                "  (run against the fixture of its front matter; {SERVER_PLACEHOLDER} is its HTTP server)\n"
            ));
        }
    }
    text.push_str(&format!(
        "\nsource ({}):\n\n{}",
        program.path.display(),
        program.body
    ));
    text
}
