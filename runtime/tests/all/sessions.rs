//! The sessions service: live sessions by id, one task at a time on each (a second is refused
//! at once, in this process and in another sharing the store), eviction that runs on its own,
//! and a crashed holder's lease that runs out.

use std::io::{BufRead as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use watsmith_agent::{Ending, Event};
use watsmith_engine::CancellationToken;
use watsmith_runtime::store::StoreError;
use watsmith_runtime::{ErrorKind, RuntimeError, SessionSpec, Sessions, SessionsConfig};

use super::runtime::{agent_settings, start};

/// A model that never answers: a listener whose connections wait in its backlog.
fn silent_model() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("address"));
    (listener, base)
}

/// Runs `task` on `id` in the background; its first event arrives on the returned channel once
/// the task holds the session (its lease taken).
fn run_in_background(
    sessions: &Arc<Sessions>,
    id: &str,
    cancel: &CancellationToken,
) -> (
    tokio::task::JoinHandle<Result<watsmith_agent::Finish, RuntimeError>>,
    tokio::sync::mpsc::UnboundedReceiver<()>,
) {
    let (started, began) = tokio::sync::mpsc::unbounded_channel();
    let (sessions, id, cancel) = (Arc::clone(sessions), id.to_owned(), cancel.clone());
    let task = tokio::spawn(async move {
        let mut sink = move |_: &Event| {
            let _ = started.send(());
        };
        sessions
            .run(&id, "wait for the model", &mut sink, &cancel)
            .await
    });
    (task, began)
}

