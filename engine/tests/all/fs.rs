//! The `fs` capability: normal use, and every way out of the jail we could think of.

use std::path::{Path, PathBuf};

use tempfile::TempDir;
use watsmith_engine::limits::FS_ENTRY_BYTES;
use watsmith_engine::{
    Engine, FsGrant, Limits, Outcome, Policy, Status, StatusCode, TrapKind, Value,
};

use super::engine;

const READ: &str = r#"(local $p str) (local $b bytes) (argv 0 $p)
    (check $b (call $fs.read (local.get $p))) (resv $b)"#;
const WRITE: &str = r#"(local $p str) (local $d bytes) (argv 0 $p) (argv 1 $d)
    (check (call $fs.write (local.get $p) (local.get $d)))"#;
const APPEND: &str = r#"(local $p str) (local $d bytes) (argv 0 $p) (argv 1 $d)
    (check (call $fs.append (local.get $p) (local.get $d)))"#;
/// The names as one str, joined by newlines (the list is an array).
const LIST: &str = r#"(local $p str) (local $names i32) (local $s str) (argv 0 $p)
    (check $names (call $fs.list (local.get $p)))
    (check $s (call $arr.join (local.get $names) "\n")) (resv $s)"#;
const EXISTS: &str = r#"(local $p str) (local $h i32) (argv 0 $p)
    (local.set $h (call $fs.exists (local.get $p))) (resv $h)"#;
const DELETE: &str = r#"(local $p str) (argv 0 $p) (check (call $fs.delete (local.get $p)))"#;
const MKDIR: &str = r#"(local $p str) (argv 0 $p) (check (call $fs.mkdir (local.get $p)))"#;

/// A temporary tree: `jail/` (the root) and, beside it, `outside/secret.txt`, with symlinks
/// from the jail to both.
struct Tree {
    _dir: TempDir,
    jail: PathBuf,
    outside: PathBuf,
}

const SECRET: &str = "top secret";

fn tree() -> Tree {
    let dir = tempfile::tempdir().expect("tempdir");
    let jail = dir.path().join("jail");
    let outside = dir.path().join("outside");
    for d in [&jail, &jail.join("sub"), &outside] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(outside.join("secret.txt"), SECRET).expect("write");
    std::fs::write(jail.join("notes.txt"), "hello\n").expect("write");
    std::fs::write(jail.join("sub/inner.txt"), "inner").expect("write");
    let links: [(&str, PathBuf); 9] = [
        ("link_out_file", PathBuf::from("../outside/secret.txt")),
        ("link_out_abs", outside.join("secret.txt")),
        ("link_out_dir", PathBuf::from("../outside")),
        ("sub/link_up", PathBuf::from("../../outside/secret.txt")),
        ("link_in", PathBuf::from("notes.txt")),
        ("link_in_dir", PathBuf::from("sub")),
        ("link_abs_inside", jail.join("notes.txt")),
        // Dangling: writing through it would create a file outside.
        ("link_out_new", PathBuf::from("../outside/created.txt")),
        // A chain: inside, then out.
        ("link_chain", PathBuf::from("link_out_file")),
    ];
    for (link, target) in links {
        std::os::unix::fs::symlink(target, jail.join(link)).expect("symlink");
    }
    Tree {
        _dir: dir,
        jail,
        outside,
    }
}

impl Tree {
    fn secret_is_intact(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.outside)
            .expect("outside")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["secret.txt"], "nothing was added outside the jail");
        assert_eq!(
            std::fs::read_to_string(self.outside.join("secret.txt")).expect("secret"),
            SECRET
        );
    }
}

fn run(engine: &Engine, grant: &FsGrant, body: &str, args: &[Value]) -> Outcome {
    let policy = Policy::standard().grant(grant.clone());
    engine.exec(body, args.to_vec(), &policy, &Limits::default())
}

fn text(s: &str) -> Value {
    Value::Str(s.to_owned())
}

fn path(p: &Path) -> Value {
    text(p.to_str().expect("utf-8 temp path"))
}

