//! The agent: a language model reasons, writes WAT-plus or calls a catalog program, observes the
//! outcome, and repeats until it can answer.
//!
//! - [`provider`]: the [`Provider`] trait and the clients of each model API;
//! - [`prompt`]: the system prompt, generated from the live registry, policy and catalog;
//! - [`action`]: reading the model's action from its answer (text or tool calls);
//! - [`observation`]: what the model is told after each action;
//! - [`react`]: the loop, with retries of programs that do not compile and the task's limits;
//! - [`event`]: the events of a task, and transcripts of them;
//! - [`replay`]: a provider that answers from a transcript;
//! - [`model`]: the engine's `ai` capability asking the agent's provider;
//! - [`demo`]: the recorded sessions of `watsmith demo`;
//! - [`defaults`]: every default and limit, in one place.

#![deny(missing_docs)]

pub mod action;
pub mod defaults;
pub mod demo;
pub mod event;
pub mod limits;
pub mod model;
pub mod observation;
pub mod prompt;
pub mod provider;
pub mod react;
pub mod replay;

pub use crate::action::Action;
pub use crate::event::{Event, EventSink, Transcript, TranscriptLine, request_hash};
pub use crate::limits::AgentLimits;
pub use crate::model::ProviderModel;
pub use crate::observation::Spent;
pub use crate::prompt::{PromptStyle, Protocol, SystemPrompt};
pub use crate::provider::{
    Anthropic, ApiKey, ChatFuture, ChatRequest, ChatResponse, ClientOptions, Deltas, Malformed,
    Message, Ollama, OpenAi, Provider, ProviderConfig, ProviderError, ProviderFailure,
    ProviderKind, RetryPolicy, Role, StopReason, TokenUsage, ToolCall, ToolSpec, connect,
};
pub use crate::react::{Agent, AgentParts, Ending, Finish, ModelSettings, Session, Stop};
pub use crate::replay::{REPLAY, Replay, ReplayError};
