//! Anthropic's Messages (`POST {base_url}/v1/messages`, `x-api-key`,
//! `anthropic-version: 2023-06-01`).
//!
//! - The system prompt is the top-level `system`; messages are `user` and `assistant` turns of
//!   content blocks: `text`, `tool_use` (an assistant's call, with its `input` object) and
//!   `tool_result` (the answer to a call, with its `tool_use_id`). Tool results go in a user turn,
//!   before any text, and consecutive tool and user messages are one turn.
//! - The usage is `input_tokens` (plus the prompt tokens read from or written to the cache) and
//!   `output_tokens`; the reason is `stop_reason` (`end_turn`, `max_tokens`, `tool_use`,
//!   `stop_sequence`, and others kept by name).
//! - A streamed answer is server-sent events: `message_start` (the input usage),
//!   `content_block_start` and `content_block_delta` (`text_delta`, `thinking_delta`, and
//!   `input_json_delta` whose `partial_json` pieces join into a call's input; a call with no
//!   such pieces keeps the input its `content_block_start` gave whole), `message_delta` (the stop
//!   reason and output usage), `message_stop`, `ping`, and `error`. A stream that ends before
//!   the stop reason was cut; one that ends after it, without `message_stop`, is whole.
//! - Thinking blocks are the answer's reasoning, kept apart from its text. A call's `id` may be
//!   missing (servers that copy the API) and is then generated; its input is read leniently
//!   ([`lenient`]), so an input cut by `max_tokens` is kept as malformed, never sent back. An `error` event is an error status: the one Anthropic documents for its type
//!   (`overloaded_error` is 529), so that it is retried like one when nothing was handed on.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
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
use crate::defaults;

/// A client of Anthropic's Messages API.
#[derive(Debug)]
pub struct Anthropic {
    http: Http,
    headers: HeaderMap,
}

impl Anthropic {
    /// The client of the API at `options.base_url` (Anthropic's is
    /// [`ANTHROPIC_BASE_URL`](crate::defaults::ANTHROPIC_BASE_URL)), with the key in `x-api-key`
    /// if one is set.
    pub fn new(options: ClientOptions) -> Result<Self, ProviderError> {
        let mut headers = http::key_headers(
            HeaderName::from_static("x-api-key"),
            "",
            options.api_key.as_ref(),
        )?;
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(defaults::ANTHROPIC_VERSION),
        );
        Ok(Self {
            http: Http::new(&options)?,
            headers,
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
            .post("/v1/messages", self.headers.clone(), body)
            .await?;
        if Http::streams(request, &response) {
            read_stream(self.http.events(response), deltas).await
        } else {
            let message: Answer = self.http.json(response).await?;
            Ok(message.into_response())
        }
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        super::ProviderKind::Anthropic.name()
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
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": turns(&request.messages),
        "stream": request.stream,
    });
    if !request.system.text().is_empty() {
        body["system"] = json!(request.system.text());
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
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                })
            })
            .collect();
    }
    body
}

/// The messages as turns of content blocks; tool results join the user turn they belong to.
fn turns(messages: &[Message]) -> Vec<Value> {
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for message in messages {
        let (role, blocks) = match message.role {
            Role::User => ("user", text_block(&message.content).into_iter().collect()),
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                    "content": message.content,
                })],
            ),
            Role::Assistant => {
                let mut blocks: Vec<Value> = text_block(&message.content).into_iter().collect();
                blocks.extend(message.tool_calls.iter().map(|call| {
                    json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": call.arguments,
                    })
                }));
                ("assistant", blocks)
            }
        };
        match turns.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    turns
        .into_iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect()
}

/// A text block, unless the text is empty (the API refuses empty text blocks).
fn text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({ "type": "text", "text": text }))
}

/// The stop reason a `stop_reason` stands for.
fn stop_reason(reason: Option<&str>) -> StopReason {
    match reason {
        Some("end_turn") | None => StopReason::EndTurn,
        Some("max_tokens") => StopReason::MaxTokens,
        Some("tool_use") => StopReason::ToolUse,
        Some("stop_sequence") => StopReason::StopSequence,
        Some(other) => StopReason::Other(other.to_owned()),
    }
}

