//! Language-model providers: one request/response shape for every API, and the clients that speak
//! each API's wire format.
//!
//! A [`Provider`] takes a [`ChatRequest`] (system prompt, messages, optional tools) and gives a
//! [`ChatResponse`] (text, tool calls, token usage, why it stopped). Streaming is how every client
//! reads its answer when [`ChatRequest::stream`] is set: each text delta is passed to the caller's
//! [`Deltas`] as it arrives, and the response is the whole answer put together.
//!
//! The clients: [`OpenAi`] (Chat Completions, and every server that copies it), [`Anthropic`]
//! (Messages) and [`Ollama`] (its native chat), each over one `reqwest` client, with retries
//! ([`RetryPolicy`]), a timeout and cancellation ([`ClientOptions`]). [`connect`] builds the one a
//! [`ProviderConfig`] names.
//!
//! ```no_run
//! use watsmith_agent::{ApiKey, ChatRequest, Message, ProviderConfig, ProviderKind, connect};
//!
//! # async fn example() -> Result<(), watsmith_agent::ProviderError> {
//! let mut config = ProviderConfig::new(ProviderKind::Anthropic, "claude-sonnet-4-5");
//! config.api_key = Some(ApiKey::new("sk-ant-...")); // the binary reads it from the environment
//! let provider = connect(&config)?;
//! let request = ChatRequest {
//!     model: config.model.clone(),
//!     system: watsmith_agent::SystemPrompt::new("You write WebAssembly."),
//!     messages: vec![Message::user("What is 6 * 7?")],
//!     tools: Vec::new(),
//!     max_tokens: 512,
//!     temperature: None,
//!     stream: true,
//! };
//! let shown = std::sync::Mutex::new(String::new());
//! let response = provider
//!     .chat(&request, &|delta| shown.lock().expect("not poisoned").push_str(delta))
//!     .await?;
//! assert_eq!(response.text, *shown.lock().expect("not poisoned"));
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod anthropic;
mod config;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod lenient;
mod ollama;
mod openai;
mod retry;
mod sse;

pub use anthropic::Anthropic;
pub use config::{ApiKey, ClientOptions, ProviderConfig, ProviderKind, connect};
pub use ollama::Ollama;
pub use openai::OpenAi;
pub use retry::RetryPolicy;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The user (and the agent's observations in the text protocol).
    User,
    /// The model.
    Assistant,
    /// The result of a tool call (native tool protocol).
    Tool,
}

/// A tool call the model made (native tool protocol).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id of the call, echoed in the tool result (`call_<n>`, its place in the
    /// answer, when the server gave none).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, a JSON object (`{}` when they are [`ToolCall::malformed`]).
    pub arguments: serde_json::Value,
    /// Arguments that were not a JSON object (broken JSON, or JSON of another kind), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<Malformed>,
}

impl ToolCall {
    /// A call with well-formed `arguments`.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: serde_json::Value,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments,
            malformed: None,
        }
    }

    /// The call of `name` with the arguments a server sent, a JSON value of any kind: an object
    /// as is, JSON text decoded (twice if it holds JSON text), `null` or empty as `{}`, anything
    /// else kept as [`Malformed`] with `{}` as the arguments.
    pub(crate) fn from_wire(id: String, name: String, arguments: serde_json::Value) -> Self {
        match lenient::arguments(arguments) {
            Ok(object) => Self::new(id, name, serde_json::Value::Object(object)),
            Err(malformed) => Self {
                id,
                name,
                arguments: serde_json::Value::Object(serde_json::Map::new()),
                malformed: Some(malformed),
            },
        }
    }
}

/// Tool-call arguments that are not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Malformed {
    /// The arguments as sent (cut to 2,000 characters).
    pub text: String,
    /// Why they are not an object, and where the JSON breaks.
    pub error: String,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text ("" for an assistant message with only tool calls).
    pub content: String,
    /// The tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
            tool_calls,
            tool_call_id: None,
        }
    }

    /// The result of the tool call `id`.
    pub fn tool(id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(id.into()),
        }
    }
}

/// A tool the model may call (native tool protocol).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Its name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// Its arguments, as a JSON Schema object.
    pub parameters: serde_json::Value,
}

/// What is asked of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model's name at the provider.
    pub model: String,
    /// The system prompt, with its hash.
    pub system: crate::prompt::SystemPrompt,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools the model may call (empty for the text protocol).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Most tokens of the answer.
    pub max_tokens: u32,
    /// Sampling temperature, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Read the answer as a stream of deltas.
    pub stream: bool,
}

