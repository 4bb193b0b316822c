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
    assert_eq!(outcome.fuel_used, Some(1_000_000));
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
fn memory_grow_past_the_cap_returns_minus_one_and_says_why() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 2 << 20,
        ..Limits::default()
    };
    // Grows a page at a time until `memory.grow` answers -1, as the spec says it may, then
    // reports the size it reached: the program goes on after the refusal.
    let body = "(local $r i32) (local $size i32)
        (block $full (loop $more
            (local.set $r (memory.grow (i32.const 1)))
            (br_if $full (i32.eq (local.get $r) (i32.const -1)))
            (br $more)))
        (local.set $size (memory.size)) (resv $size) (resv $r)";
    let outcome = engine.exec(body, vec![], &Policy::deny_all(), &limits);
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(
        outcome.results,
        [Value::I32(32), Value::I32(-1)],
        "2 MiB is 32 pages"
    );
    let refusals: Vec<_> = outcome
        .logs
        .iter()
        .filter(|line| line.starts_with("memory.grow refused, returned -1"))
        .collect();
    assert_eq!(refusals.len(), 1, "logged once: {:?}", outcome.logs);
    assert!(
        refusals[0].contains("memory cap of 2097152 bytes"),
        "{}",
        refusals[0]
    );
}

#[test]
fn a_memory_bomb_ends_at_its_fuel_not_in_the_host() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 2 << 20,
        fuel: Some(10_000_000),
        ..Limits::default()
    };
    // Ignores every -1: it spins until its fuel ends, holding no more than the cap.
    let body = "(loop $more (drop (memory.grow (i32.const 1))) (br $more))";
    let outcome = engine.exec(body, vec![], &Policy::deny_all(), &limits);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::OutOfFuel),
        "{outcome:?}"
    );
    assert_eq!(outcome.logs.len(), 1, "{:?}", outcome.logs);
}

#[test]
fn host_data_counts_when_the_program_grows_its_memory() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    // Two copies of a 1 MiB str in a host array (2 MiB of host data), beside the linear memory
    // holding the argument: growing by 1 MiB more would pass the 4 MiB cap.
    let body = "(local $s str) (local $h i32) (local $r i32) (argv 0 $s)
        (check $h (call $arr.new))
        (check (call $arr.push_str (local.get $h) (local.get $s)))
        (check (call $arr.push_str (local.get $h) (local.get $s)))
        (local.set $r (memory.grow (i32.const 16))) (resv $r)";
    let outcome = engine.exec(
        body,
        vec![Value::Str("x".repeat(1 << 20))],
        &Policy::standard(),
        &limits,
    );
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(outcome.results, [Value::I32(-1)]);
    assert!(
        outcome.logs[0].contains("host data (arrays, parsed JSON) holds"),
        "{:?}",
        outcome.logs
    );
}

#[test]
fn a_parsed_json_document_is_charged_to_the_run() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 8 << 20,
        ..Limits::default()
    };
    // 1 MB of `0,` parses to a tree of about 36 MB: refused while it is built.
    let doc = format!("[{}0]", "0,".repeat(500_000));
    let body = "(local $doc str) (local $n i32) (argv 0 $doc)
        (check $n (call $json.len (local.get $doc) \"\")) (resv $n)";
    let outcome = engine.exec(body, vec![Value::Str(doc)], &Policy::standard(), &limits);
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::ENOMEM)),
        "{outcome:?}"
    );
    // With room for its tree, the same document is read.
    let doc = format!("[{}0]", "0,".repeat(500_000));
    let outcome = engine.exec(
        body,
        vec![Value::Str(doc)],
        &Policy::standard(),
        &Limits::default(),
    );
    assert_eq!(outcome.results, [Value::I32(500_001)], "{outcome:?}");
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
    assert_eq!(outcome.code, Some(StatusCode::ENOMEM));
    assert_eq!(outcome.code_name.as_deref(), Some("ENOMEM"));
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

/// The diagnostic of a body refused before compiling.
fn refused_before_compiling(body: &str) -> watsmith_preprocessor::Diagnostic {
    let outcome = engine().exec(body, vec![], &Policy::deny_all(), &Limits::default());
    assert_eq!(outcome.status, Status::Invalid, "{outcome:?}");
    assert_eq!(outcome.diagnostics.len(), 1, "{:?}", outcome.diagnostics);
    let diagnostic = outcome.diagnostics[0].clone();
    assert_eq!(
        diagnostic.kind,
        watsmith_preprocessor::DiagnosticKind::Limit
    );
    assert!(diagnostic.hint.is_some(), "{diagnostic:?}");
    diagnostic
}

