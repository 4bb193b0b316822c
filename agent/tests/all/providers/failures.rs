//! What goes wrong: rate limits and `Retry-After`, server errors retried until the retries are
//! spent, client errors and undecodable answers not retried, cut and stalled streams, timeouts,
//! refused connections and cancellation. Delays are only ever checked from below.

use std::time::{Duration, Instant};

use serde_json::json;
use watsmith_agent::defaults::MAX_ERROR_BODY_CHARS;
use watsmith_agent::{
    Anthropic, ClientOptions, Ollama, OpenAi, Provider, ProviderError, StopReason,
};

use super::{Collected, question};
use watsmith_test_support::wire::{End, Reply, Server, quick_retries};

fn openai(options: ClientOptions) -> OpenAi {
    OpenAi::new(options).expect("a client")
}

/// A plain OpenAI answer saying `text`.
fn openai_answer(text: &str) -> Reply {
    Reply::Json(
        200,
        json!({
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": text },
                "finish_reason": "stop",
            }],
            "usage": { "prompt_tokens": 10, "completion_tokens": 2 },
        }),
    )
}

/// An OpenAI stream chunk carrying `content`.
fn openai_chunk(content: &str) -> String {
    let chunk = json!({ "choices": [{ "index": 0, "delta": { "content": content }, "finish_reason": null }] });
    format!("data: {chunk}")
}

