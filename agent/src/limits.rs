//! The agent's limits and defaults, in one place.

use std::time::Duration;

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

/// How far one task may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLimits {
    /// Actions per task. Default [`DEFAULT_MAX_STEPS`].
    pub max_steps: usize,
    /// Retries per action of a program that does not compile. Default
    /// [`DEFAULT_MAX_RETRIES`].
    pub max_retries: usize,
    /// Tokens per task, all requests together. Default [`DEFAULT_TOKEN_BUDGET`].
    pub token_budget: u64,
    /// Wall-clock time per task. Default [`DEFAULT_WALL_CLOCK`].
    pub wall_clock: Duration,
}

impl Default for AgentLimits {
    fn default() -> Self {
        Self {
            max_steps: DEFAULT_MAX_STEPS,
            max_retries: DEFAULT_MAX_RETRIES,
            token_budget: DEFAULT_TOKEN_BUDGET,
            wall_clock: DEFAULT_WALL_CLOCK,
        }
    }
}
