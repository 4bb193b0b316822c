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
}

impl Ollama {
    /// The client of the server at `options.base_url` (locally
    /// [`OLLAMA_BASE_URL`](crate::defaults::OLLAMA_BASE_URL)).
    pub fn new(options: ClientOptions) -> Result<Self, ProviderError> {
        Ok(Self {
            http: Http::new(&options)?,
            headers: http::key_headers(AUTHORIZATION, "Bearer ", options.api_key.as_ref())?,
        })
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
        "ollama"
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, deltas: Deltas<'a>) -> ChatFuture<'a> {
        Box::pin(async move {
            let body = request_body(request);
            self.http
                .chat(request, || self.attempt(request, &body, deltas))
                .await
        })
    }
}

/// The JSON body of `request`.
fn request_body(request: &ChatRequest) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.text().is_empty() {
        messages.push(json!({ "role": "system", "content": request.system.text() }));
    }
    for (at, message) in request.messages.iter().enumerate() {
        messages.push(wire_message(message, &request.messages[..at]));
    }
    let mut options = json!({ "num_predict": request.max_tokens });
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
