//! The `str` capability through real WAT-plus bodies.

use watsmith_engine::{StatusCode, Value};

use super::{assert_refused_without, engine, error_code, results};

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

/// A body that stores a length past the end of memory at a fresh address in `$bad`: a str
/// pointer whose prefix is inside memory but whose bytes are not.
const OVERLONG: &str = "(local $bad i32) (check $bad (call $core.alloc (i32.const 4)))
    (i32.store (local.get $bad) (i32.const 1000000))";

#[test]
fn len_counts_bytes_and_chars_counts_characters() {
    let engine = engine();
    let body = format!(
        r#"{OVERLONG} (local $n i32)
        (local.set $n (call $str.len "héllo")) (resv $n)
        (local.set $n (call $str.chars "héllo")) (resv $n)
        (local.set $n (call $str.len "")) (resv $n)
        (local.set $n (call $str.len "\ff\fe")) (resv $n)
        (local.set $n (call $str.chars "\ff\fe")) (resv $n)
        (local.set $n (call $str.len (i32.const -100))) (resv $n)
        (local.set $n (call $str.len (local.get $bad))) (resv $n)
        (local.set $n (call $str.chars (local.get $bad))) (resv $n)"#
    );
    assert_eq!(
        results(&engine, &body, vec![]),
        [6, 5, 0, 2, -1, -1, -1, -1].map(Value::I32)
    );
}

#[test]
fn concat_joins_and_reports_bad_pointers_and_non_utf8() {
    let engine = engine();
    let body = r#"(local $a str) (local $r str) (argv 0 $a)
        (check $r (call $str.concat (local.get $a) "→ok")) (resv $r)
        (check $r (call $str.concat "" "")) (resv $r)"#;
    assert_eq!(results(&engine, body, vec![s("é")]), [s("é→ok"), s("")]);
    let bad = r#"(local $r str) (check $r (call $str.concat "x" (i32.const -100)))"#;
    assert_eq!(error_code(&engine, bad, vec![]), StatusCode::EBOUND);
    let overlong =
        format!("{OVERLONG} (local $r str) (check $r (call $str.concat (local.get $bad) \"x\"))");
    assert_eq!(error_code(&engine, &overlong, vec![]), StatusCode::EBOUND);
    let binary = r#"(local $r str) (check $r (call $str.concat "a" "\ff"))"#;
    assert_eq!(error_code(&engine, binary, vec![]), StatusCode::ETRFM);
}

#[test]
fn a_failed_call_returns_zero_with_its_status() {
    let engine = engine();
    let body = r#"(local $r i32) (local $e i32)
        (call $str.slice "abc" (i32.const 2) (i32.const 1)) (local.set $e) (local.set $r)
        (resv $r) (resv $e)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [Value::I32(0), Value::I32(StatusCode::EBOUND.as_i32())]
    );
}

#[test]
fn slice_takes_byte_offsets_on_character_boundaries() {
    let engine = engine();
    let body = r#"(local $r str)
        (check $r (call $str.slice "héllo" (i32.const 0) (i32.const 1))) (resv $r)
        (check $r (call $str.slice "héllo" (i32.const 1) (i32.const 3))) (resv $r)
        (check $r (call $str.slice "héllo" (i32.const 3) (i32.const 6))) (resv $r)
        (check $r (call $str.slice "héllo" (i32.const 6) (i32.const 6))) (resv $r)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [s("h"), s("é"), s("llo"), s("")]
    );
    let slice = |start: i32, end: i32| {
        let body = format!(
            r#"(local $r str) (check $r (call $str.slice "héllo" (i32.const {start}) (i32.const {end})))"#
        );
        error_code(&engine, &body, vec![])
    };
    assert_eq!(slice(1, 2), StatusCode::ETRFM, "inside é");
    assert_eq!(slice(2, 4), StatusCode::ETRFM, "starts inside é");
    assert_eq!(slice(3, 2), StatusCode::EBOUND, "start after end");
    assert_eq!(slice(0, 7), StatusCode::EBOUND, "past the end");
    assert_eq!(slice(-1, 2), StatusCode::EBOUND, "negative");
    let bad = r#"(local $r str) (check $r (call $str.slice (i32.const -100) (i32.const 0) (i32.const 0)))"#;
    assert_eq!(error_code(&engine, bad, vec![]), StatusCode::EBOUND);
}

