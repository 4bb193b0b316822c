//! Integration tests of the engine, one module per topic. Every test runs real Wasmtime.

mod ai;
mod arrays;
mod capabilities;
mod clock;
mod errors;
mod fs;
mod http;
mod json;
mod kv;
mod limits;
mod math;
mod sharing;
mod strings;

use std::path::{Path, PathBuf};

use watsmith_engine::{
    Engine, EngineConfig, FsGrant, Limits, Outcome, Policy, Status, StatusCode, Value,
};

pub(crate) fn engine() -> Engine {
    Engine::new(&EngineConfig::default()).expect("the default engine builds")
}

pub(crate) fn exec(engine: &Engine, body: &str, args: Vec<Value>) -> Outcome {
    engine.exec(body, args, &Policy::deny_all(), &Limits::default())
}

/// Runs `body` under [`Policy::standard`] (core, str, arr, json, math) and default limits.
pub(crate) fn exec_standard(engine: &Engine, body: &str, args: Vec<Value>) -> Outcome {
    engine.exec(body, args, &Policy::standard(), &Limits::default())
}

/// The results of a run under the standard policy that must succeed.
pub(crate) fn results(engine: &Engine, body: &str, args: Vec<Value>) -> Vec<Value> {
    let outcome = exec_standard(engine, body, args);
    assert_eq!(outcome.status, Status::Ok, "{body}\n{outcome:?}");
    outcome.results
}

/// The status of a run under the standard policy that must end with an error status.
pub(crate) fn error_code(engine: &Engine, body: &str, args: Vec<Value>) -> StatusCode {
    let outcome = exec_standard(engine, body, args);
    assert_eq!(outcome.status, Status::Error, "{body}\n{outcome:?}");
    outcome.code
}

/// Asserts that `body` is refused with EACCESS before running when the policy is `deny_all`,
/// naming `capability`.
pub(crate) fn assert_refused_without(engine: &Engine, body: &str, capability: &str) {
    let outcome = exec(engine, body, vec![]);
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, StatusCode::EACCESS),
        "{outcome:?}"
    );
    assert_eq!(outcome.fuel_used, 0, "it never ran");
    let needle = format!("capability `{capability}` is not granted");
    assert!(
        outcome
            .diagnostics
            .iter()
            .any(|d| d.message.contains(&needle)),
        "{:?}",
        outcome.diagnostics
    );
}

/// A body under `examples/` and what its header says: the `;; run: watsmith exec ...` line
/// (arguments, `--allow`, `--fs-root`, `--fs-write`) and one `;; expect:` line per result.
#[derive(Debug)]
pub(crate) struct Example {
    pub(crate) body: String,
    pub(crate) args: Vec<Value>,
    allow: Vec<String>,
    fs_root: Option<PathBuf>,
    fs_write: bool,
    pub(crate) expect: Vec<String>,
}

pub(crate) fn example(name: &str) -> Example {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let body = std::fs::read_to_string(workspace.join("examples").join(name)).expect(name);
    let run = body
        .lines()
        .find_map(|line| line.strip_prefix(";; run: watsmith exec "))
        .expect("a `;; run:` line");
    let mut words = run.split_whitespace();
    assert_eq!(words.next(), Some(format!("examples/{name}").as_str()));
    let mut example = Example {
        args: Vec::new(),
        allow: Vec::new(),
        fs_root: None,
        fs_write: false,
        expect: body
            .lines()
            .filter_map(|line| line.strip_prefix(";; expect: "))
            .map(str::to_owned)
            .collect(),
        body: body.clone(),
    };
    while let Some(word) = words.next() {
        match word {
            "--allow" => example
                .allow
                .push(words.next().expect("--allow CAP").to_owned()),
            "--fs-root" => {
                example.fs_root = Some(workspace.join(words.next().expect("--fs-root DIR")));
            }
            "--fs-write" => example.fs_write = true,
            flag if flag.starts_with("--") => panic!("{name}: the test does not know {flag}"),
            arg => example.args.push(Value::from_literal(arg)),
        }
    }
    example
}

impl Example {
    /// The policy the command line grants.
    pub(crate) fn policy(&self) -> Policy {
        self.allow
            .iter()
            .fold(Policy::deny_all(), |policy, capability| {
                match (capability.as_str(), &self.fs_root) {
                    ("fs", Some(root)) => policy.allow_with(
                        "fs",
                        FsGrant {
                            root: root.clone(),
                            writable: self.fs_write,
                        },
                    ),
                    _ => policy.allow(capability.clone()),
                }
            })
    }

    /// Runs it as the command line would, returning the results as `watsmith exec` prints them.
    pub(crate) fn run(&self, engine: &Engine) -> Vec<String> {
        let outcome = engine.exec(
            &self.body,
            self.args.clone(),
            &self.policy(),
            &Limits::default(),
        );
        assert!(outcome.trap.is_none() && outcome.code.0 == 0, "{outcome:?}");
        outcome.results.iter().map(ToString::to_string).collect()
    }
}
