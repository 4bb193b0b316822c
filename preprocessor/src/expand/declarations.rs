//! The first walk: local declarations, collected and checked before any use is.

use tree_sitter::Node;

use super::{Expander, first_token_text, span, truncate};
use crate::diagnostic::DiagnosticKind;
use crate::hoist::LocalType;
use crate::suggestion;

impl<'s, 'r> Expander<'s, 'r> {
    pub(super) fn declare<'t>(&mut self, decl: Node<'t>) {
        let decl_span = span(decl);
        let name = decl.child_by_field_id(self.kinds.field_name);
        let mut types: Vec<Node<'t>> = Vec::new();
        let mut errors: Vec<Node<'t>> = Vec::new();
        let mut cursor = decl.walk();
        for child in decl.children(&mut cursor) {
            if child.is_error() || child.is_missing() {
                errors.push(child);
            } else if child.kind_id() == self.kinds.value_type {
                types.push(child);
            }
        }

        for error in &errors {
            let token = first_token_text(*error, self.text);
            let suggestion = self
                .reporter
                .suggest(token, LocalType::ALL.iter().map(|t| t.as_str()));
            let diagnostic = self.reporter.error(
                DiagnosticKind::UnexpectedToken,
                span(*error),
                format!("unexpected `{}` in a local declaration", truncate(token)),
            );
            diagnostic.with_hint(match suggestion {
                Some(ty) => format!(
                    "{} a local has one of the types i32, i64, f32, f64, str, bytes",
                    suggestion::did_you_mean(ty)
                ),
                None => {
                    "write `(local $name TYPE)` with TYPE one of i32, i64, f32, f64, str, bytes"
                        .to_owned()
                }
            });
        }

        let Some(name) = name else {
            self.anonymous_locals = true;
            self.reporter
                .error(DiagnosticKind::InvalidLocal, decl_span, "local declaration without a name")
                .with_hint("name every local, as in `(local $count i32)`; locals are hoisted, so they are referred to by name");
            return;
        };
        let name_text = self.node_text(name);
        match types.as_slice() {
            [ty] => {
                let ty = LocalType::parse(self.node_text(*ty))
                    .expect("the grammar only accepts known types");
                self.locals
                    .declare(name_text, ty, span(name), decl_span, self.reporter);
            }
            [] if !errors.is_empty() => {
                // Already reported; declare it so that its uses do not cascade into more errors.
                self.locals.declare_hidden(name_text, LocalType::I32);
            }
            [] => {
                self.reporter
                    .error(DiagnosticKind::InvalidLocal, decl_span, format!("local `{name_text}` has no type"))
                    .with_hint(format!("add its type, e.g. `(local {name_text} i32)`; types: i32, i64, f32, f64, str, bytes"));
                self.locals.declare_hidden(name_text, LocalType::I32);
            }
            [_, ..] => {
                self.reporter
                    .error(
                        DiagnosticKind::InvalidLocal,
                        decl_span,
                        format!(
                            "local `{name_text}` has {} types; a named local has one",
                            types.len()
                        ),
                    )
                    .with_hint("declare each local on its own: `(local $a i32) (local $b i64)`");
                self.locals.declare_hidden(name_text, LocalType::I32);
            }
        }
    }
}