#[test]
fn find_returns_the_byte_offset_at_or_after_from_or_minus_one() {
    let engine = engine();
    let find = |haystack: &str, needle: &str, from: i32| {
        format!("(local.set $n (call $str.find {haystack} {needle} (i32.const {from}))) (resv $n)")
    };
    let calls = [
        find("\"a,b,c\"", "\",\"", 0),
        find("\"a,b,c\"", "\",\"", 2),
        find("\"a,b,c\"", "\",\"", 4),
        find("\"a,b,c\"", "\",\"", 5),
        find("\"a,b,c\"", "\",\"", 6),
        find("\"a,b,c\"", "\",\"", -1),
        find("\"a,b,c\"", "\"\"", 5),
        find("\"a,b,c\"", "\"b,c\"", 0),
        // From inside é (bytes 1..3): the search starts at the next character.
        find("\"héllo\"", "\"l\"", 2),
        find("\"héllo\"", "\"é\"", 0),
        find("(i32.const -100)", "\"a\"", 0),
        find("\"a\"", "\"\\ff\"", 0),
    ];
    let body = format!("(local $n i32) {}", calls.concat());
    assert_eq!(
        results(&engine, &body, vec![]),
        [1, 3, -1, -1, -1, -1, 5, 2, 3, 1, -1, -1].map(Value::I32)
    );
}

#[test]
fn compare_and_eq_are_bytewise() {
    let engine = engine();
    let body = r#"(local $n i32)
        (local.set $n (call $str.compare "abc" "abd")) (resv $n)
        (local.set $n (call $str.compare "b" "a")) (resv $n)
        (local.set $n (call $str.compare "x" "x")) (resv $n)
        (local.set $n (call $str.compare "ab" "abc")) (resv $n)
        (local.set $n (call $str.compare "Z" "a")) (resv $n)
        (local.set $n (call $str.compare "a" (i32.const -100))) (resv $n)
        (local.set $n (call $str.eq "é" "é")) (resv $n)
        (local.set $n (call $str.eq "e" "é")) (resv $n)
        (local.set $n (call $str.eq (i32.const -100) "a")) (resv $n)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [-1, 1, 0, -1, -1, -2, 1, 0, -1].map(Value::I32)
    );
}

#[test]
fn upper_lower_and_trim_are_unicode_aware() {
    let engine = engine();
    let body = r#"(local $r str)
        (check $r (call $str.upper "straße")) (resv $r)
        (check $r (call $str.lower "ÀÉÎ Ok")) (resv $r)
        (check $r (call $str.trim "\t  hi there \n")) (resv $r)
        (check $r (call $str.trim "\u{3000}x\u{a0}")) (resv $r)
        (check $r (call $str.trim "   ")) (resv $r)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [s("STRASSE"), s("àéî ok"), s("hi there"), s("x"), s("")]
    );
    for function in ["upper", "lower", "trim"] {
        let binary = format!(r#"(local $r str) (check $r (call $str.{function} "a\ff"))"#);
        assert_eq!(error_code(&engine, &binary, vec![]), StatusCode::ETRFM);
        let bad = format!("(local $r str) (check $r (call $str.{function} (i32.const -100)))");
        assert_eq!(error_code(&engine, &bad, vec![]), StatusCode::EBOUND);
    }
}

#[test]
fn replace_replaces_every_occurrence_and_an_empty_pattern_nothing() {
    let engine = engine();
    let body = r#"(local $r str)
        (check $r (call $str.replace "a-b-c" "-" " + ")) (resv $r)
        (check $r (call $str.replace "aaa" "a" "bb")) (resv $r)
        (check $r (call $str.replace "abc" "" "x")) (resv $r)
        (check $r (call $str.replace "abc" "z" "x")) (resv $r)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [s("a + b + c"), s("bbbbbb"), s("abc"), s("abc")]
    );
    let bad = r#"(local $r str) (check $r (call $str.replace "abc" "b" (i32.const -100)))"#;
    assert_eq!(error_code(&engine, bad, vec![]), StatusCode::EBOUND);
}

#[test]
fn split_makes_an_array_of_pieces_or_characters() {
    let engine = engine();
    let body = r#"(local $h i32) (local $n i32) (local $r str)
        (check $h (call $str.split "a,,b" ","))
        (local.set $n (call $arr.len (local.get $h))) (resv $n)
        (check $r (call $arr.join (local.get $h) "|")) (resv $r)
        (check $h (call $str.split "héllo" ""))
        (local.set $n (call $arr.len (local.get $h))) (resv $n)
        (check $r (call $arr.get_str (local.get $h) (i32.const 1))) (resv $r)
        (check $h (call $str.split "" ","))
        (local.set $n (call $arr.len (local.get $h))) (resv $n)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [
            Value::I32(3),
            s("a||b"),
            Value::I32(5),
            s("é"),
            Value::I32(1)
        ]
    );
    let bad = r#"(local $h i32) (check $h (call $str.split "a" (i32.const -100)))"#;
    assert_eq!(error_code(&engine, bad, vec![]), StatusCode::EBOUND);
}

#[test]
fn split_works_without_the_arr_capability() {
    let engine = engine();
    let body = r#"(local $h i32) (check $h (call $str.split "a b" " ")) (resv $h)"#;
    let policy = watsmith_engine::Policy::deny_all().allow("str");
    let outcome = engine.exec(body, vec![], &policy, &watsmith_engine::Limits::default());
    assert_eq!(outcome.status, watsmith_engine::Status::Ok, "{outcome:?}");
    assert_eq!(outcome.results, [Value::I32(1)], "the run's first array");
}