/// Token counts, as the API names them.
#[derive(Debug, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

impl Usage {
    /// The prompt tokens, cached ones included, if the usage counts them.
    fn prompt_tokens(&self) -> Option<u64> {
        self.input_tokens.map(|input| {
            input
                .saturating_add(self.cache_creation_input_tokens.unwrap_or(0))
                .saturating_add(self.cache_read_input_tokens.unwrap_or(0))
        })
    }
}

/// A content block of an answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        #[serde(default)]
        text: String,
    },
    /// A call; its id is generated if a server leaves it out.
    ToolUse {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Reasoning, kept apart from the text.
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    /// Redacted thinking and other blocks, which are not part of the answer.
    #[serde(other)]
    Other,
}

/// An answer that is not streamed.
#[derive(Debug, Deserialize)]
struct Answer {
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Usage,
}

impl Answer {
    fn into_response(self) -> ChatResponse {
        let mut text = String::new();
        let mut reasoning = String::new();
        let mut tool_calls = Vec::new();
        for block in self.content {
            match block {
                Block::Text { text: piece } => text.push_str(&piece),
                Block::ToolUse { id, name, input } => {
                    let id = lenient::call_id(id, tool_calls.len());
                    tool_calls.push(ToolCall::from_wire(id, name, input));
                }
                Block::Thinking { thinking } => reasoning.push_str(&thinking),
                Block::Other => {}
            }
        }
        ChatResponse {
            text,
            reasoning,
            tool_calls,
            usage: TokenUsage::reported(
                self.usage.prompt_tokens().unwrap_or(0),
                self.usage.output_tokens.unwrap_or(0),
            ),
            stop_reason: stop_reason(self.stop_reason.as_deref()),
        }
    }
}

/// One event of a streamed answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: StartedMessage,
    },
    ContentBlockStart {
        index: usize,
        content_block: Block,
    },
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    MessageDelta {
        delta: MessageDelta,
        #[serde(default)]
        usage: Usage,
    },
    MessageStop,
    Error {
        error: Value,
    },
    /// `ping`, `content_block_stop` and events added later.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct StartedMessage {
    #[serde(default)]
    usage: Usage,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    /// Signature deltas and deltas added later.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct MessageDelta {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// A tool call being put together from its pieces.
#[derive(Debug)]
struct PartialCall {
    id: Option<String>,
    name: String,
    /// The `input_json_delta` pieces so far.
    input: String,
    /// The input `content_block_start` gave (`{}` when deltas follow; the whole input from
    /// servers that send no deltas).
    whole: Value,
}

/// A streamed answer being put together, event by event.
struct Assembly<'a> {
    text: Streamed<'a>,
    reasoning: String,
    /// Tool calls by the index of their content block.
    calls: BTreeMap<usize, PartialCall>,
    usage: TokenUsage,
    reason: Option<String>,
}

impl Assembly<'_> {
    /// Takes in one event; `Ok(true)` once the answer is complete.
    fn apply(&mut self, event: Event) -> Result<bool, ProviderError> {
        match event {
            Event::MessageStart { message } => {
                self.usage.prompt_tokens = message.usage.prompt_tokens().unwrap_or(0);
                self.usage.completion_tokens = message.usage.output_tokens.unwrap_or(0);
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                Block::Text { text } => self.text.push(&text),
                Block::ToolUse { id, name, input } => {
                    let call = PartialCall {
                        id,
                        name,
                        input: String::new(),
                        whole: input,
                    };
                    self.calls.insert(index, call);
                }
                Block::Thinking { thinking } => self.reasoning.push_str(&thinking),
                Block::Other => {}
            },
            Event::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => self.text.push(&text),
                BlockDelta::InputJsonDelta { partial_json } => {
                    if let Some(call) = self.calls.get_mut(&index) {
                        call.input.push_str(&partial_json);
                    }
                }
                BlockDelta::ThinkingDelta { thinking } => self.reasoning.push_str(&thinking),
                BlockDelta::Other => {}
            },
            Event::MessageDelta { delta, usage } => {
                if let Some(prompt) = usage.prompt_tokens() {
                    self.usage.prompt_tokens = prompt;
                }
                if let Some(output) = usage.output_tokens {
                    self.usage.completion_tokens = output;
                }
                if delta.stop_reason.is_some() {
                    self.reason = delta.stop_reason;
                }
            }
            Event::MessageStop => return Ok(true),
            Event::Error { error } => return Err(stream_error(&error)),
            Event::Other => {}
        }
        Ok(false)
    }

    fn into_response(self) -> ChatResponse {
        ChatResponse {
            text: self.text.into_text(),
            reasoning: self.reasoning,
            tool_calls: self
                .calls
                .into_values()
                .enumerate()
                .map(|(position, call)| {
                    let input = if call.input.trim().is_empty() {
                        call.whole
                    } else {
                        Value::String(call.input)
                    };
                    ToolCall::from_wire(lenient::call_id(call.id, position), call.name, input)
                })
                .collect(),
            usage: self.usage,
            stop_reason: stop_reason(self.reason.as_deref()),
        }
    }
}

