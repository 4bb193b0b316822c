use crate::*;

#[test]
fn a_valid_file_prints_the_expansion_and_warnings_go_to_stderr() {
    let file = body_file(VALID);
    let out = watsmith(&["expand", file.path().to_str().expect("utf-8 path")], None);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(";; locals\n(local $name i32)\n(local $__err i32)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(data (i32.const 16) \"\\05\\00\\00\\00hello\")"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(call $core.arg_str (i32.const 0))"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(call $core.log (i32.const 16))"),
        "{stdout}"
    );
    assert!(!stdout.contains("warning"), "warnings stay off stdout");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning[bang-macro]: `argv!` is read as `argv`"),
        "{stderr}"
    );
    assert!(stderr.contains("--> line 2, column 2"), "{stderr}");
}

#[test]
fn a_dash_reads_standard_input() {
    let out = watsmith(
        &["expand", "-"],
        Some("(local $n i64)\n(argv 0 $n)\n(resv $n)"),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("(call $core.res_i64 (local.get $n))"));
}

#[test]
fn json_output_holds_the_expansion() {
    let out = watsmith(&["expand", "-", "--json"], Some(VALID));
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["status"], "ok");
    assert_eq!(json["initial_top"], 32);
    assert_eq!(json["locals"][0]["name"], "$name");
    assert_eq!(json["locals"][0]["type"], "str");
    assert_eq!(json["data"][0]["offset"], 16);
    assert_eq!(json["data"][0]["bytes"], "hello");
    assert_eq!(json["calls"][0]["name"], "$core.arg_str");
    assert_eq!(json["warnings"][0]["kind"], "bang-macro");
    assert!(
        json["body"]
            .as_str()
            .is_some_and(|b| b.contains("$core.res_str"))
    );
}

#[test]
fn an_invalid_body_exits_2_with_located_diagnostics() {
    let file = body_file(INVALID);
    let out = watsmith(&["expand", file.path().to_str().expect("utf-8 path")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[unknown-local]: `resv` of undeclared local `$cnt`"),
        "{stderr}"
    );
    assert!(stderr.contains("--> line 3, column 7"), "{stderr}");
    assert!(
        stderr.contains("= hint: did you mean `$count`?"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_body_in_json_lists_the_diagnostics() {
    let out = watsmith(&["expand", "--json", "-"], Some(INVALID));
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["status"], "invalid");
    let diagnostic = &json["diagnostics"][0];
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["kind"], "unknown-local");
    assert_eq!(diagnostic["line"], 3);
    assert_eq!(diagnostic["column"], 7);
    assert_eq!(diagnostic["hint"], "did you mean `$count`?");
    assert_eq!(diagnostic["source_line"], "(resv $cnt)");
    assert!(json.get("body").is_none());
}

#[test]
fn an_unreadable_file_exits_66() {
    let out = watsmith(&["expand", "/nonexistent/body.wat"], None);
    assert_eq!(out.status.code(), Some(66));
    assert!(text(&out.stderr).contains("cannot read `/nonexistent/body.wat`"));
}
