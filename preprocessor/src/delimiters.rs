//! The lexical check that runs before parsing: string literals, comments and parentheses.
//!
//! Like rustc, which matches delimiters while building token trees rather than in its parser,
//! watsmith checks delimiters on the raw text first. An unclosed `(` or an unterminated string
//! makes a tree-sitter parse produce a cascade of ERROR nodes far from the cause; this pass
//! reports the cause itself, with the line where the delimiter was opened, and guesses from the
//! indentation which line lost its `)` (a guess, so it goes in the hint, not the location).

use crate::diagnostic::{DiagnosticKind, Reporter};
use crate::span::Span;

/// Indentation and parenthesis depth at the start of one line of code.
#[derive(Debug, Clone, Copy)]
struct LineShape {
    line: usize,
    indent: usize,
    depth: usize,
}

/// Checks delimiters of `source`; returns whether any error was reported. The offset of the `(`
/// of every `(local` outside strings and comments goes into `declarations`: the expander finds
/// the declarations there without walking the whole tree.
pub(crate) fn check(
    source: &str,
    reporter: &mut Reporter<'_>,
    declarations: &mut Vec<usize>,
) -> bool {
    let before = reporter.len();
    let bytes = source.as_bytes();
    let mut open: Vec<usize> = Vec::new();
    let mut shapes: Vec<LineShape> = Vec::new();
    let mut line = 0;
    let mut at_line_start = true;
    let mut indent = 0;
    let mut unterminated_string = false;
    let mut i = 0;

    while i < bytes.len() {
        let b = bytes[i];
        if at_line_start && b != b'\n' {
            if b == b' ' || b == b'\t' {
                indent += 1;
                i += 1;
                continue;
            }
            at_line_start = false;
            if !bytes[i..].starts_with(b";;") {
                shapes.push(LineShape {
                    line,
                    indent,
                    depth: open.len(),
                });
            }
        }
        match b {
            b'\n' => {
                line += 1;
                at_line_start = true;
                indent = 0;
                i += 1;
            }
            b'(' if bytes.get(i + 1) == Some(&b';') => match block_comment_end(bytes, i) {
                Some(end) => {
                    line += bytes[i..end].iter().filter(|&&c| c == b'\n').count();
                    i = end;
                }
                None => {
                    reporter
                        .error(
                            DiagnosticKind::UnterminatedComment,
                            Span::new(i, i + 2),
                            "unterminated block comment: `(;` is never closed",
                        )
                        .with_hint("close it with `;)` (block comments nest: each `(;` needs its own `;)`)");
                    return true;
                }
            },
            b'(' => {
                if opens_local(&bytes[i + 1..]) {
                    declarations.push(i);
                }
                open.push(i);
                i += 1;
            }
            b')' => {
                if open.pop().is_none() && !unterminated_string {
                    // The hint looks at every line so far: worth it only for a diagnostic that
                    // is recorded, not one past the cap.
                    let hint = if reporter.is_full() {
                        String::new()
                    } else {
                        match indentation_suspect(&shapes, false) {
                            Some(suspect) => format!(
                                "line {} probably has one `)` too many: line {} has the same \
                                 indentation but starts one level shallower",
                                suspect.0 + 1,
                                suspect.1 + 1
                            ),
                            None => "remove it, or add the `(` it was meant to close".to_owned(),
                        }
                    };
                    reporter
                        .error(
                            DiagnosticKind::UnexpectedCloseParen,
                            Span::new(i, i + 1),
                            "unexpected `)`: it closes nothing",
                        )
                        .with_hint(hint);
                }
                i += 1;
            }
            b';' if bytes.get(i + 1) == Some(&b';') => {
                i = memchr_newline(bytes, i);
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => match find(bytes, i + 3, b"\"\"\"") {
                Some(end) => {
                    line += bytes[i..end].iter().filter(|&&c| c == b'\n').count();
                    i = end + 3;
                }
                None => {
                    reporter
                        .error(
                            DiagnosticKind::UnterminatedRawString,
                            Span::new(i, i + 3),
                            "unterminated raw string: `\"\"\"` is never closed",
                        )
                        .with_hint("end the raw string with `\"\"\"`");
                    return true;
                }
            },
            b'"' => match string_end(bytes, i) {
                Ok(end) => i = end,
                Err(line_end) => {
                    unterminated_string = true;
                    reporter
                        .error(
                            DiagnosticKind::UnterminatedString,
                            Span::new(i, line_end),
                            "unterminated string literal",
                        )
                        .with_hint(
                            "close it with `\"` on the same line (write a line break as `\\n`), \
                             or use a raw `\"\"\"...\"\"\"` literal for text over several lines",
                        );
                    i = line_end;
                }
            },
            _ => i += 1,
        }
    }

    // A string that runs to the end of its line swallows parentheses; their balance says nothing.
    if unterminated_string {
        return true;
    }
    if let Some(&innermost) = open.last() {
        let more = open.len() - 1;
        let message = if more == 0 {
            "unclosed `(`: it is never closed".to_owned()
        } else {
            format!("unclosed `(`: it and {more} `(` before it are never closed")
        };
        let hint = match indentation_suspect(&shapes, true) {
            Some((suspect, next)) => format!(
                "a `)` is probably missing at the end of line {}: line {} has the same \
                 indentation but starts one level deeper",
                suspect + 1,
                next + 1
            ),
            None => "add the missing `)`".to_owned(),
        };
        let outermost = open[0];
        let diagnostic = reporter.error(
            DiagnosticKind::UnclosedParen,
            Span::new(innermost, innermost + 1),
            message,
        );
        diagnostic.with_hint(hint);
        if more > 0 {
            let related = reporter.related(
                Span::new(outermost, outermost + 1),
                "the outermost unclosed `(` is here",
            );
            if let Some(last) = reporter.last_mut() {
                last.with_related(related);
            }
        }
    }
    reporter.len() > before
}

/// A pair of lines with the same indentation (and nothing less indented between them) whose
/// parenthesis depth differs: a deeper second line (`deeper`) means the first left a `(` open, a
/// shallower one means it closed one too many. An unbalanced line shifts the depth of every
/// enclosing form too, so the most indented such pair is the likeliest culprit (the first of
/// those on a tie). Returns 0-based line numbers. Linear in the lines.
fn indentation_suspect(shapes: &[LineShape], deeper: bool) -> Option<(usize, usize)> {
    let next = next_no_deeper(shapes);
    let mut suspect: Option<(usize, (usize, usize))> = None;
    for (first, next) in shapes.iter().zip(next) {
        let Some(next) = next.map(|n| &shapes[n]) else {
            continue;
        };
        let mismatch = if deeper {
            next.depth > first.depth
        } else {
            next.depth < first.depth
        };
        if next.indent == first.indent
            && mismatch
            && suspect.is_none_or(|(indent, _)| first.indent > indent)
        {
            suspect = Some((first.indent, (first.line, next.line)));
        }
    }
    suspect.map(|(_, lines)| lines)
}

/// For each line, the index of the first later line indented no deeper, if any: one pass from
/// the end with a stack of candidates whose indentation never grows towards its top.
fn next_no_deeper(shapes: &[LineShape]) -> Vec<Option<usize>> {
    let mut next = vec![None; shapes.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (i, shape) in shapes.iter().enumerate().rev() {
        while stack
            .last()
            .is_some_and(|&j| shapes[j].indent > shape.indent)
        {
            stack.pop();
        }
        next[i] = stack.last().copied();
        stack.push(i);
    }
    next
}

/// Whether the text after a `(` starts with the keyword `local` (after optional whitespace).
fn opens_local(after: &[u8]) -> bool {
    let start = after
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(after.len());
    let rest = &after[start..];
    rest.starts_with(b"local")
        && !rest
            .get(5)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'!')
}

/// End (exclusive) of the nested block comment opening at `start`, if it is closed.
fn block_comment_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'(', b';') => {
                depth += 1;
                i += 2;
            }
            (b';', b')') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// End (exclusive) of the quoted string opening at `start`, or the end of its line if the
