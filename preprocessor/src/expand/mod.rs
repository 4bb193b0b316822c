//! The expander: walks the syntax tree of a body, checks it and writes the plain-WAT body.
//!
//! Two walks over the tree. The first collects the local declarations (a local may be declared
//! after its use). The second checks references (locals, labels), reports unknown instructions
//! and syntax errors, and emits the output: runs of the input copied verbatim, with macros,
//! string literals, declarations and wrappers replaced. Replacements keep the line breaks of the
//! text they replace, and removed text (declarations, wrappers) is blanked byte for byte, so every
//! verbatim byte keeps its line, and its column up to the first macro or literal on its line.

mod declarations;
mod kinds;
mod macro_calls;
mod output;
mod syntax;
mod walk;
mod wrappers;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, TreeCursor};

use self::kinds::{Kinds, kinds};
use crate::data::DataLayout;
use crate::diagnostic::{DiagnosticKind, Reporter};
use crate::hoist::{LocalTable, LocalType};
use crate::identifier::canonical;
use crate::limits::ERR_LOCAL;
use crate::source_map::SourceMap;
use crate::span::Span;
use crate::{Call, Expanded};

fn span(node: Node<'_>) -> Span {
    Span::from(node.byte_range())
}

/// Walks one parsed body. `text` is what was parsed (the input with fences blanked); the
/// reporter shows the input as the model wrote it. Both have the same byte offsets.
pub(crate) struct Expander<'s, 'r> {
    text: &'s str,
    kinds: &'static Kinds,
    reporter: &'r mut Reporter<'s>,
    locals: LocalTable,
    /// The labels of the open blocks, innermost last, in [`canonical`] spelling.
    labels: Vec<Option<Cow<'s, str>>>,
    out: String,
    copied_to: usize,
    map: SourceMap,
    data: DataLayout,
    calls: Vec<Call>,
    arguments: Vec<(u32, LocalType)>,
    called: HashSet<String>,
    uses_err: bool,
    first_use: HashMap<Cow<'s, str>, usize>,
    bang_reported: bool,
    nesting_reported: bool,
    /// An anonymous local was declared (and reported); numeric indexes cannot be checked.
    anonymous_locals: bool,
}

impl<'s, 'r> Expander<'s, 'r> {
    pub(crate) fn new(text: &'s str, reporter: &'r mut Reporter<'s>) -> Self {
        Self {
            text,
            kinds: kinds(),
            reporter,
            locals: LocalTable::default(),
            labels: Vec::new(),
            out: String::with_capacity(text.len() + text.len() / 2),
            copied_to: 0,
            map: SourceMap::default(),
            data: DataLayout::default(),
            calls: Vec::new(),
            arguments: Vec::new(),
            called: HashSet::new(),
            uses_err: false,
            first_use: HashMap::new(),
            bang_reported: false,
            nesting_reported: false,
            anonymous_locals: false,
        }
    }

    fn node_text(&self, node: Node<'_>) -> &'s str {
        &self.text[node.byte_range()]
    }

    /// Expands the body under `root`; the result is meaningful only if no error was reported.
    /// Expands the body under `root`; `declarations` are the offsets of the `(` of every
    /// `(local ...)` the delimiter scan saw. The result is meaningful only if no error was
    /// reported.
    pub(crate) fn run<'t>(mut self, root: Node<'t>, declarations: &[usize]) -> Expanded {
        for &offset in declarations {
            if let Some(decl) = root.named_descendant_for_byte_range(offset, offset + 1)
                && decl.kind_id() == self.kinds.local_decl
                && decl.start_byte() == offset
            {
                self.declare(decl);
            }
        }
        let mut cursor = root.walk();
        match self.sole_wrapper(&mut cursor) {
            Some(wrapper) => self.unwrap(wrapper),
            None => {
                cursor.reset(root);
                self.visit_children(&mut cursor, 0);
            }
        }
        self.flush(self.text.len());
        self.finish()
    }

    /// The `(func ...)` or `(module ...)` that is the whole body, apart from comments. A wrapper
    /// among other statements is reported when the walk reaches it.
    fn sole_wrapper<'t>(&self, cursor: &mut TreeCursor<'t>) -> Option<Node<'t>> {
        if !cursor.goto_first_child() {
            return None;
        }
        let mut wrapper = None;
        loop {
            let node = cursor.node();
            if !self.is_comment(node) {
                let is_wrapper =
                    node.kind_id() == self.kinds.module || node.kind_id() == self.kinds.func;
                if !is_wrapper || wrapper.is_some() {
                    return None;
                }
                wrapper = Some(node);
            }
            if !cursor.goto_next_sibling() {
                return wrapper;
            }
        }
    }

    fn report_misplaced_wrapper<'t>(&mut self, wrapper: Node<'t>) {
        let what = if wrapper.kind_id() == self.kinds.module {
            "module"
        } else {
            "func"
        };
        self.reporter
            .error(
                DiagnosticKind::InvalidWrapper,
                Span::new(wrapper.start_byte(), wrapper.start_byte() + 1 + what.len()),
                format!("a `({what} ...)` wrapper must enclose the whole body, or be left out"),
            )
            .with_hint("send only the statements of the entry function; the template wraps them");
    }

    fn finish(mut self) -> Expanded {
        for local in self.locals_in_order() {
            let Some(&used_at) = self.first_use.get(canonical(&local.0).as_ref()) else {
                continue;
            };
            if local.1.start > used_at {
                let related = self.reporter.related(
                    Span::new(used_at, used_at + local.0.len()),
                    "first used here",
                );
                self.reporter
                    .warning(
                        DiagnosticKind::LocalAfterUse,
                        local.1,
                        format!(
                            "local `{}` is declared after its first use at line {}; it is hoisted",
                            local.0, related.line
                        ),
                    )
                    .with_related(related);
            }
        }
        if self.uses_err {
            self.locals.declare_hidden(ERR_LOCAL, LocalType::I32);
        }
        let (data, initial_top) = self.data.finish();
        Expanded {
            body: self.out,
            locals: self.locals.into_locals(),
            data,
            initial_top,
            calls: self.calls,
            arguments: self.arguments,
            source_map: self.map,
            warnings: Vec::new(),
        }
    }

    fn locals_in_order(&self) -> Vec<(String, Span)> {
        self.locals
            .names()
            .filter_map(|n| self.locals.get(n))
            .map(|l| (l.name.clone(), l.span))
            .collect()
    }

    fn is_comment(&self, node: Node<'_>) -> bool {
        node.kind_id() == self.kinds.line_comment || node.kind_id() == self.kinds.block_comment
    }
}

fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// The text of the first leaf of `node` (its first token).
fn first_token_text<'s>(node: Node<'_>, text: &'s str) -> &'s str {
    let mut leaf = node;
    while let Some(child) = leaf.child(0) {
        leaf = child;
    }
    let token = &text[leaf.byte_range()];
    if token.is_empty() {
        &text[node.byte_range()]
    } else {
        token
    }
}

/// At most 40 characters of a token, on one line.
fn truncate(token: &str) -> String {
    let line = token.lines().next().unwrap_or_default();
    if line.chars().count() > 40 || line.len() < token.len() {
        format!("{}...", line.chars().take(40).collect::<String>())
    } else {
        line.to_owned()
    }
}
