//! Ollama's native chat: plain and streamed (newline-delimited JSON) answers, tool calls both
//! ways, and the request's shape.

use serde_json::{Value, json};
use watsmith_agent::{ChatResponse, Ollama, Provider, ProviderError, StopReason, TokenUsage};

use super::{Collected, after_a_tool_call, question, run_call, run_tool};
use watsmith_test_support::wire::{End, Reply, Server};

fn client(server: &Server) -> Ollama {
    Ollama::new(server.options("")).expect("a client")
}

fn piece(content: &str) -> Value {
    json!({
        "model": "test-model",
        "created_at": "2025-05-27T22:54:57.641643Z",
        "message": { "role": "assistant", "content": content },
        "done": false,
    })
}

fn done(reason: &str, prompt: u64, completion: u64) -> Value {
    json!({
        "model": "test-model",
        "created_at": "2025-05-27T22:54:58.100000Z",
        "message": { "role": "assistant", "content": "" },
        "done": true,
        "done_reason": reason,
        "total_duration": 885095291,
        "prompt_eval_count": prompt,
        "eval_count": completion,
    })
}

fn run_call_wire() -> Value {
    json!({
        "function": {
            "name": "run",
            "arguments": { "body": "(i32.mul (i32.const 6) (i32.const 7))" },
        },
    })
}

#[tokio::test]
async fn a_plain_answer() {
    let mut answer = done("stop", 26, 9);
    answer["message"]["content"] = json!("6 * 7 is 42.");
    let server = Server::start(vec![Reply::Json(200, answer)]).await;
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
            usage: TokenUsage::reported(26, 9),
            stop_reason: StopReason::EndTurn,
        }
    );

    let request = server.only_request();
    assert_eq!(request.path, "/api/chat");
    assert_eq!(request.header("authorization"), None);
    assert_eq!(
        request.body,
        json!({
            "model": "test-model",
            "messages": [
                { "role": "system", "content": "You write WebAssembly." },
                { "role": "user", "content": "What is 6 * 7?" },
            ],
            "stream": false,
            "options": { "num_predict": 256, "temperature": 0.5 },
        })
    );
}

