//! Chat Completions: plain and streamed answers, tool calls both ways, and the request's shape.

use serde_json::{Value, json};
use watsmith_agent::{ApiKey, ChatResponse, OpenAi, Provider, StopReason, TokenUsage, ToolCall};

use super::{Collected, after_a_tool_call, question, run_call, run_tool};
use watsmith_test_support::wire::{End, Reply, Server};

fn client(server: &Server, key: Option<&str>) -> OpenAi {
    let mut options = server.options("/v1");
    options.api_key = key.map(ApiKey::new);
    OpenAi::new(options).expect("a client")
}

fn chunk(delta: Value, finish_reason: Option<&str>) -> String {
    let chunk = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
    });
    format!("data: {chunk}")
}

fn usage_chunk(prompt: u64, completion: u64) -> String {
    let chunk = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": { "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion },
    });
    format!("data: {chunk}")
}

#[tokio::test]
async fn a_plain_answer() {
    let server = Server::start(vec![Reply::Json(
        200,
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "test-model",
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": "6 * 7 is 42." },
                "finish_reason": "stop",
            }],
            "usage": { "prompt_tokens": 21, "completion_tokens": 8, "total_tokens": 29 },
        }),
    )])
    .await;
    let seen = Collected::default();
    let response = client(&server, Some("sk-test"))
        .chat(&question(false), &|d| seen.push(d))
        .await
        .expect("an answer");
    assert_eq!(
        response,
        ChatResponse {
            reasoning: String::new(),
            text: "6 * 7 is 42.".into(),
            tool_calls: vec![],
            usage: TokenUsage::reported(21, 8),
            stop_reason: StopReason::EndTurn,
        }
    );
    assert!(seen.pieces().is_empty(), "no deltas without streaming");

    let request = server.only_request();
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({
            "model": "test-model",
            "messages": [
                { "role": "system", "content": "You write WebAssembly." },
                { "role": "user", "content": "What is 6 * 7?" },
            ],
            "max_tokens": 256,
            "stream": false,
            "temperature": 0.5,
        })
    );
}

#[tokio::test]
async fn a_streamed_answer() {
    let server = Server::start(vec![Reply::sse(
        &[
            chunk(json!({ "role": "assistant", "content": "" }), None),
            chunk(json!({ "content": "6 * 7" }), None),
            chunk(json!({ "content": " is" }), None),
            chunk(json!({ "content": " 42." }), None),
            chunk(json!({}), Some("length")),
            usage_chunk(21, 3),
            "data: [DONE]".into(),
        ],
        End::Complete,
    )])
    .await;
    let seen = Collected::default();
    let response = client(&server, None)
        .chat(&question(true), &|d| seen.push(d))
        .await
        .expect("an answer");
    assert_eq!(seen.pieces(), ["6 * 7", " is", " 42."]);
    assert_eq!(response.text, seen.pieces().concat());
    assert_eq!(response.usage, TokenUsage::reported(21, 3));
    assert_eq!(response.stop_reason, StopReason::MaxTokens);

    let request = server.only_request();
    assert_eq!(request.header("authorization"), None, "no key, no header");
    assert_eq!(request.body["stream"], json!(true));
    assert_eq!(
        request.body["stream_options"],
        json!({ "include_usage": true })
    );
}

#[tokio::test]
async fn a_tool_call() {
    let server = Server::start(vec![Reply::Json(
        200,
        json!({
            "id": "chatcmpl-2",
            "object": "chat.completion",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [{
                        "id": "call_abc",
                        "type": "function",
                        "function": {
                            "name": "run",
                            "arguments": "{\"body\": \"(i32.mul (i32.const 6) (i32.const 7))\"}",
                        },
                    }],
                },
                "finish_reason": "tool_calls",
            }],
            "usage": { "prompt_tokens": 50, "completion_tokens": 20 },
        }),
    )])
    .await;
    let mut request = question(false);
    request.tools = vec![run_tool()];
    let response = client(&server, None)
        .chat(&request, &|_| {})
        .await
        .expect("an answer");
    assert_eq!(response.text, "");
    assert_eq!(response.tool_calls, [run_call("call_abc")]);
    assert_eq!(response.stop_reason, StopReason::ToolUse);

    assert_eq!(
        server.only_request().body["tools"],
        json!([{
            "type": "function",
            "function": {
                "name": "run",
                "description": "Run a WAT-plus body.",
                "parameters": {
                    "type": "object",
                    "properties": { "body": { "type": "string" } },
                    "required": ["body"],
                },
            },
        }])
    );
}

