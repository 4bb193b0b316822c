//! How far one task may go (the defaults are in [`crate::defaults`]).

use std::time::Duration;

use crate::defaults::{
    DEFAULT_MAX_RETRIES, DEFAULT_MAX_STEPS, DEFAULT_TOKEN_BUDGET, DEFAULT_WALL_CLOCK,
};

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
