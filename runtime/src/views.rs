//! What front ends render, in one serialisable shape each, so that the command line's `--json`,
//! the HTTP server's responses and the MCP server's structured content agree: a catalog
//! program as listed ([`ProgramListing`]), a body's expansion ([`ExpandReport`]) and the
//! effective settings with their sources ([`SettingsView`]).

use std::path::PathBuf;

use serde::Serialize;
use watsmith_catalog::Program;
use watsmith_engine::LimitsSpec;
use watsmith_preprocessor::{Diagnostic, Diagnostics, Expanded};

use crate::settings::{Effective, Sourced};

/// A catalog program as a listing shows it.
///
/// ```json
/// {"name": "fib", "signature": "fib(n: i64) -> i64", "description": "...",
///  "tags": ["math"], "capabilities": []}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramListing {
    /// The name it is called by.
    pub name: String,
    /// `name(param: type, ...) -> results`.
    pub signature: String,
    /// One line on what it computes.
    pub description: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The capabilities it needs beyond the compute ones.
    pub capabilities: Vec<String>,
}

impl ProgramListing {
    /// The listing of `program`.
    pub fn of(program: &Program) -> Self {
        let front = &program.front;
        Self {
            name: front.name.clone(),
            signature: front.signature(),
            description: front.description.clone(),
            tags: front.tags.clone(),
            capabilities: front.capabilities.clone(),
        }
    }
}

/// A body's expansion by the preprocessor, or why it has none.
///
/// `{"status": "ok", ...the expansion's fields}` or
/// `{"status": "invalid", "diagnostics": [...]}`, each diagnostic located in the body's own
/// text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpandReport {
    /// `ok` or `invalid`.
    pub status: &'static str,
    /// The expansion, when there is one.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub expanded: Option<Expanded>,
    /// Why there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

impl ExpandReport {
    /// The report of a preprocessor's result.
    pub fn of(result: Result<Expanded, Diagnostics>) -> Self {
        match result {
            Ok(expanded) => Self {
                status: "ok",
                expanded: Some(expanded),
                diagnostics: Vec::new(),
            },
            Err(diagnostics) => Self {
                status: "invalid",
                expanded: None,
                diagnostics: diagnostics.as_slice().to_vec(),
            },
        }
    }
}

/// A setting's value and where it came from: `{"value": ..., "source": "file"}`, the source
/// one of `flag`, `file`, `default`, or `environment (VARIABLE)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourcedView<T: Serialize> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: String,
}

impl<T: Serialize> SourcedView<T> {
    fn of<U>(sourced: &Sourced<U>, value: impl FnOnce(&U) -> T) -> Self {
        Self {
            value: value(&sourced.value),
            source: sourced.source.to_string(),
        }
    }
}

/// The effective settings, as `watsmith config show --json` prints them and a server's status
/// page shows them: every value resolved, the sourced ones with their source, the API key
/// redacted. Durations are in the units their setting names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsView {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// `[catalog]`.
    pub catalog: CatalogView,
    /// `[agent]`.
    pub agent: AgentView,
    /// `[limits]`: each run's, `None` for the engine's default.
    pub limits: LimitsSpec,
    /// `[store]`.
    pub store: StoreView,
    /// `[engine]`.
    pub engine: EngineView,
}

/// `[catalog]` of a [`SettingsView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogView {
    /// The directories loaded beside the built-in programs, the file's first.
    pub dirs: Vec<PathBuf>,
    /// Whether their programs may replace built-in ones.
    pub shadow: bool,
}

