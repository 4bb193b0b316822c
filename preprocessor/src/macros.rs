//! The three macros and what they expand to.
//!
//! | macro | expansion (for an `i64` local `$n`) |
//! |---|---|
//! | `(argv 0 $n)` | `(call $core.arg_i64 (i32.const 0)) (local.set $__err) (local.set $n)` + propagate |
//! | `(resv $n)` | `(local.set $__err (call $core.res_i64 (local.get $n)))` + propagate |
//! | `(check $e)` | `(if (local.get $e) (then (return (local.get $e))))` |
//! | `(check EXPR)` | `(local.set $__err EXPR)` + propagate |
//! | `(check $d EXPR)` | `EXPR (local.set $__err) (local.set $d)` + propagate |
//!
//! where "propagate" is `(if (local.get $__err) (then (return (local.get $__err))))`: a non-zero
//! error code ends the program with that status. `EXPR` is any expression that leaves an `i32`
//! status (one argument) or a value and an `i32` status (two arguments), typically a host call.
//! `f32` locals travel as `f64` across the boundary.

use tree_sitter::Node;

use crate::abi::{self, HostFunction};
use crate::diagnostic::{DiagnosticKind, Reporter};
use crate::hoist::{LocalTable, LocalType};
use crate::limits::ERR_LOCAL;
use crate::source_map::MacroKind;
use crate::span::Span;
use crate::suggestion;

/// One argument of a macro, classified.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Argument<'a, 't> {
    /// `$name`.
    Local(&'a str, Span),
    /// A numeric literal.
    Number(&'a str, Span),
    /// A folded expression (or a string literal).
    Expr(Node<'t>),
}

impl Argument<'_, '_> {
    fn span(&self) -> Span {
        match *self {
            Self::Local(_, span) | Self::Number(_, span) => span,
            Self::Expr(node) => Span::from(node.byte_range()),
        }
    }
}

/// How to emit a macro: generated text around an optional expression that is emitted (and
/// checked) like any other part of the body.
#[derive(Debug)]
pub(crate) struct Expansion<'t> {
    pub(crate) prefix: String,
    pub(crate) expr: Option<Node<'t>>,
    pub(crate) suffix: String,
    /// Host functions the expansion calls.
    pub(crate) calls: Vec<&'static HostFunction>,
    /// Whether the expansion uses the hidden error local.
    pub(crate) uses_err: bool,
    /// The argument an `argv` reads, and the type of the local it reads it into.
    pub(crate) argument: Option<(u32, LocalType)>,
}

impl<'t> Expansion<'t> {
    fn text(text: String) -> Self {
        Self {
            prefix: text,
            expr: None,
            suffix: String::new(),
            calls: Vec::new(),
            uses_err: true,
            argument: None,
        }
    }
}

/// `(if (local.get $x) (then (return (local.get $x))))`.
fn propagate(local: &str) -> String {
    format!("(if (local.get {local}) (then (return (local.get {local}))))")
}

/// Resolves a local named by a macro, reporting it if undeclared.
fn resolve<'a>(
    macro_kind: MacroKind,
    name: &str,
    span: Span,
    locals: &'a LocalTable,
    reporter: &mut Reporter<'_>,
) -> Option<&'a crate::hoist::Local> {
    if let Some(local) = locals.get(name) {
        return Some(local);
    }
    let message = match macro_kind {
        MacroKind::Resv => format!("`resv` of undeclared local `{name}`"),
        other => format!("unknown local `{name}` in `{}`", other.name()),
    };
    let hint = match reporter.suggest(name, locals.names()) {
        Some(close) => suggestion::did_you_mean(close),
        None => match macro_kind {
            MacroKind::Resv => {
                format!("declare it with the type of the result, e.g. `(local {name} i64)`")
            }
            MacroKind::Argv => format!(
                "declare it with the argument's type, e.g. `(local {name} i64)` or `(local {name} str)`"
            ),
            MacroKind::Check => format!("declare it, e.g. `(local {name} i32)`"),
        },
    };
    reporter
        .error(DiagnosticKind::UnknownLocal, span, message)
        .with_hint(hint);
    None
}

