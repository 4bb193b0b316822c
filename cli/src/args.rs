//! The flags commands share, turned into what the runtime takes: settings (merged with the
//! configuration file and the environment by the runtime's one function) and policy specs; the
//! runtime started from them; and its errors rendered with this command line's hints.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use watsmith_agent::{PromptStyle, Protocol};
use watsmith_engine::capabilities::{fs, http};
use watsmith_engine::{FsSpec, LimitsSpec, PolicySpec};
use watsmith_runtime::settings::{AgentSettings, CatalogSettings, EngineSettings, StoreSettings};
use watsmith_runtime::{
    Environment, ModelError, Notice, Prewarm, Runtime, RuntimeError, RuntimeOptions, Settings,
    merge,
};

use crate::Exit;

/// Where programs come from besides the built-in catalog, and the configuration file.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Catalog and configuration")]
pub(crate) struct Sources {
    /// Also load the programs of this directory (repeatable).
    #[arg(long = "catalog", value_name = "DIR", global = true)]
    dirs: Vec<PathBuf>,
    /// Let a program of `--catalog` replace a built-in one of the same name.
    #[arg(long, global = true)]
    shadow: bool,
    /// The configuration file (default: `$WATSMITH_CONFIG`, else `./watsmith.toml`, else
    /// `~/.config/watsmith/watsmith.toml`, if one exists).
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) config: Option<PathBuf>,
}

/// Where what outlives a run is kept.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Store")]
pub(crate) struct StoreArgs {
    /// The store: an SQLite database of kv namespaces, sessions and transcripts, shared safely
    /// by processes (created if missing; an older JSON kv file is imported). Without it, kv
    /// lives for the process.
    #[arg(long, value_name = "FILE")]
    pub(crate) store: Option<PathBuf>,
    /// Deprecated: `--store FILE --allow kv`. Kept for this release; a JSON kv file it names is
    /// imported into a database at the same path on first use.
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    pub(crate) kv_file: Option<PathBuf>,
}

impl StoreArgs {
    /// The store's file, if named.
    pub(crate) fn path(&self) -> Option<PathBuf> {
        self.store.clone().or_else(|| self.kv_file.clone())
    }
}

/// The flags of a run shared by `exec`, `use`, `run` and `chat`: limits, grants, and where
/// compiled modules and the store are kept.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Limits and grants")]
pub(crate) struct RunArgs {
    /// Instruction budget; `0` for unlimited (the deadline still applies) [default: 1000000000].
    #[arg(long)]
    fuel: Option<u64>,
    /// Wall-clock deadline in milliseconds, host calls (HTTP, AI) included [default: 2000].
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Cap on the linear memory, in MiB [default: 64].
    #[arg(long)]
    memory_mb: Option<u64>,
    /// Grant a capability (repeatable). `core`, `str`, `arr`, `json` and `math` are always
    /// granted; `kv`, `fs`, `http`, `time`, `rand` and `ai` only when asked for. `ai` asks the
    /// model of `--provider` and `--model` (in `run` and `chat`, the agent's own).
    #[arg(short = 'a', long = "allow", value_name = "CAP")]
    allow: Vec<String>,
    /// Allow HTTP requests to a host (repeatable; grants `http`): `api.example.com`,
    /// `*.example.com`, `example.com:8443`, `*`. Loopback, private and metadata addresses are
    /// refused unless named by address (`127.0.0.1:8080`).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// Jail root of `fs` (grants `fs`, read-only unless `--fs-write`).
    #[arg(long, value_name = "DIR")]
    fs_root: Option<PathBuf>,
    /// Let `fs` write under its root.
    #[arg(long, requires = "fs_root")]
    fs_write: bool,
    /// The `kv` namespace of the runs [default: default].
    #[arg(long, value_name = "NAME")]
    kv_namespace: Option<String>,
    /// Seed of `rand` (grants `rand`); the same seed gives the same numbers.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Keep compiled modules in this directory, so later runs of the same body skip compiling.
    #[arg(long, value_name = "DIR")]
    module_cache: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

impl RunArgs {
    /// The policy the grant flags describe over the compute capabilities, or `None` when no
    /// grant flag is given (a resumed session then keeps its own).
    pub(crate) fn policy(&self) -> Option<PolicySpec> {
        let given = !self.allow.is_empty()
            || !self.allow_hosts.is_empty()
            || self.fs_root.is_some()
            || self.seed.is_some()
            || self.store.kv_file.is_some()
            || self.kv_namespace.is_some();
        if !given {
            return None;
        }
        let mut spec = PolicySpec::standard();
        for capability in &self.allow {
            spec.allow(capability.clone());
        }
        if !self.allow_hosts.is_empty() {
            spec.allow_hosts(self.allow_hosts.iter().cloned());
        }
        if let Some(root) = &self.fs_root {
            spec.allow_fs(if self.fs_write {
                FsSpec::read_write(root)
            } else {
                FsSpec::read_only(root)
            });
        }
        if let Some(seed) = self.seed {
            spec.allow_rand(seed);
        }
        if self.store.kv_file.is_some() {
            // `--kv-file` granted kv, as it always did; naming no namespace (`default` unless
            // `--kv-namespace`), so that a new stored session gets its own, as with `--allow kv`.
            spec.allow(watsmith_engine::capabilities::kv::NAME);
        }
        Some(match &self.kv_namespace {
            Some(namespace) => spec.in_kv_namespace(namespace.clone()),
            None => spec,
        })
    }

