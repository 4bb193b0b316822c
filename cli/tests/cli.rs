//! Runs the real `watsmith` binary as a user would: exit statuses, stdout/stderr, `--json`.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn watsmith(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_watsmith"))
        .args(args)
        // The user's own configuration file must not change what the tests see.
        .env_remove("WATSMITH_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent/watsmith-tests")
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

/// Serves `app` on an ephemeral loopback port, on a thread of its own, for the whole test.
fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    address
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

    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn examples() -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(workspace().join("examples"))
            .expect("examples/ exists")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "wat"))
            .collect();
        paths.sort();
        paths
    }

    /// The words of a command line, with '...' and "..." quoting as a shell reads them.
    fn shell_words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.get_or_insert_with(String::new).push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    word.get_or_insert_with(String::new);
                }
                (None, c) if c.is_whitespace() => words.extend(word.take()),
                (None, c) => word.get_or_insert_with(String::new).push(c),
            }
        }
        assert!(quote.is_none(), "unclosed quote in {line:?}");
        words.extend(word);
        words
    }

    /// Serves `examples/data/` on an ephemeral loopback port.
    pub(super) fn serve_data() -> SocketAddr {
        serve(axum::Router::new().route(
            "/{file}",
            axum::routing::get(
                |axum::extract::Path(file): axum::extract::Path<String>| async move {
                    std::fs::read_to_string(workspace().join("examples/data").join(file))
                        .map_err(|_| axum::http::StatusCode::NOT_FOUND)
                },
            ),
        ))
    }

    /// Every body under `examples/` is valid: the README's first command runs one of them.
    #[test]
    fn every_example_expands() {
        let paths = examples();
        for path in &paths {
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
        assert!(paths.len() >= 8, "examples are missing");
    }

    /// Every example, run with the command of its `;; run:` line from the workspace root,
    /// prints its `;; expect:` lines. Hosts of `--allow-host` examples are served from
    /// `examples/data/` on loopback instead (the tests never leave the machine): the host rule
    /// and the URL are rewritten to that server.
    #[test]
    fn every_example_prints_what_its_header_expects() {
        let server = serve_data();
        for path in examples() {
            let body = std::fs::read_to_string(&path).expect("readable");
            let run = body
                .lines()
                .find_map(|line| line.strip_prefix(";; run: "))
                .unwrap_or_else(|| panic!("{}: no `;; run:` line", path.display()));
            let expect: Vec<&str> = body
                .lines()
                .filter_map(|line| line.strip_prefix(";; expect: "))
                .collect();
            let mut words = shell_words(run);
            assert_eq!(words.remove(0), "watsmith", "{run}");
            if let Some(at) = words.iter().position(|w| w == "--allow-host") {
                let host = words[at + 1].clone();
                words[at + 1] = server.to_string();
                for word in &mut words {
                    if let Some(rest) = word.strip_prefix(&format!("https://{host}")) {
                        *word = format!("http://{server}{rest}");
                    }
                }
            }
            let out = Command::new(env!("CARGO_BIN_EXE_watsmith"))
                .args(&words)
                .current_dir(workspace())
                .output()
                .expect("the binary runs");
            assert_eq!(out.status.code(), Some(0), "{run}: {}", text(&out.stderr));
            assert_eq!(
                text(&out.stdout).lines().collect::<Vec<_>>(),
                expect,
                "{run}"
            );
        }
    }

    #[test]
    fn a_kv_file_keeps_the_store_across_runs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("kv.json");
        let counter = workspace().join("examples/kv_counter.wat");
        let args = [
            "exec",
            counter.to_str().expect("utf-8"),
            "--kv-file",
            file.to_str().expect("utf-8"),
        ];
        assert_eq!(text(&watsmith(&args, None).stdout), "1\nfirst run\n");
        assert_eq!(text(&watsmith(&args, None).stdout), "2\nfirst run\n");
        let other_namespace = [&args[..], &["--kv-namespace", "other"]].concat();
        assert_eq!(
            text(&watsmith(&other_namespace, None).stdout),
            "1\nfirst run\n"
        );
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

mod catalog {
    use super::*;

    #[test]
    fn use_runs_a_program_as_a_call_or_as_words() {
        for args in [
            &["use", "fib(30)"][..],
            &["use", "@use fib( 30 )"][..],
            &["use", "fib", "30"][..],
        ] {
            let out = watsmith(args, None);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?}: {}",
                text(&out.stderr)
            );
            assert_eq!(text(&out.stdout), "832040\n");
        }
        // Words are typed by the parameters: a negative number, and text that looks like one.
        assert_eq!(
            text(&watsmith(&["use", "gcd", "12", "-18"], None).stdout),
            "6\n"
        );
        assert_eq!(
            text(&watsmith(&["use", "reverse", "123"], None).stdout),
            "321\n"
        );
    }

    #[test]
    fn use_errors_name_the_fix_and_exit_64() {
        for (args, message) in [
            (
                &["use", "fbi(3)"][..],
                "no catalog program `fbi`; did you mean `fib`?",
            ),
            (
                &["use", "gcd", "1"][..],
                "`gcd` takes 2 arguments, not 1; the signature is gcd(a: i64, b: i64) -> (gcd: i64)",
            ),
            (
                &["use", "gcd(1,"][..],
                "column 7: expected an argument, found the end",
            ),
            (
                &["use", "gcd(1, 'x')"][..],
                "argument `b` must be an i64 (an integer)",
            ),
        ] {
            let out = watsmith(args, None);
            assert_eq!(out.status.code(), Some(64), "{args:?}");
            assert!(
                text(&out.stderr).contains(message),
                "{args:?}: {}",
                text(&out.stderr)
            );
        }
    }

    #[test]
    fn use_json_prints_the_outcome() {
        let out = watsmith(&["use", "sha256('abc')", "--json"], None);
        let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(outcome["status"], "ok");
        assert_eq!(
            outcome["results"][0]["value"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn catalog_list_and_show() {
        let list = text(&watsmith(&["catalog", "list"], None).stdout);
        assert!(
            list.contains("gcd(a: i64, b: i64) -> (gcd: i64)\n"),
            "{list}"
        );
        let hashing = watsmith(&["catalog", "list", "--tag", "hashing", "--json"], None);
        let listing: serde_json::Value = serde_json::from_slice(&hashing.stdout).expect("JSON");
        let names: Vec<&str> = listing
            .as_array()
            .expect("an array")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["crc32", "fnv1a", "sha256"]);
        let show = text(&watsmith(&["catalog", "show", "gcd"], None).stdout);
        assert!(show.starts_with("gcd(a: i64, b: i64) -> (gcd: i64)\n\nThe greatest"));
        assert!(show.contains("\nexamples:\n  gcd(12, 18) -> 6\n"), "{show}");
        assert!(
            show.contains("source (catalog/programs/gcd.wat):"),
            "{show}"
        );
        let missing = watsmith(&["catalog", "show", "gdc"], None);
        assert_eq!(missing.status.code(), Some(64));
        assert!(text(&missing.stderr).contains("did you mean `gcd`?"));
    }

    /// The text of the built-in `fib`, to derive user programs from.
    fn builtin_fib() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../catalog/programs/fib.wat"
        ))
        .expect("fib")
    }

    #[test]
    fn user_catalog_directories_add_programs_and_report_broken_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fib = builtin_fib();
        std::fs::write(
            dir.path().join("myfib.wat"),
            fib.replace("\"fib\"", "\"myfib\""),
        )
        .expect("write");
        std::fs::write(dir.path().join("broken.wat"), "nop\n").expect("write");
        let root = dir.path().to_str().expect("utf-8");
        let out = watsmith(&["use", "myfib", "10", "--catalog", root], None);
        assert_eq!(text(&out.stdout), "55\n", "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("broken.wat:1: a program starts with front matter"));
        let missing = watsmith(
            &["catalog", "list", "--catalog", "/nonexistent/catalog"],
            None,
        );
        assert_eq!(missing.status.code(), Some(66));
    }

    #[test]
    fn catalog_check_runs_every_example_and_reports_failures() {
        let all = watsmith(&["catalog", "check"], None);
        assert_eq!(all.status.code(), Some(0), "{}", text(&all.stderr));
        assert!(text(&all.stdout).contains(": 0 failed, 0 files did not load"));

        let dir = tempfile::tempdir().expect("temp dir");
        let fib = builtin_fib();
        std::fs::write(
            dir.path().join("fib.wat"),
            fib.replacen("results = [55]", "results = [56]", 1),
        )
        .expect("write");
        let root = dir.path().to_str().expect("utf-8");
        let wrong = watsmith(&["catalog", "check", root], None);
        assert_eq!(wrong.status.code(), Some(1));
        assert!(
            text(&wrong.stderr)
                .contains("failed: fib: example 3: expected [I64(56)], got [I64(55)]"),
            "{}",
            text(&wrong.stderr)
        );

        std::fs::write(dir.path().join("broken.wat"), "nop\n").expect("write");
        let broken = watsmith(&["catalog", "check", root], None);
        assert_eq!(broken.status.code(), Some(2));
        assert!(text(&broken.stderr).contains("broken.wat:1:"));
    }

    #[test]
    fn use_grants_capabilities_with_the_exec_flags() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_str().expect("utf-8");
        let write = [
            "use",
            "file_write",
            "notes/today.txt",
            "héllo",
            "--fs-root",
            root,
            "--fs-write",
        ];
        let out = watsmith(&write, None);
        assert_eq!(text(&out.stdout), "6\n", "{}", text(&out.stderr));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("notes/today.txt")).expect("written"),
            "héllo"
        );
        let read = watsmith(
            &["use", "file_read('notes/today.txt')", "--fs-root", root],
            None,
        );
        assert_eq!(text(&read.stdout), "héllo\n", "{}", text(&read.stderr));
        // Read-only unless --fs-write.
        let refused = watsmith(
            &["use", "file_write", "x.txt", "y", "--fs-root", root],
            None,
        );
        assert_eq!(refused.status.code(), Some(1));
        assert!(!dir.path().join("x.txt").exists());

        let kv = dir.path().join("kv.json");
        let kv = kv.to_str().expect("utf-8");
        let set = watsmith(&["use", "kv_set", "colour", "blue", "--kv-file", kv], None);
        assert_eq!(text(&set.stdout), "\n", "{}", text(&set.stderr));
        let get = watsmith(&["use", "kv_get", "colour", "--kv-file", kv], None);
        assert_eq!(text(&get.stdout), "blue\n", "{}", text(&get.stderr));

        let server = super::examples::serve_data();
        let url = format!("http://{server}/items.json");
        let host = server.to_string();
        let fetched = watsmith(
            &[
                "use",
                "http_get_json",
                &url,
                "items[0].name",
                "--allow-host",
                &host,
            ],
            None,
        );
        assert_eq!(
            text(&fetched.stdout),
            "\"pen\"\n",
            "{}",
            text(&fetched.stderr)
        );
    }

    #[test]
    fn use_without_a_grant_says_which_flag_grants_it() {
        for (args, hint) in [
            (&["use", "file_read", "a.txt"][..], "`--fs-root DIR`"),
            (
                &["use", "http_get", "https://example.com/"][..],
                "`--allow-host HOST`",
            ),
            (&["use", "kv_get", "k"][..], "`--allow kv`"),
        ] {
            let out = watsmith(args, None);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let stderr = text(&out.stderr);
            assert!(stderr.contains("is not granted to this run"), "{stderr}");
            assert!(stderr.contains(hint), "{args:?}: {stderr}");
        }
        let ai = watsmith(&["use", "ai_complete", "hello"], None);
        assert_eq!(ai.status.code(), Some(64));
        assert!(
            text(&ai.stderr).contains(
                "`ai` asks a language model, and none is configured: name one with --provider"
            ),
            "{}",
            text(&ai.stderr)
        );
    }

    #[test]
    fn a_configuration_file_adds_catalog_directories() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("programs")).expect("mkdir");
        std::fs::write(
            dir.path().join("programs/fib.wat"),
            builtin_fib().replace("description = \"", "description = \"(mine) "),
        )
        .expect("write");
        let config = dir.path().join("config.toml");
        let run = |config_text: &str, args: &[&str]| {
            std::fs::write(&config, config_text).expect("write config");
            Command::new(env!("CARGO_BIN_EXE_watsmith"))
                .args(args)
                .env("WATSMITH_CONFIG", &config)
                .output()
                .expect("runs")
        };
        // Relative to the file; a clash with a built-in program is refused unless shadowing.
        let clash = run(
            "[catalog]\ndirs = [\"programs\"]\n",
            &["catalog", "show", "fib"],
        );
        assert!(
            text(&clash.stderr).contains("`fib` is already defined by catalog/programs/fib.wat"),
            "{}",
            text(&clash.stderr)
        );
        let shadowed = run(
            "[catalog]\ndirs = [\"programs\"]\nshadow = true\n",
            &["catalog", "show", "fib"],
        );
        assert!(
            text(&shadowed.stdout).contains("(mine)"),
            "{}",
            text(&shadowed.stderr)
        );
        let unknown = run(
            "[catalog]\ndirs = []\ncolour = \"red\"\n",
            &["catalog", "list"],
        );
        assert_eq!(unknown.status.code(), Some(64));
        assert!(
            text(&unknown.stderr).contains("config.toml:3: unknown field `colour`"),
            "{}",
            text(&unknown.stderr)
        );
        // Without the variable, `watsmith.toml` of the current directory is read.
        std::fs::write(
            dir.path().join("watsmith.toml"),
            "[catalog]\ndirs = [\"programs\"]\nshadow = true\n",
        )
        .expect("write");
        let here = Command::new(env!("CARGO_BIN_EXE_watsmith"))
            .args(["catalog", "show", "fib"])
            .env_remove("WATSMITH_CONFIG")
            .env("XDG_CONFIG_HOME", "/nonexistent/watsmith-tests")
            .current_dir(dir.path())
            .output()
            .expect("runs");
        assert!(
            text(&here.stdout).contains("(mine)"),
            "{}",
            text(&here.stderr)
        );
        let named = watsmith(
            &["catalog", "list", "--config", "/nonexistent/config.toml"],
            None,
        );
        assert_eq!(named.status.code(), Some(64));
        assert!(text(&named.stderr).contains("cannot read the configuration file"));
    }
}

