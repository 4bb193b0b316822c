//! The template assembler: wraps an expanded body into a complete module, and maps errors in that
//! module back to the text the model wrote.
//!
//! ```text
//! (module
//!   (import "core" "arg_i64" (func $core.arg_i64 (param i32) (result i64 i32)))   ;; calls only
//!   (memory (export "memory") PAGES)
//!   (data (i32.const 16) "\05\00\00\00hello")
//!   (func $run (export "run") (result i32)
//!     (local $n i64) ...
//!     (block $body
//! BODY
//!     )
//!     (i32.const 0)))
//! ```
//!
//! The body is inserted verbatim at a known offset, so a position in the module maps to a
//! position in the expanded body, and through the preprocessor's source map to the input.

use watsmith_preprocessor::{
    Diagnostic, DiagnosticKind, Diagnostics, Expanded, Origin, Reporter, Severity, Span,
};

use crate::capability::{FunctionDoc, Registry};
use crate::limits::WASM_PAGE;

/// An assembled module: its text and where the body sits in it.
#[derive(Debug, Clone)]
pub struct Assembled {
    /// The whole module in WAT.
    pub text: String,
    /// Byte offset of the body within `text`.
    pub body_offset: usize,
    /// The capabilities the module imports from, sorted.
    pub capabilities: Vec<&'static str>,
}

const BODY_OPEN: &str = "    (block $body\n";

/// The entry function's name: `(call $run)` recurses.
pub(crate) const ENTRY: &str = "$run";

/// Wraps `expanded` into a module importing the functions it calls. Every call must name a
/// function of the registry; the caller checks the policy.
pub fn assemble(expanded: &Expanded, functions: &[&'static FunctionDoc]) -> Assembled {
    let mut text = String::with_capacity(expanded.body.len() + 512);
    text.push_str("(module\n");
    let mut capabilities: Vec<&'static str> = Vec::new();
    for function in functions {
        text.push_str("  ");
        text.push_str(&function.function.import_wat());
        text.push('\n');
        if !capabilities.contains(&function.function.module) {
            capabilities.push(function.function.module);
        }
    }
    capabilities.sort_unstable();
    let pages = u64::from(expanded.initial_top).div_ceil(WASM_PAGE).max(1);
    text.push_str(&format!("  (memory (export \"memory\") {pages})\n"));
    for segment in &expanded.data {
        text.push_str("  ");
        text.push_str(&segment.to_wat());
        text.push('\n');
    }
    text.push_str("  (func $run (export \"run\") (result i32)\n");
    for local in &expanded.locals {
        text.push_str("    ");
        text.push_str(&local.to_wat());
        text.push('\n');
    }
    text.push_str(BODY_OPEN);
    let body_offset = text.len();
    text.push_str(&expanded.body);
    text.push_str("\n    )\n    (i32.const 0)))\n");
    Assembled {
        text,
        body_offset,
        capabilities,
    }
}

/// The functions `expanded` calls, resolved in the registry; unknown ones are reported at their
/// first call, with the closest known name.
pub(crate) fn resolve_calls(
    source: &str,
    expanded: &Expanded,
    registry: &Registry,
) -> Result<Vec<&'static FunctionDoc>, Diagnostics> {
    // The reporter indexes the source's lines: built only if a call is unknown.
    let mut reporter: Option<Reporter<'_>> = None;
    let mut functions = Vec::with_capacity(expanded.calls.len());
    for call in &expanded.calls {
        if call.name == ENTRY {
            // The entry function calling itself: recursion, not an import.
            continue;
        }
        let found = call
            .capability_and_function()
            .and_then(|(cap, function)| registry.function(cap, function));
        match found {
            Some(doc) => functions.push(doc),
            None => {
                let reporter = reporter.get_or_insert_with(|| Reporter::new(source));
                // Past the cap a diagnostic is only counted: no hint to search for.
                let hint = if reporter.is_full() {
                    String::new()
                } else {
                    unknown_function_hint(registry, &call.name)
                };
                reporter
                    .error(
                        DiagnosticKind::Validation,
                        call.span,
                        format!("unknown host function `{}`", call.name),
                    )
                    .with_hint(hint);
            }
        }
    }
    match reporter {
        Some(reporter) => Err(reporter.finish()),
        None => Ok(functions),
    }
}

/// The closest known function, else what the named capability has, else the capabilities.
fn unknown_function_hint(registry: &Registry, name: &str) -> String {
    let names = registry.function_names();
    if let Some(close) = watsmith_preprocessor::closest(name, names.iter().map(String::as_str)) {
        return format!("did you mean `{close}`?");
    }
    let capability = name
        .strip_prefix('$')
        .and_then(|n| n.split_once('.'))
        .map(|(cap, _)| cap);
    match capability.and_then(|cap| registry.get(cap)) {
        Some(capability) => format!(
            "`{}` has: {}",
            capability.name(),
            capability
                .functions()
                .iter()
                .map(|f| f.function.wat_name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!(
            "host functions are called `$capability.function`; capabilities: {}",
            registry
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A diagnostic for an error at byte `module_offset` of the assembled module: located in the input
/// through the source map when it lies in the body, at the start of the body otherwise.
pub(crate) fn diagnostic_at(
    source: &str,
    expanded: &Expanded,
    assembled: &Assembled,
    module_offset: Option<usize>,
    message: &str,
) -> Diagnostic {
    let reporter = Reporter::new(source);
    let location = module_offset
        .and_then(|offset| offset.checked_sub(assembled.body_offset))
        .and_then(|offset| expanded.locate(offset));
    let (span, hint) = match location {
        Some(location) => {
            let hint = match location.origin {
                Origin::Macro(kind) => Some(format!(
                    "the error is in the expansion of `{}`: check the types of its locals and of the call it wraps",
                    kind.name()
                )),
                Origin::StringLiteral => Some("a string literal is an i32 pointer".to_owned()),
                _ => None,
            };
            (location.span, hint)
        }
        None => (Span::new(0, 0), None),
    };
    let mut diagnostic = reporter.diagnostic(
        Severity::Error,
        DiagnosticKind::Validation,
        span,
        first_line(message),
    );
    diagnostic.hint = hint.or_else(|| validation_hint(message));
    diagnostic
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).to_owned()
}

/// Hints for the validation errors models cause most.
fn validation_hint(message: &str) -> Option<String> {
    if message.contains("type mismatch") && message.contains("values remaining on stack") {
        Some("a body must leave nothing on the stack: `drop` the value, store it in a local, or `(resv ...)` it".to_owned())
    } else if message.contains("type mismatch") {
        Some(
            "check the operand types: i32/i64/f32/f64 instructions need operands of their own type"
                .to_owned(),
        )
    } else {
        None
    }
}
