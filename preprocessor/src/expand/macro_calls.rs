//! The macros `argv`, `resv` and `check`, expanded where they stand.

use tree_sitter::{Node, TreeCursor};

use super::{Expander, span};
use crate::diagnostic::DiagnosticKind;
use crate::macros::{self, Argument};
use crate::source_map::{MacroKind, Origin};
use crate::span::Span;

impl<'s, 'r> Expander<'s, 'r> {
    pub(super) fn expand_macro<'t>(&mut self, cursor: &mut TreeCursor<'t>, depth: usize) {
        let node = cursor.node();
        let Some(name) = node.child_by_field_id(self.kinds.field_name) else {
            return;
        };
        let name_text = self.node_text(name);
        let Some((kind, bang)) = MacroKind::parse(name_text) else {
            return;
        };
        if bang && !self.bang_reported {
            self.bang_reported = true;
            self.reporter
                .warning(
                    DiagnosticKind::BangMacro,
                    span(name),
                    format!("`{name_text}` is read as `{}`", kind.name()),
                )
                .with_hint("`argv`, `resv` and `check` may be written with or without `!`; both mean the same");
        }
        let mut arguments: Vec<Argument<'s, 't>> = Vec::new();
        if cursor.goto_first_child() {
            loop {
                if cursor.field_id().map(u16::from) == Some(self.kinds.field_argument) {
                    let arg = cursor.node();
                    arguments.push(if arg.kind_id() == self.kinds.identifier {
                        Argument::Local(self.node_text(arg), span(arg))
                    } else if arg.kind_id() == self.kinds.number {
                        Argument::Number(self.node_text(arg), span(arg))
                    } else {
                        Argument::Expr(arg)
                    });
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            cursor.goto_parent();
        }
        for argument in &arguments {
            if let Argument::Local(name, at) = argument {
                self.note_use(name, at.start);
            }
        }
        let macro_span = span(node);
        let malformed = node.has_error();
        if malformed {
            self.report_nested_errors(node);
        }
        let expansion = if malformed {
            None
        } else {
            macros::expand(kind, macro_span, &arguments, &self.locals, self.reporter)
        };
        let Some(expansion) = expansion else {
            // Still check what the macro's expressions contain.
            for argument in arguments {
                if let Argument::Expr(expr) = argument {
                    self.visit_node(expr, depth);
                }
            }
            return;
        };
        self.uses_err |= expansion.uses_err;
        if let Some((index, ty)) = expansion.argument
            && !self.arguments.iter().any(|&(known, _)| known == index)
        {
            self.arguments.push((index, ty));
        }
        for function in &expansion.calls {
            self.add_call(&function.wat_name(), macro_span, true);
        }
        let origin = Origin::Macro(kind);
        match expansion.expr {
            None => self.replace(macro_span, &expansion.prefix, origin),
            Some(expr) => {
                self.replace(
                    Span::new(macro_span.start, expr.start_byte()),
                    &expansion.prefix,
                    origin,
                );
                self.visit_node(expr, depth);
                self.flush(expr.end_byte());
                self.replace(
                    Span::new(expr.end_byte(), macro_span.end),
                    &expansion.suffix,
                    origin,
                );
            }
        }
    }

    pub(super) fn visit_node<'t>(&mut self, node: Node<'t>, depth: usize) {
        let mut cursor = node.walk();
        self.visit(&mut cursor, depth + 1);
    }
}
