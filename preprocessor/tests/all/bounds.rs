//! Bodies made to exhaust the host: thousands of errors on one long line cost no more than the
//! first fifty, and a quoted line is cut to a window around its error.

use watsmith_preprocessor::limits::{MAX_DIAGNOSTICS, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES};
use watsmith_preprocessor::{DiagnosticKind, preprocess};

#[test]
fn thousands_of_errors_on_one_long_line_stop_at_the_cap_with_short_frames() {
    // 128 KB on one line, a stray `)` every four bytes: 32,000 errors. Each used to copy the
    // whole line, and all were built before the cap: gigabytes.
    let body = format!("({}", ") ) ".repeat(32_000));
    let diagnostics = preprocess(&body).expect_err("errors");
    assert_eq!(
        diagnostics.len(),
        MAX_DIAGNOSTICS + 1,
        "the cap, and one saying how many more"
    );
    let last = diagnostics.as_slice().last().expect("one");
    assert_eq!(last.kind, DiagnosticKind::Limit);
    assert!(
        last.message.ends_with("more diagnostics not shown"),
        "{}",
        last.message
    );
    for diagnostic in diagnostics.as_slice() {
        assert!(
            diagnostic.source_line.len() <= MAX_FRAME_BYTES + 2 * '…'.len_utf8(),
            "{} bytes quoted",
            diagnostic.source_line.len()
        );
    }
    assert!(
        diagnostics.render().len() < 64 * 1024,
        "the rendering is small too"
    );
}

#[test]
fn a_cut_line_still_puts_the_caret_under_the_error() {
    // An unknown local far into a long line.
    let padding = "(i32.const 1) (drop) ".repeat(40);
    let body = format!("{padding}(resv $nowhere)");
    let diagnostics = preprocess(&body).expect_err("an unknown local");
    let diagnostic = diagnostics
        .as_slice()
        .iter()
        .find(|d| d.kind == DiagnosticKind::UnknownLocal)
        .expect("the unknown local");
    assert_eq!(
        diagnostic.column as usize,
        padding.len() + "(resv ".len() + 1
    );
    assert!(
        diagnostic.source_line.starts_with('…'),
        "{}",
        diagnostic.source_line
    );
    let rendered = diagnostic.render();
    let lines: Vec<&str> = rendered.lines().collect();
    let quoted = lines
        .iter()
        .position(|l| l.contains("(resv $nowhere)"))
        .expect("quoted");
    let (code, caret) = (lines[quoted], lines[quoted + 1]);
    let at = code.find("$nowhere").expect("in the frame");
    let caret_at = caret.find('^').expect("a caret");
    // Columns in characters: the frame's `…` is one character of three bytes.
    assert_eq!(
        code[..at].chars().count(),
        caret[..caret_at].chars().count(),
        "{rendered}"
    );
}

#[test]
fn a_near_twin_of_a_huge_name_is_reported_small_and_at_once() {
    // A 400,000-character local and a use that differs in its last character: the "did you
    // mean" search used to compare them in quadratic time (minutes), and the message quoted
    // the whole name.
    let name = "a".repeat(400_000);
    let body = format!("(local ${name} i64)\n(resv ${name}b)");
    let diagnostics = preprocess(&body).expect_err("an unknown local");
    let diagnostic = diagnostics
        .as_slice()
        .iter()
        .find(|d| d.kind == DiagnosticKind::UnknownLocal)
        .expect("the unknown local");
    assert!(diagnostic.message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
    assert!(diagnostic.message.contains('…'), "{}", diagnostic.message);
    assert!(
        diagnostics.render().len() < 64 * 1024,
        "{} bytes rendered",
        diagnostics.render().len()
    );
}

#[test]
fn a_megabyte_body_of_any_shape_is_answered_at_once() {
    for (shape, body) in crate::shapes::megabyte_bodies() {
        assert!(body.len() <= 1 << 20, "{shape}: {} bytes", body.len());
        let answer = preprocess(&body);
        if let Err(diagnostics) = &answer {
            assert!(
                diagnostics.len() <= MAX_DIAGNOSTICS + 1,
                "{shape}: {} diagnostics",
                diagnostics.len()
            );
            assert!(
                diagnostics.render().len() < 64 * 1024,
                "{shape}: {} bytes rendered",
                diagnostics.render().len()
            );
        }
    }
}

#[test]
fn did_you_mean_stops_when_the_bodys_search_budget_is_spent() {
    // 1,900 locals of 128 characters and 50 uses each one character off a declared name:
    // searching them all cost 0.15 s each. The first uses get their suggestion; once the body's
    // budget for the search is spent, the rest get the plain hint (still one per error).
    let names: Vec<String> = (0..1_900).map(|i| format!("$local_{i:0>120}")).collect();
    let mut body: String = names.iter().map(|n| format!("(local {n} i64)\n")).collect();
    for name in names.iter().rev().take(60) {
        body.push_str(&format!("(local.set {name}x (i64.const 1))\n"));
    }
    let diagnostics = preprocess(&body).expect_err("unknown locals");
    let hints: Vec<&str> = diagnostics
        .as_slice()
        .iter()
        .filter(|d| d.kind == DiagnosticKind::UnknownLocal)
        .map(|d| d.hint.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(hints.len(), MAX_DIAGNOSTICS);
    let suggested = hints
        .iter()
        .filter(|h| h.starts_with("did you mean"))
        .count();
    assert!(
        suggested >= 1,
        "the first errors get their suggestion: {hints:?}"
    );
    assert!(
        suggested < hints.len(),
        "the budget ends the search before the cap: {suggested} suggested"
    );
    assert!(
        hints[0].starts_with("did you mean `$local_"),
        "{}",
        hints[0]
    );
    assert!(
        hints.last().is_some_and(|h| h.starts_with("declare it")),
        "{hints:?}"
    );
}