fn assert_refused(outcome: &Outcome, code: StatusCode, log: &str) {
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(code)),
        "{outcome:?}"
    );
    assert!(outcome.results.is_empty(), "{outcome:?}");
    assert!(
        outcome.logs.iter().any(|line| line.contains(log)),
        "no log line containing {log:?}: {:?}",
        outcome.logs
    );
}

const OUTSIDE: &str = "outside the jail root";
const ABSOLUTE: &str = "absolute paths are refused";

#[test]
fn reads_that_climb_out_are_refused() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_only(&tree.jail);
    for escape in [
        "../outside/secret.txt",
        "sub/../../outside/secret.txt",
        "./../outside/secret.txt",
        "sub/../sub/../../outside/secret.txt",
        "..",
    ] {
        let outcome = run(&engine, &grant, READ, &[text(escape)]);
        assert_refused(&outcome, StatusCode::EACCESS, OUTSIDE);
        assert!(
            outcome.logs[0].starts_with("fs.read \""),
            "{:?}",
            outcome.logs
        );
    }
    let listed = run(&engine, &grant, LIST, &[text("..")]);
    assert_refused(&listed, StatusCode::EACCESS, OUTSIDE);
    let listed = run(&engine, &grant, LIST, &[text("sub/../..")]);
    assert_refused(&listed, StatusCode::EACCESS, OUTSIDE);
    // A `..` that stays inside is fine.
    let inside = run(&engine, &grant, READ, &[text("sub/../notes.txt")]);
    assert_eq!(
        inside.results,
        [Value::Bytes(b"hello\n".to_vec())],
        "{inside:?}"
    );
}

#[test]
fn absolute_paths_are_refused_even_inside_the_jail() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_write(&tree.jail);
    for absolute in [
        text("/etc/passwd"),
        path(&tree.outside.join("secret.txt")),
        path(&tree.jail.join("notes.txt")),
    ] {
        let outcome = run(&engine, &grant, READ, std::slice::from_ref(&absolute));
        assert_refused(&outcome, StatusCode::EACCESS, ABSOLUTE);
        let listed = run(&engine, &grant, LIST, &[text("/")]);
        assert_refused(&listed, StatusCode::EACCESS, ABSOLUTE);
        let exists = run(&engine, &grant, EXISTS, &[absolute]);
        assert_eq!(exists.results, [Value::I32(0)], "{exists:?}");
    }
    let written = run(
        &engine,
        &grant,
        WRITE,
        &[path(&tree.outside.join("new.txt")), text("x")],
    );
    assert_refused(&written, StatusCode::EACCESS, ABSOLUTE);
    tree.secret_is_intact();
}

#[test]
fn symlinks_that_lead_out_are_refused() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_only(&tree.jail);
    for link in [
        "link_out_file",
        "link_out_abs",
        "link_out_dir/secret.txt",
        "sub/link_up",
        "link_abs_inside",
        "link_chain",
    ] {
        let outcome = run(&engine, &grant, READ, &[text(link)]);
        assert_refused(&outcome, StatusCode::EACCESS, OUTSIDE);
        let exists = run(&engine, &grant, EXISTS, &[text(link)]);
        assert_eq!(exists.results, [Value::I32(0)], "{link}: {exists:?}");
        assert!(
            exists.logs.iter().any(|l| l.contains(OUTSIDE)),
            "exists says why: {:?}",
            exists.logs
        );
    }
    let listed = run(&engine, &grant, LIST, &[text("link_out_dir")]);
    assert_refused(&listed, StatusCode::EACCESS, OUTSIDE);
}

