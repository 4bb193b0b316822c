//! Ollama's native chat (`POST {base_url}/api/chat`, by default on `127.0.0.1:11434`).
//!
//! - The system prompt is the first message, of role `system`; `max_tokens` and `temperature` are
//!   the `options` `num_predict` and `temperature`.
//! - Tools are declared in `tools`; the model's calls are `message.tool_calls`, whose `arguments`
//!   are JSON objects (some models' templates give JSON text, read leniently: [`lenient`]).
//!   Ollama's calls have no id unless a newer server gives one, so calls without one are named
//!   `call_<n>` (their place in the answer); a thinking model's `thinking` is the answer's
//!   reasoning, kept apart from its text; a tool result is a
//!   `tool` message naming its tool in `tool_name`, found from the call it answers.
//! - An answer is JSON objects, one per line when streamed, each with a piece of
//!   `message.content`; the last has `done: true`, the reason in `done_reason` and the usage in
//!   `prompt_eval_count` and `eval_count`. A stream that ends before `done` was cut; an object
//!   with `error` is an error status (500: Ollama reports no other).
//! - Ollama says `stop` after a tool call; an answer with tool calls is taken as
//!   [`StopReason::ToolUse`].
//! - `Authorization: Bearer` is sent only when a key is set (a server behind a proxy).
//! - The context window: Ollama's default (2,048 or 4,096 tokens) silently drops the start of a
//!   longer prompt, so the client asks `/api/show` once per model for its context length and
//!   sets `options.num_ctx` to what the request needs (estimated at 3 characters a token, plus
//!   the answer's `max_tokens`, rounded up to 2,048) within it; a request that cannot fit is
//!   refused before it is sent ([`ProviderError::ContextOverflow`]). A server that does not say
//!   (no `/api/show`) gets no `num_ctx`, as before.

use std::collections::HashMap;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::ClientOptions;
use super::http::{self, Http, Streamed};
use super::lenient;
use super::retry::Failure;
use super::{
    ChatFuture, ChatRequest, ChatResponse, Deltas, Message, Provider, ProviderError, Role,
    StopReason, TokenUsage, ToolCall,
};

/// A client of Ollama's native chat API.
#[derive(Debug)]
pub struct Ollama {
    http: Http,
    headers: HeaderMap,
    /// Each model's context window, as `/api/show` gave it (`None`: the server did not say),
    /// asked once per model.
    contexts: tokio::sync::Mutex<HashMap<String, Option<u64>>>,
}

/// Characters per token of the estimate that sizes `num_ctx`: fewer than the usage estimate's
/// four, since code (a system prompt full of WAT) tokenizes denser than prose and a context
/// set too small loses the start of the prompt.
const CONTEXT_CHARS_PER_TOKEN: usize = 3;

/// Tokens added to the estimate for the chat template's own (role markers, tool schemas'
/// rendering).
const TEMPLATE_TOKENS: u64 = 256;

/// `num_ctx` is a multiple of this (the runner reallocates its cache when it changes; rounding
/// keeps one size across the requests of a task).
const CONTEXT_STEP: u64 = 2_048;

