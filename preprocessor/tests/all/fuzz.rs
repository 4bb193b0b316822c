//! Property tests standing in for a fuzzer: whatever the input, the preprocessor returns (never
//! panics), every span it reports lies inside the input, every position matches its span, and an
//! accepted body's source map covers the output with spans inside the input.

use proptest::prelude::*;
use watsmith_preprocessor::{LineIndex, preprocess};

/// Fragments models actually produce, to build inputs near the grammar.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "(local $a i32)",
    "(local $s str)",
    "(local",
    "$a",
    "$s",
    "$zz",
    "0",
    "-1",
    "1.5",
    "(argv 0 $a)",
    "(argv!",
    "(resv $a)",
    "(resv",
    "(check $a)",
    "(check $s (call $str.len \"x\"))",
    "(i32.add",
    "(i32.const 1)",
    "i32.const",
    "local.get $a",
    "(local.set $a",
    "\"",
    "\"\"\"",
    "\"esc\\q\"",
    "\"ok\"",
    "(;",
    ";)",
    ";;",
    "\n",
    " ",
    "block",
    "end",
    "(block $b",
    "(br $b)",
    "br 9",
    "(if",
    "(then",
    "(else",
    "(loop $l",
    "(func",
    "(module",
    "(param $p i32)",
    "(result i32)",
    "```wat",
    "```",
    "é",
    "\u{0}",
    "br_table 0 1",
    "i64.load offset=4",
    "(call 3)",
];

fn check(source: &str) {
    let index = LineIndex::new(source);
    match preprocess(source) {
        Ok(expanded) => {
            for warning in &expanded.warnings {
                assert!(warning.span.start <= warning.span.end && warning.span.end <= source.len());
            }
            for mapping in expanded.source_map.mappings() {
                assert!(
                    mapping.input.end <= source.len(),
                    "mapping {mapping:?} outside the input"
                );
                assert!(mapping.output.end <= expanded.body.len());
            }
            for offset in 0..expanded.body.len() {
                assert!(
                    expanded.locate(offset).is_some(),
                    "output byte {offset} unmapped"
                );
            }
        }
        Err(diagnostics) => {
            assert!(diagnostics.has_errors());
            for d in diagnostics.as_slice() {
                assert!(
                    d.span.start <= d.span.end && d.span.end <= source.len(),
                    "{d:?} outside {source:?}"
                );
                let at = index.position(source, d.span.start);
                assert_eq!((d.line, d.column), (at.line, at.column));
                assert!(!d.message.is_empty());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(source in ".{0,200}") {
        check(&source);
    }

    #[test]
    fn near_grammar_text_never_panics(parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..40)) {
        check(&parts.join(" "));
    }

    #[test]
    fn mutated_fixtures_never_panic(index in 0usize..1000, cut in 0usize..4000, insert in proptest::sample::select(FRAGMENTS)) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ok");
        let mut files: Vec<_> = std::fs::read_dir(dir).expect("fixtures").map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "wat")).collect();
        files.sort();
        prop_assume!(!files.is_empty());
        let source = std::fs::read_to_string(&files[index % files.len()]).expect("fixture");
        let mut at = cut % (source.len() + 1);
        while !source.is_char_boundary(at) { at -= 1; }
        check(&format!("{}{}{}", &source[..at], insert, &source[at..]));
    }
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_stack_overflow() {
    let depth = 100_000;
    let source = format!("{}{}", "(block ".repeat(depth), ")".repeat(depth));
    let diagnostics = preprocess(&source).expect_err("too deep");
    assert!(
        diagnostics
            .as_slice()
            .iter()
            .any(|d| d.message.contains("nests deeper than"))
    );
}

#[test]
fn oversized_bodies_are_refused_up_front() {
    let source = "nop\n".repeat(watsmith_preprocessor::limits::MAX_BODY_BYTES / 4 + 1);
    let diagnostics = preprocess(&source).expect_err("too large");
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics.as_slice()[0].message.starts_with("the body is"));
}
