//! The system prompt says what the session can really do, and its examples run.

use watsmith_agent::action::{Action, parse_text};
use watsmith_agent::prompt::DIALECT;
use watsmith_agent::prompt::reference;
use watsmith_agent::{AgentLimits, PromptStyle, Protocol, SystemPrompt};
use watsmith_catalog::Catalog;
use watsmith_engine::{Engine, EngineConfig, HttpGrant, Limits, Policy, Status, Value};

fn prompt(policy: &Policy, protocol: Protocol) -> SystemPrompt {
    styled(policy, protocol, PromptStyle::Full)
}

fn styled(policy: &Policy, protocol: Protocol, style: PromptStyle) -> SystemPrompt {
    let engine = Engine::new(&EngineConfig::default()).expect("engine");
    SystemPrompt::build(
        engine.registry(),
        policy,
        &Catalog::builtin(),
        &Limits::default(),
        &AgentLimits::default(),
        protocol,
        style,
    )
}

/// Tokens of `text` in OpenAI's o200k_base encoding (GPT-4o's; other models' tokenizers count
/// code and prose within a few percent of it).
fn tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base()
        .expect("the encoding loads")
        .encode_ordinary(text)
        .len()
}

/// The capabilities that need a grant, granted: hosts, a kv namespace, a directory, a seed.
fn everything() -> Policy {
    let store: std::sync::Arc<dyn watsmith_engine::KvStore> =
        std::sync::Arc::new(watsmith_engine::MemoryKv::new());
    Policy::standard()
        .grant(HttpGrant::new(["api.example.com"]).expect("rule"))
        .grant(watsmith_engine::KvGrant::new(store, "ns"))
        .grant(watsmith_engine::FsGrant::read_only(std::env::temp_dir()))
        .grant(watsmith_engine::RandGrant { seed: 1 })
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
        PromptStyle::Compact,
    );
    assert!(
        prompt.text().contains("Each run: 5000 instructions, 2000 ms, 64 MiB of memory. Each task: at most 8 actions, 2 retries"),
        "{}",
        prompt.text()
    );
}

#[test]
fn the_compact_prompt_fits_small_contexts_and_names_everything_granted() {
    for protocol in [Protocol::Tools, Protocol::Text] {
        let compact = styled(&Policy::standard(), protocol, PromptStyle::Compact);
        let full = styled(&Policy::standard(), protocol, PromptStyle::Full);
        let counted = tokens(compact.text());
        assert!(counted <= 2_000, "{protocol:?}: {counted} tokens");
        assert!(counted < tokens(full.text()));
        // Each granted capability in one line with its functions' names, the programs by name.
        assert!(compact.text().contains("- `str`: "), "{}", compact.text());
        assert!(
            compact.text().contains("len, chars, concat"),
            "{}",
            compact.text()
        );
        assert!(
            !compact.text().contains("(param i32)"),
            "signatures are on demand"
        );
        assert!(compact.text().contains("gcd, "), "{}", compact.text());
        assert!(compact.text().contains("reference"));
    }
    let all = styled(&everything(), Protocol::Tools, PromptStyle::Compact);
    assert!(all.text().contains("- `http`: "), "{}", all.text());
}

#[test]
fn the_tools_protocol_prompt_never_asks_for_use_lines() {
    for style in [PromptStyle::Compact, PromptStyle::Full] {
        let tools = styled(&everything(), Protocol::Tools, style);
        assert!(
            !tools.text().contains("@use"),
            "{style:?}: {}",
            tools.text()
        );
        assert!(!tools.text().contains("@reference"), "{style:?}");
        assert!(tools.text().contains("`use_program`"), "{style:?}");
    }
    let text = styled(&Policy::standard(), Protocol::Text, PromptStyle::Compact);
    assert!(text.text().contains("`@use name(arg, ...)`"));
    assert!(text.text().contains("`@reference name`"));
}

#[test]
fn a_reference_covers_what_is_granted_and_says_what_there_is_otherwise() {
    let engine = Engine::new(&EngineConfig::default()).expect("engine");
    let catalog = Catalog::builtin();
    let lookup =
        |policy: &Policy, topic: &str| reference(engine.registry(), policy, &catalog, topic);
    let standard = Policy::standard();
    let str_reference = lookup(&standard, "str").expect("str is granted");
    assert!(
        str_reference.contains("- `$str.len (param i32) (result i32)`: "),
        "{str_reference}"
    );
    let gcd = lookup(&standard, "gcd").expect("a program");
    assert!(gcd.contains("`gcd(a: i64, b: i64) -> (gcd: i64)`"), "{gcd}");
    assert!(gcd.contains("Examples:\n- `gcd("), "{gcd}");
    let refused = lookup(&standard, "http").expect_err("not granted");
    assert!(refused.contains("there are: core, str"), "{refused}");
    assert!(!refused.contains("http_get"), "{refused}");
    assert!(
        lookup(&everything(), "$http")
            .expect("granted")
            .contains("$http.get")
    );
}
