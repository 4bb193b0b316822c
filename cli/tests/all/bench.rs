//! `watsmith bench` run as a user would, with tiny counts: the report's structure and its
//! internal consistency. Never its speed: wall-clock thresholds in tests fail on a busy machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The single-caller scenarios, in the order the report lists them.
const SCENARIOS: [&str; 10] = [
    "catalog fib(20)",
    "catalog sha256(\"abc\")",
    "fresh body",
    "cached body",
    "runtime use fib(20)",
    "runtime use fib(20), 2 tasks",
    "runtime fresh body, catalog calls beside",
    "runtime use fib(20), beside fresh bodies",
    "python3 spawn",
    "/bin/true spawn",
];
const PROCESS_SCENARIOS: [&str; 2] = ["python3 spawn", "/bin/true spawn"];

/// The counts every run here asks for: enough to have percentiles, few enough to be quick.
const TINY: [&str; 8] = [
    "--iterations",
    "20",
    "--spawns",
    "2",
    "--threads",
    "2",
    "--calls-per-thread",
    "30",
];

fn bench(extra: &[&str], path: Option<&std::ffi::OsStr>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watsmith"));
    command.arg("bench").args(TINY).args(extra);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

fn json_report(extra: &[&str], path: Option<&std::ffi::OsStr>) -> Value {
    let out = bench(&[&["--json"], extra].concat(), path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn ns(figures: &Value, key: &str) -> u64 {
    figures[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is a count of nanoseconds in {figures}"))
}

/// Percentiles in order and the mean among the samples: what holds whatever the machine.
fn assert_consistent(figures: &Value, calls: u64) {
    assert_eq!(figures["calls"], calls, "{figures}");
    let (p50, p90, p99) = (
        ns(figures, "p50_ns"),
        ns(figures, "p90_ns"),
        ns(figures, "p99_ns"),
    );
    assert!(0 < p50 && p50 <= p90 && p90 <= p99, "{figures}");
    // The mean is at most the largest sample, which p99 is for up to 100 calls (nearest rank:
    // ceil(0.99 n) = n), as asked for here.
    if calls <= 100 {
        assert!(ns(figures, "mean_ns") <= p99, "{figures}");
    }
    let rate = figures["calls_per_sec"].as_f64().expect("a rate");
    assert!(rate > 0.0, "{figures}");
}

#[test]
fn json_reports_every_scenario_with_ordered_percentiles_and_the_counts_asked_for() {
    let report = json_report(&[], None);
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, SCENARIOS);
    for scenario in scenarios {
        let name = scenario["name"].as_str().expect("a name");
        if let Some(reason) = scenario.get("skipped") {
            // Only a process can be missing on this machine; in-process scenarios always run.
            assert!(PROCESS_SCENARIOS.contains(&name), "{scenario}");
            assert!(reason.as_str().is_some_and(|r| !r.is_empty()), "{scenario}");
            continue;
        }
        let asked = match name {
            _ if PROCESS_SCENARIOS.contains(&name) => Some(2),
            "runtime use fib(20), 2 tasks" => Some(40),
            // A tenth of the iterations, compiled.
            "runtime fresh body, catalog calls beside" => Some(2),
            // As many as fit beside the compiles: at least one.
            "runtime use fib(20), beside fresh bodies" => None,
            _ => Some(20),
        };
        let calls = scenario["calls"].as_u64().expect("calls");
        assert_consistent(scenario, asked.unwrap_or(calls.max(1)));
        if name == "runtime use fib(20), 2 tasks" {
            // Two callers at once: the rate is over the wall time, not one over the mean.
            continue;
        }
        // For one caller, the rate is the inverse of the mean.
        let rate = scenario["calls_per_sec"].as_f64().expect("rate");
        let mean = ns(scenario, "mean_ns") as f64;
        assert!((rate * mean / 1e9 - 1.0).abs() < 1e-6, "{scenario}");
    }
    assert_eq!(report["settings"]["iterations"], 20);
    assert_eq!(report["settings"]["spawns"], 2);
    assert_eq!(report["settings"]["threads"], 2);
    assert_eq!(report["settings"]["calls_per_thread"], 30);
}

#[test]
fn json_reports_throughput_on_one_thread_and_on_the_threads_asked_for() {
    let report = json_report(&[], None);
    let throughput = &report["throughput"];
    assert_eq!(throughput["calls_per_thread"], 30);
    let runs = throughput["runs"].as_array().expect("runs");
    let threads: Vec<u64> = runs
        .iter()
        .map(|r| r["threads"].as_u64().expect("n"))
        .collect();
    assert_eq!(threads, [1, 2]);
    assert_consistent(&runs[0], 30);
    assert_consistent(&runs[1], 60);
    // Calls per second are over the wall time: calls / elapsed.
    for run in runs {
        let calls = run["calls"].as_f64().expect("calls");
        let expected = calls / (ns(run, "elapsed_ns") as f64 / 1e9);
        let rate = run["calls_per_sec"].as_f64().expect("rate");
        assert!((rate / expected - 1.0).abs() < 1e-6, "{run}");
    }
    let scaling = throughput["scaling"].as_f64().expect("scaling");
    let ratio = runs[1]["calls_per_sec"].as_f64().expect("rate")
        / runs[0]["calls_per_sec"].as_f64().expect("rate");
    assert!((scaling / ratio - 1.0).abs() < 1e-9, "{throughput}");
}

#[test]
fn json_describes_the_machine_and_checks_each_goal() {
    let report = json_report(&[], None);
    assert_eq!(report["watsmith"], env!("CARGO_PKG_VERSION"));
    assert!(
        report["build"] == "debug" || report["build"] == "release",
        "{report}"
    );
    let machine = &report["machine"];
    assert!(
        machine["cores"].as_u64().is_some_and(|n| n >= 1),
        "{machine}"
    );
    assert_eq!(machine["os"], std::env::consts::OS);
    assert_eq!(machine["arch"], std::env::consts::ARCH);
    let goals = report["goals"].as_array().expect("goals");
    let ids: Vec<&str> = goals
        .iter()
        .map(|g| g["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "catalog_p50",
            "catalog_vs_python_spawn",
            "catalog_vs_true_spawn",
            "fresh_p50",
            "thread_scaling",
            "compile_does_not_block"
        ]
    );
    for goal in goals {
        // Met or not, with what was measured; or not measurable, with the reason.
        match &goal["met"] {
            Value::Bool(_) => assert!(goal["measured"].is_string(), "{goal}"),
            Value::Null => assert!(goal["note"].is_string(), "{goal}"),
            other => panic!("`met` is a boolean or null, not {other}"),
        }
    }
    // The in-process goal is decided from the figures in the same report.
    let catalog = &report["scenarios"][0];
    assert_eq!(
        goals[0]["met"],
        Value::Bool(ns(catalog, "p50_ns") <= 5_000),
        "{report}"
    );
}

#[test]
fn the_table_has_the_header_every_scenario_and_the_goals() {
    let out = bench(&[], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("machine: "), "{stdout}");
    let header = stdout
        .lines()
        .find(|line| line.starts_with("| scenario"))
        .expect("a table header");
    let columns: Vec<&str> = header.split('|').map(str::trim).collect();
    assert_eq!(
        columns,
        ["", "scenario", "calls", "p50", "p90", "p99", "calls/s", ""]
    );
    for name in SCENARIOS
        .iter()
        .copied()
        .chain(["throughput, 1 thread", "throughput, 2 threads"])
    {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("| {name} "))),
            "no row for {name}:\n{stdout}"
        );
    }
    assert!(stdout.contains("\ngoals:\n"), "{stdout}");
    assert!(
        stdout.contains("- catalog fib(20) p50 ≤ 5.00 µs: "),
        "{stdout}"
    );
    // Progress goes to stderr, so that stdout is only the report.
    assert!(text(&out.stderr).contains("bench: fresh body x 20"));
}

