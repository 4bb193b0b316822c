//! The store through the binary, as users and operators meet it: processes sharing one file,
//! a process killed while it writes, the JSON kv file of earlier releases, stored chat
//! sessions.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::{command, text, watsmith};

const COUNTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/kv_counter.wat");

/// Runs the kv counter example once against `store`; the count it printed.
fn count(store: &Path) -> i64 {
    let out = watsmith(
        &[
            "exec",
            COUNTER,
            "--store",
            store.to_str().expect("utf-8"),
            "--allow",
            "kv",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .next()
        .and_then(|line| line.parse().ok())
        .unwrap_or_else(|| panic!("a count: {}", text(&out.stdout)))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    names
}

#[test]
fn two_processes_counting_in_one_store_lose_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("counts.db");
    let runs = 200;
    let counts: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| (0..runs).map(|_| count(&store)).collect::<Vec<i64>>()))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker"))
            .collect()
    });
    // Every increment was seen by exactly one run: the counts are 1..=400, each once.
    let mut all: Vec<i64> = counts.concat();
    all.sort_unstable();
    assert_eq!(all, (1..=2 * runs).collect::<Vec<i64>>());
    for counts in &counts {
        assert!(
            counts.windows(2).all(|w| w[0] < w[1]),
            "each process's counts rise"
        );
    }
    assert_eq!(count(&store), 2 * runs + 1);
    assert_eq!(
        files_in(dir.path()),
        ["counts.db"],
        "no log or temporary file left"
    );
}

#[test]
fn a_process_killed_while_writing_loses_at_most_its_own_run() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("w.db");
    let store_arg = store.to_str().expect("utf-8");
    // Increments as fast as it can until the deadline; killed long before it.
    let writer = crate::body_file(
        r#"(local $n i64) (local $i i32)
        (loop $again
          (check $n (call $kv.incr "writes" (i64.const 1)))
          (br $again))"#,
    );
    let mut last = count(&store);
    for round in 0..8u64 {
        let mut child = command(&[
            "exec",
            writer.path().to_str().expect("utf-8"),
            "--store",
            store_arg,
            "--allow",
            "kv",
            "--fuel",
            "0",
            "--timeout-ms",
            "60000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
        std::thread::sleep(Duration::from_millis(150 + 40 * round));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        // The runs before it are all there, and the store goes on.
        let now = count(&store);
        assert_eq!(
            now,
            last + 1,
            "round {round}: the counter lost or gained runs"
        );
        last = now;
    }
    let connection = rusqlite::Connection::open(&store).expect("opens");
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("checks");
    assert_eq!(check, "ok");
    let writes: i64 = connection
        .query_row(
            "SELECT CAST(value AS TEXT) FROM kv WHERE key = 'writes'",
            [],
            |row| row.get::<_, String>(0),
        )
        .expect("the killed runs wrote")
        .parse()
        .expect("a number");
    assert!(writes > 0, "the killed runs were writing when killed");
    drop(connection);
    assert_eq!(
        files_in(dir.path()),
        ["w.db"],
        "no stray file once the store is closed"
    );
}

#[test]
fn a_kv_file_of_an_earlier_release_is_imported_and_the_user_told() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("counts.json");
    std::fs::write(
        &file,
        r#"{"format": "watsmith-kv", "version": 1, "namespaces": {"default": {"runs": {"text": "41"}, "note": {"text": "first run"}}}}"#,
    )
    .expect("write");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&file, &link).expect("symlink");
    let out = watsmith(
        &["exec", COUNTER, "--kv-file", link.to_str().expect("utf-8")],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "42\nfirst run\n");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--kv-file is deprecated: use --store FILE --allow kv"),
        "{stderr}"
    );
    assert!(
        stderr.contains("imported the JSON kv store") && stderr.contains("counts.json.bak"),
        "{stderr}"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    // The same file is now the database `--store` names.
    let again = watsmith(
        &[
            "exec",
            COUNTER,
            "--store",
            file.to_str().expect("utf-8"),
            "--allow",
            "kv",
        ],
        None,
    );
    assert_eq!(
        text(&again.stdout),
        "43\nfirst run\n",
        "{}",
        text(&again.stderr)
    );
    assert!(!text(&again.stderr).contains("imported"), "imported once");
}

#[test]
fn a_file_that_is_not_a_store_is_refused_and_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "my precious notes\n").expect("write");
    let out = watsmith(
        &[
            "exec",
            COUNTER,
            "--store",
            notes.to_str().expect("utf-8"),
            "--allow",
            "kv",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(66));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("`{}` is not a watsmith store", notes.display())),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&notes).expect("kept"),
        "my precious notes\n"
    );
}

#[test]
fn a_chat_session_is_kept_in_the_store_and_resumed() {
    let (server, requests) = watsmith_test_support::openai_answers(vec![
        "```wat\n(check (call $kv.set \"room\" \"4.12\"))\n```",
        "Noted.",
        "```wat\n(local $r str) (check $r (call $kv.get \"room\")) (resv $r)\n```",
        "Room 4.12.",
    ]);
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("w.db");
    let base = format!("http://{server}/v1");
    let chat = |lines: &str, grants: &[&str]| {
        let args = [
            &[
                "chat",
                "--session",
                "meeting",
                "--store",
                store.to_str().expect("utf-8"),
                "--provider",
                "openai",
                "--model",
                "m",
                "--base-url",
                &base,
                "--protocol",
                "text",
            ][..],
            grants,
        ]
        .concat();
        watsmith(&args, Some(lines))
    };
    let first = chat(
        "remember that the meeting is in room 4.12\n",
        &["--allow", "kv"],
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(text(&first.stdout), "Noted.\n");
    // A later chat, no grant flags: the session's own grants, namespace and history.
    let second = chat("where is the meeting?\n", &[]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert_eq!(text(&second.stdout), "Room 4.12.\n");
    assert!(
        text(&second.stderr).contains("(resumed the session `meeting`: 4 messages so far)"),
        "{}",
        text(&second.stderr)
    );
    let sent = requests.lock().expect("requests").clone();
    assert_eq!(
        sent[2]["messages"][1]["content"],
        "remember that the meeting is in room 4.12"
    );
}
