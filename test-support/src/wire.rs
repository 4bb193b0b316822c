//! A scripted provider's server: a real HTTP server on 127.0.0.1 that answers each request with the next
//! reply of its script (JSON, a stream that completes, is cut or stalls, or no answer at all) and
//! records what it received.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use serde_json::Value;
use watsmith_agent::{ClientOptions, RetryPolicy};

/// How a streamed reply ends.
#[derive(Debug, Clone, Copy)]
pub enum End {
    /// As it should.
    Complete,
    /// The connection is cut (after a moment, so that what was sent is on its way).
    Cut,
    /// The server stops sending but keeps the connection open.
    Stall,
}

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON body.
    Json(u16, Value),
    /// A body of any text, with headers.
    Text {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// A 200 whose body is these pieces, sent one by one.
    Stream {
        content_type: &'static str,
        pieces: Vec<String>,
        end: End,
    },
    /// No answer at all.
    Hang,
}

impl Reply {
    /// Server-sent events: each item is one event's text (`event:` and `data:` lines).
    pub fn sse(events: &[String], end: End) -> Self {
        Self::Stream {
            content_type: "text/event-stream",
            pieces: events.iter().map(|e| format!("{e}\n\n")).collect(),
            end,
        }
    }

    /// Newline-delimited JSON.
    pub fn ndjson(objects: &[Value], end: End) -> Self {
        Self::Stream {
            content_type: "application/x-ndjson",
            pieces: objects.iter().map(|o| format!("{o}\n")).collect(),
            end,
        }
    }

    /// A status with a text body and headers.
    pub fn status(status: u16, headers: &[(&'static str, &str)], body: &str) -> Self {
        Self::Text {
            status,
            headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
            body: body.to_owned(),
        }
    }
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its path.
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, as JSON (`Null` if it is not).
    pub body: Value,
}

impl Received {
    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug, Default)]
struct Script {
    replies: VecDeque<Reply>,
    received: Vec<Received>,
    /// What Ollama's `/api/show` answers (200 with it; 404 without, as a server that does not
    /// say its models' context), apart from the script and not recorded in `received`.
    show: Option<Value>,
    /// How many `/api/show` requests came.
    shows: usize,
}

/// The server, running on the test's runtime until the test ends.
#[derive(Debug)]
pub struct Server {
    address: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl Server {
    /// A server that gives `replies`, in order; past them, every request gets a 418.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            ..Script::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let app = Router::new().fallback(answer).with_state(script.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self { address, script }
    }

    /// The server's URL, with `path` after it.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Client options for this server at `path`, with quick retries; installs the TLS provider
    /// every client needs, so a test that only talks to this server can build one.
    pub fn options(&self, path: &str) -> ClientOptions {
        crate::install_tls();
        let mut options = ClientOptions::new(self.url(path));
        options.retry = quick_retries(3);
        options
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.script.lock().expect("script").received.clone()
    }

    /// Answers Ollama's `/api/show` with `body` from now on (until then it is a 404).
    pub fn show(&self, body: Value) {
        self.script.lock().expect("script").show = Some(body);
    }

    /// How many `/api/show` requests came (they are not in [`Server::received`]).
    pub fn shows(&self) -> usize {
        self.script.lock().expect("script").shows
    }

    /// The only request received.
    pub fn only_request(&self) -> Received {
        let received = self.received();
        assert_eq!(received.len(), 1, "requests: {received:#?}");
        received.into_iter().next().expect("one request")
    }
}

/// Retries with millisecond delays.
pub fn quick_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(60),
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut script = script.lock().expect("script");
        if uri.path() == "/api/show" {
            script.shows += 1;
            return match &script.show {
                Some(show) => (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    show.to_string(),
                )
                    .into_response(),
                None => (StatusCode::NOT_FOUND, "404 page not found").into_response(),
            };
        }
        script.received.push(Received {
            path: uri.path().to_owned(),
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        script.replies.pop_front()
    };
    let Some(reply) = reply else {
        return (StatusCode::IM_A_TEAPOT, "no reply left in the script").into_response();
    };
    match reply {
        Reply::Json(status, body) => (
            status_code(status),
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response(),
        Reply::Text {
            status,
            headers,
            body,
        } => {
            let mut response = (status_code(status), body).into_response();
            for (name, value) in headers {
                response
                    .headers_mut()
                    .insert(name, value.parse().expect("a header value"));
            }
            response
        }
        Reply::Stream {
            content_type,
            pieces,
            end,
        } => {
            let sent = stream::iter(
                pieces
                    .into_iter()
                    .map(|piece| Ok::<_, std::io::Error>(Bytes::from(piece))),
            );
            let body: BoxStream<'static, Result<Bytes, std::io::Error>> = match end {
                End::Complete => sent.boxed(),
                End::Cut => sent
                    .chain(stream::once(async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err(std::io::Error::other("the test cuts the connection"))
                    }))
                    .boxed(),
                End::Stall => sent.chain(stream::pending()).boxed(),
            };
            ([("content-type", content_type)], Body::from_stream(body)).into_response()
        }
        Reply::Hang => match std::future::pending::<Infallible>().await {},
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).expect("a valid status")
}
