//! The events of an agent's task as a person reads them: each step's model answer, action,
//! outcome and retry, then the answer (`watsmith run` on stderr, `watsmith demo` on stdout).

use std::io::Write;

use watsmith_agent::{Action, Event, EventSink};
use watsmith_engine::Status;

/// Writes events as readable lines.
pub(crate) struct Progress<W: Write + Send> {
    out: W,
    /// Show the model's answers in full (the demo), or only their first line (a run).
    verbose: bool,
    /// Streamed text is being written (ends with a newline before the next event).
    streaming: bool,
}

impl<W: Write + Send> Progress<W> {
    pub(crate) fn new(out: W, verbose: bool) -> Self {
        Self {
            out,
            verbose,
            streaming: false,
        }
    }

    fn line(&mut self, text: &str) {
        // Progress is best effort: a closed stderr must not stop the task.
        let _ = writeln!(self.out, "{text}");
    }

    fn quoted(&mut self, text: &str) {
        for line in text.trim_end().lines() {
            self.line(&format!("  | {line}"));
        }
    }
}

impl<W: Write + Send> EventSink for Progress<W> {
    fn event(&mut self, event: &Event) {
        if self.streaming && !matches!(event, Event::Delta { .. }) {
            self.line("");
            self.streaming = false;
        }
        match event {
            Event::Task {
                task,
                provider,
                model,
                prompt_hash,
                ..
            } => {
                self.line(&format!("task: {task}"));
                self.line(&format!(
                    "model: {provider}:{model} (system prompt {})",
                    &prompt_hash[..12.min(prompt_hash.len())]
                ));
            }
            Event::Request { step, retry, .. } => {
                let which = if *retry == 0 {
                    format!("step {step}")
                } else {
                    format!("step {step}, retry {retry}")
                };
                self.line(&format!("\n-- {which} --"));
            }
            Event::Delta { text } => {
                let _ = write!(self.out, "{text}");
                let _ = self.out.flush();
                self.streaming = true;
            }
            Event::Response {
                response,
                latency_ms,
                ..
            } => {
                self.line(&format!(
                    "model answered in {latency_ms} ms ({} + {} tokens)",
                    response.usage.prompt_tokens, response.usage.completion_tokens
                ));
                if self.verbose && !response.text.is_empty() {
                    self.quoted(&response.text);
                }
            }
            Event::Action { action, .. } => {
                let text = match action {
                    Action::RunWat { body, args } => format!(
                        "action: run a program of {} lines{}",
                        body.trim().lines().count(),
                        if args.is_empty() {
                            String::new()
                        } else {
                            format!(" with {} arguments", args.len())
                        }
                    ),
                    Action::Use { name, args } => format!(
                        "action: @use {name}({})",
                        args.iter()
                            .map(|a| serde_json::to_string(a).unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Action::Answer { .. } => "action: answer".to_owned(),
                };
                self.line(&text);
            }
            Event::Unreadable { reason, .. } => {
                self.line(&format!("the answer held no action: {reason}"));
            }
            Event::Outcome { outcome, .. } => {
                let verdict = match outcome.status {
                    Status::Ok => format!(
                        "ok: {}",
                        watsmith_agent::event::results_line(&outcome.results)
                    ),
                    Status::Error => format!("error {}", outcome.code_name),
                    Status::Trap => format!(
                        "trap: {}",
                        outcome.trap.as_ref().map_or("", |t| t.kind.name())
                    ),
                    Status::Invalid => "does not compile".to_owned(),
                };
                self.line(&format!(
                    "outcome: {verdict} ({} instructions, {} µs)",
                    outcome.fuel_used, outcome.elapsed_us
                ));
            }
            Event::Retry { errors, .. } => {
                self.line("sent back to the model:");
                self.quoted(errors);
            }
            Event::Final { answer, spent } => {
                self.line(&format!(
                    "\nanswer after {} actions, {} model tokens: {answer}",
                    spent.steps, spent.tokens
                ));
            }
            Event::Stopped { reason, .. } => self.line(&format!("\nstopped: {reason}")),
        }
    }
}