#[tokio::test]
async fn a_streamed_answer() {
    let server = Server::start(vec![Reply::ndjson(
        &[
            piece("6 * 7"),
            piece(" is"),
            piece(" 42."),
            done("length", 26, 3),
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
    assert_eq!(response.usage, TokenUsage::reported(26, 3));
    assert_eq!(response.stop_reason, StopReason::MaxTokens);
    assert_eq!(server.only_request().body["stream"], json!(true));
}

#[tokio::test]
async fn a_tool_call() {
    let mut answer = done("stop", 122, 33);
    answer["message"]["tool_calls"] = json!([run_call_wire()]);
    let server = Server::start(vec![Reply::Json(200, answer)]).await;
    let mut request = question(false);
    request.tools = vec![run_tool()];
    let response = client(&server)
        .chat(&request, &|_| {})
        .await
        .expect("an answer");
    assert_eq!(response.text, "");
    assert_eq!(
        response.tool_calls,
        [run_call("call_0")],
        "named by its place"
    );
    assert_eq!(
        response.stop_reason,
        StopReason::ToolUse,
        "though Ollama says stop"
    );
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
async fn a_streamed_tool_call() {
    let mut call = piece("");
    call["message"]["tool_calls"] = json!([run_call_wire()]);
    let server = Server::start(vec![Reply::ndjson(
        &[piece("I will compute it."), call, done("stop", 122, 33)],
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
    assert_eq!(response.tool_calls, [run_call("call_0")]);
    assert_eq!(response.stop_reason, StopReason::ToolUse);
}

#[tokio::test]
async fn tool_calls_and_results_go_back_with_object_arguments_and_the_tool_name() {
    let server = Server::start(vec![Reply::ndjson(
        &[piece("42"), done("stop", 150, 2)],
        End::Complete,
    )])
    .await;
    let response = client(&server)
        .chat(&after_a_tool_call("call_0", true), &|_| {})
        .await
        .expect("an answer");
    assert_eq!(response.text, "42");
    assert_eq!(response.stop_reason, StopReason::EndTurn);

    let body = server.only_request().body;
    assert_eq!(
        body["messages"],
        json!([
            { "role": "system", "content": "You write WebAssembly." },
            { "role": "user", "content": "What is 6 * 7?" },
            {
                "role": "assistant",
                "content": "I will compute it.",
                "tool_calls": [run_call_wire()],
            },
            { "role": "tool", "content": "42", "tool_name": "run" },
        ])
    );
}

/// What `/api/show` says of a model trained for `context` tokens (the shape of Ollama 0.12's).
fn shown(context: u64) -> Value {
    json!({
        "modelfile": "FROM qwen2.5-coder:7b",
        "parameters": "num_ctx 4096\nstop \"<|im_end|>\"",
        "details": { "family": "qwen2", "parameter_size": "7.6B" },
        "model_info": {
            "general.architecture": "qwen2",
            "qwen2.context_length": context,
            "qwen2.embedding_length": 3584,
        },
        "capabilities": ["completion", "tools"],
    })
}

#[tokio::test]
async fn num_ctx_is_what_the_request_needs_within_the_models_context() {
    let server = Server::start(vec![
        Reply::Json(200, done("stop", 10, 1)),
        Reply::Json(200, done("stop", 10, 1)),
    ])
    .await;
    server.show(shown(32_768));
    let client = client(&server);
    let mut request = question(false);
    request.max_tokens = 4_096;
    // A system prompt of 30,000 characters (a full prompt with every capability is about that).
    request.system = "x".repeat(30_000).into();
    client.chat(&request, &|_| {}).await.expect("an answer");
    client.chat(&request, &|_| {}).await.expect("an answer");
    assert_eq!(server.shows(), 1, "asked once per model");
    let received = server.received();
    // 10,005 tokens of prompt (3 characters a token), 4,096 of answer, 256 of template: 14,357,
    // rounded up to 16,384.
    assert_eq!(received[0].body["options"]["num_ctx"], json!(16_384));
    assert_eq!(received[0].body["options"]["num_predict"], json!(4_096));
}

#[tokio::test]
async fn a_request_past_the_models_context_is_refused_before_it_is_sent() {
    let server = Server::start(vec![Reply::Json(200, done("stop", 10, 1))]).await;
    server.show(shown(8_192));
    let mut request = question(false);
    request.system = "x".repeat(30_000).into();
    let error = client(&server)
        .chat(&request, &|_| {})
        .await
        .expect_err("too long");
    assert!(
        matches!(error, ProviderError::ContextOverflow { context: 8_192, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("8192-token context of `test-model`"),
        "{error}"
    );
    assert!(server.received().is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_server_that_does_not_say_its_context_gets_no_num_ctx() {
    let server = Server::start(vec![Reply::Json(200, done("stop", 10, 1))]).await;
    client(&server)
        .chat(&question(false), &|_| {})
        .await
        .expect("an answer");
    assert_eq!(server.shows(), 1);
    assert!(
        server.only_request().body["options"]
            .get("num_ctx")
            .is_none()
    );
}

#[tokio::test]
async fn a_modelfile_num_ctx_is_the_context_when_the_model_info_does_not_say() {
    let server = Server::start(vec![Reply::Json(200, done("stop", 10, 1))]).await;
    server.show(json!({ "parameters": "stop \"<|im_end|>\"\nnum_ctx 8192" }));
    let mut request = question(false);
    request.system = "x".repeat(30_000).into();
    let error = client(&server)
        .chat(&request, &|_| {})
        .await
        .expect_err("too long for 8,192 tokens");
    assert!(
        matches!(error, ProviderError::ContextOverflow { context: 8_192, .. }),
        "{error:?}"
    );
}