/// Reads a streamed answer to its end.
pub(super) async fn read_stream(
    mut events: http::Events,
    deltas: Deltas<'_>,
) -> Result<ChatResponse, Failure> {
    let mut answer = Assembly {
        text: Streamed::new(deltas),
        reasoning: String::new(),
        calls: BTreeMap::new(),
        usage: TokenUsage::default(),
        reason: None,
    };
    loop {
        let data = match events.next().await {
            Ok(Some(data)) => data,
            // The stop reason comes in the last `message_delta`: an answer that has it is
            // whole even if the connection closed before `message_stop`.
            Ok(None) if answer.reason.is_some() => return Ok(answer.into_response()),
            Ok(None) => {
                return Err(answer.text.fail(ProviderError::Transport(
                    "the answer was cut: the stream ended before a stop reason".into(),
                )));
            }
            Err(error) => return Err(answer.text.fail(error)),
        };
        if data.trim().is_empty() {
            continue;
        }
        let complete = http::decode::<Event>(&data).and_then(|e| answer.apply(e));
        match complete {
            Ok(true) => return Ok(answer.into_response()),
            Ok(false) => {}
            Err(error) => return Err(answer.text.fail(error)),
        }
    }
}

/// An `error` event as the error status Anthropic documents for its type.
fn stream_error(error: &Value) -> ProviderError {
    let body = http::truncate(&json!({ "type": "error", "error": error }).to_string());
    let status = match error.get("type").and_then(Value::as_str) {
        Some("invalid_request_error") => 400,
        Some("authentication_error") => 401,
        Some("permission_error") => 403,
        Some("not_found_error") => 404,
        Some("request_too_large") => 413,
        Some("rate_limit_error") => {
            return ProviderError::RateLimited {
                retry_after: None,
                body,
            };
        }
        Some("overloaded_error") => 529,
        _ => 500,
    };
    ProviderError::Status { status, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_and_the_next_user_message_are_one_turn() {
        let call = ToolCall::new("toolu_1", "run", json!({"body": "(i32.const 1)"}));
        let turns = turns(&[
            Message::user("go"),
            Message::assistant("", vec![call]),
            Message::tool("toolu_1", "1"),
            Message::user("and now?"),
        ]);
        assert_eq!(
            Value::Array(turns),
            json!([
                { "role": "user", "content": [{ "type": "text", "text": "go" }] },
                { "role": "assistant", "content": [
                    { "type": "tool_use", "id": "toolu_1", "name": "run",
                      "input": { "body": "(i32.const 1)" } },
                ] },
                { "role": "user", "content": [
                    { "type": "tool_result", "tool_use_id": "toolu_1", "content": "1" },
                    { "type": "text", "text": "and now?" },
                ] },
            ])
        );
    }

    #[test]
    fn error_events_are_the_statuses_anthropic_documents() {
        let overloaded =
            stream_error(&json!({"type": "overloaded_error", "message": "Overloaded"}));
        assert!(
            matches!(&overloaded, ProviderError::Status { status: 529, body } if body.contains("Overloaded")),
            "{overloaded:?}"
        );
        assert!(matches!(
            stream_error(&json!({"type": "rate_limit_error"})),
            ProviderError::RateLimited { .. }
        ));
    }
}
