//! The host functions' argument decoding: programs of random host calls from the standard
//! capabilities (`core`, `str`, `arr`, `json`, `math`) with arbitrary pointers, lengths, handles
//! and values, run under `Policy::standard()` and small limits. Invariants: the host never
//! panics or aborts, every run ends in a typed outcome (ok, an error status or a trap of a named
//! kind, never `invalid` or an untyped trap), and host memory stays bounded (libFuzzer's
//! `-rss_limit_mb` and `-malloc_limit_mb`, set by `fuzz/run`).
//!
//! Compiling a fresh body for every input would spend the run in Cranelift, so the body is built
//! once from the registry: an interpreter over its argument 0, a byte program. Each step is an
//! opcode byte (which function, modulo their count), then the function's operands: for each i32
//! one mode byte and four value bytes, for each i64 or f64 eight raw bytes. The mode makes the
//! i32 a raw value, a small one, a negative one, a pointer near the end of memory or into the
//! program itself (a `[len][bytes]` value made of fuzz bytes), or one of 16 registers (plus a
//! small offset): every i32 a call returns first (a pointer, a handle) goes into the next
//! register, so later calls get live strs and arrays to work on.

#![no_main]

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use watsmith_engine::{
    Engine, EngineConfig, Limits, Outcome, Policy, Program, Registry, Status, TrapKind, Value,
};
use watsmith_preprocessor::abi::{HostFunction, ValType};

/// The capabilities `Policy::standard()` grants.
const CAPABILITIES: [&str; 5] = ["core", "str", "arr", "json", "math"];
/// Bytes of fuzz input after the program, so that an operand read past its end reads zeros.
const PADDING: usize = 64;
/// The most steps one input runs (the fuel ends longer ones anyway).
const MAX_STEPS: i32 = 256;

fn limits() -> Limits {
    Limits {
        fuel: Some(2_000_000),
        timeout: Duration::from_secs(5),
        memory_bytes: 4 << 20,
        max_results: 8,
        max_result_bytes: 4 << 10,
        max_logs: 8,
        max_log_bytes: 4 << 10,
        ..Limits::default()
    }
}

/// The functions the programs call, in opcode order.
fn functions(registry: &Registry) -> Vec<HostFunction> {
    CAPABILITIES
        .iter()
        .flat_map(|name| {
            registry
                .get(name)
                .expect("a built-in capability")
                .functions()
        })
        .map(|doc| doc.function)
        .collect()
}

/// The expression of i32 operand `mode`/`v` (locals `$mode`, `$v`).
const I32_OPERAND: &str = r#"
      (block $m7 (block $m6 (block $m5 (block $m4 (block $m3 (block $m2 (block $m1 (block $m0
        (br_table $m0 $m1 $m2 $m3 $m4 $m5 $m6 $m7 (i32.and (local.get $mode) (i32.const 7))))
        (local.set $x (local.get $v)) (br $decoded))
        (local.set $x (i32.load (i32.add (local.get $regs) (i32.shl (i32.and (local.get $v) (i32.const 15)) (i32.const 2))))) (br $decoded))
        (local.set $x (i32.and (local.get $v) (i32.const 255))) (br $decoded))
        (local.set $x (i32.add (i32.load (i32.add (local.get $regs) (i32.shl (i32.and (local.get $v) (i32.const 15)) (i32.const 2))))
                               (i32.shr_s (i32.shl (local.get $v) (i32.const 16)) (i32.const 24)))) (br $decoded))
        (local.set $x (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.and (local.get $v) (i32.const 65535)))) (br $decoded))
        (local.set $x (i32.add (local.get $prog) (i32.and (local.get $v) (i32.const 1023)))) (br $decoded))
        (local.set $x (i32.sub (i32.const 0) (i32.and (local.get $v) (i32.const 255)))) (br $decoded))
      (local.set $x (i32.and (local.get $v) (i32.const 65535)))"#;