#[tokio::test]
async fn a_429_waits_what_retry_after_asks_then_succeeds() {
    let server = Server::start(vec![
        Reply::status(
            429,
            &[("retry-after", "1")],
            r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#,
        ),
        openai_answer("42"),
    ])
    .await;
    // The backoff alone would wait a few milliseconds: only `Retry-After` makes it a second.
    let started = Instant::now();
    let response = openai(server.options("/v1"))
        .chat(&question(false), &|_| {})
        .await
        .expect("an answer after the wait");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(response.text, "42");
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_429_after_the_retries_is_rate_limited_with_its_wait_and_body() {
    let limited = || Reply::status(429, &[("retry-after-ms", "5")], "slow down");
    let server = Server::start(vec![limited(), limited(), openai_answer("late")]).await;
    let mut options = server.options("/v1");
    options.retry = quick_retries(1);
    let error = openai(options)
        .chat(&question(false), &|_| {})
        .await
        .expect_err("rate limited");
    assert_eq!(
        error,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_millis(5)),
            body: "slow down".into(),
        }
    );
    assert_eq!(server.received().len(), 2, "one attempt and one retry");
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_waited_for() {
    let server = Server::start(vec![
        Reply::status(
            429,
            &[("retry-after", "3600")],
            r#"{"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}}"#,
        ),
        openai_answer("never asked"),
    ])
    .await;
    let error = openai(server.options("/v1"))
        .chat(&question(false), &|_| {})
        .await
        .expect_err("rate limited");
    match &error {
        ProviderError::RateLimited { retry_after, body } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
            assert!(body.contains("insufficient_quota"), "{body}");
        }
        other => panic!("not rate limited: {other:?}"),
    }
    assert!(error.to_string().contains("3600s"), "{error}");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_until_the_retries_are_spent() {
    let server = Server::start(vec![
        Reply::status(503, &[], "busy 1"),
        Reply::status(502, &[], "busy 2"),
        Reply::status(
            500,
            &[],
            r#"{"type":"error","error":{"type":"api_error","message":"busy 3"}}"#,
        ),
        Reply::Json(200, json!({ "not": "asked for" })),
    ])
    .await;
    let mut options = server.options("");
    options.retry = quick_retries(2);
    options.api_key = Some(watsmith_agent::ApiKey::new("sk-ant-test"));
    let error = Anthropic::new(options)
        .expect("a client")
        .chat(&question(false), &|_| {})
        .await
        .expect_err("no answer");
    assert_eq!(
        error,
        ProviderError::Status {
            status: 500,
            body: r#"{"type":"error","error":{"type":"api_error","message":"busy 3"}}"#.into(),
        }
    );
    assert_eq!(server.received().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn an_error_body_is_kept_truncated() {
    let server = Server::start(vec![Reply::status(500, &[], &"x".repeat(10_000))]).await;
    let mut options = server.options("/v1");
    options.retry = quick_retries(0);
    let error = openai(options)
        .chat(&question(false), &|_| {})
        .await
        .expect_err("an error status");
    let ProviderError::Status { status, body } = error else {
        panic!("not an error status: {error:?}");
    };
    assert_eq!(status, 500);
    assert_eq!(body, format!("{}…", "x".repeat(MAX_ERROR_BODY_CHARS)));
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = Server::start(vec![
        Reply::status(400, &[], r#"{"error":"model \"test-model\" not found"}"#),
        Reply::Json(200, json!({ "not": "asked for" })),
    ])
    .await;
    let error = Ollama::new(server.options(""))
        .expect("a client")
        .chat(&question(false), &|_| {})
        .await
        .expect_err("a client error");
    assert_eq!(
        error,
        ProviderError::Status {
            status: 400,
            body: r#"{"error":"model \"test-model\" not found"}"#.into(),
        }
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn an_undecodable_answer_is_not_retried() {
    let server = Server::start(vec![
        Reply::status(200, &[], "<html>a captive portal</html>"),
        openai_answer("never asked"),
    ])
    .await;
    let error = openai(server.options("/v1"))
        .chat(&question(false), &|_| {})
        .await
        .expect_err("not the API's format");
    assert!(
        matches!(&error, ProviderError::Decode(m) if m.contains("captive portal")),
        "{error:?}"
    );
    assert_eq!(server.received().len(), 1);
}

/// The three APIs, for the tests that run against each.
#[derive(Debug, Clone, Copy)]
enum Api {
    OpenAi,
    Anthropic,
    Ollama,
}

impl Api {
    const ALL: [Self; 3] = [Self::OpenAi, Self::Anthropic, Self::Ollama];

    /// A client of this API at `server`.
    fn client(self, server: &Server) -> Box<dyn Provider> {
        match self {
            Self::OpenAi => Box::new(openai(server.options("/v1"))),
            Self::Anthropic => {
                let mut options = server.options("");
                options.api_key = Some(watsmith_agent::ApiKey::new("sk-ant-test"));
                Box::new(Anthropic::new(options).expect("a client"))
            }
            Self::Ollama => Box::new(Ollama::new(server.options("")).expect("a client")),
        }
    }

    /// A streamed answer whose connection is cut after its first piece of text, `6 * 7`.
    fn cut_stream(self) -> Reply {
        match self {
            Self::OpenAi => Reply::sse(&[openai_chunk("6 * 7")], End::Cut),
            Self::Anthropic => Reply::sse(
                &[
                    r#"event: message_start
data: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}"#
                        .into(),
                    r#"event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"6 * 7"}}"#
                        .into(),
                ],
                End::Cut,
            ),
            Self::Ollama => Reply::ndjson(
                &[json!({ "message": { "role": "assistant", "content": "6 * 7" }, "done": false })],
                End::Cut,
            ),
        }
    }
}

#[tokio::test]
async fn a_cut_stream_is_a_transport_error_not_a_partial_answer() {
    for api in Api::ALL {
        // The second reply would be an answer, if a retry asked for it.
        let server = Server::start(vec![api.cut_stream(), openai_answer("never asked")]).await;
        let seen = Collected::default();
        let error = api
            .client(&server)
            .chat(&question(true), &|d| seen.push(d))
            .await
            .expect_err("a cut answer");
        // The connection's failure, not the check that a stream ended with its end marker.
        assert!(
            matches!(&error, ProviderError::Transport(m)
                if m.starts_with("the answer was cut") && !m.contains("ended before")),
            "{api:?}: {error:?}"
        );
        assert_eq!(seen.pieces(), ["6 * 7"], "{api:?}");
        assert_eq!(server.received().len(), 1, "{api:?}: not retried");
    }
}

#[tokio::test]
async fn a_stream_cut_before_any_text_is_retried() {
    let role_only =
        json!({ "choices": [{ "index": 0, "delta": { "role": "assistant", "content": "" } }] });
    let server = Server::start(vec![
        Reply::sse(&[format!("data: {role_only}")], End::Cut),
        Reply::sse(
            &[
                openai_chunk("42"),
                r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#.into(),
                "data: [DONE]".into(),
            ],
            End::Complete,
        ),
    ])
    .await;
    let seen = Collected::default();
    let response = openai(server.options("/v1"))
        .chat(&question(true), &|d| seen.push(d))
        .await
        .expect("an answer on the second attempt");
    assert_eq!(seen.pieces(), ["42"]);
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let mut options = ClientOptions::new(format!("http://{address}/v1"));
    options.retry = quick_retries(2);
    let error = openai(options)
        .chat(&question(false), &|_| {})
        .await
        .expect_err("nobody listens");
    assert!(matches!(error, ProviderError::Transport(_)), "{error:?}");
}

#[tokio::test]
async fn no_answer_within_the_timeout_is_a_timeout_and_not_retried() {
    let server = Server::start(vec![Reply::Hang, openai_answer("never asked")]).await;
    let mut options = server.options("/v1");
    options.timeout = Duration::from_millis(200);
    let started = Instant::now();
    let error = openai(options)
        .chat(&question(false), &|_| {})
        .await
        .expect_err("no answer");
    assert_eq!(error, ProviderError::Timeout(Duration::from_millis(200)));
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let server = Server::start(vec![Reply::ndjson(
        &[json!({ "message": { "role": "assistant", "content": "6 * 7" }, "done": false })],
        End::Stall,
    )])
    .await;
    let mut options = server.options("");
    options.timeout = Duration::from_millis(300);
    let seen = Collected::default();
    let error = Ollama::new(options)
        .expect("a client")
        .chat(&question(true), &|d| seen.push(d))
        .await
        .expect_err("a stalled answer");
    assert_eq!(error, ProviderError::Timeout(Duration::from_millis(300)));
    assert_eq!(seen.pieces(), ["6 * 7"]);
}

#[tokio::test]
async fn cancellation_ends_a_request_under_way_and_every_later_one() {
    let server = Server::start(vec![Reply::Hang, openai_answer("never asked")]).await;
    let options = server.options("/v1");
    let cancel = options.cancel.clone();
    let client = openai(options);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let error = client
        .chat(&question(false), &|_| {})
        .await
        .expect_err("cancelled");
    assert_eq!(error, ProviderError::Cancelled);
    let again = client.chat(&question(false), &|_| {}).await;
    assert_eq!(again, Err(ProviderError::Cancelled));
    assert_eq!(server.received().len(), 1, "the later request is not sent");
}

#[tokio::test]
async fn cancellation_ends_the_wait_before_a_retry() {
    let server = Server::start(vec![
        Reply::status(503, &[("retry-after", "30")], "down for maintenance"),
        openai_answer("never asked"),
    ])
    .await;
    let options = server.options("/v1");
    let cancel = options.cancel.clone();
    let client = openai(options);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    // Without cancellation the client would wait 30 s; the guard only keeps a failure short.
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        client.chat(&question(false), &|_| {}),
    )
    .await
    .expect("cancelled long before the retry");
    assert_eq!(outcome, Err(ProviderError::Cancelled));
    assert_eq!(server.received().len(), 1);
}
