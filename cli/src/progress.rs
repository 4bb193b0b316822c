//! The events of an agent's task as a person reads them: each step's model answer, action,
//! outcome and retry, then the answer (`watsmith run` on stderr, `watsmith demo` on stdout).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// Text streamed since the last request.
    streamed_this_step: bool,
    /// Set when a task's answer was streamed (see [`Progress::answer_streamed`]).
    answer_streamed: Arc<AtomicBool>,
}

/// The most lines of a program shown as it runs; the rest are counted.
const SHOWN_LINES: usize = 24;

impl<W: Write + Send> Progress<W> {
    pub(crate) fn new(out: W, verbose: bool) -> Self {
        Self {
            out,
            verbose,
            streaming: false,
            tasks: 0,
            streamed_this_step: false,
            answer_streamed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A flag set when a task's answer has been streamed in full to this output (and cleared
    /// when the next task starts): the caller then need not print it again on the same
    /// terminal.
    pub(crate) fn answer_streamed(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.answer_streamed)
    }

    /// The code of a program, quoted, at most [`SHOWN_LINES`] of it.
    fn code(&mut self, body: &str) {
        let lines: Vec<&str> = body.trim_end().lines().collect();
        for line in lines.iter().take(SHOWN_LINES) {
            self.line(&format!("  | {line}"));
        }
        if lines.len() > SHOWN_LINES {
            let more = lines.len() - SHOWN_LINES;
            self.line(&format!(
                "  | ... ({more} more line{})",
                if more == 1 { "" } else { "s" }
            ));
        }
    }

    fn line(&mut self, text: &str) {
        // Progress is best effort: a closed stderr must not stop the task.
        let _ = writeln!(self.out, "{}", crate::escape::controls(text));
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
                self.answer_streamed.store(false, Ordering::Relaxed);
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
                self.streamed_this_step = false;
                self.line(&format!("\n-- {which} --"));
            }
            Event::Delta { text } => {
                let _ = write!(self.out, "{}", crate::escape::controls(text));
                let _ = self.out.flush();
                self.streaming = true;
                self.streamed_this_step = true;
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
                // The demo quotes the model's whole answer, code included.
                if let Action::RunWat { body, .. } = action
                    && !self.verbose
                {
                    self.code(body);
                }
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
                    Status::Cancelled => "cancelled".to_owned(),
                    Status::Busy => "busy".to_owned(),
                };
                let fuel = outcome
                    .fuel_used
                    .map_or_else(String::new, |fuel| format!("{fuel} instructions, "));
                self.line(&format!(
                    "outcome: {verdict} ({fuel}{} µs)",
                    outcome.elapsed_us
                ));
            }
            Event::Retry { retry, errors, .. } => {
                self.line(&format!(
                    "retry {retry}: the program does not compile, and its errors are sent back \
                     to the model:"
                ));
                self.quoted(errors);
            }
            Event::Final { answer, spent } => {
                // The answer's own text was the last thing streamed.
                self.answer_streamed
                    .store(self.streamed_this_step, Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(step: usize) -> Event {
        Event::Request {
            step,
            retry: 0,
            hash: "ab".repeat(32),
            model: "m".to_owned(),
            messages: 2,
            max_tokens: 64,
            temperature: None,
        }
    }

    fn delta(text: &str) -> Event {
        Event::Delta {
            text: text.to_owned(),
        }
    }

    fn finish() -> Event {
        Event::Final {
            answer: "It is 4.".to_owned(),
            spent: watsmith_agent::Spent::default(),
        }
    }

    /// Whether the answer counts as shown after `events`.
    fn shown(events: &[Event]) -> bool {
        let mut progress = Progress::new(Vec::new(), false);
        let flag = progress.answer_streamed();
        for event in events {
            progress.event(event);
        }
        flag.load(Ordering::Relaxed)
    }

    #[test]
    fn an_answer_is_shown_once_only_when_its_own_step_was_streamed() {
        assert!(shown(&[request(1), delta("It is "), delta("4."), finish()]));
        // Streamed code in an earlier step, the answer unstreamed: it is printed.
        assert!(!shown(&[request(1), delta("```wat"), request(2), finish()]));
        assert!(!shown(&[request(1), finish()]));
    }

    #[test]
    fn the_code_that_runs_is_shown_up_to_a_bound() {
        let mut progress = Progress::new(Vec::new(), false);
        let body: String = (0..30).map(|n| format!("(nop) ;; {n}\n")).collect();
        progress.event(&Event::Action {
            step: 1,
            retry: 0,
            action: Action::RunWat {
                body,
                args: Vec::new(),
            },
        });
        let out = String::from_utf8(progress.out).expect("utf-8");
        assert!(
            out.starts_with("action: run a program of 30 lines\n  | (nop) ;; 0\n"),
            "{out}"
        );
        assert!(
            out.contains("  | (nop) ;; 23\n  | ... (6 more lines)\n"),
            "{out}"
        );
        assert!(!out.contains(";; 24"), "{out}");
    }
}
