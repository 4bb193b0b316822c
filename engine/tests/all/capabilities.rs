//! The `core` capability through real WAT-plus programs, the policy, and the registry.

use wasmtime::{Caller, Linker};
use watsmith_engine::{
    Capability, Engine, EngineConfig, FunctionDoc, Limits, Policy, Registry, RunState, Status,
    StatusCode, Value,
};
use watsmith_preprocessor::abi::{HostFunction, MACRO_HOST_FUNCTIONS, ValType};

use super::{engine, exec};

#[test]
fn core_provides_exactly_the_macro_abi() {
    let engine = engine();
    for expected in MACRO_HOST_FUNCTIONS {
        let doc = engine
            .registry()
            .function(expected.module, expected.name)
            .expect("provided");
        assert_eq!(&doc.function, expected, "{}", expected.name);
    }
}

#[test]
fn arguments_and_results_of_every_type_round_trip() {
    let engine = engine();
    let body = "(local $a i32) (local $b i64) (local $c f64) (local $d str) (local $e bytes) (local $f f32)
        (argv 0 $a) (argv 1 $b) (argv 2 $c) (argv 3 $d) (argv 4 $e) (argv 5 $f)
        (resv $a) (resv $b) (resv $c) (resv $d) (resv $e) (resv $f)";
    let args = vec![
        Value::I64(-7),
        Value::I64(1 << 40),
        Value::F64(2.5),
        Value::Str("héllo".into()),
        Value::Bytes(vec![0, 255, 7]),
        Value::F64(0.5),
    ];
    let outcome = exec(&engine, body, args);
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(
        outcome.results,
        [
            Value::I32(-7),
            Value::I64(1 << 40),
            Value::F64(2.5),
            Value::Str("héllo".into()),
            Value::Bytes(vec![0, 255, 7]),
            Value::F64(0.5),
        ]
    );
}

#[test]
fn a_missing_argument_is_ebound_and_a_wrong_type_etrfm() {
    let engine = engine();
    let body = "(local $n i64) (argv 0 $n) (resv $n)";
    let missing = exec(&engine, body, vec![]);
    assert_eq!(
        (missing.status, missing.code),
        (Status::Error, Some(StatusCode::EBOUND))
    );
    let wrong = exec(&engine, body, vec![Value::Str("ten".into())]);
    assert_eq!(
        (wrong.status, wrong.code, wrong.code_name.as_deref()),
        (Status::Error, Some(StatusCode::ETRFM), Some("ETRFM"))
    );
    let too_big = exec(
        &engine,
        "(local $n i32) (argv 0 $n)",
        vec![Value::I64(1 << 40)],
    );
    assert_eq!(too_big.code, Some(StatusCode::ETRFM));
}

#[test]
fn string_literals_logs_and_the_allocator_work_together() {
    let engine = engine();
    // Copy a literal into fresh memory with core.alloc and memory.copy, then return the copy.
    let body = r#"(local $src str) (local $dst str) (local $len i32)
        (local.set $src "copy me")
        (local.set $len (i32.load (local.get $src)))
        (check $dst (call $core.alloc (i32.add (local.get $len) (i32.const 4))))
        (memory.copy (local.get $dst) (local.get $src) (i32.add (local.get $len) (i32.const 4)))
        (call $core.log "copied")
        (resv $dst)"#;
    let outcome = exec(&engine, body, vec![]);
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(outcome.results, [Value::Str("copy me".into())]);
    assert_eq!(outcome.logs, ["copied"]);
}

#[test]
fn a_missing_or_mistyped_argument_is_named_in_the_log() {
    let engine = engine();
    let body = "(local $a i64) (local $b i32) (argv 0 $a) (argv 1 $b) (resv $a)";
    let missing = exec(&engine, body, vec![Value::I64(5)]);
    assert_eq!(missing.code, Some(StatusCode::EBOUND), "{missing:?}");
    assert_eq!(
        missing.logs,
        ["core.arg_i32: there is no argument 1: the run was given 1 argument (EBOUND)"]
    );
    let too_big = exec(&engine, body, vec![Value::I64(5), Value::I64(1 << 40)]);
    assert_eq!(too_big.code, Some(StatusCode::ETRFM), "{too_big:?}");
    assert_eq!(
        too_big.logs,
        [
            "core.arg_i32: argument 1 is the i64 1099511627776, not an integer that fits an i32 (ETRFM)"
        ]
    );
    let text = exec(&engine, body, vec![Value::Str("five".into())]);
    assert_eq!(
        text.logs,
        ["core.arg_i64: argument 0 is a str, not an integer (ETRFM)"]
    );
    // A read that succeeds logs nothing.
    let fine = exec(&engine, body, vec![Value::I64(5), Value::I32(6)]);
    assert_eq!(
        (fine.results.as_slice(), fine.logs.len()),
        (&[Value::I64(5)][..], 0)
    );
}

#[test]
fn a_negative_allocation_is_ebound_as_its_documentation_says() {
    let engine = engine();
    let body = "(local $p i32) (local $status i32)
        (call $core.alloc (i32.const -1)) (local.set $status) (local.set $p)
        (resv $status)";
    let outcome = exec(&engine, body, vec![]);
    assert_eq!(
        outcome.results,
        [Value::I32(StatusCode::EBOUND.as_i32())],
        "{outcome:?}"
    );
    let alloc = watsmith_engine::Registry::builtin()
        .get("core")
        .expect("core")
        .functions()
        .iter()
        .find(|f| f.function.wat_name() == "$core.alloc")
        .expect("core.alloc");
    assert!(
        alloc.description.contains("EBOUND") && alloc.description.contains("ENOMEM"),
        "{}",
        alloc.description
    );
}

