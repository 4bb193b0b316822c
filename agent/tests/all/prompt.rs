//! The system prompt says what the session can really do, and its examples run.

use watsmith_agent::action::{Action, parse_text};
use watsmith_agent::prompt::DIALECT;
use watsmith_agent::{AgentLimits, Protocol, SystemPrompt};
use watsmith_catalog::Catalog;
use watsmith_engine::{Engine, EngineConfig, HttpGrant, Limits, Policy, Status, Value};

fn prompt(policy: &Policy, protocol: Protocol) -> SystemPrompt {
    let engine = Engine::new(&EngineConfig::default()).expect("engine");
    SystemPrompt::build(
        engine.registry(),
        policy,
        &Catalog::builtin(),
        &Limits::default(),
        &AgentLimits::default(),
        protocol,
    )
}

#[test]
fn every_example_of_the_dialect_runs() {
    let engine = Engine::new(&EngineConfig::default()).expect("engine");
    let blocks: Vec<&str> = DIALECT.split("```wat\n").skip(1).collect();
    assert_eq!(blocks.len(), 2);
    let expected = [
        (vec![Value::I64(100)], vec![Value::I64(25)]),
        (
            vec![Value::Str("héllo".to_owned())],
            vec![Value::Str("HÉLLO!".to_owned()), Value::I64(5)],
        ),
    ];
    for (block, (args, results)) in blocks.iter().zip(expected) {
        // Read as the model's answer would be.
        let Ok(Action::RunWat { body, .. }) = parse_text(&format!("```wat\n{block}")) else {
            panic!("not a body: {block}");
        };
        let outcome = engine.exec(&body, args, &Policy::standard(), &Limits::default());
        assert_eq!(outcome.status, Status::Ok, "{outcome:#?}");
        assert_eq!(outcome.results, results);
    }
}

#[test]
fn only_granted_capabilities_and_usable_programs_are_offered() {
    let standard = prompt(&Policy::standard(), Protocol::Text);
    assert!(
        standard
            .text()
            .contains("- `$str.len (param i32) (result i32)`")
    );
    assert!(!standard.text().contains("$http.get"));
    assert!(!standard.text().contains("$kv.get"));
    assert!(
        standard
            .text()
            .contains("- `gcd(a: i64, b: i64) -> (gcd: i64)`: ")
    );
    assert!(!standard.text().contains("http_get"), "needs http");
    assert!(standard.text().contains("fenced ```wat block"));

    let http = Policy::standard().grant(HttpGrant::new(["api.example.com"]).expect("rule"));
    let with_http = prompt(&http, Protocol::Tools);
    assert!(with_http.text().contains("$http.get"));
    assert!(
        with_http
            .text()
            .contains("`http_get(url: str) -> (body: str)`")
    );
    assert!(with_http.text().contains("`run_wat`"));
    assert_ne!(with_http.hash(), standard.hash());
    assert_eq!(
        standard,
        prompt(&Policy::standard(), Protocol::Text),
        "deterministic"
    );
    assert_eq!(standard.hash().len(), 64);
}

#[test]
fn the_limits_are_stated() {
    let limits = Limits {
        fuel: Some(5_000),
        ..Limits::default()
    };
    let engine = Engine::new(&EngineConfig::default()).expect("engine");
    let prompt = SystemPrompt::build(
        engine.registry(),
        &Policy::standard(),
        &Catalog::builtin(),
        &limits,
        &AgentLimits::default(),
        Protocol::Text,
    );
    assert!(
        prompt.text().contains("Each run: 5000 instructions, 2000 ms, 64 MiB of memory. Each task: at most 8 actions, 2 retries"),
        "{}",
        prompt.text()
    );
}
