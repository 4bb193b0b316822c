//! Diagnostics: errors and warnings located in the text the model wrote.
//!
//! Every diagnostic is meant to be read by a language model that must fix its program, so it
//! carries the 1-based line and column, the offending source line, a lowercase message that names
//! the culprit, and a hint when the fix is known. [`Diagnostics::render`] prints them as a code
//! frame in the style of rustc.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_DIAGNOSTICS, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES};
use crate::span::{LineIndex, Position, Span};
use crate::suggestion::{SUGGESTION_WORK, closest_instruction_within, closest_within};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The body was accepted, but not as written (a leniency was applied).
    Warning,
    /// The body cannot be expanded.
    Error,
}

/// What a diagnostic is about: a stable, machine-readable code (`unknown-local`, ...) that
/// evaluation tools can count without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// A `(` that is never closed.
    UnclosedParen,
    /// A `)` that closes nothing.
    UnexpectedCloseParen,
    /// A `"` string without its closing quote on the same line.
    UnterminatedString,
    /// A `"""` raw string without its closing `"""`.
    UnterminatedRawString,
    /// A `(;` block comment without its closing `;)`.
    UnterminatedComment,
    /// A backslash escape that WAT does not define.
    InvalidEscape,
    /// A token the grammar does not expect here.
    UnexpectedToken,
    /// A token the grammar requires but the body lacks.
    MissingToken,
    /// A word that is no WebAssembly instruction.
    UnknownInstruction,
    /// A reference to a local that is never declared.
    UnknownLocal,
    /// A branch to a label that is not in scope.
    UnknownLabel,
    /// A macro called with the wrong number or kinds of arguments.
    MacroUsage,
    /// `check` of a local that is not an `i32` status.
    CheckType,
    /// A local declaration without a name, without a type, or with several types.
    InvalidLocal,
    /// The same local declared twice with different types.
    ConflictingLocal,
    /// The same local declared twice with the same type; the copy is removed.
    DuplicateLocal,
    /// A local declared after its first use; it is hoisted.
    LocalAfterUse,
    /// A name in the `$__` namespace reserved for the expansion.
    ReservedName,
    /// A markdown code fence around the body; it is stripped.
    CodeFence,
    /// A `(func ...)` or `(module ...)` wrapper around the body; it is removed.
    Wrapper,
    /// A wrapper that cannot be removed (parameters, several functions).
    InvalidWrapper,
    /// `argv!`, `resv!` or `check!`: accepted as the macro without `!`.
    BangMacro,
    /// A numeric literal that does not fit where it is used.
    InvalidNumber,
    /// The body exceeds a size or nesting limit.
    Limit,
    /// An error of the assembled module (reported by the engine through the source map).
    Validation,
}

impl DiagnosticKind {
    /// The stable code, e.g. `unknown-local`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnclosedParen => "unclosed-paren",
            Self::UnexpectedCloseParen => "unexpected-close-paren",
            Self::UnterminatedString => "unterminated-string",
            Self::UnterminatedRawString => "unterminated-raw-string",
            Self::UnterminatedComment => "unterminated-comment",
            Self::InvalidEscape => "invalid-escape",
            Self::UnexpectedToken => "unexpected-token",
            Self::MissingToken => "missing-token",
            Self::UnknownInstruction => "unknown-instruction",
            Self::UnknownLocal => "unknown-local",
            Self::UnknownLabel => "unknown-label",
            Self::MacroUsage => "macro-usage",
            Self::CheckType => "check-type",
            Self::InvalidLocal => "invalid-local",
            Self::ConflictingLocal => "conflicting-local",
            Self::DuplicateLocal => "duplicate-local",
            Self::LocalAfterUse => "local-after-use",
            Self::ReservedName => "reserved-name",
            Self::CodeFence => "code-fence",
            Self::Wrapper => "wrapper",
            Self::InvalidWrapper => "invalid-wrapper",
            Self::BangMacro => "bang-macro",
            Self::InvalidNumber => "invalid-number",
            Self::Limit => "limit",
            Self::Validation => "validation",
        }
    }
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A second location that explains a diagnostic (where a `(` was opened, the first declaration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    /// The related span in the input (byte offsets).
    pub span: Span,
    /// 1-based line of the related span.
    pub line: u32,
    /// 1-based column of the related span.
    pub column: u32,
    /// What is there.
    pub message: String,
}

