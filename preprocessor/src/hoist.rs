//! Typed locals: declarations anywhere in the body are collected, checked and hoisted to the
//! top of the entry function.
//!
//! Exact duplicates (same name, same type) are removed with a warning; a redeclaration with
//! another type is an error that names both lines. The hoisted order is the order of first
//! declaration, so a numeric `local.get 0` means the first declared local; locals introduced
//! by the expansion come last.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::diagnostic::{DiagnosticKind, Reporter};
use crate::identifier::canonical;
use crate::limits::RESERVED_PREFIX;
use crate::span::Span;

/// The declared type of a local: a WebAssembly type, or a pointer pseudo-type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// Pointer (`i32`) to length-prefixed UTF-8 text.
    Str,
    /// Pointer (`i32`) to length-prefixed bytes.
    Bytes,
}

impl LocalType {
    /// Every type, in the order the docs list them.
    pub const ALL: [LocalType; 6] = [
        Self::I32,
        Self::I64,
        Self::F32,
        Self::F64,
        Self::Str,
        Self::Bytes,
    ];

    /// The type as written in a declaration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
            Self::Str => "str",
            Self::Bytes => "bytes",
        }
    }

    /// The WebAssembly type that holds it at run time.
    pub fn wasm(self) -> &'static str {
        match self {
            Self::I32 | Self::Str | Self::Bytes => "i32",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    /// Parses a declaration's type keyword.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl fmt::Display for LocalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a hoisted local comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalOrigin {
    /// Declared by the model.
    Declared,
    /// Introduced by a macro expansion (e.g. `$__err`).
    Expansion,
}

/// One hoisted local.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Local {
    /// The name with its `$`, e.g. `$count`.
    pub name: String,
    /// The declared type.
    #[serde(rename = "type")]
    pub ty: LocalType,
    /// The first declaration in the input (empty for expansion locals).
    #[serde(skip)]
    pub span: Span,
    /// Declared by the model or introduced by the expansion.
    pub origin: LocalOrigin,
}

impl Local {
    /// The hoisted declaration, e.g. `(local $count i32)` (str/bytes become `i32`).
    pub fn to_wat(&self) -> String {
        format!("(local {} {})", self.name, self.ty.wasm())
    }
}

/// The locals of one body, by name.
#[derive(Debug, Default)]
pub(crate) struct LocalTable {
    locals: Vec<Local>,
    by_name: HashMap<String, usize>,
}

impl LocalTable {
    /// Records a declaration; reports duplicates and conflicts. `name_span` locates the name.
    pub(crate) fn declare(
        &mut self,
        name: &str,
        ty: LocalType,
        name_span: Span,
        decl_span: Span,
        reporter: &mut Reporter<'_>,
    ) {
        let key = canonical(name);
        if key.starts_with(RESERVED_PREFIX) {
            reporter
                .error(
                    DiagnosticKind::ReservedName,
                    name_span,
                    format!("local name `{name}` is reserved: names starting with `{RESERVED_PREFIX}` belong to the expansion"),
                )
                .with_hint(format!("rename it, e.g. `${}`", name.trim_start_matches('$').trim_start_matches('_')));
            return;
        }
        match self.by_name.get(key.as_ref()) {
            Some(&index) => {
                let first = &self.locals[index];
                let related =
                    reporter.related(first.span, format!("first declared as `{}` here", first.ty));
                if first.ty == ty {
                    reporter
                        .warning(
                            DiagnosticKind::DuplicateLocal,
                            decl_span,
                            format!("duplicate declaration of `{name}` removed"),
                        )
                        .with_related(related);
                } else {
                    reporter
                        .error(
                            DiagnosticKind::ConflictingLocal,
                            decl_span,
                            format!(
                                "conflicting declarations of `{name}`: `{}` at line {} and `{ty}` here",
                                first.ty, related.line
                            ),
                        )
                        .with_hint(format!("a local has one type; rename one of them, e.g. `{name}_{ty}`"))
                        .with_related(related);
                }
            }
            None => {
                self.by_name.insert(key.into_owned(), self.locals.len());
                self.locals.push(Local {
                    name: name.to_owned(),
                    ty,
                    span: decl_span,
                    origin: LocalOrigin::Declared,
                });
            }
        }
    }

    /// Adds a local for the expansion unless present.
    pub(crate) fn declare_hidden(&mut self, name: &str, ty: LocalType) {
        if !self.by_name.contains_key(canonical(name).as_ref()) {
            self.by_name
                .insert(canonical(name).into_owned(), self.locals.len());
            self.locals.push(Local {
                name: name.to_owned(),
                ty,
                span: Span::default(),
                origin: LocalOrigin::Expansion,
            });
        }
    }

    /// The local named `name` (`$"x"` and `$x` name the same one).
    pub(crate) fn get(&self, name: &str) -> Option<&Local> {
        self.by_name
            .get(canonical(name).as_ref())
            .map(|&i| &self.locals[i])
    }

    /// Number of locals.
    pub(crate) fn len(&self) -> usize {
        self.locals.len()
    }

    /// Declared names (for suggestions).
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.locals
            .iter()
            .filter(|l| l.origin == LocalOrigin::Declared)
            .map(|l| l.name.as_str())
    }

    /// The hoisted list.
    pub(crate) fn into_locals(self) -> Vec<Local> {
        self.locals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_warn_and_conflicts_name_both_lines() {
        let source = "(local $a i32)\n(local $a i32)\n(local $a i64)";
        let mut reporter = Reporter::new(source);
        let mut table = LocalTable::default();
        table.declare(
            "$a",
            LocalType::I32,
            Span::new(7, 9),
            Span::new(0, 14),
            &mut reporter,
        );
        table.declare(
            "$a",
            LocalType::I32,
            Span::new(22, 24),
            Span::new(15, 29),
            &mut reporter,
        );
        table.declare(
            "$a",
            LocalType::I64,
            Span::new(37, 39),
            Span::new(30, 44),
            &mut reporter,
        );
        assert_eq!(table.len(), 1);
        let diagnostics: Vec<_> = reporter.finish().into_iter().collect();
        assert_eq!(diagnostics[0].kind, DiagnosticKind::DuplicateLocal);
        assert_eq!(diagnostics[1].kind, DiagnosticKind::ConflictingLocal);
        assert_eq!(diagnostics[1].line, 3);
        assert_eq!(diagnostics[1].related.as_ref().map(|r| r.line), Some(1));
        assert!(
            diagnostics[1]
                .message
                .contains("`i32` at line 1 and `i64` here")
        );
    }

    #[test]
    fn pointer_types_are_i32_at_run_time() {
        let local = Local {
            name: "$s".into(),
            ty: LocalType::Str,
            span: Span::default(),
            origin: LocalOrigin::Declared,
        };
        assert_eq!(local.to_wat(), "(local $s i32)");
        assert_eq!(LocalType::parse("bytes"), Some(LocalType::Bytes));
        assert_eq!(LocalType::parse("string"), None);
    }
}