/// `[agent]` of a [`SettingsView`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentView {
    /// The provider (`openai`, `anthropic`, `ollama`, `replay`).
    pub provider: Option<SourcedView<&'static str>>,
    /// The model's name at the provider.
    pub model: Option<SourcedView<String>>,
    /// The provider's endpoint.
    pub base_url: Option<SourcedView<String>>,
    /// `[redacted]` when a key is set; its source names the variable it came from.
    pub api_key: Option<SourcedView<&'static str>>,
    /// The replay provider's transcript.
    pub replay: Option<PathBuf>,
    /// How the model states its actions.
    pub protocol: watsmith_agent::Protocol,
    /// How much of the reference the system prompt holds.
    pub prompt: watsmith_agent::PromptStyle,
    /// Most actions per task.
    pub max_steps: usize,
    /// Most compile-error retries per action.
    pub max_retries: usize,
    /// Most tokens per task, in and out.
    pub token_budget: u64,
    /// Longest task, in seconds.
    pub wall_clock_secs: u64,
    /// Most tokens per answer.
    pub max_tokens: u32,
    /// Sampling temperature, if set.
    pub temperature: Option<f32>,
    /// Whether answers stream.
    pub stream: bool,
    /// Bound on each wait for the provider, in milliseconds.
    pub timeout_ms: u128,
    /// `[agent.retry]`: failed requests retried.
    pub retry: RetryView,
}

/// `[agent.retry]` of a [`SettingsView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryView {
    /// Most retries of one request.
    pub max_retries: u32,
    /// First backoff, in milliseconds.
    pub base_delay_ms: u128,
    /// Longest backoff, in milliseconds.
    pub max_delay_ms: u128,
    /// Longest `Retry-After` honoured, in milliseconds.
    pub max_retry_after_ms: u128,
}

/// `[store]` of a [`SettingsView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreView {
    /// The store's file; `None`: in memory, for the process.
    pub path: Option<PathBuf>,
    /// How long a session is kept after its last use, in seconds.
    pub session_ttl_secs: u64,
    /// How long a task's lease on its session lasts unless renewed, in seconds.
    pub lease_secs: u64,
}

/// `[engine]` of a [`SettingsView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineView {
    /// The on-disk module cache, if any.
    pub module_cache: Option<PathBuf>,
    /// Most calls waiting for an instance slot or the compiler.
    pub queue: u32,
    /// Longest wait in that queue, in milliseconds.
    pub queue_wait_ms: u128,
}

impl SettingsView {
    /// The view of `settings`.
    pub fn of(settings: &Effective) -> Self {
        let agent = &settings.agent;
        Self {
            file: settings.file.clone(),
            catalog: CatalogView {
                dirs: settings.catalog.iter().map(|dir| dir.dir.clone()).collect(),
                shadow: settings.catalog.iter().any(|dir| dir.shadow),
            },
            agent: AgentView {
                provider: agent
                    .provider
                    .as_ref()
                    .map(|p| SourcedView::of(p, |name| name.name())),
                model: agent
                    .model
                    .as_ref()
                    .map(|m| SourcedView::of(m, Clone::clone)),
                base_url: agent
                    .base_url
                    .as_ref()
                    .map(|url| SourcedView::of(url, Clone::clone)),
                api_key: agent
                    .api_key
                    .as_ref()
                    .map(|key| SourcedView::of(key, |_| "[redacted]")),
                replay: agent.replay.clone(),
                protocol: agent.protocol,
                prompt: agent.prompt,
                max_steps: agent.limits.max_steps,
                max_retries: agent.limits.max_retries,
                token_budget: agent.limits.token_budget,
                wall_clock_secs: agent.limits.wall_clock.as_secs(),
                max_tokens: agent.max_tokens,
                temperature: agent.temperature,
                stream: agent.stream,
                timeout_ms: agent.timeout.as_millis(),
                retry: RetryView {
                    max_retries: agent.retry.max_retries,
                    base_delay_ms: agent.retry.base_delay.as_millis(),
                    max_delay_ms: agent.retry.max_delay.as_millis(),
                    max_retry_after_ms: agent.retry.max_retry_after.as_millis(),
                },
            },
            limits: settings.limits,
            store: StoreView {
                path: settings.store.clone(),
                session_ttl_secs: settings.session_ttl.as_secs(),
                lease_secs: settings.lease.as_secs(),
            },
            engine: EngineView {
                module_cache: settings.module_cache.clone(),
                queue: settings.queue.capacity,
                queue_wait_ms: settings.queue.wait.as_millis(),
            },
        }
    }
}
