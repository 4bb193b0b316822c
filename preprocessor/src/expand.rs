//! The expander: walks the syntax tree of a body, checks it and writes the plain-WAT body.
//!
//! Two walks over the tree. The first collects the local declarations (a local may be declared
//! after its use). The second checks references (locals, labels), reports unknown instructions
//! and syntax errors, and emits the output: runs of the input copied verbatim, with macros,
//! string literals, declarations and wrappers replaced. Replacements keep the line breaks of the
//! text they replace, and removed text (declarations, wrappers) is blanked byte for byte, so every
//! verbatim byte keeps its line, and its column up to the first macro or literal on its line.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use tree_sitter::{Node, TreeCursor};

use crate::data::{DataLayout, decode_quoted};
use crate::diagnostic::{DiagnosticKind, Reporter};
use crate::hoist::{LocalTable, LocalType};
use crate::limits::{BODY_LABEL, ERR_LOCAL, MAX_NESTING};
use crate::macros::{self, Argument};
use crate::source_map::{MacroKind, Origin, SourceMap};
use crate::span::Span;
use crate::suggestion;
use crate::{Call, Expanded};

/// Node kind ids of the grammar, resolved once.
#[derive(Debug)]
struct Kinds {
    local_decl: u16,
    macro_: u16,
    string: u16,
    raw_string: u16,
    local_instr: u16,
    branch_instr: u16,
    br_table_instr: u16,
    call_instr: u16,
    unknown_instr: u16,
    const_instr: u16,
    folded_instr: u16,
    block: u16,
    loop_: u16,
    if_: u16,
    then_block: u16,
    else_block: u16,
    flat_block: u16,
    flat_loop: u16,
    flat_if: u16,
    module: u16,
    func: u16,
    param_decl: u16,
    result_type: u16,
    identifier: u16,
    number: u16,
    value_type: u16,
    line_comment: u16,
    block_comment: u16,
    field_local: u16,
    field_label: u16,
    field_function: u16,
    field_name: u16,
    field_argument: u16,
}

