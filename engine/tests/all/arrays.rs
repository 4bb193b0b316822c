//! The `arr` capability through real WAT-plus bodies: typed elements, handles, sorting, joining,
//! and the memory cap on the host-side heap.

use watsmith_engine::{Limits, Policy, Status, StatusCode, Value};

use super::{assert_refused_without, engine, error_code, results};

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

#[test]
fn elements_of_each_type_round_trip_and_handles_start_at_one() {
    let engine = engine();
    let body = r#"(local $a i32) (local $b i32) (local $n i64) (local $x f64) (local $t str)
        (local $len i32)
        (check $a (call $arr.new)) (resv $a)
        (check $b (call $arr.new)) (resv $b)
        (check (call $arr.push_i64 (local.get $a) (i64.const -5)))
        (check (call $arr.push_f64 (local.get $a) (f64.const 2.5)))
        (check (call $arr.push_str (local.get $a) "héllo"))
        (local.set $len (call $arr.len (local.get $a))) (resv $len)
        (local.set $len (call $arr.len (local.get $b))) (resv $len)
        (check $n (call $arr.get_i64 (local.get $a) (i32.const 0))) (resv $n)
        (check $x (call $arr.get_f64 (local.get $a) (i32.const 1))) (resv $x)
        (check $t (call $arr.get_str (local.get $a) (i32.const 2))) (resv $t)
        ;; An i64 element reads as f64 too.
        (check $x (call $arr.get_f64 (local.get $a) (i32.const 0))) (resv $x)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [
            Value::I32(1),
            Value::I32(2),
            Value::I32(3),
            Value::I32(0),
            Value::I64(-5),
            Value::F64(2.5),
            s("héllo"),
            Value::F64(-5.0),
        ]
    );
}

/// A body with array 1 holding `[7, 1.5, "x"]`, then `tail`.
fn with_array(tail: &str) -> String {
    format!(
        r#"(local $h i32) (local $n i64) (local $x f64) (local $t str) (local $len i32)
        (check $h (call $arr.new))
        (check (call $arr.push_i64 (local.get $h) (i64.const 7)))
        (check (call $arr.push_f64 (local.get $h) (f64.const 1.5)))
        (check (call $arr.push_str (local.get $h) "x"))
        {tail}"#
    )
}

#[test]
fn an_element_of_another_type_is_etrfm() {
    let engine = engine();
    for tail in [
        "(check $n (call $arr.get_i64 (local.get $h) (i32.const 1)))",
        "(check $n (call $arr.get_i64 (local.get $h) (i32.const 2)))",
        "(check $x (call $arr.get_f64 (local.get $h) (i32.const 2)))",
        "(check $t (call $arr.get_str (local.get $h) (i32.const 0)))",
        "(check $t (call $arr.get_str (local.get $h) (i32.const 1)))",
        r#"(check (call $arr.push_str (local.get $h) "\ff"))"#,
    ] {
        assert_eq!(
            error_code(&engine, &with_array(tail), vec![]),
            StatusCode::ETRFM,
            "{tail}"
        );
    }
}

#[test]
fn a_bad_handle_or_index_is_ebound() {
    let engine = engine();
    for tail in [
        "(check (call $arr.push_i64 (i32.const 0) (i64.const 1)))",
        "(check (call $arr.push_f64 (i32.const 2) (f64.const 1)))",
        r#"(check (call $arr.push_str (i32.const -1) "a"))"#,
        "(check $n (call $arr.get_i64 (i32.const 99) (i32.const 0)))",
        "(check $n (call $arr.get_i64 (local.get $h) (i32.const 3)))",
        "(check $x (call $arr.get_f64 (local.get $h) (i32.const -1)))",
        "(check $t (call $arr.get_str (local.get $h) (i32.const 3)))",
        "(check (call $arr.set_i64 (local.get $h) (i32.const 3) (i64.const 1)))",
        "(check (call $arr.set_f64 (i32.const 0) (i32.const 0) (f64.const 1)))",
        r#"(check (call $arr.set_str (local.get $h) (i32.const -1) "a"))"#,
        "(check (call $arr.sort (i32.const 5)))",
        r#"(check $t (call $arr.join (i32.const 5) ","))"#,
        r#"(check (call $arr.push_str (local.get $h) (i32.const -100)))"#,
        "(check $t (call $arr.join (local.get $h) (i32.const -100)))",
    ] {
        assert_eq!(
            error_code(&engine, &with_array(tail), vec![]),
            StatusCode::EBOUND,
            "{tail}"
        );
    }
    let lengths = with_array(
        "(local.set $len (call $arr.len (i32.const 0))) (resv $len)
         (local.set $len (call $arr.len (i32.const -3))) (resv $len)
         (local.set $len (call $arr.len (i32.const 2))) (resv $len)",
    );
    assert_eq!(
        results(&engine, &lengths, vec![]),
        [-1, -1, -1].map(Value::I32)
    );
}

#[test]
fn set_replaces_an_element_of_any_type() {
    let engine = engine();
    let body = with_array(
        r#"(check (call $arr.set_str (local.get $h) (i32.const 0) "seven"))
        (check (call $arr.set_i64 (local.get $h) (i32.const 2) (i64.const 3)))
        (check (call $arr.set_f64 (local.get $h) (i32.const 1) (f64.const -0.25)))
        (check $t (call $arr.get_str (local.get $h) (i32.const 0))) (resv $t)
        (check $t (call $arr.join (local.get $h) ", ")) (resv $t)
        (local.set $len (call $arr.len (local.get $h))) (resv $len)"#,
    );
    assert_eq!(
        results(&engine, &body, vec![]),
        [s("seven"), s("seven, -0.25, 3"), Value::I32(3)]
    );
}

