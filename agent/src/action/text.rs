//! Reading an action from a text reply. Models wrap code in prose and in every container they
//! have seen, so the reply is read leniently, in this order:
//!
//! 1. Reasoning is removed first and never run: `<think>`, `<thinking>` and `<reasoning>`
//!    elements (one left open runs to the end; a closing tag with no opening ends reasoning that
//!    began with the reply). A reply that was only reasoning is refused, so the model is asked
//!    again.
//! 2. Code containers are found: fenced blocks (` ``` ` or `~~~`, opened at a line's start or
//!    after text on the same line, on one line or many, unclosed ones running to the end), and
//!    the elements `<wat>`, `<wasm>`, `<code>`, `<tool_call>` and `<function_call>`. A fence's
//!    tag is the first word of its info string, without `{`, `.`, `language-` and attributes.
//! 3. The body is the last container tagged as WAT (`wat`, `wat-plus`, `wasm`, `wast`,
//!    `webassembly`, and the S-expression languages `lisp`, `scheme`, `clojure`); else a tool
//!    call written as JSON (`{"name": "run_wat", "arguments": {...}}`, in an element, a fence or
//!    the reply itself), read as the tool call it names; else the last container of any other
//!    tag whose text looks like WAT; else the whole reply, if it looks like WAT.
//! 4. Without a body, a line `@reference name` asks for the reference of a capability or a
//!    program (compact prompts), and `@use name(args)` is a catalog call: at the start of a line (after an
//!    optional `Action:` label, list marker or backtick; one that does not parse is an error for
//!    the model) or alone in inline code (one that does not parse, like `` `@use gcd(a, b)` ``,
//!    is a mention of the syntax). It ends at its closing parenthesis; what follows
//!    (punctuation, prose) is not part of it. A mention inside prose is not a call.
//! 5. A reply that is only a code block the rules above do not take is refused (the model is
//!    asked to write WAT or answer), never taken as the answer.
//! 6. Anything else is the answer, without a leading `Answer:` or `Final answer:`.
//!
//! Text "looks like WAT" if its first word, after comments, is an S-expression of a WebAssembly
//! keyword or instruction (`(local`, `(func`, `(i32.add`, `(argv`, …), a `;;` comment, or a bare
//! instruction (`i32.const 1`, `local.get $n`).

use std::borrow::Cow;

use watsmith_catalog::call;

use super::{Action, parse_tool_call};
use crate::provider::ToolCall;

/// Fence tags and element names taken as WAT.
const WAT_TAGS: [&str; 13] = [
    "wat",
    "wat-plus",
    "watplus",
    "wat+",
    "wasm",
    "wast",
    "wasm-text",
    "webassembly",
    "wa",
    "lisp",
    "scheme",
    "clojure",
    "sexp",
];

/// Fence tags of output and prose, not of code: a reply that is only such a block is an answer.
const TEXT_TAGS: [&str; 8] = [
    "",
    "text",
    "txt",
    "plaintext",
    "plain",
    "output",
    "result",
    "console",
];

/// Elements that hold reasoning.
const REASONING: [&str; 3] = ["think", "thinking", "reasoning"];

/// Elements that hold code, and how their text is taken.
const ELEMENTS: [(&str, Tag); 5] = [
    ("wat", Tag::Wat),
    ("wasm", Tag::Wat),
    ("code", Tag::Other),
    ("tool_call", Tag::Json),
    ("function_call", Tag::Json),
];

/// The WebAssembly words that, after `(`, make an S-expression look like WAT.
const WAT_WORDS: [&str; 33] = [
    "module",
    "func",
    "param",
    "result",
    "local",
    "global",
    "memory",
    "data",
    "type",
    "import",
    "export",
    "table",
    "elem",
    "start",
    "block",
    "loop",
    "if",
    "then",
    "else",
    "br",
    "br_if",
    "br_table",
    "return",
    "call",
    "call_indirect",
    "drop",
    "select",
    "nop",
    "unreachable",
    "argv",
    "resv",
    "check",
    "str",
];

/// The prefixes of instruction names (`i32.add`, `local.get`).
const INSTRUCTION_PREFIXES: [&str; 10] = [
    "i32", "i64", "f32", "f64", "v128", "local", "global", "memory", "table", "ref",
];

/// How many lines starting with `{` are tried as a JSON tool call: bounds the work on a long
/// reply full of braces.
const JSON_TRIES: usize = 8;

/// What a container's tag says its text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    /// WAT, whatever it looks like.
    Wat,
    /// JSON (a tool call, perhaps).
    Json,
    /// Prose or output (no tag, `text`, `output`).
    Text,
    /// Another language.
    Other,
}