/// One error or warning, located in the body as the model wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What the diagnostic is about.
    pub kind: DiagnosticKind,
    /// 1-based line of the start of `span`.
    pub line: u32,
    /// 1-based column (in characters) of the start of `span`.
    pub column: u32,
    /// The byte range in the input (`start`, `end`: byte offsets).
    pub span: Span,
    /// What is wrong, lowercase, naming the culprit.
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
    /// The input line holding the start of `span`; a line longer than
    /// [`MAX_FRAME_BYTES`](crate::limits::MAX_FRAME_BYTES) is
    /// cut to a window around the span, marked with `…` where it was cut.
    pub source_line: String,
    /// Where the span starts in `source_line`, 1-based in characters, when the line was cut
    /// (otherwise it is `column`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_column: Option<u32>,
    /// A second location that explains this one.
    pub related: Option<Related>,
}

/// The colours of a rendered code frame, as ANSI SGR sequences: [`Palette::PLAIN`] for text
/// without colour (files, pipes, `NO_COLOR`), [`Palette::ANSI`] for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Before `error`.
    pub error: &'static str,
    /// Before `warning`.
    pub warning: &'static str,
    /// Before the gutter, the arrow and `note`.
    pub frame: &'static str,
    /// Before `hint`.
    pub hint: &'static str,
    /// After each coloured run.
    pub reset: &'static str,
}

impl Palette {
    /// No colour: the text [`Diagnostic::render`] gives.
    pub const PLAIN: Self = Self {
        error: "",
        warning: "",
        frame: "",
        hint: "",
        reset: "",
    };
    /// rustc's colours: bold red errors, bold yellow warnings, bold blue frames, bold cyan
    /// hints.
    pub const ANSI: Self = Self {
        error: "\x1b[1;31m",
        warning: "\x1b[1;33m",
        frame: "\x1b[1;34m",
        hint: "\x1b[1;36m",
        reset: "\x1b[0m",
    };
}

impl Diagnostic {
    /// Renders this diagnostic as a code frame.
    pub fn render(&self) -> String {
        self.render_with(Palette::PLAIN)
    }

    /// Renders this diagnostic as a code frame in `palette`'s colours.
    pub fn render_with(&self, palette: Palette) -> String {
        let mut out = String::new();
        self.render_into(&mut out, palette);
        out
    }

    fn render_into(&self, out: &mut String, palette: Palette) {
        let Palette {
            frame,
            hint: hint_colour,
            reset,
            ..
        } = palette;
        let (label, colour) = match self.severity {
            Severity::Error => ("error", palette.error),
            Severity::Warning => ("warning", palette.warning),
        };
        let line_no = self.line.to_string();
        let gutter = " ".repeat(line_no.len());
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{colour}{label}[{}]{reset}: {}",
            self.kind, self.message
        );
        let _ = writeln!(
            out,
            "{gutter}{frame}-->{reset} line {}, column {}",
            self.line, self.column
        );
        let _ = writeln!(out, "{gutter} {frame}|{reset}");
        let _ = writeln!(out, "{frame}{line_no} |{reset} {}", self.source_line);
        let caret_at = usize::try_from(self.frame_column.unwrap_or(self.column))
            .unwrap_or(1)
            .saturating_sub(1);
        let width = self.caret_width();
        let pad: String = self
            .source_line
            .chars()
            .take(caret_at)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = writeln!(
            out,
            "{gutter} {frame}|{reset} {pad}{colour}{}{reset}",
            "^".repeat(width)
        );
        if let Some(related) = &self.related {
            let _ = writeln!(
                out,
                "{gutter} {frame}= note{reset}: {} (line {}, column {})",
                related.message, related.line, related.column
            );
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "{gutter} {hint_colour}= hint{reset}: {hint}");
        }
    }

    /// Width of the caret run: the span's characters on its first line, at least one.
    fn caret_width(&self) -> usize {
        let start = usize::try_from(self.frame_column.unwrap_or(self.column))
            .unwrap_or(1)
            .saturating_sub(1);
        let rest = self.source_line.chars().count().saturating_sub(start);
        let span_chars = self.span.end.saturating_sub(self.span.start);
        span_chars.min(rest).max(1)
    }
}