fn cancelled() -> CancellationToken {
    let token = CancellationToken::new();
    token.cancel();
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_task_on_a_busy_session_is_refused_at_once_here_and_by_another_runtime() {
    let (_listener, base) = silent_model();
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("w.db");
    let here = Sessions::start(
        Arc::new(start(agent_settings(&store, &base)).await),
        SessionsConfig::default(),
    );
    let created = here
        .create(SessionSpec {
            id: Some("s".to_owned()),
            ..SessionSpec::default()
        })
        .await
        .expect("created");
    assert_eq!((created.id.as_str(), created.messages), ("s", 0));
    assert_eq!(created.model, "openai:m");
    let again = here
        .create(SessionSpec {
            id: Some("s".to_owned()),
            ..SessionSpec::default()
        })
        .await
        .expect_err("exists");
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");

    let cancel = CancellationToken::new();
    let (first, mut began) = run_in_background(&here, "s", &cancel);
    began.recv().await.expect("the task began");
    assert!(here.get("s").await.expect("there").running);
    let started = Instant::now();
    let busy = here
        .run(
            "s",
            "another",
            &mut |_: &Event| {},
            &CancellationToken::new(),
        )
        .await
        .expect_err("busy");
    assert!(matches!(busy, RuntimeError::SessionBusy { .. }), "{busy}");
    assert_eq!(busy.kind(), ErrorKind::Busy);
    let deleting = here.delete("s").await.expect_err("running");
    assert_eq!(deleting.kind(), ErrorKind::Busy);

    // Another runtime on the same store (as another process would be): the store's lease.
    let there = Sessions::start(
        Arc::new(start(agent_settings(&store, &base)).await),
        SessionsConfig::default(),
    );
    let leased = there
        .run(
            "s",
            "another",
            &mut |_: &Event| {},
            &CancellationToken::new(),
        )
        .await
        .expect_err("leased");
    assert!(
        matches!(leased, RuntimeError::Store(StoreError::Leased { .. })),
        "{leased}"
    );
    assert_eq!(leased.kind(), ErrorKind::Busy);
    // At once: the model, which never answers, was not asked.
    assert!(started.elapsed() < Duration::from_secs(60));

    cancel.cancel();
    let finish = first.await.expect("no panic").expect("ran");
    assert!(matches!(finish.ending, Ending::Stopped(_)), "{finish:?}");
    // The lease was given back: the other runtime's task runs (and is cancelled at once).
    there
        .run("s", "another", &mut |_: &Event| {}, &cancelled())
        .await
        .expect("the lease is free");

    let missing = here
        .run("nobody", "x", &mut |_: &Event| {}, &cancelled())
        .await
        .expect_err("no such session");
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    assert!(here.delete("s").await.expect("deleted"));
    assert_eq!(
        here.get("s").await.expect_err("gone").kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_are_evicted_by_the_sweeper_and_expired_ones_removed_from_the_store() {
    let (_listener, base) = silent_model();
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = agent_settings(&dir.path().join("w.db"), &base);
    settings.session_ttl = Duration::from_millis(300);
    let runtime = Arc::new(start(settings).await);
    let sessions = Sessions::start(
        Arc::clone(&runtime),
        SessionsConfig {
            idle: Duration::from_millis(100),
            sweep: Duration::from_millis(20),
        },
    );
    let made = sessions
        .create(SessionSpec::default())
        .await
        .expect("created");
    assert_eq!(made.id.len(), 32, "a random id: {made:?}");
    assert_eq!(sessions.live(), 1);
    // Dropped from memory on its own, still stored; then expired in the store too.
    let started = Instant::now();
    while sessions.live() > 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "never evicted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while runtime.store().list_sessions().await.expect("list").len() == 1 {
        assert!(started.elapsed() < Duration::from_secs(60), "never expired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        sessions.get(&made.id).await.expect_err("expired").kind(),
        ErrorKind::NotFound
    );
}

/// What the child says once it holds the session.
const LEASED: &str = "the child holds the lease";

/// The variable that makes [`lease_holder`] the child of [`a_crashed_holders_lease_runs_out`].
const CHILD_STORE: &str = "WATSMITH_TEST_LEASE_STORE";

/// Run by [`a_crashed_holders_lease_runs_out_and_nothing_stored_is_lost`] as its child process:
/// runs a task on the session `s` of the store `$WATSMITH_TEST_LEASE_STORE` with a model that
/// never answers, says [`LEASED`] once it holds the session, and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the two-process lease test, run by it"]
async fn lease_holder() {
    let store = std::env::var_os(CHILD_STORE).expect("run by the two-process test");
    let (_listener, base) = silent_model();
    let mut settings = agent_settings(std::path::Path::new(&store), &base);
    settings.lease = Duration::from_secs(1);
    let sessions = Sessions::start(Arc::new(start(settings).await), SessionsConfig::default());

    let (task, mut began) = run_in_background(&sessions, "s", &CancellationToken::new());
    began.recv().await.expect("the task began");
    // On the line libtest began with `test sessions::lease_holder ... `.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{LEASED}").expect("the parent reads it");
    out.flush().expect("the parent reads it");
    drop(out);
    let finish = task.await;
    panic!("the task was to wait for the model until killed: {finish:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_holders_lease_runs_out_and_nothing_stored_is_lost() {
    let (server, _requests) = watsmith_test_support::openai_answers(vec!["Noted."]);
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("w.db");
    let mut settings = agent_settings(&store, &format!("http://{server}/v1"));
    settings.lease = Duration::from_secs(1);
    let sessions = Sessions::start(Arc::new(start(settings).await), SessionsConfig::default());
    sessions
        .create(SessionSpec {
            id: Some("s".to_owned()),
            ..SessionSpec::default()
        })
        .await
        .expect("created");
    let finish = sessions
        .run(
            "s",
            "note this",
            &mut |_: &Event| {},
            &CancellationToken::new(),
        )
        .await
        .expect("ran");
    assert_eq!(finish.ending, Ending::Answer("Noted.".to_owned()));
    let messages = sessions.get("s").await.expect("there").messages;
    assert!(messages >= 2, "{messages}");

    let mut child = std::process::Command::new(std::env::current_exe().expect("this binary"))
        .args([
            "--exact",
            "sessions::lease_holder",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_STORE, &store)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the child starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("its output")).lines();
    let said = tokio::task::spawn_blocking(move || {
        lines.find(|line| line.as_ref().is_ok_and(|line| line.ends_with(LEASED)))
    })
    .await
    .expect("no panic");
    assert!(said.is_some(), "the child never held the session");

    let leased = sessions
        .run("s", "again", &mut |_: &Event| {}, &cancelled())
        .await
        .expect_err("the child holds it");
    assert!(
        matches!(leased, RuntimeError::Store(StoreError::Leased { .. })),
        "{leased}"
    );
    // SIGKILL: the child gives nothing back.
    child.kill().expect("killed");
    child.wait().expect("reaped");
    let killed = Instant::now();
    loop {
        match sessions
            .run("s", "again", &mut |_: &Event| {}, &cancelled())
            .await
        {
            Ok(_) => break,
            Err(RuntimeError::Store(StoreError::Leased { .. })) => {
                assert!(killed.elapsed() < Duration::from_secs(60), "never ran out");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("{error}"),
        }
    }
    // The conversation stored before the child's task is whole (that task never saved).
    let stored = sessions
        .runtime()
        .store()
        .load_session("s")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(stored.messages.len(), messages);
}

/// A runtime of `settings` with the store and the models handed in.
async fn start_with(
    settings: watsmith_runtime::Effective,
    store: &Arc<dyn watsmith_runtime::Store>,
    models: std::collections::BTreeMap<String, watsmith_runtime::ModelChoice>,
) -> Arc<watsmith_runtime::Runtime> {
    watsmith_test_support::install_tls();
    let mut options = watsmith_runtime::RuntimeOptions::new(settings);
    options.prewarm = watsmith_runtime::Prewarm::OnDemand;
    options.store = Some(Arc::clone(store));
    options.models = models;
    Arc::new(
        watsmith_runtime::Runtime::start(options)
            .await
            .expect("starts"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_handed_in_is_the_one_used_and_shared_by_the_runtimes_given_it() {
    let (_listener, base) = silent_model();
    let dir = tempfile::tempdir().expect("dir");
    let named = dir.path().join("named.db");
    let store: Arc<dyn watsmith_runtime::Store> = Arc::new(watsmith_runtime::MemoryStore::new());
    // The settings name a database file; the store handed in wins, and no file is made.
    let settings = agent_settings(&named, &base);
    let one = Sessions::start(
        start_with(settings.clone(), &store, Default::default()).await,
        SessionsConfig::default(),
    );
    let two = Sessions::start(
        start_with(settings, &store, Default::default()).await,
        SessionsConfig::default(),
    );
    assert!(!named.exists(), "the settings' file is not opened");
    assert_eq!(one.runtime().store().describe(), "the in-memory store");
    let id = one
        .create(SessionSpec::default())
        .await
        .expect("created")
        .id;
    assert_eq!(two.get(&id).await.expect("seen by the other").id, id);
    // A task on it in one runtime is refused at once in the other: the lease is in the store.
    let submitted = one.submit(&id, "wait".to_owned()).await.expect("runs");
    let refused = two
        .run(
            &id,
            "another",
            &mut |_: &Event| {},
            &CancellationToken::new(),
        )
        .await
        .expect_err("busy");
    assert!(
        matches!(refused, RuntimeError::Store(StoreError::Leased { .. })),
        "{refused}"
    );
    assert!(one.cancel(&id, None));
    let _ = tokio::time::timeout(Duration::from_secs(10), submitted.done).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_talks_to_the_model_it_names_and_keeps_it_when_resumed() {
    let (default_server, default_requests) =
        watsmith_test_support::openai_answers(vec!["From the default."]);
    let (other_server, other_requests) =
        watsmith_test_support::openai_answers(vec!["From the other.", "Again the other."]);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    let store: Arc<dyn watsmith_runtime::Store> = Arc::new(
        watsmith_runtime::Database::open(&path)
            .expect("opens")
            .database,
    );
    let settings = agent_settings(&path, &format!("http://{default_server}/v1"));
    let models = || {
        let mut other = agent_settings(&path, &format!("http://{other_server}/v1")).agent;
        other.model = Some(watsmith_runtime::Sourced {
            value: "m2".to_owned(),
            source: watsmith_runtime::Source::Flag,
        });
        let other = watsmith_runtime::model::connect_model(&other).expect("connects");
        std::collections::BTreeMap::from([("other".to_owned(), other)])
    };
    let runtime = start_with(settings.clone(), &store, models()).await;
    assert_eq!(runtime.model_names(), ["openai:m", "other"]);
    let sessions = Sessions::start(Arc::clone(&runtime), SessionsConfig::default());
    let unknown = sessions
        .create(SessionSpec {
            model: Some("nope".to_owned()),
            ..SessionSpec::default()
        })
        .await
        .expect_err("no such model");
    assert_eq!(unknown.kind(), ErrorKind::NotFound, "{unknown}");
    assert!(unknown.to_string().contains("openai:m, other"), "{unknown}");

    let info = sessions
        .create(SessionSpec {
            id: Some("s".to_owned()),
            model: Some("other".to_owned()),
            ..SessionSpec::default()
        })
        .await
        .expect("created");
    assert_eq!(info.model, "openai:m2");
    let never = CancellationToken::new();
    sessions
        .run("s", "hello", &mut |_: &Event| {}, &never)
        .await
        .expect("ran");
    // The default model by its label is a name too.
    let by_label = sessions
        .create(SessionSpec {
            model: Some("openai:m".to_owned()),
            ..SessionSpec::default()
        })
        .await
        .expect("created");
    sessions
        .run(&by_label.id, "hello", &mut |_: &Event| {}, &never)
        .await
        .expect("ran");
    drop(sessions);

    // Resumed by another runtime with the same models: the session keeps its model.
    let again = Sessions::start(
        start_with(settings, &store, models()).await,
        SessionsConfig::default(),
    );
    assert_eq!(again.get("s").await.expect("resumed").model, "openai:m2");
    again
        .run("s", "hello again", &mut |_: &Event| {}, &never)
        .await
        .expect("ran");
    let asked = |requests: &watsmith_test_support::Requests| -> Vec<String> {
        requests
            .lock()
            .expect("requests")
            .iter()
            .map(|request| request["model"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(asked(&other_requests), ["m2", "m2"]);
    assert_eq!(asked(&default_requests), ["m"]);
}
