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
    /// Tasks seen (a chat has several; a blank line parts them).
    tasks: usize,
}

impl<W: Write + Send> Progress<W> {
    pub(crate) fn new(out: W, verbose: bool) -> Self {
        Self {
            out,
            verbose,
            streaming: false,
            tasks: 0,
        }
    }

    fn line(&mut self, text: &str) {
        // Progress is best effort: a closed stderr must not stop the task.
        let _ = writeln!(self.out, "{text}");
    }

    /// `1 action`, `2 actions`.
    fn counted(n: usize, noun: &str) -> String {
        format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
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
                if self.tasks > 0 {
                    self.line("");
                }
                self.tasks += 1;
                self.line(&format!("task: {task}"));
                self.line(&format!(
                    "model: {provider}:{model} (system prompt {})",
                    prompt_hash.get(..12).unwrap_or(prompt_hash)
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
                        "action: run a program of {}{}",
                        Self::counted(body.trim().lines().count(), "line"),
                        if args.is_empty() {
                            String::new()
                        } else {
                            format!(" with {}", Self::counted(args.len(), "argument"))
                        }
                    ),
                    Action::Use { name, args } => format!(
                        "action: @use {name}({})",
                        args.iter()
                            .map(|a| serde_json::to_string(a).unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Action::Reference { topic } => format!("action: reference {topic}"),
                    Action::Answer { .. } => "action: answer".to_owned(),
                };
                self.line(&text);
            }
            Event::Unreadable { reason, .. } => {
                self.line(&format!("the answer held no action: {reason}"));
            }
            Event::Outcome { outcome, .. } => {
                let verdict = match outcome.status {
                    Status::Ok if outcome.results.is_empty() => "ok, no results".to_owned(),
                    Status::Ok => format!(
                        "ok: {}",
                        watsmith_agent::event::results_line(&outcome.results)
                    ),
                    Status::Error => {
                        format!("error {}", outcome.code.map_or("", |code| code.name()))
                    }
                    Status::Trap => format!(
                        "trap: {}",
                        outcome.trap.as_ref().map_or("", |t| t.kind.name())
                    ),
                    Status::Invalid => "does not compile".to_owned(),
                };
                let fuel = outcome
                    .fuel_used
                    .map_or_else(String::new, |fuel| format!("{fuel} instructions, "));
                self.line(&format!(
                    "outcome: {verdict} ({fuel}{} µs)",
                    outcome.elapsed_us
                ));
            }
            Event::Retry { errors, .. } => {
                self.line("sent back to the model:");
                self.quoted(errors);
            }
            Event::Final { answer, spent } => {
                let summary = format!(
                    "\nanswered after {}, {} model tokens",
                    Self::counted(spent.steps, "action"),
                    spent.tokens
                );
                // A run prints the answer itself on stdout; the demo has only this.
                if self.verbose {
                    self.line(&format!("{summary}: {answer}"));
                } else {
                    self.line(&summary);
                }
            }
            Event::Stopped { reason, .. } => self.line(&format!("\nstopped: {reason}")),
        }
    }
}
