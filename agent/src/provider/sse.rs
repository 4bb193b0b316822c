//! Server-sent events, framed as the WHATWG HTML standard's event stream interpretation says
//! (§9.2.6): lines end in LF, CR or CRLF; `data:` lines join with LF; a blank line dispatches the
//! event; `:` starts a comment; a leading byte-order mark is dropped. Two departures, both for
//! answers that are complete but framed carelessly: an event still pending when the stream ends
//! is dispatched (the standard drops it, which would lose the last event of a server that closes
//! without a blank line), and each line and each event is bounded, so that a server cannot make
//! the client buffer without end.
//!
//! Decoding is linear: each byte is looked at once however the chunks split the lines.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;

/// Why an event stream cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SseError {
    /// A line passed the bound before its end arrived.
    #[error("a line of the event stream is longer than {0} bytes")]
    LineTooLong(usize),
    /// An event's data passed the bound.
    #[error("an event of the stream is larger than {0} bytes")]
    EventTooLarge(usize),
    /// The bytes stopped arriving.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Decodes the `data` of each event of a stream (the event's name, `id` and `retry` are not
/// needed by the clients).
#[derive(Debug)]
pub(crate) struct SseDecoder {
    max_line: usize,
    max_event: usize,
    /// How far the buffer has been searched for a line ending.
    scanned: usize,
    /// The last line ended in CR: an LF that follows belongs to it.
    after_cr: bool,
    /// No line has been read yet (a byte-order mark may come first).
    at_start: bool,
    /// The data of the pending event, each line followed by LF.
    data: String,
}

impl SseDecoder {
    /// A decoder at the start of a stream, refusing lines longer than `max_line` bytes and events
    /// whose data is larger than `max_event`.
    pub(crate) fn new(max_line: usize, max_event: usize) -> Self {
        Self {
            max_line,
            max_event,
            scanned: 0,
            after_cr: false,
            at_start: true,
            data: String::new(),
        }
    }

    /// The pending event, if it has data, and a fresh one begun.
    fn dispatch(&mut self) -> Option<String> {
        let mut data = std::mem::take(&mut self.data);
        if data.is_empty() {
            return None;
        }
        data.pop();
        Some(data)
    }

    /// Takes in one line, its ending removed; the event it dispatches, if it is blank.
    fn line(&mut self, line: &[u8]) -> Result<Option<String>, SseError> {
        let mut line = line;
        if std::mem::take(&mut self.at_start) {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if field == b"data" {
            if self.data.len() + value.len() + 1 > self.max_event {
                return Err(SseError::EventTooLarge(self.max_event));
            }
            self.data.push_str(&String::from_utf8_lossy(value));
            self.data.push('\n');
        }
        Ok(None)
    }
}

impl Decoder for SseDecoder {
    type Item = String;
    type Error = SseError;

    fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<String>, SseError> {
        loop {
            if self.after_cr && !buffer.is_empty() {
                self.after_cr = false;
                if buffer[0] == b'\n' {
                    buffer.advance(1);
                }
            }
            let Some(end) = buffer[self.scanned..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .map(|at| self.scanned + at)
            else {
                if buffer.len() > self.max_line {
                    return Err(SseError::LineTooLong(self.max_line));
                }
                self.scanned = buffer.len();
                return Ok(None);
            };
            if end > self.max_line {
                return Err(SseError::LineTooLong(self.max_line));
            }
            let line = buffer.split_to(end);
            self.after_cr = buffer[0] == b'\r';
            buffer.advance(1);
            self.scanned = 0;
            if let Some(event) = self.line(&line)? {
                return Ok(Some(event));
            }
        }
    }

    fn decode_eof(&mut self, buffer: &mut BytesMut) -> Result<Option<String>, SseError> {
        if let Some(event) = self.decode(buffer)? {
            return Ok(Some(event));
        }
        if !buffer.is_empty() {
            let line = buffer.split();
            self.scanned = 0;
            if let Some(event) = self.line(&line)? {
                return Ok(Some(event));
            }
        }
        Ok(self.dispatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of `input` fed in pieces of `size` bytes.
    fn events(input: &[u8], size: usize) -> Result<Vec<String>, String> {
        let mut decoder = SseDecoder::new(64, 128);
        let mut buffer = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(size.max(1)) {
            buffer.extend_from_slice(piece);
            while let Some(event) = decoder.decode(&mut buffer).map_err(|e| e.to_string())? {
                out.push(event);
            }
        }
        while let Some(event) = decoder.decode_eof(&mut buffer).map_err(|e| e.to_string())? {
            out.push(event);
        }
        Ok(out)
    }

    #[test]
    fn every_line_ending_and_every_split_read_the_same() {
        let input =
            b"\xEF\xBB\xBFdata: a\r\n: comment\rdata:b\n\nevent: x\ndata\r\rid: 7\ndata: c\n\n";
        for size in 1..input.len() {
            assert_eq!(
                events(input, size),
                Ok(vec!["a\nb".to_owned(), String::new(), "c".to_owned()]),
                "pieces of {size}"
            );
        }
        assert_eq!(
            events(b"data: x\n\ndata: c\n\n", 3),
            Ok(vec!["x".into(), "c".into()])
        );
    }

    #[test]
    fn an_event_pending_at_the_end_is_dispatched() {
        assert_eq!(events(b"data: last", 4), Ok(vec!["last".into()]));
        assert_eq!(events(b"data: last\n", 4), Ok(vec!["last".into()]));
        assert_eq!(events(b"event: only a name\n", 4), Ok(vec![]));
    }

    #[test]
    fn lines_and_events_are_bounded() {
        let long = format!("data: {}\n\n", "x".repeat(100));
        assert_eq!(
            events(long.as_bytes(), 7),
            Err("a line of the event stream is longer than 64 bytes".into())
        );
        let unended = "x".repeat(65);
        assert!(events(unended.as_bytes(), 65).is_err());
        let many = "data: 0123456789012345678901234567890123456789\n".repeat(4);
        assert_eq!(
            events(many.as_bytes(), 16),
            Err("an event of the stream is larger than 128 bytes".into())
        );
    }
}