#[test]
fn numbers_are_written_short_and_exact() {
    let engine = engine();
    let body = r#"(local $r str) (local $zero f64)
        (check $r (call $str.from_i64 (i64.const -42))) (resv $r)
        (check $r (call $str.from_i64 (i64.const -9223372036854775808))) (resv $r)
        (check $r (call $str.from_f64 (f64.const 2.5))) (resv $r)
        (check $r (call $str.from_f64 (f64.const 3))) (resv $r)
        (check $r (call $str.from_f64 (f64.add (f64.const 0.1) (f64.const 0.2)))) (resv $r)
        (check $r (call $str.from_f64 (f64.const -0.0))) (resv $r)
        (check $r (call $str.from_f64 (f64.const 1e21))) (resv $r)
        (check $r (call $str.from_f64 (f64.div (local.get $zero) (local.get $zero)))) (resv $r)
        (check $r (call $str.from_f64 (f64.div (f64.const 1) (local.get $zero)))) (resv $r)
        (check $r (call $str.from_f64 (f64.div (f64.const -1) (local.get $zero)))) (resv $r)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [
            s("-42"),
            s("-9223372036854775808"),
            s("2.5"),
            s("3"),
            s("0.30000000000000004"),
            s("-0"),
            s("1e21"),
            s("NaN"),
            s("inf"),
            s("-inf"),
        ]
    );
}

#[test]
fn text_parses_as_numbers_or_eparse() {
    let engine = engine();
    let body = r#"(local $n i64) (local $x f64)
        (check $n (call $str.to_i64 " -42 ")) (resv $n)
        (check $n (call $str.to_i64 "+7")) (resv $n)
        (check $n (call $str.to_i64 "9223372036854775807")) (resv $n)
        (check $x (call $str.to_f64 "2.5")) (resv $x)
        (check $x (call $str.to_f64 "\n1e3 ")) (resv $x)
        (check $x (call $str.to_f64 "-7")) (resv $x)
        (check $x (call $str.to_f64 "inf")) (resv $x)"#;
    assert_eq!(
        results(&engine, body, vec![]),
        [
            Value::I64(-42),
            Value::I64(7),
            Value::I64(i64::MAX),
            Value::F64(2.5),
            Value::F64(1000.0),
            Value::F64(-7.0),
            Value::F64(f64::INFINITY),
        ]
    );
    for (function, local, text, code) in [
        ("to_i64", "i64", "12abc", StatusCode::EPARSE),
        ("to_i64", "i64", "9223372036854775808", StatusCode::EPARSE),
        ("to_i64", "i64", "2.5", StatusCode::EPARSE),
        ("to_i64", "i64", "", StatusCode::EPARSE),
        ("to_i64", "i64", "\\ff", StatusCode::ETRFM),
        ("to_f64", "f64", "abc", StatusCode::EPARSE),
        ("to_f64", "f64", "1.5.2", StatusCode::EPARSE),
        ("to_f64", "f64", " ", StatusCode::EPARSE),
    ] {
        let body = format!(r#"(local $v {local}) (check $v (call $str.{function} "{text}"))"#);
        assert_eq!(
            error_code(&engine, &body, vec![]),
            code,
            "{function} {text}"
        );
    }
    let bad = "(local $v i64) (check $v (call $str.to_i64 (i32.const -100)))";
    assert_eq!(error_code(&engine, bad, vec![]), StatusCode::EBOUND);
}

#[test]
fn a_policy_without_str_refuses_the_program() {
    let engine = engine();
    assert_refused_without(&engine, r#"(drop (call $str.len "x"))"#, "str");
}

#[test]
fn output_larger_than_a_run_could_hold_is_enomem_before_it_is_built() {
    let engine = engine();
    // 60,000 matches of a 1 MB replacement: 60 GB, built on the host before any check, used to
    // abort the process.
    let subject = "a".repeat(60_000);
    let replacement = "b".repeat(1 << 20);
    let replace = "(local $s str) (local $from str) (local $to str) (local $r str)
        (argv 0 $s) (argv 1 $from) (argv 2 $to)
        (check $r (call $str.replace (local.get $s) (local.get $from) (local.get $to)))";
    assert_eq!(
        error_code(&engine, replace, vec![s(&subject), s("a"), s(&replacement)]),
        StatusCode::ENOMEM
    );
    // Within the memory, the same call works.
    let small = "(local $s str) (local $r str) (argv 0 $s)
        (check $r (call $str.replace (local.get $s) \"a\" \"bb\")) (resv $r)";
    assert_eq!(results(&engine, small, vec![s("aXa")]), [s("bbXbb")]);
    // Splitting into more pieces than the run's arrays may hold is refused before they are made.
    let split = "(local $s str) (local $h i32) (argv 0 $s)
        (check $h (call $str.split (local.get $s) \"\"))";
    assert_eq!(
        error_code(&engine, split, vec![s(&"x".repeat(8 << 20))]),
        StatusCode::ENOMEM
    );
}
