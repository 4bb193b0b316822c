//! The `watsmith` command line.
//!
//! Thin by design: parse the arguments into a spec, make one call of the runtime
//! (`watsmith-runtime`), print, and map the result to an exit status (see [`Exit`]). The binary
//! is where the process-wide choices are made, once: the TLS crypto provider of every HTTP
//! client, the async runtime, and reading the environment.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command line prints"
)]

mod args;
mod bench;
mod catalog;
mod chat;
mod color;
mod demo;
mod escape;
mod exec;
mod expand;
mod progress;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

/// Exit statuses, documented in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Exit {
    /// Success.
    Ok = 0,
    /// The program ran and returned a non-zero status (or was refused by the policy).
    ProgramError = 1,
    /// The program is invalid: it did not preprocess, assemble or validate.
    Invalid = 2,
    /// The program trapped or hit a limit.
    Trap = 3,
    /// The command line was wrong.
    Usage = 64,
    /// The input could not be read.
    Input = 66,
    /// watsmith itself could not start (the engine, the async runtime).
    Software = 70,
    /// Another process changed what this one loaded, or there is no capacity now: trying
    /// again may succeed (sysexits' `EX_TEMPFAIL`).
    Temporary = 75,
    /// The model provider refused the credentials (sysexits' `EX_NOPERM`).
    Authentication = 77,
    /// The model provider cannot be used as configured: no key, a bad base URL, an unknown
    /// model, a request past the model's context (sysexits' `EX_CONFIG`).
    Configuration = 78,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0   success
  1   the program returned a non-zero status, or the policy refused it (EACCESS)
  2   invalid program (diagnostics on stderr, or in the --json output)
  3   the program trapped or hit a limit (fuel, time, memory, stack, output)
  64  usage error (or a setting that makes no sense, or a name that names nothing)
  66  input file could not be read (or the store not written)
  70  watsmith could not start (the engine, the async runtime)
  75  another process changed the session meanwhile, or the engine was at capacity
      (every instance slot stayed busy): try again
  77  the model provider refused the credentials
  78  the model provider cannot be used as configured (no API key, a bad URL)";

/// `watsmith --version`: the version, the commit it was built from and the Wasmtime it runs on
/// (`-V` gives the version alone).
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WATSMITH_COMMIT"),
    ", Wasmtime ",
    env!("WATSMITH_WASMTIME"),
    ")"
);

/// watsmith: a runtime in which language models write small WebAssembly programs.
#[derive(Debug, Parser)]
#[command(
    name = "watsmith",
    version,
    long_version = LONG_VERSION,
    about,
    after_help = EXIT_STATUS_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Preprocess a WAT-plus body and print the expansion: locals, data segments, calls and the
    /// plain-WAT body.
    #[command(after_help = EXIT_STATUS_HELP)]
    Expand {
        /// The body to expand; `-` reads standard input.
        file: PathBuf,
        /// Print a JSON object instead (`status`, `body`, `locals`, `data`, `initial_top`,
        /// `calls`, `warnings`, or `diagnostics` when invalid).
        #[arg(long)]
        json: bool,
        /// Print the whole assembled module instead of the expansion.
        #[arg(long, conflicts_with = "json")]
        module: bool,
    },
    /// Run a WAT-plus body. Arguments are typed by their form: `42` is an integer, `4.5` a float,
    /// anything else text.
    #[command(after_help = EXIT_STATUS_HELP)]
    Exec(Box<exec::ExecArgs>),
    /// Print every capability's host functions with their signatures (Markdown): what
    /// `docs/capabilities.md` says.
    Capabilities,
    /// Run a catalog program: `watsmith use 'fib(30)'` or `watsmith use fib 30`.
    #[command(after_help = EXIT_STATUS_HELP)]
    Use(Box<catalog::UseArgs>),
    /// List the catalog's programs, or show one.
    Catalog(catalog::CatalogArgs),
    /// Solve a task with a language model: it writes WAT-plus or calls the catalog, watsmith
    /// runs it, and the model reads the outcome, until it answers. Progress on stderr, the
    /// answer on stdout.
    #[command(after_help = RUN_HELP)]
    Run(Box<run::RunTaskArgs>),
    /// Tasks one after another in one session: the model knows the conversation so far and
    /// the programs share a kv namespace. Line editing and history on a terminal; a task per
    /// line from a pipe. `/help` lists the commands.
    #[command(after_help = CHAT_HELP)]
    Chat(Box<chat::ChatArgs>),
    /// The effective configuration (`watsmith config show`), the API key redacted.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
        #[command(flatten)]
        sources: args::Sources,
    },
    /// Replay four recorded agent sessions through the real pipeline (no model needed): a
    /// computation, a compile error fixed on retry, a catalog call, a trap recovered from.
    Demo,
    /// Measure this machine: catalog calls, fresh and cached bodies, spawning python3 and
    /// /bin/true per call, and throughput on several threads; prints p50/p90/p99, calls per
    /// second and the design's speed goals, met or not.
    #[command(after_help = bench::BENCH_HELP)]
    Bench(bench::BenchArgs),
    /// Print a shell's completion script: `watsmith completions bash >
    /// ~/.local/share/bash-completion/completions/watsmith` (zsh: a file `_watsmith` on
    /// `$fpath`; fish: `~/.config/fish/completions/watsmith.fish`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `watsmith man | man -l -`; `--out-dir DIR` writes one page per
    /// command instead (`watsmith.1`, `watsmith-run.1`, ...).
    Man {
        /// Write `watsmith.1` and a page per command into this directory.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the configuration in effect: the file read, and each setting with where it came
    /// from (flag, environment, file).
    Show {
        /// Print it as JSON (every setting, the sourced ones as `{value, source}`, the API key
        /// redacted).
        #[arg(long)]
        json: bool,
    },
}

