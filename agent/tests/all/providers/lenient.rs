//! Answers as real servers send them, byte for byte, that a client typed too strictly would lose:
//! arguments as objects or double-encoded text, content as blocks, thinking, missing ids,
//! repeated ids and names in deltas, streams that end without a finish reason or a blank line,
//! a plain JSON body to a streamed request, broken and cut tool input, missing usage, and
//! answers past the size caps.

use serde_json::json;
use watsmith_agent::{
    Anthropic, ApiKey, ChatRequest, Ollama, OpenAi, Provider, ProviderError, StopReason, ToolCall,
};

use super::{Collected, question, run_tool};
use watsmith_test_support::wire::{End, Reply, Server};

fn openai(server: &Server) -> OpenAi {
    OpenAi::new(server.options("/v1")).expect("a client")
}

fn anthropic(server: &Server) -> Anthropic {
    let mut options = server.options("");
    options.api_key = Some(ApiKey::new("sk-ant-test"));
    Anthropic::new(options).expect("a client")
}

fn ollama(server: &Server) -> Ollama {
    Ollama::new(server.options("")).expect("a client")
}

/// A body of exactly these bytes, sent in these pieces.
fn raw(content_type: &'static str, pieces: &[&str], end: End) -> Reply {
    Reply::Stream {
        content_type,
        pieces: pieces.iter().map(|&piece| piece.to_owned()).collect(),
        end,
    }
}

fn with_tools(stream: bool) -> ChatRequest {
    ChatRequest {
        tools: vec![run_tool()],
        ..question(stream)
    }
}

async fn ask(provider: &dyn Provider, request: &ChatRequest) -> watsmith_agent::ChatResponse {
    provider
        .chat(request, &|_| {})
        .await
        .expect("the answer is read")
}

fn body_call(id: &str, body: &str) -> ToolCall {
    ToolCall::new(id, "run", json!({ "body": body }))
}

#[tokio::test]
async fn openai_arguments_content_blocks_and_ids_are_read_as_json_values() {
    // llama.cpp, vLLM and proxies send arguments as an object, some double-encode them, some
    // leave the id out; content comes as a list of text and thinking blocks.
    let server = Server::start(vec![Reply::Json(
        200,
        json!({
            "choices": [{
                "message": {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "6 * 7, in WAT."},
                        {"type": "text", "text": "Running "},
                        {"type": "text", "text": "it."},
                    ],
                    "reasoning_content": "First, ",
                    "tool_calls": [
                        {"type": "function", "function": {"name": "run", "arguments": {"body": "(nop)"}}},
                        {"id": "call_b", "type": "function",
                         "function": {"name": "run", "arguments": "\"{\\\"body\\\": \\\"(unreachable)\\\"}\""}},
                    ],
                },
                "finish_reason": "tool_calls",
            }],
            "usage": {"prompt_tokens": 30, "completion_tokens": 12},
        }),
    )])
    .await;
    let response = ask(&openai(&server), &with_tools(false)).await;
    assert_eq!(response.text, "Running it.");
    assert_eq!(response.reasoning, "First, 6 * 7, in WAT.");
    assert_eq!(
        response.tool_calls,
        [
            body_call("call_0", "(nop)"),
            body_call("call_b", "(unreachable)")
        ]
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert!(!response.usage.estimated);
}

#[tokio::test]
async fn openai_deltas_that_repeat_the_id_and_name_make_one_call_and_a_new_id_a_new_call() {
    let delta = |id: &str, arguments: &str| {
        format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{
                "index": 0, "id": id, "type": "function",
                "function": {"name": "run", "arguments": arguments},
            }]}, "finish_reason": null}]})
        )
    };
    let pieces = [
        delta("call_1", "{\"body\": "),
        delta("call_1", "\"(nop)\"}"),
        delta("call_2", "{\"body\": \"(unreachable)\"}"),
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
            .into(),
        "data: [DONE]\n\n".into(),
    ];
    let server = Server::start(vec![Reply::Stream {
        content_type: "text/event-stream",
        pieces: pieces.to_vec(),
        end: End::Complete,
    }])
    .await;
    let response = ask(&openai(&server), &with_tools(true)).await;
    assert_eq!(
        response.tool_calls,
        [
            body_call("call_1", "(nop)"),
            body_call("call_2", "(unreachable)")
        ]
    );
}