    /// [`RunArgs::policy`], or the compute capabilities.
    pub(crate) fn policy_or_standard(&self) -> PolicySpec {
        self.policy().unwrap_or_else(PolicySpec::standard)
    }

    /// The settings these flags give.
    fn settings(&self, settings: &mut Settings) {
        settings.limits = LimitsSpec {
            fuel: self.fuel,
            timeout_ms: self.timeout_ms,
            memory_mb: self.memory_mb,
            ..LimitsSpec::default()
        };
        settings.engine = EngineSettings {
            module_cache: self.module_cache.clone(),
            ..EngineSettings::default()
        };
        settings.store = StoreSettings {
            path: self.store.path(),
            ..StoreSettings::default()
        };
    }
}

/// Which model to ask: for the agent (`run`, `chat`), and for programs that call `$ai`
/// (`exec`, `use`).
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Model")]
pub(crate) struct ModelArgs {
    /// The model's API: `openai` (and any OpenAI-compatible server with `--base-url`),
    /// `anthropic`, `ollama`, or `replay` (answers from a transcript, `--replay FILE`).
    #[arg(short = 'p', long, value_parser = watsmith_runtime::settings::ProviderName::NAMES)]
    provider: Option<String>,
    /// The model's name at the provider.
    #[arg(short = 'm', long)]
    model: Option<String>,
    /// Where the provider is (default: the provider's own URL; Ollama: 127.0.0.1:11434).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// The transcript the `replay` provider answers from.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
}

impl ModelArgs {
    fn settings(&self, agent: &mut AgentSettings) {
        // The parser allows only the names the runtime knows.
        agent.provider = self.provider.as_deref().and_then(|name| name.parse().ok());
        agent.model.clone_from(&self.model);
        agent.base_url.clone_from(&self.base_url);
        agent.replay.clone_from(&self.replay);
    }
}

/// How far a task may go and how the model states its actions (`run`, `chat`).
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Task")]
pub(crate) struct TaskArgs {
    /// Instructions added at the end of the system prompt (at most 16 KiB), e.g. `-s 'Answer
    /// in one word.'`.
    #[arg(short = 's', long, value_name = "TEXT")]
    system: Option<String>,
    /// Sampling temperature, 0 to 2 (default: the provider's).
    #[arg(short = 't', long, value_name = "T")]
    temperature: Option<f32>,
    /// Most tokens per answer of the model (default 4096).
    #[arg(long, value_name = "N")]
    max_tokens: Option<u32>,
    /// How the model states actions: `tools` (native tool calls; default for openai and
    /// anthropic) or `text` (a ```wat block or an @use line; default for ollama).
    #[arg(long, value_parser = Protocol::NAMES)]
    protocol: Option<String>,
    /// How much of the reference the system prompt holds: `compact` (each capability in a line,
    /// full references on demand; the default) or `full` (every signature up front).
    #[arg(long, value_parser = PromptStyle::NAMES)]
    prompt: Option<String>,
    /// Actions per task (default 8).
    #[arg(long, value_name = "N")]
    max_steps: Option<usize>,
    /// Retries of a program that does not compile (default 2).
    #[arg(long, value_name = "N")]
    max_retries: Option<usize>,
    /// Model tokens per task, all requests together (default 200000).
    #[arg(long, value_name = "N")]
    token_budget: Option<u64>,
    /// Seconds per task, model latency included (default 300).
    #[arg(long, value_name = "S")]
    wall_clock_secs: Option<u64>,
    /// Do not stream the model's answers.
    #[arg(long)]
    no_stream: bool,
}

impl TaskArgs {
    fn settings(&self, agent: &mut AgentSettings) {
        // clap admits only the names.
        agent.protocol = self.protocol.as_deref().and_then(Protocol::from_name);
        agent.prompt = self.prompt.as_deref().and_then(PromptStyle::from_name);
        agent.system.clone_from(&self.system);
        agent.temperature = self.temperature;
        agent.max_tokens = self.max_tokens;
        agent.max_steps = self.max_steps;
        agent.max_retries = self.max_retries;
        agent.token_budget = self.token_budget;
        agent.wall_clock_secs = self.wall_clock_secs;
        if self.no_stream {
            agent.stream = Some(false);
        }
    }
}

/// What a command's flags say, for the runtime: each part optional.
#[derive(Default)]
pub(crate) struct Flags<'a> {
    pub(crate) sources: Option<&'a Sources>,
    pub(crate) run: Option<&'a RunArgs>,
    pub(crate) model: Option<&'a ModelArgs>,
    pub(crate) task: Option<&'a TaskArgs>,
    /// The configuration file named by a flag of the command itself.
    pub(crate) config: Option<&'a std::path::Path>,
    /// Never stream the model's answers (`--json` prints whole events).
    pub(crate) no_stream: bool,
}

