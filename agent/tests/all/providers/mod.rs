//! The provider clients against scripted servers on 127.0.0.1 that speak each API's wire format,
//! streaming included: one module per provider, one for failures and retries, one for secrets,
//! and the agent's whole loop through each client.

mod agent_loop;
mod anthropic;
mod failures;
mod lenient;
mod ollama;
mod openai;
mod secrets;

use std::sync::Mutex;

use serde_json::json;
use watsmith_agent::{ChatRequest, Message, ToolCall, ToolSpec};

/// The text deltas a chat handed on, in order.
#[derive(Debug, Default)]
struct Collected(Mutex<Vec<String>>);

impl Collected {
    fn push(&self, delta: &str) {
        self.0.lock().expect("deltas").push(delta.to_owned());
    }

    fn pieces(&self) -> Vec<String> {
        self.0.lock().expect("deltas").clone()
    }
}

/// A question with a system prompt.
fn question(stream: bool) -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        system: "You write WebAssembly.".into(),
        messages: vec![Message::user("What is 6 * 7?")],
        tools: Vec::new(),
        max_tokens: 256,
        temperature: Some(0.5),
        stream,
    }
}

/// The `run` tool the tool tests offer.
fn run_tool() -> ToolSpec {
    ToolSpec {
        name: "run".into(),
        description: "Run a WAT-plus body.".into(),
        parameters: json!({
            "type": "object",
            "properties": { "body": { "type": "string" } },
            "required": ["body"],
        }),
    }
}

/// A call of the `run` tool.
fn run_call(id: &str) -> ToolCall {
    ToolCall {
        malformed: None,
        id: id.into(),
        name: "run".into(),
        arguments: json!({ "body": "(i32.mul (i32.const 6) (i32.const 7))" }),
    }
}

/// A conversation in which the model called `run` and got its result: the shape every API must
/// send back.
fn after_a_tool_call(id: &str, stream: bool) -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message::user("What is 6 * 7?"),
            Message::assistant("I will compute it.", vec![run_call(id)]),
            Message::tool(id, "42"),
        ],
        tools: vec![run_tool()],
        ..question(stream)
    }
}