impl Ollama {
    /// The client of the server at `options.base_url` (locally
    /// [`OLLAMA_BASE_URL`](crate::defaults::OLLAMA_BASE_URL)).
    pub fn new(options: ClientOptions) -> Result<Self, ProviderError> {
        Ok(Self {
            http: Http::new(&options)?,
            headers: http::key_headers(AUTHORIZATION, "Bearer ", options.api_key.as_ref())?,
            contexts: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// `model`'s context window, from `/api/show` (`model_info` holds `<arch>.context_length`);
    /// `None` when the server does not say (an older server, a proxy): one attempt, not
    /// retried, remembered either way.
    async fn context(&self, model: &str) -> Option<u64> {
        let mut contexts = self.contexts.lock().await;
        if let Some(known) = contexts.get(model) {
            return *known;
        }
        let asked = self
            .http
            .post(
                "/api/show",
                self.headers.clone(),
                &json!({ "model": model }),
            )
            .await;
        let context = match asked {
            Ok(response) => self
                .http
                .json::<Value>(response)
                .await
                .ok()
                .and_then(|shown| context_length(&shown)),
            Err(_) => None,
        };
        contexts.insert(model.to_owned(), context);
        context
    }

    /// The `num_ctx` `request` needs within `context`: its estimated tokens, rounded up to
    /// [`CONTEXT_STEP`], at most the context; an error if it cannot fit.
    fn num_ctx(request: &ChatRequest, context: u64) -> Result<u64, ProviderError> {
        let prompt = lenient::prompt_chars(request).div_ceil(CONTEXT_CHARS_PER_TOKEN) as u64;
        let needed = prompt + u64::from(request.max_tokens) + TEMPLATE_TOKENS;
        if needed > context {
            return Err(ProviderError::ContextOverflow {
                model: request.model.clone(),
                needed,
                max_tokens: request.max_tokens,
                context,
            });
        }
        Ok(needed
            .div_ceil(CONTEXT_STEP)
            .saturating_mul(CONTEXT_STEP)
            .min(context))
    }

    async fn attempt(
        &self,
        request: &ChatRequest,
        body: &Value,
        deltas: Deltas<'_>,
    ) -> Result<ChatResponse, Failure> {
        let response = self
            .http
            .post("/api/chat", self.headers.clone(), body)
            .await?;
        if Http::streams(request, &response) {
            read_stream(self.http.lines(response), deltas).await
        } else {
            let answer: Answer = self.http.json(response).await?;
            if let Some(error) = answer.error {
                return Err(Failure::new(stream_error(&error)));
            }
            let mut calls = Vec::new();
            answer.message.add_calls(&mut calls);
            let (text, reasoning) = (&answer.message.content, &answer.message.thinking);
            Ok(answer.response(text.clone(), reasoning.clone(), calls))
        }
    }
}

impl Provider for Ollama {
    fn name(&self) -> &str {
        super::ProviderKind::Ollama.name()
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, deltas: Deltas<'a>) -> ChatFuture<'a> {
        Box::pin(async move {
            let num_ctx = match self.context(&request.model).await {
                Some(context) => Some(Self::num_ctx(request, context)?),
                None => None,
            };
            let body = request_body(request, num_ctx);
            self.http
                .chat(request, || self.attempt(request, &body, deltas))
                .await
        })
    }
}

/// The JSON body of `request`, with the context window `num_ctx` if it is known.
fn request_body(request: &ChatRequest, num_ctx: Option<u64>) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.text().is_empty() {
        messages.push(json!({ "role": "system", "content": request.system.text() }));
    }
    for (at, message) in request.messages.iter().enumerate() {
        messages.push(wire_message(message, &request.messages[..at]));
    }
    let mut options = json!({ "num_predict": request.max_tokens });
    if let Some(num_ctx) = num_ctx {
        options["num_ctx"] = json!(num_ctx);
    }
    if let Some(temperature) = request.temperature {
        options["temperature"] = json!(temperature);
    }
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "stream": request.stream,
        "options": options,
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                })
            })
            .collect();
    }
    body
}

/// One message in the API's shape; `before` are the messages before it, where a tool result
/// finds the name of the call it answers.
fn wire_message(message: &Message, before: &[Message]) -> Value {
    match message.role {
        Role::User => json!({ "role": "user", "content": message.content }),
        Role::Assistant if message.tool_calls.is_empty() => {
            json!({ "role": "assistant", "content": message.content })
        }
        Role::Assistant => {
            let calls: Vec<Value> = message
                .tool_calls
                .iter()
                .map(|call| json!({ "function": { "name": call.name, "arguments": call.arguments } }))
                .collect();
            json!({ "role": "assistant", "content": message.content, "tool_calls": calls })
        }
        Role::Tool => {
            let name = message.tool_call_id.as_deref().and_then(|id| {
                before
                    .iter()
                    .rev()
                    .flat_map(|m| &m.tool_calls)
                    .find(|call| call.id == id)
                    .map(|call| call.name.as_str())
            });
            let mut wire = json!({ "role": "tool", "content": message.content });
            if let Some(name) = name {
                wire["tool_name"] = json!(name);
            }
            wire
        }
    }
}

