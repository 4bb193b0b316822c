//! What happens during a task, as events: shown as progress, streamed as JSON lines, and written
//! to a transcript that the replay provider can answer from.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use watsmith_engine::{Outcome, Value};

use crate::action::Action;
use crate::observation::Spent;
use crate::provider::{ChatRequest, ChatResponse, Message, ToolSpec};

/// One event of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The task starts.
    Task {
        /// The task as the user gave it.
        task: String,
        /// The provider's name.
        provider: String,
        /// The model.
        model: String,
        /// The action protocol.
        protocol: crate::prompt::Protocol,
        /// How much of the reference the system prompt held (absent in transcripts from before
        /// the compact prompt: they had the full one).
        #[serde(default = "crate::prompt::PromptStyle::full")]
        prompt: crate::prompt::PromptStyle,
        /// SHA-256 of the system prompt.
        prompt_hash: String,
    },
    /// A request to the model.
    Request {
        /// The action it is for (1-based).
        step: usize,
        /// Which retry of the action (0 for the first try).
        retry: usize,
        /// The request's hash ([`request_hash`]), the key of replays.
        hash: String,
        /// The model.
        model: String,
        /// Messages sent.
        messages: usize,
        /// Most tokens asked for.
        max_tokens: u32,
        /// Sampling temperature, if set.
        temperature: Option<f32>,
    },
    /// The model's answer, as it came.
    Response {
        /// The action it is for.
        step: usize,
        /// Which retry of the action.
        retry: usize,
        /// The hash of the request it answers.
        hash: String,
        /// The answer.
        response: ChatResponse,
        /// Time to the whole answer, in milliseconds.
        latency_ms: u64,
    },
    /// The action read from the answer.
    Action {
        /// The action's number.
        step: usize,
        /// Which retry.
        retry: usize,
        /// The action.
        action: Action,
    },
    /// The model's answer held no action that could be read; it is told why.
    Unreadable {
        /// The action's number.
        step: usize,
        /// Why.
        reason: String,
    },
    /// A program ran (or did not compile).
    Outcome {
        /// The action's number.
        step: usize,
        /// Which retry.
        retry: usize,
        /// The outcome (with the hash of the module that ran).
        outcome: Box<Outcome>,
    },
    /// A program did not compile, and the model is asked to fix it.
    Retry {
        /// The action's number.
        step: usize,
        /// The retry about to be asked for (1-based).
        retry: usize,
        /// The errors sent back.
        errors: String,
    },
    /// Streamed text of the model's answer.
    Delta {
        /// The text.
        text: String,
    },
    /// The task ended with an answer.
    Final {
        /// The answer.
        answer: String,
        /// What it used.
        spent: Spent,
    },
    /// The task ended without an answer.
    Stopped {
        /// Why.
        reason: crate::react::Stop,
        /// What it used.
        spent: Spent,
    },
}

/// The hash of a request, the key of replays: SHA-256 of its JSON with the system prompt
/// replaced by the prompt's own SHA-256 (the task's `prompt_hash`), streaming left out (a
/// streamed and a whole answer are the same answer).
///
/// The prompt is most of a request and the same in every request of an agent; its hash travels
/// with it ([`crate::SystemPrompt::hash`]), so a step hashes only the conversation (hashing the
/// prompt every time was three quarters of the agent's own cost per step, on a CPU without SHA
/// instructions).
pub fn request_hash(request: &ChatRequest) -> String {
    #[derive(Serialize)]
    struct Keyed<'a> {
        model: &'a str,
        system_sha256: &'a str,
        messages: &'a [Message],
        #[serde(skip_serializing_if = "<[ToolSpec]>::is_empty")]
        tools: &'a [ToolSpec],
        max_tokens: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        temperature: Option<f32>,
    }
    let keyed = Keyed {
        model: &request.model,
        system_sha256: request.system.hash(),
        messages: &request.messages,
        tools: &request.tools,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
    };
    let json = serde_json::to_vec(&keyed).unwrap_or_default();
    hex(&Sha256::digest(json))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Receives the events of a task.
pub trait EventSink: Send {
    /// One event.
    fn event(&mut self, event: &Event);
}

impl<F: FnMut(&Event) + Send> EventSink for F {
    fn event(&mut self, event: &Event) {
        self(event);
    }
}

/// Writes every event as one JSON line with a timestamp (`ts_ms`), flushed at once so a transcript
/// is complete up to the last event even if the process dies.
#[derive(Debug)]
pub struct Transcript<W: Write + Send> {
    out: W,
    /// The first write error; later events are not written.
    error: Option<std::io::Error>,
}

impl<W: Write + Send> Transcript<W> {
    /// A transcript written to `out`.
    pub fn new(out: W) -> Self {
        Self { out, error: None }
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<&std::io::Error> {
        self.error.as_ref()
    }
}

/// One line of a transcript: the event and when (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// When the event happened.
    pub ts_ms: u128,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

/// One line as written, borrowing its event.
#[derive(Serialize)]
struct Line<'a> {
    ts_ms: u128,
    #[serde(flatten)]
    event: &'a Event,
}

