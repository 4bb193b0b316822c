//! A provider that answers from a recorded transcript: each request is looked up by its hash
//! ([`crate::event::request_hash`]), so a run can be reproduced with no network. A request the
//! transcript does not hold means the run diverged from the recording (another prompt, another
//! model, another catalog): that is an error naming the request, never a guess.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::event::{Event, TranscriptLine, request_hash};
use crate::prompt::{PromptStyle, Protocol};
use crate::provider::{ChatFuture, ChatRequest, ChatResponse, Deltas, Provider, ProviderError};

/// The replay provider's name, as settings, flags and transcripts name it.
pub const REPLAY: &str = "replay";

/// Answers recorded requests with their recorded responses.
#[derive(Debug)]
pub struct Replay {
    /// Responses by request hash, in recorded order (the same request may recur).
    responses: Mutex<HashMap<String, VecDeque<ChatResponse>>>,
    recorded: usize,
    /// The model named by the transcript's task event, if any.
    model: Option<String>,
    /// The action protocol of the transcript's task, if it names one.
    protocol: Option<Protocol>,
    prompt: Option<PromptStyle>,
}

/// A transcript that cannot be replayed.
#[derive(Debug, thiserror::Error)]
#[error("line {line} of the transcript: {message}")]
pub struct ReplayError {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl Replay {
    /// The responses of a transcript's text (JSON lines, as [`crate::event::Transcript`]
    /// writes them).
    pub fn from_transcript(text: &str) -> Result<Self, ReplayError> {
        let mut responses: HashMap<String, VecDeque<ChatResponse>> = HashMap::new();
        let mut recorded = 0;
        let mut model = None;
        let mut protocol = None;
        let mut prompt = None;
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line: TranscriptLine = serde_json::from_str(line).map_err(|e| ReplayError {
                line: index + 1,
                message: e.to_string(),
            })?;
            match line.event {
                Event::Task {
                    model: task_model,
                    protocol: task_protocol,
                    prompt: task_prompt,
                    ..
                } if model.is_none() => {
                    model = Some(task_model);
                    protocol = Some(task_protocol);
                    prompt = Some(task_prompt);
                }
                Event::Response { hash, response, .. } => {
                    responses.entry(hash).or_default().push_back(response);
                    recorded += 1;
                }
                _ => {}
            }
        }
        Ok(Self {
            responses: Mutex::new(responses),
            recorded,
            model,
            protocol,
            prompt,
        })
    }

    /// The model the transcript's task asked.
    pub fn recorded_model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The action protocol the transcript's task used.
    pub fn recorded_protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// The prompt style the transcript's task used.
    pub fn recorded_prompt(&self) -> Option<PromptStyle> {
        self.prompt
    }

    /// Responses recorded.
    pub fn len(&self) -> usize {
        self.recorded
    }

    /// Whether the transcript recorded no response.
    pub fn is_empty(&self) -> bool {
        self.recorded == 0
    }
}

impl Provider for Replay {
    fn name(&self) -> &str {
        REPLAY
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, deltas: Deltas<'a>) -> ChatFuture<'a> {
        let hash = request_hash(request);
        let found = self
            .responses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&hash)
            .and_then(VecDeque::pop_front);
        Box::pin(async move {
            let response = found.ok_or_else(|| {
                ProviderError::Config(format!(
                    "replay: the transcript holds no response to request {hash} (the run \
                     diverged from the recording: another task, prompt, model or history)"
                ))
            })?;
            if request.stream && !response.text.is_empty() {
                deltas(&response.text);
            }
            Ok(response)
        })
    }
}
