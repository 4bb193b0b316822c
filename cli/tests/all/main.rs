//! Runs the real `watsmith` binary as a user would: exit statuses, stdout/stderr, `--json`;
//! one module per command (and one for the store, shared by processes).

mod agent;
mod bench;
mod catalog;
mod examples;
mod exec;
mod expand;
mod files;
mod neighbours;
mod readme;
mod store;
mod usage;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

pub(crate) use watsmith_test_support::serve;

/// The command, with the user's own configuration and state out of the way.
pub(crate) fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watsmith"));
    command
        .args(args)
        // The user's own configuration file and store must not change what the tests see.
        .env_remove("WATSMITH_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent/watsmith-tests")
        .env("XDG_DATA_HOME", "/nonexistent/watsmith-tests")
        .env("XDG_STATE_HOME", "/nonexistent/watsmith-tests");
    command
}

pub(crate) fn watsmith(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut input = child.stdin.take().expect("piped stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("the binary finishes")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

pub(crate) fn body_file(body: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".wat")
        .tempfile()
        .expect("temp file");
    file.write_all(body.as_bytes()).expect("write body");
    file
}

pub(crate) const VALID: &str =
    "(local $name str)\n(argv! 0 $name)\n(call $core.log \"hello\")\n(resv $name)\n";
pub(crate) const INVALID: &str =
    "(local $count i32)\n(local.set $count (i32.const 1))\n(resv $cnt)\n";
