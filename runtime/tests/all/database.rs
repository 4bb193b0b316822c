//! The database store in one process: what it refuses, what it keeps, and its quotas.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use watsmith_agent::{Event, Message, Spent, Stop, TranscriptLine};
use watsmith_engine::{KvError, KvQuota, PolicySpec};
use watsmith_runtime::store::{Database, SessionRecord, Store, StoreError};

fn open(path: &Path) -> Database {
    Database::open(path).expect("opens").database
}

fn record(id: &str, expires_ms: u64) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        messages: vec![Message::user("hello"), Message::assistant("hi", Vec::new())],
        kv_namespace: "default".to_owned(),
        model: None,
        policy: PolicySpec::standard(),
        limits: Default::default(),
        tasks: 1,
        created_ms: 1,
        updated_ms: 2,
        expires_ms,
        revision: 0,
    }
}

#[test]
fn a_new_store_is_private_and_identified_as_watsmiths() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    drop(open(&path));
    let mode = std::fs::metadata(&path)
        .expect("created")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let head = std::fs::read(&path).expect("readable");
    assert!(head.starts_with(b"SQLite format 3\0"));
    // SQLite's application id, at byte 68, big-endian: `WSMT`.
    assert_eq!(&head[68..72], b"WSMT");
    // Closed cleanly: the log is folded in and gone.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["w.db"]);
}

#[test]
fn a_foreign_or_damaged_file_is_refused_by_name_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("dir");
    // Another program's SQLite database: a valid one whose application id is not ours.
    let other = dir.path().join("other.db");
    drop(open(&other));
    let mut bytes = std::fs::read(&other).expect("read");
    bytes[68..72].copy_from_slice(b"ABCD");
    std::fs::write(&other, bytes).expect("write");
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            dir.path().join("random.bin"),
            "it is not an SQLite database",
        ),
        (
            dir.path().join("notes.json"),
            "it is JSON, but not a watsmith kv file",
        ),
        (other.clone(), "another program's SQLite database"),
        (dir.path().join("truncated.db"), "damaged or not a database"),
    ];
    std::fs::write(&cases[0].0, b"\x7fELF and then some bytes").expect("write");
    std::fs::write(&cases[1].0, br#"{"todo": ["milk"]}"#).expect("write");
    // A real store cut short: its header says SQLite, its pages are missing.
    let real = dir.path().join("real.db");
    drop(open(&real));
    let bytes = std::fs::read(&real).expect("read");
    std::fs::write(&cases[3].0, &bytes[..100]).expect("write");
    for (path, reason) in &cases {
        let before = std::fs::read(path).expect("read");
        let error = Database::open(path).expect_err("refused");
        let message = error.to_string();
        assert!(
            message.contains(&format!("`{}`", path.display())),
            "names the file: {message}"
        );
        assert!(message.contains(reason), "{message}");
        assert!(matches!(error, StoreError::Foreign { .. }), "{error:?}");
        assert_eq!(
            std::fs::read(path).expect("still there"),
            before,
            "untouched"
        );
    }
}

#[test]
fn a_store_of_another_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    drop(open(&path));
    let mut bytes = std::fs::read(&path).expect("read");
    // user_version, at byte 60, big-endian.
    bytes[60..64].copy_from_slice(&7i32.to_be_bytes());
    std::fs::write(&path, bytes).expect("write");
    let error = Database::open(&path)
        .expect_err("another version")
        .to_string();
    assert!(
        error.contains("format version 7; this build reads version 2"),
        "{error}"
    );
}

#[test]
fn a_symbolic_link_is_followed_and_the_files_permissions_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let target = dir.path().join("data/real.db");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    drop(open(&target));
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    {
        let database = open(&link);
        database.put("ns", "k", b"v").expect("stored");
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink(),
        "still a link"
    );
    let mode = std::fs::metadata(&target)
        .expect("target")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640, "permissions kept");
    assert_eq!(
        open(&target).value("ns", "k").expect("read"),
        Some(b"v".to_vec())
    );
}

