//! Settings: what a user keeps in `watsmith.toml`, says in the environment, or gives as flags,
//! in one serde schema ([`Settings`], `deny_unknown_fields`), merged by one pure function
//! ([`merge`]) that is given the environment instead of reading it.
//!
//! ```toml
//! [catalog]
//! dirs = ["~/wat-programs"]     # relative to this file; ~ is the home directory
//! shadow = false                # let them replace built-in programs
//!
//! [agent]                       # `watsmith run`, `chat`, and the model `ai` asks
//! provider = "openai"           # openai | anthropic | ollama | replay
//! model = "gpt-4o-mini"
//! base_url = "http://127.0.0.1:8080/v1"
//! api_key_env = "MY_KEY"        # the variable holding the key (or `api_key`, less safe)
//! timeout_ms = 300000           # each wait for the provider
//! protocol = "tools"            # tools | text
//! prompt = "compact"            # compact (references on demand) | full
//! max_steps = 8
//! max_retries = 2               # of a program that does not compile
//! token_budget = 200000
//! wall_clock_secs = 300
//! max_tokens = 4096
//! temperature = 0.2
//! stream = true
//! system = "Answer in French."   # added to the system prompt (at most 16 KiB)
//!
//! [agent.retry]                 # failed requests to the provider
//! max_retries = 3
//! base_delay_ms = 500
//! max_delay_ms = 30000
//! max_retry_after_ms = 60000
//!
//! [limits]                      # each run (`watsmith exec --fuel` and the like)
//! fuel = 1000000000             # 0: unlimited
//! timeout_ms = 2000
//! memory_mb = 64
//!
//! [engine]
//! module_cache = "~/.cache/watsmith"
//! queue = 1024                  # calls that may wait for an instance slot or the compiler
//! queue_wait_ms = 1000          # the longest one waits before it is answered busy
//!
//! [store]
//! path = "~/.local/share/watsmith/watsmith.db"
//! session_ttl_secs = 2592000
//! lease_secs = 30               # a task's hold on its session, renewed while it runs
//! ```
//!
//! Precedence: flags, then the environment (`WATSMITH_PROVIDER`, `WATSMITH_MODEL`,
//! `WATSMITH_BASE_URL`, `WATSMITH_API_KEY`), then the file, then the defaults. The API key comes
//! from `WATSMITH_API_KEY`, the variable named by `api_key_env`, the provider's usual variable
//! (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`) or the file, in that order. The file is found at the
//! path given (`--config`), else `$WATSMITH_CONFIG`, else `./watsmith.toml`, else
//! `$XDG_CONFIG_HOME/watsmith/watsmith.toml` (`~/.config/watsmith/watsmith.toml`); one named
//! must exist, the others are optional.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use watsmith_agent::{
    AgentLimits, ApiKey, PromptStyle, Protocol, ProviderKind, RetryPolicy, defaults,
};
use watsmith_engine::limits::{DEFAULT_QUEUE_CAPACITY, DEFAULT_QUEUE_WAIT};
use watsmith_engine::{LimitsSpec, QueueConfig};

use crate::store::{DEFAULT_LEASE, DEFAULT_SESSION_TTL};

/// The variable that names the configuration file.
pub const CONFIG_VAR: &str = "WATSMITH_CONFIG";
/// The configuration file's name, in the current directory or the user's configuration
/// directory.
pub const CONFIG_FILE: &str = "watsmith.toml";