/// A code container of the reply.
#[derive(Debug)]
struct Block<'a> {
    tag: Tag,
    /// The tag as written (lowercase), for messages.
    name: String,
    text: Cow<'a, str>,
}

/// Reads a text reply, by the rules of the module documentation; an error is told to the model.
pub fn parse_text(reply: &str) -> Result<Action, String> {
    let visible = without_reasoning(reply);
    if visible.trim().is_empty() && !reply.trim().is_empty() {
        return Err(
            "the reply holds only reasoning (in a `<think>` element) and no action; \
                    after reasoning, write the action"
                .to_owned(),
        );
    }
    let (blocks, outside) = containers(&visible);
    if let Some(block) = blocks.iter().rev().find(|b| b.tag == Tag::Wat) {
        return Ok(run(&block.text));
    }
    let json_call = blocks
        .iter()
        .rev()
        .filter(|b| matches!(b.tag, Tag::Json | Tag::Text))
        .find_map(|b| json_tool_call(&b.text))
        .or_else(|| json_call_in(&visible));
    if let Some(call) = json_call {
        return parse_tool_call(&call);
    }
    if let Some(block) = blocks.iter().rev().find(|b| looks_like_wat(&b.text)) {
        return Ok(run(&block.text));
    }
    let trimmed = visible.trim();
    if looks_like_wat(trimmed) {
        return Ok(run(trimmed));
    }
    if let Some(topic) = reference_line(&visible) {
        return Ok(Action::Reference { topic });
    }
    if let Some(text) = line_use_call(&visible) {
        let parsed = call::parse(text).map_err(|e| format!("in `{text}`: {e}"))?;
        return Ok(Action::Use {
            name: parsed.name,
            args: parsed.args,
        });
    }
    if let Some(parsed) = inline_use_call(&visible) {
        return Ok(Action::Use {
            name: parsed.name,
            args: parsed.args,
        });
    }
    if outside.trim().is_empty()
        && let Some(block) = blocks
            .iter()
            .find(|b| !TEXT_TAGS.contains(&b.name.as_str()))
    {
        return Err(format!(
            "the reply is only a `{}` block, which is not WAT: write the body in a ```wat \
             block, or answer in prose",
            block.name
        ));
    }
    let answer = strip_answer_label(trimmed);
    if answer.is_empty() {
        // An empty reply (a server that answered with nothing, a bare `Answer:`) is no answer.
        return Err(
            "the reply is empty: run a program (a ```wat block), call a catalog program, or \
             write the answer in prose"
                .to_owned(),
        );
    }
    Ok(Action::Answer {
        text: answer.to_owned(),
    })
}

/// The action that runs `body`.
fn run(body: &str) -> Action {
    Action::RunWat {
        body: body.to_owned(),
        args: Vec::new(),
    }
}

fn strip_answer_label(text: &str) -> &str {
    for label in ["final answer:", "answer:", "final:"] {
        if text.len() >= label.len()
            && text.is_char_boundary(label.len())
            && text[..label.len()].eq_ignore_ascii_case(label)
        {
            return text[label.len()..].trim_start();
        }
    }
    text
}

/// `text` with its reasoning elements removed.
fn without_reasoning(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    // A closing tag before any opening one: the reply began inside reasoning (the opening tag
    // was in the chat template).
    let mut start = 0;
    let first_open = REASONING
        .iter()
        .filter_map(|name| find_open(&lower, name, 0).map(|(at, _)| at))
        .min();
    for name in REASONING {
        let close = format!("</{name}>");
        if let Some(at) = lower.find(&close)
            && first_open.is_none_or(|open| at < open)
        {
            start = start.max(at + close.len());
        }
    }
    let mut kept = String::new();
    let mut at = start;
    loop {
        let next = REASONING
            .iter()
            .filter_map(|name| find_open(&lower, name, at).map(|(open, end)| (open, end, *name)))
            .min_by_key(|&(open, _, _)| open);
        let Some((open, end, name)) = next else {
            kept.push_str(&text[at..]);
            break;
        };
        kept.push_str(&text[at..open]);
        let close = format!("</{name}>");
        match lower[end..].find(&close) {
            Some(offset) => at = end + offset + close.len(),
            None => break,
        }
    }
    if kept.len() == text.len() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(kept)
    }
}