#[test]
fn a_json_kv_file_is_imported_in_place_and_kept_as_a_backup() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("counts.json");
    let json = r#"{"format": "watsmith-kv", "version": 1, "namespaces": {
        "default": {"runs": {"text": "41"}, "blob": {"base64": "AP8="}},
        "other": {"k": {"text": "v"}}}}"#;
    std::fs::write(&path, json).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let opened = Database::open(&path).expect("imported");
    let imported = opened.imported.clone().expect("it was JSON");
    assert_eq!((imported.keys, imported.namespaces), (3, 2));
    assert_eq!(imported.backup, dir.path().join("counts.json.bak"));
    assert_eq!(
        std::fs::read_to_string(&imported.backup).expect("backup"),
        json
    );
    let database = opened.database;
    assert_eq!(
        database.value("default", "runs").expect("read"),
        Some(b"41".to_vec())
    );
    assert_eq!(
        database.value("default", "blob").expect("read"),
        Some(vec![0, 255])
    );
    assert_eq!(
        database.value("other", "k").expect("read"),
        Some(b"v".to_vec())
    );
    drop(database);
    let mode = std::fs::metadata(&path).expect("db").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the file's permissions");
    // Opened again, it is a database: nothing more to import.
    assert!(Database::open(&path).expect("opens").imported.is_none());
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["counts.json", "counts.json.bak"],
        "no temporary file left"
    );
}

#[tokio::test]
async fn quotas_hold_at_their_edge_in_the_database_too() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    let quota = KvQuota {
        max_keys: 3,
        max_bytes: 20,
    };
    let database = Database::open_with_quota(&path, quota)
        .expect("opens")
        .database;
    let kv = database.kv();
    // "a" + 9 bytes = 10; "b" + 9 = 10: exactly 20.
    kv.set("ns", "a", &[1; 9]).await.expect("fits");
    kv.set("ns", "b", &[1; 9]).await.expect("fits");
    assert!(
        matches!(kv.set("ns", "c", b"").await, Err(KvError::Quota(_))),
        "one byte over"
    );
    // Replacing counts only the difference; shrinking frees room.
    kv.set("ns", "a", &[2; 9]).await.expect("same size");
    kv.set("ns", "a", &[3; 1]).await.expect("smaller");
    kv.set("ns", "c", &[0; 6]).await.expect("now it fits");
    assert!(
        matches!(kv.set("ns", "d", b"").await, Err(KvError::Quota(_))),
        "a fourth key"
    );
    assert!(kv.delete("ns", "c").await.expect("deleted"));
    kv.set("ns", "d", b"").await.expect("the key count freed");
    // Another namespace has its own quota.
    kv.set("other", "a", &[1; 19]).await.expect("fits");
    // An increment is a write under the same quota, and atomic.
    assert!(matches!(
        kv.incr("ns", "d", 1).await,
        Err(KvError::NotInteger { .. })
    ));
    assert!(kv.delete("ns", "d").await.expect("deleted"));
    assert_eq!(kv.incr("ns", "n", 5).await, Ok(5));
    assert_eq!(kv.incr("ns", "n", -2).await, Ok(3));
    kv.set("ns", "big", b"9223372036854775807")
        .await
        .expect_err("the quota");
    assert_eq!(kv.list("ns", "").await.expect("list"), ["a", "b", "n"]);
    assert_eq!(kv.list("ns", "b").await.expect("list"), ["b"]);
    assert!(kv.has("other", "a").await.expect("has"));
    assert_eq!(kv.get("ns", "nope").await, Ok(None));
}

