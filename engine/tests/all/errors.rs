//! Errors of the assembled module come back located in the body as the model wrote it.

use watsmith_engine::{Status, Value};

use super::{engine, exec};

#[test]
fn an_unknown_host_function_gets_the_closest_name() {
    let outcome = exec(
        &engine(),
        "(local $p i32)\n(check $p (call $core.aloc (i32.const 8)))",
        vec![],
    );
    assert_eq!(outcome.status, Status::Invalid);
    let d = &outcome.diagnostics[0];
    assert_eq!(d.message, "unknown host function `$core.aloc`");
    assert_eq!((d.line, d.column), (2, 17));
    assert_eq!(d.hint.as_deref(), Some("did you mean `$core.alloc`?"));
}

#[test]
fn a_type_error_points_at_the_line_the_model_wrote() {
    let body = ";; doubles n\n(local $n i64)\n(argv 0 $n)\n(local.set $n (i32.const 1))\n(resv $n)";
    let outcome = exec(&engine(), body, vec![Value::I64(1)]);
    assert_eq!(outcome.status, Status::Invalid, "{outcome:?}");
    let d = &outcome.diagnostics[0];
    assert_eq!(d.line, 4, "{d:?}");
    assert!(d.message.contains("type mismatch"), "{}", d.message);
}

#[test]
fn a_type_error_inside_a_macro_expansion_names_the_macro() {
    // `$f` is f64 but `check $f` of a call that returns (i32, i32) stores an i32 into it.
    let body =
        "(local $f f64)\n(local $p i32)\n(check $f (call $core.alloc (i32.const 8)))\n(resv $f)";
    let outcome = exec(&engine(), body, vec![]);
    assert_eq!(outcome.status, Status::Invalid, "{outcome:?}");
    let d = &outcome.diagnostics[0];
    assert_eq!(d.line, 3, "{d:?}");
    assert!(
        d.hint
            .as_deref()
            .is_some_and(|h| h.contains("expansion of `check`")),
        "{d:?}"
    );
}

#[test]
fn a_value_left_on_the_stack_gets_a_hint() {
    let outcome = exec(&engine(), "(local $x i32)\n(i32.const 1)", vec![]);
    assert_eq!(outcome.status, Status::Invalid);
    let d = &outcome.diagnostics[0];
    assert!(
        d.hint
            .as_deref()
            .is_some_and(|h| h.contains("leave nothing on the stack")),
        "{d:?}"
    );
}

#[test]
fn preprocessor_errors_are_invalid_outcomes() {
    let outcome = exec(&engine(), "(resv $missing)", vec![]);
    assert_eq!(outcome.status, Status::Invalid);
    assert_eq!(
        outcome.diagnostics[0].kind,
        watsmith_preprocessor::DiagnosticKind::UnknownLocal
    );
    assert_eq!(outcome.cache, None);
}

/// An outcome read back from its JSON is the outcome: what transcripts and a server's clients
/// rely on (invalid with located diagnostics, a trap, results of every type, usage).
#[test]
fn outcomes_round_trip_through_json() {
    let engine = engine();
    let outcomes = [
        exec(&engine, "(local $count i32)\n(resv $cnt)", vec![]),
        exec(
            &engine,
            "(drop (i32.div_s (i32.const 1) (i32.const 0)))",
            vec![],
        ),
        crate::exec_standard(
            &engine,
            r#"(local $s str) (local $x f64) (local $b bytes) (argv 0 $b)
               (local.set $s "héllo") (local.set $x (f64.const 2.5))
               (resv $s) (resv $x) (resv $b) (call $core.log "a log line")"#,
            vec![Value::Bytes(vec![0, 255])],
        ),
        exec(&engine, "(return (i32.const 42))", vec![]),
    ];
    for outcome in outcomes {
        let json = serde_json::to_string(&outcome).expect("serialises");
        let back: watsmith_engine::Outcome = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, outcome, "{json}");
    }
    // A code name that is not one of the engine's is refused, not kept as text.
    let forged = serde_json::to_string(&exec(&engine, "nop", vec![]))
        .expect("serialises")
        .replace("\"SUCCESS\"", "\"FINE\"");
    let error = serde_json::from_str::<watsmith_engine::Outcome>(&forged).expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("unknown status code name `FINE`"),
        "{error}"
    );
}
