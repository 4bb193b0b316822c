//! The fields servers disagree on, read as JSON values and normalised, so that an answer is never
//! lost to a field typed more strictly than some server sends it:
//!
//! - a tool call's arguments: a JSON object (Ollama, some OpenAI-compatible servers), JSON text
//!   holding an object (OpenAI), JSON text holding JSON text holding an object (double-encoding
//!   servers), `null` or empty (no arguments). Anything else is kept as [`Malformed`], with the
//!   text and where it breaks, and the arguments are `{}`: a non-object input is never sent back.
//! - a message's content: a string, `null`, or a list of blocks (`text` and `output_text` parts
//!   joined; `thinking` and `reasoning` parts kept apart as reasoning).
//! - token usage: a server that reports none (llama.cpp's sends zeros) gets an estimate from the
//!   text, marked [`TokenUsage::estimated`], so the agent's token budget still counts.

use serde_json::Value;

use super::{ChatRequest, ChatResponse, Malformed, TokenUsage};

/// Most characters of a malformed argument text kept for the model to see.
const MALFORMED_TEXT_CHARS: usize = 2_000;

/// Characters per token of the estimate: the common rule of thumb for English and code with BPE
/// tokenizers (OpenAI's guidance is "about 4 characters per token").
const CHARS_PER_TOKEN: usize = 4;

/// The arguments of a tool call as the server sent them: an object, or why they are not one.
pub(crate) fn arguments(value: Value) -> Result<serde_json::Map<String, Value>, Malformed> {
    match value {
        Value::Null => Ok(serde_json::Map::new()),
        Value::Object(object) => Ok(object),
        Value::String(text) => arguments_text(&text, 2),
        other => Err(Malformed {
            text: cut(&other.to_string()),
            error: format!("the arguments are {}, not a JSON object", kind(&other)),
        }),
    }
}

/// Arguments sent as JSON text, decoded at most `depth` times (a string that decodes to a string
/// is decoded again).
fn arguments_text(text: &str, depth: u32) -> Result<serde_json::Map<String, Value>, Malformed> {
    if text.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(Value::Null) => Ok(serde_json::Map::new()),
        Ok(Value::String(inner)) if depth > 1 => arguments_text(&inner, depth - 1),
        Ok(other) => Err(Malformed {
            text: cut(text),
            error: format!("the arguments are {}, not a JSON object", kind(&other)),
        }),
        Err(error) => Err(Malformed {
            text: cut(text),
            error: json_error(text, &error),
        }),
    }
}

/// Where and why `text` is not JSON, with the text around the place.
fn json_error(text: &str, error: &serde_json::Error) -> String {
    if error.is_eof() {
        return format!(
            "the JSON ends early, after {} characters (`…{}`)",
            text.chars().count(),
            tail(text, 40)
        );
    }
    let offset = byte_offset(text, error.line(), error.column());
    let before = tail(&text[..offset], 30);
    let after: String = text[offset..].chars().take(10).collect();
    format!(
        "{error} at `{after}` (after `{before}`)",
        error = strip_position(&error.to_string())
    )
}

/// The byte offset of a 1-based line and column (serde_json counts columns in bytes; a column
/// of 0 is the line's end).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// serde_json's message without its " at line L column C", which the excerpt replaces.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

/// The last `chars` characters of `text`.
fn tail(text: &str, chars: usize) -> &str {
    let count = text.chars().count();
    let skip = count.saturating_sub(chars);
    text.char_indices()
        .nth(skip)
        .map_or("", |(at, _)| &text[at..])
}

