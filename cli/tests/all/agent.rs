use crate::*;

#[test]
fn demo_replays_its_sessions_through_the_pipeline_and_says_so() {
    let out = watsmith(&["demo"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("(a replay: ").count(), 4, "{stdout}");
    for line in [
        "outcome: ok: 9592 (",
        "answered after 1 action, ",
        "sent back to the model:",
        "undeclared local `$total`",
        "action: @use gcd(1071, 462)",
        "outcome: trap: integer_divide_by_zero",
        "The average of the integers from 1 to 10 is 5.5.",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

/// A scripted OpenAI-compatible server on 127.0.0.1: each request gets the next answer, as a
/// stream when the request asks for one.
pub(crate) fn openai_server(answers: Vec<&'static str>) -> std::net::SocketAddr {
    watsmith_test_support::openai_answers(answers).0
}

/// As [`openai_server`], keeping the requests.
pub(crate) fn recording_openai_server(
    answers: Vec<&'static str>,
) -> (std::net::SocketAddr, watsmith_test_support::Requests) {
    watsmith_test_support::openai_answers(answers)
}

#[test]
fn chat_keeps_the_conversation_and_the_kv_namespace_across_tasks_and_replays() {
    let (server, received) = recording_openai_server(vec![
        "```wat\n(check (call $kv.set \"colour\" \"blue\"))\n```",
        "Stored.",
        "```wat\n(local $v str) (check $v (call $kv.get \"colour\")) (resv $v)\n```",
        "Blue.",
        "I do not know.",
    ]);
    let dir = tempfile::tempdir().expect("temp dir");
    let transcript = dir.path().join("chat.jsonl");
    let transcript = transcript.to_str().expect("utf-8");
    let base = format!("http://{server}/v1");
    let lines = "remember the colour blue\n\nwhat colour?\n/bogus\n/reset\nwhat colour now?\n";
    let chat = |extra: &[&str]| {
        watsmith(
            &[&["chat", "--allow", "kv", "--protocol", "text"][..], extra].concat(),
            Some(lines),
        )
    };
    let out = chat(&[
        "--provider",
        "openai",
        "--model",
        "m",
        "--base-url",
        &base,
        "--transcript",
        transcript,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Stored.\nBlue.\nI do not know.\n");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown command `/bogus`"), "{stderr}");
    assert!(stderr.contains("outcome: ok: blue ("), "{stderr}");
    let requests = received.lock().expect("lock").clone();
    assert_eq!(requests.len(), 5);
    let contents = |n: usize| -> Vec<String> {
        requests[n]["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .skip(1) // the system prompt
            .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // The second task is asked with the first in view.
    let second = contents(2);
    assert_eq!(second[0], "remember the colour blue");
    assert_eq!(second[2].lines().next(), Some("status: ok"));
    assert_eq!(second.last().map(String::as_str), Some("what colour?"));
    // After /reset, only the new task.
    assert_eq!(contents(4), ["what colour now?"]);
    // The same lines against the transcript alone give the same answers.
    let replayed = chat(&["--provider", "replay", "--replay", transcript]);
    assert_eq!(
        text(&replayed.stdout),
        "Stored.\nBlue.\nI do not know.\n",
        "{}",
        text(&replayed.stderr)
    );
}

#[test]
fn use_and_exec_ask_the_model_the_flags_name_for_ai() {
    let (server, received) = recording_openai_server(vec!["bonjour", "oui"]);
    let base = format!("http://{server}/v1");
    let model = ["--provider", "openai", "--model", "m", "--base-url", &base];
    let out = watsmith(
        &[
            &[
                "use",
                "ai_complete",
                "good morning in French",
                "--allow",
                "ai",
            ][..],
            &model[..],
        ]
        .concat(),
        None,
    );
    assert_eq!(text(&out.stdout), "bonjour\n", "{}", text(&out.stderr));
    let asked = received.lock().expect("lock")[0].clone();
    assert_eq!(asked["model"], "m");
    assert_eq!(
        asked["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| &m["content"]),
        Some(&serde_json::json!("good morning in French"))
    );
    // A body run by exec asks it too.
    let body = body_file(
        "(local $a str) (local $s i32)\n\
         (call $ai.complete \"yes in French\") (local.set $s) (local.set $a)\n\
         (check $s) (resv $a)\n",
    );
    let path = body.path().to_str().expect("utf-8 path");
    let out = watsmith(
        &[&["exec", path, "--allow", "ai"][..], &model[..]].concat(),
        None,
    );
    assert_eq!(text(&out.stdout), "oui\n", "{}", text(&out.stderr));
    // A model configured is not a grant: the policy still refuses, and says which flag grants.
    let refused = watsmith(
        &[&["use", "ai_complete", "hi"][..], &model[..]].concat(),
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("`--allow ai`"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        received.lock().expect("lock").len(),
        2,
        "the refused call asked nothing"
    );
    // Granted with no model: the error says how to name one.
    let none = watsmith(&["exec", path, "--allow", "ai"], None);
    assert_eq!(none.status.code(), Some(64));
    assert!(
        text(&none.stderr).contains("--provider"),
        "{}",
        text(&none.stderr)
    );
}

#[test]
fn run_solves_a_task_through_a_provider_and_its_transcript_replays() {
    let server = openai_server(vec![
        "```wat\n(local $n i64)\n(local.set $n (i64.mul (i64.const 6) (i64.const 7)))\n(resv $n)\n```",
        "6 times 7 is 42.",
    ]);
    let dir = tempfile::tempdir().expect("temp dir");
    let transcript = dir.path().join("run.jsonl");
    let transcript = transcript.to_str().expect("utf-8");
    let base = format!("http://{server}/v1");
    let out = watsmith(
        &[
            "run",
            "What is 6 * 7?",
            "--provider",
            "openai",
            "--base-url",
            &base,
            "--model",
            "local",
            "--protocol",
            "text",
            "--transcript",
            transcript,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "6 times 7 is 42.\n");
    let progress = text(&out.stderr);
    assert!(progress.contains("outcome: ok: 42"), "{progress}");
    // The same task from the transcript alone: no server; the model and the protocol are
    // the recording's.
    let replayed = watsmith(
        &[
            "run",
            "What is 6 * 7?",
            "--provider",
            "replay",
            "--replay",
            transcript,
        ],
        None,
    );
    assert_eq!(
        text(&replayed.stdout),
        "6 times 7 is 42.\n",
        "{}",
        text(&replayed.stderr)
    );
    // Another task is not in the recording: the run stops and says why.
    let diverged = watsmith(
        &[
            "run",
            "What is 6 * 8?",
            "--provider",
            "replay",
            "--replay",
            transcript,
            "--protocol",
            "text",
        ],
        None,
    );
    // The replay cannot answer as configured: a configuration failure (78), not a task that
    // ran out of actions.
    assert_eq!(diverged.status.code(), Some(78));
    assert!(text(&diverged.stderr).contains("diverged from the recording"));
    // --json: one event per line.
    let server = openai_server(vec!["Forty-two."]);
    let base = format!("http://{server}/v1");
    let json = watsmith(
        &[
            "run",
            "6 * 7?",
            "--provider",
            "openai",
            "--base-url",
            &base,
            "--model",
            "m",
            "--json",
        ],
        None,
    );
    let events: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["task", "request", "response", "final"]);
    assert_eq!(events[3]["answer"], "Forty-two.");
}

#[test]
fn run_without_a_provider_points_to_the_demo_and_keys_never_print() {
    let none = watsmith(&["run", "anything"], None);
    assert_eq!(none.status.code(), Some(64));
    assert!(
        text(&none.stderr).contains("`watsmith demo`"),
        "{}",
        text(&none.stderr)
    );
    let no_key = Command::new(env!("CARGO_BIN_EXE_watsmith"))
        .args(["run", "x", "--provider", "anthropic", "--model", "m"])
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("WATSMITH_API_KEY")
        .env("XDG_CONFIG_HOME", "/nonexistent/watsmith-tests")
        .output()
        .expect("runs");
    assert_eq!(no_key.status.code(), Some(78), "a configuration failure");
    // The error names the variable to set.
    assert!(
        text(&no_key.stderr).contains("needs an API key: set ANTHROPIC_API_KEY"),
        "{}",
        text(&no_key.stderr)
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("watsmith.toml");
    std::fs::write(
        &config,
        "[agent]\nprovider = \"openai\"\nmodel = \"gpt-test\"\nmax_steps = 3\n",
    )
    .expect("write");
    let show = Command::new(env!("CARGO_BIN_EXE_watsmith"))
        .args(["config", "show"])
        .env("WATSMITH_CONFIG", &config)
        .env("WATSMITH_MODEL", "from-env")
        .env("OPENAI_API_KEY", "sk-secret-value")
        .output()
        .expect("runs");
    let shown = text(&show.stdout);
    assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
    assert!(
        shown.contains("provider = \"openai\"  # from the file"),
        "{shown}"
    );
    assert!(
        shown.contains("model = \"from-env\"  # from the environment"),
        "{shown}"
    );
    assert!(
        shown.contains("api_key = \"[redacted]\"  # from OPENAI_API_KEY"),
        "{shown}"
    );
    assert!(shown.contains("max_steps = 3"), "{shown}");
    assert!(!shown.contains("sk-secret-value"), "{shown}");
    // The same settings as JSON, the runtime's view.
    let json = Command::new(env!("CARGO_BIN_EXE_watsmith"))
        .args(["config", "show", "--json"])
        .env("WATSMITH_CONFIG", &config)
        .env("WATSMITH_MODEL", "from-env")
        .env("OPENAI_API_KEY", "sk-secret-value")
        .output()
        .expect("runs");
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    assert!(!text(&json.stdout).contains("sk-secret-value"));
    let view: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let agent = &view["agent"];
    assert_eq!(
        agent["provider"],
        serde_json::json!({"value": "openai", "source": "file"})
    );
    assert_eq!(agent["model"]["value"], "from-env");
    assert!(
        agent["model"]["source"]
            .as_str()
            .is_some_and(|source| source.starts_with("environment")),
        "{agent}"
    );
    assert_eq!(
        agent["api_key"],
        serde_json::json!({"value": "[redacted]", "source": "environment (OPENAI_API_KEY)"})
    );
    assert_eq!(agent["max_steps"], 3);
    assert_eq!(view["file"], config.display().to_string());
    assert_eq!(view["store"]["lease_secs"], 30);
    std::fs::write(&config, "[agent]\nmodle = \"x\"\n").expect("write");
    let typo = Command::new(env!("CARGO_BIN_EXE_watsmith"))
        .args(["config", "show"])
        .env("WATSMITH_CONFIG", &config)
        .output()
        .expect("runs");
    assert_eq!(typo.status.code(), Some(64));
    assert!(
        text(&typo.stderr).contains("watsmith.toml:2: unknown field `modle`"),
        "{}",
        text(&typo.stderr)
    );
}

#[test]
fn a_program_of_the_agent_may_ask_the_same_model_when_ai_is_granted() {
    let body = "```wat\n(local $a str)\n(check $a (call $ai.complete \"Say hi\"))\n(resv $a)\n```";
    let server = openai_server(vec![body, "hi there", "The model said: hi there."]);
    let base = format!("http://{server}/v1");
    let args = [
        "run",
        "Ask the model to say hi",
        "--provider",
        "openai",
        "--base-url",
        &base,
        "--model",
        "m",
        "--protocol",
        "text",
        "--allow",
        "ai",
    ];
    let out = watsmith(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "The model said: hi there.\n");
    assert!(
        text(&out.stderr).contains("outcome: ok: hi there"),
        "{}",
        text(&out.stderr)
    );
    // Without the grant the program is refused, and the model is told so.
    let server = openai_server(vec![body, "I may not ask."]);
    let base = format!("http://{server}/v1");
    let refused = watsmith(
        &[
            "run",
            "Ask the model to say hi",
            "--provider",
            "openai",
            "--base-url",
            &base,
            "--model",
            "m",
            "--protocol",
            "text",
        ],
        None,
    );
    assert_eq!(
        text(&refused.stdout),
        "I may not ask.\n",
        "{}",
        text(&refused.stderr)
    );
    assert!(
        text(&refused.stderr).contains("outcome: error EACCESS"),
        "{}",
        text(&refused.stderr)
    );
}
