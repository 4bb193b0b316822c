use crate::*;

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
fn arguments_are_typed_by_the_locals_that_read_them() {
    let body = "(local $s str) (argv 0 $s) (resv $s)";
    let text_arg = watsmith(&["exec", "-", "hello"], Some(body));
    assert_eq!(text(&text_arg.stdout), "hello\n");
    let digits = watsmith(&["exec", "-", "42"], Some(body));
    assert_eq!(text(&digits.stdout), "42\n", "a str local reads 42 as text");
    // WebAssembly's text forms, a leading `-` included, typed by each local.
    let body = "(local $a i32) (local $b f64) (local $c i64)
        (argv 0 $a) (argv 1 $b) (argv 2 $c) (resv $a) (resv $b) (resv $c)";
    let forms = watsmith(&["exec", "-", "4294967295", "-inf", "-0x10"], Some(body));
    assert_eq!(forms.status.code(), Some(0), "{}", text(&forms.stderr));
    assert_eq!(text(&forms.stdout), "-1\n-inf\n-16\n");
    let out_of_range = watsmith(&["exec", "-", "4294967296", "1", "1"], Some(body));
    assert_eq!(
        out_of_range.status.code(),
        Some(64),
        "a usage error, not the program's"
    );
    assert!(
        text(&out_of_range.stderr).contains("argument 0: `4294967296` is out of range for i32"),
        "{}",
        text(&out_of_range.stderr)
    );
    // Without a constant `argv` index the form decides: an integer is no str.
    let dynamic =
        "(local $s str) (local $i i32) (check $s (call $core.arg_str (local.get $i))) (resv $s)";
    let number = watsmith(&["exec", "-", "42"], Some(dynamic));
    assert_eq!(number.status.code(), Some(1), "42 is an integer, not a str");
    assert!(text(&number.stderr).contains("status 1 (ETRFM)"));
    let forced = watsmith(&["exec", "-", "--str", "42"], Some(dynamic));
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
    assert!(text(&unknown_capability.stderr).contains(
        "unknown capability `teleport`; known: core, str, arr, json, math, http, time, rand, kv, fs"
    ));
}

#[test]
fn capability_flags_are_checked_before_anything_runs() {
    let fs_write_alone = watsmith(&["exec", "-", "--fs-write"], None);
    assert_eq!(fs_write_alone.status.code(), Some(64));
    assert!(text(&fs_write_alone.stderr).contains("--fs-root"));

    let bad_host = watsmith(&["exec", "-", "--allow-host", "http://x.com/"], None);
    assert_eq!(bad_host.status.code(), Some(64));
    assert!(text(&bad_host.stderr).contains("invalid host rule `http://x.com/`"));

    let kv_nowhere = watsmith(
        &["exec", "-", "--kv-file", "/nonexistent/dir/kv.json"],
        None,
    );
    assert_eq!(kv_nowhere.status.code(), Some(66));
    assert!(text(&kv_nowhere.stderr).contains("/nonexistent/dir/kv.json"));
}

#[test]
fn io_capabilities_are_denied_unless_granted() {
    let body = "(local $v str)\n(check $v (call $kv.get \"k\"))";
    let denied = watsmith(&["exec", "-"], Some(body));
    assert_eq!(denied.status.code(), Some(1));
    assert!(text(&denied.stderr).contains("capability `kv` is not granted"));
    assert!(text(&denied.stderr).contains("--allow kv"));
    let granted = watsmith(&["exec", "-", "--allow", "kv"], Some(body));
    assert_eq!(granted.status.code(), Some(1));
    assert!(text(&granted.stderr).contains("status 4 (ENOENT)"));
}