/// `text`, cut to [`MALFORMED_TEXT_CHARS`] characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MALFORMED_TEXT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A JSON value's kind, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The text and the reasoning of a message's `content`: a string, `null`, or a list of blocks.
pub(crate) fn content(value: Option<&Value>) -> (String, String) {
    let mut text = String::new();
    let mut reasoning = String::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::String(piece)) => text.push_str(piece),
        Some(Value::Array(blocks)) => {
            for block in blocks {
                match block {
                    Value::String(piece) => text.push_str(piece),
                    Value::Object(fields) => {
                        let field = |name: &str| fields.get(name).and_then(Value::as_str);
                        match field("type") {
                            Some("thinking" | "reasoning" | "reasoning_text") => reasoning
                                .push_str(
                                    field("thinking")
                                        .or_else(|| field("reasoning"))
                                        .or_else(|| field("text"))
                                        .unwrap_or_default(),
                                ),
                            Some("text" | "output_text") | None => {
                                text.push_str(field("text").unwrap_or_default());
                            }
                            // Images, refusals' metadata, redacted thinking: not text.
                            Some(_) => {}
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(other) => text.push_str(&other.to_string()),
    }
    (text, reasoning)
}

/// The id of the call at `position` when the server gave none (or an empty one).
pub(crate) fn call_id(id: Option<String>, position: usize) -> String {
    id.filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| format!("call_{position}"))
}

/// The characters of what `request` sends the model: the system prompt, the messages, their
/// tool calls and the tools.
pub(crate) fn prompt_chars(request: &ChatRequest) -> usize {
    let mut chars = request.system.text().chars().count();
    for message in &request.messages {
        chars += message.content.chars().count();
        for call in &message.tool_calls {
            chars += call.name.len() + call.arguments.to_string().chars().count();
        }
    }
    for tool in &request.tools {
        chars +=
            tool.name.len() + tool.description.chars().count() + tool.parameters.to_string().len();
    }
    chars
}

/// `response`'s usage, with each count the server left at zero estimated from the text of
/// `request` and of the answer, at [`CHARS_PER_TOKEN`].
pub(crate) fn with_estimate(request: &ChatRequest, mut response: ChatResponse) -> ChatResponse {
    let usage = &mut response.usage;
    if usage.prompt_tokens == 0 {
        usage.prompt_tokens = tokens(prompt_chars(request));
        usage.estimated = true;
    }
    if usage.completion_tokens == 0 {
        let mut chars = response.text.chars().count() + response.reasoning.chars().count();
        for call in &response.tool_calls {
            chars += call.name.len() + call.arguments.to_string().chars().count();
            chars += call
                .malformed
                .as_ref()
                .map_or(0, |m| m.text.chars().count());
        }
        if chars > 0 {
            usage.completion_tokens = tokens(chars);
            usage.estimated = true;
        }
    }
    response
}

/// Tokens of `chars` characters, rounded up.
fn tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(CHARS_PER_TOKEN)).unwrap_or(u64::MAX)
}

impl TokenUsage {
    /// Counts as the provider reported them.
    pub fn reported(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            estimated: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> serde_json::Map<String, Value> {
        match value {
            Value::Object(object) => object,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn arguments_are_objects_however_they_are_encoded() {
        let expected = object(json!({"body": "(nop)"}));
        for sent in [
            json!({"body": "(nop)"}),
            json!(r#"{"body": "(nop)"}"#),
            json!(r#""{\"body\": \"(nop)\"}""#),
        ] {
            assert_eq!(arguments(sent.clone()), Ok(expected.clone()), "{sent}");
        }
        for empty in [json!(null), json!(""), json!("  "), json!("null")] {
            assert_eq!(arguments(empty), Ok(serde_json::Map::new()));
        }
    }

    #[test]
    fn broken_arguments_say_where_they_break() {
        let cut = arguments(json!(r#"{"body": "(local $n i64)\n(argv 0"#)).expect_err("cut");
        assert!(cut.error.contains("ends early"), "{}", cut.error);
        assert!(cut.error.contains("(argv 0"), "{}", cut.error);
        let broken = arguments(json!(r#"{"body": "(nop)", args: [1]}"#)).expect_err("broken");
        assert!(
            broken.error.contains("key must be a string"),
            "{}",
            broken.error
        );
        assert!(
            broken.error.contains("at `args: [1]}` (after `"),
            "{}",
            broken.error
        );
        for (sent, what) in [
            (json!([1]), "an array"),
            (json!("[1]"), "an array"),
            (json!(7), "a number"),
            (
                json!(
                    serde_json::to_string(&serde_json::to_string("x").expect("a string"))
                        .expect("a string")
                ),
                "a string",
            ),
        ] {
            let error = arguments(sent).expect_err(what).error;
            assert!(error.contains(what), "{error}");
        }
    }

    #[test]
    fn content_blocks_are_joined_and_thinking_kept_apart() {
        let blocks = json!([
            {"type": "thinking", "thinking": "Primes: sieve."},
            {"type": "text", "text": "Here "},
            "is ",
            {"type": "image_url", "image_url": {"url": "x"}},
            {"type": "output_text", "text": "the body."},
        ]);
        assert_eq!(
            content(Some(&blocks)),
            ("Here is the body.".to_owned(), "Primes: sieve.".to_owned())
        );
        assert_eq!(content(Some(&json!("plain"))).0, "plain");
        assert_eq!(content(None), (String::new(), String::new()));
    }

    #[test]
    fn missing_ids_are_generated_by_place() {
        assert_eq!(call_id(None, 2), "call_2");
        assert_eq!(call_id(Some(String::new()), 0), "call_0");
        assert_eq!(call_id(Some("call_abc".into()), 0), "call_abc");
    }
}
