//! One catalog program: its front matter, parsed strictly, and its body.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use watsmith_engine::Value;

/// The line that opens and closes the front matter.
const FENCE: &str = ";; ---";

/// Relative tolerance when an example's f64 result is compared.
const F64_TOLERANCE: f64 = 1e-9;

/// A program file that cannot be used, with where the problem is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct CatalogError {
    /// The file.
    pub path: PathBuf,
    /// The line of the file (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The type of a parameter or result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Type {
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
    /// A 64-bit float.
    F64,
    /// UTF-8 text.
    Str,
    /// Raw bytes.
    Bytes,
}

impl Type {
    /// The type as a person reads it in an error: `an i64 (an integer)`.
    pub fn described(self) -> &'static str {
        match self {
            Self::I32 => "an i32 (an integer)",
            Self::I64 => "an i64 (an integer)",
            Self::F64 => "an f64 (a number)",
            Self::Str => "a str (a quoted string)",
            Self::Bytes => "bytes (a quoted string)",
        }
    }

    /// Its name in signatures.
    pub fn name(self) -> &'static str {
        match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F64 => "f64",
            Self::Str => "str",
            Self::Bytes => "bytes",
        }
    }
}

/// A declared parameter or result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: Type,
    /// What it is, if the author said.
    #[serde(default)]
    pub description: Option<String>,
}

/// One documented call: arguments and the results they give, or the error status it ends with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    args: Vec<toml::Value>,
    #[serde(default)]
    results: Vec<toml::Value>,
    /// The name of the status the run ends with (`ENOENT`), for an example of a failure.
    #[serde(default)]
    pub error: Option<String>,
}

/// The world a program's examples run in, for programs that need more than computation:
/// `catalog check` and the tests make it real for each example (a fresh one every time).
///
/// ```toml
/// [fixture]
/// http = { "/items.json" = '{"items": []}' }   # served on loopback; `{server}` in an example
///                                              # argument is that server (`http://127.0.0.1:PORT`)
/// files = { "notes/todo.txt" = "buy milk" }    # under the `fs` jail root (read-write)
/// kv = { greeting = "hello" }                  # in the run's `kv` namespace
/// ai = { "Say hello" = "Hello!" }              # a fixture model's answer to each prompt
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// URL paths (each starting with `/`) and the bodies served at them.
    #[serde(default)]
    pub http: BTreeMap<String, String>,
    /// Relative file paths and their contents.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Keys and values.
    #[serde(default)]
    pub kv: BTreeMap<String, String>,
    /// Prompts and the answers the fixture model gives to them.
    #[serde(default)]
    pub ai: BTreeMap<String, String>,
}

impl Fixture {
    /// What is wrong with it, if anything: a URL path must start with `/`, a file path must
    /// be relative and stay inside the root.
    fn problem(&self) -> Option<String> {
        if let Some(path) = self.http.keys().find(|path| !path.starts_with('/')) {
            return Some(format!(
                "the fixture's HTTP path `{path}` must start with `/`"
            ));
        }
        self.files
            .keys()
            .find(|path| {
                path.is_empty()
                    || !Path::new(path)
                        .components()
                        .all(|c| matches!(c, Component::Normal(_)))
            })
            .map(|path| {
                format!("the fixture's file path `{path}` must be relative, without `..` or `.`")
            })
    }
}

/// The front matter of a program.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    /// The name programs are called by (the file's stem).
    pub name: String,
    /// One line on what it computes.
    pub description: String,
    /// Tags for listing.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The capabilities it needs besides the compute-only ones.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Its parameters, in order.
    #[serde(default)]
    pub params: Vec<Param>,
    /// Its results, in order.
    #[serde(default)]
    pub results: Vec<Param>,
    /// Documented calls, run as tests.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// The world the examples run in (served HTTP paths, files, kv entries, model answers).
    #[serde(default)]
    pub fixture: Fixture,
}

