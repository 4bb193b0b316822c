//! The agent: a language model reasons, writes WAT-plus or calls a catalog program, observes the
//! outcome, and repeats until it can answer.
//!
//! - [`provider`]: the [`Provider`] trait and the clients of each model API.
//! - [`defaults`]: every default and limit, in one place.

#![deny(missing_docs)]

pub mod defaults;
pub mod provider;

pub use crate::provider::{
    Anthropic, ApiKey, ChatFuture, ChatRequest, ChatResponse, ClientOptions, Deltas, Message,
    Ollama, OpenAi, Provider, ProviderConfig, ProviderError, ProviderKind, RetryPolicy, Role,
    StopReason, TokenUsage, ToolCall, ToolSpec, connect,
};