/// The context window `/api/show` gives: `model_info`'s `<arch>.context_length` (what the model
/// was trained for; `options.num_ctx` may go up to it, past a Modelfile's `num_ctx`), else the
/// Modelfile's `num_ctx` parameter.
fn context_length(shown: &Value) -> Option<u64> {
    let trained = shown
        .get("model_info")
        .and_then(Value::as_object)
        .and_then(|info| {
            info.iter()
                .find(|(key, _)| key.ends_with(".context_length"))
                .and_then(|(_, value)| value.as_u64())
        });
    let parameter = shown
        .get("parameters")
        .and_then(Value::as_str)
        .and_then(|parameters| {
            parameters.lines().find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some("num_ctx"))
                    .then(|| words.next()?.parse::<u64>().ok())
                    .flatten()
            })
        });
    trained.or(parameter)
}

/// The stop reason a `done_reason` stands for, given whether the answer called tools.
fn stop_reason(done_reason: Option<&str>, called_tools: bool) -> StopReason {
    let reason = match done_reason {
        Some("stop") | None => StopReason::EndTurn,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
    };
    if called_tools && reason == StopReason::EndTurn {
        StopReason::ToolUse
    } else {
        reason
    }
}

/// One object of an answer (the whole answer when it is not streamed).
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    message: WireMessage,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    prompt_eval_count: u64,
    #[serde(default)]
    eval_count: u64,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: String,
    /// The reasoning of a thinking model (`think` on, or the model's default).
    #[serde(default)]
    thinking: String,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: Value,
}

impl WireMessage {
    /// Adds this message's tool calls to `calls`, naming those without an id by their place.
    fn add_calls(&self, calls: &mut Vec<ToolCall>) {
        for call in self.tool_calls.iter().flatten() {
            let id = lenient::call_id(call.id.clone(), calls.len());
            // Some models' templates give the arguments as JSON text.
            let arguments = call.function.arguments.clone();
            calls.push(ToolCall::from_wire(
                id,
                call.function.name.clone(),
                arguments,
            ));
        }
    }
}

impl Answer {
    /// The response this final object ends, with the text and calls of the whole answer.
    fn response(&self, text: String, reasoning: String, tool_calls: Vec<ToolCall>) -> ChatResponse {
        ChatResponse {
            text,
            reasoning,
            stop_reason: stop_reason(self.done_reason.as_deref(), !tool_calls.is_empty()),
            tool_calls,
            usage: TokenUsage::reported(self.prompt_eval_count, self.eval_count),
        }
    }
}

/// Reads a streamed answer to its end.
pub(super) async fn read_stream(
    mut lines: http::Lines,
    deltas: Deltas<'_>,
) -> Result<ChatResponse, Failure> {
    let mut text = Streamed::new(deltas);
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    loop {
        let line = match lines.next().await {
            Ok(Some(line)) => line,
            Ok(None) => {
                return Err(text.fail(ProviderError::Transport(
                    "the answer was cut: the stream ended before `done`".into(),
                )));
            }
            Err(error) => return Err(text.fail(error)),
        };
        if line.trim().is_empty() {
            continue;
        }
        let object: Answer = http::decode(&line).map_err(|e| text.fail(e))?;
        if let Some(error) = &object.error {
            return Err(text.fail(stream_error(error)));
        }
        text.push(&object.message.content);
        reasoning.push_str(&object.message.thinking);
        object.message.add_calls(&mut calls);
        if object.done {
            return Ok(object.response(text.into_text(), reasoning, calls));
        }
    }
}

/// An `error` object: an error status, 500 since Ollama names no other.
fn stream_error(error: &Value) -> ProviderError {
    ProviderError::Status {
        status: 500,
        body: http::truncate(&json!({ "error": error }).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_result_names_the_tool_of_the_nearest_call_with_its_id() {
        let call = |name: &str| ToolCall::new("call_0", name, json!({}));
        let messages = [
            Message::assistant("", vec![call("first")]),
            Message::tool("call_0", "1"),
            Message::assistant("", vec![call("second")]),
            Message::tool("call_0", "2"),
        ];
        assert_eq!(
            wire_message(&messages[3], &messages[..3]),
            json!({ "role": "tool", "content": "2", "tool_name": "second" })
        );
        assert_eq!(
            wire_message(&messages[1], &messages[..1]),
            json!({ "role": "tool", "content": "1", "tool_name": "first" })
        );
    }
}