#[tokio::test]
async fn sessions_expire_and_events_are_numbered_per_session() {
    let dir = tempfile::tempdir().expect("dir");
    let database = open(&dir.path().join("w.db"));
    let live = record("live", u64::MAX / 2);
    assert_eq!(database.save_session(&live).await.expect("saved"), 1);
    database
        .save_session(&record("old", 1))
        .await
        .expect("saved");
    assert_eq!(
        database.load_session("live").await.expect("loads"),
        Some(SessionRecord {
            revision: 1,
            ..live.clone()
        })
    );
    let listed: Vec<String> = database
        .list_sessions()
        .await
        .expect("lists")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ["live"], "the expired one is not listed");
    assert_eq!(database.load_session("old").await.expect("loads"), None);
    assert!(
        !database.delete_session("old").await.expect("deletes"),
        "it was removed"
    );

    let line = |ts_ms: u128| TranscriptLine {
        ts_ms,
        event: Event::Stopped {
            reason: Stop::Cancelled,
            spent: Spent::default(),
        },
    };
    assert_eq!(
        database
            .append_events("live", "1", &[line(1), line(2)])
            .await
            .expect("appended"),
        [1, 2]
    );
    assert_eq!(
        database
            .append_events("live", "2", &[line(3)])
            .await
            .expect("appended"),
        [3]
    );
    assert_eq!(
        database
            .append_events("other", "1", &[line(9)])
            .await
            .expect("appended"),
        [1]
    );
    let after_one = database.events("live", None, 1).await.expect("events");
    assert_eq!(
        after_one
            .iter()
            .map(|e| (e.seq, e.task.as_str(), e.line.ts_ms))
            .collect::<Vec<_>>(),
        [(2, "1", 2), (3, "2", 3)]
    );
    assert_eq!(
        database
            .events("live", Some("2"), 0)
            .await
            .expect("events")
            .len(),
        1
    );
    assert_eq!(
        database.events("live", None, 0).await.expect("events")[0].line,
        line(1)
    );
    assert!(database.delete_session("live").await.expect("deletes"));
    assert!(
        database
            .events("live", None, 0)
            .await
            .expect("events")
            .is_empty(),
        "and its events"
    );
}

#[tokio::test]
async fn a_session_changed_by_another_process_since_it_was_loaded_is_not_overwritten() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    // Two connections to one file: two processes.
    let (first, second) = (open(&path), open(&path));
    let created = record("work", u64::MAX / 2);
    assert_eq!(first.save_session(&created).await.expect("created"), 1);
    // Creating it again, from a record that never was in the store, would replace it.
    assert!(matches!(
        second.save_session(&created).await,
        Err(StoreError::Changed {
            loaded: 0,
            now: Some(1),
            ..
        })
    ));
    let mut mine = first
        .load_session("work")
        .await
        .expect("loads")
        .expect("there");
    let mut theirs = second
        .load_session("work")
        .await
        .expect("loads")
        .expect("there");
    mine.tasks = 2;
    mine.revision = first.save_session(&mine).await.expect("saved");
    assert_eq!(mine.revision, 2);
    theirs.tasks = 7;
    let error = second.save_session(&theirs).await.expect_err("stale");
    assert_eq!(
        error,
        StoreError::Changed {
            session: "work".to_owned(),
            loaded: 1,
            now: Some(2)
        }
    );
    assert!(error.to_string().contains("resume it again"), "{error}");
    let kept = second
        .load_session("work")
        .await
        .expect("loads")
        .expect("there");
    assert_eq!(
        (kept.tasks, kept.revision),
        (2, 2),
        "the first save is kept"
    );
    // Saved after the other removed it: refused, not brought back.
    assert!(first.delete_session("work").await.expect("deletes"));
    assert!(matches!(
        second.save_session(&kept).await,
        Err(StoreError::Changed { now: None, .. })
    ));
    assert_eq!(second.load_session("work").await.expect("loads"), None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_kv_call_that_waits_for_another_process_never_blocks_the_executor() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    let database = open(&path);
    // Another process holds the write lock.
    let other = rusqlite::Connection::open(&path).expect("connects");
    other.execute_batch("BEGIN IMMEDIATE").expect("locks");
    let kv = database.kv();
    let waiting = tokio::spawn({
        let kv = std::sync::Arc::clone(&kv);
        async move { kv.set("ns", "key", b"value").await }
    });
    // One thread runs this test and the call: had the call blocked it while waiting, it would
    // have given up by the time this sleep ends.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "the call waits, off the executor");
    // Reads go on meanwhile (the log lets readers past a writer).
    assert_eq!(kv.get("ns", "key").await, Ok(None));
    other.execute_batch("COMMIT").expect("unlocks");
    assert_eq!(waiting.await.expect("joined"), Ok(()));
    assert_eq!(kv.get("ns", "key").await, Ok(Some(b"value".to_vec())));
}

