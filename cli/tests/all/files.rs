//! Files the command reads besides bodies (the configuration, the store, catalog programs):
//! each must be a regular file (through links) of at most its documented size, opened without
//! blocking. A FIFO in any of those places blocked the command forever before any deadline, and
//! `/dev/zero` as the configuration grew to gigabytes.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use super::{body_file, command, text};

/// Runs the command; a command still running after a minute is stopped and the test fails, so
/// that a file that blocks is a failure, not a hung test run.
fn run_unless_blocked(args: &[&str]) -> Output {
    let mut child = command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("`watsmith {}` blocked", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}

const BODY: &str = "(local $n i64) (local.set $n (i64.const 7)) (resv $n)";

#[test]
fn a_configuration_that_is_no_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("watsmith.toml");
    mkfifo(&fifo);
    let link = dir.path().join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &link).expect("link");
    let dangling = dir.path().join("dangling.toml");
    std::os::unix::fs::symlink(dir.path().join("gone.toml"), &dangling).expect("link");
    let body = body_file(BODY);
    let body_path = body.path().to_str().expect("UTF-8 path");
    let large = dir.path().join("large.toml");
    std::fs::write(&large, "#".repeat((1 << 20) + 1)).expect("write");
    for (config, why) in [
        (
            fifo.as_path(),
            "it is a FIFO, not a regular file".to_owned(),
        ),
        (
            Path::new("/dev/zero"),
            "it is a character device, not a regular file".to_owned(),
        ),
        (
            link.as_path(),
            "it is a character device, not a regular file".to_owned(),
        ),
        (
            dangling.as_path(),
            format!(
                "it is a link to `{}`, which does not exist",
                dir.path().join("gone.toml").display()
            ),
        ),
        (
            large.as_path(),
            "it is larger than 1048576 bytes, the limit for this file".to_owned(),
        ),
    ] {
        let config = config.to_str().expect("UTF-8 path");
        let output = run_unless_blocked(&["exec", "--config", config, body_path]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{config}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "cannot read the configuration file {config}: {why}"
            )),
            "{config}: {stderr}"
        );
    }
}

#[test]
fn a_store_that_is_a_fifo_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("store.db");
    mkfifo(&fifo);
    let store = fifo.to_str().expect("UTF-8 path");
    let body = body_file(BODY);
    let body_path = body.path().to_str().expect("UTF-8 path");
    let output = run_unless_blocked(&["exec", "--store", store, "--allow", "kv", body_path]);
    let stderr = text(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("it is a FIFO, not a regular file"),
        "{stderr}"
    );
}

#[test]
fn catalog_files_that_cannot_be_programs_are_reported_and_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    mkfifo(&dir.path().join("fifo.wat"));
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.wat")).expect("link");
    std::os::unix::fs::symlink(dir.path().join("gone.wat"), dir.path().join("dangling.wat"))
        .expect("link");
    std::fs::write(
        dir.path().join("huge.wat"),
        "x".repeat(watsmith_catalog::MAX_PROGRAM_BYTES as usize + 1),
    )
    .expect("write");
    let catalog = dir.path().to_str().expect("UTF-8 path");
    let output = run_unless_blocked(&["catalog", "list", "--catalog", catalog]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        text(&output.stdout).contains("fib"),
        "the built-in programs are listed"
    );
    for (file, why) in [
        ("fifo.wat", "it is a FIFO, not a regular file".to_owned()),
        (
            "zero.wat",
            "it is a character device, not a regular file".to_owned(),
        ),
        (
            "dangling.wat",
            format!(
                "it is a link to `{}`, which does not exist",
                dir.path().join("gone.wat").display()
            ),
        ),
        (
            "huge.wat",
            format!(
                "it is larger than {} bytes, the limit for this file",
                watsmith_catalog::MAX_PROGRAM_BYTES
            ),
        ),
    ] {
        assert!(
            stderr.contains(&format!(
                "{}:1: cannot read the file: {why}",
                dir.path().join(file).display()
            )),
            "{file}: {stderr}"
        );
    }
}
