//! The preprocessor on arbitrary text: it never panics, every span it reports lies inside the
//! input and its line and column match its span, and an accepted body's source map covers the
//! output with spans inside the input (the invariants of `preprocessor/tests/all/fuzz.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use watsmith_preprocessor::{LineIndex, preprocess};

fuzz_target!(|data: &[u8]| {
    // Bodies are text; invalid UTF-8 is cut at its first error so every input still tests.
    let source = match std::str::from_utf8(data) {
        Ok(source) => source,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).expect("valid up to here"),
    };
    check(source);
});

fn check(source: &str) {
    match preprocess(source) {
        Ok(expanded) => {
            for warning in &expanded.warnings {
                assert!(warning.span.start <= warning.span.end && warning.span.end <= source.len());
            }
            for mapping in expanded.source_map.mappings() {
                assert!(mapping.input.start <= mapping.input.end, "{mapping:?}");
                assert!(
                    mapping.input.end <= source.len(),
                    "{mapping:?} outside the input"
                );
                assert!(mapping.output.end <= expanded.body.len(), "{mapping:?}");
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
            let index = LineIndex::new(source);
            for d in diagnostics.as_slice() {
                assert!(
                    d.span.start <= d.span.end && d.span.end <= source.len(),
                    "{d:?}"
                );
                let at = index.position(source, d.span.start);
                assert_eq!((d.line, d.column), (at.line, at.column), "{d:?}");
                assert!(!d.message.is_empty());
            }
        }
    }
}