/// The next opening tag `<name>` or `<name attributes>` in `lower` from `from`: where it starts
/// and where it ends.
fn find_open(lower: &str, name: &str, from: usize) -> Option<(usize, usize)> {
    let pattern = format!("<{name}");
    let mut search = from;
    while let Some(offset) = lower[search..].find(&pattern) {
        let open = search + offset;
        let after = open + pattern.len();
        match lower[after..].chars().next() {
            Some('>') => return Some((open, after + 1)),
            Some(c) if c.is_whitespace() => {
                let close = lower[after..].find('>')?;
                return Some((open, after + close + 1));
            }
            _ => search = after,
        }
    }
    None
}

/// The code containers of `text`, in order, and the text outside them.
fn containers(text: &str) -> (Vec<Block<'_>>, String) {
    let mut blocks = Vec::new();
    let mut outside = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((at, fence)) = fence_in(line) else {
            outside.push_str(line);
            outside.push('\n');
            continue;
        };
        outside.push_str(&line[..at]);
        let after = &line[at + fence.len()..];
        // A one-line block: ```wat (nop)``` or ```(nop)```.
        if let Some(end) = after.find(fence) {
            let (name, body) = split_info(&after[..end]);
            blocks.push(block(&name, Cow::Owned(body.to_owned())));
            outside.push_str(&after[end + fence.len()..]);
            outside.push('\n');
            continue;
        }
        let (name, first) = split_info(after);
        let mut body = String::new();
        if !first.trim().is_empty() {
            body.push_str(first);
            body.push('\n');
        }
        for inner in lines.by_ref() {
            let trimmed = inner.trim();
            if trimmed.starts_with(fence) {
                break;
            }
            if let Some(before) = trimmed.strip_suffix(fence) {
                body.push_str(before);
                body.push('\n');
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        blocks.push(block(&name, Cow::Owned(body)));
    }
    let lower = text.to_ascii_lowercase();
    for (name, tag) in ELEMENTS {
        let mut from = 0;
        while let Some((open, start)) = find_open(&lower, name, from) {
            let close = format!("</{name}>");
            let (end, next) = match lower[start..].find(&close) {
                Some(offset) => (start + offset, start + offset + close.len()),
                None => (text.len(), text.len()),
            };
            let inner = &text[start..end];
            // A fence inside the element is read as a fence.
            if fence_in(inner).is_none() {
                blocks.push(Block {
                    tag,
                    name: name.to_owned(),
                    text: Cow::Borrowed(inner.trim_matches('\n')),
                });
                outside = outside.replace(&text[open..next], "");
            }
            from = next;
        }
    }
    (blocks, outside)
}

/// The first fence in `line` (three or more backticks or tildes): where and which.
fn fence_in(line: &str) -> Option<(usize, &str)> {
    ["```", "~~~"]
        .into_iter()
        .filter_map(|fence| line.find(fence).map(|at| (at, fence)))
        .min_by_key(|&(at, _)| at)
        .map(|(at, fence)| {
            let run = line[at..]
                .chars()
                .take_while(|&c| fence.starts_with(c))
                .count();
            (at, &line[at..at + run])
        })
}

/// A fence's info string split into its tag (lowercase, without `{`, `.` and `language-`) and
/// the code that follows it on the same line, if the info is code rather than a tag.
fn split_info(info: &str) -> (String, &str) {
    let info = info.trim();
    if info.starts_with('(') || info.starts_with(";;") {
        return (String::new(), info);
    }
    let word_end = info
        .find(|c: char| c.is_whitespace() || c == '{' || c == '}')
        .unwrap_or(info.len());
    let word = info[..word_end].trim_start_matches(['{', '.']);
    let word = word.strip_prefix("language-").unwrap_or(word);
    let rest = info[word_end..].trim_start();
    // `wat (nop)` on one line: the tag, then code; `wat title="x"`: the tag, then attributes.
    let code = if rest.starts_with('(') || rest.starts_with(";;") {
        rest
    } else {
        ""
    };
    (word.to_ascii_lowercase(), code)
}

/// A container of the fence tag `name`.
fn block<'a>(name: &str, text: Cow<'a, str>) -> Block<'a> {
    let tag = if WAT_TAGS.contains(&name) {
        Tag::Wat
    } else if name == "json" || name == "jsonc" || name == "tool_call" {
        Tag::Json
    } else if TEXT_TAGS.contains(&name) {
        Tag::Text
    } else {
        Tag::Other
    };
    Block {
        tag,
        name: name.to_owned(),
        text,
    }
}

