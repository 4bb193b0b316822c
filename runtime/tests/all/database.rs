//! The database store's own rules: the files it refuses, creates, follows and imports, and
//! waiting for another process's lock off the executor. What every store must do is in
//! `store_contract`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use watsmith_runtime::store::{Database, Store as _, StoreError};

fn open(path: &Path) -> Database {
    Database::open(path).expect("opens").database
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