#[test]
fn writes_through_escapes_are_refused_and_change_nothing_outside() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_write(&tree.jail);
    let data = Value::Bytes(b"pwned".to_vec());
    for target in [
        "../outside/secret.txt",
        "../outside/new.txt",
        "link_out_file",
        "link_out_abs",
        "link_out_dir/secret.txt",
        "link_out_dir/new.txt",
        "sub/link_up",
        "link_out_new",
        "link_chain",
    ] {
        for body in [WRITE, APPEND] {
            let outcome = run(&engine, &grant, body, &[text(target), data.clone()]);
            assert_refused(&outcome, StatusCode::EACCESS, OUTSIDE);
        }
    }
    for dir in ["../outside/d", "link_out_dir/d", "link_out_dir/d/e"] {
        let outcome = run(&engine, &grant, MKDIR, &[text(dir)]);
        assert_refused(&outcome, StatusCode::EACCESS, OUTSIDE);
    }
    for file in ["../outside/secret.txt", "link_out_dir/secret.txt"] {
        let outcome = run(&engine, &grant, DELETE, &[text(file)]);
        assert_refused(&outcome, StatusCode::EACCESS, OUTSIDE);
    }
    tree.secret_is_intact();
    // Deleting a symlink that points out removes the link, not its target.
    let unlinked = run(&engine, &grant, DELETE, &[text("link_out_file")]);
    assert_eq!(unlinked.status, Status::Ok, "{unlinked:?}");
    assert!(std::fs::symlink_metadata(tree.jail.join("link_out_file")).is_err());
    tree.secret_is_intact();
}

#[test]
fn symlinks_that_stay_inside_are_followed() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_only(&tree.jail);
    let file = run(&engine, &grant, READ, &[text("link_in")]);
    assert_eq!(
        file.results,
        [Value::Bytes(b"hello\n".to_vec())],
        "{file:?}"
    );
    let through_dir = run(&engine, &grant, READ, &[text("link_in_dir/inner.txt")]);
    assert_eq!(through_dir.results, [Value::Bytes(b"inner".to_vec())]);
    let listed = run(&engine, &grant, LIST, &[text("")]);
    assert_eq!(
        listed.results,
        [text(
            "link_abs_inside\nlink_chain\nlink_in\nlink_in_dir/\nlink_out_abs\nlink_out_dir\nlink_out_file\nlink_out_new\nnotes.txt\nsub/"
        )],
        "a link to a directory inside gets a slash; one leading out does not: {listed:?}"
    );
}

#[test]
fn a_read_only_grant_refuses_every_change() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_only(&tree.jail);
    let data = text("changed");
    let attempts = [
        (WRITE, vec![text("notes.txt"), data.clone()]),
        (WRITE, vec![text("new.txt"), data.clone()]),
        (APPEND, vec![text("notes.txt"), data]),
        (DELETE, vec![text("notes.txt")]),
        (MKDIR, vec![text("newdir")]),
    ];
    for (body, args) in attempts {
        let outcome = run(&engine, &grant, body, &args);
        assert_refused(&outcome, StatusCode::EACCESS, "the grant is read-only");
    }
    assert_eq!(
        std::fs::read_to_string(tree.jail.join("notes.txt")).expect("notes"),
        "hello\n"
    );
    assert!(!tree.jail.join("new.txt").exists());
    assert!(!tree.jail.join("newdir").exists());
}

#[test]
fn files_are_written_appended_listed_and_deleted() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_write(&tree.jail);
    let body = r#"(local $s str) (local $b bytes) (local $h i32)
        (check (call $fs.write "out.txt" "abc"))
        (check (call $fs.append "out.txt" "def"))
        (check (call $fs.append "log.txt" "first"))
        (check $b (call $fs.read "out.txt")) (resv $b)
        (check (call $fs.mkdir "a/b/c"))
        (check (call $fs.mkdir "a/b/c"))
        (check (call $fs.write "a/b/c/x.txt" "deep"))
        (check $h (call $fs.list "a/b")) (check $s (call $arr.get_str (local.get $h) (i32.const 0))) (resv $s)
        (check $h (call $fs.list "a/b/c")) (check $s (call $arr.get_str (local.get $h) (i32.const 0))) (resv $s)
        (check (call $fs.delete "out.txt"))
        (local.set $h (call $fs.exists "out.txt")) (resv $h)
        (local.set $h (call $fs.exists "a/b")) (resv $h)
        (check (call $fs.write "notes.txt" "replaced"))"#;
    let outcome = run(&engine, &grant, body, &[]);
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(
        outcome.results,
        [
            Value::Bytes(b"abcdef".to_vec()),
            text("c/"),
            text("x.txt"),
            Value::I32(0),
            Value::I32(1),
        ]
    );
    assert_eq!(outcome.usage.io_ops, 13);
    let on_disk = |p: &str| std::fs::read_to_string(tree.jail.join(p)).expect(p);
    assert_eq!(on_disk("log.txt"), "first");
    assert_eq!(on_disk("a/b/c/x.txt"), "deep");
    assert_eq!(on_disk("notes.txt"), "replaced");
    assert!(!tree.jail.join("out.txt").exists());
}

