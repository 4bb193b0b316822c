//! What a client is built from: the provider's kind, where it is, the model, the key, the timeout
//! and the retry policy. The runtime's settings are where a user writes them (one schema, the
//! `[agent]` table of `watsmith.toml`, with `[agent.retry]` for [`RetryPolicy`]); this is what
//! they resolve to.
//!
//! The key is an [`ApiKey`], which prints as `[redacted]` and is never serialized; the library
//! never reads the environment, so the binary passes the key in.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::retry::RetryPolicy;
use super::{Provider, ProviderError};
use crate::defaults;
use crate::provider::anthropic::Anthropic;
use crate::provider::ollama::Ollama;
use crate::provider::openai::OpenAi;

/// A secret key of a provider's API. Its `Debug` and `Display` print `[redacted]`, it has no
/// `Serialize`, and the clients send it only in a header marked sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the one header that carries it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI's Chat Completions, and the servers that copy it.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic's Messages.
    Anthropic,
    /// Ollama's native chat.
    Ollama,
}

impl ProviderKind {
    /// Its name (`openai`, `anthropic`, `ollama`), as in the configuration file.
    pub const fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Ollama => "ollama",
        }
    }

    /// Where it is unless configured otherwise.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::OpenAi => defaults::OPENAI_BASE_URL,
            Self::Anthropic => defaults::ANTHROPIC_BASE_URL,
            Self::Ollama => defaults::OLLAMA_BASE_URL,
        }
    }
}

/// A provider, as the settings resolve it.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Which API it speaks.
    pub kind: ProviderKind,
    /// Where it is (default: [`ProviderKind::default_base_url`]).
    pub base_url: Option<String>,
    /// The model to ask; the agent puts it in each [`ChatRequest`](super::ChatRequest).
    pub model: String,
    /// The key, if the provider needs one (Anthropic always, OpenAI at its own URL).
    pub api_key: Option<ApiKey>,
    /// The bound on each wait for the provider (default [`defaults::REQUEST_TIMEOUT`]).
    pub timeout: Duration,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// Cancels every request of the clients built from this configuration, and every later one.
    pub cancel: CancellationToken,
}

impl ProviderConfig {
    /// A configuration of `kind` asking `model`, with every default and no key.
    pub fn new(kind: ProviderKind, model: impl Into<String>) -> Self {
        Self {
            kind,
            base_url: None,
            model: model.into(),
            api_key: None,
            timeout: defaults::REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            cancel: CancellationToken::new(),
        }
    }

    /// What a client of this configuration is built from.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            base_url: self
                .base_url
                .clone()
                .unwrap_or_else(|| self.kind.default_base_url().to_owned()),
            api_key: self.api_key.clone(),
            timeout: self.timeout,
            retry: self.retry,
            cancel: self.cancel.clone(),
        }
    }

    /// Whether the endpoint needs an API key: Anthropic's always, OpenAI's at its default URL
    /// (an OpenAI-compatible server elsewhere may not), Ollama's never.
    pub fn needs_api_key(&self) -> bool {
        match self.kind {
            ProviderKind::Anthropic => true,
            ProviderKind::OpenAi => {
                self.client_options().base_url.trim_end_matches('/') == defaults::OPENAI_BASE_URL
            }
            ProviderKind::Ollama => false,
        }
    }
}

/// What every client is built from.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Where the API is: an `http` or `https` URL, to which each client adds its path.
    pub base_url: String,
    /// The key, sent in the provider's header if set.
    pub api_key: Option<ApiKey>,
    /// The bound on each wait for the provider: for the answer to begin, for the whole of an
    /// answer that is not streamed, and for each next piece of a streamed one.
    pub timeout: Duration,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// Ends the request under way (and any wait before a retry) with
    /// [`ProviderError::Cancelled`]; once cancelled, every later request is cancelled too.
    pub cancel: CancellationToken,
}

impl ClientOptions {
    /// Options for the API at `base_url`, with every default and no key.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            timeout: defaults::REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            cancel: CancellationToken::new(),
        }
    }
}

/// The client of `config`'s provider. Fails if the base URL is not an `http(s)` URL, or if a key
/// is needed and missing (Anthropic, and OpenAI at its default URL).
pub fn connect(config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
    let options = config.client_options();
    if config.needs_api_key() && options.api_key.is_none() {
        return Err(ProviderError::Config(format!(
            "{} at {} needs an API key",
            config.kind.name(),
            options.base_url
        )));
    }
    Ok(match config.kind {
        ProviderKind::OpenAi => Arc::new(OpenAi::new(options)?),
        ProviderKind::Anthropic => Arc::new(Anthropic::new(options)?),
        ProviderKind::Ollama => Arc::new(Ollama::new(options)?),
    })
}

/// Durations written as whole milliseconds in configuration files.
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    /// A duration from a number of milliseconds.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_policy_reads_milliseconds_takes_defaults_and_refuses_unknown_keys() {
        let retry: RetryPolicy = serde_json::from_value(serde_json::json!({
            "max_retries": 1, "base_delay_ms": 20, "max_retry_after_ms": 80,
        }))
        .expect("a valid policy");
        assert_eq!(retry.max_retries, 1);
        assert_eq!(retry.base_delay, Duration::from_millis(20));
        assert_eq!(retry.max_delay, defaults::RETRY_MAX_DELAY);
        assert_eq!(retry.max_retry_after, Duration::from_millis(80));
        let error = serde_json::from_value::<RetryPolicy>(serde_json::json!({ "tries": 3 }))
            .expect_err("refused")
            .to_string();
        assert!(error.contains("unknown field `tries`"), "{error}");
    }

    #[test]
    fn an_api_key_never_prints() {
        let key = ApiKey::new("sk-very-secret");
        assert_eq!(format!("{key}"), "[redacted]");
        assert_eq!(format!("{key:?}"), "[redacted]");
        let mut config = ProviderConfig::new(ProviderKind::Anthropic, "claude");
        config.api_key = Some(key);
        assert!(!format!("{config:?}").contains("sk-very-secret"));
    }

    #[test]
    fn connect_refuses_a_missing_key_and_a_bad_url() {
        // The binaries install the TLS crypto provider; a test is its own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let anthropic = ProviderConfig::new(ProviderKind::Anthropic, "claude");
        assert_eq!(
            connect(&anthropic).err(),
            Some(ProviderError::Config(
                "anthropic at https://api.anthropic.com needs an API key".into()
            ))
        );
        let openai = ProviderConfig::new(ProviderKind::OpenAi, "gpt");
        assert!(matches!(connect(&openai), Err(ProviderError::Config(_))));

        let mut local = ProviderConfig::new(ProviderKind::OpenAi, "qwen");
        local.base_url = Some("http://127.0.0.1:8080/v1".into());
        assert_eq!(
            connect(&local).map(|p| p.name().to_owned()).ok().as_deref(),
            Some("openai")
        );

        let mut ollama = ProviderConfig::new(ProviderKind::Ollama, "qwen3");
        ollama.base_url = Some("ftp://127.0.0.1".into());
        let error = connect(&ollama).err().expect("refused").to_string();
        assert!(error.contains("ftp://127.0.0.1"), "{error}");
    }
}
