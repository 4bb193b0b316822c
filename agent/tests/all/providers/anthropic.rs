//! Messages: plain and streamed answers, tool calls both ways, the request's shape, and `error`
//! events.

use serde_json::{Value, json};
use watsmith_agent::{
    Anthropic, ApiKey, ChatResponse, Provider, ProviderError, StopReason, TokenUsage,
};

use super::{Collected, after_a_tool_call, question, run_call, run_tool};
use watsmith_test_support::wire::{End, Reply, Server};

fn client(server: &Server) -> Anthropic {
    let mut options = server.options("");
    options.api_key = Some(ApiKey::new("sk-ant-test"));
    Anthropic::new(options).expect("a client")
}

/// One server-sent event, named by its data's type as Anthropic sends it.
fn event(data: Value) -> String {
    let name = data["type"].as_str().expect("a typed event").to_owned();
    format!("event: {name}\ndata: {data}")
}

fn message_start(input_tokens: u64) -> String {
    event(json!({
        "type": "message_start",
        "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "model": "test-model", "stop_reason": null, "stop_sequence": null,
            "usage": { "input_tokens": input_tokens, "output_tokens": 1 },
        },
    }))
}

fn text_start(index: u64) -> String {
    event(json!({
        "type": "content_block_start",
        "index": index,
        "content_block": { "type": "text", "text": "" },
    }))
}

fn text_delta(index: u64, text: &str) -> String {
    event(json!({
        "type": "content_block_delta",
        "index": index,
        "delta": { "type": "text_delta", "text": text },
    }))
}

fn block_stop(index: u64) -> String {
    event(json!({ "type": "content_block_stop", "index": index }))
}

fn message_end(stop_reason: &str, output_tokens: u64) -> [String; 2] {
    [
        event(json!({
            "type": "message_delta",
            "delta": { "stop_reason": stop_reason, "stop_sequence": null },
            "usage": { "output_tokens": output_tokens },
        })),
        event(json!({ "type": "message_stop" })),
    ]
}

fn overloaded() -> String {
    event(json!({
        "type": "error",
        "error": { "type": "overloaded_error", "message": "Overloaded" },
    }))
}

#[tokio::test]
async fn a_plain_answer() {
    let server = Server::start(vec![Reply::Json(
        200,
        json!({
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "test-model",
            "content": [{ "type": "text", "text": "6 * 7 is 42." }],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {
                "input_tokens": 20,
                "cache_read_input_tokens": 4,
                "output_tokens": 7,
            },
        }),
    )])
    .await;
    let response = client(&server)
        .chat(&question(false), &|_| {})
        .await
        .expect("an answer");
    assert_eq!(
        response,
        ChatResponse {
            reasoning: String::new(),
            text: "6 * 7 is 42.".into(),
            tool_calls: vec![],
            usage: TokenUsage::reported(24, 7),
            stop_reason: StopReason::EndTurn,
        }
    );

    let request = server.only_request();
    assert_eq!(request.path, "/v1/messages");
    assert_eq!(request.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(
        request.body,
        json!({
            "model": "test-model",
            "max_tokens": 256,
            "messages": [
                { "role": "user", "content": [{ "type": "text", "text": "What is 6 * 7?" }] },
            ],
            "stream": false,
            "system": "You write WebAssembly.",
            "temperature": 0.5,
        })
    );
}

#[tokio::test]
async fn a_streamed_answer() {
    let [delta, stop] = message_end("max_tokens", 9);
    let server = Server::start(vec![Reply::sse(
        &[
            message_start(20),
            text_start(0),
            event(json!({ "type": "ping" })),
            text_delta(0, "6 * 7"),
            text_delta(0, " is"),
            text_delta(0, " 42."),
            block_stop(0),
            delta,
            stop,
        ],
        End::Complete,
    )])
    .await;
    let seen = Collected::default();
    let response = client(&server)
        .chat(&question(true), &|d| seen.push(d))
        .await
        .expect("an answer");
    assert_eq!(seen.pieces(), ["6 * 7", " is", " 42."]);
    assert_eq!(response.text, seen.pieces().concat());
    assert_eq!(response.usage, TokenUsage::reported(20, 9));
    assert_eq!(response.stop_reason, StopReason::MaxTokens);
    assert_eq!(server.only_request().body["stream"], json!(true));
}

#[tokio::test]
async fn a_tool_call() {
    let server = Server::start(vec![Reply::Json(
        200,
        json!({
            "id": "msg_2",
            "type": "message",
            "role": "assistant",
            "content": [
                { "type": "text", "text": "I will compute it." },
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "run",
                    "input": { "body": "(i32.mul (i32.const 6) (i32.const 7))" },
                },
            ],
            "stop_reason": "tool_use",
            "usage": { "input_tokens": 80, "output_tokens": 30 },
        }),
    )])
    .await;
    let mut request = question(false);
    request.tools = vec![run_tool()];
    let response = client(&server)
        .chat(&request, &|_| {})
        .await
        .expect("an answer");
    assert_eq!(response.text, "I will compute it.");
    assert_eq!(response.tool_calls, [run_call("toolu_1")]);
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        server.only_request().body["tools"],
        json!([{
            "name": "run",
            "description": "Run a WAT-plus body.",
            "input_schema": {
                "type": "object",
                "properties": { "body": { "type": "string" } },
                "required": ["body"],
            },
        }])
    );
}