/// closing quote is missing there (WAT strings hold no raw line break).
fn string_end(bytes: &[u8], start: usize) -> Result<usize, usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Ok(i + 1),
            b'\\' if bytes.get(i + 1).is_some_and(|&c| c != b'\n') => i += 2,
            b'\n' => {
                return Err(if i > 0 && bytes[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                });
            }
            _ => i += 1,
        }
    }
    Err(bytes.len())
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;

    fn run(source: &str) -> Vec<Diagnostic> {
        let mut reporter = Reporter::new(source);
        check(source, &mut reporter, &mut Vec::new());
        reporter.finish().into_iter().collect()
    }

    #[test]
    fn balanced_text_with_strings_and_comments_is_clean() {
        let source = "(drop \"(\" ) ;; )\n(; ( (; ) ;) ;)\n(drop \"\"\"\n)\"\"\")";
        assert_eq!(run(source), []);
    }

    #[test]
    fn unclosed_paren_points_at_it_and_guesses_the_line_from_indentation() {
        let source =
            "(loop $l\n  (local.set $a (i32.const 1)\n  (local.set $b (i32.const 2))\n  (br $l))";
        let diagnostics = run(source);
        assert_eq!(diagnostics.len(), 1);
        let d = &diagnostics[0];
        assert_eq!(d.kind, DiagnosticKind::UnclosedParen);
        assert_eq!((d.line, d.column), (1, 1));
        assert_eq!(
            d.hint.as_deref(),
            Some(
                "a `)` is probably missing at the end of line 2: line 3 has the same indentation \
                 but starts one level deeper"
            )
        );
    }

    /// The quadratic search the linear one replaced: for each line, a scan for the next line
    /// indented no deeper.
    fn next_no_deeper_by_scanning(shapes: &[LineShape]) -> Vec<Option<usize>> {
        (0..shapes.len())
            .map(|i| (i + 1..shapes.len()).find(|&j| shapes[j].indent <= shapes[i].indent))
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn the_stack_finds_what_a_scan_finds(
            lines in proptest::collection::vec((0usize..6, 0usize..4), 0..40)
        ) {
            let shapes: Vec<LineShape> = lines
                .iter()
                .enumerate()
                .map(|(line, &(indent, depth))| LineShape { line, indent, depth })
                .collect();
            proptest::prop_assert_eq!(next_no_deeper(&shapes), next_no_deeper_by_scanning(&shapes));
        }
    }

    #[test]
    fn the_innermost_unbalanced_line_is_the_suspect() {
        let source = "(block $done\n  (loop $next\n    (br_if $done (local.get $c))\n    (local.set $a (i32.const 1)\n    (local.set $b (i32.const 2))\n    (br $next)))\n(resv $a)";
        let diagnostics = run(source);
        assert_eq!(diagnostics.len(), 1);
        assert!(
            diagnostics[0]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("end of line 4: line 5")),
            "{:?}",
            diagnostics[0].hint
        );
    }

    #[test]
    fn an_unterminated_string_silences_paren_balance() {
        let diagnostics = run("(local $s str)\n(local.set $s \"hello)\n(resv $s)");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].kind, DiagnosticKind::UnterminatedString);
    }

    #[test]
    fn local_declarations_are_located_outside_strings_and_comments() {
        let source = "(local $a i32) (local.get $a) ( local $b i64) \"(local $c i32)\" ;; (local $d i32)\n(locals)";
        let mut declarations = Vec::new();
        check(source, &mut Reporter::new(source), &mut declarations);
        assert_eq!(declarations, [0, 30]);
    }

    #[test]
    fn stray_close_paren_is_located_exactly() {
        let diagnostics = run("(nop)\n(nop))\n");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].kind, DiagnosticKind::UnexpectedCloseParen);
        assert_eq!((diagnostics[0].line, diagnostics[0].column), (2, 6));
    }

    #[test]
    fn unterminated_string_is_reported_and_scanning_goes_on() {
        let diagnostics = run("(drop \"abc)\n(drop \"ok\")\n(drop \"x\\\"))");
        let kinds: Vec<_> = diagnostics
            .iter()
            .map(|d| (d.kind, d.line, d.column))
            .collect();
        assert_eq!(
            kinds,
            [
                (DiagnosticKind::UnterminatedString, 1, 7),
                (DiagnosticKind::UnterminatedString, 3, 7)
            ]
        );
    }

    #[test]
    fn unterminated_comment_and_raw_string_stop_the_scan() {
        let comment = run("nop\n(; (; ;)\nnop");
        assert_eq!(comment.len(), 1);
        assert_eq!(
            (comment[0].kind, comment[0].line),
            (DiagnosticKind::UnterminatedComment, 2)
        );
        let raw = run("(drop \"\"\"abc\n");
        assert_eq!(raw.len(), 1);
        assert_eq!(
            (raw[0].kind, raw[0].column),
            (DiagnosticKind::UnterminatedRawString, 7)
        );
    }
}
