//! The model the settings name: the provider's client, the model's name and the protocol.

use std::path::PathBuf;
use std::sync::Arc;

use watsmith_agent::{
    PromptStyle, Protocol, Provider, ProviderConfig, ProviderError, ProviderKind, ProviderModel,
    Replay, ReplayError, connect,
};
use watsmith_engine::Model;

use crate::settings::{AgentEffective, ProviderName};

/// Largest transcript a replay reads, in bytes (a recorded session of hundreds of steps is a
/// few megabytes).
pub const MAX_TRANSCRIPT_BYTES: u64 = 64 << 20;

/// A connected model: the provider's client and what to ask it.
#[derive(Clone)]
pub struct ModelChoice {
    /// The client.
    pub provider: Arc<dyn Provider>,
    /// The model's name at the provider.
    pub model: String,
    /// How the model states its actions (a replay's own unless one was chosen: the requests
    /// must be the recorded ones).
    pub protocol: Protocol,
    /// How much of the reference the system prompt holds (a replay's own unless one was
    /// chosen, as for the protocol).
    pub prompt: PromptStyle,
}

impl std::fmt::Debug for ModelChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelChoice")
            .field("provider", &self.provider.name())
            .field("model", &self.model)
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl ModelChoice {
    /// `provider:model`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.provider.name(), self.model)
    }

    /// The model as the engine's `ai` capability asks it: the same client.
    pub fn as_engine_model(&self) -> Arc<dyn Model> {
        Arc::new(ProviderModel::new(
            Arc::clone(&self.provider),
            self.model.clone(),
        ))
    }
}

/// No model can be connected as the settings say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No provider is named.
    #[error("no model provider is configured")]
    NoProvider,
    /// A provider is named, no model.
    #[error("{provider} needs the name of the model to ask")]
    NoModelName {
        /// The provider.
        provider: &'static str,
    },
    /// The replay provider has no transcript to answer from.
    #[error("the replay provider answers from a transcript, and none is named")]
    NoTranscript,
    /// The transcript cannot be read.
    #[error("cannot read the transcript {}: {reason}", path.display())]
    Transcript {
        /// The transcript.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The transcript names no model and none is given.
    #[error("the transcript {} names no model, and none is given", path.display())]
    TranscriptModel {
        /// The transcript.
        path: PathBuf,
    },
    /// The provider needs an API key and none is set.
    #[error(
        "{provider} at {base_url} needs an API key: set {variable} (or WATSMITH_API_KEY, or name \
         the variable that holds it with `api_key_env` in the [agent] table of the configuration \
         file)"
    )]
    NoApiKey {
        /// The provider.
        provider: &'static str,
        /// Its endpoint.
        base_url: String,
        /// The provider's usual environment variable ([`ProviderName::key_variable`]).
        variable: &'static str,
    },
    /// The client cannot be built (a bad URL).
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// The client and model the settings name.
pub fn connect_model(settings: &AgentEffective) -> Result<ModelChoice, ModelError> {
    let name = settings
        .provider
        .as_ref()
        .map(|p| p.value)
        .ok_or(ModelError::NoProvider)?;
    let model = settings.model.as_ref().map(|m| m.value.clone());
    let kind = match name {
        ProviderName::Replay => {
            let path = settings.replay.clone().ok_or(ModelError::NoTranscript)?;
            let fail = |reason: String| ModelError::Transcript {
                path: path.clone(),
                reason,
            };
            let text = watsmith_engine::file::read_text(&path, MAX_TRANSCRIPT_BYTES)
                .map_err(|e| fail(e.to_string()))?;
            let replay =
                Replay::from_transcript(&text).map_err(|e: ReplayError| fail(e.to_string()))?;
            let model = match model {
                Some(model) => model,
                None => replay
                    .recorded_model()
                    .ok_or_else(|| ModelError::TranscriptModel { path: path.clone() })?
                    .to_owned(),
            };
            let protocol = match replay.recorded_protocol() {
                Some(recorded) if !settings.protocol_chosen => recorded,
                _ => settings.protocol,
            };
            let prompt = match replay.recorded_prompt() {
                Some(recorded) if !settings.prompt_chosen => recorded,
                _ => settings.prompt,
            };
            return Ok(ModelChoice {
                provider: Arc::new(replay),
                model,
                protocol,
                prompt,
            });
        }
        ProviderName::OpenAi => ProviderKind::OpenAi,
        ProviderName::Anthropic => ProviderKind::Anthropic,
        ProviderName::Ollama => ProviderKind::Ollama,
    };
    let model = model.ok_or(ModelError::NoModelName {
        provider: name.name(),
    })?;
    let mut config = ProviderConfig::new(kind, model.clone());
    config.base_url = settings.base_url.as_ref().map(|url| url.value.clone());
    config.api_key = settings.api_key.as_ref().map(|key| key.value.clone());
    config.timeout = settings.timeout;
    config.retry = settings.retry;
    if config.api_key.is_none() && config.needs_api_key() {
        return Err(ModelError::NoApiKey {
            provider: name.name(),
            base_url: config.client_options().base_url,
            variable: name.key_variable().unwrap_or("WATSMITH_API_KEY"),
        });
    }
    Ok(ModelChoice {
        provider: connect(&config)?,
        model,
        protocol: settings.protocol,
        prompt: settings.prompt,
    })
}