/// Largest configuration file read, in bytes; a longer one (or a device, a FIFO, a directory)
/// is refused with [`SettingsError::Read`] before anything of it is parsed.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The environment a process was started with, as a value: the binary captures it once
/// ([`Environment::capture`]); everything else is given it. Empty variables count as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The variables given (empty ones dropped; names and values that are not UTF-8 too).
    pub fn new<K: Into<OsString>, V: Into<OsString>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: vars
                .into_iter()
                .filter_map(|(k, v)| {
                    Some((k.into().into_string().ok()?, v.into().into_string().ok()?))
                })
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        }
    }

    /// The environment of this process. Only binaries call this.
    pub fn capture() -> Self {
        Self::new(std::env::vars_os())
    }

    /// A variable's value, if it is set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The home directory (`$HOME`).
    pub fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from)
    }

    /// `$XDG_<KIND>_HOME`, or `~/<fallback>`.
    fn xdg(&self, kind: &str, fallback: &str) -> Option<PathBuf> {
        self.get(&format!("XDG_{kind}_HOME"))
            .map(PathBuf::from)
            .or_else(|| self.home().map(|home| home.join(fallback)))
    }

    /// Where `watsmith chat` keeps the lines typed: `$XDG_STATE_HOME/watsmith/chat_history`
    /// (`~/.local/state/watsmith/chat_history`).
    pub fn chat_history(&self) -> Option<PathBuf> {
        self.xdg("STATE", ".local/state")
            .map(|dir| dir.join("watsmith").join("chat_history"))
    }

    /// The store of stored sessions when none is configured:
    /// `$XDG_DATA_HOME/watsmith/watsmith.db` (`~/.local/share/watsmith/watsmith.db`).
    pub fn default_store(&self) -> Option<PathBuf> {
        self.xdg("DATA", ".local/share")
            .map(|dir| dir.join("watsmith").join("watsmith.db"))
    }
}

/// A model provider's API, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    /// OpenAI's Chat Completions, and the servers that copy it.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic's Messages.
    Anthropic,
    /// Ollama's native chat.
    Ollama,
    /// Answers from a recorded transcript.
    Replay,
}

impl ProviderName {
    /// Every provider, as the settings name them.
    pub const ALL: [Self; 4] = [Self::OpenAi, Self::Anthropic, Self::Ollama, Self::Replay];

    /// Every provider's name, as settings and flags take them.
    pub const NAMES: [&'static str; 4] = [
        ProviderKind::OpenAi.name(),
        ProviderKind::Anthropic.name(),
        ProviderKind::Ollama.name(),
        watsmith_agent::REPLAY,
    ];

    /// Its name: the API's ([`ProviderKind::name`]), or [`watsmith_agent::REPLAY`].
    pub const fn name(self) -> &'static str {
        match self {
            Self::OpenAi => ProviderKind::OpenAi.name(),
            Self::Anthropic => ProviderKind::Anthropic.name(),
            Self::Ollama => ProviderKind::Ollama.name(),
            Self::Replay => watsmith_agent::REPLAY,
        }
    }

    /// The environment variable its API key is usually kept in, if it takes one.
    pub fn key_variable(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("OPENAI_API_KEY"),
            Self::Anthropic => Some("ANTHROPIC_API_KEY"),
            Self::Ollama | Self::Replay => None,
        }
    }
}

impl std::str::FromStr for ProviderName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown provider `{name}`; the providers are openai, anthropic, ollama and replay"
                )
            })
    }
}

/// The `[catalog]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSettings {
    /// Directories of programs, besides the built-in ones.
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
    /// Whether these directories may replace built-in programs of the same name.
    #[serde(default)]
    pub shadow: bool,
}

/// The `[agent]` table: the model, and how far a task may go. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// The model's API.
    pub provider: Option<ProviderName>,
    /// The model's name at the provider.
    pub model: Option<String>,
    /// Where the provider is.
    pub base_url: Option<String>,
    /// The API key itself (better kept in the environment: see `api_key_env`).
    pub api_key: Option<String>,
    /// The environment variable that holds the API key.
    pub api_key_env: Option<String>,
    /// The transcript the `replay` provider answers from.
    pub replay: Option<PathBuf>,
    /// Bound on each wait for the provider, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// How failed requests to the provider are retried.
    pub retry: Option<RetryPolicy>,
    /// How the model states its actions.
    pub protocol: Option<Protocol>,
    /// How much of the reference the system prompt holds.
    pub prompt: Option<PromptStyle>,
    /// Actions per task.
    pub max_steps: Option<usize>,
    /// Retries of a program that does not compile.
    pub max_retries: Option<usize>,
    /// Model tokens per task.
    pub token_budget: Option<u64>,
    /// Seconds per task.
    pub wall_clock_secs: Option<u64>,
    /// Most tokens per answer.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Stream the model's answers.
    pub stream: Option<bool>,
    /// Instructions added at the end of the system prompt (at most [`MAX_SYSTEM_BYTES`]).
    pub system: Option<String>,
}

