//! `http` against real servers on 127.0.0.1 (loopback allowed explicitly, by address and port),
//! and the refusals that hold by default: loopback, private and metadata addresses, names that
//! resolve to them, and redirects to any of them.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode as HttpStatus, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use watsmith_engine::capabilities::http::HttpGrant;
use watsmith_engine::{Engine, Limits, Outcome, Policy, Status, StatusCode, TrapKind, Value};

use crate::engine;

/// A test server on an ephemeral loopback port, served from its own thread and runtime.
struct Server {
    address: SocketAddr,
}

impl Server {
    fn start() -> Self {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind loopback");
                sender
                    .send(listener.local_addr().expect("address"))
                    .expect("send address");
                axum::serve(listener, routes()).await.expect("serve");
            });
        });
        Self {
            address: receiver.recv().expect("the server starts"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A grant of exactly this server.
    fn grant(&self) -> Policy {
        Policy::deny_all().grant(HttpGrant::new([self.address.to_string()]).expect("valid rule"))
    }
}

fn routes() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello, wasm" }))
        .route(
            "/echo",
            post(|headers: HeaderMap, body: String| async move {
                let kind = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_owned();
                format!("{kind}|{body}")
            }),
        )
        .route(
            "/headers",
            get(|headers: HeaderMap| async move {
                let value = headers
                    .get("x-test")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("absent")
                    .to_owned();
                ([("x-served-by", "watsmith-test")], value)
            }),
        )
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move {
                (
                    HttpStatus::from_u16(code).unwrap_or(HttpStatus::IM_A_TEAPOT),
                    format!("status {code}"),
                )
            }),
        )
        .route(
            "/redirect",
            get(
                |Query(query): Query<std::collections::HashMap<String, String>>| async move {
                    Redirect::to(query.get("to").map_or("/hello", String::as_str)).into_response()
                },
            ),
        )
        .route("/big", get(|| async { "x".repeat(64 << 10) }))
        .route(
            "/latin1",
            get(|| async {
                let mut headers = HeaderMap::new();
                headers.insert(
                    "x-name",
                    header::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid value"),
                );
                (headers, "ok")
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
}

fn get_body(url: &str) -> String {
    format!(
        r#"(local $body str)
(check $body (call $http.get "{url}"))
(resv $body)"#
    )
}

fn run(engine: &Engine, body: &str, policy: &Policy) -> Outcome {
    engine.exec(body, vec![], policy, &Limits::default())
}

fn refused(outcome: &Outcome, reason: &str) {
    assert_eq!(outcome.status, Status::Error, "{outcome:#?}");
    assert_eq!(outcome.code, Some(StatusCode::EACCESS), "{outcome:#?}");
    assert!(
        outcome.logs.iter().any(|l| l.contains(reason)),
        "no log mentions {reason:?}: {:?}",
        outcome.logs
    );
}

#[test]
fn get_returns_the_body_of_an_allowed_host() {
    let server = Server::start();
    let outcome = run(&engine(), &get_body(&server.url("/hello")), &server.grant());
    assert_eq!(outcome.status, Status::Ok, "{outcome:#?}");
    assert_eq!(outcome.results, [Value::Str("hello, wasm".into())]);
    assert_eq!(outcome.usage.http_requests, 1);
}

#[test]
fn post_sends_the_body_and_content_type() {
    let server = Server::start();
    let body = format!(
        r#"(local $reply str)
(check $reply (call $http.post "{}" "{{\"n\":1}}" "application/json"))
(resv $reply)"#,
        server.url("/echo")
    );
    let outcome = run(&engine(), &body, &server.grant());
    assert_eq!(
        outcome.results,
        [Value::Str(r#"application/json|{"n":1}"#.into())],
        "{outcome:#?}"
    );
}

#[test]
fn request_sends_headers_and_exposes_the_response_headers_and_status() {
    let server = Server::start();
    let body = format!(
        r#"(local $reply str)
(local $served str)
(local $status i32)
(check $reply (call $http.request "get" "{}" "X-Test: forty two\n" ""))
(check $served (call $http.header "X-Served-By"))
(local.set $status (call $http.status))
(resv $reply) (resv $served) (resv $status)"#,
        server.url("/headers")
    );
    let outcome = run(&engine(), &body, &server.grant());
    assert_eq!(
        outcome.results,
        [
            Value::Str("forty two".into()),
            Value::Str("watsmith-test".into()),
            Value::I32(200)
        ],
        "{outcome:#?}"
    );
}

#[test]
fn a_non_2xx_status_is_eremote_with_the_status_and_body_still_readable() {
    let server = Server::start();
    let body = format!(
        r#"(local $err i32)
(local $page str)
(call $http.get "{}")
(local.set $err) (drop)
(resv $err)
(local.set $err (call $http.status))
(resv $err)
(check $page (call $http.body))
(resv $page)"#,
        server.url("/status/404")
    );
    let outcome = run(&engine(), &body, &server.grant());
    assert_eq!(
        outcome.results,
        [
            Value::I32(StatusCode::EREMOTE.as_i32()),
            Value::I32(404),
            Value::Str("status 404".into())
        ],
        "{outcome:#?}"
    );
    assert!(outcome.logs.iter().any(|l| l.contains("status 404")));
}

#[test]
fn redirects_within_the_allowlist_are_followed_and_charged() {
    let server = Server::start();
    let outcome = run(
        &engine(),
        &get_body(&server.url("/redirect?to=/hello")),
        &server.grant(),
    );
    assert_eq!(
        outcome.results,
        [Value::Str("hello, wasm".into())],
        "{outcome:#?}"
    );
    assert_eq!(outcome.usage.http_requests, 2);
}

#[test]
fn loopback_private_and_metadata_addresses_are_refused_even_with_any_host_allowed() {
    let server = Server::start();
    let engine = engine();
    let any = Policy::deny_all().grant(HttpGrant::new(["*"]).expect("rule"));
    let port = server.address.port();
    for (url, reason) in [
        (server.url("/hello"), "loopback"),
        (format!("http://[::1]:{port}/hello"), "loopback"),
        // The WHATWG parser reads 2130706433 as 127.0.0.1.
        (format!("http://2130706433:{port}/hello"), "loopback"),
        ("http://10.0.0.1/".to_owned(), "private"),
        ("http://192.168.1.1/".to_owned(), "private"),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "metadata",
        ),
        ("http://[::ffff:169.254.169.254]/".to_owned(), "metadata"),
        ("http://0.0.0.0/".to_owned(), "is an unspecified address"),
        (format!("http://[::1]:{port}/x"), "(`[::1]:"),
    ] {
        let outcome = run(&engine, &get_body(&url), &any);
        refused(&outcome, reason);
        assert_eq!(outcome.usage.http_requests, 0, "{url} was sent");
    }
}

#[test]
fn a_name_that_resolves_to_loopback_is_refused_after_resolution() {
    let server = Server::start();
    // A `localhost` rule is refused when the grant is built; `*` lets the name through to the
    // resolver, which refuses its loopback address.
    let grant = Policy::deny_all().grant(HttpGrant::new(["*"]).expect("rule"));
    let url = format!("http://localhost:{}/hello", server.address.port());
    refused(&run(&engine(), &get_body(&url), &grant), "resolves to");
}

#[test]
fn a_redirect_to_loopback_private_or_metadata_is_refused() {
    let allowed = Server::start();
    let other = Server::start();
    let engine = engine();
    // The first server is allowed by address and port; the rest of the world by `*`, which
    // never covers special addresses.
    let grant = Policy::deny_all()
        .grant(HttpGrant::new([allowed.address.to_string(), "*".to_owned()]).expect("rules"));
    // An address is refused before the hop is sent; a name is refused by the resolver, after
    // the attempt was charged.
    for (target, reason, attempts) in [
        (other.url("/hello"), "loopback", 1),
        (
            format!("http://localhost:{}/hello", other.address.port()),
            "resolves to",
            2,
        ),
        ("http://10.0.0.1/".to_owned(), "private", 1),
        ("http://169.254.169.254/".to_owned(), "metadata", 1),
    ] {
        let url = allowed.url(&format!("/redirect?to={target}"));
        let outcome = run(&engine, &get_body(&url), &grant);
        refused(&outcome, reason);
        assert_eq!(outcome.usage.http_requests, attempts, "{target}");
        // The log names the request the program made and the hop that was refused.
        if attempts == 1 {
            refused(&outcome, &format!("redirected to {target}"));
        }
    }
}

#[test]
fn hosts_outside_the_allowlist_are_refused() {
    let server = Server::start();
    let grant = Policy::deny_all()
        .grant(HttpGrant::new(["api.example.com", "*.example.org"]).expect("rules"));
    refused(
        &run(&engine(), &get_body(&server.url("/hello")), &grant),
        "not in the run's allowlist",
    );
    refused(
        &run(&engine(), &get_body("file:///etc/passwd"), &grant),
        "scheme",
    );
}

#[test]
fn an_allowlist_entry_with_a_port_allows_only_that_port() {
    let server = Server::start();
    let other = Server::start();
    let outcome = run(&engine(), &get_body(&other.url("/hello")), &server.grant());
    refused(&outcome, "not in the run's allowlist");
    // The refusal names the port asked for, and the grant that would allow it.
    refused(
        &outcome,
        &format!(
            "an `http` grant of `127.0.0.1:{}` allows it",
            other.address.port()
        ),
    );
}

#[test]
fn http_without_hosts_or_without_a_grant_is_refused_before_it_runs() {
    let server = Server::start();
    let body = get_body(&server.url("/hello"));
    let bare = run(&engine(), &body, &Policy::deny_all().allow("http"));
    assert_eq!(bare.code, Some(StatusCode::EACCESS));
    assert!(
        bare.diagnostics[0]
            .message
            .contains("the grant allows no host"),
        "{bare:#?}"
    );
    let denied = run(&engine(), &body, &Policy::deny_all());
    assert_eq!(denied.code, Some(StatusCode::EACCESS));
    assert!(
        denied.diagnostics[0]
            .message
            .contains("`http` is not granted")
    );
}

#[test]
fn responses_over_the_size_cap_fail_with_eremote() {
    let server = Server::start();
    let limits = Limits {
        max_http_response_bytes: 1000,
        ..Limits::default()
    };
    let outcome = engine().exec(
        &get_body(&server.url("/big")),
        vec![],
        &server.grant(),
        &limits,
    );
    assert_eq!(outcome.code, Some(StatusCode::EREMOTE), "{outcome:#?}");
    assert!(
        outcome
            .logs
            .iter()
            .any(|l| l.contains("larger than the cap of 1000 bytes"))
    );
}

#[test]
fn the_request_budget_counts_redirects_and_ends_the_run() {
    let server = Server::start();
    let limits = Limits {
        max_http_requests: 2,
        ..Limits::default()
    };
    let chain = server.url("/redirect?to=/redirect%3Fto%3D/hello");
    let outcome = engine().exec(&get_body(&chain), vec![], &server.grant(), &limits);
    assert_eq!(outcome.status, Status::Trap, "{outcome:#?}");
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::HostBudget)
    );
    assert_eq!(outcome.usage.http_requests, 2);
}

#[test]
fn the_deadline_covers_a_request_that_hangs() {
    let server = Server::start();
    let limits = Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let outcome = engine().exec(
        &get_body(&server.url("/slow")),
        vec![],
        &server.grant(),
        &limits,
    );
    assert_eq!(outcome.status, Status::Trap, "{outcome:#?}");
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::Timeout)
    );
}

