//! The output: input copied verbatim, replaced or blanked, each run recorded in the source map.

use super::Expander;
use crate::source_map::Origin;
use crate::span::Span;

impl<'s, 'r> Expander<'s, 'r> {
    /// Copies the input up to `to` verbatim.
    pub(super) fn flush(&mut self, to: usize) {
        if to > self.copied_to {
            let start = self.out.len();
            self.out.push_str(&self.text[self.copied_to..to]);
            self.map.push(
                Span::new(start, self.out.len()),
                Span::new(self.copied_to, to),
                Origin::Verbatim,
            );
            self.copied_to = to;
        }
    }

    /// Replaces `span` of the input with generated `text` (plus the line breaks of `span`).
    pub(super) fn replace(&mut self, span: Span, text: &str, origin: Origin) {
        self.flush(span.start);
        let start = self.out.len();
        self.out.push_str(text);
        let replaced = &self.text[span.range()];
        if let Some(last) = replaced.rfind('\n') {
            self.out
                .extend(std::iter::repeat_n('\n', replaced.matches('\n').count()));
            // Keep the indentation of the next line when the replaced text ends with it.
            let tail = &replaced[last + 1..];
            if tail.bytes().all(|b| b == b' ' || b == b'\t') {
                self.out.push_str(tail);
            }
        }
        self.map
            .push(Span::new(start, self.out.len()), span, origin);
        self.copied_to = span.end;
    }

    /// Removes `span` of the input, keeping its bytes' positions: every byte but a line break
    /// becomes a space. The blanked run maps back byte for byte like verbatim text.
    pub(super) fn blank(&mut self, span: Span) {
        self.flush(span.start);
        let start = self.out.len();
        self.out.extend(
            self.text.as_bytes()[span.range()]
                .iter()
                .map(|&b| if b == b'\n' { '\n' } else { ' ' }),
        );
        self.map
            .push(Span::new(start, self.out.len()), span, Origin::Verbatim);
        self.copied_to = span.end;
    }
}