#[tokio::test]
async fn a_session_removed_and_made_again_is_not_overwritten_by_a_save_from_before() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    // Two processes on one file, and the in-memory store with two sessions of one process.
    let database = (open(&path), open(&path));
    let memory = std::sync::Arc::new(watsmith_runtime::store::MemoryStore::new());
    let stores: [(&str, &dyn Store, &dyn Store); 2] = [
        ("database", &database.0, &database.1),
        ("memory", &*memory, &*memory),
    ];
    for (which, first, second) in stores {
        for expired in [false, true] {
            let id = format!("work-{expired}");
            // The first creates the session and runs a task in it; the second resumes it.
            let lifetime = if expired { 0 } else { u64::MAX / 2 };
            let mut created = record(&id, u64::MAX / 2);
            created.revision = first.save_session(&created).await.expect("created");
            let stale = second
                .load_session(&id)
                .await
                .expect("loads")
                .expect("there");
            created.expires_ms = lifetime;
            created.revision = first.save_session(&created).await.expect("saved");
            // The session goes (removed, or expired and dropped when loaded), and a new one of
            // the same name is made and saved as often as the old one was.
            if expired {
                assert_eq!(first.load_session(&id).await.expect("loads"), None);
            } else {
                assert!(first.delete_session(&id).await.expect("deletes"));
            }
            let mut new = record(&id, u64::MAX / 2);
            new.tasks = 9;
            new.revision = first.save_session(&new).await.expect("made again");
            if new.revision < stale.revision {
                new.revision = first.save_session(&new).await.expect("saved again");
            }
            // The second still holds the old one: its save must not replace the new session.
            let saved = second.save_session(&stale).await;
            assert!(
                matches!(saved, Err(StoreError::Changed { .. })),
                "{which}, expired {expired}: {saved:?}"
            );
            let kept = first
                .load_session(&id)
                .await
                .expect("loads")
                .expect("there");
            assert_eq!(
                kept.tasks, 9,
                "{which}, expired {expired}: the new session is kept"
            );
        }
    }
}

#[tokio::test]
async fn a_session_made_again_does_not_inherit_events_appended_after_the_old_one_went() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("w.db");
    let database = (open(&path), open(&path));
    let memory = watsmith_runtime::store::MemoryStore::new();
    let stores: [(&str, &dyn Store, &dyn Store); 2] = [
        ("database", &database.0, &database.1),
        ("memory", &memory, &memory),
    ];
    let line = TranscriptLine {
        ts_ms: 1,
        event: Event::Stopped {
            reason: Stop::Cancelled,
            spent: Spent::default(),
        },
    };
    for (which, first, second) in stores {
        // The second saves a task of the session; the first removes the session before the
        // second appends the task's events (two calls, and the removal between them).
        second
            .save_session(&record("work", u64::MAX / 2))
            .await
            .expect("saved");
        assert!(first.delete_session("work").await.expect("deletes"));
        second
            .append_events("work", "1", std::slice::from_ref(&line))
            .await
            .ok();
        // A new session of the name is made: its transcript is its own.
        first
            .save_session(&record("work", u64::MAX / 2))
            .await
            .expect("made again");
        assert_eq!(
            first.events("work", None, 0).await.expect("events"),
            [],
            "{which}: the removed session's late events"
        );
    }
}
