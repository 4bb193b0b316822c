//! `watsmith use` and `watsmith catalog list|show`: the built-in catalog of ready programs.

use clap::{Args, Subcommand};
use serde::Serialize;
use watsmith_catalog::{Catalog, Checker, Fixture, Program, SERVER_PLACEHOLDER, call};
use watsmith_engine::{EngineConfig, Value};

use crate::Exit;
use crate::config::Config;

/// Where programs come from besides the built-in catalog.
#[derive(Debug, Args)]
pub(crate) struct Sources {
    /// Also load the programs of this directory (repeatable).
    #[arg(long = "catalog", value_name = "DIR", global = true)]
    dirs: Vec<std::path::PathBuf>,
    /// Let a program of `--catalog` replace a built-in one of the same name.
    #[arg(long, global = true)]
    shadow: bool,
    /// The configuration file (default: `$WATSMITH_CONFIG`, else `./watsmith.toml`, else
    /// `~/.config/watsmith/watsmith.toml`, if one exists); its `[catalog] dirs` load before
    /// `--catalog`.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) config: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct UseArgs {
    /// `'fib(30)'` (an `@use` call: integers, floats, quoted strings), or a program's name
    /// followed by its arguments (`fib 30`), which are typed by the program's parameters.
    #[arg(required = true, allow_negative_numbers = true)]
    call: Vec<String>,
    /// Print the outcome as JSON, as `watsmith exec --json` does.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    sources: Sources,
    #[command(flatten)]
    run: crate::exec::RunArgs,
    #[command(flatten)]
    model: crate::run::ModelArgs,
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

/// The built-in catalog, the configuration file's directories and the `--catalog` ones, with
/// their problems reported on stderr (the rest still loads); an unreadable directory or
/// configuration file is an error.
pub(crate) fn load(sources: &Sources) -> Result<Catalog, Exit> {
    let config = Config::load(sources.config.as_deref()).map_err(|message| {
        eprintln!("error: {message}");
        Exit::Usage
    })?;
    let mut catalog = Catalog::builtin();
    let dirs = (config
        .catalog
        .dirs
        .iter()
        .map(|dir| (dir, config.catalog.shadow)))
    .chain(sources.dirs.iter().map(|dir| (dir, sources.shadow)));
    for (dir, shadow) in dirs {
        if let Err(error) = catalog.add_dir(dir, shadow) {
            eprintln!("error: {error}");
            return Err(Exit::Input);
        }
    }
    for problem in catalog.problems() {
        eprintln!("warning: {problem}");
    }
    Ok(catalog)
}

pub(crate) fn run_use(args: &UseArgs) -> Exit {
    let catalog = match load(&args.sources) {
        Ok(catalog) => catalog,
        Err(exit) => return exit,
    };
    let programs = catalog.programs();
    let bound: Result<(&Program, Vec<Value>), String> = match args.call.as_slice() {
        [text] if text.contains('(') => match call::parse(text) {
            Ok(parsed) => parsed
                .program(&programs)
                .and_then(|program| Ok((program, parsed.bind(&program.front)?))),
            Err(error) => {
                eprintln!("error: in `{text}`: {error}");
                return Exit::Usage;
            }
        },
        [name, words @ ..] => call::find(name, &programs)
            .and_then(|program| Ok((program, call::bind_words(&program.front, words)?))),
        [] => Err("name a program to run: `watsmith use 'fib(30)'`".to_owned()),
    };
    let (program, values) = match bound {
        Ok(bound) => bound,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    let needs_ai = program.front.capabilities.iter().any(|c| c == "ai") || args.run.allows("ai");
    let runner =
        match crate::run::extra_capabilities(&args.model, args.sources.config.as_deref(), needs_ai)
            .and_then(|extra| args.run.runner_with(extra))
        {
            Ok(runner) => runner,
            Err(exit) => return exit,
        };
    let missing = program.missing(runner.engine.registry());
    if !missing.is_empty() {
        eprintln!(
            "error: `{}` needs {}, which this command line does not offer",
            program.front.name,
            missing
                .iter()
                .map(|name| format!("the `{name}` capability"))
                .collect::<Vec<_>>()
                .join(" and "),
        );
        return Exit::ProgramError;
    }
    let outcome = runner
        .engine
        .exec(&program.body, values, &runner.policy, &runner.limits);
    runner.finish(&outcome, args.json)
}

#[derive(Serialize)]
struct Listing<'a> {
    name: &'a str,
    signature: String,
    description: &'a str,
    tags: &'a [String],
    capabilities: &'a [String],
}

pub(crate) fn run_catalog(args: &CatalogArgs) -> Exit {
    let catalog = match load(&args.sources) {
        Ok(catalog) => catalog,
        Err(exit) => return exit,
    };
    match &args.command {
        CatalogCommand::List { tag, json } => {
            let programs: Vec<&Program> = catalog
                .programs()
                .into_iter()
                .filter(|p| tag.as_ref().is_none_or(|t| p.front.tags.contains(t)))
                .collect();
            if *json {
                let listing: Vec<Listing<'_>> = programs
                    .iter()
                    .map(|p| Listing {
                        name: &p.front.name,
                        signature: p.front.signature(),
                        description: &p.front.description,
                        tags: &p.front.tags,
                        capabilities: &p.front.capabilities,
                    })
                    .collect();
                let text = serde_json::to_string_pretty(&listing).expect("a listing serialises");
                crate::emit(&format!("{text}\n"));
            } else {
                let lines: String = programs
                    .iter()
                    .map(|p| format!("{}\n    {}\n", p.front.signature(), p.front.description))
                    .collect();
                crate::emit(&lines);
            }
            Exit::Ok
        }
        CatalogCommand::Check { dir } => check(dir.as_deref(), &catalog),
        CatalogCommand::Show { name } => {
            let programs = catalog.programs();
            match call::find(name, &programs) {
                Ok(program) => {
                    crate::emit(&show(program));
                    Exit::Ok
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    Exit::Usage
                }
            }
        }
    }
}

/// `catalog check`: the problems of `dir` (or of the loaded catalog), then every example.
fn check(dir: Option<&std::path::Path>, loaded: &Catalog) -> Exit {
    let checked = match dir {
        Some(dir) => match Catalog::from_dir(dir) {
            Ok(catalog) => catalog,
            Err(error) => {
                eprintln!("error: {error}");
                return Exit::Input;
            }
        },
        None => loaded.clone(),
    };
    let checker = match Checker::new(&EngineConfig::default()) {
        Ok(checker) => checker,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Input;
        }
    };
    if dir.is_some() {
        for problem in checked.problems() {
            eprintln!("error: {problem}");
        }
    }
    let programs = checked.programs();
    let failures: Vec<String> = programs
        .iter()
        .flat_map(|program| checker.check(program))
        .collect();
    for failure in &failures {
        eprintln!("failed: {failure}");
    }
    let examples: usize = programs.iter().map(|p| p.front.examples.len()).sum();
    crate::emit(&format!(
        "{} programs, {examples} examples: {} failed, {} files did not load\n",
        programs.len(),
        failures.len(),
        checked.problems().len()
    ));
    if !checked.problems().is_empty() {
        Exit::Invalid
    } else if !failures.is_empty() {
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