/// The most bytes of instructions a session may add to the system prompt (`system`): a
/// paragraph of instructions, not a second prompt.
pub const MAX_SYSTEM_BYTES: usize = 16 * 1024;

/// The `[engine]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// Keep compiled modules in this directory.
    pub module_cache: Option<PathBuf>,
    /// Calls that may wait for an instance slot or the compiler at once (default
    /// [`DEFAULT_QUEUE_CAPACITY`](watsmith_engine::limits::DEFAULT_QUEUE_CAPACITY)); 0: none
    /// waits, a call that finds every slot busy is answered busy at once.
    pub queue: Option<u32>,
    /// The longest a queued call waits, in milliseconds (default
    /// [`DEFAULT_QUEUE_WAIT`](watsmith_engine::limits::DEFAULT_QUEUE_WAIT), at most
    /// [`MAX_QUEUE_WAIT`]).
    pub queue_wait_ms: Option<u64>,
}

/// The longest queue wait a setting may ask for: a caller told to wait longer than this would
/// rather be told to come back.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(60);

/// The `[store]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// The database file: kv namespaces, sessions, transcripts.
    pub path: Option<PathBuf>,
    /// How long a session is kept after its last use, in seconds.
    pub session_ttl_secs: Option<u64>,
    /// How long a task's lease on its session lasts unless renewed, in seconds (default
    /// [`DEFAULT_LEASE`], at least 1): a process that dies holding one blocks the session
    /// this long.
    pub lease_secs: Option<u64>,
}

/// Everything that can be set, from a file or from flags (a front end fills one from its
/// command line: the same schema).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where programs come from besides the built-in catalog.
    #[serde(default)]
    pub catalog: CatalogSettings,
    /// The model and the tasks.
    #[serde(default)]
    pub agent: AgentSettings,
    /// The limits of each run.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// The engine.
    #[serde(default)]
    pub engine: EngineSettings,
    /// The store.
    #[serde(default)]
    pub store: StoreSettings,
}

/// The settings could not be read or make no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The configuration file is not valid.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A setting's value is not one it can have.
    #[error("{message} (from the {origin})")]
    Invalid {
        /// What is wrong, naming the setting.
        message: String,
        /// Where the value came from.
        origin: Source,
    },
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A flag (or whatever the front end's own input is).
    Flag,
    /// An environment variable.
    Environment(String),
    /// The configuration file.
    File,
    /// The default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flag => f.write_str("flag"),
            Self::Environment(var) => write!(f, "environment ({var})"),
            Self::File => f.write_str("file"),
            Self::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

/// A catalog directory to load, and whether its programs may replace built-in ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogDir {
    /// The directory.
    pub dir: PathBuf,
    /// Whether it may shadow built-in programs.
    pub shadow: bool,
}

/// The agent's settings, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentEffective {
    /// The provider, if one is named.
    pub provider: Option<Sourced<ProviderName>>,
    /// The model.
    pub model: Option<Sourced<String>>,
    /// Where the provider is.
    pub base_url: Option<Sourced<String>>,
    /// The key, with the name of where it came from (a variable, or the file).
    pub api_key: Option<Sourced<ApiKey>>,
    /// The transcript of the `replay` provider.
    pub replay: Option<PathBuf>,
    /// Bound on each wait for the provider.
    pub timeout: Duration,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// How the model states its actions.
    pub protocol: Protocol,
    /// Whether the protocol was chosen (a flag, the file), not defaulted: a replay then keeps
    /// it instead of its recording's.
    pub protocol_chosen: bool,
    /// How much of the reference the system prompt holds (default compact).
    pub prompt: PromptStyle,
    /// Whether the prompt style was chosen, not defaulted (as for the protocol).
    pub prompt_chosen: bool,
    /// The limits of each task.
    pub limits: AgentLimits,
    /// Most tokens per answer.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Stream the model's answers.
    pub stream: bool,
    /// Instructions added at the end of the system prompt.
    pub system: Option<String>,
}