#[test]
fn a_seed_makes_rand_reproducible() {
    let body = "(local $x i64)\n(local.set $x (call $rand.i64))\n(resv $x)";
    let first = watsmith(&["exec", "-", "--seed", "42"], Some(body));
    let second = watsmith(&["exec", "-", "--seed", "42"], Some(body));
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(first.stdout, second.stdout);
    let other = watsmith(&["exec", "-", "--seed", "43"], Some(body));
    assert_ne!(first.stdout, other.stdout);
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
fn a_trap_has_no_status_code_and_no_made_up_fuel() {
    let body =
        "(local $z i32) (local $r i32) (local.set $r (i32.div_s (i32.const 1) (local.get $z)))";
    let out = watsmith(&["exec", "-", "--json"], Some(body));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON outcome");
    assert_eq!(json["status"], "trap");
    assert_eq!(json["trap"]["kind"], "integer_divide_by_zero");
    for absent in ["code", "code_name", "fuel_used"] {
        assert!(json.get(absent).is_none(), "{absent} is absent: {json}");
    }
    let invalid = watsmith(&["exec", "-", "--json"], Some("(resv $nothing)"));
    let json: serde_json::Value = serde_json::from_slice(&invalid.stdout).expect("JSON outcome");
    assert_eq!(json["status"], "invalid");
    assert!(json.get("code_name").is_none(), "{json}");
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

#[test]
fn an_endless_body_on_stdin_is_refused_at_the_limit_without_reading_the_rest() {
    let mut child = command(&["exec", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut input = child.stdin.take().expect("piped stdin");
    // An endless writer: it stops only when the reader goes away (a broken pipe). Were all of
    // standard input read before the check, the binary would never finish.
    let writer = std::thread::spawn(move || {
        let line = [b';'; 4096];
        let mut written = 0usize;
        while input.write_all(&line).is_ok() {
            written += line.len();
        }
        written
    });
    let out = child.wait_with_output().expect("the binary finishes");
    let written = writer.join().expect("the writer ends");
    assert_eq!(out.status.code(), Some(66), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("more than 1048576 bytes, the limit of a body"),
        "{stderr}"
    );
    assert!(
        stderr.len() < 1024,
        "nothing read is echoed: {} bytes",
        stderr.len()
    );
    assert!(written >= 1 << 20, "it read up to the limit first");
}

#[test]
fn control_characters_a_program_prints_are_shown_not_obeyed() {
    // A result that clears the screen and a log line that retitles the window reach the
    // terminal as visible escapes; a NaN prints as the JSON form writes it.
    let body = body_file(
        "(local $s str) (local $x f64)\n(call $core.log \"\\1b]0;owned\\07\")\n(local.set $s \"\\1b[2J\\0dover\")\n(local.set $x (f64.const nan))\n(resv $s) (resv $x)\n",
    );
    let out = watsmith(&["exec", body.path().to_str().expect("path")], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "\\x1b[2J\\rover\nnan\n");
    assert_eq!(text(&out.stderr), "[log] \\x1b]0;owned\\x07\n");
    // `--json` keeps the text exactly.
    let json = watsmith(
        &["exec", "--json", body.path().to_str().expect("path")],
        None,
    );
    assert!(
        text(&json.stdout).contains("\"\\u001b[2J\\rover\""),
        "{}",
        text(&json.stdout)
    );
}

/// `watsmith ARGS` started by a shell under `ulimit LIMIT` (as `-v 8388608`, in KiB).
fn under_ulimit(limit: &str, args: &[&str]) -> std::process::Output {
    let mut shell = std::process::Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("ulimit {limit} && exec \"$WATSMITH_BIN\" \"$@\""))
        .arg("sh")
        .args(args)
        .stdin(std::process::Stdio::null())
        .env("WATSMITH_BIN", env!("CARGO_BIN_EXE_watsmith"))
        .env_remove("WATSMITH_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent/watsmith-tests")
        .env("XDG_DATA_HOME", "/nonexistent/watsmith-tests")
        .env("XDG_STATE_HOME", "/nonexistent/watsmith-tests");
    shell.output().expect("sh runs")
}

#[test]
fn the_binary_runs_under_address_space_and_data_limits() {
    // The default pool reserves about 1 TiB of address space and 512 MiB of stacks; under a
    // limit it is made to fit, and memory still grows up to the run's cap.
    let body = body_file(
        "(local $old i32) (local $seven i32)\n\
         (local.set $old (memory.grow (i32.const 800)))\n\
         (i32.store (i32.const 52000000) (i32.const 7))\n\
         (local.set $seven (i32.load (i32.const 52000000)))\n\
         (resv $old) (resv $seven)\n",
    );
    let path = body.path().to_str().expect("UTF-8 path");
    for limit in ["-v 8388608", "-v 1048576", "-d 307200"] {
        let output = under_ulimit(limit, &["exec", "--memory-mb", "128", path]);
        assert!(
            output.status.success(),
            "ulimit {limit}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), "1\n7\n", "ulimit {limit}");
    }
}

#[test]
fn a_growth_the_operating_system_refuses_returns_minus_one_and_says_why() {
    // Within the run's cap of 2,000 MiB, but past the process's data limit of about 1 GB.
    let body =
        body_file("(local $r i32) (local.set $r (memory.grow (i32.const 20000))) (resv $r)\n");
    let path = body.path().to_str().expect("UTF-8 path");
    let output = under_ulimit(
        "-d 1000000",
        &["exec", "--json", "--memory-mb", "2000", path],
    );
    let outcome: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("a JSON outcome");
    assert_eq!(outcome["results"][0]["value"], -1, "{outcome}");
    let log = outcome["logs"][0].as_str().expect("a log line");
    assert!(
        log.starts_with("memory.grow failed, returned -1: the host could not grow the memory")
            && log.contains("the run's memory cap of 2097152000 bytes allows it"),
        "{log}"
    );
}

#[test]
fn a_module_cache_that_cannot_be_used_is_a_usage_error_that_says_how_to_fix_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().expect("temp dir");
    let open = parent.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let file = parent.path().join("file");
    std::fs::write(&file, "").expect("file");
    let body = body_file(VALID);
    let body = body.path().to_str().expect("UTF-8 path");
    for (cache, why) in [
        (open.clone(), "other users may read or write".to_owned()),
        (
            file.join("below"),
            "cannot create its parent directory".to_owned(),
        ),
    ] {
        let cache = cache.to_str().expect("UTF-8 path");
        let output = watsmith(&["exec", "--module-cache", cache, body, "x"], None);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{cache}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot use `{cache}` as the module cache: {why}")),
            "{stderr}"
        );
    }
}
