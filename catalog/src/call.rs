//! Calling a catalog program: the one way every front end does it.
//!
//! A caller names the program and its arguments in one of the forms of [`Invocation`]: `@use
//! name(arg, ...)` as a model writes it in its answer or a person on the command line
//! (`watsmith use 'fib(30)'`), a name with argument words typed by the program's parameters
//! (`watsmith use fib 30`), or a name with literals (a tool call's JSON). [`Catalog::bind`]
//! finds the program, checks the arguments' count and types against its signature and that the
//! engine has the capabilities it declares, and gives the [`Bound`] call, or a typed
//! [`CallError`] whose message names the fix (the closest program, the signature). Whether the
//! run's policy grants those capabilities is the engine's to say when it runs, at the program's
//! first call that needs one.
//!
//! Arguments are literals: integers (`42`, `-7`), floats (`4.5`, `-1e3`, `.5`), and strings in
//! double or single quotes with the escapes `\n \t \r \0 \\ \" \' \u{...}`. Whitespace is free
//! around every token. Errors give the column (1-based, in characters) and what was expected.

use watsmith_engine::{NumberError, Registry, Value, float_text, parse_number};
use watsmith_preprocessor::abi::ValType;

use crate::catalog::Catalog;
use crate::program::{Example, FrontMatter, Program, Type};

/// The keyword that starts a call in a model's answer.
pub const KEYWORD: &str = "@use";

/// A literal argument of a call (in JSON, the number or string itself).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Literal {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

/// A parsed call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The program's name.
    pub name: String,
    /// The arguments, in order.
    pub args: Vec<Literal>,
}

/// A call that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// Where, 1-based, in characters of the text given.
    pub column: usize,
    /// What is wrong, with what was expected.
    pub message: String,
}

struct Cursor<'a> {
    chars: Vec<(usize, char)>,
    at: usize,
    text: &'a str,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            chars: text.char_indices().collect(),
            at: 0,
            text,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).map(|&(_, c)| c)
    }

    /// The next character, consumed; at the end, `None`, and the cursor stays at the end.
    /// Whether the text from the cursor on starts with `word`.
    fn rest_starts_with(&self, word: &str) -> bool {
        let mut rest = self.chars[self.at.min(self.chars.len())..]
            .iter()
            .map(|&(_, c)| c);
        word.chars().all(|c| rest.next() == Some(c))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.at += 1;
        }
        c
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            column: self.at + 1,
            message: message.into(),
        }
    }

    fn expect(&mut self, wanted: char, what: &str) -> Result<(), ParseError> {
        self.skip_space();
        match self.peek() {
            Some(c) if c == wanted => {
                self.at += 1;
                Ok(())
            }
            Some(c) => Err(self.error(format!("expected {what}, found `{c}`"))),
            None => Err(self.error(format!("expected {what}, found the end"))),
        }
    }

    fn rest(&self) -> &'a str {
        let offset = self.chars.get(self.at).map_or(self.text.len(), |&(i, _)| i);
        &self.text[offset..]
    }
}

/// Parses `@use name(args)`; the `@use` keyword is optional (the command line leaves it out).
pub fn parse(text: &str) -> Result<Call, ParseError> {
    let mut cursor = Cursor::new(text);
    cursor.skip_space();
    if cursor.rest().starts_with(KEYWORD) {
        cursor.at += KEYWORD.chars().count();
    }
    cursor.skip_space();
    let start = cursor.at;
    while cursor
        .peek()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        cursor.at += 1;
    }
    if cursor.at == start {
        return Err(cursor.error("expected a program name, like `fib(30)`"));
    }
    let name: String = cursor.chars[start..cursor.at]
        .iter()
        .map(|&(_, c)| c)
        .collect();
    cursor.expect('(', "`(` after the program name")?;
    let mut args = Vec::new();
    cursor.skip_space();
    if cursor.peek() == Some(')') {
        cursor.at += 1;
    } else {
        loop {
            cursor.skip_space();
            args.push(literal(&mut cursor)?);
            cursor.skip_space();
            match cursor.bump() {
                Some(',') => continue,
                Some(')') => break,
                Some(c) => {
                    cursor.at -= 1;
                    return Err(cursor.error(format!("expected `,` or `)`, found `{c}`")));
                }
                None => return Err(cursor.error("expected `,` or `)`, found the end")),
            }
        }
    }
    cursor.skip_space();
    if let Some(c) = cursor.peek() {
        return Err(cursor.error(format!("unexpected `{c}` after the call")));
    }
    Ok(Call { name, args })
}