/// Every setting, resolved: what a runtime is started with.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// The catalog directories, the file's first.
    pub catalog: Vec<CatalogDir>,
    /// The agent.
    pub agent: AgentEffective,
    /// The limits of each run (the flags' over the file's).
    pub limits: LimitsSpec,
    /// The on-disk module cache.
    pub module_cache: Option<PathBuf>,
    /// The queue in front of the instance pool and the compiler.
    pub queue: QueueConfig,
    /// The store's file, if one is named.
    pub store: Option<PathBuf>,
    /// How long a session is kept after its last use.
    pub session_ttl: Duration,
    /// How long a task's lease on its session lasts unless renewed.
    pub lease: Duration,
}

impl Default for Effective {
    fn default() -> Self {
        merge(
            &Settings::default(),
            None,
            &Environment::default(),
            &Settings::default(),
        )
        .expect("the defaults are valid")
    }
}

impl Settings {
    /// Parses a configuration file's text; paths in it are made relative to `path`'s directory,
    /// with a leading `~` for the home directory. An error names the file and the line.
    pub fn from_toml(text: &str, path: &Path, env: &Environment) -> Result<Self, SettingsError> {
        let mut settings: Self = toml::from_str(text).map_err(|e| SettingsError::Parse {
            path: path.to_path_buf(),
            line: e
                .span()
                .map_or(1, |span| text[..span.start].matches('\n').count() + 1),
            message: e.message().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| *p = resolve_path(base, p, env);
        settings.catalog.dirs.iter_mut().for_each(resolve);
        settings.agent.replay.iter_mut().for_each(resolve);
        settings.engine.module_cache.iter_mut().for_each(resolve);
        settings.store.path.iter_mut().for_each(resolve);
        Ok(settings)
    }

    /// The configuration file `flag` names, else the one `$WATSMITH_CONFIG` names, else the
    /// first of `./watsmith.toml` and the user's that exists: its settings and its path, or
    /// none. A file named must exist.
    pub fn load(
        flag: Option<&Path>,
        env: &Environment,
    ) -> Result<(Self, Option<PathBuf>), SettingsError> {
        let named = flag
            .map(Path::to_path_buf)
            .or_else(|| env.get(CONFIG_VAR).map(PathBuf::from));
        let (path, required) = match named {
            Some(path) => (path, true),
            None => {
                let user = env
                    .xdg("CONFIG", ".config")
                    .map(|dir| dir.join("watsmith").join(CONFIG_FILE));
                match std::iter::once(PathBuf::from(CONFIG_FILE))
                    .chain(user)
                    .find(|path| path.is_file())
                {
                    Some(path) => (path, false),
                    None => return Ok((Self::default(), None)),
                }
            }
        };
        let text = match watsmith_engine::file::read_text(&path, MAX_CONFIG_BYTES) {
            Ok(text) => text,
            Err(error) if !required && error.is_not_found() => {
                return Ok((Self::default(), None));
            }
            Err(error) => {
                return Err(SettingsError::Read {
                    path,
                    reason: error.to_string(),
                });
            }
        };
        let settings = Self::from_toml(&text, &path, env)?;
        Ok((settings, Some(path)))
    }
}

/// `path` with a leading `~` expanded, relative to `base` if relative.
fn resolve_path(base: &Path, path: &Path, env: &Environment) -> PathBuf {
    let expanded = match (path.strip_prefix("~"), env.home()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    };
    base.join(expanded)
}

/// The first of the flag's, the environment variable's and the file's value, with its source.
fn pick(
    flag: Option<&String>,
    var: &str,
    env: &Environment,
    file: Option<&String>,
) -> Option<Sourced<String>> {
    flag.map(|v| Sourced {
        value: v.clone(),
        source: Source::Flag,
    })
    .or_else(|| {
        env.get(var).map(|v| Sourced {
            value: v.to_owned(),
            source: Source::Environment(var.to_owned()),
        })
    })
    .or_else(|| {
        file.map(|v| Sourced {
            value: v.clone(),
            source: Source::File,
        })
    })
}

/// The flag's value, else the file's.
fn either<T>(flag: Option<T>, file: Option<T>) -> Option<T> {
    flag.or(file)
}

/// Merges the file's settings, the environment and the flags' settings (which win) into what a
/// runtime is started with; `file_path` is the file read, for `config show`. Pure: everything it
/// needs is given.
pub fn merge(
    file: &Settings,
    file_path: Option<&Path>,
    env: &Environment,
    flags: &Settings,
) -> Result<Effective, SettingsError> {
    let (f, a) = (&file.agent, &flags.agent);
    let provider = match a.provider {
        Some(value) => Some(Sourced {
            value,
            source: Source::Flag,
        }),
        None => match env.get("WATSMITH_PROVIDER") {
            Some(name) => Some(Sourced {
                value: name.parse().map_err(|message| SettingsError::Invalid {
                    message,
                    origin: Source::Environment("WATSMITH_PROVIDER".to_owned()),
                })?,
                source: Source::Environment("WATSMITH_PROVIDER".to_owned()),
            }),
            None => f.provider.map(|value| Sourced {
                value,
                source: Source::File,
            }),
        },
    };
    let kind = provider.as_ref().map(|p| p.value);
    let key_var = |var: &str| {
        env.get(var).map(|key| Sourced {
            value: ApiKey::new(key),
            source: Source::Environment(var.to_owned()),
        })
    };
    let api_key = key_var("WATSMITH_API_KEY")
        .or_else(|| {
            a.api_key_env
                .as_ref()
                .or(f.api_key_env.as_ref())
                .and_then(|var| key_var(var))
        })
        .or_else(|| key_var(kind?.key_variable()?))
        .or_else(|| {
            a.api_key.as_ref().map(|key| Sourced {
                value: ApiKey::new(key.clone()),
                source: Source::Flag,
            })
        })
        .or_else(|| {
            f.api_key.as_ref().map(|key| Sourced {
                value: ApiKey::new(key.clone()),
                source: Source::File,
            })
        });
    let chosen = a.protocol.or(f.protocol);
    let protocol = match (chosen, kind) {
        (Some(protocol), _) => protocol,
        (None, Some(ProviderName::Ollama)) => Protocol::Text,
        (None, _) => Protocol::Tools,
    };
    let defaults = AgentLimits::default();
    let limits = AgentLimits {
        max_steps: either(a.max_steps, f.max_steps).unwrap_or(defaults.max_steps),
        max_retries: either(a.max_retries, f.max_retries).unwrap_or(defaults.max_retries),
        token_budget: either(a.token_budget, f.token_budget).unwrap_or(defaults.token_budget),
        wall_clock: either(a.wall_clock_secs, f.wall_clock_secs)
            .map_or(defaults.wall_clock, Duration::from_secs),
    };
    let origin = |flag: bool| if flag { Source::Flag } else { Source::File };
    if limits.max_steps == 0 {
        return Err(SettingsError::Invalid {
            message: "max_steps must be at least 1".to_owned(),
            origin: origin(a.max_steps.is_some()),
        });
    }
    let max_tokens = either(a.max_tokens, f.max_tokens).unwrap_or(defaults::DEFAULT_MAX_TOKENS);
    if max_tokens == 0 {
        return Err(SettingsError::Invalid {
            message: "max_tokens must be at least 1".to_owned(),
            origin: origin(a.max_tokens.is_some()),
        });
    }
    let temperature = either(a.temperature, f.temperature);
    if let Some(t) = temperature.filter(|t| !(0.0..=2.0).contains(t)) {
        return Err(SettingsError::Invalid {
            message: format!(
                "temperature must be a number from 0 to 2 (the range providers accept), not {t}"
            ),
            origin: origin(a.temperature.is_some()),
        });
    }
    let system = either(a.system.clone(), f.system.clone());
    if let Some(text) = system.as_ref().filter(|text| text.len() > MAX_SYSTEM_BYTES) {
        return Err(SettingsError::Invalid {
            message: format!(
                "system holds {} bytes, more than the {MAX_SYSTEM_BYTES} a session may add to the \
                 system prompt",
                text.len()
            ),
            origin: origin(a.system.is_some()),
        });
    }
    let agent = AgentEffective {
        model: pick(a.model.as_ref(), "WATSMITH_MODEL", env, f.model.as_ref()),
        base_url: pick(
            a.base_url.as_ref(),
            "WATSMITH_BASE_URL",
            env,
            f.base_url.as_ref(),
        ),
        provider,
        api_key,
        replay: either(a.replay.clone(), f.replay.clone()),
        timeout: either(a.timeout_ms, f.timeout_ms)
            .map_or(defaults::REQUEST_TIMEOUT, Duration::from_millis),
        retry: either(a.retry, f.retry).unwrap_or_default(),
        protocol,
        protocol_chosen: chosen.is_some(),
        prompt: either(a.prompt, f.prompt).unwrap_or_default(),
        prompt_chosen: either(a.prompt, f.prompt).is_some(),
        limits,
        max_tokens,
        temperature,
        stream: either(a.stream, f.stream).unwrap_or(true),
        system,
    };
    let catalog = file
        .catalog
        .dirs
        .iter()
        .map(|dir| CatalogDir {
            dir: dir.clone(),
            shadow: file.catalog.shadow,
        })
        .chain(flags.catalog.dirs.iter().map(|dir| CatalogDir {
            dir: dir.clone(),
            shadow: flags.catalog.shadow,
        }))
        .collect();
    let limits = LimitsSpec {
        fuel: either(flags.limits.fuel, file.limits.fuel),
        timeout_ms: either(flags.limits.timeout_ms, file.limits.timeout_ms),
        memory_mb: either(flags.limits.memory_mb, file.limits.memory_mb),
        max_http_requests: either(
            flags.limits.max_http_requests,
            file.limits.max_http_requests,
        ),
        max_io_ops: either(flags.limits.max_io_ops, file.limits.max_io_ops),
    };
    let lease = match either(flags.store.lease_secs, file.store.lease_secs) {
        Some(0) => {
            return Err(SettingsError::Invalid {
                message: "store.lease_secs is 0; a lease lasts at least 1 second".to_owned(),
                origin: if flags.store.lease_secs.is_some() {
                    Source::Flag
                } else {
                    Source::File
                },
            });
        }
        Some(secs) => Duration::from_secs(secs),
        None => DEFAULT_LEASE,
    };
    let queue_wait = match (flags.engine.queue_wait_ms, file.engine.queue_wait_ms) {
        (Some(ms), _) => Some((ms, Source::Flag)),
        (None, Some(ms)) => Some((ms, Source::File)),
        (None, None) => None,
    };
    let queue = QueueConfig {
        capacity: either(flags.engine.queue, file.engine.queue).unwrap_or(DEFAULT_QUEUE_CAPACITY),
        wait: match queue_wait {
            Some((ms, origin)) if Duration::from_millis(ms) > MAX_QUEUE_WAIT => {
                return Err(SettingsError::Invalid {
                    message: format!(
                        "engine.queue_wait_ms is {ms}; the longest queue wait is {} ms",
                        MAX_QUEUE_WAIT.as_millis()
                    ),
                    origin,
                });
            }
            Some((ms, _)) => Duration::from_millis(ms),
            None => DEFAULT_QUEUE_WAIT,
        },
    };
    Ok(Effective {
        file: file_path.map(Path::to_path_buf),
        catalog,
        agent,
        limits,
        module_cache: either(
            flags.engine.module_cache.clone(),
            file.engine.module_cache.clone(),
        ),
        queue,
        store: either(flags.store.path.clone(), file.store.path.clone()),
        session_ttl: either(flags.store.session_ttl_secs, file.store.session_ttl_secs)
            .map_or(DEFAULT_SESSION_TTL, Duration::from_secs),
        lease,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One name per concept: what the settings file and the flags take is what each name
    /// function gives, for every provider, protocol and prompt style.
    #[test]
    fn the_names_settings_take_are_the_names_the_enums_give() {
        #[derive(Deserialize)]
        struct Named<T> {
            name: T,
        }
        fn parse<T: serde::de::DeserializeOwned>(name: &str) -> T {
            toml::from_str::<Named<T>>(&format!("name = {name:?}"))
                .expect("a name the settings take")
                .name
        }
        for (provider, name) in ProviderName::ALL.into_iter().zip(ProviderName::NAMES) {
            assert_eq!(provider.name(), name);
            assert_eq!(parse::<ProviderName>(name), provider);
        }
        for name in Protocol::NAMES {
            let protocol = Protocol::from_name(name).expect("a protocol");
            assert_eq!((protocol.name(), parse::<Protocol>(name)), (name, protocol));
        }
        for name in PromptStyle::NAMES {
            let style = PromptStyle::from_name(name).expect("a style");
            assert_eq!((style.name(), parse::<PromptStyle>(name)), (name, style));
        }
        assert_eq!(Protocol::from_name("tool"), None);
    }

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::new(vars.iter().map(|(k, v)| (*k, *v)))
    }

    fn file(text: &str) -> Settings {
        Settings::from_toml(
            text,
            Path::new("/etc/watsmith/watsmith.toml"),
            &env(&[("HOME", "/home/me")]),
        )
        .expect("valid")
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let file = file("[agent]\nprovider = \"ollama\"\nmodel = \"from-file\"\nmax_steps = 3\n");
        let flags = Settings {
            agent: AgentSettings {
                model: Some("from-flag".to_owned()),
                ..AgentSettings::default()
            },
            ..Settings::default()
        };
        let environment = env(&[
            ("WATSMITH_MODEL", "from-env"),
            ("WATSMITH_BASE_URL", "http://h/v1"),
        ]);
        let merged = merge(&file, None, &environment, &flags).expect("valid");
        let agent = &merged.agent;
        assert_eq!(
            agent.model.as_ref().map(|m| (m.value.as_str(), &m.source)),
            Some(("from-flag", &Source::Flag))
        );
        assert_eq!(
            agent.base_url.as_ref().map(|m| &m.source),
            Some(&Source::Environment("WATSMITH_BASE_URL".to_owned()))
        );
        assert_eq!(
            agent.provider.as_ref().map(|p| (p.value, &p.source)),
            Some((ProviderName::Ollama, &Source::File))
        );
        // Ollama's default protocol is text, unless one is chosen.
        assert_eq!(
            (agent.protocol, agent.protocol_chosen),
            (Protocol::Text, false)
        );
        assert_eq!(agent.limits.max_steps, 3);
        let without_flag = merge(&file, None, &environment, &Settings::default()).expect("valid");
        assert_eq!(
            without_flag.agent.model.map(|m| m.value).as_deref(),
            Some("from-env")
        );
    }

    #[test]
    fn the_key_comes_from_the_first_place_that_has_one() {
        let file = file(
            "[agent]\nprovider = \"openai\"\napi_key = \"k-file\"\napi_key_env = \"MY_KEY\"\n",
        );
        let source = |vars: &[(&str, &str)]| {
            merge(&file, None, &env(vars), &Settings::default())
                .expect("valid")
                .agent
                .api_key
                .map(|key| key.source)
        };
        let var = |name: &str| Some(Source::Environment(name.to_owned()));
        assert_eq!(
            source(&[
                ("WATSMITH_API_KEY", "a"),
                ("MY_KEY", "b"),
                ("OPENAI_API_KEY", "c")
            ]),
            var("WATSMITH_API_KEY")
        );
        assert_eq!(
            source(&[("MY_KEY", "b"), ("OPENAI_API_KEY", "c")]),
            var("MY_KEY")
        );
        assert_eq!(source(&[("OPENAI_API_KEY", "c")]), var("OPENAI_API_KEY"));
        assert_eq!(
            source(&[("OPENAI_API_KEY", "")]),
            Some(Source::File),
            "an empty variable is unset"
        );
    }

    #[test]
    fn unknown_names_are_errors_that_list_the_valid_ones() {
        let bad_env = merge(
            &Settings::default(),
            None,
            &env(&[("WATSMITH_PROVIDER", "gemini")]),
            &Settings::default(),
        )
        .expect_err("unknown provider");
        assert_eq!(
            bad_env.to_string(),
            "unknown provider `gemini`; the providers are openai, anthropic, ollama and replay (from the environment (WATSMITH_PROVIDER))"
        );
        for (text, message) in [
            (
                "[agent]\nprovider = \"gemini\"\n",
                "unknown variant `gemini`, expected one of `openai`, `anthropic`, `ollama`, `replay`",
            ),
            (
                "[agent]\nprotocol = \"json\"\n",
                "unknown variant `json`, expected `tools` or `text`",
            ),
            ("[agent]\nmodle = \"x\"\n", "unknown field `modle`"),
            ("[agent.retry]\ntries = 3\n", "unknown field `tries`"),
            ("[limits]\nfule = 3\n", "unknown field `fule`"),
        ] {
            let error = Settings::from_toml(text, Path::new("w.toml"), &Environment::default())
                .expect_err(text);
            assert!(error.to_string().contains(message), "{text}: {error}");
            assert!(error.to_string().starts_with("w.toml:"), "{error}");
        }
        let zero = merge(
            &file("[agent]\nmax_steps = 0\n"),
            None,
            &Environment::default(),
            &Settings::default(),
        )
        .expect_err("zero steps");
        assert_eq!(
            zero.to_string(),
            "max_steps must be at least 1 (from the file)"
        );
    }

    #[test]
    fn paths_in_the_file_are_relative_to_it_and_retries_are_read_from_it() {
        let settings = file(
            "[catalog]\ndirs = [\"programs\", \"~/mine\", \"/abs\"]\n[agent]\nreplay = \"run.jsonl\"\n\
             [agent.retry]\nmax_retries = 1\nbase_delay_ms = 20\n[store]\npath = \"data/w.db\"\n",
        );
        assert_eq!(
            settings.catalog.dirs,
            [
                PathBuf::from("/etc/watsmith/programs"),
                PathBuf::from("/home/me/mine"),
                PathBuf::from("/abs")
            ]
        );
        assert_eq!(
            settings.store.path,
            Some(PathBuf::from("/etc/watsmith/data/w.db"))
        );
        let merged = merge(
            &settings,
            None,
            &Environment::default(),
            &Settings::default(),
        )
        .expect("valid");
        assert_eq!(merged.agent.retry.max_retries, 1);
        assert_eq!(merged.agent.retry.base_delay, Duration::from_millis(20));
        assert_eq!(
            merged.agent.retry.max_delay,
            defaults::RETRY_MAX_DELAY,
            "unset keys keep their default"
        );
        assert_eq!(
            merged.agent.replay,
            Some(PathBuf::from("/etc/watsmith/run.jsonl"))
        );
    }

    #[test]
    fn limits_and_catalog_dirs_merge_flags_over_the_file() {
        let file = file(
            "[limits]\nfuel = 100\ntimeout_ms = 50\n[catalog]\ndirs = [\"a\"]\nshadow = true\n",
        );
        let flags = Settings {
            limits: LimitsSpec {
                fuel: Some(7),
                ..LimitsSpec::default()
            },
            catalog: CatalogSettings {
                dirs: vec![PathBuf::from("b")],
                shadow: false,
            },
            ..Settings::default()
        };
        let merged = merge(&file, None, &Environment::default(), &flags).expect("valid");
        assert_eq!(
            (merged.limits.fuel, merged.limits.timeout_ms),
            (Some(7), Some(50))
        );
        assert_eq!(
            merged.catalog,
            [
                CatalogDir {
                    dir: PathBuf::from("/etc/watsmith/a"),
                    shadow: true
                },
                CatalogDir {
                    dir: PathBuf::from("b"),
                    shadow: false
                }
            ]
        );
    }

    #[test]
    fn the_queue_has_defaults_is_read_from_the_file_and_its_wait_is_capped() {
        let defaults = Effective::default();
        assert_eq!(defaults.queue, QueueConfig::default());
        let read = file("[engine]\nqueue = 0\nqueue_wait_ms = 250\n");
        let merged =
            merge(&read, None, &Environment::default(), &Settings::default()).expect("valid");
        assert_eq!(
            merged.queue,
            QueueConfig {
                capacity: 0,
                wait: Duration::from_millis(250)
            }
        );
        let too_long = file("[engine]\nqueue_wait_ms = 60001\n");
        let error = merge(
            &too_long,
            None,
            &Environment::default(),
            &Settings::default(),
        )
        .expect_err("past the cap");
        assert_eq!(
            error.to_string(),
            "engine.queue_wait_ms is 60001; the longest queue wait is 60000 ms (from the file)"
        );
        let at_cap = file("[engine]\nqueue_wait_ms = 60000\n");
        assert!(merge(&at_cap, None, &Environment::default(), &Settings::default()).is_ok());
        assert!(
            Settings::from_toml(
                "[engine]\nqueue = -1\n",
                Path::new("w.toml"),
                &Environment::default()
            )
            .is_err(),
            "a negative queue is not a setting"
        );
    }
}