#[test]
fn a_body_that_holds_thousands_of_values_is_refused_at_the_line_that_passes_the_bound() {
    // 40,000 constants, then 39,999 adds: under 1 MiB of text, it kept 40,000 values live at
    // once and compiled for 8 s, outside every limit.
    let body = format!(
        "(local $x i32)\n{}{}(local.set $x)",
        "i32.const 1\n".repeat(40_000),
        "i32.add\n".repeat(39_999)
    );
    let diagnostic = refused_before_compiling(&body);
    // Line 1 declares the local; the 1,001st constant, on line 1,002, passes 1,000 values.
    assert_eq!(diagnostic.line, 1002, "{diagnostic:?}");
    assert!(diagnostic.message.contains("1000 values"), "{diagnostic:?}");
    // Under the bound, the same shape compiles and runs.
    let body = format!(
        "(local $x i32)\n{}{}(local.set $x) (resv $x)",
        "i32.const 1\n".repeat(900),
        "i32.add\n".repeat(899)
    );
    let outcome = engine().exec(&body, vec![], &Policy::deny_all(), &Limits::default());
    assert_eq!(outcome.results, [Value::I32(900)], "{outcome:?}");
}

#[test]
fn a_body_of_too_many_instructions_is_refused_before_compiling() {
    let diagnostic = refused_before_compiling(&"nop\n".repeat(100_001));
    assert!(
        diagnostic.message.contains("instructions"),
        "{diagnostic:?}"
    );
    assert!(
        diagnostic.line > 99_000,
        "at the instruction past the bound: {diagnostic:?}"
    );
}

#[test]
fn a_br_table_of_too_many_targets_counts_them_as_instructions() {
    // One instruction in the text, but Cranelift's work grows with its targets: 480,000 of them
    // compiled for 0.9 s in 215 MB, then failed Wasmtime's own limit of 65,520 with an
    // implementation message the model cannot act on.
    let targets = "0 1 ".repeat(60_000);
    let body = format!("(block (block\n(br_table {targets}0 (i32.const 0))))");
    let diagnostic = refused_before_compiling(&body);
    assert!(diagnostic.message.contains("br_table"), "{diagnostic:?}");
    assert_eq!(diagnostic.line, 2, "at the br_table: {diagnostic:?}");
    // Under the bound, a long table still compiles and runs.
    let body = format!(
        "(local $r i32)\n(block (block\n(br_table {}0 (i32.const 1)))\n(local.set $r (i32.const 2)))\n(resv $r)",
        "0 1 ".repeat(1_000)
    );
    let outcome = engine().exec(&body, vec![], &Policy::deny_all(), &Limits::default());
    assert_eq!(outcome.results, [Value::I32(0)], "{outcome:?}");
}

#[test]
fn many_loops_blocks_and_values_live_across_them_are_refused_before_compiling() {
    // 16,000 loops of one `br_if` each (48,000 instructions, within every other bound)
    // compiled for 20 s: the time grows with the square of the loops.
    let body = format!(
        "(local $c i32)\n{}",
        "(loop (br_if 0 (local.get $c)))\n".repeat(16_000)
    );
    let diagnostic = refused_before_compiling(&body);
    assert!(diagnostic.message.contains("1000 loops"), "{diagnostic:?}");
    assert_eq!(
        diagnostic.line, 1_002,
        "at the 1,001st loop: {diagnostic:?}"
    );
    // 16,000 ifs compiled for 1 s.
    let body = format!(
        "(local $c i32)\n{}",
        "(if (local.get $c) (then nop))\n".repeat(16_000)
    );
    let diagnostic = refused_before_compiling(&body);
    assert!(
        diagnostic.message.contains("5000 blocks, loops and ifs"),
        "{diagnostic:?}"
    );
    // 1,999 locals live across 990 loops (each bound above kept): 0.6 s and 190 MB; across
    // 15,000 ifs, 10 s and 1.3 GB.
    let locals: String = (0..1_999).map(|i| format!("(local $l{i} i64)\n")).collect();
    let body = format!(
        "{locals}{}",
        "(if (i32.const 0) (then (local.set $l0 (i64.const 1))))\n".repeat(1_000)
    );
    let diagnostic = refused_before_compiling(&body);
    assert!(diagnostic.message.contains("live across"), "{diagnostic:?}");
    // Under the bounds, loops and ifs in the hundreds compile and run.
    let body = format!(
        "(local $n i64)\n{}(resv $n)",
        "(loop (local.set $n (i64.add (local.get $n) (i64.const 1))))\n(if (i64.eqz (local.get $n)) (then nop))\n"
            .repeat(900)
    );
    let outcome = engine().exec(&body, vec![], &Policy::deny_all(), &Limits::default());
    assert_eq!(outcome.results, [Value::I64(900)], "{outcome:?}");
}

#[test]
fn blocks_nested_too_deep_in_the_flat_form_are_refused_before_compiling() {
    let body = format!("{}{}", "block\n".repeat(300), "end\n".repeat(300));
    let diagnostic = refused_before_compiling(&body);
    assert!(diagnostic.message.contains("nest"), "{diagnostic:?}");
    assert!(
        (240..=256).contains(&diagnostic.line),
        "at the block that passes 256 levels, the template's own included: {diagnostic:?}"
    );
}

#[test]
fn a_body_of_too_many_locals_is_refused_before_compiling() {
    let body: String = (0..2_001).map(|i| format!("(local $l{i} i32)\n")).collect();
    let diagnostic = refused_before_compiling(&body);
    assert!(diagnostic.message.contains("locals"), "{diagnostic:?}");
}
