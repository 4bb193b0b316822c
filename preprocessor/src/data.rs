//! String literals become data segments.
//!
//! Each distinct literal (by its decoded bytes, so `"a"` and `"""a"""` share) gets one segment
//! laid out as a str value: a little-endian `u32` length, then the bytes. Segments start at
//! [`DATA_BASE`] and are [`SEGMENT_ALIGN`]-aligned; the allocator's first free address,
//! `initial_top`, is the end of the last one rounded up to [`TOP_ALIGN`].

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::diagnostic::{DiagnosticKind, Reporter};
use crate::limits::{DATA_BASE, LENGTH_PREFIX, SEGMENT_ALIGN, TOP_ALIGN};
use crate::span::Span;

/// One data segment: the bytes of a string literal behind its length prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataSegment {
    /// Address of the length prefix: the str pointer the literal became.
    pub offset: u32,
    /// The literal's bytes (without the prefix).
    #[serde(serialize_with = "serialize_bytes")]
    pub bytes: Vec<u8>,
    /// Every literal in the input that shares this segment.
    #[serde(skip)]
    pub spans: Vec<Span>,
}

fn serialize_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serializer.serialize_str(text),
        Err(_) => serializer.collect_seq(bytes),
    }
}

impl DataSegment {
    /// The segment as a WAT data field, prefix included:
    /// `(data (i32.const 16) "\05\00\00\00hello")`.
    pub fn to_wat(&self) -> String {
        let len = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        let mut out = format!("(data (i32.const {}) \"", self.offset);
        // The length prefix always as escapes, so it never reads as text.
        for byte in len.to_le_bytes() {
            let _ = write!(out, "\\{byte:02x}");
        }
        for &byte in &self.bytes {
            match byte {
                b'"' | b'\\' => {
                    let _ = write!(out, "\\{:02x}", byte);
                }
                0x20..=0x7e => out.push(char::from(byte)),
                _ => {
                    let _ = write!(out, "\\{:02x}", byte);
                }
            }
        }
        out.push_str("\")");
        out
    }

    /// One past the last byte of the segment.
    pub fn end(&self) -> u32 {
        self.offset + LENGTH_PREFIX + u32::try_from(self.bytes.len()).unwrap_or(u32::MAX)
    }
}

/// Lays out the data segments of one body.
#[derive(Debug)]
pub(crate) struct DataLayout {
    segments: Vec<DataSegment>,
    by_bytes: HashMap<Vec<u8>, usize>,
    next: u32,
}

impl Default for DataLayout {
    fn default() -> Self {
        Self {
            segments: Vec::new(),
            by_bytes: HashMap::new(),
            next: DATA_BASE,
        }
    }
}

impl DataLayout {
    /// The address of a literal with these bytes, adding a segment if it is new.
    pub(crate) fn intern(&mut self, bytes: Vec<u8>, span: Span) -> u32 {
        if let Some(&index) = self.by_bytes.get(&bytes) {
            self.segments[index].spans.push(span);
            return self.segments[index].offset;
        }
        let offset = self.next;
        let segment = DataSegment {
            offset,
            bytes,
            spans: vec![span],
        };
        self.next = align(segment.end(), SEGMENT_ALIGN);
        self.by_bytes
            .insert(segment.bytes.clone(), self.segments.len());
        self.segments.push(segment);
        offset
    }

    /// The segments and `initial_top`.
    pub(crate) fn finish(self) -> (Vec<DataSegment>, u32) {
        (self.segments, align(self.next, TOP_ALIGN))
    }
}

fn align(value: u32, to: u32) -> u32 {
    value.div_ceil(to) * to
}

/// Decodes a quoted literal `"..."` (the text includes its quotes) with WAT's escapes:
/// `\t \n \r \" \' \\ \hh \u{h+}`. Reports each invalid escape; returns `None` if any.
pub(crate) fn decode_quoted(
    text: &str,
    start: usize,
    reporter: &mut Reporter<'_>,
) -> Option<Vec<u8>> {
    let inner = &text[1..text.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut ok = true;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let escape_start = start + 1 + i;
        match decode_escape(&inner[i + 1..]) {
            Ok((decoded, used)) => {
                out.extend_from_slice(&decoded);
                i += 1 + used;
            }
            Err(used) => {
                ok = false;
                let escape_end = escape_start + 1 + used.max(1);
                let shown = text.get(1 + i..1 + i + 1 + used.max(1)).unwrap_or("\\");
                reporter
                    .error(
                        DiagnosticKind::InvalidEscape,
                        Span::new(escape_start, escape_end),
                        format!("invalid escape `{shown}` in string literal"),
                    )
                    .with_hint(
                        "WAT strings know `\\n`, `\\t`, `\\r`, `\\\"`, `\\'`, `\\\\`, two hex digits \
                         `\\hh` and `\\u{hex}`; for text with backslashes use a raw `\"\"\"...\"\"\"` literal",
                    );
                i += 1 + used.max(1);
            }
        }
    }
    ok.then_some(out)
}

