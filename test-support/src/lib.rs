//! What watsmith's tests share, so no crate keeps its own copy: a loopback server for any axum
//! app, scripted model servers that speak a provider's real wire format (streaming included), an
//! in-process scripted provider, and the TLS set-up a binary would do. Dev-only: no product
//! crate depends on it.

#![allow(clippy::unwrap_used, reason = "test support: a failure is the test's")]

pub mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use watsmith_agent::{
    ChatFuture, ChatRequest, ChatResponse, Deltas, Provider, ProviderError, StopReason, TokenUsage,
};

/// Installs the TLS crypto provider of the HTTP clients, as the `watsmith` binary does at start
/// (a library never does it: the choice is the process's).
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Serves `app` on an ephemeral loopback port, on a thread and runtime of its own, until the
/// process ends; its address.
pub fn serve(app: axum::Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    address
}

/// The requests an [`openai_server`] received, in order, as JSON.
pub type Requests = Arc<Mutex<Vec<Value>>>;

/// An OpenAI-compatible server on 127.0.0.1 (`POST /v1/chat/completions`) that answers each
/// request with the text `answer` gives for it: a server-sent-event stream when the request asks
/// for one, a JSON completion otherwise, with the usage 30 + 5 tokens. Keeps the requests.
pub fn openai_server(
    answer: impl Fn(&Value) -> String + Send + Sync + 'static,
) -> (SocketAddr, Requests) {
    let answer = Arc::new(answer);
    let requests = Requests::default();
    let kept = Arc::clone(&requests);
    let address = serve(axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |body: axum::Json<Value>| {
            let (answer, kept) = (Arc::clone(&answer), Arc::clone(&kept));
            async move {
                let text = answer(&body.0);
                kept.lock().unwrap().push(body.0.clone());
                openai_reply(&body.0, &text)
            }
        }),
    ));
    (address, requests)
}

/// An [`openai_server`] giving `answers` in order (an empty text past them).
pub fn openai_answers(answers: Vec<&'static str>) -> (SocketAddr, Requests) {
    let answers = Mutex::new(answers);
    openai_server(move |_| {
        let mut answers = answers.lock().unwrap();
        if answers.is_empty() {
            String::new()
        } else {
            answers.remove(0).to_owned()
        }
    })
}

/// The wire form of an answer of `text` to `request`.
fn openai_reply(request: &Value, text: &str) -> ([(&'static str, &'static str); 1], String) {
    let usage = json!({"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35});
    if request["stream"] == true {
        let chunk = json!({"id": "c", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]});
        let tail = json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
            "usage": usage});
        (
            [("content-type", "text/event-stream")],
            format!("data: {chunk}\n\ndata: {tail}\n\ndata: [DONE]\n\n"),
        )
    } else {
        (
            [("content-type", "application/json")],
            json!({"id": "c", "object": "chat.completion", "choices": [{"index": 0,
                "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": usage})
            .to_string(),
        )
    }
}

/// A provider in the process that gives its answers in order and keeps every request. THE
/// ANSWERS ARE SCRIPTED BY THE TEST, NOT A MODEL'S.
#[derive(Debug, Default)]
pub struct ScriptedProvider {
    answers: Mutex<Vec<ChatResponse>>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl ScriptedProvider {
    /// A provider giving `answers`, in order; past them it fails.
    pub fn new(answers: Vec<ChatResponse>) -> Self {
        Self {
            answers: Mutex::new(answers),
            requests: Mutex::default(),
        }
    }

    /// A provider giving these texts, each with the usage 100 + 20 tokens.
    pub fn texts<S: Into<String>>(answers: impl IntoIterator<Item = S>) -> Self {
        Self::new(answers.into_iter().map(text).collect())
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Provider for ScriptedProvider {
    fn name(&self) -> &str {
        "scripted"
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, deltas: Deltas<'a>) -> ChatFuture<'a> {
        self.requests.lock().unwrap().push(request.clone());
        let answer = {
            let mut answers = self.answers.lock().unwrap();
            (!answers.is_empty()).then(|| answers.remove(0))
        };
        Box::pin(async move {
            let answer = answer.ok_or_else(|| {
                ProviderError::Config("the script has no more answers".to_owned())
            })?;
            if request.stream && !answer.text.is_empty() {
                deltas(&answer.text);
            }
            Ok(answer)
        })
    }
}

/// A text answer with the usage 100 + 20 tokens.
pub fn text(answer: impl Into<String>) -> ChatResponse {
    ChatResponse {
        reasoning: String::new(),
        text: answer.into(),
        tool_calls: Vec::new(),
        usage: TokenUsage::reported(100, 20),
        stop_reason: StopReason::EndTurn,
    }
}