#[tokio::test]
async fn openai_done_without_a_finish_reason_and_a_last_event_without_a_blank_line_are_whole() {
    let server = Server::start(vec![
        // `[DONE]`, and no chunk ever said why it stopped.
        raw(
            "text/event-stream",
            &[
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"42\"}}]}\n\n",
                "data: [DONE]\n\n",
            ],
            End::Complete,
        ),
        // The finish reason in the last event, and the connection closed with no blank line
        // after it (and CRLF line ends).
        raw(
            "text/event-stream",
            &[
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"4\"}}]}\r\n\r\n",
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"2\"},\"finish_reason\":\"stop\"}]}",
            ],
            End::Complete,
        ),
        // Neither: cut.
        raw(
            "text/event-stream",
            &["data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"4\"}}]}\n\n"],
            End::Complete,
        ),
    ])
    .await;
    let client = openai(&server);
    for _ in 0..2 {
        let seen = Collected::default();
        let response = client
            .chat(&question(true), &|d| seen.push(d))
            .await
            .expect("a whole answer");
        assert_eq!(response.text, "42");
        assert_eq!(seen.pieces().concat(), "42");
        assert_eq!(response.stop_reason, StopReason::EndTurn);
    }
    let cut = client
        .chat(&question(true), &|_| {})
        .await
        .expect_err("cut");
    assert!(
        matches!(&cut, ProviderError::Transport(m) if m.contains("before a finish reason")),
        "{cut:?}"
    );
}

#[tokio::test]
async fn a_streamed_request_answered_with_one_json_body_is_read_as_that_body() {
    let server = Server::start(vec![
        Reply::Json(
            200,
            json!({"choices": [{"message": {"role": "assistant", "content": "42"}, "finish_reason": "stop"}]}),
        ),
        Reply::Json(
            200,
            json!({"type": "message", "role": "assistant",
                   "content": [{"type": "text", "text": "42"}],
                   "stop_reason": "end_turn", "usage": {"input_tokens": 9, "output_tokens": 1}}),
        ),
        Reply::Json(
            200,
            json!({"message": {"role": "assistant", "content": "42"}, "done": true,
                   "done_reason": "stop", "prompt_eval_count": 9, "eval_count": 1}),
        ),
    ])
    .await;
    let clients: [Box<dyn Provider>; 3] = [
        Box::new(openai(&server)),
        Box::new(anthropic(&server)),
        Box::new(ollama(&server)),
    ];
    for client in &clients {
        let response = ask(client.as_ref(), &question(true)).await;
        assert_eq!(response.text, "42", "{}", client.name());
        assert_eq!(response.stop_reason, StopReason::EndTurn);
    }
}

#[tokio::test]
async fn broken_and_non_object_arguments_are_kept_as_malformed_never_sent_back() {
    let server = Server::start(vec![Reply::Json(
        200,
        json!({"choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "function": {"name": "run", "arguments": "{\"body\": \"(nop)\", args: [1]}"}},
            {"id": "call_2", "function": {"name": "run", "arguments": "[1, 2]"}},
        ]}, "finish_reason": "tool_calls"}]}),
    )])
    .await;
    let response = ask(&openai(&server), &with_tools(false)).await;
    let [broken, array] = &response.tool_calls[..] else {
        panic!("two calls: {:?}", response.tool_calls)
    };
    assert_eq!(broken.arguments, json!({}), "never a non-object");
    let malformed = broken.malformed.as_ref().expect("malformed");
    assert_eq!(malformed.text, "{\"body\": \"(nop)\", args: [1]}");
    assert!(
        malformed
            .error
            .contains("key must be a string at `args: [1]}`"),
        "{}",
        malformed.error
    );
    let malformed = array.malformed.as_ref().expect("malformed");
    assert!(malformed.error.contains("an array"), "{}", malformed.error);
}

#[tokio::test]
async fn anthropic_input_whole_at_block_start_thinking_and_a_last_event_without_a_blank_line() {
    let event = |data: serde_json::Value| {
        format!(
            "event: {}\ndata: {data}\n\n",
            data["type"].as_str().expect("typed")
        )
    };
    let pieces = vec![
        event(
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 40, "output_tokens": 1}}}),
        ),
        event(json!({"type": "content_block_start", "index": 0,
                     "content_block": {"type": "thinking", "thinking": ""}})),
        event(json!({"type": "content_block_delta", "index": 0,
                     "delta": {"type": "thinking_delta", "thinking": "Use run."}})),
        event(json!({"type": "content_block_delta", "index": 0,
                     "delta": {"type": "signature_delta", "signature": "EqQB"}})),
        // The whole input in the block's start, no `input_json_delta`, and no id.
        event(json!({"type": "content_block_start", "index": 1,
                     "content_block": {"type": "tool_use", "name": "run", "input": {"body": "(nop)"}}})),
        event(json!({"type": "content_block_stop", "index": 1})),
        event(
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                     "usage": {"output_tokens": 20}}),
        ),
        // The last event, and the connection closes with no blank line after it.
        "event: message_stop\ndata: {\"type\":\"message_stop\"}".to_owned(),
    ];
    let server = Server::start(vec![Reply::Stream {
        content_type: "text/event-stream",
        pieces,
        end: End::Complete,
    }])
    .await;
    let response = ask(&anthropic(&server), &with_tools(true)).await;
    assert_eq!(response.reasoning, "Use run.");
    assert_eq!(response.tool_calls, [body_call("call_0", "(nop)")]);
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.usage.total(), 60);
}