#[test]
fn a_connection_failure_is_eremote() {
    // Bind and drop a listener: its port is then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let grant =
        Policy::deny_all().grant(HttpGrant::new([format!("127.0.0.1:{port}")]).expect("rule"));
    let outcome = run(
        &engine(),
        &get_body(&format!("http://127.0.0.1:{port}/")),
        &grant,
    );
    assert_eq!(outcome.code, Some(StatusCode::EREMOTE), "{outcome:#?}");
    assert!(outcome.logs.iter().any(|l| l.contains("could not connect")));
}

#[test]
fn invalid_rules_are_rejected_when_the_grant_is_built() {
    for rule in ["http://example.com", "example.com:http", "exa mple.com", ""] {
        assert!(HttpGrant::new([rule]).is_err(), "{rule:?} was accepted");
    }
    for rule in [
        "example.com",
        "*.example.com",
        "*",
        "10.0.0.1",
        "[::1]:8080",
        "::1",
        "a.b:443",
    ] {
        assert!(HttpGrant::new([rule]).is_ok(), "{rule:?} was rejected");
    }
    // `localhost` would be refused at every request (it resolves to loopback): refused when
    // granted, with the grant that works.
    for (rule, fix) in [
        (
            "localhost:8765",
            "allow its address (`127.0.0.1:8765`, or `[::1]:8765`)",
        ),
        ("LocalHost.", "(`127.0.0.1:PORT`"),
        ("api.localhost:80", "`http://127.0.0.1:80/`"),
    ] {
        let error = HttpGrant::new([rule]).expect_err(rule).to_string();
        assert!(error.contains("always names a loopback address"), "{error}");
        assert!(error.contains(fix), "{error}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn async_runs_share_the_executor_with_other_tasks() {
    let server = Server::start();
    let engine = std::sync::Arc::new(engine());
    // The program calls `http.status`, so it runs on a fiber; it then computes until the
    // deadline. Meanwhile a task on the same single-threaded executor must get to run.
    let body = r#"(local $n i64)
(drop (call $http.status))
(loop $spin (local.set $n (i64.add (local.get $n) (i64.const 1))) (br $spin))"#;
    let limits = Limits {
        fuel: None,
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = std::sync::Arc::clone(&ticks);
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let outcome = engine
        .exec_async(body, vec![], &server.grant(), &limits)
        .await;
    ticker.abort();
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::Timeout)
    );
    // Starved, the ticker would never have run: it is aborted as soon as the run returns,
    // before this task yields. Any tick shows it ran meanwhile (how many depends on the
    // machine's load, so no count is asked for).
    assert!(
        ticks.load(std::sync::atomic::Ordering::Relaxed) >= 1,
        "the other task starved while the program computed"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_sync_api_works_inside_an_async_runtime() {
    let server = Server::start();
    let outcome = engine().exec(
        &get_body(&server.url("/hello")),
        vec![],
        &server.grant(),
        &Limits::default(),
    );
    assert_eq!(
        outcome.results,
        [Value::Str("hello, wasm".into())],
        "{outcome:#?}"
    );
}

#[test]
fn framing_and_connection_headers_cannot_be_set() {
    // `Content-Length: 5` on a request with no body made the server wait for five bytes, and
    // the run for its deadline.
    let server = Server::start();
    for header in [
        "Content-Length: 5",
        "transfer-encoding: chunked",
        "Connection: close",
        "TE: trailers",
        "Trailer: X-Sum",
        "Upgrade: websocket",
        "Expect: 100-continue",
        "Keep-Alive: timeout=5",
        "Host: example.org",
    ] {
        let body = format!(
            r#"(local $reply str)
(check $reply (call $http.request "get" "{}" "{header}\n" ""))"#,
            server.url("/hello")
        );
        let outcome = run(&engine(), &body, &server.grant());
        refused(&outcome, "header cannot be set");
        assert_eq!(outcome.usage.http_requests, 0, "{header}: nothing was sent");
    }
}

#[test]
fn a_redirect_to_another_origin_sends_none_of_the_programs_headers() {
    let (first, second) = (Server::start(), Server::start());
    let policy = Policy::deny_all().grant(
        HttpGrant::new([first.address.to_string(), second.address.to_string()]).expect("rules"),
    );
    let request = |url: String| {
        format!(
            r#"(local $reply str)
(check $reply (call $http.request "get" "{url}" "X-Test: secret key\n" ""))
(resv $reply)"#
        )
    };
    let same = run(
        &engine(),
        &request(first.url("/redirect?to=/headers")),
        &policy,
    );
    assert_eq!(same.results, [Value::Str("secret key".into())], "{same:#?}");
    let other = run(
        &engine(),
        &request(first.url(&format!("/redirect?to={}", second.url("/headers")))),
        &policy,
    );
    assert_eq!(other.results, [Value::Str("absent".into())], "{other:#?}");
}

#[test]
fn a_response_header_that_is_not_utf8_is_an_error_not_a_str() {
    let server = Server::start();
    let body = format!(
        r#"(local $reply str) (local $name str)
(check $reply (call $http.get "{}"))
(check $name (call $http.header "x-name"))"#,
        server.url("/latin1")
    );
    let outcome = run(&engine(), &body, &server.grant());
    assert_eq!(outcome.code, Some(StatusCode::ETRFM), "{outcome:#?}");
    assert!(
        outcome.logs.iter().any(|l| l.contains("not UTF-8")),
        "{:?}",
        outcome.logs
    );
}
