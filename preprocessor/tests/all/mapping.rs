//! The source map: errors found in the assembled module are traced back to the text the model
//! wrote, through the macro that produced the code when there is one.

use watsmith_preprocessor::{MacroKind, Origin, Span, preprocess};

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

#[test]
fn every_output_byte_maps_into_the_input() {
    let source = "(local $n i64)\n(argv 0 $n)\n(call $core.log \"hi\")\n(resv $n)\n";
    let expanded = preprocess(source).expect("valid");
    for offset in 0..expanded.body.len() {
        let location = expanded
            .locate(offset)
            .unwrap_or_else(|| panic!("offset {offset} unmapped"));
        assert!(location.span.end <= source.len());
    }
    assert!(expanded.locate(expanded.body.len()).is_none());
}

#[test]
fn verbatim_code_keeps_its_line_and_column() {
    let source = "(local $x i32)\n  (local.set $x (i32.const 7))\n";
    let expanded = preprocess(source).expect("valid");
    let out = expanded.body.find("(i32.const 7)").expect("copied");
    assert_eq!(line_col(&expanded.body, out), (2, 17));
    let location = expanded.locate(out).expect("mapped");
    assert_eq!(location.origin, Origin::Verbatim);
    assert_eq!(
        location.span,
        Span::new(
            source.find("(i32.const 7)").expect("present"),
            source.find("(i32.const 7)").expect("present") + 1
        )
    );
}

#[test]
fn expansion_bytes_map_to_their_macro() {
    let source = "(local $s str)\n(local $n i64)\n\n    (argv 1 $s)\n(resv $n)";
    let expanded = preprocess(source).expect("valid");
    let call = expanded.body.find("$core.arg_str").expect("expanded");
    let location = expanded.locate(call).expect("mapped");
    assert_eq!(location.origin, Origin::Macro(MacroKind::Argv));
    assert_eq!(&source[location.span.range()], "(argv 1 $s)");
    // The expansion stays on the macro's line.
    assert_eq!(line_col(&expanded.body, call).0, 4);
}

#[test]
fn string_literals_map_to_the_literal() {
    let source = "(call $core.log \"multi\\nline\")";
    let expanded = preprocess(source).expect("valid");
    let at = expanded.body.find("(i32.const 16)").expect("replaced");
    let location = expanded.locate(at + 3).expect("mapped");
    assert_eq!(location.origin, Origin::StringLiteral);
    assert_eq!(&source[location.span.range()], "\"multi\\nline\"");
}

#[test]
fn raw_strings_keep_the_line_count() {
    let source = "(local $t str)\n(local.set $t \"\"\"a\nb\nc\"\"\")\n(resv $t)";
    let expanded = preprocess(source).expect("valid");
    assert_eq!(expanded.body.lines().count(), source.lines().count());
    let resv = expanded.body.find("$core.res_str").expect("expanded");
    assert_eq!(line_col(&expanded.body, resv).0, 5);
    assert_eq!(expanded.data[0].bytes, b"a\nb\nc");
}
