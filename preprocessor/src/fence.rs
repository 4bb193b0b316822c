//! Leniency for markdown: a body sent inside a ```` ```wat ```` fence, perhaps with a sentence
//! of prose around it.
//!
//! Removed text is blanked (replaced by spaces) rather than cut, so that every byte offset, line
//! and column of the remaining text is the one the model wrote. A line inside a raw `"""`
//! literal is never taken for a fence: it is part of the string.

use std::borrow::Cow;

use crate::span::Span;

/// What [`strip`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Stripped {
    /// The fence lines.
    pub(crate) fences: Vec<Span>,
    /// Text outside the first fenced block (prose, further blocks), if it was not blank.
    pub(crate) outside: Vec<Span>,
}

/// The text with fence lines, and anything outside the first fenced block, blanked.
pub(crate) fn strip(source: &str) -> (Cow<'_, str>, Stripped) {
    let mut fences = Vec::new();
    let mut offset = 0;
    let mut in_raw_string = false;
    for line in source.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if !in_raw_string && is_fence(content) {
            fences.push(Span::new(offset, offset + content.len()));
        }
        if content.contains('"') && content.matches("\"\"\"").count() % 2 == 1 {
            in_raw_string = !in_raw_string;
        }
        offset += line.len();
    }
    if fences.is_empty() {
        return (Cow::Borrowed(source), Stripped::default());
    }

    let mut blank = fences.clone();
    let mut outside = Vec::new();
    if let [open, close, ..] = fences[..] {
        // Keep the first fenced block; everything before and after it goes.
        for span in [Span::new(0, open.start), Span::new(close.end, source.len())] {
            if !is_code_or_blank(&source[span.range()]) {
                outside.push(span);
                blank.push(span);
            }
        }
    }
    let mut bytes = source.as_bytes().to_vec();
    for span in &blank {
        // Every byte but a line break becomes a space, so whole characters go and the text stays
        // UTF-8 with its line structure.
        for byte in &mut bytes[span.range()] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    let text = String::from_utf8(bytes).expect("blanking whole characters keeps UTF-8 valid");
    (Cow::Owned(text), Stripped { fences, outside })
}

/// Whether text holds only blank lines and `;;` comments (which belong to the body).
fn is_code_or_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with(";;"))
}

/// A markdown fence line: three or more backticks or tildes, then an optional info string.
fn is_fence(line: &str) -> bool {
    let trimmed = line.trim();
    let marker = if trimmed.starts_with("```") {
        '`'
    } else if trimmed.starts_with("~~~") {
        '~'
    } else {
        return false;
    };
    let info = trimmed.trim_start_matches(marker);
    !info.contains(marker)
        && info
            .chars()
            .all(|c| c.is_alphanumeric() || "-_+ ".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_are_blanked_in_place() {
        let source = "```wat\n(resv $x)\n```\n";
        let (text, stripped) = strip(source);
        assert_eq!(text, "      \n(resv $x)\n   \n");
        assert_eq!(stripped.fences, [Span::new(0, 6), Span::new(17, 20)]);
        assert!(stripped.outside.is_empty());
    }

    #[test]
    fn prose_around_the_block_is_blanked_too() {
        let source = "Here it is:\n```wat\nnop\n```\nHope this helps!";
        let (text, stripped) = strip(source);
        assert_eq!(text, "           \n      \nnop\n   \n                ");
        assert_eq!(stripped.outside.len(), 2);
        assert_eq!(&source[stripped.outside[0].range()], "Here it is:\n");
    }

    #[test]
    fn comments_before_the_fence_are_kept() {
        let source = ";; sums\n```wat\nnop\n```\n";
        let (text, stripped) = strip(source);
        assert_eq!(text, ";; sums\n      \nnop\n   \n");
        assert!(stripped.outside.is_empty());
    }

    #[test]
    fn a_fence_inside_a_raw_string_is_text() {
        let source = "(local.set $help \"\"\"usage:\n```\nrun it\n```\n\"\"\")";
        let (text, stripped) = strip(source);
        assert!(matches!(text, Cow::Borrowed(_)));
        assert!(stripped.fences.is_empty());
    }

    #[test]
    fn text_without_fences_is_borrowed() {
        let (text, stripped) = strip("(resv $x)");
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(stripped, Stripped::default());
    }

    #[test]
    fn backticks_inside_code_are_not_fences() {
        assert!(!is_fence("(drop \"```\")"));
        assert!(!is_fence("``` a ``` b"));
        assert!(is_fence("  ~~~ wasm"));
        assert!(is_fence("```"));
    }
}
