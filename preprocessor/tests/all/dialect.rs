//! WAT forms the checks of the preprocessor must read as WebAssembly does: numeric immediates
//! in hex and with `_`, quoted identifiers, annotations. (`tests/pipeline/dialect.rs` runs such
//! bodies through Wasmtime; these tests pin what the preprocessor itself reports.)

use watsmith_preprocessor::{DiagnosticKind, preprocess};

#[test]
fn hex_indexes_and_depths_are_checked_by_their_value() {
    let expanded = preprocess("(local $a i32) (local $b i32) local.get 0x1 drop (block br 0x1)")
        .expect("local 1 exists and depth 1 is the body's block");
    assert!(expanded.body.contains("local.get 0x1"), "{}", expanded.body);

    let errors = preprocess("(local $a i32)\nlocal.get 0x1 drop").expect_err("one local only");
    let errors = errors.as_slice();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, DiagnosticKind::UnknownLocal);
    assert_eq!((errors[0].line, errors[0].column), (2, 11));
    assert_eq!(errors[0].message, "local index 0x1 is out of range");

    let errors = preprocess("br 0x1_0").expect_err("no block is that deep");
    assert_eq!(errors.as_slice()[0].kind, DiagnosticKind::UnknownLabel);
}

#[test]
fn a_quoted_identifier_is_the_same_as_its_plain_spelling() {
    let expanded = preprocess("(local $n i64) (local $\"n\" i64) (argv 0 $\"\\6e\") (resv $n)")
        .expect("one local, three spellings");
    assert_eq!(expanded.locals_wat(), "(local $n i64)\n(local $__err i32)");
    assert_eq!(
        expanded.warnings[0].kind,
        DiagnosticKind::DuplicateLocal,
        "{:?}",
        expanded.warnings
    );

    let errors = preprocess("(local $\"my local\" i32) (local.get $\"my locale\") drop")
        .expect_err("a different name");
    assert_eq!(
        errors.as_slice()[0].hint.as_deref(),
        Some("did you mean `$\"my local\"`?")
    );
    let errors = preprocess("(local $\"__err\" i32)").expect_err("reserved however spelled");
    assert_eq!(errors.as_slice()[0].kind, DiagnosticKind::ReservedName);
}

#[test]
fn annotations_are_blanked_and_keep_positions() {
    let source = "(@name \"x\")\n(local $n i32) (@a (b \")\") ;; )\n)\n(unknwn)";
    let errors = preprocess(source).expect_err("an unknown instruction after annotations");
    assert_eq!(
        (errors.as_slice()[0].line, errors.as_slice()[0].column),
        (4, 2)
    );

    let expanded = preprocess("(@custom \"c\" (x)) nop").expect("an annotation is no statement");
    assert_eq!(expanded.body.trim(), "nop");
}