#[tokio::test]
async fn anthropic_tool_input_cut_at_max_tokens_is_malformed_and_goes_back_as_an_object() {
    let event = |data: serde_json::Value| {
        format!(
            "event: {}\ndata: {data}\n\n",
            data["type"].as_str().expect("typed")
        )
    };
    let pieces = vec![
        event(
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 40, "output_tokens": 1}}}),
        ),
        event(json!({"type": "content_block_start", "index": 0,
                     "content_block": {"type": "tool_use", "id": "toolu_1", "name": "run", "input": {}}})),
        event(json!({"type": "content_block_delta", "index": 0,
                     "delta": {"type": "input_json_delta", "partial_json": "{\"body\": \"(local $n i64)\\n(argv 0"}})),
        event(
            json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                     "usage": {"output_tokens": 256}}),
        ),
        event(json!({"type": "message_stop"})),
    ];
    let server = Server::start(vec![
        Reply::Stream {
            content_type: "text/event-stream",
            pieces,
            end: End::Complete,
        },
        Reply::Json(
            200,
            json!({"content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                   "usage": {"input_tokens": 50, "output_tokens": 1}}),
        ),
    ])
    .await;
    let client = anthropic(&server);
    let response = ask(&client, &with_tools(true)).await;
    assert_eq!(response.stop_reason, StopReason::MaxTokens);
    let call = &response.tool_calls[0];
    let malformed = call.malformed.as_ref().expect("cut input");
    assert!(
        malformed.error.contains("ends early"),
        "{}",
        malformed.error
    );

    // Sent back, the call's input is an object (the API refuses anything else).
    let mut next = with_tools(false);
    next.messages.push(watsmith_agent::Message::assistant(
        "",
        response.tool_calls.clone(),
    ));
    next.messages
        .push(watsmith_agent::Message::tool("toolu_1", "cut"));
    ask(&client, &next).await;
    let sent = &server.received()[1].body;
    assert_eq!(sent["messages"][1]["content"][0]["input"], json!({}));
}

#[tokio::test]
async fn ollama_arguments_as_text_thinking_and_missing_usage_are_read() {
    let server = Server::start(vec![Reply::ndjson(
        &[
            json!({"message": {"role": "assistant", "content": "", "thinking": "Call run."}, "done": false}),
            json!({"message": {"role": "assistant", "content": "",
                   "tool_calls": [{"function": {"name": "run", "arguments": "{\"body\": \"(nop)\"}"}}]},
                   "done": false}),
            json!({"message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop"}),
        ],
        End::Complete,
    )])
    .await;
    let response = ask(&ollama(&server), &with_tools(true)).await;
    assert_eq!(response.reasoning, "Call run.");
    assert_eq!(response.tool_calls, [body_call("call_0", "(nop)")]);
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert!(response.usage.estimated, "{:?}", response.usage);
    assert!(response.usage.prompt_tokens > 0 && response.usage.completion_tokens > 0);
}

#[tokio::test]
async fn streamed_answers_are_capped_in_total_and_per_line() {
    // 17 MiB of text in 1 KiB deltas: past the 16 MiB cap of every answer.
    let delta = format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {"content": "x".repeat(1024)}}]})
    );
    let many = vec![delta; 17 * 1024];
    // One line of 2 MiB: past the 1 MiB cap of a line.
    let long = vec![format!("data: {}", "y".repeat(2 << 20))];
    let server = Server::start(vec![
        Reply::Stream {
            content_type: "text/event-stream",
            pieces: many,
            end: End::Complete,
        },
        Reply::Stream {
            content_type: "text/event-stream",
            pieces: long,
            end: End::Complete,
        },
    ])
    .await;
    let client = openai(&server);
    let large = client
        .chat(&question(true), &|_| {})
        .await
        .expect_err("too large");
    assert!(
        matches!(&large, ProviderError::Decode(m) if m.contains("larger than 16777216 bytes")),
        "{large:?}"
    );
    let long = client
        .chat(&question(true), &|_| {})
        .await
        .expect_err("too long");
    assert!(
        matches!(&long, ProviderError::Decode(m) if m.contains("longer than 1048576 bytes")),
        "{long:?}"
    );
}