fn literal(cursor: &mut Cursor<'_>) -> Result<Literal, ParseError> {
    match cursor.peek() {
        Some(quote @ ('"' | '\'')) => {
            cursor.at += 1;
            string(cursor, quote).map(Literal::Str)
        }
        Some(c) if c.is_ascii_digit() || matches!(c, '-' | '+' | '.') => number(cursor),
        Some('i' | 'n')
            if ["inf", "nan"]
                .iter()
                .any(|word| cursor.rest_starts_with(word)) =>
        {
            number(cursor)
        }
        Some(c) => Err(cursor.error(format!(
            "expected an argument (a number or a quoted string), found `{c}`"
        ))),
        None => Err(cursor.error("expected an argument, found the end")),
    }
}

fn number(cursor: &mut Cursor<'_>) -> Result<Literal, ParseError> {
    let start = cursor.at;
    while cursor
        .peek()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_' | ':'))
    {
        cursor.at += 1;
    }
    let text: String = cursor.chars[start..cursor.at]
        .iter()
        .map(|&(_, c)| c)
        .collect();
    // WebAssembly's text forms: `0xff`, `1_000`, `2.5e3`, `-inf`, `nan:0x1`; an integer up to
    // 2^64-1 (the upper half wrapping, as in `i64.const`), typed when it is bound.
    let error = match parse_number(&text, ValType::I64) {
        Ok(Value::I64(n)) => return Ok(Literal::Int(n)),
        Ok(_) => unreachable!("an i64 is read as an i64"),
        Err(NumberError::NotAnInteger { .. }) => match parse_number(&text, ValType::F64) {
            Ok(Value::F64(x)) => return Ok(Literal::Float(x)),
            Ok(_) => unreachable!("an f64 is read as an f64"),
            Err(error) => error,
        },
        Err(error) => error,
    };
    // A decimal float WebAssembly text does not write but people do: `.5`, `5.`.
    if let Ok(x) = text.parse::<f64>()
        && x.is_finite()
        && matches!(error, NumberError::NotANumber { .. })
    {
        return Ok(Literal::Float(x));
    }
    cursor.at = start;
    Err(cursor.error(error.to_string()))
}

fn string(cursor: &mut Cursor<'_>, quote: char) -> Result<String, ParseError> {
    let mut out = String::new();
    loop {
        match cursor.bump() {
            None => return Err(cursor.error(format!("unclosed string: expected `{quote}`"))),
            Some(c) if c == quote => return Ok(out),
            Some('\\') => {
                let escape = cursor.bump();
                let c = match escape {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some('0') => '\0',
                    Some(c @ ('\\' | '"' | '\'')) => c,
                    Some('u') => unicode(cursor)?,
                    Some(other) => {
                        // Point at the backslash.
                        cursor.at -= 2;
                        return Err(cursor.error(format!(
                            "unknown escape `\\{other}` (use \\n \\t \\r \\0 \\\\ \\\" \\' \\u{{...}})"
                        )));
                    }
                    None => return Err(cursor.error("unclosed string after `\\`")),
                };
                out.push(c);
            }
            Some(c) => out.push(c),
        }
    }
}

fn unicode(cursor: &mut Cursor<'_>) -> Result<char, ParseError> {
    cursor.expect('{', "`{` after `\\u`")?;
    let start = cursor.at;
    while cursor.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
        cursor.at += 1;
    }
    let hex: String = cursor.chars[start..cursor.at]
        .iter()
        .map(|&(_, c)| c)
        .collect();
    let c = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
    let Some(c) = c else {
        cursor.at = start;
        return Err(cursor.error(format!("`\\u{{{hex}}}` is not a Unicode scalar value")));
    };
    cursor.expect('}', "`}` to close `\\u{`")?;
    Ok(c)
}

