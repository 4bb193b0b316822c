//! Text a program or a model wrote, made safe to print on a terminal.
//!
//! A str result, a log line or a streamed answer may hold escape sequences that clear the
//! screen, retitle the window or move the cursor over earlier lines. Plain output writes every
//! control character but newline and tab as an escape (`\x1b`, `\r`, `\u{9b}`), so that what is
//! printed is exactly what is shown; `--json` gives the text exactly.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with its control characters (C0 but `\n` and `\t`, DEL, C1) written as escapes.
pub(crate) fn controls(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.contains(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if unsafe_char(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(controls("plain\ttext\nlines"), "plain\ttext\nlines");
        assert!(matches!(controls("plain"), Cow::Borrowed(_)));
        assert_eq!(
            controls("\x1b[2J\x1b]0;owned\x07"),
            "\\x1b[2J\\x1b]0;owned\\x07"
        );
        assert_eq!(controls("over\rwrite\x7f"), "over\\rwrite\\x7f");
        assert_eq!(controls("c1 \u{9b}31m é"), "c1 \\u{9b}31m é");
    }
}
