//! Runs the real `watsmith` binary as a user would: exit statuses, stdout/stderr, `--json`.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn watsmith(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_watsmith"))
        .args(args)
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

fn body_file(body: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".wat")
        .tempfile()
        .expect("temp file");
    file.write_all(body.as_bytes()).expect("write body");
    file
}

const VALID: &str =
    "(local $name str)\n(argv! 0 $name)\n(call $core.log \"hello\")\n(resv $name)\n";
const INVALID: &str = "(local $count i32)\n(local.set $count (i32.const 1))\n(resv $cnt)\n";

mod expand {
    use super::*;

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
}

mod examples {
    use super::*;

    /// Every body under `examples/` is valid: the README's first command runs one of them.
    #[test]
    fn every_example_expands() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("examples/ exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "wat") {
                continue;
            }
            count += 1;
            let out = watsmith(&["expand", path.to_str().expect("utf-8 path")], None);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                text(&out.stderr)
            );
            assert!(text(&out.stdout).contains(";; body\n"));
        }
        assert!(count >= 1, "no examples found in {}", dir.display());
    }
}

mod usage {
    use super::*;

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
    fn help_documents_the_exit_statuses() {
        let out = watsmith(&["--help"], None);
        assert_eq!(out.status.code(), Some(0));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("expand"));
        assert!(stdout.contains("2   invalid program"));
        assert!(stdout.contains("64  usage error"));
    }
}

mod exec {
    use super::*;

    const PRIMES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/primes_below.wat");

    #[test]
    fn results_print_one_per_line_and_logs_go_to_stderr() {
        // 25 primes below 100, checked by hand: 2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59
        // 61 67 71 73 79 83 89 97.
        let out = watsmith(&["exec", PRIMES, "100"], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "25\n");
        assert_eq!(text(&out.stderr), "[log] counted the primes below n\n");
    }

    #[test]
    fn arguments_are_typed_by_their_form_unless_str_is_given() {
        let body = "(local $s str) (argv 0 $s) (resv $s)";
        let text_arg = watsmith(&["exec", "-", "hello"], Some(body));
        assert_eq!(text(&text_arg.stdout), "hello\n");
        let number = watsmith(&["exec", "-", "42"], Some(body));
        assert_eq!(number.status.code(), Some(1), "42 is an integer, not a str");
        assert!(text(&number.stderr).contains("status 1 (ETRFM)"));
        let forced = watsmith(&["exec", "-", "--str", "42"], Some(body));
        assert_eq!(text(&forced.stdout), "42\n");
    }

    #[test]
    fn exit_statuses_follow_the_outcome() {
        let missing_arg = watsmith(&["exec", PRIMES], None);
        assert_eq!(missing_arg.status.code(), Some(1));
        assert!(text(&missing_arg.stderr).contains("status 5 (EBOUND)"));

        let out_of_fuel = watsmith(&["exec", PRIMES, "1000000", "--fuel", "100000"], None);
        assert_eq!(out_of_fuel.status.code(), Some(3));
        assert!(
            text(&out_of_fuel.stderr)
                .contains("trap: out_of_fuel: wasm trap: all fuel consumed by WebAssembly")
        );

        let timeout = watsmith(
            &["exec", "-", "--fuel", "0", "--timeout-ms", "30"],
            Some("(loop $l (br $l))"),
        );
        assert_eq!(timeout.status.code(), Some(3));
        assert!(text(&timeout.stderr).contains("trap: timeout"));

        let invalid = watsmith(&["exec", "-"], Some("(resv $nothing)"));
        assert_eq!(invalid.status.code(), Some(2));
        assert!(text(&invalid.stderr).contains("error[unknown-local]"));

        let unknown_capability = watsmith(&["exec", "-", "--allow", "teleport"], Some("nop"));
        assert_eq!(unknown_capability.status.code(), Some(64));
        assert!(
            text(&unknown_capability.stderr).contains("unknown capability `teleport`; known: core")
        );
    }

    #[test]
    fn json_prints_the_outcome() {
        let out = watsmith(&["exec", PRIMES, "30", "--json"], None);
        assert_eq!(out.status.code(), Some(0));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON outcome");
        assert_eq!(json["status"], "ok");
        assert_eq!(json["code_name"], "SUCCESS");
        // 2 3 5 7 11 13 17 19 23 29: ten primes below 30.
        assert_eq!(json["results"][0]["type"], "i64");
        assert_eq!(json["results"][0]["value"], 10);
        assert_eq!(json["logs"][0], "counted the primes below n");
        assert_eq!(json["cache"], "miss");
        assert!(json["trap"].is_null());
        assert!(json["fuel_used"].as_u64().is_some_and(|f| f > 1000));
    }

    #[test]
    fn expand_module_prints_the_assembled_module() {
        let out = watsmith(&["expand", "--module", PRIMES], None);
        assert_eq!(out.status.code(), Some(0));
        let module = text(&out.stdout);
        assert!(module.starts_with("(module\n"));
        assert!(module.contains(
            "(import \"core\" \"arg_i64\" (func $core.arg_i64 (param i32) (result i64 i32)))"
        ));
        assert!(module.contains("(import \"core\" \"log\" (func $core.log (param i32)))"));
        assert!(module.contains("(func $run (export \"run\") (result i32)"));
        assert!(module.contains("(block $body\n"));
    }
}
