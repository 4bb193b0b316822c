//! Leniency for markdown: a body sent inside a ```` ```wat ```` fence.
//!
//! Fence lines are blanked (replaced by spaces) rather than cut, so that every byte offset, line
//! and column of the remaining text is the one the model wrote.

use std::borrow::Cow;

use crate::span::Span;

/// The text with fence lines blanked, and the span of every blanked fence line.
pub(crate) fn blank_fences(source: &str) -> (Cow<'_, str>, Vec<Span>) {
    let mut fences = Vec::new();
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if is_fence(content) {
            fences.push(Span::new(offset, offset + content.len()));
        }
        offset += line.len();
    }
    if fences.is_empty() {
        return (Cow::Borrowed(source), fences);
    }
    let mut bytes = source.as_bytes().to_vec();
    for fence in &fences {
        // A fence line is ASCII except its info string; blank whole characters so the text
        // stays UTF-8: every byte of the line becomes a space.
        bytes[fence.range()].fill(b' ');
    }
    let text = String::from_utf8(bytes).expect("blanking whole lines keeps UTF-8 valid");
    (Cow::Owned(text), fences)
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
    !info.contains(marker) && info.chars().all(|c| c.is_alphanumeric() || "-_+ ".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_are_blanked_in_place() {
        let source = "```wat\n(resv $x)\n```\n";
        let (text, fences) = blank_fences(source);
        assert_eq!(text, "      \n(resv $x)\n   \n");
        assert_eq!(fences, [Span::new(0, 6), Span::new(17, 20)]);
    }

    #[test]
    fn text_without_fences_is_borrowed() {
        let (text, fences) = blank_fences("(resv $x)");
        assert!(matches!(text, Cow::Borrowed(_)));
        assert!(fences.is_empty());
    }

    #[test]
    fn backticks_inside_code_are_not_fences() {
        assert!(!is_fence("(drop \"```\")"));
        assert!(!is_fence("``` a ``` b"));
        assert!(is_fence("  ~~~ wasm"));
        assert!(is_fence("```"));
    }
}
