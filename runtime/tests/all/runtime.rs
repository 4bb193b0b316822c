//! The runtime's calls: exec and use through one engine, policies resolved with the store and
//! the model, sessions stored and resumed.

use watsmith_agent::{Ending, Event};
use watsmith_engine::{PolicySpec, Status, StatusCode, Value};
use watsmith_runtime::{
    AgentSpec, Args, CallSpec, Effective, EventQuery, ExecSpec, Prewarm, Runtime, RuntimeError,
    RuntimeOptions, UseSpec,
};

const COUNTER: &str = r#"(local $n i64) (check $n (call $kv.incr "runs" (i64.const 1))) (resv $n)"#;

fn kv_spec() -> PolicySpec {
    let mut spec = PolicySpec::standard();
    spec.allow("kv");
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_and_use_share_the_store_and_the_engine() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    let runtime = super::runtime(Some(&path)).await;
    for expected in 1..=3 {
        let outcome = runtime
            .exec(ExecSpec {
                body: COUNTER.to_owned(),
                policy: kv_spec(),
                ..ExecSpec::default()
            })
            .await
            .expect("runs");
        assert_eq!(outcome.results, [Value::I64(expected)], "{outcome:?}");
    }
    // The catalog's kv_get reads what the body wrote, in the same namespace.
    let got = runtime
        .use_program(UseSpec {
            call: CallSpec::Words {
                name: "kv_get".to_owned(),
                words: vec!["runs".to_owned()],
            },
            policy: kv_spec(),
            limits: Default::default(),
            cancel: None,
        })
        .await
        .expect("runs");
    assert_eq!(got.results, [Value::Str("3".to_owned())], "{got:?}");
    drop(runtime);
    // Another runtime on the same file (another process, later) goes on counting.
    let again = super::runtime(Some(&path)).await;
    let outcome = again
        .exec(ExecSpec {
            body: COUNTER.to_owned(),
            policy: kv_spec(),
            ..ExecSpec::default()
        })
        .await
        .expect("runs");
    assert_eq!(outcome.results, [Value::I64(4)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_call_runs_the_pre_linked_program() {
    let mut options = RuntimeOptions::new(Effective::default());
    options.prewarm = Prewarm::Now;
    let runtime = Runtime::start(options).await.expect("starts");
    let programs = runtime.catalog().programs().len();
    assert_eq!(runtime.prepared().warm(), programs);
    let compiled = runtime.engine().cache_stats().misses;
    for _ in 0..3 {
        let outcome = runtime
            .use_program(UseSpec {
                call: CallSpec::Text("fib(20)".to_owned()),
                policy: PolicySpec::standard(),
                limits: Default::default(),
                cancel: None,
            })
            .await
            .expect("runs");
        assert_eq!(outcome.results, [Value::I64(6765)]);
    }
    let stats = runtime.engine().cache_stats();
    assert_eq!(
        (stats.hits, stats.misses),
        (0, compiled),
        "no lookup, nothing compiled: the program was pre-linked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_specs_are_typed_errors_and_refusals_are_outcomes() {
    let runtime = super::runtime(None).await;
    let mut teleport = PolicySpec::standard();
    teleport.allow("teleport");
    let error = runtime
        .exec(ExecSpec {
            body: "nop".to_owned(),
            policy: teleport,
            ..ExecSpec::default()
        })
        .await
        .expect_err("unknown capability");
    assert!(matches!(error, RuntimeError::Policy(_)), "{error:?}");
    // `ai` without a model configured: the model error, before anything runs.
    let mut ai = PolicySpec::standard();
    ai.allow("ai");
    let error = runtime
        .exec(ExecSpec {
            body: "nop".to_owned(),
            policy: ai,
            ..ExecSpec::default()
        })
        .await
        .expect_err("no model");
    assert!(matches!(error, RuntimeError::Model(_)), "{error:?}");
    let error = runtime
        .use_program(UseSpec {
            call: CallSpec::Text("gcd(1)".to_owned()),
            policy: PolicySpec::standard(),
            limits: Default::default(),
            cancel: None,
        })
        .await
        .expect_err("arity");
    assert!(
        error
            .to_string()
            .starts_with("`gcd` takes 2 arguments, not 1")
    );
    // A refusal is the program's outcome, with the engine's own hint (no front end's).
    let refused = runtime
        .exec(ExecSpec {
            body: COUNTER.to_owned(),
            policy: PolicySpec::standard(),
            ..ExecSpec::default()
        })
        .await
        .expect("an outcome");
    assert_eq!(
        (refused.status, refused.code),
        (Status::Error, Some(StatusCode::EACCESS))
    );
    assert_eq!(
        refused.diagnostics[0].hint.as_deref(),
        Some("the run's policy must allow `kv`, or solve the task without it")
    );
}

/// A runtime of `store` whose model is the OpenAI-compatible server at `base_url`, asked in the
/// text protocol without streaming.
async fn agent_runtime(store: &std::path::Path, base_url: &str) -> Runtime {
    start(agent_settings(store, base_url)).await
}

/// A runtime of `settings`, nothing pre-warmed.
pub(crate) async fn start(settings: Effective) -> Runtime {
    watsmith_test_support::install_tls();
    let mut options = RuntimeOptions::new(settings);
    options.prewarm = Prewarm::OnDemand;
    Runtime::start(options).await.expect("starts")
}

/// The settings of [`agent_runtime`].
pub(crate) fn agent_settings(store: &std::path::Path, base_url: &str) -> Effective {
    let mut settings = Effective {
        store: Some(store.to_path_buf()),
        ..Effective::default()
    };
    let agent = &mut settings.agent;
    agent.provider = Some(watsmith_runtime::Sourced {
        value: watsmith_runtime::settings::ProviderName::OpenAi,
        source: watsmith_runtime::Source::Flag,
    });
    agent.model = Some(watsmith_runtime::Sourced {
        value: "m".to_owned(),
        source: watsmith_runtime::Source::Flag,
    });
    agent.base_url = Some(watsmith_runtime::Sourced {
        value: base_url.to_owned(),
        source: watsmith_runtime::Source::Flag,
    });
    agent.protocol = watsmith_agent::Protocol::Text;
    agent.stream = false;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_session_is_resumed_with_its_history_namespace_and_events() {
    let (server, requests) = watsmith_test_support::openai_answers(vec![
        "```wat\n(check (call $kv.set \"colour\" \"blue\"))\n```",
        "Stored.",
        "```wat\n(local $v str) (check $v (call $kv.get \"colour\")) (resv $v)\n```",
        "Blue.",
    ]);
    let base = format!("http://{server}/v1");
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("w.db");
    let mut granted = kv_spec();
    granted.kv_namespace = Some("notes".to_owned());
    {
        let runtime = agent_runtime(&store, &base).await;
        let mut session = runtime
            .agent(AgentSpec {
                session: Some("work".to_owned()),
                policy: Some(granted),
                limits: None,
                model: None,
            })
            .await
            .expect("a session");
        assert_eq!(session.resumed(), None, "a new one");
        let finish = session
            .run("remember blue", &mut |_: &Event| {}, std::future::pending())
            .await
            .expect("ran");
        assert_eq!(finish.ending, Ending::Answer("Stored.".to_owned()));
    }
    // Another runtime (a later process): the session comes back with its conversation, its
    // namespace and its grants, none of them given again.
    let runtime = agent_runtime(&store, &base).await;
    let mut session = runtime
        .agent(AgentSpec {
            session: Some("work".to_owned()),
            ..AgentSpec::default()
        })
        .await
        .expect("resumed");
    assert_eq!(session.resumed(), Some(4));
    // Resumed in another namespace, its programs would not find what they stored: refused.
    let mut elsewhere = kv_spec();
    elsewhere.kv_namespace = Some("elsewhere".to_owned());
    let refused = runtime
        .agent(AgentSpec {
            session: Some("work".to_owned()),
            policy: Some(elsewhere),
            limits: None,
            model: None,
        })
        .await
        .expect_err("another namespace");
    assert!(
        matches!(&refused, RuntimeError::ResumedNamespace { namespace, .. } if namespace == "notes"),
        "{refused}"
    );
    let finish = session
        .run("what colour?", &mut |_: &Event| {}, std::future::pending())
        .await
        .expect("ran");
    assert_eq!(finish.ending, Ending::Answer("Blue.".to_owned()));
    let sent = requests.lock().expect("requests").clone();
    assert_eq!(sent.len(), 4);
    assert_eq!(
        sent[2]["messages"][1]["content"], "remember blue",
        "the history"
    );
    // What the programs stored is in the session's namespace of the store.
    let store_handle = runtime.store();
    assert_eq!(
        store_handle
            .kv()
            .get("notes", "colour")
            .await
            .expect("read"),
        Some(b"blue".to_vec())
    );
    // Every event of both tasks is in the transcript, numbered, by task.
    let events = store_handle
        .events("work", &EventQuery::default())
        .await
        .expect("events");
    let tasks: Vec<&str> = events.iter().map(|e| e.task.as_str()).collect();
    assert_eq!(tasks.first(), Some(&"1"));
    assert_eq!(tasks.last(), Some(&"2"));
    assert!(events.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    assert!(matches!(
        events.last().map(|e| &e.line.event),
        Some(Event::Final { .. })
    ));
    let record = store_handle
        .load_session("work")
        .await
        .expect("loads")
        .expect("there");
    assert_eq!((record.tasks, record.messages.len()), (2, 8));
    assert_eq!(record.model.map(|m| m.model), Some("m".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_stored_sessions_get_kv_namespaces_of_their_own() {
    let (server, _) = watsmith_test_support::openai_answers(vec![
        "```wat\n(check (call $kv.set \"k\" \"from a\"))\n```",
        "Stored.",
        "```wat\n(check (call $kv.set \"k\" \"from b\"))\n```",
        "Stored.",
    ]);
    let dir = tempfile::tempdir().expect("dir");
    let runtime = agent_runtime(&dir.path().join("w.db"), &format!("http://{server}/v1")).await;
    for name in ["a", "b"] {
        let mut session = runtime
            .agent(AgentSpec {
                session: Some(name.to_owned()),
                policy: Some(kv_spec()),
                limits: None,
                model: None,
            })
            .await
            .expect("a session");
        let finish = session
            .run("store k", &mut |_: &Event| {}, std::future::pending())
            .await
            .expect("ran");
        assert_eq!(finish.ending, Ending::Answer("Stored.".to_owned()));
    }
    let store = runtime.store();
    let kv = store.kv();
    assert_eq!(kv.get("session:a", "k").await, Ok(Some(b"from a".to_vec())));
    assert_eq!(kv.get("session:b", "k").await, Ok(Some(b"from b".to_vec())));
    assert_eq!(kv.get("default", "k").await, Ok(None), "not the shared one");
    let record = store
        .load_session("a")
        .await
        .expect("loads")
        .expect("there");
    assert_eq!(
        record.kv_namespace,
        watsmith_runtime::session_namespace("a")
    );
    // Names the store cannot key a session by are refused before anything is stored.
    for name in [
        "",
        "tab\there",
        &"x".repeat(watsmith_runtime::MAX_SESSION_NAME_BYTES + 1),
    ] {
        let error = runtime
            .agent(AgentSpec {
                session: Some(name.to_owned()),
                ..AgentSpec::default()
            })
            .await
            .expect_err("refused");
        assert!(
            matches!(error, RuntimeError::SessionName { .. }),
            "{name:?}: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_resumed_twice_at_once_loses_neither_task() {
    let (server, _) = watsmith_test_support::openai_answers(vec!["One.", "Two.", "Three."]);
    let base = format!("http://{server}/v1");
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("w.db");
    let spec = || AgentSpec {
        session: Some("shared".to_owned()),
        ..AgentSpec::default()
    };
    let first_runtime = agent_runtime(&store, &base).await;
    let mut first = first_runtime.agent(spec()).await.expect("created");
    first
        .run("task one", &mut |_: &Event| {}, std::future::pending())
        .await
        .expect("ran");
    // Two processes resume it.
    let second_runtime = agent_runtime(&store, &base).await;
    let mut second = second_runtime.agent(spec()).await.expect("resumed");
    let mut again = first_runtime.agent(spec()).await.expect("resumed");
    again
        .run("task two", &mut |_: &Event| {}, std::future::pending())
        .await
        .expect("ran");
    // Resumed before task two was saved, the second copy takes it up when its own task
    // takes the session's lease: task three goes on from both, and nothing is overwritten.
    second
        .run("task three", &mut |_: &Event| {}, std::future::pending())
        .await
        .expect("ran after the others");
    let handle = first_runtime.store();
    let record = handle
        .load_session("shared")
        .await
        .expect("loads")
        .expect("there");
    assert_eq!(record.tasks, 3);
    let asked: Vec<_> = record
        .messages
        .iter()
        .filter(|m| m.role == watsmith_agent::Role::User)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(asked, ["task one", "task two", "task three"]);
    let events = handle
        .events("shared", &EventQuery::default())
        .await
        .expect("events");
    let mut tasks: Vec<&str> = events.iter().map(|e| e.task.as_str()).collect();
    tasks.dedup();
    assert_eq!(tasks, ["1", "2", "3"]);
    // The copy resumed before them all resets under the lease: it takes up what they saved,
    // then forgets the conversation (what reset asks for); their events are kept.
    again.reset().await.expect("resets");
    let record = handle
        .load_session("shared")
        .await
        .expect("loads")
        .expect("there");
    assert_eq!((record.messages.len(), record.tasks), (0, 3));
    let after = handle
        .events("shared", &EventQuery::default())
        .await
        .expect("events");
    assert_eq!(after, events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_kv_call_waits_for_another_process_ends_at_its_deadline() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    let runtime = super::runtime(Some(&path)).await;
    let other = rusqlite::Connection::open(&path).expect("connects");
    other.execute_batch("BEGIN IMMEDIATE").expect("locks");
    let outcome = runtime
        .exec(ExecSpec {
            body: COUNTER.to_owned(),
            policy: kv_spec(),
            limits: watsmith_engine::LimitsSpec {
                timeout_ms: Some(200),
                ..Default::default()
            },
            ..ExecSpec::default()
        })
        .await
        .expect("runs");
    // The deadline (200 ms), not the store's busy timeout (5 s), ended it.
    assert_eq!(
        (outcome.status, outcome.trap.as_ref().map(|trap| trap.kind)),
        (Status::Trap, Some(watsmith_engine::TrapKind::Timeout)),
        "{outcome:?}"
    );
    other.execute_batch("COMMIT").expect("unlocks");
    let after = runtime
        .exec(ExecSpec {
            body: COUNTER.to_owned(),
            policy: kv_spec(),
            ..ExecSpec::default()
        })
        .await
        .expect("runs");
    assert_eq!(
        after.results,
        [Value::I64(1)],
        "the abandoned call wrote nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_cannot_give_a_session_the_namespace_of_another_one() {
    let (server, _) = watsmith_test_support::openai_answers(vec![
        "```wat\n(check (call $kv.set \"k\" \"from mine\"))\n```",
        "Stored.",
    ]);
    let dir = tempfile::tempdir().expect("dir");
    let runtime = agent_runtime(&dir.path().join("w.db"), &format!("http://{server}/v1")).await;
    // The session `mine`, with a policy naming the namespace a new session `theirs` gets.
    let mut granted = kv_spec();
    granted.kv_namespace = Some(watsmith_runtime::session_namespace("theirs"));
    match runtime
        .agent(AgentSpec {
            session: Some("mine".to_owned()),
            policy: Some(granted),
            limits: None,
            model: None,
        })
        .await
    {
        Err(error) => assert!(
            error.to_string().contains("session:theirs"),
            "refused, naming the namespace: {error}"
        ),
        Ok(mut session) => {
            session
                .run("store k", &mut |_: &Event| {}, std::future::pending())
                .await
                .expect("ran");
            // Whatever `mine` stored, the session `theirs`, made later, must not find it.
            let theirs = runtime
                .agent(AgentSpec {
                    session: Some("theirs".to_owned()),
                    policy: Some(kv_spec()),
                    limits: None,
                    model: None,
                })
                .await
                .expect("a session");
            drop(theirs);
            assert_eq!(
                runtime
                    .store()
                    .kv()
                    .get(&watsmith_runtime::session_namespace("theirs"), "k")
                    .await,
                Ok(None),
                "`theirs` sees what `mine` stored"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_whose_save_failed_keeps_its_events_for_the_next_save() {
    let (server, _) = watsmith_test_support::openai_answers(vec!["One.", "Two."]);
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("w.db");
    let runtime = agent_runtime(&store, &format!("http://{server}/v1")).await;
    let mut session = runtime
        .agent(AgentSpec {
            session: Some("s".to_owned()),
            ..AgentSpec::default()
        })
        .await
        .expect("a session");
    // Another process takes the write lock once the task has begun (its lease taken) and holds
    // it past the store's busy timeout: the save fails.
    let other = std::sync::Mutex::new(rusqlite::Connection::open(&store).expect("connects"));
    let mut locked = false;
    let error = session
        .run(
            "task one",
            &mut |_: &Event| {
                if !locked {
                    let other = other.lock().expect("one user");
                    other.execute_batch("BEGIN IMMEDIATE").expect("locks");
                    locked = true;
                }
            },
            std::future::pending(),
        )
        .await
        .expect_err("the store is locked");
    assert!(
        matches!(
            &error,
            RuntimeError::Store(watsmith_runtime::StoreError::Io { .. })
        ),
        "{error}"
    );
    let other = other.into_inner().expect("one user");
    other.execute_batch("COMMIT").expect("unlocks");
    // The session goes on; the next save stores both tasks, and both tasks' events.
    session
        .run("task two", &mut |_: &Event| {}, std::future::pending())
        .await
        .expect("ran");
    let handle = runtime.store();
    let record = handle
        .load_session("s")
        .await
        .expect("loads")
        .expect("there");
    assert_eq!(record.tasks, 2);
    let events = handle
        .events("s", &EventQuery::default())
        .await
        .expect("events");
    let mut tasks: Vec<&str> = events.iter().map(|e| e.task.as_str()).collect();
    tasks.dedup();
    assert_eq!(tasks, ["1", "2"], "the first task's events are kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_are_typed_by_the_locals_argv_reads_them_into() {
    let runtime = super::runtime(None).await;
    let body = "(local $a i32) (local $b f64) (local $c str) (local $d i64)
        (argv 0 $a) (argv 1 $b) (argv 2 $c) (argv 3 $d)
        (resv $a) (resv $b) (resv $c) (resv $d)";
    let words = |words: &[&str]| Args::Words(words.iter().map(|w| (*w).to_owned()).collect());
    let outcome = runtime
        .exec(ExecSpec {
            body: body.to_owned(),
            args: words(&["4294967295", "-0", "0x10", "1_000"]),
            policy: PolicySpec::standard(),
            ..ExecSpec::default()
        })
        .await
        .expect("runs");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    // The i32 text form wraps; `-0` read as a float keeps its sign; text stays text.
    assert_eq!(outcome.results[0], Value::I32(-1));
    assert!(
        matches!(outcome.results[1], Value::F64(x) if x == 0.0 && x.is_sign_negative()),
        "{:?}",
        outcome.results[1]
    );
    assert_eq!(
        outcome.results[2..],
        [Value::Str("0x10".into()), Value::I64(1000)]
    );
    // A word that does not read as its type is refused before anything runs, by position.
    let error = runtime
        .exec(ExecSpec {
            body: body.to_owned(),
            args: words(&["4294967296", "0", "x", "0"]),
            policy: PolicySpec::standard(),
            ..ExecSpec::default()
        })
        .await
        .expect_err("out of range for i32");
    assert!(
        matches!(error, RuntimeError::Argument { index: 0, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("argument 0: `4294967296` is out of range for i32"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_concurrent_catalog_calls_on_the_default_pool_never_trap() {
    let runtime = std::sync::Arc::new(super::runtime(None).await);
    assert_eq!(
        runtime.engine().allocation(),
        watsmith_engine::Allocation::Pool {
            slots: watsmith_engine::limits::DEFAULT_POOL_SLOTS
        }
    );
    // A sieve of several milliseconds: each call yields at every tick, so hundreds are under
    // way at once, more than the pool's slots (without the queue, the 257th traps).
    let calls: Vec<_> = (0..600)
        .map(|_| {
            let runtime = std::sync::Arc::clone(&runtime);
            tokio::spawn(async move {
                runtime
                    .use_program(UseSpec {
                        call: CallSpec::Text("primes_below(5000000)".to_owned()),
                        policy: PolicySpec::standard(),
                        // Hundreds of runs share two cores: a deadline of a single run's
                        // would pass in the crowd, and this test is about the pool.
                        limits: watsmith_engine::LimitsSpec {
                            timeout_ms: Some(30_000),
                            ..Default::default()
                        },
                        cancel: None,
                    })
                    .await
            })
        })
        .collect();
    let (mut done, mut busy) = (0, 0);
    for call in calls {
        match call.await.expect("no panic") {
            Ok(outcome) => {
                assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
                assert_eq!(outcome.results, [Value::I64(348_513)]);
                done += 1;
            }
            Err(error @ RuntimeError::Busy { .. }) => {
                assert_eq!(error.kind(), watsmith_runtime::ErrorKind::Busy);
                busy += 1;
            }
            Err(error) => panic!("neither done nor busy: {error}"),
        }
    }
    assert_eq!(done + busy, 600);
    assert!(
        done >= 256,
        "at least a poolful ran: {done} done, {busy} busy"
    );
}