/// Plans the expansion of one macro; `None` after reporting why it cannot be expanded.
pub(crate) fn expand<'t>(
    kind: MacroKind,
    macro_span: Span,
    arguments: &[Argument<'_, 't>],
    locals: &LocalTable,
    reporter: &mut Reporter<'_>,
) -> Option<Expansion<'t>> {
    match kind {
        MacroKind::Argv => expand_argv(macro_span, arguments, locals, reporter),
        MacroKind::Resv => expand_resv(macro_span, arguments, locals, reporter),
        MacroKind::Check => expand_check(macro_span, arguments, locals, reporter),
    }
}

/// Reports a macro used with the wrong arguments; returns `None` for the caller to return.
fn usage<T>(reporter: &mut Reporter<'_>, span: Span, message: String, hint: &str) -> Option<T> {
    reporter
        .error(DiagnosticKind::MacroUsage, span, message)
        .with_hint(hint);
    None
}

fn count(n: usize) -> String {
    match n {
        0 => "no arguments".to_owned(),
        1 => "1 argument".to_owned(),
        n => format!("{n} arguments"),
    }
}

const ARGV_USAGE: &str = "write `(argv INDEX $local)`, e.g. `(local $n i64) (argv 0 $n)`";

fn expand_argv<'t>(
    span: Span,
    arguments: &[Argument<'_, 't>],
    locals: &LocalTable,
    reporter: &mut Reporter<'_>,
) -> Option<Expansion<'t>> {
    let (index_text, index_span, name, name_span) = match *arguments {
        [
            Argument::Number(index, index_span),
            Argument::Local(name, name_span),
        ] => (index, index_span, name, name_span),
        [Argument::Local(..), Argument::Number(..)] => {
            return usage(
                reporter,
                span,
                "`argv` takes the argument index first, then the local".to_owned(),
                ARGV_USAGE,
            );
        }
        [_, _] => {
            return usage(
                reporter,
                span,
                "`argv` takes an argument index and a local".to_owned(),
                ARGV_USAGE,
            );
        }
        _ => {
            return usage(
                reporter,
                span,
                format!(
                    "`argv` takes 2 arguments (an index and a local), found {}",
                    count(arguments.len())
                ),
                ARGV_USAGE,
            );
        }
    };
    let Some(index) = parse_index(index_text) else {
        reporter
            .error(
                DiagnosticKind::InvalidNumber,
                index_span,
                format!("argument index `{index_text}` is not a non-negative integer"),
            )
            .with_hint("arguments are numbered from 0: `(argv 0 $first)`, `(argv 1 $second)`");
        return None;
    };
    let local = resolve(MacroKind::Argv, name, name_span, locals, reporter)?;
    let (function, convert) = match local.ty {
        LocalType::I32 => (&abi::ARG_I32, ""),
        LocalType::I64 => (&abi::ARG_I64, ""),
        LocalType::F32 => (&abi::ARG_F64, " (f32.demote_f64)"),
        LocalType::F64 => (&abi::ARG_F64, ""),
        LocalType::Str => (&abi::ARG_STR, ""),
        LocalType::Bytes => (&abi::ARG_BYTES, ""),
    };
    let set = if convert.is_empty() {
        format!("(local.set {name})")
    } else {
        format!("(local.set {name}{convert})")
    };
    let mut expansion = Expansion::text(format!(
        "(call {} (i32.const {index})) (local.set {ERR_LOCAL}) {set} {}",
        function.wat_name(),
        propagate(ERR_LOCAL)
    ));
    expansion.calls.push(function);
    expansion.argument = Some((index, local.ty));
    Some(expansion)
}

const RESV_USAGE: &str = "write `(resv $local)`; to return a computed value, store it in a typed local first: \
                          `(local.set $r ...)` then `(resv $r)`";

