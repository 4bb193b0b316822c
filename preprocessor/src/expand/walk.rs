//! The second walk: checks references (locals, labels, calls) and emits the body.

use tree_sitter::{Node, TreeCursor};

use super::{Expander, span};
use crate::Call;
use crate::data::decode_quoted;
use crate::diagnostic::DiagnosticKind;
use crate::identifier::canonical;
use crate::limits::{BODY_LABEL, MAX_NESTING};
use crate::number::parse_u32;
use crate::source_map::Origin;
use crate::span::Span;
use crate::suggestion;

impl<'s, 'r> Expander<'s, 'r> {
    /// Visits the children of the cursor's node with the same cursor, and returns to the node.
    pub(super) fn visit_children<'t>(&mut self, cursor: &mut TreeCursor<'t>, depth: usize) {
        if cursor.goto_first_child() {
            loop {
                self.visit(cursor, depth + 1);
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            cursor.goto_parent();
        }
    }

    pub(super) fn visit<'t>(&mut self, cursor: &mut TreeCursor<'t>, depth: usize) {
        let node = cursor.node();
        if depth > MAX_NESTING {
            if !self.nesting_reported {
                self.nesting_reported = true;
                self.reporter
                    .error(
                        DiagnosticKind::Limit,
                        Span::new(node.start_byte(), node.start_byte() + 1),
                        format!("the body nests deeper than {MAX_NESTING} levels"),
                    )
                    .with_hint("flatten it: compute intermediate values into locals");
            }
            return;
        }
        if node.is_error() {
            self.report_syntax_error(node);
            return;
        }
        if node.is_missing() {
            self.report_missing(node);
            return;
        }
        let kind = node.kind_id();
        let k = self.kinds;
        if kind == k.local_decl || kind == k.annotation {
            // Annotations `(@name ...)` mean nothing in a body (the WAT spec lets a tool ignore
            // those it does not know), so Wasmtime is not shown them.
            self.blank(span(node));
        } else if kind == k.macro_ {
            self.expand_macro(cursor, depth);
        } else if kind == k.string {
            if let Some(bytes) =
                decode_quoted(self.node_text(node), node.start_byte(), self.reporter)
            {
                self.string_literal(node, bytes);
            }
        } else if kind == k.raw_string {
            let text = self.node_text(node);
            self.string_literal(node, text.as_bytes()[3..text.len() - 3].to_vec());
        } else if kind == k.local_instr {
            if let Some(local) = node.child_by_field_id(k.field_local) {
                self.check_local(local);
            }
            self.report_nested_errors(node);
        } else if kind == k.branch_instr || kind == k.br_table_instr {
            if cursor.goto_first_child() {
                loop {
                    if cursor.field_id().map(u16::from) == Some(k.field_label) {
                        self.check_label(cursor.node());
                    }
                    if !cursor.goto_next_sibling() {
                        break;
                    }
                }
                cursor.goto_parent();
            }
            self.report_nested_errors(node);
        } else if kind == k.call_instr {
            if let Some(function) = node.child_by_field_id(k.field_function) {
                self.record_call(function);
            }
            self.report_nested_errors(node);
        } else if kind == k.unknown_instr {
            self.report_unknown_instruction(node);
            self.report_nested_errors(node);
        } else if kind == k.block
            || kind == k.loop_
            || kind == k.flat_block
            || kind == k.flat_loop
            || kind == k.flat_if
        {
            self.labels.push(
                node.child_by_field_id(k.field_label)
                    .map(|l| canonical(self.node_text(l))),
            );
            self.visit_children(cursor, depth);
            self.labels.pop();
        } else if kind == k.if_ {
            self.visit_if(cursor, depth);
        } else if kind == k.func || kind == k.module {
            self.report_misplaced_wrapper(node);
        } else if kind == k.folded_instr || kind == k.then_block || kind == k.else_block {
            self.visit_children(cursor, depth);
        } else {
            // Instructions whose children are tokens (`i32.const 1`, `i64.load offset=8`):
            // nothing in them is expanded or resolved, so only their syntax errors matter.
            self.report_nested_errors(node);
        }
    }

    /// Reports the syntax errors among the children of a node whose children are not walked.
    pub(super) fn report_nested_errors<'t>(&mut self, node: Node<'t>) {
        if !node.has_error() {
            return;
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.is_error() {
                self.report_syntax_error(child);
            } else if child.is_missing() {
                self.report_missing(child);
            }
        }
    }

    /// A folded `if`: its conditions run before the `if`, outside its label's scope.
    pub(super) fn visit_if<'t>(&mut self, cursor: &mut TreeCursor<'t>, depth: usize) {
        let label = cursor
            .node()
            .child_by_field_id(self.kinds.field_label)
            .map(|l| canonical(self.node_text(l)));
        let mut scoped = false;
        if cursor.goto_first_child() {
            loop {
                let child = cursor.node();
                if !scoped
                    && (child.kind_id() == self.kinds.then_block
                        || child.kind_id() == self.kinds.else_block)
                {
                    self.labels.push(label.clone());
                    scoped = true;
                }
                self.visit(cursor, depth + 1);
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            cursor.goto_parent();
        }
        if scoped {
            self.labels.pop();
        }
    }

    pub(super) fn string_literal<'t>(&mut self, node: Node<'t>, bytes: Vec<u8>) {
        let offset = self.data.intern(bytes, span(node));
        self.replace(
            span(node),
            &format!("(i32.const {offset})"),
            Origin::StringLiteral,
        );
    }

    pub(super) fn note_use(&mut self, name: &'s str, at: usize) {
        self.first_use.entry(canonical(name)).or_insert(at);
    }

    pub(super) fn check_local<'t>(&mut self, local: Node<'t>) {
        let text = self.node_text(local);
        if local.kind_id() == self.kinds.number {
            if self.anonymous_locals {
                return;
            }
            let in_range = parse_u32(text).is_some_and(|i| (i as usize) < self.locals.len());
            if !in_range {
                self.reporter
                    .error(DiagnosticKind::UnknownLocal, span(local), format!("local index {text} is out of range"))
                    .with_hint(format!("the body declares {} local(s); refer to locals by name, as in `(local.get $x)`", self.locals.len()));
            }
            return;
        }
        self.note_use(text, local.start_byte());
        if self.locals.get(text).is_some() {
            return;
        }
        let hint = match self.reporter.suggest(text, self.locals.names()) {
            Some(close) => suggestion::did_you_mean(close),
            None => format!("declare it, e.g. `(local {text} i32)` with the type it holds"),
        };
        self.reporter
            .error(
                DiagnosticKind::UnknownLocal,
                span(local),
                format!("unknown local `{text}`"),
            )
            .with_hint(hint);
    }

    pub(super) fn check_label<'t>(&mut self, label: Node<'t>) {
        let text = self.node_text(label);
        // Numeric targets: the open blocks (0 = innermost), then the template's `$body` block.
        if label.kind_id() == self.kinds.number {
            let body_depth = self.labels.len();
            if parse_u32(text).is_none_or(|depth| depth as usize > body_depth) {
                self.reporter
                    .error(DiagnosticKind::UnknownLabel, span(label), format!("branch depth {text} is out of range"))
                    .with_hint(format!(
                        "depth 0 is the innermost enclosing block and {body_depth} the body's own `{BODY_LABEL}` block; \
                         prefer labels, as in `(br $done)`"
                    ));
            }
            return;
        }
        let key = canonical(text);
        if key == BODY_LABEL || self.labels.iter().flatten().any(|l| *l == key) {
            return;
        }
        let in_scope: Vec<&str> = self
            .labels
            .iter()
            .flatten()
            .map(|l| l.as_ref())
            .chain([BODY_LABEL])
            .collect();
        let hint = match self.reporter.suggest(text, in_scope.iter().copied()) {
            Some(close) => suggestion::did_you_mean(close),
            None if self.labels.iter().flatten().next().is_none() => format!(
                "no labelled block encloses this branch; label one, as in `(block {text} ...)`, or `(br {BODY_LABEL})` to end the program"
            ),
            None => format!(
                "labels in scope here: {}",
                in_scope
                    .iter()
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.reporter
            .error(
                DiagnosticKind::UnknownLabel,
                span(label),
                format!("unknown label `{text}`"),
            )
            .with_hint(hint);
    }

    pub(super) fn record_call<'t>(&mut self, function: Node<'t>) {
        let text = self.node_text(function);
        if function.kind_id() != self.kinds.identifier {
            self.reporter
                .error(
                    DiagnosticKind::UnexpectedToken,
                    span(function),
                    format!("call by index `{text}`"),
                )
                .with_hint("call host functions by name, as in `(call $str.len (local.get $s))`");
            return;
        }
        self.add_call(&canonical(text), span(function), false);
    }

    pub(super) fn add_call(&mut self, name: &str, at: Span, from_macro: bool) {
        if self.called.insert(name.to_owned()) {
            self.calls.push(Call {
                name: name.to_owned(),
                span: at,
                from_macro,
            });
        }
    }
}
