//! The engine's `ai` capability asking the agent's provider: programs that call `$ai.complete`
//! reach the same model as the agent, through the same client (retries, timeout, key).

use std::sync::Arc;

use watsmith_engine::Model;
use watsmith_engine::capabilities::ai::{
    Completion, CompletionFuture, CompletionRequest, ModelError,
};

use crate::prompt::SystemPrompt;
use crate::provider::{ChatRequest, Message, Provider};

/// A provider and a model, as the engine's [`Model`].
pub struct ProviderModel {
    provider: Arc<dyn Provider>,
    model: String,
}

impl std::fmt::Debug for ProviderModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderModel")
            .field("provider", &self.provider.name())
            .field("model", &self.model)
            .finish()
    }
}

impl ProviderModel {
    /// `model` at `provider`.
    pub fn new(provider: Arc<dyn Provider>, model: impl Into<String>) -> Self {
        Self {
            provider,
            model: model.into(),
        }
    }
}

impl Model for ProviderModel {
    fn label(&self) -> String {
        format!("{}:{}", self.provider.name(), self.model)
    }

    fn complete(&self, request: CompletionRequest) -> CompletionFuture<'_> {
        Box::pin(async move {
            let chat = ChatRequest {
                model: self.model.clone(),
                system: SystemPrompt::new(request.system.unwrap_or_default()),
                messages: vec![Message::user(request.prompt)],
                tools: Vec::new(),
                max_tokens: u32::try_from(request.max_tokens).unwrap_or(u32::MAX),
                temperature: None,
                stream: false,
            };
            let response = self
                .provider
                .chat(&chat, &|_: &str| {})
                .await
                .map_err(|e| ModelError(e.to_string()))?;
            Ok(Completion {
                text: response.text,
                prompt_tokens: response.usage.prompt_tokens,
                completion_tokens: response.usage.completion_tokens,
            })
        })
    }
}