/// Tokens a request cost, as the provider counted them, or estimated where it did not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the answer.
    pub completion_tokens: u64,
    /// A count is an estimate (about 4 characters a token): the provider reported zero, as
    /// llama.cpp's server does in a stream.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
}

impl TokenUsage {
    /// Prompt and answer together, saturating: a provider's count near `u64::MAX` must not
    /// wrap past a token budget.
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It finished its answer.
    EndTurn,
    /// It ran out of `max_tokens`.
    MaxTokens,
    /// It called tools and waits for their results.
    ToolUse,
    /// A stop sequence.
    StopSequence,
    /// Another reason, as the provider named it.
    Other(String),
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Its text (reasoning not included).
    pub text: String,
    /// Its reasoning, when the provider sends it apart from the text (thinking blocks,
    /// `reasoning_content`, Ollama's `thinking`): shown, never executed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reasoning: String,
    /// Its tool calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// What it cost.
    pub usage: TokenUsage,
    /// Why it stopped.
    pub stop_reason: StopReason,
}

/// Why a provider gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The request did not reach the provider, or its answer was cut (connection refused,
    /// reset, a stream that ended early).
    #[error("transport: {0}")]
    Transport(String),
    /// The provider answered with an error status.
    #[error("the provider answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The body of the answer (truncated), which says why.
        body: String,
    },
    /// Too many requests (429), after the retries.
    #[error("rate limited by the provider{}: {body}", retry_after.map(|d| format!(" (retry after {d:?})")).unwrap_or_default())]
    RateLimited {
        /// What the provider asked to wait, if it said.
        retry_after: Option<Duration>,
        /// The body of the answer (truncated): a rate limit and a spent quota are both 429s, and
        /// only the body tells them apart.
        body: String,
    },
    /// The answer is not in the provider's format.
    #[error("cannot decode the provider's answer: {0}")]
    Decode(String),
    /// No answer within the request timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The caller cancelled the request.
    #[error("cancelled")]
    Cancelled,
    /// The provider is not usable as configured (no API key, a bad base URL).
    #[error("{0}")]
    Config(String),
    /// The request cannot fit the model's context window (checked before it is sent, where the
    /// server says the window: Ollama would otherwise drop the start of the prompt silently).
    #[error(
        "the request needs about {needed} tokens (the prompt and max_tokens {max_tokens}), more than the {context}-token context of `{model}`: lower max_tokens, use the compact prompt, or a model with a longer context"
    )]
    ContextOverflow {
        /// The model.
        model: String,
        /// Tokens the request needs, estimated.
        needed: u64,
        /// The answer's share of them.
        max_tokens: u32,
        /// The model's context window, in tokens.
        context: u64,
    },
}

/// What kind of failure a provider's is, for an exit status or an HTTP status: the caller's
/// credentials, the caller's configuration, or the provider being unavailable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderFailure {
    /// The provider refused the credentials (401, 403): fix the API key.
    Authentication,
    /// The request cannot succeed as configured: no API key, a bad base URL, an unknown model
    /// (400, 404, 422), a request past the model's context.
    Configuration,
    /// The provider failed or did not answer (transport, 5xx, 429, an undecodable answer, a
    /// timeout): trying again later may work.
    #[default]
    Unavailable,
}

impl ProviderError {
    /// What kind of failure this is.
    pub fn failure(&self) -> ProviderFailure {
        match self {
            Self::Status {
                status: 401 | 403, ..
            } => ProviderFailure::Authentication,
            Self::Status {
                status: 400 | 404 | 405 | 413 | 422,
                ..
            }
            | Self::Config(_)
            | Self::ContextOverflow { .. } => ProviderFailure::Configuration,
            _ => ProviderFailure::Unavailable,
        }
    }
}

/// Receives the text of a streamed answer as it arrives.
pub type Deltas<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// The future of an answer.
pub type ChatFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ChatResponse, ProviderError>> + Send + 'a>>;

/// A language model behind an API.
pub trait Provider: Send + Sync {
    /// The provider's name (`openai`, `anthropic`, `ollama`, `replay`), for transcripts.
    fn name(&self) -> &str;

    /// One answer to `request`; streamed text goes to `deltas` as it arrives.
    fn chat<'a>(&'a self, request: &'a ChatRequest, deltas: Deltas<'a>) -> ChatFuture<'a>;
}
