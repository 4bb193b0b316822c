//! Syntax errors and unknown instructions, described for the model.

use tree_sitter::Node;

use super::{Expander, first_token_text, span, truncate};
use crate::diagnostic::DiagnosticKind;
use crate::hoist::LocalType;
use crate::source_map::MacroKind;
use crate::span::Span;
use crate::suggestion;

impl<'s, 'r> Expander<'s, 'r> {
    pub(super) fn report_unknown_instruction<'t>(&mut self, node: Node<'t>) {
        let Some(word_node) = node.child_by_field_name("name") else {
            return;
        };
        let word = self.node_text(word_node);
        let at = span(word_node);
        let (message, hint) = match word {
            "end" | "else" | "then" => (
                format!("`{word}` does not close anything here"),
                Some("a flat `block`, `loop` or `if` ends with `end`; a folded `(block ...)` ends with `)`".to_owned()),
            ),
            _ if MacroKind::parse(word).is_some() => (
                format!("macro `{word}` outside parentheses"),
                Some(format!("macros are written in parentheses, as in `({word} ...)`")),
            ),
            "data" | "global" | "table" | "elem" | "type" | "start" => (
                format!("`{word}` is a module field, and a body is the inside of one function"),
                Some(module_field_hint(word)),
            ),
            "local" | "param" | "result" | "func" | "module" | "export" | "import" | "memory" => (
                format!("unexpected `{word}` outside parentheses"),
                Some(format!("write it in parentheses, as in `({word} ...)`")),
            ),
            _ if LocalType::parse(word).is_some() => (
                format!("unexpected type `{word}`"),
                Some(format!("types appear in declarations, as in `(local $x {word})`, or before an instruction, as in `{word}.add`", )),
            ),
            _ => (
                format!("unknown instruction `{word}`"),
                self.reporter.suggest_instruction(word).map(suggestion::did_you_mean),
            ),
        };
        let diagnostic = self
            .reporter
            .error(DiagnosticKind::UnknownInstruction, at, message);
        if let Some(hint) = hint {
            diagnostic.with_hint(hint);
        }
    }

    pub(super) fn report_syntax_error<'t>(&mut self, node: Node<'t>) {
        let token = first_token_text(node, self.text);
        let at = Span::new(node.start_byte(), node.start_byte() + token.len());
        let word = token.trim_start_matches('(');
        let in_macro = node
            .parent()
            .is_some_and(|p| p.kind_id() == self.kinds.macro_);
        let hint = if in_macro && LocalType::parse(word).is_some() {
            Some("leave the type out: a macro uses the type the local was declared with".to_owned())
        } else if matches!(
            word,
            "data" | "global" | "table" | "elem" | "type" | "start"
        ) {
            Some(module_field_hint(word))
        } else if word.starts_with(|c: char| c.is_ascii_alphabetic())
            && !suggestion::is_keyword(word)
        {
            self.reporter
                .suggest_instruction(word)
                .map(suggestion::did_you_mean)
        } else {
            None
        };
        let context = node.parent().and_then(|p| self.describe(p));
        let message = match context {
            Some(context) => format!("unexpected `{}` {context}", truncate(token)),
            None => format!("unexpected `{}`", truncate(token)),
        };
        let diagnostic = self
            .reporter
            .error(DiagnosticKind::UnexpectedToken, at, message);
        if let Some(hint) = hint {
            diagnostic.with_hint(hint);
        }
    }

    pub(super) fn report_missing<'t>(&mut self, node: Node<'t>) {
        let at = Span::new(node.start_byte(), node.start_byte());
        let parent = node.parent();
        let op = parent
            .and_then(|p| p.child_by_field_name("op"))
            .map(|op| self.node_text(op))
            .unwrap_or_default();
        let parent_kind = parent.map(|p| p.kind_id());
        let k = self.kinds;
        let (message, hint) = if parent_kind == Some(k.const_instr) {
            (
                format!("`{op}` needs a value"),
                format!("write the constant after it, as in `({op} 42)`"),
            )
        } else if parent_kind == Some(k.local_instr) {
            (
                format!("`{op}` needs a local"),
                format!("name the local, as in `({op} $x)`"),
            )
        } else if parent_kind == Some(k.branch_instr) || parent_kind == Some(k.br_table_instr) {
            (
                format!("`{op}` needs a label"),
                format!("name the target, as in `({op} $done)`"),
            )
        } else if parent_kind == Some(k.call_instr) {
            (
                "`call` needs a function".to_owned(),
                "name the function, as in `(call $str.len (local.get $s))`".to_owned(),
            )
        } else {
            let what = if node.is_named() {
                node.kind().replace('_', " ")
            } else {
                format!("`{}`", node.kind())
            };
            (format!("missing {what}"), "complete the form".to_owned())
        };
        self.reporter
            .error(DiagnosticKind::MissingToken, at, message)
            .with_hint(hint);
    }

    /// Where a syntax error sits, for its message.
    pub(super) fn describe<'t>(&self, parent: Node<'t>) -> Option<String> {
        let k = self.kinds;
        let kind = parent.kind_id();
        if let Some(op) = parent.child_by_field_name("op") {
            return Some(format!("after `{}`", self.node_text(op)));
        }
        if kind == k.folded_instr {
            return parent.child_by_field_name("instr").map(|i| {
                let head = i
                    .child_by_field_name("op")
                    .map_or_else(|| self.node_text(i), |op| self.node_text(op));
                format!("in `({head} ...)`")
            });
        }
        if kind == k.macro_ {
            return parent
                .child_by_field_name("name")
                .map(|n| format!("in `({} ...)`", self.node_text(n)));
        }
        None
    }
}

/// What to write instead of a module field in a body.
fn module_field_hint(word: &str) -> String {
    match word {
        "data" => "a body has no data segments of its own: write a string literal (\"text\") where the bytes are needed; it becomes a pointer to them".to_owned(),
        "global" => "keep the value in a local: `(local $g i64)`".to_owned(),
        _ => format!("a body cannot declare a `{word}`: write the function's statements only"),
    }
}
