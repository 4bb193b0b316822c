//! Golden files: `tests/fixtures/ok/*.wat` must expand to `*.out` (the `watsmith expand`
//! rendering, warnings included; that each also assembles and validates in the engine's real
//! template is checked by the workspace's cross-crate tests, `tests/pipeline/golden.rs`);
//! `tests/fixtures/err/*.wat` must fail with exactly the diagnostics rendered in `*.err`.
//! `BLESS=1 cargo test -p watsmith-preprocessor --test all golden` rewrites the expectations.

use std::fs;
use std::path::{Path, PathBuf};

use watsmith_preprocessor::preprocess;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    files
}

fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v != "0")
}

/// Compares `actual` with the expectation file, or writes it when blessing.
fn expect(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if blessing() {
        fs::write(path, actual).expect("write expectation");
        return;
    }
    match fs::read_to_string(path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{} differs\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )),
        Err(_) => failures.push(format!("{} is missing; run with BLESS=1", path.display())),
    }
}

#[test]
fn ok_fixtures_expand_as_recorded() {
    let files = fixtures("ok");
    assert!(files.len() >= 40, "only {} ok fixtures", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let source = fs::read_to_string(file).expect("fixture");
        match preprocess(&source) {
            Ok(expanded) => {
                expect(
                    &file.with_extension("out"),
                    &expanded.render(),
                    &mut failures,
                );
            }
            Err(diagnostics) => {
                failures.push(format!(
                    "{} was rejected:\n{}",
                    file.display(),
                    diagnostics.render()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn err_fixtures_fail_with_the_recorded_diagnostics() {
    let files = fixtures("err");
    assert!(files.len() >= 30, "only {} err fixtures", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let source = fs::read_to_string(file).expect("fixture");
        match preprocess(&source) {
            Ok(expanded) => failures.push(format!(
                "{} was accepted:\n{}",
                file.display(),
                expanded.render()
            )),
            Err(diagnostics) => {
                for d in diagnostics.as_slice() {
                    let span = d.span;
                    if span.end > source.len() || span.start > span.end {
                        failures.push(format!(
                            "{}: span {span:?} outside the input",
                            file.display()
                        ));
                    }
                }
                expect(
                    &file.with_extension("err"),
                    &diagnostics.render(),
                    &mut failures,
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_byte_order_mark_first_is_ignored() {
    let body = "(local $n i32) (local.set $n (i32.const 7)) (resv $n)";
    let plain = watsmith_preprocessor::preprocess(body).expect("valid");
    let marked = watsmith_preprocessor::preprocess(&format!("\u{feff}{body}"))
        .expect("valid with a byte-order mark");
    assert!(marked.warnings.is_empty(), "{:?}", marked.warnings);
    assert_eq!(marked.body.trim(), plain.body.trim());
}

#[test]
fn old_mac_line_endings_end_comments_and_lines() {
    // A comment, then a macro, each on its own line, with `\r` alone between them.
    let body = ";; the count\r(local $n i32)\r(local.set $n (i32.const 7))\r(resv $n)";
    let expanded = watsmith_preprocessor::preprocess(body).expect("valid");
    assert!(
        expanded.body.contains("i32.const 7") && !expanded.body.contains("resv"),
        "the lines after the comment were read and the macro expanded: {}",
        expanded.body
    );
    let wrong = ";; a comment\r(resv $missing)";
    let diagnostics = watsmith_preprocessor::preprocess(wrong).expect_err("unknown local");
    assert_eq!(diagnostics.as_slice()[0].line, 2, "{diagnostics}");
}
