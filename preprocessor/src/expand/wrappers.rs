//! `(func ...)` and `(module ...)` wrappers around a body, removed with a warning.

use tree_sitter::Node;

use super::{Expander, named_children, span};
use crate::diagnostic::DiagnosticKind;
use crate::hoist::LocalType;
use crate::source_map::Origin;
use crate::span::Span;

impl<'s, 'r> Expander<'s, 'r> {
    pub(super) fn unwrap<'t>(&mut self, wrapper: Node<'t>) {
        if wrapper.kind_id() == self.kinds.func {
            self.unwrap_func(wrapper, "(func ...)", Vec::new());
            return;
        }
        let module_head = Span::new(wrapper.start_byte(), wrapper.start_byte() + "(module".len());
        let funcs: Vec<Node<'t>> = named_children(wrapper)
            .into_iter()
            .filter(|n| n.kind_id() == self.kinds.func)
            .collect();
        let [func] = funcs.as_slice() else {
            self.reporter
                .error(
                    DiagnosticKind::InvalidWrapper,
                    module_head,
                    format!("a `(module ...)` with {} functions cannot be unwrapped", funcs.len()),
                )
                .with_hint(
                    "send only the body of the entry function; helper functions are not supported, so inline them \
                     (a loop or a block with a label usually does)",
                );
            return;
        };
        let mut ignored: Vec<String> = Vec::new();
        for field in named_children(wrapper)
            .into_iter()
            .filter(|n| n.kind() == "module_field")
        {
            let Some(kind) = field.child_by_field_name("kind").map(|k| self.node_text(k)) else {
                continue;
            };
            if matches!(kind, "import" | "memory" | "export" | "type") {
                let shown = format!("`({kind} ...)`");
                if !ignored.contains(&shown) {
                    ignored.push(shown);
                }
            } else {
                let hint = match kind {
                    "data" => {
                        "write the bytes as a string literal where they are used; it becomes a data segment"
                    }
                    "global" => "use a local instead",
                    _ => "send only the body of the entry function",
                };
                self.reporter
                    .error(
                        DiagnosticKind::InvalidWrapper,
                        Span::new(field.start_byte(), field.start_byte() + 1 + kind.len()),
                        format!("a module's `({kind} ...)` field cannot be kept: a program is only a function body"),
                    )
                    .with_hint(hint);
            }
        }
        self.blank(Span::new(wrapper.start_byte(), func.start_byte()));
        self.unwrap_func(*func, "(module ...)", ignored);
        self.blank(Span::new(func.end_byte(), wrapper.end_byte()));
    }

    /// Removes a `(func ...)` wrapper (`wrapper` names what is reported as removed), keeping its
    /// statements. A final status value (`(i32.const N)`, or `local.get` of an i32 local) is
    /// what such a function returns, so it becomes `(return ...)`.
    pub(super) fn unwrap_func<'t>(
        &mut self,
        func: Node<'t>,
        wrapper: &str,
        ignored_fields: Vec<String>,
    ) {
        let mut head_end = func.start_byte() + "(func".len();
        let mut statements = Vec::new();
        let mut cursor = func.walk();
        if cursor.goto_first_child() {
            loop {
                let child = cursor.node();
                match cursor.field_name() {
                    Some("name") => head_end = child.end_byte(),
                    Some("header") => {
                        head_end = child.end_byte();
                        self.check_func_header(child);
                    }
                    _ if child.is_named() => statements.push(child),
                    _ => {}
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        let last = statements
            .iter()
            .rev()
            .find(|n| !self.is_comment(**n))
            .copied();
        let status = last.filter(|n| self.is_status_value(*n));

        let mut message = format!("removed the `{wrapper}` wrapper");
        if !ignored_fields.is_empty() {
            message.push_str(&format!(" and its {} fields", ignored_fields.join(", ")));
        }
        message.push_str(": a program is the body of the entry function");
        if let Some(status) = status {
            message.push_str(&format!(
                "; its final `{}` is returned as the status",
                self.node_text(status)
            ));
        }
        let head = if wrapper.starts_with("(module") {
            "(module".len()
        } else {
            "(func".len()
        };
        let wrapper_start = if wrapper.starts_with("(module") {
            func.parent().unwrap_or(func)
        } else {
            func
        };
        self.reporter
            .warning(
                DiagnosticKind::Wrapper,
                Span::new(
                    wrapper_start.start_byte(),
                    wrapper_start.start_byte() + head,
                ),
                message,
            )
            .with_hint(
                "send only the statements (the template provides imports, memory and exports); \
                 `(return (i32.const N))` ends the program with status N",
            );

        self.blank(Span::new(func.start_byte(), head_end));
        for statement in statements {
            if Some(statement) == status {
                let value = self.status_text(statement);
                self.replace(
                    span(statement),
                    &format!("(return {value})"),
                    Origin::Wrapper,
                );
            } else {
                self.visit_node(statement, 0);
            }
        }
        self.blank(Span::new(
            func.end_byte().saturating_sub(1).max(self.copied_to),
            func.end_byte(),
        ));
    }

    /// Reports a `(param ...)` or a non-status `(result ...)` of a wrapper function. Parameters
    /// are declared as locals so that their uses do not cascade into more errors.
    pub(super) fn check_func_header<'t>(&mut self, header: Node<'t>) {
        if header.kind_id() == self.kinds.param_decl {
            self.reporter
                .error(
                    DiagnosticKind::InvalidWrapper,
                    span(header),
                    format!(
                        "a program takes no parameters: `{}`",
                        self.node_text(header)
                    ),
                )
                .with_hint("read arguments with argv: `(local $n i64) (argv 0 $n)`");
            if let Some(name) = header.child_by_field_name("name") {
                let ty = header
                    .child_by_field_name("type")
                    .and_then(|t| LocalType::parse(self.node_text(t)))
                    .unwrap_or(LocalType::I32);
                self.locals.declare_hidden(self.node_text(name), ty);
            }
        } else if header.kind_id() == self.kinds.result_type {
            let result = self
                .node_text(header)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if result != "(result i32)" && result != "(result)" {
                self.reporter
                    .error(
                        DiagnosticKind::InvalidWrapper,
                        span(header),
                        format!("a program returns results with `resv`, not `{result}`"),
                    )
                    .with_hint("store the value in a typed local and emit it: `(resv $answer)`");
            }
        }
    }

    /// `(i32.const N)` or `i32.const N`, or a `local.get` of an `i32` local: the status a
    /// `(result i32)` function leaves on the stack.
    pub(super) fn is_status_value<'t>(&self, node: Node<'t>) -> bool {
        let instr = if node.kind_id() == self.kinds.folded_instr {
            if node.child_by_field_name("operand").is_some() {
                return false;
            }
            match node.child_by_field_name("instr") {
                Some(instr) => instr,
                None => return false,
            }
        } else {
            node
        };
        let op = instr.child_by_field_name("op").map(|op| self.node_text(op));
        if instr.kind_id() == self.kinds.const_instr {
            return op == Some("i32.const");
        }
        if instr.kind_id() == self.kinds.local_instr && op == Some("local.get") {
            return instr
                .child_by_field_name("local")
                .and_then(|l| self.locals.get(self.node_text(l)))
                .is_some_and(|l| l.ty == LocalType::I32);
        }
        false
    }

    pub(super) fn status_text<'t>(&self, node: Node<'t>) -> String {
        let text = self.node_text(node);
        if node.kind_id() == self.kinds.folded_instr {
            text.to_owned()
        } else {
            format!("({text})")
        }
    }
}