/// Where the agent's settings come from (`run`, `chat`).
macro_rules! settings_help {
    () => {
        "\
Settings: flags, then WATSMITH_PROVIDER, WATSMITH_MODEL, WATSMITH_BASE_URL, WATSMITH_API_KEY,
then the [agent] table of watsmith.toml (see `watsmith config show`). The API key may also come
from OPENAI_API_KEY or ANTHROPIC_API_KEY.
"
    };
}

const RUN_HELP: &str = concat!(
    settings_help!(),
    "
Exit status:
  0   the model answered
  1   the task stopped without an answer (limits, retries, the provider failed)
  64  usage error
  66  input file could not be read, or the store not written
  70  watsmith could not start
  77  the model provider refused the API key (401, 403)
  78  the model provider cannot be used as configured (no key, a bad URL, an unknown model,
      a request past the model's context, a replay that diverged from its transcript)"
);

const CHAT_HELP: &str = concat!(
    settings_help!(),
    "
Exit status:
  0   the chat ended (/exit, Ctrl-D, the end of the input), whatever its tasks' endings
  64  usage error
  66  a file or the terminal could not be read, or the store not written
  70  watsmith could not start"
);

/// Writes to standard output. A closed pipe (`watsmith ... | head`) ends the output quietly
/// instead of panicking as `print!` would.
fn emit(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(args::mark_negative_numbers(std::env::args_os())) {
        Ok(cli) => cli,
        Err(error) => {
            let exit = if error.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            // Printing help or a usage error to a closed pipe is not worth a panic.
            let _ = error.print();
            return exit.into();
        }
    };
    // Every HTTP client of the process (the http capability, the model providers) uses ring's
    // cryptography; a process installs its provider once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = watsmith_runtime::Environment::capture();
    color::init(&env);
    // `expand`, `bench`, `completions` and `man` need no async runtime; every other command
    // makes one runtime call.
    match cli.command {
        Command::Expand { file, json, module } if !module => {
            return expand::run(&file, json).into();
        }
        Command::Bench(args) => return bench::run(&args).into(),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "watsmith", &mut out);
            emit(&String::from_utf8_lossy(&out));
            return Exit::Ok.into();
        }
        Command::Man { out_dir } => return man(out_dir.as_deref()).into(),
        _ => {}
    }
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(tokio) => tokio,
        Err(error) => {
            eprintln!(
                "{} cannot start the async runtime: {error}",
                crate::color::error_label()
            );
            return Exit::Software.into();
        }
    };
    let exit = tokio.block_on(async {
        match cli.command {
            Command::Expand { file, .. } => expand::module(&file, &env).await,
            Command::Exec(args) => exec::run(&args, &env).await,
            Command::Use(args) => catalog::run_use(&args, &env).await,
            Command::Catalog(args) => catalog::run_catalog(&args, &env).await,
            Command::Demo => demo::run(&env).await,
            Command::Run(args) => run::run_task(&args, &env).await,
            Command::Chat(args) => chat::run(&args, &env).await,
            Command::Config {
                command: ConfigCommand::Show { json },
                sources,
            } => run::show_config(&sources, &env, json),
            Command::Capabilities => capabilities(&env).await,
            Command::Bench(_) | Command::Completions { .. } | Command::Man { .. } => Exit::Usage,
        }
    });
    // Tasks still running on the blocking pool (a pre-warming) end with the process.
    tokio.shutdown_background();
    exit.into()
}

/// `watsmith man`: the man page on stdout, or a page per command in `out_dir`.
fn man(out_dir: Option<&std::path::Path>) -> Exit {
    match out_dir {
        Some(dir) => match clap_mangen::generate_to(Cli::command(), dir) {
            Ok(()) => Exit::Ok,
            Err(error) => {
                eprintln!(
                    "{} cannot write the man pages into {}: {error}",
                    color::error_label(),
                    dir.display()
                );
                Exit::Input
            }
        },
        None => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => {
                    emit(&String::from_utf8_lossy(&out));
                    Exit::Ok
                }
                Err(error) => {
                    eprintln!(
                        "{} cannot render the man page: {error}",
                        color::error_label()
                    );
                    Exit::Software
                }
            }
        }
    }
}

/// `watsmith capabilities`: every capability's host functions, as the engine has them.
async fn capabilities(env: &watsmith_runtime::Environment) -> Exit {
    let runtime = match args::Flags::default()
        .start(env, watsmith_runtime::Prewarm::OnDemand)
        .await
    {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    emit(&runtime.engine().registry().document());
    Exit::Ok
}
