//! The WAT-plus preprocessor: turns the function body a model wrote into plain WAT.
//!
//! ```
//! let expanded = watsmith_preprocessor::preprocess(
//!     r#"(local $n i64) (local $s str)
//!        (argv 0 $n)
//!        (local.set $s "done")
//!        (resv $n) (resv $s)"#,
//! )
//! .expect("a valid body");
//! assert_eq!(expanded.locals[0].to_wat(), "(local $n i64)");
//! assert_eq!(expanded.data[0].bytes, b"done");
//! assert!(expanded.body.contains("(call $core.arg_i64 (i32.const 0))"));
//! assert!(expanded.body.contains("(local.set $s (i32.const 16))"));
//!
//! let errors = watsmith_preprocessor::preprocess("(local $count i32)\n(resv $cnt)").unwrap_err();
//! assert_eq!(errors.as_slice()[0].line, 2);
//! assert_eq!(errors.as_slice()[0].hint.as_deref(), Some("did you mean `$count`?"));
//! ```
//!
//! The passes, in order:
//!
//! 0. **Leniency and delimiters** ([`fence`], [`delimiters`]): markdown fences are blanked (with a
//!    warning), then strings, comments and parentheses are checked on the raw text, so an unclosed
//!    `(` is reported where it was opened rather than as a cascade of parse errors.
//! 1. **Parse** with the WAT-plus tree-sitter grammar ([`watsmith_grammar`]).
//! 2. **Expand** ([`expand`]): collect and check local declarations (hoisting, duplicates,
//!    conflicts), then walk the tree once more to expand the macros `argv`, `resv` and `check`
//!    ([`macros`]), turn string literals into data segments ([`data`]), check locals and labels,
//!    and record the [`SourceMap`]. A `(func ...)`/`(module ...)` wrapper is removed with a warning.
//!
//! Errors come back together, in source order, as [`Diagnostics`]; warnings of an accepted body
//! are in [`Expanded::warnings`].

#![deny(missing_docs)]

pub mod abi;
mod data;
mod delimiters;
mod diagnostic;
mod expand;
mod fence;
mod hoist;
mod identifier;
pub mod limits;
mod macros;
mod number;
mod source_map;
mod span;
mod suggestion;

use std::cell::RefCell;
use std::fmt::Write as _;

use serde::Serialize;

pub use crate::data::DataSegment;
pub use crate::diagnostic::{
    Diagnostic, DiagnosticKind, Diagnostics, Palette, Related, Reporter, Severity,
};
pub use crate::hoist::{Local, LocalOrigin, LocalType};
pub use crate::source_map::{Location, MacroKind, Mapping, Origin, SourceMap};
pub use crate::span::{LineIndex, Position, Span};
pub use crate::suggestion::closest;

/// A host function the body calls, with where it is first called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// The name as called, e.g. `$str.len` or `$core.arg_i64`.
    pub name: String,
    /// The first call in the input (for a macro's call, the macro).
    #[serde(skip)]
    pub span: Span,
    /// Whether a macro expansion makes the call.
    pub from_macro: bool,
}

impl Call {
    /// The capability (import module) and function of a `$cap.fn` name, if it has that form.
    pub fn capability_and_function(&self) -> Option<(&str, &str)> {
        self.name.strip_prefix('$')?.split_once('.')
    }
}

/// A preprocessed body: everything the template assembler needs to build the module.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expanded {
    /// The plain-WAT statements of the entry function, without local declarations. Line N of
    /// the body is line N of the input.
    pub body: String,
    /// The hoisted locals, in order of first declaration; expansion locals (`$__err`) last.
    pub locals: Vec<Local>,
    /// The data segments of the string literals.
    pub data: Vec<DataSegment>,
    /// The allocator's first free address: past the last data segment, 8-aligned.
    pub initial_top: u32,
    /// The functions the body calls, in order of first call: the imports it needs.
    pub calls: Vec<Call>,
    /// The arguments the body reads with `argv`, as `(index, type)`: the type of the local the
    /// first `argv` of each index reads it into, in order of first use. What a front end types
    /// arguments by when its caller wrote them as words.
    pub arguments: Vec<(u32, LocalType)>,
    /// From every byte of `body` back to the input.
    #[serde(skip)]
    pub source_map: SourceMap,
    /// What was accepted but not as written (fences, wrappers, `argv!`, late declarations).
    pub warnings: Vec<Diagnostic>,
}

