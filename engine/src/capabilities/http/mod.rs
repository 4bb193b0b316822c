//! `http`: GET and POST (and the other common methods) to an allowlist of hosts.
//!
//! A request is sent only if every check passes, on the first hop and on every redirect:
//!
//! 1. the scheme is `http` or `https`;
//! 2. the host (and port) matches a rule of the run's [`HttpGrant`];
//! 3. the addresses the host stands for are public. A name is resolved by the client's own
//!    resolver, which refuses the whole name if any of its addresses is loopback, private,
//!    link-local (which includes the cloud metadata address 169.254.169.254), or otherwise
//!    special ([`special_address`]); the connection then goes to exactly the checked addresses,
//!    so a DNS answer cannot change between the check and the connection. An IP literal is
//!    checked here, and a special one is allowed only if a rule names that very address
//!    (`127.0.0.1:8080`): names never reach special addresses.
//!
//! Redirects are followed by this module (at most [`MAX_REDIRECTS`]), so each hop goes through
//! the same checks and is charged to the run's HTTP budget; a redirect to another origin sends
//! none of the headers the program set. A program may not set `Host` or a header of the
//! request's framing or connection (`Content-Length`, `Transfer-Encoding`, ...: EACCESS), which
//! would make the request disagree with its body. Responses are read up to
//! [`Limits::max_http_response_bytes`]; no proxy from the environment is used.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode as HttpStatus, Url};
use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::signature;
use crate::capability::{Capability, FunctionDoc};
use crate::limits::Limits;
use crate::policy::Grant;
use crate::state::{self, Budget, RunState};
use crate::status::StatusCode;

/// The capability's name, its import module.
pub const NAME: &str = "http";

/// Redirects followed per request.
pub const MAX_REDIRECTS: usize = 10;
/// Timeout of one request (each hop), connection included; the run's deadline also applies.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout of establishing a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

mod address;
mod allowlist;

pub use address::special_address;
pub use allowlist::{HostRule, HostRuleError, HttpGrant};

use address::{PublicResolver, SpecialAddress};

const I32: ValType = ValType::I32;

