//! OpenAI's Chat Completions (`POST {base_url}/chat/completions`), as OpenAI and the servers that
//! copy it speak it: vLLM, llama.cpp's server, LM Studio, OpenRouter, Ollama's `/v1`.
//!
//! - The system prompt is the first message, of role `system`. An assistant's tool calls go back
//!   as `tool_calls` whose arguments are JSON text; a tool result is a `tool` message with its
//!   `tool_call_id`.
//! - The answer's length is bounded with `max_tokens`, which every compatible server reads
//!   (OpenAI's newer `max_completion_tokens` is not, and OpenAI still takes `max_tokens` for
//!   chat models).
//! - A streamed answer is server-sent events of `data:` chunks: text in
//!   `choices[0].delta.content`, tool calls in `delta.tool_calls` (the arguments arrive as pieces
//!   of text, joined per `index`), the reason in `finish_reason`, the usage in a last chunk
//!   without choices (asked for with `stream_options.include_usage`), and `data: [DONE]`. A
//!   stream that ends before a finish reason was cut.
//! - `Authorization: Bearer` is sent only when a key is set (local servers need none).
//!
//! Servers differ on the finish reason of a tool call: some say `stop`. An answer with tool calls
//! that says it ended its turn is taken as [`StopReason::ToolUse`].

use std::collections::BTreeMap;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::ClientOptions;
use super::http::{self, Http, Streamed};
use super::retry::Failure;
use super::{
    ChatFuture, ChatRequest, ChatResponse, Deltas, Message, Provider, ProviderError, Role,
    StopReason, TokenUsage, ToolCall,
};

/// A client of an OpenAI-compatible Chat Completions API.
#[derive(Debug)]
pub struct OpenAi {
    http: Http,
    headers: HeaderMap,
}

impl OpenAi {
    /// The client of the API at `options.base_url` (OpenAI's is
    /// [`OPENAI_BASE_URL`](crate::defaults::OPENAI_BASE_URL)).
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
            .post("/chat/completions", self.headers.clone(), body)
            .await?;
        if request.stream {
            read_stream(self.http.events(response), deltas).await
        } else {
            let completion: Completion = self.http.json(response).await?;
            Ok(completion.into_response()?)
        }
    }
}

impl Provider for OpenAi {
    fn name(&self) -> &str {
        "openai"
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, deltas: Deltas<'a>) -> ChatFuture<'a> {
        Box::pin(async move {
            let body = request_body(request);
            self.http
                .chat(|| self.attempt(request, &body, deltas))
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
    messages.extend(request.messages.iter().map(message));
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "stream": request.stream,
    });
    if request.stream {
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
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

/// One message in the API's shape.
fn message(message: &Message) -> Value {
    match message.role {
        Role::User => json!({ "role": "user", "content": message.content }),
        Role::Assistant if message.tool_calls.is_empty() => {
            json!({ "role": "assistant", "content": message.content })
        }
        Role::Assistant => {
            let calls: Vec<Value> = message
                .tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": call.arguments.to_string(),
                        },
                    })
                })
                .collect();
            let content = if message.content.is_empty() {
                Value::Null
            } else {
                json!(message.content)
            };
            json!({ "role": "assistant", "content": content, "tool_calls": calls })
        }
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message.content,
        }),
    }
}

/// The stop reason a `finish_reason` stands for, given whether the answer called tools.
fn stop_reason(finish_reason: Option<&str>, called_tools: bool) -> StopReason {
    let reason = match finish_reason {
        Some("stop") | None => StopReason::EndTurn,
        Some("length") => StopReason::MaxTokens,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some(other) => StopReason::Other(other.to_owned()),
    };
    if called_tools && reason == StopReason::EndTurn {
        StopReason::ToolUse
    } else {
        reason
    }
}

/// Token counts, as the API names them.
#[derive(Debug, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<Usage> for TokenUsage {
    fn from(usage: Usage) -> Self {
        Self {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
        }
    }
}

