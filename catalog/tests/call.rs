//! The `@use` parser: the forms a model writes, malformed input with its column, and binding to
//! a program's signature.

use std::path::Path;

use watsmith_catalog::call::parse;
use watsmith_catalog::{Call, Literal, Program};
use watsmith_engine::Value;

fn call(name: &str, args: Vec<Literal>) -> Call {
    Call {
        name: name.to_owned(),
        args,
    }
}

#[test]
fn calls_parse_with_or_without_the_keyword_and_any_spacing() {
    let fib = call("fib", vec![Literal::Int(30)]);
    for text in [
        "@use fib(30)",
        "fib(30)",
        "  @use   fib ( 30 ) ",
        "@usefib(30)",
        "fib(\n30\n)",
    ] {
        assert_eq!(parse(text), Ok(fib.clone()), "{text:?}");
    }
    assert_eq!(parse("@use now()"), Ok(call("now", vec![])));
}

#[test]
fn literals_are_integers_floats_and_strings_with_escapes() {
    assert_eq!(
        parse(r#"@use f(-7, +3, 4.5, -1e3, .5, 1_000, "a\"b\n\u{e9}", 'it\'s', "")"#),
        Ok(call(
            "f",
            vec![
                Literal::Int(-7),
                Literal::Int(3),
                Literal::Float(4.5),
                Literal::Float(-1000.0),
                Literal::Float(0.5),
                Literal::Int(1000),
                Literal::Str("a\"b\né".to_owned()),
                Literal::Str("it's".to_owned()),
                Literal::Str(String::new()),
            ]
        ))
    );
}

#[test]
fn malformed_calls_say_where_and_what_was_expected() {
    for (text, column, message) in [
        ("", 1, "expected a program name"),
        ("@use (1)", 6, "expected a program name"),
        (
            "@use fib 30",
            10,
            "expected `(` after the program name, found `3`",
        ),
        ("@use fib(30", 12, "expected `,` or `)`, found the end"),
        (
            "@use fib(30,)",
            13,
            "expected an argument (a number or a quoted string), found `)`",
        ),
        ("@use fib(30 31)", 13, "expected `,` or `)`, found `3`"),
        (
            "@use fib(abc)",
            10,
            "expected an argument (a number or a quoted string), found `a`",
        ),
        ("@use fib(1.2.3)", 10, "`1.2.3` is not a number"),
        ("@use f(\"abc)", 13, "unclosed string"),
        ("@use f(\"a\\qb\")", 10, "unknown escape `\\q`"),
        ("@use f(\"\\u{d800}\")", 12, "is not a Unicode scalar value"),
        ("@use fib(30) and more", 14, "unexpected `a` after the call"),
    ] {
        let error = parse(text).expect_err(text);
        assert!(
            error.message.contains(message) && error.column == column,
            "{text:?}: got {error}, wanted column {column}: {message}"
        );
    }
}

fn gcd() -> Program {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/gcd.wat");
    Program::load(&path).expect("gcd loads")
}

#[test]
fn binding_checks_the_count_and_types_against_the_signature() {
    let gcd = gcd();
    assert_eq!(
        parse("gcd(12, 18)").expect("parses").bind(&gcd.front),
        Ok(vec![Value::I64(12), Value::I64(18)])
    );
    let arity = parse("gcd(12)")
        .expect("parses")
        .bind(&gcd.front)
        .expect_err("arity");
    assert_eq!(
        arity,
        "`gcd` takes 2 arguments, not 1; the signature is gcd(a: i64, b: i64) -> (gcd: i64)"
    );
    let types = parse("gcd(12, 'x')")
        .expect("parses")
        .bind(&gcd.front)
        .expect_err("type");
    assert!(
        types.starts_with("argument `b` must be an i64 (an integer)"),
        "{types}"
    );
}

#[test]
fn an_unknown_program_gets_the_closest_name() {
    let gcd = gcd();
    let programs = vec![&gcd];
    let error = parse("gdc(1, 2)")
        .expect("parses")
        .program(&programs)
        .expect_err("unknown");
    assert_eq!(error, "no catalog program `gdc`; did you mean `gcd`?");
    assert!(
        parse("gcd(1, 2)")
            .expect("parses")
            .program(&programs)
            .is_ok()
    );
}

#[test]
fn written_literals_parse_back_to_their_values() {
    use watsmith_catalog::call::write_literal;
    for text in [
        "plain",
        "",
        "say \"hi\"",
        "it's",
        "both ' and \"",
        "back\\slash",
        "lines\nand\ttabs\r\0",
        "bell \u{7} and del \u{7f}",
        "héllo 😀",
    ] {
        let written = write_literal(&Value::Str(text.to_owned()));
        assert_eq!(
            parse(&format!("f({written})")).map(|c| c.args),
            Ok(vec![Literal::Str(text.to_owned())]),
            "{written}"
        );
    }
    assert_eq!(
        write_literal(&Value::Str("{\"a\":1}".to_owned())),
        "'{\"a\":1}'"
    );
    assert_eq!(write_literal(&Value::I64(-7)), "-7");
    assert_eq!(write_literal(&Value::F64(2.5)), "2.5");
    assert_eq!(
        parse("f(1e300)").map(|c| c.args),
        Ok(vec![Literal::Float(1e300)])
    );
    assert_eq!(write_literal(&Value::F64(1e300)), "1e300");
}

#[test]
fn examples_read_as_calls_and_what_they_give() {
    use watsmith_catalog::call::example_line;
    let catalog = watsmith_catalog::Catalog::builtin();
    let line = |name: &str, index: usize| {
        let program = catalog.get(name).expect("built in");
        example_line(&program.front, &program.front.examples[index])
    };
    assert_eq!(line("gcd", 0), "gcd(12, 18) -> 6");
    assert_eq!(line("kv_get", 2), "kv_get(\"farewell\") -> error ENOENT");
    assert_eq!(
        line("http_get_json", 1),
        "http_get_json(\"{server}/items.json\", \"/items/0\") -> '{\"name\":\"pen\",\"price\":1.5}'"
    );
}