const fn function(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostFunction {
    signature(NAME, name, params, results)
}

static FUNCTIONS: [FunctionDoc; 6] = [
    FunctionDoc {
        function: function("get", &[I32], &[I32, I32]),
        description: "GET the url (str) and return (body, status): the body as bytes/str for a 2xx response; EACCESS if the host or its address is not allowed, EREMOTE if the request fails or the status is not 2xx (see $http.status and $http.body)",
    },
    FunctionDoc {
        function: function("post", &[I32, I32, I32], &[I32, I32]),
        description: "POST (url, body, content_type) and return (response body, status), as $http.get",
    },
    FunctionDoc {
        function: function("request", &[I32, I32, I32, I32], &[I32, I32]),
        description: "send (method, url, headers, body): method GET|POST|PUT|PATCH|DELETE|HEAD, headers as \"Name: value\" lines (\"\" for none), body (\"\" for none); returns (response body, status) as $http.get; EPARSE for a malformed header, EACCESS for Host and the framing and connection headers (Content-Length, Transfer-Encoding, Connection, TE, Trailer, Upgrade, Expect, Keep-Alive), EBOUND for an unknown method; on a redirect to another origin, none of these headers is sent again",
    },
    FunctionDoc {
        function: function("status", &[], &[I32]),
        description: "the HTTP status code of the last response (0 before any)",
    },
    FunctionDoc {
        function: function("body", &[], &[I32, I32]),
        description: "the body of the last response, whatever its status; ENOENT before any",
    },
    FunctionDoc {
        function: function("header", &[I32], &[I32, I32]),
        description: "the value of a header (name, any case) of the last response; ENOENT if absent, ETRFM if it is not UTF-8",
    },
];

/// The `http` capability. Holds the engine's client (one connection pool for all runs).
#[derive(Debug, Default)]
pub struct Http {
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl Http {
    /// The capability, with its client built on first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self) -> Result<reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                // reqwest is built without a TLS crypto provider, and installing one is the
                // application's choice (process-wide), made once by its binary.
                if rustls::crypto::CryptoProvider::get_default().is_none() {
                    return Err(NO_TLS_PROVIDER.to_owned());
                }
                reqwest::Client::builder()
                    .dns_resolver(PublicResolver)
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .user_agent(concat!("watsmith/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .clone()
    }
}

/// Why the client cannot be built when the application installed no TLS crypto provider.
pub const NO_TLS_PROVIDER: &str = "no TLS crypto provider is installed: the application must \
     install one once, before any run (`rustls::crypto::ring::default_provider().install_default()`)";

/// The last response of a run, for `$http.status`, `$http.body` and `$http.header`.
#[derive(Debug, Default)]
struct LastResponse {
    status: u16,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

/// The per-run state: the client, the allowlist and the last response.
#[derive(Debug)]
struct HttpState {
    client: reqwest::Client,
    grant: Arc<HttpGrant>,
    last: LastResponse,
}

/// A request as the program described it.
struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Why a request produced no response: the status to return and a line for the log.
struct Failure {
    code: StatusCode,
    reason: String,
}

impl Failure {
    fn new(code: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// Sends a request, following redirects through the allowlist checks; every hop is charged.
async fn send(
    caller: &mut Caller<'_, RunState>,
    request: Request,
) -> wasmtime::Result<Result<LastResponse, Failure>> {
    let Some(state) = caller.data_mut().state_mut::<HttpState>() else {
        return Ok(Err(Failure::new(
            StatusCode::EACCESS,
            "http is not set up for this run",
        )));
    };
    let client = state.client.clone();
    let grant = Arc::clone(&state.grant);
    let limits = caller.data().limits().clone();
    let Request {
        mut method,
        mut url,
        mut headers,
        mut body,
    } = request;
    for hop in 0..=MAX_REDIRECTS {
        if let Some(reason) = grant.refusal(&url) {
            // The log line names the request the program made; a refused redirect names the
            // hop that was refused too, which the program never wrote.
            let reason = if hop == 0 {
                reason
            } else {
                format!("redirected to {url}, which is refused: {reason}")
            };
            return Ok(Err(Failure::new(StatusCode::EACCESS, reason)));
        }
        caller.data_mut().charge(Budget::HttpRequests, 1)?;
        let builder = client
            .request(method.clone(), url.clone())
            .headers(headers.clone())
            .timeout(REQUEST_TIMEOUT);
        let builder = if body.is_empty() {
            builder
        } else {
            builder.body(body.clone())
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => return Ok(Err(transport_failure(&error))),
        };
        let status = response.status();
        if status.is_redirection()
            && let Some(location) = response.headers().get(reqwest::header::LOCATION)
        {
            let next = match location.to_str().ok().and_then(|l| url.join(l).ok()) {
                Some(next) => next,
                None => {
                    return Ok(Err(Failure::new(
                        StatusCode::EREMOTE,
                        format!("redirect {status} with an invalid Location"),
                    )));
                }
            };
            if status == HttpStatus::SEE_OTHER
                || (matches!(status, HttpStatus::MOVED_PERMANENTLY | HttpStatus::FOUND)
                    && method == Method::POST)
            {
                method = Method::GET;
                body.clear();
            }
            if next.origin() != url.origin() {
                // What the program meant for one origin (credentials, and any header that may
                // carry them: `X-Api-Key`, ...) never travels to another.
                headers.clear();
            }
            url = next;
            continue;
        }
        return Ok(read_response(response, &limits).await);
    }
    Ok(Err(Failure::new(
        StatusCode::EREMOTE,
        format!("more than {MAX_REDIRECTS} redirects"),
    )))
}

/// Reads a response's body within the size cap.
async fn read_response(
    mut response: reqwest::Response,
    limits: &Limits,
) -> Result<LastResponse, Failure> {
    let cap = limits.max_http_response_bytes;
    let too_large = || {
        Failure::new(
            StatusCode::EREMOTE,
            format!("the response is larger than the cap of {cap} bytes"),
        )
    };
    if response.content_length().is_some_and(|len| len > cap) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() as u64 + chunk.len() as u64 > cap {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(error) => return Err(transport_failure(&error)),
        }
    }
    Ok(LastResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: Some(body),
    })
}

/// EACCESS when the resolver refused a special address, EREMOTE otherwise.
fn transport_failure(error: &reqwest::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(special) = cause.downcast_ref::<SpecialAddress>() {
            return Failure::new(StatusCode::EACCESS, special.to_string());
        }
        source = cause.source();
    }
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let mut reason = format!("the request {what}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Failure::new(StatusCode::EREMOTE, reason)
}

/// Reads a str argument, or the status that explains why it is not one.
fn text(
    caller: &mut Caller<'_, RunState>,
    ptr: i32,
) -> wasmtime::Result<Result<String, StatusCode>> {
    state::read_str(caller, ptr)
}

/// Builds the request of `$http.request` from its arguments.
fn describe(
    caller: &mut Caller<'_, RunState>,
    method: &str,
    url: i32,
    headers: Option<i32>,
    body: Option<i32>,
) -> wasmtime::Result<Result<Request, Failure>> {
    let method = match method.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        "HEAD" => Method::HEAD,
        other => {
            return Ok(Err(Failure::new(
                StatusCode::EBOUND,
                format!("unknown method `{other}` (GET, POST, PUT, PATCH, DELETE, HEAD)"),
            )));
        }
    };
    let url = match text(caller, url)? {
        Ok(url) => url,
        Err(code) => return Ok(Err(Failure::new(code, "the url is not a str"))),
    };
    let url = match Url::parse(url.trim()) {
        Ok(url) => url,
        Err(error) => {
            return Ok(Err(Failure::new(
                StatusCode::EPARSE,
                format!("invalid url `{url}`: {error}"),
            )));
        }
    };
    let headers = match headers {
        Some(ptr) => match text(caller, ptr)? {
            Ok(lines) => match parse_headers(&lines) {
                Ok(headers) => headers,
                Err(failure) => return Ok(Err(failure)),
            },
            Err(code) => return Ok(Err(Failure::new(code, "the headers are not a str"))),
        },
        None => HeaderMap::new(),
    };
    let body = match body {
        Some(ptr) => match state::read_bytes(caller, ptr)? {
            Ok(bytes) => bytes,
            Err(code) => {
                return Ok(Err(Failure::new(
                    code,
                    "the body is not a str or bytes value",
                )));
            }
        },
        None => Vec::new(),
    };
    Ok(Ok(Request {
        method,
        url,
        headers,
        body,
    }))
}

/// `Name: value` lines; blank lines are skipped. `Host` cannot be set.
/// Headers of the request's framing and connection, which only the client sets (RFC 9110
/// section 7.6.1, RFC 9112 section 6): a program setting one is refused (EACCESS), as for `Host`.
const RESERVED_HEADERS: [HeaderName; 8] = [
    reqwest::header::CONTENT_LENGTH,
    reqwest::header::TRANSFER_ENCODING,
    reqwest::header::CONNECTION,
    reqwest::header::TE,
    reqwest::header::TRAILER,
    reqwest::header::UPGRADE,
    reqwest::header::EXPECT,
    HeaderName::from_static("keep-alive"),
];

fn parse_headers(lines: &str) -> Result<HeaderMap, Failure> {
    let mut headers = HeaderMap::new();
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let invalid = || Failure::new(StatusCode::EPARSE, format!("invalid header line `{line}`"));
        let (name, value) = line.split_once(':').ok_or_else(invalid)?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| invalid())?;
        if name == reqwest::header::HOST {
            return Err(Failure::new(
                StatusCode::EACCESS,
                "the Host header cannot be set",
            ));
        }
        if RESERVED_HEADERS.contains(&name) {
            // A program's Content-Length or Transfer-Encoding would frame the request otherwise
            // than its body is sent, and the connection would wait out the run's deadline.
            return Err(Failure::new(
                StatusCode::EACCESS,
                format!(
                    "the {name} header cannot be set: the client frames and manages the connection itself"
                ),
            ));
        }
        let value = HeaderValue::from_str(value.trim()).map_err(|_| invalid())?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Sends the request and returns `(body, status)` to the program, recording the response.
async fn exchange(
    caller: &mut Caller<'_, RunState>,
    request: Result<Request, Failure>,
) -> wasmtime::Result<(i32, i32)> {
    let summary = request
        .as_ref()
        .map(|r| format!("{} {}", r.method, r.url))
        .unwrap_or_else(|_| "the request".to_owned());
    let result = match request {
        Ok(request) => send(caller, request).await?,
        Err(failure) => Err(failure),
    };
    let response = match result {
        Ok(response) => response,
        Err(failure) => {
            caller
                .data_mut()
                .log(format!("http: {summary}: {}", failure.reason));
            return Ok((0, failure.code.as_i32()));
        }
    };
    let status = response.status;
    let body = response.body.clone().unwrap_or_default();
    if let Some(state) = caller.data_mut().state_mut::<HttpState>() {
        state.last = response;
    }
    if !(200..300).contains(&status) {
        caller
            .data_mut()
            .log(format!("http: {summary}: status {status}"));
        return Ok((0, StatusCode::EREMOTE.as_i32()));
    }
    state::return_bytes(caller, Ok::<_, StatusCode>(body))
}

impl Capability for Http {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "HTTP requests to the hosts the run allows (never to loopback, private or metadata addresses unless named explicitly)"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn is_async(&self) -> bool {
        true
    }

    fn new_state(&self, grant: &Grant) -> Result<Option<Box<dyn std::any::Any + Send>>, String> {
        let grant = grant
            .settings::<HttpGrant>()
            .filter(|g| !g.rules.is_empty())
            .ok_or("the grant allows no host")?;
        Ok(Some(Box::new(HttpState {
            client: self.client()?,
            grant: Arc::new(grant.clone()),
            last: LastResponse::default(),
        })))
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap_async(
            NAME,
            "get",
            |mut caller: Caller<'_, RunState>, (url,): (i32,)| {
                Box::new(async move {
                    let request = describe(&mut caller, "GET", url, None, None)?;
                    exchange(&mut caller, request).await
                })
            },
        )?;
        linker.func_wrap_async(
            NAME,
            "post",
            |mut caller: Caller<'_, RunState>, (url, body, content_type): (i32, i32, i32)| {
                Box::new(async move {
                    let request = describe(&mut caller, "POST", url, None, Some(body))?;
                    let request = match (request, text(&mut caller, content_type)?) {
                        (Ok(mut request), Ok(kind)) => match HeaderValue::from_str(kind.trim()) {
                            Ok(value) => {
                                request.headers.insert(reqwest::header::CONTENT_TYPE, value);
                                Ok(request)
                            }
                            Err(_) => Err(Failure::new(
                                StatusCode::EPARSE,
                                format!("invalid content type `{kind}`"),
                            )),
                        },
                        (Ok(_), Err(code)) => {
                            Err(Failure::new(code, "the content type is not a str"))
                        }
                        (Err(failure), _) => Err(failure),
                    };
                    exchange(&mut caller, request).await
                })
            },
        )?;
        linker.func_wrap_async(
            NAME,
            "request",
            |mut caller: Caller<'_, RunState>,
             (method, url, headers, body): (i32, i32, i32, i32)| {
                Box::new(async move {
                    let request = match text(&mut caller, method)? {
                        Ok(method) => {
                            describe(&mut caller, &method, url, Some(headers), Some(body))?
                        }
                        Err(code) => Err(Failure::new(code, "the method is not a str")),
                    };
                    exchange(&mut caller, request).await
                })
            },
        )?;
        linker.func_wrap(NAME, "status", |mut caller: Caller<'_, RunState>| {
            caller
                .data_mut()
                .state_mut::<HttpState>()
                .map_or(0, |s| i32::from(s.last.status))
        })?;
        linker.func_wrap(
            NAME,
            "body",
            |mut caller: Caller<'_, RunState>| -> wasmtime::Result<(i32, i32)> {
                let body = caller
                    .data_mut()
                    .state_mut::<HttpState>()
                    .and_then(|s| s.last.body.clone())
                    .ok_or(StatusCode::ENOENT);
                state::return_bytes(&mut caller, body)
            },
        )?;
        linker.func_wrap(
            NAME,
            "header",
            |mut caller: Caller<'_, RunState>, name: i32| -> wasmtime::Result<(i32, i32)> {
                let value = text(&mut caller, name)?.and_then(|name| {
                    caller
                        .data_mut()
                        .state_mut::<HttpState>()
                        .and_then(|s| {
                            s.last
                                .headers
                                .get(name.trim())
                                .map(|v| v.as_bytes().to_vec())
                        })
                        .ok_or(StatusCode::ENOENT)
                });
                // A str holds UTF-8 only: a value of other bytes (obs-text) is an error.
                let value = match value {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(value) => Ok(value),
                        Err(_) => {
                            caller.data_mut().log(
                                "http.header: the value is not UTF-8 text (RFC 9110 obs-text)",
                            );
                            Err(StatusCode::ETRFM)
                        }
                    },
                    Err(code) => Err(code),
                };
                state::return_bytes(&mut caller, value)
            },
        )?;
        Ok(())
    }
}