/// Whether `text` looks like WAT: its first word, after blank lines, is a `;;` comment, an
/// S-expression of a WebAssembly word or instruction, or a bare instruction.
fn looks_like_wat(text: &str) -> bool {
    let text = text.trim_start();
    if text.starts_with(";;") || text.starts_with("(;") {
        return true;
    }
    let (word, in_parens) = match text.strip_prefix('(') {
        Some(rest) => (first_word(rest.trim_start()), true),
        None => (first_word(text), false),
    };
    let instruction = word.split_once('.').is_some_and(|(prefix, name)| {
        INSTRUCTION_PREFIXES.contains(&prefix)
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
    });
    instruction || (in_parens && WAT_WORDS.contains(&word))
}

/// The word `text` starts with: letters, digits, `.` and `_`.
fn first_word(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// A tool call written as JSON: `{"name": …, "arguments": …}` (or `parameters`), or the same
/// inside `{"function": …}`; its arguments as any JSON value.
fn json_tool_call(text: &str) -> Option<ToolCall> {
    let text = text.trim();
    if !text.starts_with('{') {
        return None;
    }
    let value: serde_json::Value = serde_json::Deserializer::from_str(text)
        .into_iter()
        .next()?
        .ok()?;
    tool_call_of(&value)
}

fn tool_call_of(value: &serde_json::Value) -> Option<ToolCall> {
    let object = value.as_object()?;
    if let Some(function) = object.get("function").filter(|f| f.is_object()) {
        return tool_call_of(function);
    }
    let name = object.get("name")?.as_str()?;
    let arguments = object
        .get("arguments")
        .or_else(|| object.get("parameters"))?;
    Some(ToolCall::from_wire(
        "call_0".to_owned(),
        name.to_owned(),
        arguments.clone(),
    ))
}

/// A JSON tool call that starts a line of `text` (the first few such lines are tried).
fn json_call_in(text: &str) -> Option<ToolCall> {
    let mut offset = 0;
    let mut tries = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('{') && tries < JSON_TRIES {
            tries += 1;
            let start = offset + (line.len() - trimmed.len());
            if let Some(call) = json_tool_call(&text[start..]) {
                return Some(call);
            }
        }
        offset += line.len();
    }
    None
}

/// The text of a catalog call at the start of a line (after an optional `Action:` label, list
/// marker or backtick), up to its closing parenthesis.
fn line_use_call(text: &str) -> Option<&str> {
    for line in text.lines() {
        let mut rest = line.trim_start();
        for prefix in ["- ", "* ", "> "] {
            rest = rest.strip_prefix(prefix).unwrap_or(rest).trim_start();
        }
        let rest = strip_label(rest).trim_start_matches('`').trim_start();
        if rest.starts_with(call::KEYWORD) {
            return Some(call_text(rest));
        }
    }
    None
}

/// The topic of an `@reference name` line (after an optional `Action:` label or a backtick).
fn reference_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim_start();
        let rest = strip_label(rest).trim_start_matches('`').trim_start();
        let topic = rest.strip_prefix(super::REFERENCE_KEYWORD)?;
        let topic = topic
            .trim()
            .trim_end_matches(['`', '.', ',', ';', ':', '!', '?'])
            .trim_matches(['(', ')', '"', '\''])
            .trim();
        Some(topic.to_owned())
    })
}

/// `text` without a leading `Action:` label (any case).
fn strip_label(text: &str) -> &str {
    let label = "action:";
    if text.len() >= label.len()
        && text.is_char_boundary(label.len())
        && text[..label.len()].eq_ignore_ascii_case(label)
    {
        text[label.len()..].trim_start()
    } else {
        text
    }
}

/// A catalog call alone in inline code within prose (`` `@use gcd(12, 18)` ``). One that does
/// not parse is a mention of the syntax (`` `@use gcd(a, b)` ``), not a call.
fn inline_use_call(text: &str) -> Option<call::Call> {
    let mut spans = text.split('`');
    spans.next();
    while let Some(code) = spans.next() {
        let code = code.trim();
        if code.starts_with(call::KEYWORD) {
            let call = call_text(code);
            if code[call.len()..].trim().is_empty()
                && let Ok(parsed) = call::parse(call)
            {
                return Some(parsed);
            }
        }
        spans.next();
    }
    None
}

/// `text`, which starts with `@use`, up to the parenthesis that closes the call (quotes
/// respected); the whole line if it never closes, so that the parser says what is missing.
fn call_text(text: &str) -> &str {
    let line = text.lines().next().unwrap_or_default();
    let Some(open) = line.find('(') else {
        return line
            .trim_end_matches(['.', ',', ';', ':', '!', '?', '`'])
            .trim_end();
    };
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in line[open..].char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return &line[..open + at + 1];
                }
            }
            (None, _) => {}
        }
    }
    line.trim_end_matches('`').trim_end()
}
