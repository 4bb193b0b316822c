//! OpenAI's Chat Completions (`POST {base_url}/chat/completions`), as OpenAI and the servers that
//! copy it speak it: vLLM, llama.cpp's server, LM Studio, OpenRouter, Ollama's `/v1`.
//!
//! - The system prompt is the first message, of role `system`. An assistant's tool calls go back
//!   as `tool_calls` whose arguments are JSON text; a tool result is a `tool` message with its
//!   `tool_call_id`.
//! - The answer's length is bounded with `max_tokens`, which every compatible server reads
//!   (OpenAI's newer `max_completion_tokens` is not, and OpenAI still takes `max_tokens` for
//!   chat models).
//! - An answer's `content` is a string, `null` or a list of blocks (text joined, thinking kept
//!   apart), reasoning may come in `reasoning_content` or `reasoning`, a tool call's `arguments`
//!   are JSON text or a JSON object, and its `id` may be missing: all are read leniently
//!   ([`lenient`]). A streamed request answered with one JSON document is read as that.
//! - A streamed answer is server-sent events of `data:` chunks: text in
//!   `choices[0].delta.content`, tool calls in `delta.tool_calls` (a call's id and name are set
//!   by its first delta that has them, its argument pieces are joined per `index`, and a
//!   different id at an index starts a new call), the reason in `finish_reason`, the usage in a
//!   last chunk without choices (asked for with `stream_options.include_usage`), and
//!   `data: [DONE]`. `[DONE]` ends the answer, finish reason or not; a stream that ends with
//!   neither was cut.
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
use super::lenient;
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
        if Http::streams(request, &response) {
            read_stream(self.http.events(response), deltas).await
        } else {
            let completion: Completion = self.http.json(response).await?;
            Ok(completion.into_response()?)
        }
    }
}

impl Provider for OpenAi {
    fn name(&self) -> &str {
        super::ProviderKind::OpenAi.name()
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
        Self::reported(usage.prompt_tokens, usage.completion_tokens)
    }
}

/// An answer that is not streamed.
#[derive(Debug, Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    /// An error reported with a success status (some proxies).
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: AssistantMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// The assistant's message; `content` is a string, `null` or a list of blocks.
#[derive(Debug, Deserialize)]
struct AssistantMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(flatten)]
    reasoning: Reasoning,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

/// Reasoning sent apart from the content: `reasoning_content` (DeepSeek, vLLM, llama.cpp's
/// server) or `reasoning` (OpenRouter, Ollama's `/v1`).
#[derive(Debug, Default, Deserialize)]
struct Reasoning {
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
}

impl Reasoning {
    fn text(&self) -> &str {
        self.reasoning_content
            .as_deref()
            .or(self.reasoning.as_deref())
            .unwrap_or_default()
    }
}

/// A tool call; the id may be missing and the arguments are JSON text or a JSON object.
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

impl Completion {
    fn into_response(self) -> Result<ChatResponse, ProviderError> {
        if let Some(error) = &self.error {
            return Err(stream_error(error));
        }
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
            .enumerate()
            .map(|(position, call)| {
                ToolCall::from_wire(
                    lenient::call_id(call.id, position),
                    call.function.name,
                    call.function.arguments,
                )
            })
            .collect();
        let (text, mut reasoning) = lenient::content(choice.message.content.as_ref());
        reasoning.insert_str(0, choice.message.reasoning.text());
        Ok(ChatResponse {
            text,
            reasoning,
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
    content: Option<Value>,
    #[serde(flatten)]
    reasoning: Reasoning,
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
    /// A piece of JSON text, or (some servers) the whole arguments as an object.
    #[serde(default)]
    arguments: Option<Value>,
}

/// A tool call being put together from its pieces.
#[derive(Debug, Default)]
struct PartialCall {
    id: Option<String>,
    name: String,
    /// The pieces of argument text so far.
    text: String,
    /// Arguments sent whole, as a JSON value.
    whole: Option<Value>,
}

impl PartialCall {
    /// Takes in one delta: the id and the name are set once (servers that repeat them in every
    /// delta repeat the same ones); argument text is appended.
    fn apply(&mut self, id: Option<String>, function: Option<DeltaFunction>) {
        if self.id.is_none() {
            self.id = id.filter(|id| !id.is_empty());
        }
        let Some(function) = function else { return };
        if self.name.is_empty()
            && let Some(name) = function.name
        {
            self.name = name;
        }
        match function.arguments {
            Some(Value::String(piece)) => self.text.push_str(&piece),
            Some(Value::Null) | None => {}
            Some(whole) => self.whole = Some(whole),
        }
    }

    fn into_call(self, position: usize) -> ToolCall {
        let arguments = match self.whole {
            Some(whole) if self.text.trim().is_empty() => whole,
            _ => Value::String(self.text),
        };
        ToolCall::from_wire(lenient::call_id(self.id, position), self.name, arguments)
    }
}

/// The tool calls of a stream, in order: a delta belongs to the call at its `index`, unless it
/// carries an id other than that call's, which starts a new call.
#[derive(Debug, Default)]
struct Calls {
    calls: Vec<PartialCall>,
    /// The place in `calls` of the call now at each index.
    at_index: BTreeMap<usize, usize>,
}

impl Calls {
    fn apply(&mut self, piece: DeltaToolCall, position: usize) {
        let index = piece.index.unwrap_or(position);
        let id = piece.id.filter(|id| !id.is_empty());
        let current =
            self.at_index
                .get(&index)
                .copied()
                .filter(|&at| match (&self.calls[at].id, &id) {
                    (Some(known), Some(new)) => known == new,
                    _ => true,
                });
        let at = current.unwrap_or_else(|| {
            self.calls.push(PartialCall::default());
            self.calls.len() - 1
        });
        self.at_index.insert(index, at);
        self.calls[at].apply(id, piece.function);
    }

    fn into_calls(self) -> Vec<ToolCall> {
        self.calls
            .into_iter()
            .enumerate()
            .map(|(position, call)| call.into_call(position))
            .collect()
    }
}

/// Reads a streamed answer to its end: `data: [DONE]`, or the end of the stream after a
/// finish reason. A stream that ends with neither was cut.
pub(super) async fn read_stream(
    mut events: http::Events,
    deltas: Deltas<'_>,
) -> Result<ChatResponse, Failure> {
    let mut text = Streamed::new(deltas);
    let mut reasoning = String::new();
    let mut calls = Calls::default();
    let mut finish_reason: Option<String> = None;
    let mut done = false;
    let mut usage = TokenUsage::default();
    loop {
        let data = match events.next().await {
            Ok(Some(data)) => data,
            Ok(None) => break,
            Err(error) => return Err(text.fail(error)),
        };
        let data = data.trim();
        if data == "[DONE]" {
            done = true;
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
        let (piece, thought) = lenient::content(delta.content.as_ref());
        text.push(&piece);
        reasoning.push_str(delta.reasoning.text());
        reasoning.push_str(&thought);
        for (position, piece) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
            calls.apply(piece, position);
        }
        if choice.finish_reason.is_some() {
            finish_reason = choice.finish_reason;
        }
    }
    if !done && finish_reason.is_none() {
        return Err(text.fail(ProviderError::Transport(
            "the answer was cut: the stream ended before a finish reason or `[DONE]`".into(),
        )));
    }
    let tool_calls = calls.into_calls();
    Ok(ChatResponse {
        stop_reason: stop_reason(finish_reason.as_deref(), !tool_calls.is_empty()),
        text: text.into_text(),
        reasoning,
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
