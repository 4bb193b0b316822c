//! What the model is told after an action: the outcome of the run in a few plain lines, and what
//! the task has used so far.

use watsmith_engine::{Outcome, Status, Value};
use watsmith_preprocessor::Diagnostics;

use crate::defaults::{OBSERVATION_LOG_BYTES, OBSERVATION_RESULT_BYTES};

/// What a task has used so far, shown with every observation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Spent {
    /// Actions taken.
    pub steps: usize,
    /// Instructions run, all runs together, as far as they were counted.
    pub fuel: u64,
    /// Whether some run's count is missing from `fuel` (a trap in compiled code leaves none):
    /// then `fuel` is a lower bound.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fuel_uncounted: bool,
    /// HTTP requests, all runs together.
    pub http_requests: u64,
    /// AI calls made by programs, all runs together.
    pub ai_calls: u64,
    /// Model tokens, the agent's requests and programs' AI calls together.
    pub tokens: u64,
}

impl Spent {
    /// Adds a run's usage.
    pub fn add_run(&mut self, outcome: &Outcome) {
        match outcome.fuel_used {
            Some(fuel) => self.fuel = self.fuel.saturating_add(fuel),
            None => self.fuel_uncounted = true,
        }
        self.http_requests = self
            .http_requests
            .saturating_add(u64::from(outcome.usage.http_requests));
        self.ai_calls = self
            .ai_calls
            .saturating_add(u64::from(outcome.usage.ai_calls));
        self.tokens = self.tokens.saturating_add(outcome.usage.ai_tokens);
    }
}

/// The observation of a run.
pub fn describe(outcome: &Outcome, spent: &Spent, max_steps: usize) -> String {
    let mut text = match outcome.status {
        Status::Ok => "status: ok\n".to_owned(),
        Status::Error => match outcome.code {
            Some(code) => format!("status: error: the program ended with status {code}\n"),
            None => "status: error\n".to_owned(),
        },
        Status::Trap => {
            let (kind, message) = outcome
                .trap
                .as_ref()
                .map_or(("trap", ""), |t| (t.kind.name(), t.message.as_str()));
            format!("status: trap: {kind}: {message}\n")
        }
        Status::Invalid => "status: invalid: the program does not compile\n".to_owned(),
        Status::Cancelled => "status: cancelled: the run was stopped from outside\n".to_owned(),
        Status::Busy => {
            "status: busy: the runtime was at capacity and did not start the program; it is not \
             the program's fault, run it again\n"
                .to_owned()
        }
    };
    if !outcome.diagnostics.is_empty() {
        text.push_str(&Diagnostics::from(outcome.diagnostics.clone()).render());
    }
    if !outcome.results.is_empty() {
        text.push_str("results:\n");
        for result in &outcome.results {
            text.push_str(&format!(
                "  {}\n",
                cut(&shown(result), OBSERVATION_RESULT_BYTES)
            ));
        }
    }
    if !outcome.logs.is_empty() {
        text.push_str("logs:\n");
        let logs = outcome.logs.join("\n");
        for line in cut(&logs, OBSERVATION_LOG_BYTES).lines() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    let at_least = if spent.fuel_uncounted {
        "at least "
    } else {
        ""
    };
    text.push_str(&format!(
        "used so far: {} of {max_steps} actions, {at_least}{} instructions, {} HTTP requests, {} AI calls, {} model tokens\n",
        spent.steps, spent.fuel, spent.http_requests, spent.ai_calls, spent.tokens
    ));
    text
}

/// A result as the model reads it: text as it is, bytes in hex, numbers as watsmith writes them.
fn shown(value: &Value) -> String {
    match value {
        Value::Str(text) => format!("{text:?}"),
        other => other.to_string(),
    }
}

/// `text` cut to at most `limit` bytes (at a character boundary), with a marker saying so.
pub fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}[... {} more bytes cut]", &text[..end], text.len() - end)
}