/// An answer that is not streamed.
#[derive(Debug, Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: AssistantMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AssistantMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize)]
struct WireToolCall {
    id: String,
    function: WireFunction,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

impl Completion {
    fn into_response(self) -> Result<ChatResponse, ProviderError> {
        let choice = self
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::Decode("the answer has no choices".into()))?;
        let tool_calls: Vec<ToolCall> = choice
            .message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|call| ToolCall {
                id: call.id,
                name: call.function.name,
                arguments: http::arguments(&call.function.arguments),
            })
            .collect();
        Ok(ChatResponse {
            text: choice.message.content.unwrap_or_default(),
            stop_reason: stop_reason(choice.finish_reason.as_deref(), !tool_calls.is_empty()),
            tool_calls,
            usage: self.usage.unwrap_or_default().into(),
        })
    }
}

/// One chunk of a streamed answer.
#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    /// An error reported inside the stream (vLLM, OpenRouter).
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<DeltaToolCall>>,
}

#[derive(Debug, Deserialize)]
struct DeltaToolCall {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<DeltaFunction>,
}

#[derive(Debug, Deserialize)]
struct DeltaFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// A tool call being put together from its pieces.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Reads a streamed answer to its end.
pub(super) async fn read_stream(
    mut events: http::Events,
    deltas: Deltas<'_>,
) -> Result<ChatResponse, Failure> {
    let mut text = Streamed::new(deltas);
    let mut calls: BTreeMap<usize, PartialCall> = BTreeMap::new();
    let mut finish_reason: Option<String> = None;
    let mut usage = TokenUsage::default();
    loop {
        let event = match events.next().await {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(error) => return Err(text.fail(error)),
        };
        let data = event.data.trim();
        if data == "[DONE]" {
            break;
        }
        if data.is_empty() {
            continue;
        }
        let chunk: Chunk = http::decode(data).map_err(|e| text.fail(e))?;
        if let Some(error) = chunk.error {
            return Err(text.fail(stream_error(&error)));
        }
        if let Some(reported) = chunk.usage {
            usage = reported.into();
        }
        let Some(choice) = chunk.choices.into_iter().next() else {
            continue;
        };
        let delta = choice.delta.unwrap_or_default();
        if let Some(content) = &delta.content {
            text.push(content);
        }
        for (position, piece) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
            let call = calls.entry(piece.index.unwrap_or(position)).or_default();
            if let Some(id) = piece.id {
                call.id.push_str(&id);
            }
            if let Some(function) = piece.function {
                call.name
                    .push_str(function.name.as_deref().unwrap_or_default());
                call.arguments
                    .push_str(function.arguments.as_deref().unwrap_or_default());
            }
        }
        if choice.finish_reason.is_some() {
            finish_reason = choice.finish_reason;
        }
    }
    if finish_reason.is_none() {
        return Err(text.fail(ProviderError::Transport(
            "the answer was cut: the stream ended before a finish reason".into(),
        )));
    }
    let tool_calls: Vec<ToolCall> = calls
        .into_values()
        .map(|call| ToolCall {
            arguments: http::arguments(&call.arguments),
            id: call.id,
            name: call.name,
        })
        .collect();
    Ok(ChatResponse {
        stop_reason: stop_reason(finish_reason.as_deref(), !tool_calls.is_empty()),
        text: text.into_text(),
        tool_calls,
        usage,
    })
}

/// An error reported inside a stream: the status its `code` names if it is one, else 500.
fn stream_error(error: &Value) -> ProviderError {
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (400..600).contains(code))
        .unwrap_or(500);
    ProviderError::Status {
        status,
        body: http::truncate(&error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        assert_eq!(stop_reason(Some("stop"), false), StopReason::EndTurn);
        assert_eq!(stop_reason(Some("stop"), true), StopReason::ToolUse);
        assert_eq!(stop_reason(Some("length"), false), StopReason::MaxTokens);
        assert_eq!(stop_reason(Some("tool_calls"), true), StopReason::ToolUse);
        assert_eq!(
            stop_reason(Some("content_filter"), false),
            StopReason::Other("content_filter".into())
        );
    }
}