/// Decodes the inside of a quoted literal (without its quotes), or `None` at an invalid escape.
pub(crate) fn decode_escapes(inner: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let b = inner.as_bytes()[i];
        if b == b'\\' {
            let (decoded, used) = decode_escape(&inner[i + 1..]).ok()?;
            out.extend_from_slice(&decoded);
            i += 1 + used;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// Decodes one escape after its backslash: the bytes and how many input bytes it used, or the
/// number of bytes of the invalid escape.
fn decode_escape(rest: &str) -> Result<(Vec<u8>, usize), usize> {
    let mut chars = rest.chars();
    let first = chars.next().ok_or(0usize)?;
    let simple = match first {
        'n' => Some(b'\n'),
        't' => Some(b'\t'),
        'r' => Some(b'\r'),
        '"' => Some(b'"'),
        '\'' => Some(b'\''),
        '\\' => Some(b'\\'),
        _ => None,
    };
    if let Some(byte) = simple {
        return Ok((vec![byte], 1));
    }
    if first == 'u' {
        let Some(body) = rest.strip_prefix("u{") else {
            return Err(1);
        };
        let Some(close) = body.find('}') else {
            return Err(1);
        };
        let digits: String = body[..close].chars().filter(|&c| c != '_').collect();
        let c = u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or(close + 3)?;
        let mut buf = [0u8; 4];
        return Ok((c.encode_utf8(&mut buf).as_bytes().to_vec(), close + 3));
    }
    let hex = rest.get(..2).ok_or(first.len_utf8())?;
    match u8::from_str_radix(hex, 16) {
        Ok(byte) if hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok((vec![byte], 2)),
        _ => Err(first.len_utf8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(literal: &str) -> Option<Vec<u8>> {
        let mut reporter = Reporter::new(literal);
        decode_quoted(literal, 0, &mut reporter)
    }

    #[test]
    fn escapes_decode_as_wat_defines_them() {
        assert_eq!(decode(r#""a\tb\n\"\'\\""#), Some(b"a\tb\n\"'\\".to_vec()));
        assert_eq!(decode(r#""\41\ff""#), Some(vec![0x41, 0xff]));
        assert_eq!(
            decode(r#""\u{1F600}\u{e9}""#),
            Some("😀é".as_bytes().to_vec())
        );
        assert_eq!(decode(r#""""#), Some(Vec::new()));
    }

    #[test]
    fn invalid_escapes_are_located() {
        let literal = r#""ok\q and \u{zz}""#;
        let mut reporter = Reporter::new(literal);
        assert_eq!(decode_quoted(literal, 0, &mut reporter), None);
        let diagnostics: Vec<_> = reporter.finish().into_iter().collect();
        assert_eq!(diagnostics.len(), 2);
        assert_eq!(
            (diagnostics[0].column, diagnostics[0].message.as_str()),
            (4, "invalid escape `\\q` in string literal")
        );
        assert_eq!(diagnostics[1].column, 11);
    }

    #[test]
    fn layout_aligns_prefixes_and_shares_identical_literals() {
        let mut layout = DataLayout::default();
        assert_eq!(layout.intern(b"hello".to_vec(), Span::new(0, 7)), 16);
        // 16 + 4 + 5 = 25, aligned to 28.
        assert_eq!(layout.intern(b"hi".to_vec(), Span::new(8, 12)), 28);
        assert_eq!(layout.intern(b"hello".to_vec(), Span::new(13, 20)), 16);
        let (segments, top) = layout.finish();
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].spans.len(), 2);
        // 28 + 4 + 2 = 34 -> 36 (segment alignment) -> 40 (top alignment).
        assert_eq!(top, 40);
        assert_eq!(
            segments[1].to_wat(),
            "(data (i32.const 28) \"\\02\\00\\00\\00hi\")"
        );
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_in_wat() {
        let segment = DataSegment {
            offset: 16,
            bytes: b"a\"\\\n".to_vec(),
            spans: vec![],
        };
        assert_eq!(
            segment.to_wat(),
            "(data (i32.const 16) \"\\04\\00\\00\\00a\\22\\5c\\0a\")"
        );
    }

    #[test]
    fn no_literals_leave_top_at_the_data_base() {
        let (segments, top) = DataLayout::default().finish();
        assert!(segments.is_empty());
        assert_eq!(top, 16);
    }
}