impl<W: Write + Send> EventSink for Transcript<W> {
    fn event(&mut self, event: &Event) {
        if self.error.is_some() || matches!(event, Event::Delta { .. }) {
            return;
        }
        let line = Line {
            ts_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            event,
        };
        let written = serde_json::to_writer(&mut self.out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        if let Err(error) = written {
            self.error = Some(error);
        }
    }
}

/// The results of an outcome, as the progress shows them.
pub fn results_line(results: &[Value]) -> String {
    results
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(system: &str, task: &str) -> ChatRequest {
        ChatRequest {
            model: "m".to_owned(),
            system: crate::SystemPrompt::new(system),
            messages: vec![Message::user(task)],
            tools: Vec::new(),
            max_tokens: 100,
            temperature: None,
            stream: false,
        }
    }

    #[test]
    fn every_event_round_trips_through_a_transcript_line() {
        use crate::action::Action;
        use crate::provider::{StopReason, TokenUsage, ToolCall};
        let spent = Spent {
            steps: 2,
            fuel: 1234,
            http_requests: 1,
            ai_calls: 0,
            tokens: 99,
            fuel_uncounted: true,
        };
        let engine = watsmith_engine::Engine::new(&watsmith_engine::EngineConfig::default())
            .expect("engine");
        let outcome = engine.exec(
            "(local $n i64)\n(resv $nn)",
            Vec::new(),
            &watsmith_engine::Policy::standard(),
            &watsmith_engine::Limits::default(),
        );
        let events = vec![
            Event::Task {
                task: "count".to_owned(),
                provider: "openai".to_owned(),
                model: "m".to_owned(),
                protocol: crate::prompt::Protocol::Tools,
                prompt: crate::prompt::PromptStyle::Compact,
                prompt_hash: "ab".repeat(32),
            },
            Event::Request {
                step: 1,
                retry: 0,
                hash: "cd".repeat(32),
                model: "m".to_owned(),
                messages: 2,
                max_tokens: 100,
                temperature: Some(0.5),
            },
            Event::Response {
                step: 1,
                retry: 0,
                hash: "cd".repeat(32),
                response: ChatResponse {
                    reasoning: String::new(),
                    text: String::new(),
                    tool_calls: vec![ToolCall {
                        malformed: None,
                        id: "call_1".to_owned(),
                        name: "run_wat".to_owned(),
                        arguments: serde_json::json!({"body": "nop", "args": [1, "x"]}),
                    }],
                    usage: TokenUsage::reported(10, 5),
                    stop_reason: StopReason::Other("weird".to_owned()),
                },
                latency_ms: 12,
            },
            Event::Action {
                step: 1,
                retry: 0,
                action: Action::Use {
                    name: "gcd".to_owned(),
                    args: vec![
                        watsmith_catalog::Literal::Int(12),
                        watsmith_catalog::Literal::Float(2.5),
                        watsmith_catalog::Literal::Str("x".to_owned()),
                    ],
                },
            },
            Event::Action {
                step: 1,
                retry: 1,
                action: Action::RunWat {
                    body: "nop".to_owned(),
                    args: vec![Value::I64(3), Value::Str("s".to_owned())],
                },
            },
            Event::Unreadable {
                step: 2,
                reason: "no action".to_owned(),
            },
            Event::Outcome {
                step: 1,
                retry: 0,
                outcome: Box::new(outcome),
            },
            Event::Retry {
                step: 1,
                retry: 1,
                errors: "line 2".to_owned(),
            },
            Event::Delta {
                text: "par".to_owned(),
            },
            Event::Final {
                answer: "42".to_owned(),
                spent,
            },
            Event::Stopped {
                reason: crate::react::Stop::TokenBudget {
                    spent: 10,
                    budget: 5,
                },
                spent,
            },
            Event::Stopped {
                reason: crate::react::Stop::WallClock {
                    limit_ms: 300,
                    waiting_for_the_model: true,
                },
                spent,
            },
        ];
        for event in events {
            let line = TranscriptLine { ts_ms: 7, event };
            let json = serde_json::to_string(&line).expect("serialises");
            let back: TranscriptLine = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, line, "{json}");
        }
    }

    #[test]
    fn a_request_hash_covers_everything_but_streaming() {
        let base = request("prompt one", "task");
        let hash = request_hash(&base);
        let streamed = ChatRequest {
            stream: true,
            ..base.clone()
        };
        assert_eq!(request_hash(&streamed), hash);
        for other in [
            request("prompt two", "task"),
            request("prompt one", "another task"),
            ChatRequest {
                model: "n".to_owned(),
                ..base.clone()
            },
            ChatRequest {
                max_tokens: 99,
                ..base.clone()
            },
            ChatRequest {
                temperature: Some(0.5),
                ..base.clone()
            },
        ] {
            assert_ne!(request_hash(&other), hash, "{other:?}");
        }
        // The prompt's hash is its own: alternating prompts give stable hashes.
        let two = request_hash(&request("prompt two", "task"));
        for _ in 0..3 {
            assert_eq!(request_hash(&base), hash);
            assert_eq!(request_hash(&request("prompt two", "task")), two);
        }
    }
}
