//! The `@use` parser: the forms a model writes, malformed input with its column, and binding to
//! a program's signature.

use std::path::Path;

use watsmith_catalog::call::parse;
use watsmith_catalog::{Call, CallError, Catalog, Invocation, Literal};
use watsmith_engine::{Registry, Value};

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
        (
            "@use fib(1.2.3)",
            10,
            "`1.2.3` is not a number: write it as WebAssembly text does",
        ),
        (
            "@use fib(99999999999999999999)",
            10,
            "`99999999999999999999` is out of range for i64: write an i64 from -9223372036854775808 to 18446744073709551615",
        ),
        ("@use fib(1__0)", 10, "`1__0` is not a number"),
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

fn catalog() -> Catalog {
    Catalog::builtin()
}

#[test]
fn every_form_binds_to_the_programs_signature() {
    let catalog = catalog();
    let registry = Registry::builtin();
    let twelve_eighteen = vec![Value::I64(12), Value::I64(18)];
    for invocation in [
        Invocation::Text("gcd(12, 18)"),
        Invocation::Text("@use gcd( 12 ,18 )"),
        Invocation::Words {
            name: "gcd",
            words: &["12".to_owned(), "18".to_owned()],
        },
        Invocation::Literals {
            name: "gcd",
            args: &[Literal::Int(12), Literal::Int(18)],
        },
    ] {
        let bound = catalog.bind(invocation, &registry).expect("binds");
        assert_eq!(bound.program.front.name, "gcd");
        assert_eq!(bound.args, twelve_eighteen, "{invocation:?}");
    }
    // Words are typed by the parameters: text that looks like a number stays text.
    let reversed = catalog
        .bind(
            Invocation::Words {
                name: "reverse",
                words: &["123".to_owned()],
            },
            &registry,
        )
        .expect("binds");
    assert_eq!(reversed.args, [Value::Str("123".to_owned())]);
}

#[test]
fn numbers_take_the_webassembly_text_forms() {
    let catalog = catalog();
    let registry = Registry::builtin();
    let words = ["0x10".to_owned(), "1_000".to_owned()];
    for invocation in [
        Invocation::Text("gcd(0x10, 1_000)"),
        Invocation::Words {
            name: "gcd",
            words: &words,
        },
    ] {
        let bound = catalog.bind(invocation, &registry).expect("binds");
        assert_eq!(
            bound.args,
            [Value::I64(16), Value::I64(1000)],
            "{invocation:?}"
        );
    }
    let floats = parse("@use f(0x1.8p3, -inf, nan:0x1, 2.5e-1)").expect("parses");
    let bits: Vec<u64> = floats
        .args
        .iter()
        .map(|arg| match arg {
            Literal::Float(x) => x.to_bits(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        bits,
        [
            12.0f64.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            0x7ff0_0000_0000_0001,
            0.25f64.to_bits()
        ]
    );
}

#[test]
fn a_call_that_does_not_fit_says_how_to_fix_it() {
    let catalog = catalog();
    let registry = Registry::builtin();
    let error = |invocation| {
        catalog
            .bind(invocation, &registry)
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        error(Invocation::Text("gcd(12)")),
        "`gcd` takes 2 arguments, not 1; the signature is gcd(a: i64, b: i64) -> (gcd: i64)"
    );
    assert_eq!(
        error(Invocation::Text("gcd(12, 'x')")),
        "argument `b` must be an i64 (an integer); the signature is gcd(a: i64, b: i64) -> (gcd: i64)"
    );
    let words = ["1".to_owned(), "x".to_owned()];
    assert_eq!(
        error(Invocation::Words {
            name: "gcd",
            words: &words
        }),
        "argument `b`: `x` is not a number: write it as WebAssembly text does, e.g. `42`, `-7`, `0xff`, `1_000`, `2.5`, `-1e-3`, `inf`, `nan`; the signature is gcd(a: i64, b: i64) -> (gcd: i64)"
    );
    let words = ["1".to_owned(), "1e3".to_owned()];
    assert_eq!(
        error(Invocation::Words {
            name: "gcd",
            words: &words
        }),
        "argument `b`: `1e3` is not an integer, and an i64 is one: write it without a fraction or exponent; the signature is gcd(a: i64, b: i64) -> (gcd: i64)"
    );
    assert_eq!(
        error(Invocation::Text("gdc(1, 2)")),
        "no catalog program `gdc`; did you mean `gcd`?"
    );
    assert!(
        error(Invocation::Text("zzzzzzzz()"))
            .starts_with("no catalog program `zzzzzzzz`; the catalog has ")
    );
    assert_eq!(
        error(Invocation::Text("gcd(1,")),
        "in `gcd(1,`: column 7: expected an argument, found the end"
    );
    // An i32 parameter takes only what fits.
    assert!(matches!(
        catalog.bind(
            Invocation::Literals {
                name: "gcd",
                args: &[Literal::Int(1), Literal::Float(2.5)]
            },
            &registry
        ),
        Err(CallError::Type { .. })
    ));
}

#[test]
fn a_program_needing_a_capability_the_engine_lacks_is_refused_before_it_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/fib.wat"))
            .expect("fib");
    std::fs::write(
        dir.path().join("beam.wat"),
        fib.replace("\"fib\"", "\"beam\"")
            .replace("capabilities = []", "capabilities = [\"teleport\"]"),
    )
    .expect("write");
    let catalog = Catalog::from_dir(dir.path()).expect("readable");
    assert_eq!(
        catalog
            .bind(Invocation::Text("beam(3)"), &Registry::builtin())
            .err(),
        Some(CallError::Unavailable {
            program: "beam".to_owned(),
            capabilities: vec!["teleport".to_owned()],
        })
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
    // Every f64 reads back bit for bit, the non-finite ones included (found by the use_call
    // fuzz target: a NaN was written `NaN`, which no call reads).
    for x in [
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let written = write_literal(&Value::F64(x));
        let args = parse(&format!("f({written})")).expect(&written).args;
        assert!(
            matches!(args[..], [Literal::Float(y)] if y.to_bits() == x.to_bits()),
            "{written}: {args:?}"
        );
    }
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
