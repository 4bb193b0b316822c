//! Every default and limit of the agent, in one place.
//!
//! Defaults deny: a request has a timeout, a bounded number of retries, a bounded wait between
//! them, and a cap on the size of the answer it reads.

use std::time::Duration;

/// Base URL of OpenAI's API; any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio,
/// OpenRouter, Ollama's `/v1`) is reached by setting another.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Base URL of Anthropic's API.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// Base URL of a local Ollama server.
pub const OLLAMA_BASE_URL: &str = "http://127.0.0.1:11434";
/// The version of Anthropic's Messages API this client speaks (`anthropic-version`).
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Default bound on each wait for the provider: for its answer to begin, for the whole of an
/// answer that is not streamed, and for each next piece of a streamed one. Local models on a CPU
/// can take minutes to begin a long answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Bound on establishing a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default number of retries after the first attempt (429, 5xx and connection errors).
pub const MAX_RETRIES: u32 = 3;
/// Default first backoff delay; it doubles with each retry, with jitter.
pub const RETRY_BASE_DELAY: Duration = Duration::from_millis(500);
/// Default longest backoff delay.
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(30);
/// Default longest `Retry-After` that is waited for; a provider asking for more (a spent daily
/// quota) gets no retry, and the error says how long it asked.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Characters of an error answer's body kept in the error.
pub const MAX_ERROR_BODY_CHARS: usize = 2000;
/// Largest answer read when it is not streamed.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Longest line of a newline-delimited JSON stream (Ollama).
pub const MAX_STREAM_LINE_BYTES: usize = 1 << 20;

// The loop.

/// Actions (programs run, catalog calls) per task, by default.
pub const DEFAULT_MAX_STEPS: usize = 8;
/// Retries of an action that does not compile, by default.
pub const DEFAULT_MAX_RETRIES: usize = 2;
/// Tokens (prompt and answer, all requests of a task), by default.
pub const DEFAULT_TOKEN_BUDGET: u64 = 200_000;
/// Wall-clock time of a task, model latency included, by default.
pub const DEFAULT_WALL_CLOCK: Duration = Duration::from_secs(300);
/// Most tokens of one answer of the model, by default.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Bytes of a run's logs shown in an observation; the rest is cut with a marker.
pub const OBSERVATION_LOG_BYTES: usize = 2048;
/// Bytes of one result shown in an observation; the rest is cut with a marker.
pub const OBSERVATION_RESULT_BYTES: usize = 4096;
