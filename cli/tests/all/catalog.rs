use crate::*;

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
        text(&wrong.stderr).contains("failed: fib: example 3: expected [56], got [55]"),
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
        // A program that asks a model is refused like any other, model or not.
        (&["use", "ai_complete", "hello"][..], "`--allow ai`"),
    ] {
        let out = watsmith(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("is not granted to this run"), "{stderr}");
        assert!(stderr.contains(hint), "{args:?}: {stderr}");
    }
    // Granted without a model: the error says how to name one.
    let ai = watsmith(&["use", "ai_complete", "hello", "--allow", "ai"], None);
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