/// How a caller names a catalog program and its arguments.
#[derive(Debug, Clone, Copy)]
pub enum Invocation<'a> {
    /// `fib(30)` or `@use fib(30)`, as a model or a person writes a call.
    Text(&'a str),
    /// A name and argument words typed by the program's parameters: a word is a number where
    /// the parameter is numeric and text where it is a str, so `"123"` can be text and `-5` a
    /// number without quoting (`watsmith use fib 30`).
    Words {
        /// The program's name.
        name: &'a str,
        /// The arguments, one word each.
        words: &'a [String],
    },
    /// A name and literal arguments (a tool call's numbers and strings).
    Literals {
        /// The program's name.
        name: &'a str,
        /// The arguments.
        args: &'a [Literal],
    },
}

/// A call bound to its program: what runs, with what.
#[derive(Debug, Clone)]
pub struct Bound<'a> {
    /// The program.
    pub program: &'a Program,
    /// Its arguments, typed by its parameters.
    pub args: Vec<Value>,
}

/// Why a call cannot run. The message names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The text of the call does not parse.
    #[error("in `{text}`: {error}")]
    Syntax {
        /// The call as given.
        text: String,
        /// Where and what.
        error: ParseError,
    },
    /// No program has the name.
    #[error("no catalog program `{name}`; {}", match closest {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("the catalog has {programs} programs"),
    })]
    UnknownProgram {
        /// The name given.
        name: String,
        /// The closest name, if one is close.
        closest: Option<String>,
        /// How many programs the catalog has.
        programs: usize,
    },
    /// Too many or too few arguments.
    #[error("`{program}` takes {expected} argument{}, not {given}; the signature is {signature}",
        if *expected == 1 { "" } else { "s" })]
    Arity {
        /// The program.
        program: String,
        /// Its number of parameters.
        expected: usize,
        /// The number of arguments given.
        given: usize,
        /// Its signature.
        signature: String,
    },
    /// An argument of the wrong type.
    #[error("argument `{param}` must be {}{}; the signature is {signature}",
        expected.described(),
        given.as_ref().map(|given| format!(", not `{given}`")).unwrap_or_default())]
    Type {
        /// The parameter.
        param: String,
        /// Its type.
        expected: Type,
        /// The word given, when the arguments were words.
        given: Option<String>,
        /// The program's signature.
        signature: String,
    },
    /// A number argument that does not read as its parameter's type.
    #[error("argument `{param}`: {error}; the signature is {signature}")]
    Number {
        /// The parameter.
        param: String,
        /// Why the number does not read.
        #[source]
        error: Box<NumberError>,
        /// The program's signature.
        signature: String,
    },
    /// The program needs capabilities the engine does not have.
    #[error("`{program}` needs {}, which this engine does not have", capabilities.iter().map(|c| format!("the `{c}` capability")).collect::<Vec<_>>().join(" and "))]
    Unavailable {
        /// The program.
        program: String,
        /// The capabilities missing.
        capabilities: Vec<String>,
    },
}

impl Catalog {
    /// The program `invocation` names, with its arguments bound to its signature, if the engine
    /// of `registry` has every capability it declares.
    pub fn bind<'c>(
        &'c self,
        invocation: Invocation<'_>,
        registry: &Registry,
    ) -> Result<Bound<'c>, CallError> {
        let (program, args) = match invocation {
            Invocation::Text(text) => {
                let call = parse(text).map_err(|error| CallError::Syntax {
                    text: text.to_owned(),
                    error,
                })?;
                let program = self.find(&call.name)?;
                (program, bind_literals(&program.front, &call.args)?)
            }
            Invocation::Words { name, words } => {
                let program = self.find(name)?;
                (program, bind_words(&program.front, words)?)
            }
            Invocation::Literals { name, args } => {
                let program = self.find(name)?;
                (program, bind_literals(&program.front, args)?)
            }
        };
        let missing = program.missing(registry);
        if !missing.is_empty() {
            return Err(CallError::Unavailable {
                program: program.front.name.clone(),
                capabilities: missing.into_iter().map(str::to_owned).collect(),
            });
        }
        Ok(Bound { program, args })
    }

    /// The program called `name`, or an error with the closest name.
    pub fn find(&self, name: &str) -> Result<&Program, CallError> {
        if let Some(program) = self.get(name) {
            return Ok(program);
        }
        let programs = self.programs();
        Err(CallError::UnknownProgram {
            name: name.to_owned(),
            closest: watsmith_preprocessor::closest(
                name,
                programs.iter().map(|p| p.front.name.as_str()),
            )
            .map(str::to_owned),
            programs: programs.len(),
        })
    }
}