/// The diagnostics of one body, in source order: the error type of [`crate::preprocess`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// All diagnostics, errors and warnings, in source order.
    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.0
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Renders every diagnostic as a code frame, separated by blank lines.
    pub fn render(&self) -> String {
        self.render_with(Palette::PLAIN)
    }

    /// [`Diagnostics::render`] in `palette`'s colours.
    pub fn render_with(&self, palette: Palette) -> String {
        let mut out = String::new();
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            diagnostic.render_into(&mut out, palette);
        }
        out
    }

    pub(crate) fn from_sorted(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.span.start, d.severity == Severity::Warning));
        Self(diagnostics)
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Self::from_sorted(diagnostics)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

/// Builds diagnostics against one source text, computing positions and code frames.
#[derive(Debug)]
pub struct Reporter<'s> {
    source: &'s str,
    lines: LineIndex,
    diagnostics: Vec<Diagnostic>,
    /// Diagnostics found past [`MAX_DIAGNOSTICS`]: counted, never built (a body of thousands of
    /// errors on one long line must not cost memory per error).
    dropped: usize,
    /// Whether one of those was an error.
    dropped_errors: bool,
    /// What a diagnostic past the cap is built into, to be thrown away.
    overflow: Diagnostic,
    /// What is left of [`SUGGESTION_WORK`] for this body's "did you mean" searches.
    suggestion_work: usize,
}

impl<'s> Reporter<'s> {
    /// A reporter for diagnostics in `source`.
    pub fn new(source: &'s str) -> Self {
        Self {
            source,
            lines: LineIndex::new(source),
            diagnostics: Vec::new(),
            dropped: 0,
            dropped_errors: false,
            suggestion_work: SUGGESTION_WORK,
            overflow: Diagnostic {
                severity: Severity::Error,
                kind: DiagnosticKind::Limit,
                line: 0,
                column: 0,
                span: Span::new(0, 0),
                message: String::new(),
                hint: None,
                source_line: String::new(),
                frame_column: None,
                related: None,
            },
        }
    }

    /// The line of `span`'s start, cut to a window around it if it is long, and where the span
    /// starts in what is quoted (if it was cut).
    fn frame(&self, span: Span) -> (String, Option<u32>) {
        let line = self
            .lines
            .line_range(self.source, self.lines.line_of(span.start));
        if line.len() <= MAX_FRAME_BYTES {
            return (self.source[line].to_owned(), None);
        }
        let floor = |mut at: usize| {
            while !self.source.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let at = span.start.clamp(line.start, line.end);
        let start = floor(at.saturating_sub(MAX_FRAME_BYTES / 3).max(line.start));
        let end = floor((start + MAX_FRAME_BYTES).min(line.end));
        let mut quoted = String::with_capacity(end - start + 8);
        if start > line.start {
            quoted.push('…');
        }
        let column = quoted.chars().count() + self.source[start..at].chars().count() + 1;
        quoted.push_str(&self.source[start..end]);
        if end < line.end {
            quoted.push('…');
        }
        (quoted, Some(u32::try_from(column).unwrap_or(u32::MAX)))
    }

    /// The position of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        self.lines.position(self.source, offset)
    }