#[test]
fn sort_orders_numbers_exactly_with_nan_last() {
    let engine = engine();
    // 2^53 + 1 is not an f64: a sort that compared through `as f64` would see it equal to the
    // float 2^53 and keep their order.
    let body = r#"(local $h i32) (local $t str) (local $zero f64)
        (check $h (call $arr.new))
        (check (call $arr.push_i64 (local.get $h) (i64.const 10)))
        (check (call $arr.push_f64 (local.get $h) (f64.div (local.get $zero) (local.get $zero))))
        (check (call $arr.push_f64 (local.get $h) (f64.const 2.5)))
        (check (call $arr.push_i64 (local.get $h) (i64.const -1)))
        (check (call $arr.push_i64 (local.get $h) (i64.const 9007199254740993)))
        (check (call $arr.push_f64 (local.get $h) (f64.const 9007199254740992)))
        (check (call $arr.push_i64 (local.get $h) (i64.const 2)))
        (check (call $arr.push_f64 (local.get $h) (f64.const -inf)))
        (check (call $arr.push_f64 (local.get $h) (f64.const 2.75)))
        (check (call $arr.sort (local.get $h)))
        (check $t (call $arr.join (local.get $h) ",")) (resv $t)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [s(
            "-inf,-1,2,2.5,2.75,10,9007199254740992,9007199254740993,NaN"
        )]
    );
}

#[test]
fn sort_orders_strs_bytewise_and_refuses_a_mix() {
    let engine = engine();
    let body = r#"(local $h i32) (local $t str)
        (check $h (call $str.split "pear apple Zebra éclair apple" " "))
        (check (call $arr.sort (local.get $h)))
        (check $t (call $arr.join (local.get $h) ",")) (resv $t)
        (check $h (call $arr.new))
        (check (call $arr.sort (local.get $h)))
        (check $t (call $arr.join (local.get $h) ",")) (resv $t)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [s("Zebra,apple,apple,pear,éclair"), s("")]
    );
    let mixed = with_array("(check (call $arr.sort (local.get $h)))");
    assert_eq!(error_code(&engine, &mixed, vec![]), StatusCode::ETRFM);
}

#[test]
fn a_push_loop_ends_with_enomem_at_the_memory_cap() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 1 << 20,
        ..Limits::default()
    };
    // The body needs one page of linear memory, so the arrays may take 1 MiB - 64 KiB = 983040
    // bytes: 32 for the array, then 32 + 10 per element: 32 + 23404 * 42 = 983000 fits, one
    // more element (983042) does not.
    let body = r#"(local $h i32) (local $e i32) (local $n i32)
        (check $h (call $arr.new))
        (block $full (loop $more
            (local.set $e (call $arr.push_str (local.get $h) "0123456789"))
            (br_if $full (local.get $e))
            (br $more)))
        (local.set $n (call $arr.len (local.get $h)))
        (resv $e) (resv $n)"#;
    let outcome = engine.exec(body, vec![], &Policy::standard(), &limits);
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(
        outcome.results,
        [Value::I32(StatusCode::ENOMEM.as_i32()), Value::I32(23404)]
    );

    let checked = "(local $h i32) (check $h (call $arr.new))
        (loop $more (check (call $arr.push_i64 (local.get $h) (i64.const 1))) (br $more))";
    let outcome = engine.exec(checked, vec![], &Policy::standard(), &limits);
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::ENOMEM))
    );
}

#[test]
fn arrays_and_linear_memory_share_the_cap() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 1 << 20,
        ..Limits::default()
    };
    // Grow the memory to the whole cap: nothing is left for arrays.
    let body = "(local $h i32) (drop (memory.grow (i32.const 15))) (check $h (call $arr.new))";
    let outcome = engine.exec(body, vec![], &Policy::standard(), &limits);
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::ENOMEM)),
        "{outcome:?}"
    );
}

#[test]
fn a_policy_without_arr_refuses_the_program() {
    let engine = engine();
    assert_refused_without(&engine, "(local $h i32) (check $h (call $arr.new))", "arr");
}

#[test]
fn a_join_larger_than_a_run_could_hold_is_enomem_before_it_is_built() {
    let engine = super::engine();
    // 100,000 elements and a 1 MB separator: 100 GB, built on the host before any check, used
    // to abort the process.
    let body = "(local $sep str) (local $h i32) (local $i i32) (local $r str) (argv 0 $sep)
        (check $h (call $arr.new))
        (loop $more
          (check (call $arr.push_i64 (local.get $h) (i64.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 100000))))
        (check $r (call $arr.join (local.get $h) (local.get $sep)))";
    let outcome = super::exec_standard(
        &engine,
        body,
        vec![watsmith_engine::Value::Str("-".repeat(1 << 20))],
    );
    assert_eq!(
        (outcome.status, outcome.code),
        (
            watsmith_engine::Status::Error,
            Some(watsmith_engine::StatusCode::ENOMEM)
        ),
        "{outcome:?}"
    );
}
