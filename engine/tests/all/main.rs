//! Integration tests of the engine, one module per topic. Every test runs real Wasmtime.

mod admission;
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
mod policy;
mod sharing;
mod strings;

use watsmith_engine::{Engine, EngineConfig, Limits, Outcome, Policy, Status, StatusCode, Value};

pub(crate) fn engine() -> Engine {
    // The binaries install the TLS crypto provider of the `http` client; a test is its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
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
    outcome.code.expect("an error outcome has a code")
}

/// Asserts that `body` is refused with EACCESS before running when the policy is `deny_all`,
/// naming `capability`.
pub(crate) fn assert_refused_without(engine: &Engine, body: &str, capability: &str) {
    let outcome = exec(engine, body, vec![]);
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::EACCESS)),
        "{outcome:?}"
    );
    assert_eq!(outcome.fuel_used, Some(0), "it never ran");
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