fn kinds() -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| {
        let language: tree_sitter::Language = watsmith_grammar::LANGUAGE.into();
        let id = |kind: &str| {
            let id = language.id_for_node_kind(kind, true);
            assert_ne!(id, 0, "the grammar defines node kind `{kind}`");
            id
        };
        let field = |name: &str| {
            language
                .field_id_for_name(name)
                .map(u16::from)
                .unwrap_or_else(|| panic!("the grammar defines field `{name}`"))
        };
        Kinds {
            field_local: field("local"),
            field_label: field("label"),
            field_function: field("function"),
            field_name: field("name"),
            field_argument: field("argument"),
            local_decl: id("local_decl"),
            macro_: id("macro"),
            string: id("string"),
            raw_string: id("raw_string"),
            local_instr: id("local_instr"),
            branch_instr: id("branch_instr"),
            br_table_instr: id("br_table_instr"),
            call_instr: id("call_instr"),
            unknown_instr: id("unknown_instr"),
            const_instr: id("const_instr"),
            folded_instr: id("folded_instr"),
            block: id("block"),
            loop_: id("loop"),
            if_: id("if"),
            then_block: id("then_block"),
            else_block: id("else_block"),
            flat_block: id("flat_block"),
            flat_loop: id("flat_loop"),
            flat_if: id("flat_if"),
            module: id("module"),
            func: id("func"),
            param_decl: id("param_decl"),
            result_type: id("result_type"),
            identifier: id("identifier"),
            number: id("number"),
            value_type: id("value_type"),
            line_comment: id("line_comment"),
            block_comment: id("block_comment"),
        }
    })
}

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
    labels: Vec<Option<&'s str>>,
    out: String,
    copied_to: usize,
    map: SourceMap,
    data: DataLayout,
    calls: Vec<Call>,
    called: HashSet<String>,
    uses_err: bool,
    first_use: HashMap<&'s str, usize>,
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
            let Some(&used_at) = self.first_use.get(local.0.as_str()) else {
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

    // ---- output -------------------------------------------------------------------------------

    /// Copies the input up to `to` verbatim.
    fn flush(&mut self, to: usize) {
        if to > self.copied_to {
            let start = self.out.len();
            self.out.push_str(&self.text[self.copied_to..to]);
            self.map.push(
                Span::new(start, self.out.len()),
                Span::new(self.copied_to, to),
                Origin::Verbatim,
            );
            self.copied_to = to;
        }
    }

    /// Replaces `span` of the input with generated `text` (plus the line breaks of `span`).
    fn replace(&mut self, span: Span, text: &str, origin: Origin) {
        self.flush(span.start);
        let start = self.out.len();
        self.out.push_str(text);
        let replaced = &self.text[span.range()];
        if let Some(last) = replaced.rfind('\n') {
            self.out
                .extend(std::iter::repeat_n('\n', replaced.matches('\n').count()));
            // Keep the indentation of the next line when the replaced text ends with it.
            let tail = &replaced[last + 1..];
            if tail.bytes().all(|b| b == b' ' || b == b'\t') {
                self.out.push_str(tail);
            }
        }
        self.map
            .push(Span::new(start, self.out.len()), span, origin);
        self.copied_to = span.end;
    }

    /// Removes `span` of the input, keeping its bytes' positions: every byte but a line break
    /// becomes a space. The blanked run maps back byte for byte like verbatim text.
    fn blank(&mut self, span: Span) {
        self.flush(span.start);
        let start = self.out.len();
        self.out.extend(
            self.text.as_bytes()[span.range()]
                .iter()
                .map(|&b| if b == b'\n' { '\n' } else { ' ' }),
        );
        self.map
            .push(Span::new(start, self.out.len()), span, Origin::Verbatim);
        self.copied_to = span.end;
    }

    // ---- declarations -----------------------------------------------------------------------

    fn declare<'t>(&mut self, decl: Node<'t>) {
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
            let suggestion = suggestion::closest(token, LocalType::ALL.iter().map(|t| t.as_str()));
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

    // ---- pass 2: check and emit -------------------------------------------------------------

    /// Visits the children of the cursor's node with the same cursor, and returns to the node.
    fn visit_children<'t>(&mut self, cursor: &mut TreeCursor<'t>, depth: usize) {
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

    fn visit<'t>(&mut self, cursor: &mut TreeCursor<'t>, depth: usize) {
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
        if kind == k.local_decl {
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
                    .map(|l| self.node_text(l)),
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
    fn report_nested_errors<'t>(&mut self, node: Node<'t>) {
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
    fn visit_if<'t>(&mut self, cursor: &mut TreeCursor<'t>, depth: usize) {
        let label = cursor
            .node()
            .child_by_field_id(self.kinds.field_label)
            .map(|l| self.node_text(l));
        let mut scoped = false;
        if cursor.goto_first_child() {
            loop {
                let child = cursor.node();
                if !scoped
                    && (child.kind_id() == self.kinds.then_block
                        || child.kind_id() == self.kinds.else_block)
                {
                    self.labels.push(label);
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

    fn string_literal<'t>(&mut self, node: Node<'t>, bytes: Vec<u8>) {
        let offset = self.data.intern(bytes, span(node));
        self.replace(
            span(node),
            &format!("(i32.const {offset})"),
            Origin::StringLiteral,
        );
    }

    fn note_use(&mut self, name: &'s str, at: usize) {
        self.first_use.entry(name).or_insert(at);
    }

    fn check_local<'t>(&mut self, local: Node<'t>) {
        let text = self.node_text(local);
        if local.kind_id() == self.kinds.number {
            if self.anonymous_locals {
                return;
            }
            let in_range = text.parse::<usize>().is_ok_and(|i| i < self.locals.len());
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
        let hint = match suggestion::closest(text, self.locals.names()) {
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

    fn check_label<'t>(&mut self, label: Node<'t>) {
        let text = self.node_text(label);
        // Numeric targets: the open blocks (0 = innermost), then the template's `$body` block.
        if label.kind_id() == self.kinds.number {
            let body_depth = self.labels.len();
            if !text.parse::<usize>().is_ok_and(|depth| depth <= body_depth) {
                self.reporter
                    .error(DiagnosticKind::UnknownLabel, span(label), format!("branch depth {text} is out of range"))
                    .with_hint(format!(
                        "depth 0 is the innermost enclosing block and {body_depth} the body's own `{BODY_LABEL}` block; \
                         prefer labels, as in `(br $done)`"
                    ));
            }
            return;
        }
        if text == BODY_LABEL || self.labels.iter().flatten().any(|l| *l == text) {
            return;
        }
        let in_scope: Vec<&str> = self
            .labels
            .iter()
            .flatten()
            .copied()
            .chain([BODY_LABEL])
            .collect();
        let hint = match suggestion::closest(text, in_scope.iter().copied()) {
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

    fn record_call<'t>(&mut self, function: Node<'t>) {
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
        self.add_call(text, span(function), false);
    }

    fn add_call(&mut self, name: &str, at: Span, from_macro: bool) {
        if self.called.insert(name.to_owned()) {
            self.calls.push(Call {
                name: name.to_owned(),
                span: at,
                from_macro,
            });
        }
    }

    // ---- macros -------------------------------------------------------------------------------

    fn expand_macro<'t>(&mut self, cursor: &mut TreeCursor<'t>, depth: usize) {
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

    fn visit_node<'t>(&mut self, node: Node<'t>, depth: usize) {
        let mut cursor = node.walk();
        self.visit(&mut cursor, depth + 1);
    }

    // ---- wrappers -----------------------------------------------------------------------------

    fn unwrap<'t>(&mut self, wrapper: Node<'t>) {
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
    fn unwrap_func<'t>(&mut self, func: Node<'t>, wrapper: &str, ignored_fields: Vec<String>) {
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
    fn check_func_header<'t>(&mut self, header: Node<'t>) {
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
    fn is_status_value<'t>(&self, node: Node<'t>) -> bool {
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

    fn status_text<'t>(&self, node: Node<'t>) -> String {
        let text = self.node_text(node);
        if node.kind_id() == self.kinds.folded_instr {
            text.to_owned()
        } else {
            format!("({text})")
        }
    }

    // ---- syntax errors ------------------------------------------------------------------------

    fn report_unknown_instruction<'t>(&mut self, node: Node<'t>) {
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
                suggestion::closest_instruction(word).map(suggestion::did_you_mean),
            ),
        };
        let diagnostic = self
            .reporter
            .error(DiagnosticKind::UnknownInstruction, at, message);
        if let Some(hint) = hint {
            diagnostic.with_hint(hint);
        }
    }

    fn report_syntax_error<'t>(&mut self, node: Node<'t>) {
        let token = first_token_text(node, self.text);
        let at = Span::new(node.start_byte(), node.start_byte() + token.len());
        let word = token.trim_start_matches('(');
        let in_macro = node
            .parent()
            .is_some_and(|p| p.kind_id() == self.kinds.macro_);
        let hint = if in_macro && LocalType::parse(word).is_some() {
            Some("leave the type out: a macro uses the type the local was declared with".to_owned())
        } else if word.starts_with(|c: char| c.is_ascii_alphabetic())
            && !suggestion::is_keyword(word)
        {
            suggestion::closest_instruction(word).map(suggestion::did_you_mean)
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

    fn report_missing<'t>(&mut self, node: Node<'t>) {
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
    fn describe<'t>(&self, parent: Node<'t>) -> Option<String> {
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