/// The interpreter body over `functions`.
fn body(functions: &[HostFunction]) -> String {
    let mut out = String::from(
        "(local $prog bytes) (local $pc i32) (local $end i32) (local $regs i32) (local $ops i32)
(local $op i32) (local $mode i32) (local $v i32) (local $x i32) (local $i i32) (local $n i32)
(local $next i32) (local $steps i32) (local $ri i32) (local $rl i64) (local $rf f64)
(argv 0 $prog)
(local.set $pc (i32.add (local.get $prog) (i32.const 4)))
(local.set $end (i32.add (local.get $pc) (i32.sub (i32.load (local.get $prog)) (i32.const PADDING))))
;; 16 registers, then the operands of one call: 4 i32s, 3 i64s, 3 f64s.
(check $regs (call $core.alloc (i32.const 128)))
(local.set $ops (i32.add (local.get $regs) (i32.const 64)))
(block $exit
  (loop $step
    (br_if $exit (i32.ge_u (local.get $pc) (local.get $end)))
    (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
",
    )
    .replace("PADDING", &PADDING.to_string());
    let _ = writeln!(
        out,
        "    (br_if $exit (i32.gt_s (local.get $steps) (i32.const {MAX_STEPS})))"
    );
    let _ = writeln!(
        out,
        "    (local.set $op (i32.rem_u (i32.load8_u (local.get $pc)) (i32.const {})))",
        functions.len()
    );
    out.push_str("    (local.set $pc (i32.add (local.get $pc) (i32.const 1)))\n");
    // The dispatch: one block per function, innermost first.
    for index in (0..functions.len()).rev() {
        let _ = writeln!(out, "    (block $f{index}");
    }
    out.push_str("    (br_table");
    for index in 0..functions.len() {
        let _ = write!(out, " $f{index}");
    }
    out.push_str(" (local.get $op))\n");
    for function in functions {
        let _ = writeln!(out, "    ) ;; {}", function.wat_name());
        call(&mut out, function);
        out.push_str("    (br $step)\n");
    }
    out.push_str("  ))\n");
    out
}

/// Decodes the operands of `function`, calls it, and keeps its first i32 result in a register.
fn call(out: &mut String, function: &HostFunction) {
    let (mut i32s, mut i64s, mut f64s) = (0, 0, 0);
    let mut args = String::new();
    for param in function.params {
        match param {
            ValType::I32 => {
                let _ = writeln!(
                    out,
                    "    (local.set $mode (i32.load8_u (local.get $pc)))
    (local.set $v (i32.load offset=1 (local.get $pc)))
    (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
    (block $decoded{I32_OPERAND})
    (i32.store offset={} (local.get $ops) (local.get $x))",
                    i32s * 4
                );
                let _ = write!(args, " (i32.load offset={} (local.get $ops))", i32s * 4);
                i32s += 1;
            }
            ValType::I64 | ValType::F64 => {
                let (ty, offset) = if *param == ValType::I64 {
                    ("i64", 16 + i64s * 8)
                } else {
                    ("f64", 40 + f64s * 8)
                };
                let _ = writeln!(
                    out,
                    "    ({ty}.store offset={offset} (local.get $ops) ({ty}.load (local.get $pc)))
    (local.set $pc (i32.add (local.get $pc) (i32.const 8)))"
                );
                let _ = write!(args, " ({ty}.load offset={offset} (local.get $ops))");
                if *param == ValType::I64 {
                    i64s += 1;
                } else {
                    f64s += 1;
                }
            }
        }
    }
    assert!(
        i32s <= 4 && i64s <= 3 && f64s <= 3,
        "{function:?} has more operands than the scratch holds"
    );
    let _ = writeln!(out, "    (call {}{args})", function.wat_name());
    // Results come off the stack last first; the first i32 is the one kept.
    let mut kept = false;
    for (position, result) in function.results.iter().enumerate().rev() {
        let local = match result {
            ValType::I32 => "$ri",
            ValType::I64 => "$rl",
            ValType::F64 => "$rf",
        };
        let _ = writeln!(out, "    (local.set {local})");
        if *result == ValType::I32
            && function.results[..position]
                .iter()
                .all(|r| *r != ValType::I32)
        {
            kept = true;
        }
    }
    if kept {
        out.push_str(
            "    (i32.store (i32.add (local.get $regs) (i32.shl (local.get $next) (i32.const 2))) (local.get $ri))
    (local.set $next (i32.and (i32.add (local.get $next) (i32.const 1)) (i32.const 15)))\n",
        );
    }
}

struct Harness {
    engine: Engine,
    program: Arc<Program>,
    limits: Limits,
    policy: Policy,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let engine = Engine::new(&EngineConfig::default()).expect("an engine");
        let body = body(&functions(engine.registry()));
        let program = match engine.prepare(&body) {
            Ok((program, _)) => program,
            Err(outcome) => panic!("the interpreter body does not compile: {outcome:?}\n{body}"),
        };
        Harness {
            engine,
            program,
            limits: limits(),
            policy: Policy::standard(),
        }
    })
}

fn check(outcome: &Outcome) {
    match outcome.status {
        Status::Ok | Status::Error => assert!(outcome.trap.is_none(), "{outcome:?}"),
        Status::Trap => {
            let trap = outcome.trap.as_ref().expect("a trap has its kind");
            assert!(trap.kind != TrapKind::Other, "an untyped trap: {outcome:?}");
        }
        Status::Invalid => panic!("the interpreter body was refused: {outcome:?}"),
        Status::Cancelled | Status::Busy => {
            panic!("nothing cancels, nothing else runs: {outcome:?}")
        }
    }
    assert!(
        outcome.results.len() <= harness().limits.max_results,
        "{outcome:?}"
    );
    // Past the limit, one last line says how many were dropped.
    let logs = harness().limits.max_logs;
    assert!(outcome.logs.len() <= logs + 1, "{outcome:?}");
    if outcome.logs.len() == logs + 1 {
        assert!(
            outcome.logs[logs].contains("more log lines dropped"),
            "{outcome:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let harness = harness();
    let mut program = data.to_vec();
    program.resize(data.len() + PADDING, 0);
    let args = vec![
        Value::Bytes(program),
        Value::Str(r#"{"a":[1,2.5,"x",null,true],"b":{"c":"Straße ǅ 𝄞"},"n":-0.0}"#.to_owned()),
        Value::Str("a,b,,c STRASSE ß".to_owned()),
        Value::I64(-42),
        Value::F64(2.5),
    ];
    let outcome = harness
        .engine
        .run(&harness.program, args, &harness.policy, &harness.limits);
    check(&outcome);
});