#[test]
fn non_utf8_content_round_trips_as_bytes() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_write(&tree.jail);
    let blob = vec![0xff, 0x00, 0xfe, b'\n', 0xc3];
    let written = run(
        &engine,
        &grant,
        WRITE,
        &[text("bin.dat"), Value::Bytes(blob.clone())],
    );
    assert_eq!(written.status, Status::Ok, "{written:?}");
    assert_eq!(std::fs::read(tree.jail.join("bin.dat")).expect("bin"), blob);
    let read = run(&engine, &grant, READ, &[text("bin.dat")]);
    assert_eq!(read.results, [Value::Bytes(blob)]);
}

#[test]
fn missing_paths_are_enoent() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_write(&tree.jail);
    let missing = "no such file or directory";
    let cases = [
        (READ, vec![text("missing.txt")]),
        (DELETE, vec![text("missing.txt")]),
        (LIST, vec![text("nodir")]),
    ];
    for (body, args) in cases {
        assert_refused(
            &run(&engine, &grant, body, &args),
            StatusCode::ENOENT,
            missing,
        );
    }
    for body in [WRITE, APPEND] {
        assert_refused(
            &run(&engine, &grant, body, &[text("nodir/x.txt"), text("x")]),
            StatusCode::ENOENT,
            "its directory does not exist (fs.mkdir creates it)",
        );
    }
    let exists = run(&engine, &grant, EXISTS, &[text("missing.txt")]);
    assert_eq!(exists.results, [Value::I32(0)]);
    assert!(!tree.jail.join("nodir").exists());
}

#[test]
fn the_wrong_kind_of_entry_is_ebound() {
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_write(&tree.jail);
    let directory = "it is a directory";
    assert_refused(
        &run(&engine, &grant, READ, &[text("sub")]),
        StatusCode::EBOUND,
        directory,
    );
    assert_refused(
        &run(&engine, &grant, READ, &[text("")]),
        StatusCode::EBOUND,
        directory,
    );
    assert_refused(
        &run(&engine, &grant, WRITE, &[text("sub"), text("x")]),
        StatusCode::EBOUND,
        directory,
    );
    assert_refused(
        &run(&engine, &grant, DELETE, &[text("sub")]),
        StatusCode::EBOUND,
        directory,
    );
    assert_refused(
        &run(&engine, &grant, LIST, &[text("notes.txt")]),
        StatusCode::EBOUND,
        "is a file where a directory is needed",
    );
    assert_refused(
        &run(&engine, &grant, MKDIR, &[text("notes.txt")]),
        StatusCode::EBOUND,
        "fs.mkdir \"notes.txt\": a file is in the way of the directory",
    );
    assert_refused(
        &run(&engine, &grant, READ, &[text("bad\0name")]),
        StatusCode::EBOUND,
        "invalid path",
    );
    assert!(tree.jail.join("sub/inner.txt").exists());
    let binary_path = r#"(local $p bytes) (local $b bytes) (argv 0 $p)
        (check $b (call $fs.read (local.get $p)))"#;
    assert_refused(
        &run(
            &engine,
            &grant,
            binary_path,
            &[Value::Bytes(vec![b'x', 0xff])],
        ),
        StatusCode::ETRFM,
        "is not UTF-8",
    );
}

