//! The configuration file: settings a user keeps instead of repeating flags.
//!
//! Found at `--config FILE`, else `$WATSMITH_CONFIG`, else `watsmith.toml` in the current
//! directory, else `$XDG_CONFIG_HOME/watsmith/watsmith.toml` (`~/.config/watsmith/watsmith.toml`).
//! A file named by the flag or the variable must exist; the others are optional (the first that
//! exists is used). Parsed strictly, like catalog front matter:
//!
//! ```toml
//! [catalog]
//! dirs = ["~/wat-programs", "team/programs"]  # relative to this file; ~ is the home directory
//! shadow = false                              # let them replace built-in programs
//!
//! [agent]                                     # `watsmith run`, `chat`; every key optional
//! provider = "openai"                         # openai | anthropic | ollama | replay
//! model = "gpt-4o-mini"
//! base_url = "http://127.0.0.1:8080/v1"       # any OpenAI-compatible server
//! api_key_env = "MY_KEY"                      # the variable holding the key
//! protocol = "tools"                          # tools | text
//! max_steps = 8
//! ```
//!
//! The environment overrides the file (`WATSMITH_PROVIDER`, `WATSMITH_MODEL`,
//! `WATSMITH_BASE_URL`, `WATSMITH_API_KEY`), and flags override both.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The environment variable that names the configuration file.
pub(crate) const CONFIG_VAR: &str = "WATSMITH_CONFIG";

/// The file's name, in the current directory or the user's configuration directory.
const FILE_NAME: &str = "watsmith.toml";

/// The settings of the file (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Where programs come from besides the built-in catalog.
    #[serde(default)]
    pub(crate) catalog: CatalogConfig,
    /// How `watsmith run` reaches a model and how far a task may go.
    #[serde(default)]
    pub(crate) agent: AgentConfig,
    /// The file read, if any.
    #[serde(skip)]
    pub(crate) path: Option<PathBuf>,
}

/// The `[agent]` table. Unset keys take the flags', the environment's or the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentConfig {
    /// `openai`, `anthropic`, `ollama` or `replay`.
    pub(crate) provider: Option<String>,
    /// The model's name at the provider.
    pub(crate) model: Option<String>,
    /// Where the provider is.
    pub(crate) base_url: Option<String>,
    /// The API key itself (better kept in the environment: see `api_key_env`).
    pub(crate) api_key: Option<String>,
    /// The environment variable that holds the API key.
    pub(crate) api_key_env: Option<String>,
    /// The transcript to answer from, for `provider = "replay"`.
    pub(crate) replay: Option<PathBuf>,
    /// Bound on each wait for the provider, in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    /// `tools` or `text`.
    pub(crate) protocol: Option<String>,
    /// Actions per task.
    pub(crate) max_steps: Option<usize>,
    /// Retries of a program that does not compile.
    pub(crate) max_retries: Option<usize>,
    /// Model tokens per task.
    pub(crate) token_budget: Option<u64>,
    /// Seconds per task.
    pub(crate) wall_clock_secs: Option<u64>,
    /// Most tokens per answer.
    pub(crate) max_tokens: Option<u32>,
    /// Sampling temperature.
    pub(crate) temperature: Option<f32>,
    /// Stream the model's answers.
    pub(crate) stream: Option<bool>,
}

/// The `[catalog]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogConfig {
    /// Directories of programs, loaded before those of `--catalog`.
    #[serde(default)]
    pub(crate) dirs: Vec<PathBuf>,
    /// Whether these directories may replace built-in programs.
    #[serde(default)]
    pub(crate) shadow: bool,
}

impl Config {
    /// The configuration from `flag`, the environment or the default place, with relative
    /// directories made relative to the file. An error names the file (and the line).
    pub(crate) fn load(flag: Option<&Path>) -> Result<Self, String> {
        let named = flag.map(Path::to_path_buf).or_else(|| {
            std::env::var_os(CONFIG_VAR)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        let (path, required) = match named {
            Some(path) => (path, true),
            None => match default_paths().into_iter().find(|path| path.is_file()) {
                Some(path) => (path, false),
                None => return Ok(Self::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if !required && error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => {
                return Err(format!(
                    "cannot read the configuration file {}: {error}",
                    path.display()
                ));
            }
        };
        let mut config: Self = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
            format!("{}:{line}: {}", path.display(), e.message())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for dir in &mut config.catalog.dirs {
            *dir = resolve(base, dir);
        }
        if let Some(replay) = &mut config.agent.replay {
            *replay = resolve(base, replay);
        }
        config.path = Some(path);
        Ok(config)
    }
}

/// `./watsmith.toml`, then `$XDG_CONFIG_HOME/watsmith/watsmith.toml` (or
/// `~/.config/watsmith/watsmith.toml`).
fn default_paths() -> Vec<PathBuf> {
    let user = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|home| home.join(".config")));
    std::iter::once(PathBuf::from(FILE_NAME))
        .chain(user.map(|dir| dir.join("watsmith").join(FILE_NAME)))
        .collect()
}

/// Where `watsmith chat` keeps the lines typed: `$XDG_STATE_HOME/watsmith/chat_history`, or
/// `~/.local/state/watsmith/chat_history`.
pub(crate) fn chat_history() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|home| home.join(".local/state")))
        .map(|dir| dir.join("watsmith").join("chat_history"))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `dir` with a leading `~` expanded, relative to `base` if relative.
fn resolve(base: &Path, dir: &Path) -> PathBuf {
    let expanded = match (dir.strip_prefix("~"), home()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => dir.to_path_buf(),
    };
    base.join(expanded)
}
