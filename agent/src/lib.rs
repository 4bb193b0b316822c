//! The agent: a language model reasons, writes WAT-plus or calls a catalog program, observes the
//! outcome, and repeats until it can answer.
//!
//! - [`provider`]: the [`Provider`] trait and the clients of each model API.

#![deny(missing_docs)]

pub mod provider;

pub use crate::provider::{
    ChatFuture, ChatRequest, ChatResponse, Deltas, Message, Provider, ProviderError, Role,
    StopReason, TokenUsage, ToolCall, ToolSpec,
};