#[test]
fn a_file_larger_than_the_memory_limit_is_enomem_before_it_is_read() {
    let (engine, tree) = (engine(), tree());
    std::fs::write(tree.jail.join("big.bin"), vec![7u8; 3 << 20]).expect("write");
    let grant = FsGrant::read_only(&tree.jail);
    let limits = Limits {
        memory_bytes: 2 << 20,
        ..Limits::default()
    };
    let policy = Policy::deny_all().grant(grant);
    let outcome = engine.exec(READ, vec![text("big.bin")], &policy, &limits);
    assert_refused(
        &outcome,
        StatusCode::ENOMEM,
        "the file is 3145728 bytes; the run's memory holds at most 2097152",
    );
}

#[test]
fn a_grant_without_a_root_or_with_a_missing_one_is_refused() {
    let (engine, tree) = (engine(), tree());
    let body = "(local $h i32)\n(local.set $h (call $fs.exists \"notes.txt\"))";
    let no_root = engine.exec(
        body,
        vec![],
        &Policy::deny_all().allow("fs"),
        &Limits::default(),
    );
    assert_eq!(
        (no_root.status, no_root.code),
        (Status::Error, Some(StatusCode::EACCESS))
    );
    let message = &no_root.diagnostics[0].message;
    assert!(
        message.contains("capability `fs` cannot be used: no jail root was given"),
        "{message}"
    );
    assert_eq!(no_root.diagnostics[0].line, 2);

    let missing = FsGrant::read_only(tree.jail.join("nowhere"));
    let outcome = run(&engine, &missing, body, &[]);
    assert_eq!(outcome.code, Some(StatusCode::EACCESS));
    assert!(
        outcome.diagnostics[0]
            .message
            .contains("cannot open the jail root"),
        "{outcome:?}"
    );
    assert_eq!(outcome.fuel_used, Some(0), "it never ran");
}

#[test]
fn every_call_spends_the_storage_budget() {
    let (engine, tree) = (engine(), tree());
    let body =
        r#"(local $h i32) (loop $again (local.set $h (call $fs.exists "notes.txt")) (br $again))"#;
    let limits = Limits {
        max_io_ops: 5,
        ..Limits::default()
    };
    let policy = Policy::deny_all().grant(FsGrant::read_only(&tree.jail));
    let outcome = engine.exec(body, vec![], &policy, &limits);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::HostBudget),
        "{outcome:?}"
    );
    assert_eq!(outcome.usage.io_ops, 5);
    // Refused calls spend it too.
    let refused =
        r#"(local $h i32) (loop $again (local.set $h (call $fs.exists "../x")) (br $again))"#;
    let outcome = engine.exec(refused, vec![], &policy, &limits);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::HostBudget)
    );
}

#[test]
fn a_named_pipe_is_refused_instead_of_blocking_the_run() {
    let (engine, tree) = (engine(), tree());
    let fifo = tree.jail.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let grant = FsGrant::read_write(&tree.jail);
    let not_regular = "it is not a regular file";
    assert_refused(
        &run(&engine, &grant, READ, &[text("pipe")]),
        StatusCode::EBOUND,
        not_regular,
    );
    for body in [WRITE, APPEND] {
        let outcome = run(&engine, &grant, body, &[text("pipe"), text("x")]);
        assert_refused(&outcome, StatusCode::EBOUND, not_regular);
    }
}

#[test]
fn a_jail_under_the_root_is_opened_through_it_and_cannot_lead_out() {
    let tree = tree();
    let engine = engine();
    let inner = FsGrant::read_only(&tree.jail).within("sub");
    let outcome = run(&engine, &inner, READ, &[text("inner.txt")]);
    assert_eq!(
        outcome.results,
        [Value::Bytes(b"inner".to_vec())],
        "{outcome:?}"
    );
    // The root's own files are outside this jail.
    assert_refused(
        &run(&engine, &inner, READ, &[text("../notes.txt")]),
        StatusCode::EACCESS,
        "outside",
    );
    // A jail directory that is a symlink out of the root, or `..`, is refused before the run.
    for dir in ["link_out_dir", "../outside", "sub/../../outside"] {
        let escaping = FsGrant::read_only(&tree.jail).within(dir);
        let outcome = run(&engine, &escaping, READ, &[text("secret.txt")]);
        assert_eq!(
            (outcome.status, outcome.code),
            (Status::Error, Some(StatusCode::EACCESS)),
            "{dir}: {outcome:?}"
        );
        assert!(
            outcome.diagnostics[0]
                .message
                .contains("cannot open the jail"),
            "{dir}: {outcome:?}"
        );
    }
    tree.secret_is_intact();
}

