//! One test per limit, each asserting the exact typed outcome.

use std::time::Duration;

use watsmith_engine::{Limits, Policy, Status, StatusCode, TrapKind, Value};

use super::engine;

const SPIN: &str = "(loop $forever (br $forever))";

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let engine = engine();
    let limits = Limits {
        fuel: Some(1_000_000),
        ..Limits::default()
    };
    let outcome = engine.exec(SPIN, vec![], &Policy::deny_all(), &limits);
    assert_eq!(outcome.status, Status::Trap);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::OutOfFuel)
    );
    assert_eq!(outcome.fuel_used, 1_000_000);
}

#[test]
fn with_unlimited_fuel_the_deadline_stops_it() {
    let engine = engine();
    let limits = Limits {
        fuel: None,
        timeout: Duration::from_millis(50),
        ..Limits::default()
    };
    let outcome = engine.exec(SPIN, vec![], &Policy::deny_all(), &limits);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::Timeout)
    );
    assert!(
        outcome.elapsed_us >= 50_000,
        "ran until the deadline: {}",
        outcome.elapsed_us
    );
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 2 << 20,
        ..Limits::default()
    };
    let body = "(loop $more (drop (memory.grow (i32.const 1))) (br $more))";
    let outcome = engine.exec(body, vec![], &Policy::deny_all(), &limits);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::MemoryLimit),
        "{outcome:?}"
    );
}

#[test]
fn the_host_allocator_returns_enomem_at_the_memory_limit() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    // Allocate 1 MiB at a time until core.alloc fails; `check` returns its status.
    let body =
        "(local $p i32) (loop $more (check $p (call $core.alloc (i32.const 1048576))) (br $more))";
    let outcome = engine.exec(body, vec![], &Policy::deny_all(), &limits);
    assert_eq!(outcome.status, Status::Error, "{outcome:?}");
    assert_eq!(outcome.code, StatusCode::ENOMEM);
    assert_eq!(outcome.code_name, "ENOMEM");
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let engine = engine();
    let outcome = super::exec(&engine, "(drop (call $run))", vec![]);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::StackOverflow),
        "{outcome:?}"
    );
}

#[test]
fn too_many_results_hit_the_output_limit() {
    let engine = engine();
    let limits = Limits {
        max_results: 10,
        ..Limits::default()
    };
    let body = "(local $i i64) (loop $more (resv $i) (br $more))";
    let outcome = engine.exec(body, vec![], &Policy::deny_all(), &limits);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::OutputLimit)
    );
    assert_eq!(
        outcome.results.len(),
        10,
        "the results before the limit are kept"
    );
}

#[test]
fn logs_past_their_cap_are_dropped_with_a_marker() {
    let engine = engine();
    let limits = Limits {
        max_logs: 3,
        ..Limits::default()
    };
    let body = "(local $i i32)
        (loop $more
          (call $core.log \"tick\")
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 10))))";
    let outcome = engine.exec(body, vec![], &Policy::deny_all(), &limits);
    assert_eq!(outcome.status, Status::Ok);
    assert_eq!(outcome.logs.len(), 4);
    assert_eq!(&outcome.logs[..3], ["tick", "tick", "tick"]);
    assert_eq!(
        outcome.logs[3],
        "[7 more log lines dropped: the limit is 3 lines or 65536 bytes]"
    );
}

#[test]
fn wasm_traps_have_their_own_kinds() {
    let engine = engine();
    for (body, kind) in [
        (
            "(drop (i32.div_s (i32.const 1) (i32.const 0)))",
            TrapKind::IntegerDivideByZero,
        ),
        ("unreachable", TrapKind::Unreachable),
        (
            "(drop (i32.load (i32.const -4)))",
            TrapKind::MemoryOutOfBounds,
        ),
        (
            "(drop (i32.div_s (i32.const -2147483648) (i32.const -1)))",
            TrapKind::IntegerOverflow,
        ),
        // Out of range is an overflow in WebAssembly; only NaN is an invalid conversion.
        (
            "(drop (i32.trunc_f64_s (f64.const 1e30)))",
            TrapKind::IntegerOverflow,
        ),
        (
            "(drop (i32.trunc_f64_s (f64.const nan)))",
            TrapKind::InvalidConversion,
        ),
    ] {
        let outcome = super::exec(&engine, body, vec![Value::I64(0)]);
        assert_eq!(outcome.status, Status::Trap, "{body}");
        assert_eq!(
            outcome.trap.as_ref().map(|t| t.kind),
            Some(kind),
            "{body}: {outcome:?}"
        );
    }
}

#[test]
fn trap_kinds_are_named_as_in_json() {
    for kind in [
        TrapKind::OutOfFuel,
        TrapKind::Timeout,
        TrapKind::MemoryLimit,
        TrapKind::StackOverflow,
        TrapKind::Unreachable,
        TrapKind::IntegerDivideByZero,
        TrapKind::IntegerOverflow,
        TrapKind::InvalidConversion,
        TrapKind::MemoryOutOfBounds,
        TrapKind::OutputLimit,
        TrapKind::HostBudget,
        TrapKind::Host,
        TrapKind::Other,
    ] {
        assert_eq!(serde_json::to_value(kind).expect("json"), kind.name());
    }
}

#[test]
fn a_host_call_that_returns_past_the_deadline_ends_the_run() {
    let engine = engine();
    let limits = Limits {
        timeout: Duration::from_millis(2),
        memory_bytes: 256 << 20,
        ..Limits::default()
    };
    // The run's last act is one long host call (32 MB replaced byte by byte); no compiled code
    // runs after it to notice the deadline, so only the check when it returns can.
    let body = r#"(local $s str) (argv 0 $s)
        (call $str.replace (local.get $s) "a" "b") (drop) (drop)"#;
    let outcome = engine.exec(
        body,
        vec![Value::Str("a".repeat(32 << 20))],
        &Policy::standard(),
        &limits,
    );
    assert_eq!(
        (outcome.status, outcome.trap.as_ref().map(|t| t.kind)),
        (Status::Trap, Some(TrapKind::Timeout)),
        "{outcome:?}"
    );
}