    /// A diagnostic at `span` (not yet recorded).
    pub fn diagnostic(
        &self,
        severity: Severity,
        kind: DiagnosticKind,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        let at = self.position(span.start);
        let (source_line, frame_column) = self.frame(span);
        Diagnostic {
            severity,
            kind,
            line: at.line,
            column: at.column,
            span,
            message: message.into(),
            hint: None,
            source_line,
            frame_column,
            related: None,
        }
    }

    /// A [`Related`] note at `span`.
    pub fn related(&self, span: Span, message: impl Into<String>) -> Related {
        let at = self.position(span.start);
        Related {
            span,
            line: at.line,
            column: at.column,
            message: message.into(),
        }
    }

    /// Records an error and returns it for adding a hint or note.
    pub fn error(
        &mut self,
        kind: DiagnosticKind,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.record(Severity::Error, kind, span, message)
    }

    /// Records a warning and returns it for adding a hint or note.
    pub fn warning(
        &mut self,
        kind: DiagnosticKind,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.record(Severity::Warning, kind, span, message)
    }

    /// Records a diagnostic, or past [`MAX_DIAGNOSTICS`] only counts it (what is returned is
    /// then thrown away).
    fn record(
        &mut self,
        severity: Severity,
        kind: DiagnosticKind,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        if self.is_full() {
            self.dropped += 1;
            self.dropped_errors |= severity == Severity::Error;
            self.overflow.severity = severity;
            return &mut self.overflow;
        }
        let diagnostic = self.diagnostic(severity, kind, span, message);
        self.diagnostics.push(diagnostic);
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    /// Whether the next diagnostic would only be counted ([`MAX_DIAGNOSTICS`] are recorded):
    /// then nothing should be spent on its message or hint.
    pub fn is_full(&self) -> bool {
        self.diagnostics.len() >= MAX_DIAGNOSTICS
    }

    /// The candidate closest to `word` ([`crate::closest`]), for the hint of a diagnostic about
    /// to be recorded: `None`, at no cost, when it would only be counted, and once the body's
    /// budget for such searches is spent.
    pub(crate) fn suggest<'a>(
        &mut self,
        word: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Option<&'a str> {
        if self.is_full() {
            return None;
        }
        closest_within(word, candidates, &mut self.suggestion_work)
    }

    /// The instruction closest to an unknown word, as [`Reporter::suggest`].
    pub(crate) fn suggest_instruction(&mut self, word: &str) -> Option<&'static str> {
        if self.is_full() {
            return None;
        }
        closest_instruction_within(word, &mut self.suggestion_work)
    }

    /// The most recently recorded diagnostic.
    pub fn last_mut(&mut self) -> Option<&mut Diagnostic> {
        self.diagnostics.last_mut()
    }

    /// Whether an error was recorded (or counted past the cap).
    pub fn has_errors(&self) -> bool {
        self.dropped_errors
            || self
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error)
    }

    /// Number of recorded diagnostics.
    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The recorded diagnostics, sorted by position, and, if more were found than
    /// [`MAX_DIAGNOSTICS`], one more saying how many are not shown (an error if any was).
    pub fn finish(mut self) -> Diagnostics {
        if self.dropped > 0 {
            let span = self
                .diagnostics
                .iter()
                .map(|d| d.span)
                .max_by_key(|span| span.start)
                .unwrap_or(Span::new(0, 0));
            let severity = if self.has_errors() {
                Severity::Error
            } else {
                Severity::Warning
            };
            let mut more = self.diagnostic(
                severity,
                DiagnosticKind::Limit,
                span,
                format!("{} more diagnostics not shown", self.dropped),
            );
            more.hint = Some("fix the errors above first".to_owned());
            self.diagnostics.push(more);
        }
        for diagnostic in &mut self.diagnostics {
            shorten(&mut diagnostic.message);
            if let Some(hint) = &mut diagnostic.hint {
                shorten(hint);
            }
            if let Some(related) = &mut diagnostic.related {
                shorten(&mut related.message);
            }
        }
        Diagnostics::from_sorted(self.diagnostics)
    }
}