#[test]
fn each_level_of_a_narrowed_jail_is_opened_through_the_one_above() {
    let tree = tree();
    let engine = engine();
    // `sub/to_root` leads back to the root: inside the root, outside `sub`.
    std::os::unix::fs::symlink("..", tree.jail.join("sub/to_root")).expect("symlink");
    let through_root = FsGrant::read_only(&tree.jail).within("sub/to_root");
    assert_eq!(
        run(&engine, &through_root, READ, &[text("notes.txt")]).results,
        [Value::Bytes(b"hello\n".to_vec())],
        "one level under the root may lead anywhere inside the root"
    );
    // Jailed in `sub` first, the same link leads outside that jail: refused before the run.
    let narrowed = FsGrant::read_only(&tree.jail)
        .within("sub")
        .within("to_root");
    let outcome = run(&engine, &narrowed, READ, &[text("notes.txt")]);
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::EACCESS)),
        "{outcome:?}"
    );
    let message = &outcome.diagnostics[0].message;
    assert!(
        message.contains("cannot open the jail `to_root` under"),
        "{message}"
    );
    // Levels that stay inside each other are one jail.
    std::fs::create_dir(tree.jail.join("sub/deeper")).expect("mkdir");
    std::fs::write(tree.jail.join("sub/deeper/x.txt"), "x").expect("write");
    let nested = FsGrant::read_only(&tree.jail)
        .within("sub")
        .within("deeper");
    assert_eq!(
        run(&engine, &nested, READ, &[text("x.txt")]).results,
        [Value::Bytes(b"x".to_vec())]
    );
    tree.secret_is_intact();
}

#[test]
fn a_hard_link_to_a_file_outside_the_jail_is_neither_read_nor_written() {
    let tree = tree();
    let engine = engine();
    std::fs::hard_link(
        tree.outside.join("secret.txt"),
        tree.jail.join("linked.txt"),
    )
    .expect("hard link");
    let grant = FsGrant::read_write(&tree.jail);
    assert_refused(
        &run(&engine, &grant, READ, &[text("linked.txt")]),
        StatusCode::EACCESS,
        "hard links",
    );
    for body in [WRITE, APPEND] {
        let outcome = run(
            &engine,
            &grant,
            body,
            &[text("linked.txt"), text("overwritten")],
        );
        assert_refused(&outcome, StatusCode::EACCESS, "hard links");
    }
    tree.secret_is_intact();
    // Deleting the name inside the jail leaves the file outside as it was.
    let deleted = run(&engine, &grant, DELETE, &[text("linked.txt")]);
    assert_eq!(deleted.status, Status::Ok, "{deleted:?}");
    tree.secret_is_intact();
}

#[test]
fn writes_past_the_runs_quota_of_bytes_are_refused_before_anything_is_written() {
    let tree = tree();
    let engine = engine();
    let policy = Policy::deny_all().grant(FsGrant::read_write(&tree.jail));
    let limits = Limits {
        max_fs_write_bytes: FS_ENTRY_BYTES + 10,
        ..Limits::default()
    };
    // Six bytes, then six more: the second would pass the quota of ten.
    // A new file of six bytes (counting 4096 more for the file), then six more: the second
    // would pass the quota.
    let body = r#"(check (call $fs.write "out.txt" "123456"))
        (check (call $fs.append "out.txt" "789abc"))"#;
    let outcome = engine.exec(body, vec![], &policy, &limits);
    assert_refused(
        &outcome,
        StatusCode::ENOMEM,
        "quota of 4106 bytes written to files (4102 written so far",
    );
    assert_eq!(outcome.usage.fs_write_bytes, 4102);
    assert_eq!(
        std::fs::read_to_string(tree.jail.join("out.txt")).expect("written"),
        "123456",
        "the refused append wrote nothing"
    );
    // A loop of writes ends at the quota too, replaced files counting every time.
    let flood = r#"(loop $more (check (call $fs.write "flood.txt" "0123456789")) (br $more))"#;
    let flooded = engine.exec(flood, vec![], &policy, &limits);
    assert_refused(&flooded, StatusCode::ENOMEM, "quota");
    assert_eq!(flooded.usage.fs_write_bytes, FS_ENTRY_BYTES + 10);
}