#[test]
fn a_bad_pointer_is_ebound_not_a_crash() {
    let engine = engine();
    let outcome = exec(
        &engine,
        "(local $s str) (local.set $s (i32.const -100)) (resv $s)",
        vec![],
    );
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::EBOUND))
    );
}

/// A test capability, registered like any other: shows that adding one touches no engine code.
struct Twice;

static TWICE_FUNCTIONS: [FunctionDoc; 1] = [FunctionDoc {
    function: HostFunction {
        module: "twice",
        name: "of",
        params: &[ValType::I64],
        results: &[ValType::I64],
    },
    description: "twice the argument",
}];

impl Capability for Twice {
    fn name(&self) -> &'static str {
        "twice"
    }
    fn description(&self) -> &'static str {
        "doubles numbers (a test capability)"
    }
    fn functions(&self) -> &'static [FunctionDoc] {
        &TWICE_FUNCTIONS
    }
    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap("twice", "of", |_: Caller<'_, RunState>, n: i64| n * 2)?;
        Ok(())
    }
}

#[test]
fn an_ungranted_capability_is_refused_before_running_with_eaccess() {
    let mut registry = Registry::builtin();
    registry.register(Box::new(Twice));
    let engine = Engine::with_registry(&EngineConfig::default(), registry).expect("engine");
    let body =
        "(local $n i64)\n(argv 0 $n)\n(local.set $n (call $twice.of (local.get $n)))\n(resv $n)";

    let denied = engine.exec(
        body,
        vec![Value::I64(21)],
        &Policy::deny_all(),
        &Limits::default(),
    );
    assert_eq!(
        (denied.status, denied.code, denied.code_name.as_deref()),
        (Status::Error, Some(StatusCode::EACCESS), Some("EACCESS"))
    );
    assert!(
        denied.results.is_empty() && denied.fuel_used == Some(0),
        "it never ran"
    );
    let diagnostic = &denied.diagnostics[0];
    assert_eq!((diagnostic.line, diagnostic.column), (3, 21));
    assert!(
        diagnostic
            .message
            .contains("capability `twice` is not granted"),
        "{}",
        diagnostic.message
    );

    let allowed = engine.exec(
        body,
        vec![Value::I64(21)],
        &Policy::deny_all().allow("twice"),
        &Limits::default(),
    );
    assert_eq!(allowed.status, Status::Ok, "{allowed:?}");
    assert_eq!(allowed.results, [Value::I64(42)]);
    // The program was compiled once; the policy was checked on both runs.
    assert_eq!(engine.cache_stats().misses, 1);
    assert_eq!(engine.cache_stats().hits, 1);
}

#[test]
fn every_builtin_function_links_with_its_documented_signature() {
    let wasm = wasmtime::Engine::default();
    let registry = Registry::builtin();
    let mut linker = Linker::<RunState>::new(&wasm);
    let mut names = Vec::new();
    for capability in registry.iter() {
        capability.link(&mut linker).expect("links");
        let imports: String = capability
            .functions()
            .iter()
            .map(|f| f.function.import_wat())
            .collect();
        let text = format!("(module {imports})");
        let buffer = wast::parser::ParseBuffer::new(&text).expect("lexes");
        let mut module = wast::parser::parse::<wast::Wat<'_>>(&buffer).expect("parses");
        let binary = module.encode().expect("encodes");
        let module = wasmtime::Module::new(&wasm, binary).expect("compiles");
        if let Err(error) = linker.instantiate_pre(&module) {
            panic!(
                "`{}` does not link as documented: {error:#}",
                capability.name()
            );
        }
        names.extend(capability.functions().iter().map(|f| f.function.wat_name()));
    }
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "a function is documented twice");
    let per_capability: Vec<(&str, usize)> = registry
        .iter()
        .map(|c| (c.name(), c.functions().len()))
        .collect();
    assert_eq!(
        per_capability,
        [
            ("core", 13),
            ("str", 16),
            ("arr", 13),
            ("json", 9),
            ("math", 19),
            ("http", 6),
            ("time", 2),
            ("rand", 3),
            ("kv", 6),
            ("fs", 7),
            ("ai", 2)
        ]
    );
}

#[test]
fn the_standard_policy_grants_exactly_the_compute_capabilities() {
    let registry = Registry::builtin();
    for name in Policy::COMPUTE {
        assert!(registry.get(name).is_some(), "`{name}` is built in");
    }
    assert_eq!(
        Policy::standard().granted(),
        ["arr", "core", "json", "math", "str"]
    );
}

/// `docs/capabilities.md` is generated from the registry; `BLESS=1` rewrites it.
#[test]
fn the_capability_reference_is_current() {
    let registry = Registry::builtin();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/capabilities.md");
    let expected = registry.document();
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/capabilities.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/capabilities.md is stale: run `BLESS=1 cargo test -p watsmith-engine --test all reference`"
    );
}