#[tokio::test]
async fn a_streamed_tool_call_joins_its_input_pieces() {
    let json_delta = |partial: &str| {
        event(json!({
            "type": "content_block_delta",
            "index": 1,
            "delta": { "type": "input_json_delta", "partial_json": partial },
        }))
    };
    let [delta, stop] = message_end("tool_use", 40);
    let server = Server::start(vec![Reply::sse(
        &[
            message_start(90),
            text_start(0),
            text_delta(0, "I will compute it."),
            block_stop(0),
            event(json!({
                "type": "content_block_start",
                "index": 1,
                "content_block": { "type": "tool_use", "id": "toolu_1", "name": "run", "input": {} },
            })),
            json_delta(""),
            json_delta("{\"body\": \"(i32.mul (i32"),
            json_delta(".const 6) (i32.const 7))\"}"),
            block_stop(1),
            delta,
            stop,
        ],
        End::Complete,
    )])
    .await;
    let seen = Collected::default();
    let mut request = question(true);
    request.tools = vec![run_tool()];
    let response = client(&server)
        .chat(&request, &|d| seen.push(d))
        .await
        .expect("an answer");
    assert_eq!(seen.pieces(), ["I will compute it."]);
    assert_eq!(response.tool_calls, [run_call("toolu_1")]);
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.usage, TokenUsage::reported(90, 40));
}

#[tokio::test]
async fn tool_calls_and_results_go_back_as_content_blocks() {
    let [delta, stop] = message_end("end_turn", 2);
    let server = Server::start(vec![Reply::sse(
        &[
            message_start(120),
            text_start(0),
            text_delta(0, "42"),
            delta,
            stop,
        ],
        End::Complete,
    )])
    .await;
    let response = client(&server)
        .chat(&after_a_tool_call("toolu_1", true), &|_| {})
        .await
        .expect("an answer");
    assert_eq!(response.text, "42");

    let body = server.only_request().body;
    assert_eq!(body["system"], json!("You write WebAssembly."));
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": [{ "type": "text", "text": "What is 6 * 7?" }] },
            { "role": "assistant", "content": [
                { "type": "text", "text": "I will compute it." },
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "run",
                    "input": { "body": "(i32.mul (i32.const 6) (i32.const 7))" },
                },
            ] },
            { "role": "user", "content": [
                { "type": "tool_result", "tool_use_id": "toolu_1", "content": "42" },
            ] },
        ])
    );
}

#[tokio::test]
async fn an_error_event_before_any_text_is_retried() {
    let [delta, stop] = message_end("end_turn", 2);
    let server = Server::start(vec![
        Reply::sse(&[message_start(20), overloaded()], End::Complete),
        Reply::sse(
            &[
                message_start(20),
                text_start(0),
                text_delta(0, "42"),
                delta,
                stop,
            ],
            End::Complete,
        ),
    ])
    .await;
    let response = client(&server)
        .chat(&question(true), &|_| {})
        .await
        .expect("an answer on the second attempt");
    assert_eq!(response.text, "42");
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn an_error_event_after_text_is_final() {
    let server = Server::start(vec![
        Reply::sse(
            &[
                message_start(20),
                text_start(0),
                text_delta(0, "6 * 7"),
                overloaded(),
            ],
            End::Complete,
        ),
        Reply::Json(200, json!({ "not": "asked for" })),
    ])
    .await;
    let seen = Collected::default();
    let error = client(&server)
        .chat(&question(true), &|d| seen.push(d))
        .await
        .expect_err("an error");
    match &error {
        ProviderError::Status { status, body } => {
            assert_eq!(*status, 529);
            assert!(body.contains("Overloaded"), "{body}");
        }
        other => panic!("not an error status: {other:?}"),
    }
    assert_eq!(seen.pieces(), ["6 * 7"]);
    assert_eq!(server.received().len(), 1, "not retried after a delta");
}