impl Flags<'_> {
    /// The settings the flags give.
    fn settings(&self) -> Settings {
        let mut settings = Settings::default();
        if let Some(sources) = self.sources {
            settings.catalog = CatalogSettings {
                dirs: sources.dirs.clone(),
                shadow: sources.shadow,
            };
        }
        if let Some(run) = self.run {
            run.settings(&mut settings);
        }
        if let Some(model) = self.model {
            model.settings(&mut settings.agent);
        }
        if let Some(task) = self.task {
            task.settings(&mut settings.agent);
        }
        if self.no_stream {
            settings.agent.stream = Some(false);
        }
        settings
    }

    fn config(&self) -> Option<&std::path::Path> {
        self.config
            .or_else(|| self.sources.and_then(|s| s.config.as_deref()))
    }

    /// The merged settings: the flags over the environment over the configuration file.
    pub(crate) fn effective(&self, env: &Environment) -> Result<watsmith_runtime::Effective, Exit> {
        let (file, path) = Settings::load(self.config(), env).map_err(|e| usage(&e.to_string()))?;
        merge(&file, path.as_deref(), env, &self.settings()).map_err(|e| usage(&e.to_string()))
    }

    /// Starts the runtime these flags describe, printing what it notes (a catalog file that
    /// did not load, a store imported) on stderr.
    pub(crate) async fn start(&self, env: &Environment, prewarm: Prewarm) -> Result<Runtime, Exit> {
        if self.run.is_some_and(|run| run.store.kv_file.is_some()) {
            eprintln!(
                "note: --kv-file is deprecated: use --store FILE --allow kv (the same database)"
            );
        }
        start_with(self.effective(env)?, prewarm).await
    }
}

/// Starts a runtime of `settings`, with this command line's hints, printing what it notes.
pub(crate) async fn start_with(
    settings: watsmith_runtime::Effective,
    prewarm: Prewarm,
) -> Result<Runtime, Exit> {
    let mut options = RuntimeOptions::new(settings);
    options.prewarm = prewarm;
    options.hint = Some(Arc::new(grant_flag));
    let runtime = Runtime::start(options)
        .await
        .map_err(|e| failure(&e, Context::Run))?;
    for notice in runtime.notes() {
        match notice {
            Notice::CatalogProblem(problem) => eprintln!("warning: {problem}"),
            other => eprintln!("note: {other}"),
        }
    }
    Ok(runtime)
}

/// The flag that grants `capability`, for the hints of refusals.
fn grant_flag(capability: &str) -> Option<String> {
    Some(match capability {
        http::NAME => "`--allow-host HOST`".to_owned(),
        fs::NAME => "`--fs-root DIR`".to_owned(),
        other => format!("`--allow {other}`"),
    })
}

/// Prints a usage error; exit 64.
pub(crate) fn usage(message: &str) -> Exit {
    eprintln!("{} {message}", crate::color::error_label());
    Exit::Usage
}

/// What a command was doing, for the hint of a model error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// A program's `ai` needs the model (`exec`, `use`).
    Run,
    /// The agent needs the model (`run`, `chat`).
    Agent,
}