impl FrontMatter {
    /// `name(a: i64, b: i64) -> (gcd: i64)`.
    pub fn signature(&self) -> String {
        let list = |params: &[Param]| {
            params
                .iter()
                .map(|p| format!("{}: {}", p.name, p.ty.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{}({}) -> ({})",
            self.name,
            list(&self.params),
            list(&self.results)
        )
    }
}

/// A catalog program: front matter and the body (the whole file, front matter included, since
/// it is made of comments).
#[derive(Debug, Clone)]
pub struct Program {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its front matter.
    pub front: FrontMatter,
    /// The WAT-plus body.
    pub body: String,
}

/// Largest program file read, in bytes: a body at the preprocessor's limit and 64 KiB of front
/// matter. A longer file, or one that is not a regular file, is skipped as a problem.
pub const MAX_PROGRAM_BYTES: u64 =
    watsmith_preprocessor::limits::MAX_BODY_BYTES as u64 + (64 << 10);

impl Program {
    /// Reads and parses a program file.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let text = watsmith_engine::file::read_text(path, MAX_PROGRAM_BYTES).map_err(|e| {
            CatalogError {
                path: path.to_owned(),
                line: 1,
                message: format!("cannot read the file: {e}"),
            }
        })?;
        Self::parse(path, text)
    }

    /// Parses a program's text; `path` names it in errors and gives the expected name.
    pub fn parse(path: &Path, text: String) -> Result<Self, CatalogError> {
        let error = |line: usize, message: String| CatalogError {
            path: path.to_owned(),
            line,
            message,
        };
        let mut lines = text.lines();
        if lines.next().map(str::trim_end) != Some(FENCE) {
            return Err(error(
                1,
                format!("a program starts with front matter: a `{FENCE}` line"),
            ));
        }
        let mut toml_text = String::new();
        let mut closed = false;
        for (index, line) in lines.enumerate() {
            let line = line.trim_end();
            if line == FENCE {
                closed = true;
                break;
            }
            let Some(content) = line.strip_prefix(";;") else {
                return Err(error(
                    index + 2,
                    "front matter lines start with `;;`".to_owned(),
                ));
            };
            toml_text.push_str(content.strip_prefix(' ').unwrap_or(content));
            toml_text.push('\n');
        }
        if !closed {
            return Err(error(
                1,
                format!("the front matter has no closing `{FENCE}` line"),
            ));
        }
        let front: FrontMatter = toml::from_str(&toml_text).map_err(|e| {
            // Front matter line N is file line N + 1 (after the opening fence).
            let line = e
                .span()
                .map_or(1, |span| toml_text[..span.start].matches('\n').count() + 1);
            error(line + 1, e.message().to_owned())
        })?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if front.name != stem {
            return Err(error(
                2,
                format!(
                    "the name `{}` differs from the file name `{stem}`",
                    front.name
                ),
            ));
        }
        if let Some(problem) = front.fixture.problem() {
            let line = text
                .lines()
                .position(|line| line.starts_with(";; [fixture"))
                .map_or(1, |index| index + 1);
            return Err(error(line, problem));
        }
        if let Some(index) = front
            .examples
            .iter()
            .position(|e| e.error.is_some() && !e.results.is_empty())
        {
            return Err(error(
                1,
                format!(
                    "example {}: an example that ends with an error has no results",
                    index + 1
                ),
            ));
        }
        Ok(Self {
            path: path.to_owned(),
            front,
            body: text,
        })
    }
}

impl Example {
    /// The arguments, typed by the declared parameters.
    pub fn args(&self, params: &[Param]) -> Result<Vec<Value>, String> {
        if self.args.len() != params.len() {
            return Err(format!(
                "{} arguments for {} parameters",
                self.args.len(),
                params.len()
            ));
        }
        self.args
            .iter()
            .zip(params)
            .map(|(value, param)| typed(value, param.ty).ok_or_else(|| mismatch(value, param)))
            .collect()
    }

    /// The expected results as the engine's values, typed by the declared results.
    pub fn results(&self, results: &[Param]) -> Result<Vec<Value>, String> {
        self.results
            .iter()
            .zip(results)
            .map(|(value, param)| typed(value, param.ty).ok_or_else(|| mismatch(value, param)))
            .collect()
    }

    /// Whether `actual` are the expected results, typed by the declared results (f64 within a
    /// relative 1e-9); the difference otherwise.
    pub fn check(&self, results: &[Param], actual: &[Value]) -> Result<(), String> {
        let expected = self.results(results)?;
        let same = expected.len() == actual.len()
            && expected.iter().zip(actual).all(|pair| match pair {
                (Value::F64(want), Value::F64(got)) => {
                    want == got
                        || (want.is_nan() && got.is_nan())
                        || (want - got).abs() <= F64_TOLERANCE * want.abs().max(got.abs())
                }
                (want, got) => want == got,
            });
        if same {
            Ok(())
        } else {
            Err(format!(
                "expected {}, got {}",
                listed(&expected),
                listed(actual)
            ))
        }
    }
}

/// Values as an example line writes them: `[4, "text", 2.5]` (bytes as their hex).
fn listed(values: &[Value]) -> String {
    let written: Vec<String> = values
        .iter()
        .map(|value| match value {
            Value::Str(text) => format!("{text:?}"),
            Value::Bytes(_) => format!("bytes {value}"),
            other => other.to_string(),
        })
        .collect();
    format!("[{}]", written.join(", "))
}

fn mismatch(value: &toml::Value, param: &Param) -> String {
    let written = match value {
        toml::Value::String(text) => format!("{text:?}"),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => format!("a TOML {}", other.type_str()),
    };
    format!(
        "`{written}` is not {} (for `{}`)",
        param.ty.described(),
        param.name
    )
}

/// A TOML value as the engine value of type `ty`: integers for i32/i64, numbers for f64, strings
/// for str and bytes.
fn typed(value: &toml::Value, ty: Type) -> Option<Value> {
    match (ty, value) {
        (Type::I32, toml::Value::Integer(n)) => i32::try_from(*n).ok().map(Value::I32),
        (Type::I64, toml::Value::Integer(n)) => Some(Value::I64(*n)),
        (Type::F64, toml::Value::Float(x)) => Some(Value::F64(*x)),
        (Type::F64, toml::Value::Integer(n)) => Some(Value::F64(*n as f64)),
        (Type::Str, toml::Value::String(s)) => Some(Value::Str(s.clone())),
        (Type::Bytes, toml::Value::String(s)) => Some(Value::Bytes(s.clone().into_bytes())),
        _ => None,
    }
}