fn expand_resv<'t>(
    span: Span,
    arguments: &[Argument<'_, 't>],
    locals: &LocalTable,
    reporter: &mut Reporter<'_>,
) -> Option<Expansion<'t>> {
    let (name, name_span) = match *arguments {
        [Argument::Local(name, name_span)] => (name, name_span),
        [other] => {
            return usage(
                reporter,
                other.span(),
                "`resv` takes a local, not a value".to_owned(),
                RESV_USAGE,
            );
        }
        _ => {
            return usage(
                reporter,
                span,
                format!(
                    "`resv` takes 1 argument (a local), found {}",
                    count(arguments.len())
                ),
                RESV_USAGE,
            );
        }
    };
    let local = resolve(MacroKind::Resv, name, name_span, locals, reporter)?;
    let (function, value) = match local.ty {
        LocalType::I32 => (&abi::RES_I32, format!("(local.get {name})")),
        LocalType::I64 => (&abi::RES_I64, format!("(local.get {name})")),
        LocalType::F32 => (
            &abi::RES_F64,
            format!("(f64.promote_f32 (local.get {name}))"),
        ),
        LocalType::F64 => (&abi::RES_F64, format!("(local.get {name})")),
        LocalType::Str => (&abi::RES_STR, format!("(local.get {name})")),
        LocalType::Bytes => (&abi::RES_BYTES, format!("(local.get {name})")),
    };
    let mut expansion = Expansion::text(format!(
        "(local.set {ERR_LOCAL} (call {} {value})) {}",
        function.wat_name(),
        propagate(ERR_LOCAL)
    ));
    expansion.calls.push(function);
    Some(expansion)
}

const CHECK_USAGE: &str = "write `(check $status)` for an i32 status local, `(check (call $cap.fn ...))` for a \
                           call that returns a status, or `(check $dst (call $cap.fn ...))` for a call that \
                           returns a value and a status";

fn expand_check<'t>(
    span: Span,
    arguments: &[Argument<'_, 't>],
    locals: &LocalTable,
    reporter: &mut Reporter<'_>,
) -> Option<Expansion<'t>> {
    match *arguments {
        [Argument::Local(name, name_span)] => {
            let local = resolve(MacroKind::Check, name, name_span, locals, reporter)?;
            if local.ty != LocalType::I32 {
                reporter
                    .error(
                        DiagnosticKind::CheckType,
                        name_span,
                        format!(
                            "`check` needs an i32 status, but `{name}` is `{}`",
                            local.ty
                        ),
                    )
                    .with_hint(CHECK_USAGE);
                return None;
            }
            let mut expansion = Expansion::text(propagate(name));
            expansion.uses_err = false;
            Some(expansion)
        }
        [Argument::Expr(expr)] if is_expression(expr) => Some(Expansion {
            prefix: format!("(local.set {ERR_LOCAL} "),
            expr: Some(expr),
            suffix: format!(") {}", propagate(ERR_LOCAL)),
            calls: Vec::new(),
            uses_err: true,
            argument: None,
        }),
        [Argument::Local(name, name_span), Argument::Expr(expr)] if is_expression(expr) => {
            resolve(MacroKind::Check, name, name_span, locals, reporter)?;
            Some(Expansion {
                prefix: String::new(),
                expr: Some(expr),
                suffix: format!(
                    " (local.set {ERR_LOCAL}) (local.set {name}) {}",
                    propagate(ERR_LOCAL)
                ),
                calls: Vec::new(),
                uses_err: true,
                argument: None,
            })
        }
        [_] | [_, _] => usage(
            reporter,
            span,
            "`check` takes a status local or a call, not a literal".to_owned(),
            CHECK_USAGE,
        ),
        _ => usage(
            reporter,
            span,
            format!(
                "`check` takes 1 or 2 arguments, found {}",
                count(arguments.len())
            ),
            CHECK_USAGE,
        ),
    }
}

/// Whether a node can produce values (not a bare string literal).
fn is_expression(node: Node<'_>) -> bool {
    !matches!(node.kind(), "string" | "raw_string")
}

/// Parses a non-negative decimal or hex integer literal that fits an `i32` index.
fn parse_index(text: &str) -> Option<u32> {
    let value = crate::number::parse_u32(text)?;
    i32::try_from(value).is_ok().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_non_negative_integers() {
        assert_eq!(parse_index("0"), Some(0));
        assert_eq!(parse_index("1_0"), Some(10));
        assert_eq!(parse_index("0x1f"), Some(31));
        assert_eq!(parse_index("-1"), None);
        assert_eq!(parse_index("1.5"), None);
        assert_eq!(parse_index("4294967295"), None);
    }

    #[test]
    fn propagation_returns_the_status() {
        assert_eq!(
            propagate("$e"),
            "(if (local.get $e) (then (return (local.get $e))))"
        );
    }
}