/// Marks a negative WebAssembly number, which clap would read as short flags: clap takes a word
/// after `-` for a number only in plain decimal, so `-inf`, `-nan:0x1`, `-0x10` and `-1_000`
/// (and `-7`, for one rule) get this private-use character in front before parsing, and
/// [`unmark`] takes it off where the words are read as arguments.
const NUMBER_MARK: char = '\u{E000}';

/// The command line with every negative WebAssembly number before `--` marked (see
/// [`NUMBER_MARK`]), so that clap gives it to the positional arguments.
pub(crate) fn mark_negative_numbers(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut escaped = false;
    args.into_iter()
        .map(|arg| {
            escaped |= arg == "--";
            match arg.to_str() {
                Some(word)
                    if !escaped
                        && word.starts_with('-')
                        && !matches!(
                            watsmith_engine::Value::from_literal(word),
                            watsmith_engine::Value::Str(_)
                        ) =>
                {
                    format!("{NUMBER_MARK}{word}").into()
                }
                _ => arg,
            }
        })
        .collect()
}

/// A positional word as it was written, without the mark [`mark_negative_numbers`] gave it.
pub(crate) fn unmark(word: &str) -> String {
    word.strip_prefix(NUMBER_MARK).unwrap_or(word).to_owned()
}

/// Prints a runtime error with this command line's hint, and gives its exit status, from the
/// error's kind ([`watsmith_runtime::ErrorKind`]): the command line or the settings were wrong
/// or name nothing (64), a file or the store could not be read or written (66), watsmith could
/// not start (70), another process changed what this one loaded, or no capacity now (75), the
/// model provider refused the credentials (77) or cannot be used as configured (78).
pub(crate) fn failure(error: &RuntimeError, context: Context) -> Exit {
    use watsmith_runtime::{ErrorKind, Resource};
    let message = match error {
        RuntimeError::Model(model) => match (model, context) {
            (ModelError::NoProvider, Context::Agent) => {
                "choose a model provider: --provider openai|anthropic|ollama|replay (or \
                 `provider` in the [agent] table of watsmith.toml); without a model \
                 endpoint, `watsmith demo` replays recorded sessions"
                    .to_owned()
            }
            (ModelError::NoProvider, Context::Run) => {
                "`ai` asks a language model, and none is configured: name one with \
                 --provider openai|anthropic|ollama and --model NAME (or the [agent] table \
                 of watsmith.toml)"
                    .to_owned()
            }
            (ModelError::NoModelName { provider }, _) => format!(
                "name the model to ask: --model NAME (or `model` in the [agent] table) for {provider}"
            ),
            (ModelError::NoTranscript, _) => {
                "the replay provider answers from a transcript: --replay FILE".to_owned()
            }
            (ModelError::TranscriptModel { .. }, _) => format!("{model}: give --model"),
            (other, _) => other.to_string(),
        },
        other => other.to_string(),
    };
    eprintln!("{} {message}", crate::color::error_label());
    match error.kind() {
        ErrorKind::Invalid | ErrorKind::NotFound => Exit::Usage,
        ErrorKind::Conflict | ErrorKind::Busy => Exit::Temporary,
        ErrorKind::Environment(Resource::Model) => match error {
            RuntimeError::Model(ModelError::Provider(provider))
                if provider.failure() == watsmith_agent::ProviderFailure::Authentication =>
            {
                Exit::Authentication
            }
            _ => Exit::Configuration,
        },
        ErrorKind::Environment(_) => Exit::Input,
        _ => Exit::Software,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kv_file_grants_kv_as_store_and_allow_kv_do() {
        // `--kv-file FILE` is `--store FILE --allow kv`: it names no namespace, so that a new
        // stored session (`chat --session NAME`) gets its own, not the shared `default`.
        let kv_file = RunArgs {
            store: StoreArgs {
                kv_file: Some("kv.json".into()),
                ..StoreArgs::default()
            },
            ..RunArgs::default()
        };
        let store_and_allow = RunArgs {
            allow: vec!["kv".to_owned()],
            store: StoreArgs {
                store: Some("kv.json".into()),
                ..StoreArgs::default()
            },
            ..RunArgs::default()
        };
        assert_eq!(kv_file.policy(), store_and_allow.policy());
        let policy = kv_file.policy().expect("a policy");
        assert_eq!(
            policy.kv(),
            Some(watsmith_engine::KvGrant::DEFAULT_NAMESPACE)
        );
    }
}
