//! WAT read token by token: enough to cut a function's body out of a `.wast` file as written
//! and to rewrite the two things a body cannot keep (`return` and calls of the module's own
//! functions), leaving every other byte as the spec wrote it.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Open,
    Close,
    /// A keyword, number, identifier (`$x`, `$"quoted"`) or `offset=`-style immediate.
    Atom,
    String,
}

/// One token: its kind and byte range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// The end of the string literal that starts at `at` (a `"`).
fn string_end(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The first token at or after `pos`, skipping white space and comments.
pub(crate) fn next(text: &str, mut pos: usize) -> Option<Token> {
    let bytes = text.as_bytes();
    loop {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if bytes[pos..].starts_with(b";;") {
            pos = text[pos..].find('\n').map_or(bytes.len(), |n| pos + n);
        } else if bytes[pos..].starts_with(b"(;") {
            let mut depth = 0usize;
            while pos < bytes.len() {
                if bytes[pos..].starts_with(b"(;") {
                    depth += 1;
                    pos += 2;
                } else if bytes[pos..].starts_with(b";)") {
                    depth -= 1;
                    pos += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    pos += 1;
                }
            }
        } else {
            break;
        }
    }
    let start = pos;
    let (kind, end) = match *bytes.get(pos)? {
        b'(' => (Kind::Open, pos + 1),
        b')' => (Kind::Close, pos + 1),
        b'"' => (Kind::String, string_end(bytes, pos)),
        _ => {
            let mut i = pos;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => i = string_end(bytes, i),
                    b'(' | b')' | b';' => break,
                    b if b.is_ascii_whitespace() => break,
                    _ => i += 1,
                }
            }
            (Kind::Atom, i)
        }
    };
    Some(Token { kind, start, end })
}

/// The offset just past the `)` that closes the `(` at `open`.
pub(crate) fn group_end(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut pos = open;
    loop {
        let token = next(text, pos)?;
        pos = token.end;
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth -= 1;
                if depth == 0 {
                    return Some(token.end);
                }
            }
            Kind::Atom | Kind::String => {}
        }
    }
}

/// The byte range of the instructions of the function whose `func` keyword is at `keyword`:
/// past its name, annotations, `export`/`import`/`type`/`param`/`result`/`local` fields, up to
/// its closing parenthesis.
pub(crate) fn function_body(text: &str, keyword: usize) -> Option<(usize, usize)> {
    let open = text[..keyword].rfind('(')?;
    let end = group_end(text, open)? - 1;
    let func = next(text, keyword)?;
    let mut pos = func.end;
    let mut named = false;
    loop {
        let token = next(text, pos)?;
        let word = &text[token.start..token.end];
        if token.kind == Kind::Atom && word.starts_with('$') && !named {
            named = true;
            pos = token.end;
            continue;
        }
        let head = (token.kind == Kind::Open)
            .then(|| next(text, token.end))
            .flatten()
            .filter(|head| head.kind == Kind::Atom)
            .map(|head| &text[head.start..head.end]);
        let header = head.is_some_and(|word| {
            word.starts_with('@')
                || matches!(
                    word,
                    "export" | "import" | "type" | "param" | "result" | "local"
                )
        });
        if !header {
            return (token.start <= end).then_some((token.start, end));
        }
        pos = group_end(text, token.start)?;
    }
}

/// What a call is replaced with, given the callee as written (`$f` or an index).
pub(crate) type Inliner<'a> = dyn Fn(&str, bool) -> Result<String, &'static str> + 'a;

/// `body` with every `return` made `br {label}` (the label of the block the body runs in) and
/// every `call F` replaced by `inline(F, folded)`, where `folded` tells whether the call is the
/// head of a folded form `(call F)`.
pub(crate) fn rewrite(
    body: &str,
    label: &str,
    inline: &Inliner<'_>,
) -> Result<String, &'static str> {
    let mut out = String::with_capacity(body.len() + 32);
    let mut copied = 0;
    let mut pos = 0;
    let mut previous = None;
    while let Some(token) = next(body, pos) {
        pos = token.end;
        let word = &body[token.start..token.end];
        if token.kind == Kind::Atom && word == "return" {
            out.push_str(&body[copied..token.start]);
            out.push_str("br ");
            out.push_str(label);
            copied = token.end;
        } else if token.kind == Kind::Atom && word == "call" {
            let callee = next(body, token.end).ok_or("a call without a callee")?;
            let folded = previous == Some(Kind::Open);
            out.push_str(&body[copied..token.start]);
            out.push_str(&inline(&body[callee.start..callee.end], folded)?);
            copied = callee.end;
            pos = callee.end;
        }
        previous = Some(token.kind);
    }
    out.push_str(&body[copied..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_starts_after_the_header_fields() {
        let text = "(module (func $f (export \"f\") (param $x i32) (result i32) (local i64)\n  \
                    (local.get $x) ;; the result\n))";
        let keyword = text.find("func").expect("func");
        let (start, end) = function_body(text, keyword).expect("a body");
        assert_eq!(&text[start..end], "(local.get $x) ;; the result\n");
    }

    #[test]
    fn returns_become_branches_and_calls_are_inlined() {
        let body = "(return (call $one)) ;; return\n call $one return";
        let inline = |callee: &str, folded: bool| {
            assert_eq!(callee, "$one");
            Ok(if folded {
                "block (result i32) (i32.const 1)".to_owned()
            } else {
                "block (result i32) (i32.const 1) end".to_owned()
            })
        };
        assert_eq!(
            rewrite(body, "$f", &inline).expect("rewritten"),
            "(br $f (block (result i32) (i32.const 1))) ;; return\n \
             block (result i32) (i32.const 1) end br $f"
        );
    }
}
