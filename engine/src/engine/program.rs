//! A compiled, pre-linked program, and the diagnostics of a policy's refusal located in its body.

use std::sync::Arc;

use wasmtime::InstancePre;
use watsmith_preprocessor::{Diagnostic, DiagnosticKind, Reporter, Severity, Span};

use crate::state::RunState;

/// A compiled, pre-linked program: instantiating and running it is cheap.
pub struct Program {
    pub(super) pre: InstancePre<RunState>,
    /// The body as written, to locate refusals.
    pub(super) source: Arc<str>,
    pub(super) initial_top: u32,
    pub(super) capabilities: Vec<&'static str>,
    /// Whether it imports async functions: then it runs on a fiber.
    pub(super) is_async: bool,
    /// Warnings of the preprocessor (leniency applied), to report with every run.
    pub(super) warnings: Vec<Diagnostic>,
    /// SHA-256 of the WebAssembly binary, in hex: which module ran, for transcripts.
    pub(super) module_hash: String,
    /// For policy diagnostics: each imported capability, the first call that needs it, and
    /// where that call is in the body.
    pub(super) first_calls: Vec<(&'static str, String, Span)>,
}

impl Program {
    /// SHA-256 of the program's WebAssembly binary, in hex.
    pub fn module_hash(&self) -> &str {
        &self.module_hash
    }
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("initial_top", &self.initial_top)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// The capabilities the program imports from.
    pub fn capabilities(&self) -> &[&'static str] {
        &self.capabilities
    }

    /// The preprocessor's warnings.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Whether it imports async host functions (http, ai).
    pub fn is_async(&self) -> bool {
        self.is_async
    }

    /// Diagnostics at the first call of each capability that `refuse` returns a reason for.
    pub(super) fn refusals(
        &self,
        refuse: impl Fn(&'static str) -> Option<(String, String)>,
    ) -> Vec<Diagnostic> {
        let mut reporter: Option<Reporter<'_>> = None;
        let mut diagnostics = Vec::new();
        for (capability, call, span) in &self.first_calls {
            if let Some((message, hint)) = refuse(capability) {
                let reporter = reporter.get_or_insert_with(|| Reporter::new(&self.source));
                let mut diagnostic = reporter.diagnostic(
                    Severity::Error,
                    DiagnosticKind::Validation,
                    *span,
                    format!("{message} (`{call}` needs it)"),
                );
                diagnostic.hint = Some(hint);
                diagnostics.push(diagnostic);
            }
        }
        diagnostics
    }
}