/// A directory holding an executable `python3` that runs `script`.
fn fake_python(script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("python3");
    std::fs::write(&path, script).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dir
}

/// The real interpreter behind `python3` on this machine's PATH, if there is one.
fn real_python() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let path = PathBuf::from(text(&out.stdout).trim());
    path.canonicalize().ok()
}

#[test]
fn a_version_manager_shim_is_resolved_to_the_interpreter_it_runs() {
    // Without a python3 there is nothing to resolve; the test below covers that case.
    let Some(real) = real_python() else {
        return;
    };
    // A shim as pyenv writes one: a script that execs the real interpreter.
    let shims = fake_python(&format!("#!/bin/sh\nexec '{}' \"$@\"\n", real.display()));
    let report = json_report(&[], Some(shims.path().as_os_str()));
    let python = &report["python"];
    assert_eq!(
        python["found"],
        shims.path().join("python3").to_str().expect("utf-8")
    );
    assert_eq!(python["path"], real.to_str().expect("utf-8"));
    assert!(
        python["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("Python ")),
        "{python}"
    );
    assert_eq!(report["scenarios"][8]["calls"], 2, "{report}");
}

#[test]
fn without_python3_its_scenario_is_skipped_with_the_reason() {
    let empty = tempfile::tempdir().expect("temp dir");
    let report = json_report(&[], Some(empty.path().as_os_str()));
    let python = &report["scenarios"][8];
    assert_eq!(python["name"], "python3 spawn");
    assert_eq!(python["skipped"], "`python3` is not on PATH");
    assert!(python.get("p50_ns").is_none(), "{python}");
    assert_eq!(report["python"], Value::Null);
    let goal = &report["goals"][1];
    assert_eq!(goal["met"], Value::Null);
    assert_eq!(
        goal["note"],
        "python3 spawn skipped: `python3` is not on PATH"
    );
    // The table says so too.
    let out = bench(&[], Some(empty.path().as_os_str()));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("python3 spawn skipped: `python3` is not on PATH"),
        "{stdout}"
    );
}

#[test]
fn a_wrong_answer_stops_the_benchmark() {
    // An interpreter that runs but prints the wrong number: the benchmark refuses to time it.
    let liar = fake_python(
        "#!/bin/sh\ncase \"$1\" in\n  --version) echo 'Python 0.0';;\n  -c) case \"$2\" in\n    \
         *sys.executable*) echo \"$0\";;\n    *) echo 6766;;\n  esac;;\nesac\n",
    );
    let python = liar.path().join("python3");
    let out = bench(&["--python", python.to_str().expect("utf-8")], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr).lines().last(),
        Some("error: python3 spawn: expected it to print \"6765\\n\", got \"6766\\n\"")
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    for (flag, value) in [
        ("--iterations", "0"),
        ("--spawns", "0"),
        ("--threads", "0"),
        ("--calls-per-thread", "0"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_watsmith"))
            .args(["bench", flag, value])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(64), "{flag} {value}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag} <N>'")),
            "{stderr}"
        );
        assert!(stderr.contains("0 is not in 1.."), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let missing = Path::new("/nonexistent/python3");
    let out = Command::new(env!("CARGO_BIN_EXE_watsmith"))
        .args(["bench", "--python"])
        .arg(missing)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .starts_with("error: --python /nonexistent/python3: cannot run `/nonexistent/python3`"),
        "{stderr}"
    );
}