/// An error naming the signature unless `given` is the number of parameters.
fn check_count(front: &FrontMatter, given: usize) -> Result<(), CallError> {
    let expected = front.params.len();
    if given == expected {
        return Ok(());
    }
    Err(CallError::Arity {
        program: front.name.clone(),
        expected,
        given,
        signature: front.signature(),
    })
}

/// Words typed by the program's parameters.
fn bind_words(front: &FrontMatter, words: &[String]) -> Result<Vec<Value>, CallError> {
    check_count(front, words.len())?;
    words
        .iter()
        .zip(&front.params)
        .map(|(word, param)| {
            let number = |ty| {
                parse_number(word, ty).map_err(|error| CallError::Number {
                    param: param.name.clone(),
                    error: Box::new(error),
                    signature: front.signature(),
                })
            };
            match param.ty {
                Type::I32 => number(ValType::I32),
                Type::I64 => number(ValType::I64),
                Type::F64 => number(ValType::F64),
                Type::Str => Ok(Value::Str(word.clone())),
                Type::Bytes => Ok(Value::Bytes(word.clone().into_bytes())),
            }
        })
        .collect()
}

/// Literals as the program's parameters take them.
fn bind_literals(front: &FrontMatter, args: &[Literal]) -> Result<Vec<Value>, CallError> {
    check_count(front, args.len())?;
    args.iter()
        .zip(&front.params)
        .map(|(arg, param)| {
            let value = match (param.ty, arg) {
                // As the text `n` reads for an i32: up to 2^32-1, the upper half wrapping.
                (Type::I32, Literal::Int(n)) => {
                    return parse_number(&n.to_string(), ValType::I32).map_err(|error| {
                        CallError::Number {
                            param: param.name.clone(),
                            error: Box::new(error),
                            signature: front.signature(),
                        }
                    });
                }
                (Type::I64, Literal::Int(n)) => Some(Value::I64(*n)),
                (Type::F64, Literal::Int(n)) => Some(Value::F64(*n as f64)),
                (Type::F64, Literal::Float(x)) => Some(Value::F64(*x)),
                (Type::Str, Literal::Str(s)) => Some(Value::Str(s.clone())),
                (Type::Bytes, Literal::Str(s)) => Some(Value::Bytes(s.clone().into_bytes())),
                _ => None,
            };
            value.ok_or_else(|| CallError::Type {
                param: param.name.clone(),
                expected: param.ty,
                given: None,
                signature: front.signature(),
            })
        })
        .collect()
}

/// A value written as an `@use` literal that parses back to it: numbers as they are, strings
/// (and bytes, as text) quoted, with escapes for the quote, backslashes and control characters.
/// Double quotes, unless the text has some and no single ones (JSON reads better as `'{"a":1}'`).
pub fn write_literal(value: &Value) -> String {
    let quoted = |text: &str| {
        let quote = if text.contains('"') && !text.contains('\'') {
            '\''
        } else {
            '"'
        };
        let mut out = String::with_capacity(text.len() + 2);
        out.push(quote);
        for c in text.chars() {
            match c {
                c if c == quote => {
                    out.push('\\');
                    out.push(c);
                }
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\0' => out.push_str("\\0"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        out.push(quote);
        out
    };
    match value {
        Value::Str(text) => quoted(text),
        Value::Bytes(bytes) => quoted(&String::from_utf8_lossy(bytes)),
        // `inf`, `nan:0x1`: the forms a call reads back bit for bit.
        Value::F64(x) => float_text(*x),
        number => number.to_string(),
    }
}

/// An example as a call and what it gives, as `catalog show` prints it and a model reads it:
/// `fib(10) -> 55`, `divmod(7, 2) -> (3, 1)`, `kv_get("x") -> error ENOENT`.
pub fn example_line(front: &FrontMatter, example: &Example) -> String {
    let list = |values: &[Value]| {
        values
            .iter()
            .map(write_literal)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let call = match example.args(&front.params) {
        Ok(args) => format!("{}({})", front.name, list(&args)),
        Err(reason) => return format!("{}: {reason}", front.name),
    };
    let gives = match (&example.error, example.results(&front.results)) {
        (Some(name), _) => format!("error {name}"),
        (None, Ok(results)) if results.len() == 1 => list(&results),
        (None, Ok(results)) => format!("({})", list(&results)),
        (None, Err(reason)) => reason,
    };
    format!("{call} -> {gives}")
}