/// `text` cut in its middle to about [`MAX_MESSAGE_BYTES`], marked with `…`, if it is longer:
/// its start says what is wrong, its end often names the fix.
fn shorten(text: &mut String) {
    if text.len() <= MAX_MESSAGE_BYTES {
        return;
    }
    let floor = |mut at: usize| {
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let head = floor(MAX_MESSAGE_BYTES * 3 / 4);
    let tail = floor(text.len() - MAX_MESSAGE_BYTES / 4);
    *text = format!("{}…{}", &text[..head], &text[tail..]);
}

impl Diagnostic {
    /// Adds a hint.
    pub fn with_hint(&mut self, hint: impl Into<String>) -> &mut Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a related location.
    pub fn with_related(&mut self, related: Related) -> &mut Self {
        self.related = Some(related);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_code_frame_with_hint_and_note() {
        let source = "(local $count i32)\n  (local.get $cnt)\n";
        let mut reporter = Reporter::new(source);
        let at = source.find("$cnt").expect("present");
        let related = reporter.related(Span::new(7, 13), "`$count` is declared here");
        reporter
            .error(
                DiagnosticKind::UnknownLocal,
                Span::new(at, at + 4),
                "unknown local `$cnt`",
            )
            .with_hint("did you mean `$count`?")
            .with_related(related);
        let rendered = reporter.finish().render();
        assert_eq!(
            rendered,
            "error[unknown-local]: unknown local `$cnt`\n \
             --> line 2, column 14\n  \
             |\n\
             2 |   (local.get $cnt)\n  \
             |              ^^^^\n  \
             = note: `$count` is declared here (line 1, column 8)\n  \
             = hint: did you mean `$count`?\n"
        );
        // In colour, the same text with each part's colour around it.
        let diagnostics = reporter_with_one_error();
        let coloured = diagnostics.render_with(Palette::ANSI);
        assert!(
            coloured.starts_with("\x1b[1;31merror[unknown-local]\x1b[0m: "),
            "{coloured:?}"
        );
        assert!(coloured.contains("\x1b[1;31m^^^^\x1b[0m"), "{coloured:?}");
        assert!(
            coloured.contains("\x1b[1;36m= hint\x1b[0m: "),
            "{coloured:?}"
        );
        let mut stripped = coloured;
        for code in [
            "\x1b[1;31m",
            "\x1b[1;33m",
            "\x1b[1;34m",
            "\x1b[1;36m",
            "\x1b[0m",
        ] {
            stripped = stripped.replace(code, "");
        }
        assert_eq!(stripped, diagnostics.render());
    }

    fn reporter_with_one_error() -> Diagnostics {
        let source = "(local $count i32)\n  (local.get $cnt)\n";
        let mut reporter = Reporter::new(source);
        let at = source.find("$cnt").expect("present");
        reporter
            .error(
                DiagnosticKind::UnknownLocal,
                Span::new(at, at + 4),
                "unknown local `$cnt`",
            )
            .with_hint("did you mean `$count`?");
        reporter.finish()
    }

    #[test]
    fn diagnostics_sort_by_position_errors_first() {
        let source = "abc def";
        let mut reporter = Reporter::new(source);
        reporter.warning(DiagnosticKind::BangMacro, Span::new(4, 7), "second");
        reporter.error(DiagnosticKind::UnexpectedToken, Span::new(0, 3), "first");
        reporter.error(
            DiagnosticKind::UnexpectedToken,
            Span::new(4, 7),
            "also second",
        );
        let messages: Vec<_> = reporter.finish().into_iter().map(|d| d.message).collect();
        assert_eq!(messages, ["first", "also second", "second"]);
    }
}