mod agent {
    use super::*;

    #[test]
    fn demo_replays_its_sessions_through_the_pipeline_and_says_so() {
        let out = watsmith(&["demo"], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert_eq!(stdout.matches("(a replay: ").count(), 4, "{stdout}");
        for line in [
            "outcome: ok: 9592 (",
            "answered after 1 action, ",
            "sent back to the model:",
            "undeclared local `$total`",
            "action: @use gcd(1071, 462)",
            "outcome: trap: integer_divide_by_zero",
            "The average of the integers from 1 to 10 is 5.5.",
        ] {
            assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
        }
    }

    /// The requests a scripted server received, in order.
    type Received = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

    /// A scripted OpenAI-compatible server on 127.0.0.1: each request gets the next answer, as a
    /// stream when the request asks for one.
    pub(super) fn openai_server(answers: Vec<&'static str>) -> std::net::SocketAddr {
        recording_openai_server(answers).0
    }

    /// As [`openai_server`], keeping the requests.
    pub(super) fn recording_openai_server(
        answers: Vec<&'static str>,
    ) -> (std::net::SocketAddr, Received) {
        use std::sync::{Arc, Mutex};
        let answers = Arc::new(Mutex::new(answers));
        let received = Received::default();
        let kept = received.clone();
        let address = serve(axum::Router::new().route(
                    "/v1/chat/completions",
                    axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                        let answers = answers.clone();
                        let kept = kept.clone();
                        async move {
                            kept.lock().expect("lock").push(body.0.clone());
                            let mut answers = answers.lock().expect("lock");
                            let text = if answers.is_empty() { "" } else { answers.remove(0) };
                            let usage = serde_json::json!({"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35});
                            if body.0["stream"] == true {
                                let chunk = serde_json::json!({"id": "c", "object": "chat.completion.chunk",
                                    "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]});
                                let tail = serde_json::json!({"id": "c", "object": "chat.completion.chunk",
                                    "choices": [], "usage": usage});
                                (
                                    [("content-type", "text/event-stream")],
                                    format!("data: {chunk}\n\ndata: {tail}\n\ndata: [DONE]\n\n"),
                                )
                            } else {
                                (
                                    [("content-type", "application/json")],
                                    serde_json::json!({"id": "c", "object": "chat.completion",
                                        "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": text}}],
                                        "usage": usage}).to_string(),
                                )
                            }
                        }
                    }),
                ));
        (address, received)
    }

