use crate::*;

#[test]
fn usage_errors_exit_64() {
    for args in [
        &[][..],
        &["expand"][..],
        &["expand", "-", "--frobnicate"][..],
        &["nonsense"][..],
    ] {
        let out = watsmith(args, None);
        assert_eq!(out.status.code(), Some(64), "args {args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::Read as _;
    // A 200 KB result: more than a pipe holds, so the writer meets the closed pipe.
    let body = "(local $p i32) (local $s str)
        (check $p (call $core.alloc (i32.const 200004)))
        (i32.store (local.get $p) (i32.const 200000))
        (memory.fill (i32.add (local.get $p) (i32.const 4)) (i32.const 97) (i32.const 200000))
        (local.set $s (local.get $p))
        (resv $s)";
    let file = body_file(body);
    let mut child = Command::new(env!("CARGO_BIN_EXE_watsmith"))
        .args(["exec", file.path().to_str().expect("utf-8"), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut start = [0u8; 1];
    stdout.read_exact(&mut start).expect("some output");
    assert_eq!(&start, b"{");
    drop(stdout);
    let out = child.wait_with_output().expect("the binary finishes");
    assert_eq!(text(&out.stderr), "", "no panic message");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn help_documents_the_exit_statuses() {
    let out = watsmith(&["--help"], None);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("expand"));
    assert!(stdout.contains("2   invalid program"));
    assert!(stdout.contains("64  usage error"));
}