impl Expanded {
    /// The hoisted declarations as WAT, one per line.
    pub fn locals_wat(&self) -> String {
        self.locals
            .iter()
            .map(Local::to_wat)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The data segments as WAT fields, one per line.
    pub fn data_wat(&self) -> String {
        self.data
            .iter()
            .map(DataSegment::to_wat)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Where byte `offset` of [`Expanded::body`] came from in the input.
    pub fn locate(&self, offset: usize) -> Option<Location> {
        self.source_map.lookup(offset)
    }

    /// The human-readable form printed by `watsmith expand`: locals, data, calls and body, each
    /// under a `;;` heading, then the rendered warnings. Trailing spaces (left where declarations
    /// were removed) are trimmed and leading blank lines dropped; [`Expanded::body`] keeps them.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, ";; locals");
        for local in &self.locals {
            let _ = writeln!(out, "{}", local.to_wat());
        }
        let _ = writeln!(out, ";; data (initial_top = {})", self.initial_top);
        for segment in &self.data {
            let _ = writeln!(out, "{}", segment.to_wat());
        }
        let _ = writeln!(out, ";; calls");
        for call in &self.calls {
            let _ = writeln!(out, "{}", call.name);
        }
        let _ = writeln!(out, ";; body");
        let body: Vec<&str> = self.body.lines().map(str::trim_end).collect();
        let first = body
            .iter()
            .position(|l| !l.is_empty())
            .unwrap_or(body.len());
        let last = body
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(first, |i| i + 1);
        for line in &body[first..last] {
            let _ = writeln!(out, "{line}");
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, ";; warnings");
            out.push_str(&Diagnostics::from(self.warnings.clone()).render());
        }
        out
    }
}

/// A reusable preprocessor; keeps its tree-sitter parser between bodies.
pub struct Preprocessor {
    parser: tree_sitter::Parser,
}

impl std::fmt::Debug for Preprocessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preprocessor").finish_non_exhaustive()
    }
}

impl Default for Preprocessor {
    fn default() -> Self {
        Self::new()
    }
}

impl Preprocessor {
    /// A preprocessor with its own parser.
    pub fn new() -> Self {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&watsmith_grammar::LANGUAGE.into())
            .expect("the grammar is generated for this tree-sitter ABI (checked by the grammar's tests)");
        Self { parser }
    }

    /// Preprocesses one body: the expansion and its warnings, or every error (and warning) found.
    pub fn preprocess(&mut self, source: &str) -> Result<Expanded, Diagnostics> {
        let mut reporter = Reporter::new(source);
        if source.len() > limits::MAX_BODY_BYTES {
            reporter
                .error(
                    DiagnosticKind::Limit,
                    Span::new(0, 0),
                    format!(
                        "the body is {} bytes; the limit is {} bytes",
                        source.len(),
                        limits::MAX_BODY_BYTES
                    ),
                )
                .with_hint("write a shorter program: move data into arguments or files");
            return Err(reporter.finish());
        }

        let plain = plain_text(source);
        let (text, stripped) = fence::strip(&plain);
        if let Some(&first) = stripped.fences.first() {
            let count = stripped.fences.len();
            let message = if count == 1 {
                "removed a markdown code fence".to_owned()
            } else {
                format!("removed {count} markdown code fence lines")
            };
            reporter
                .warning(DiagnosticKind::CodeFence, first, message)
                .with_hint("send the body without code fences");
        }
        for outside in stripped.outside {
            let first_line = source[outside.range()]
                .trim()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            let at = outside.start
                + source[outside.range()]
                    .find(first_line.as_str())
                    .unwrap_or(0);
            reporter
                .warning(
                    DiagnosticKind::CodeFence,
                    Span::new(at, at + first_line.len()),
                    format!(
                        "ignored text outside the code fence: `{}`",
                        first_line.chars().take(60).collect::<String>()
                    ),
                )
                .with_hint("send only the body, without explanations around it");
        }
        let mut declarations = Vec::new();
        if delimiters::check(&text, &mut reporter, &mut declarations) {
            return Err(reporter.finish());
        }

        let tree = self
            .parser
            .parse(text.as_bytes(), None)
            .expect("parsing without a timeout or cancellation flag always yields a tree");
        let mut expanded =
            expand::Expander::new(&text, &mut reporter).run(tree.root_node(), &declarations);
        let diagnostics = reporter.finish();
        if diagnostics.has_errors() {
            return Err(diagnostics);
        }
        expanded.warnings = diagnostics.into_iter().collect();
        Ok(expanded)
    }
}

/// The text the parser reads: a UTF-8 byte-order mark first (what some editors write) blanked,
/// three spaces for its three bytes, and every `\r` that ends a line alone (old Mac line ends)
/// made a `\n`, one byte for one, so that comments end there. Offsets are the model's, and
/// positions agree: [`LineIndex`] ends lines at a lone `\r` too.
fn plain_text(source: &str) -> std::borrow::Cow<'_, str> {
    let bytes = source.as_bytes();
    let lone_return = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    let marked = source.starts_with('\u{feff}');
    if !marked && !(0..bytes.len()).any(lone_return) {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    for (i, c) in source.char_indices() {
        match c {
            '\u{feff}' if i == 0 => out.push_str("   "),
            '\r' if lone_return(i) => out.push('\n'),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

thread_local! {
    static PREPROCESSOR: RefCell<Preprocessor> = RefCell::new(Preprocessor::new());
}

/// Preprocesses one body with this thread's [`Preprocessor`].
pub fn preprocess(source: &str) -> Result<Expanded, Diagnostics> {
    PREPROCESSOR.with(|p| p.borrow_mut().preprocess(source))
}
