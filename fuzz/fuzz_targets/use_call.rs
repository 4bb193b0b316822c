//! The `@use` call parser and [`Catalog::bind`] on arbitrary text. Invariants: nothing panics; a
//! syntax error's column lies within the text (one past its last character at most); a parsed
//! call, written back with [`write_literal`], parses to the same call; and a bound call has as
//! many arguments as its program has parameters, each of the parameter's type.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use watsmith_catalog::call::{self, Literal, write_literal};
use watsmith_catalog::{Bound, CallError, Catalog, Invocation, Type};
use watsmith_engine::{Registry, Value};

fn world() -> &'static (Catalog, Registry) {
    static WORLD: OnceLock<(Catalog, Registry)> = OnceLock::new();
    WORLD.get_or_init(|| (Catalog::builtin(), Registry::builtin()))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (catalog, registry) = world();
    match call::parse(&text) {
        Ok(parsed) => round_trip(&parsed),
        Err(error) => {
            assert!(
                error.column >= 1 && error.column <= text.chars().count() + 1,
                "{error:?}"
            );
            assert!(!error.message.is_empty());
        }
    }
    check_bound(catalog.bind(Invocation::Text(&text), registry));
    // The same text as a command line: a name, then argument words split at NULs.
    let mut words = text.split('\0');
    let name = words.next().unwrap_or_default();
    let words: Vec<String> = words.map(str::to_owned).collect();
    check_bound(catalog.bind(
        Invocation::Words {
            name,
            words: &words,
        },
        registry,
    ));
});

fn round_trip(parsed: &call::Call) {
    let args: Vec<String> = parsed
        .args
        .iter()
        .map(|arg| write_literal(&value(arg)))
        .collect();
    let written = format!("{}({})", parsed.name, args.join(", "));
    let again = call::parse(&written).unwrap_or_else(|e| panic!("{written:?} does not parse: {e}"));
    assert_eq!(again.name, parsed.name);
    assert_eq!(again.args.len(), parsed.args.len(), "{written:?}");
    for (before, after) in parsed.args.iter().zip(&again.args) {
        let same = match (before, after) {
            (Literal::Float(x), Literal::Int(n)) => *n as f64 == *x,
            (Literal::Float(x), Literal::Float(y)) => x.to_bits() == y.to_bits() || x == y,
            (before, after) => before == after,
        };
        assert!(
            same,
            "{before:?} written as {written:?} reads back as {after:?}"
        );
    }
}

fn value(literal: &Literal) -> Value {
    match literal {
        Literal::Int(n) => Value::I64(*n),
        Literal::Float(x) => Value::F64(*x),
        Literal::Str(s) => Value::Str(s.clone()),
    }
}

fn check_bound(bound: Result<Bound<'_>, CallError>) {
    match bound {
        Ok(bound) => {
            let params = &bound.program.front.params;
            assert_eq!(bound.args.len(), params.len());
            for (arg, param) in bound.args.iter().zip(params) {
                let fits = matches!(
                    (param.ty, arg),
                    (Type::I32, Value::I32(_))
                        | (Type::I64, Value::I64(_))
                        | (Type::F64, Value::F64(_))
                        | (Type::Str, Value::Str(_))
                        | (Type::Bytes, Value::Bytes(_))
                );
                assert!(fits, "{arg:?} bound to {param:?}");
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}