#[tokio::test]
async fn a_streamed_tool_call_joins_argument_pieces_per_index() {
    let call = |index: u64, id: Option<&str>, name: Option<&str>, arguments: &str| {
        let mut function = json!({ "arguments": arguments });
        if let Some(name) = name {
            function["name"] = json!(name);
        }
        let mut call = json!({ "index": index, "function": function });
        if let Some(id) = id {
            call["id"] = json!(id);
            call["type"] = json!("function");
        }
        chunk(json!({ "tool_calls": [call] }), None)
    };
    let server = Server::start(vec![Reply::sse(
        &[
            chunk(
                json!({ "role": "assistant", "content": "Computing." }),
                None,
            ),
            call(0, Some("call_1"), Some("run"), ""),
            call(0, None, None, "{\"body\": \"(i32.mul "),
            call(1, Some("call_2"), Some("run"), "{\"body\":"),
            call(0, None, None, "(i32.const 6) (i32.const 7))\"}"),
            call(1, None, None, " \"(i32.const 1)\"}"),
            chunk(json!({}), Some("tool_calls")),
            usage_chunk(60, 30),
            "data: [DONE]".into(),
        ],
        End::Complete,
    )])
    .await;
    let seen = Collected::default();
    let mut request = question(true);
    request.tools = vec![run_tool()];
    let response = client(&server, None)
        .chat(&request, &|d| seen.push(d))
        .await
        .expect("an answer");
    assert_eq!(seen.pieces(), ["Computing."]);
    assert_eq!(
        response.tool_calls,
        [
            run_call("call_1"),
            ToolCall {
                malformed: None,
                id: "call_2".into(),
                name: "run".into(),
                arguments: json!({ "body": "(i32.const 1)" }),
            },
        ]
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.usage.completion_tokens, 30);
}

#[tokio::test]
async fn tool_calls_and_results_go_back_in_the_api_shape() {
    let server = Server::start(vec![Reply::sse(
        &[
            chunk(json!({ "content": "42" }), Some("stop")),
            "data: [DONE]".into(),
        ],
        End::Complete,
    )])
    .await;
    let response = client(&server, None)
        .chat(&after_a_tool_call("call_abc", true), &|_| {})
        .await
        .expect("an answer");
    assert_eq!(response.text, "42");
    // No usage chunk: both counts are estimated from the text, at about 4 characters a token.
    assert!(response.usage.estimated, "{:?}", response.usage);
    assert_eq!(response.usage.completion_tokens, 1, "`42` is one token");
    assert!(response.usage.prompt_tokens > 5, "{:?}", response.usage);

    let body = server.only_request().body;
    assert_eq!(
        body["messages"],
        json!([
            { "role": "system", "content": "You write WebAssembly." },
            { "role": "user", "content": "What is 6 * 7?" },
            {
                "role": "assistant",
                "content": "I will compute it.",
                "tool_calls": [{
                    "id": "call_abc",
                    "type": "function",
                    "function": {
                        "name": "run",
                        "arguments": "{\"body\":\"(i32.mul (i32.const 6) (i32.const 7))\"}",
                    },
                }],
            },
            { "role": "tool", "tool_call_id": "call_abc", "content": "42" },
        ])
    );
}

#[tokio::test]
async fn a_stream_that_ends_without_a_finish_reason_was_cut() {
    let server = Server::start(vec![Reply::sse(
        &[chunk(json!({ "content": "6 * 7 is" }), None)],
        End::Complete,
    )])
    .await;
    let seen = Collected::default();
    let error = client(&server, None)
        .chat(&question(true), &|d| seen.push(d))
        .await
        .expect_err("a cut answer");
    assert!(
        matches!(&error, watsmith_agent::ProviderError::Transport(m) if m.contains("finish reason")),
        "{error:?}"
    );
    assert_eq!(seen.pieces(), ["6 * 7 is"]);
    assert_eq!(server.received().len(), 1, "not retried after a delta");
}