#[test]
fn a_write_replaces_the_file_whole_and_keeps_its_permissions() {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;
    let (engine, tree) = (engine(), tree());
    let grant = FsGrant::read_write(&tree.jail);
    let notes = tree.jail.join("notes.txt");
    std::fs::set_permissions(&notes, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    // A reader that opened the file before the write still reads the old contents whole: the
    // new ones went into another file, renamed over the name. (Truncating in place, it read
    // nothing.)
    let mut reader = std::fs::File::open(&notes).expect("open");
    let outcome = run(
        &engine,
        &grant,
        WRITE,
        &[text("notes.txt"), text("replaced")],
    );
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    let mut before = String::new();
    reader.read_to_string(&mut before).expect("read");
    assert_eq!(before, "hello\n");
    assert_eq!(std::fs::read_to_string(&notes).expect("read"), "replaced");
    let mode = std::fs::metadata(&notes)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    // Nothing is left beside it.
    let names: Vec<String> = std::fs::read_dir(&tree.jail)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("watsmith-write"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    // Replacing a file counts only its bytes; creating one counts an entry more.
    assert_eq!(outcome.usage.fs_write_bytes, 8);
    let created = run(&engine, &grant, WRITE, &[text("new.txt"), text("new")]);
    assert_eq!(created.usage.fs_write_bytes, FS_ENTRY_BYTES + 3);
}

#[test]
fn refused_writes_spend_nothing_of_the_quota() {
    let (engine, tree) = (engine(), tree());
    let policy = Policy::deny_all().grant(FsGrant::read_write(&tree.jail));
    let limits = Limits {
        max_fs_write_bytes: FS_ENTRY_BYTES + 20,
        ..Limits::default()
    };
    // Outside the jail, onto a directory, into a missing directory, each 10 bytes: refused,
    // and none of them counts. Then one write of 20 fits exactly.
    let body = r#"(local $st i32)
        (local.set $st (call $fs.write "../outside/x.txt" "0123456789"))
        (local.set $st (call $fs.write "sub" "0123456789"))
        (local.set $st (call $fs.write "missing/x.txt" "0123456789"))
        (check (call $fs.write "out.txt" "01234567890123456789"))
        (check (call $fs.append "out.txt" "!"))"#;
    let outcome = engine.exec(body, vec![], &policy, &limits);
    assert_refused(
        &outcome,
        StatusCode::ENOMEM,
        &format!(
            "1 bytes would pass the run's quota of {} bytes written to files ({} written so far",
            FS_ENTRY_BYTES + 20,
            FS_ENTRY_BYTES + 20
        ),
    );
    assert_eq!(outcome.usage.fs_write_bytes, FS_ENTRY_BYTES + 20);
    assert_eq!(
        std::fs::read_to_string(tree.jail.join("out.txt")).expect("written"),
        "01234567890123456789"
    );
    tree.secret_is_intact();
}

#[test]
fn directories_created_count_against_the_quota() {
    let (engine, tree) = (engine(), tree());
    let policy = Policy::deny_all().grant(FsGrant::read_write(&tree.jail));
    let limits = Limits {
        max_fs_write_bytes: 3 * FS_ENTRY_BYTES,
        ..Limits::default()
    };
    // Four new levels cost four entries: refused before any is made.
    let deep = engine.exec(
        r#"(check (call $fs.mkdir "a/b/c/d"))"#,
        vec![],
        &policy,
        &limits,
    );
    assert_refused(
        &deep,
        StatusCode::ENOMEM,
        "4 new directories count 16384 bytes",
    );
    assert_eq!(deep.usage.fs_write_bytes, 0);
    assert!(!tree.jail.join("a").exists(), "nothing was created");
    // Existing levels cost nothing: `sub` is there, so `sub/x/y` makes two.
    let two = engine.exec(
        r#"(check (call $fs.mkdir "sub/x/y")) (check (call $fs.mkdir "sub/x/y"))"#,
        vec![],
        &policy,
        &limits,
    );
    assert_eq!(two.status, Status::Ok, "{two:?}");
    assert_eq!(two.usage.fs_write_bytes, 2 * FS_ENTRY_BYTES);
    assert!(tree.jail.join("sub/x/y").is_dir());
    // A loop of new names ends at the quota, not at the disk's inodes.
    let flood = r#"(local $i i32) (local $name str)
        (loop $more
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (check $name (call $str.from_i64 (i64.extend_i32_u (local.get $i))))
          (check (call $fs.mkdir (local.get $name)))
          (br $more))"#;
    let flooded = engine.exec(
        flood,
        vec![],
        &Policy::standard().grant(FsGrant::read_write(&tree.jail)),
        &limits,
    );
    assert_refused(
        &flooded,
        StatusCode::ENOMEM,
        "1 new directories count 4096 bytes",
    );
    assert_eq!(flooded.usage.fs_write_bytes, 3 * FS_ENTRY_BYTES);
    // A path past PATH_MAX is refused before it is walked.
    let long = "a/".repeat(3_000);
    let refused = engine.exec(MKDIR, vec![text(&long)], &policy, &limits);
    assert_refused(&refused, StatusCode::EBOUND, "paths are at most 4096 bytes");
}

#[test]
fn a_listing_is_an_array_so_a_newline_in_a_name_is_one_name() {
    let (engine, tree) = (engine(), tree());
    std::fs::create_dir(tree.jail.join("odd")).expect("mkdir");
    std::fs::write(tree.jail.join("odd/two\nlines"), "").expect("write");
    std::fs::write(tree.jail.join("odd/plain"), "").expect("write");
    let body = r#"(local $names i32) (local $n i32) (local $s str)
        (check $names (call $fs.list "odd"))
        (local.set $n (call $arr.len (local.get $names))) (resv $n)
        (check $s (call $arr.get_str (local.get $names) (i32.const 0))) (resv $s)
        (check $s (call $arr.get_str (local.get $names) (i32.const 1))) (resv $s)"#;
    let outcome = run(&engine, &FsGrant::read_only(&tree.jail), body, &[]);
    assert_eq!(
        outcome.results,
        [Value::I32(2), text("plain"), text("two\nlines")],
        "{outcome:?}"
    );
}

#[test]
fn a_listing_stops_at_the_memory_it_may_take() {
    let (engine, tree) = (engine(), tree());
    let many = tree.jail.join("many");
    std::fs::create_dir(&many).expect("mkdir");
    // 1,500 names of 200 bytes: about 350 KB as array elements, past a 256 KiB run.
    for i in 0..1_500 {
        std::fs::write(many.join(format!("{i:0>200}")), "").expect("write");
    }
    let policy = Policy::standard().grant(FsGrant::read_only(&tree.jail));
    let limits = Limits {
        memory_bytes: 256 << 10,
        ..Limits::default()
    };
    let body = r#"(local $names i32) (check $names (call $fs.list "many"))"#;
    let outcome = engine.exec(body, vec![], &policy, &limits);
    assert_refused(
        &outcome,
        StatusCode::ENOMEM,
        "the directory has more names than fit in the run's memory",
    );
    // With room enough, all of them.
    let roomy = engine.exec(
        r#"(local $names i32) (local $n i32) (check $names (call $fs.list "many"))
           (local.set $n (call $arr.len (local.get $names))) (resv $n)"#,
        vec![],
        &policy,
        &Limits::default(),
    );
    assert_eq!(roomy.results, [Value::I32(1_500)], "{roomy:?}");
}
