//! The command line as its neighbours have it: `--version`, completions and the man page,
//! the task from standard input, the model's flags, exit statuses that tell a refused key or a
//! wrong configuration from a task without an answer, progress that shows the code, colour,
//! and `watsmith capabilities` as the docs have it.

use crate::agent::recording_openai_server;
use crate::{INVALID, VALID, body_file, command, serve, text, watsmith};

#[test]
fn version_names_the_commit_and_the_wasmtime_it_runs_on() {
    let out = watsmith(&["--version"], None);
    assert_eq!(out.status.code(), Some(0));
    let version = text(&out.stdout);
    assert!(version.starts_with("watsmith 0."), "{version}");
    assert!(version.contains(" (commit "), "{version}");
    let wasmtime = version
        .split(", Wasmtime ")
        .nth(1)
        .expect("the Wasmtime version");
    assert!(
        wasmtime.starts_with(|c: char| c.is_ascii_digit()),
        "{version}"
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = watsmith(&["completions", shell], None);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("allow-host"), "{shell}");
        assert!(script.contains("completions"), "{shell}");
    }
    assert_eq!(
        watsmith(&["completions", "tcsh"], None).status.code(),
        Some(64)
    );
    let out = watsmith(&["man"], None);
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    assert!(page.contains(".TH watsmith 1"), "{page}");
    assert!(
        page.contains("watsmith\\-run(1)"),
        "the commands are listed: {page}"
    );
    let dir = tempfile::tempdir().expect("dir");
    let out = watsmith(
        &["man", "--out-dir", dir.path().to_str().expect("utf-8")],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run =
        std::fs::read_to_string(dir.path().join("watsmith-run.1")).expect("a page per command");
    assert!(run.contains("\\-\\-max\\-tokens"), "{run}");
}

#[test]
fn capabilities_prints_what_the_docs_say() {
    let out = watsmith(&["capabilities"], None);
    assert_eq!(out.status.code(), Some(0));
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/capabilities.md"),
    )
    .expect("docs/capabilities.md");
    assert_eq!(text(&out.stdout), docs);
    assert!(docs.contains("## `ai`"));
}

/// `run` against a scripted OpenAI-compatible server, in the text protocol, with `extra` flags.
fn run(server: std::net::SocketAddr, extra: &[&str], stdin: Option<&str>) -> std::process::Output {
    let base = format!("http://{server}/v1");
    let flags = [
        "run",
        "-p",
        "openai",
        "-m",
        "m",
        "--base-url",
        &base,
        "--protocol",
        "text",
    ];
    watsmith(&[&flags[..], extra].concat(), stdin)
}

#[test]
fn the_task_comes_from_stdin_and_the_model_flags_reach_the_request() {
    let (server, received) = recording_openai_server(vec![
        "Counting.\n```wat\n(local $n i32)\n(local.set $n (i32.const 4))\n(resv $n)\n```",
        "It is 4.",
    ]);
    let extra = [
        "-",
        "-s",
        "Answer in one sentence.",
        "-t",
        "0.5",
        "--max-tokens",
        "77",
    ];
    let out = run(server, &extra, Some("  how much is 2 + 2?\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "It is 4.\n",
        "printed once: stdout is not a terminal"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("task: how much is 2 + 2?"), "{stderr}");
    // The code that runs is shown, not counted.
    assert!(
        stderr.contains("  | (local.set $n (i32.const 4))\n"),
        "{stderr}"
    );
    let requests = received.lock().expect("lock").clone();
    let first = &requests[0];
    assert_eq!(first["temperature"], serde_json::json!(0.5));
    assert_eq!(first["max_tokens"], serde_json::json!(77));
    let system = first["messages"][0]["content"]
        .as_str()
        .expect("a system prompt");
    assert!(
        system.ends_with("## Instructions for this session\n\nAnswer in one sentence.\n"),
        "{system}"
    );
    assert_eq!(first["messages"][1]["content"], "how much is 2 + 2?");
}

#[test]
fn bad_model_flags_and_an_empty_task_are_usage_errors() {
    let (server, received) = recording_openai_server(vec![]);
    for (extra, stdin, says) in [
        (
            &["x", "-t", "3"][..],
            None,
            "temperature must be a number from 0 to 2",
        ),
        (
            &["x", "--max-tokens", "0"][..],
            None,
            "max_tokens must be at least 1",
        ),
        (
            &["-"][..],
            Some(" \n"),
            "the task on standard input is empty",
        ),
    ] {
        let out = run(server, extra, stdin);
        assert_eq!(out.status.code(), Some(64), "{extra:?}");
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    let long = "x".repeat(16 * 1024 + 1);
    let out = run(server, &["x", "--system", &long], None);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        text(&out.stderr).contains("more than the 16384"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        received.lock().expect("lock").is_empty(),
        "nothing was asked"
    );
}

/// A server that answers every chat request with `status` and an OpenAI error body.
fn refusing(status: u16, message: &'static str) -> std::net::SocketAddr {
    serve(axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move || async move {
            (
                axum::http::StatusCode::from_u16(status).expect("a status"),
                [("content-type", "application/json")],
                serde_json::json!({"error": {"message": message}}).to_string(),
            )
        }),
    ))
}

#[test]
fn a_refused_key_and_an_unknown_model_have_their_own_exit_statuses() {
    for (status, exit, message) in [
        (401, 77, "Incorrect API key provided"),
        (404, 78, "The model `m` does not exist"),
    ] {
        let out = run(refusing(status, message), &["anything"], None);
        assert_eq!(
            out.status.code(),
            Some(exit),
            "{status}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty());
    }
    // A task that ends without an answer for any other reason is still 1.
    let (server, _) = recording_openai_server(vec![
        "```wat\n(local $n i32) (resv $n)\n```",
        "```wat\n(local $m i32) (resv $m)\n```",
        "```wat\n(local $k i32) (resv $k)\n```",
    ]);
    let out = run(server, &["count", "--max-steps", "2"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn a_retry_says_why() {
    let (server, _) = recording_openai_server(vec![
        "```wat\n(local.set $total (i32.const 1))\n```",
        "```wat\n(resv (i32.const 1))\n```",
        "One.",
    ]);
    let out = run(server, &["one?"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("retry 1: the program does not compile, and its errors are sent back"),
        "{stderr}"
    );
}

#[test]
fn diagnostics_are_coloured_only_where_asked() {
    let body = body_file(INVALID);
    let path = body.path().to_str().expect("utf-8");
    let plain = watsmith(&["exec", path], None);
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        !text(&plain.stderr).contains('\x1b'),
        "a pipe gets no colour"
    );
    let forced = command(&["exec", path])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .expect("runs");
    assert_eq!(forced.status.code(), Some(2));
    let stderr = text(&forced.stderr);
    assert!(stderr.contains("\x1b[1;31merror["), "{stderr:?}");
    let stripped = stderr
        .replace("\x1b[1;31m", "")
        .replace("\x1b[1;34m", "")
        .replace("\x1b[1;36m", "")
        .replace("\x1b[0m", "");
    assert_eq!(stripped, text(&plain.stderr));
}

#[test]
fn localhost_is_refused_as_a_host_with_the_grant_that_works() {
    let body = body_file(VALID);
    let path = body.path().to_str().expect("utf-8");
    let out = watsmith(&["exec", path, "--allow-host", "localhost:8765"], None);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("allow its address (`127.0.0.1:8765`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("request `http://127.0.0.1:8765/`"),
        "{stderr}"
    );
}