    #[test]
    fn chat_keeps_the_conversation_and_the_kv_namespace_across_tasks_and_replays() {
        let (server, received) = recording_openai_server(vec![
            "```wat\n(check (call $kv.set \"colour\" \"blue\"))\n```",
            "Stored.",
            "```wat\n(local $v str) (check $v (call $kv.get \"colour\")) (resv $v)\n```",
            "Blue.",
            "I do not know.",
        ]);
        let dir = tempfile::tempdir().expect("temp dir");
        let transcript = dir.path().join("chat.jsonl");
        let transcript = transcript.to_str().expect("utf-8");
        let base = format!("http://{server}/v1");
        let lines = "remember the colour blue\n\nwhat colour?\n/bogus\n/reset\nwhat colour now?\n";
        let chat = |extra: &[&str]| {
            watsmith(
                &[&["chat", "--allow", "kv", "--protocol", "text"][..], extra].concat(),
                Some(lines),
            )
        };
        let out = chat(&[
            "--provider",
            "openai",
            "--model",
            "m",
            "--base-url",
            &base,
            "--transcript",
            transcript,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "Stored.\nBlue.\nI do not know.\n");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("unknown command `/bogus`"), "{stderr}");
        assert!(stderr.contains("outcome: ok: blue ("), "{stderr}");
        let requests = received.lock().expect("lock").clone();
        assert_eq!(requests.len(), 5);
        let contents = |n: usize| -> Vec<String> {
            requests[n]["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .skip(1) // the system prompt
                .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        // The second task is asked with the first in view.
        let second = contents(2);
        assert_eq!(second[0], "remember the colour blue");
        assert_eq!(second[2].lines().next(), Some("status: ok"));
        assert_eq!(second.last().map(String::as_str), Some("what colour?"));
        // After /reset, only the new task.
        assert_eq!(contents(4), ["what colour now?"]);
        // The same lines against the transcript alone give the same answers.
        let replayed = chat(&["--provider", "replay", "--replay", transcript]);
        assert_eq!(
            text(&replayed.stdout),
            "Stored.\nBlue.\nI do not know.\n",
            "{}",
            text(&replayed.stderr)
        );
    }

    #[test]
    fn use_and_exec_ask_the_model_the_flags_name_for_ai() {
        let (server, received) = recording_openai_server(vec!["bonjour", "oui"]);
        let base = format!("http://{server}/v1");
        let model = ["--provider", "openai", "--model", "m", "--base-url", &base];
        let out = watsmith(
            &[
                &[
                    "use",
                    "ai_complete",
                    "good morning in French",
                    "--allow",
                    "ai",
                ][..],
                &model[..],
            ]
            .concat(),
            None,
        );
        assert_eq!(text(&out.stdout), "bonjour\n", "{}", text(&out.stderr));
        let asked = received.lock().expect("lock")[0].clone();
        assert_eq!(asked["model"], "m");
        assert_eq!(
            asked["messages"]
                .as_array()
                .and_then(|m| m.last())
                .map(|m| &m["content"]),
            Some(&serde_json::json!("good morning in French"))
        );
        // A body run by exec asks it too.
        let body = body_file(
            "(local $a str) (local $s i32)\n\
             (call $ai.complete \"yes in French\") (local.set $s) (local.set $a)\n\
             (check $s) (resv $a)\n",
        );
        let path = body.path().to_str().expect("utf-8 path");
        let out = watsmith(
            &[&["exec", path, "--allow", "ai"][..], &model[..]].concat(),
            None,
        );
        assert_eq!(text(&out.stdout), "oui\n", "{}", text(&out.stderr));
        // A model configured is not a grant: the policy still refuses, and says which flag grants.
        let refused = watsmith(
            &[&["use", "ai_complete", "hi"][..], &model[..]].concat(),
            None,
        );
        assert_eq!(refused.status.code(), Some(1));
        assert!(
            text(&refused.stderr).contains("`--allow ai`"),
            "{}",
            text(&refused.stderr)
        );
        assert_eq!(
            received.lock().expect("lock").len(),
            2,
            "the refused call asked nothing"
        );
        // Granted with no model: the error says how to name one.
        let none = watsmith(&["exec", path, "--allow", "ai"], None);
        assert_eq!(none.status.code(), Some(64));
        assert!(
            text(&none.stderr).contains("--provider"),
            "{}",
            text(&none.stderr)
        );
    }

    #[test]
    fn run_solves_a_task_through_a_provider_and_its_transcript_replays() {
        let server = openai_server(vec![
            "```wat\n(local $n i64)\n(local.set $n (i64.mul (i64.const 6) (i64.const 7)))\n(resv $n)\n```",
            "6 times 7 is 42.",
        ]);
        let dir = tempfile::tempdir().expect("temp dir");
        let transcript = dir.path().join("run.jsonl");
        let transcript = transcript.to_str().expect("utf-8");
        let base = format!("http://{server}/v1");
        let out = watsmith(
            &[
                "run",
                "What is 6 * 7?",
                "--provider",
                "openai",
                "--base-url",
                &base,
                "--model",
                "local",
                "--protocol",
                "text",
                "--transcript",
                transcript,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "6 times 7 is 42.\n");
        let progress = text(&out.stderr);
        assert!(progress.contains("outcome: ok: 42"), "{progress}");
        // The same task from the transcript alone: no server; the model and the protocol are
        // the recording's.
        let replayed = watsmith(
            &[
                "run",
                "What is 6 * 7?",
                "--provider",
                "replay",
                "--replay",
                transcript,
            ],
            None,
        );
        assert_eq!(
            text(&replayed.stdout),
            "6 times 7 is 42.\n",
            "{}",
            text(&replayed.stderr)
        );
        // Another task is not in the recording: the run stops and says why.
        let diverged = watsmith(
            &[
                "run",
                "What is 6 * 8?",
                "--provider",
                "replay",
                "--replay",
                transcript,
                "--protocol",
                "text",
            ],
            None,
        );
        assert_eq!(diverged.status.code(), Some(1));
        assert!(text(&diverged.stderr).contains("diverged from the recording"));
        // --json: one event per line.
        let server = openai_server(vec!["Forty-two."]);
        let base = format!("http://{server}/v1");
        let json = watsmith(
            &[
                "run",
                "6 * 7?",
                "--provider",
                "openai",
                "--base-url",
                &base,
                "--model",
                "m",
                "--json",
            ],
            None,
        );
        let events: Vec<serde_json::Value> = text(&json.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(kinds, ["task", "request", "response", "final"]);
        assert_eq!(events[3]["answer"], "Forty-two.");
    }

    #[test]
    fn run_without_a_provider_points_to_the_demo_and_keys_never_print() {
        let none = watsmith(&["run", "anything"], None);
        assert_eq!(none.status.code(), Some(64));
        assert!(
            text(&none.stderr).contains("`watsmith demo`"),
            "{}",
            text(&none.stderr)
        );
        let no_key = Command::new(env!("CARGO_BIN_EXE_watsmith"))
            .args(["run", "x", "--provider", "anthropic", "--model", "m"])
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("WATSMITH_API_KEY")
            .env("XDG_CONFIG_HOME", "/nonexistent/watsmith-tests")
            .output()
            .expect("runs");
        assert_eq!(no_key.status.code(), Some(64));
        assert!(
            text(&no_key.stderr).contains("needs an API key"),
            "{}",
            text(&no_key.stderr)
        );

        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("watsmith.toml");
        std::fs::write(
            &config,
            "[agent]\nprovider = \"openai\"\nmodel = \"gpt-test\"\nmax_steps = 3\n",
        )
        .expect("write");
        let show = Command::new(env!("CARGO_BIN_EXE_watsmith"))
            .args(["config", "show"])
            .env("WATSMITH_CONFIG", &config)
            .env("WATSMITH_MODEL", "from-env")
            .env("OPENAI_API_KEY", "sk-secret-value")
            .output()
            .expect("runs");
        let shown = text(&show.stdout);
        assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
        assert!(
            shown.contains("provider = \"openai\"  # from the file"),
            "{shown}"
        );
        assert!(
            shown.contains("model = \"from-env\"  # from the environment"),
            "{shown}"
        );
        assert!(
            shown.contains("api_key = \"[redacted]\"  # from OPENAI_API_KEY"),
            "{shown}"
        );
        assert!(shown.contains("max_steps = 3"), "{shown}");
        assert!(!shown.contains("sk-secret-value"), "{shown}");
        std::fs::write(&config, "[agent]\nmodle = \"x\"\n").expect("write");
        let typo = Command::new(env!("CARGO_BIN_EXE_watsmith"))
            .args(["config", "show"])
            .env("WATSMITH_CONFIG", &config)
            .output()
            .expect("runs");
        assert_eq!(typo.status.code(), Some(64));
        assert!(
            text(&typo.stderr).contains("watsmith.toml:2: unknown field `modle`"),
            "{}",
            text(&typo.stderr)
        );
    }

    #[test]
    fn a_program_of_the_agent_may_ask_the_same_model_when_ai_is_granted() {
        let body =
            "```wat\n(local $a str)\n(check $a (call $ai.complete \"Say hi\"))\n(resv $a)\n```";
        let server = openai_server(vec![body, "hi there", "The model said: hi there."]);
        let base = format!("http://{server}/v1");
        let args = [
            "run",
            "Ask the model to say hi",
            "--provider",
            "openai",
            "--base-url",
            &base,
            "--model",
            "m",
            "--protocol",
            "text",
            "--allow",
            "ai",
        ];
        let out = watsmith(&args, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "The model said: hi there.\n");
        assert!(
            text(&out.stderr).contains("outcome: ok: hi there"),
            "{}",
            text(&out.stderr)
        );
        // Without the grant the program is refused, and the model is told so.
        let server = openai_server(vec![body, "I may not ask."]);
        let base = format!("http://{server}/v1");
        let refused = watsmith(
            &[
                "run",
                "Ask the model to say hi",
                "--provider",
                "openai",
                "--base-url",
                &base,
                "--model",
                "m",
                "--protocol",
                "text",
            ],
            None,
        );
        assert_eq!(
            text(&refused.stdout),
            "I may not ask.\n",
            "{}",
            text(&refused.stderr)
        );
        assert!(
            text(&refused.stderr).contains("outcome: error EACCESS"),
            "{}",
            text(&refused.stderr)
        );
    }
}
