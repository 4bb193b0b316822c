//! What the model asked for: run a body, call a catalog program, or answer. Read from a text reply
//! (the text protocol, and a tools-protocol reply without a call: [`parse_text`]) or from a tool
//! call (the native tool protocol: [`parse_tool_call`]).

use serde::{Deserialize, Serialize};
use watsmith_catalog::Literal;
use watsmith_engine::Value;

mod text;

pub use text::parse_text;

use crate::provider::{ToolCall, ToolSpec};

/// The tool that runs a body.
pub const RUN_WAT: &str = "run_wat";
/// The tool that runs a catalog program.
pub const USE_PROGRAM: &str = "use_program";
/// The tool that gives the reference of a capability or a program (compact prompts).
pub const REFERENCE: &str = "reference";
/// The text protocol's form of [`REFERENCE`]: `@reference name`, at the start of a line.
pub const REFERENCE_KEYWORD: &str = "@reference";

/// One action of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Run a WAT-plus body with arguments.
    RunWat {
        /// The body.
        body: String,
        /// Its arguments.
        args: Vec<Value>,
    },
    /// Run a catalog program.
    Use {
        /// The program's name.
        name: String,
        /// Its arguments, as written.
        args: Vec<Literal>,
    },
    /// Ask for the full reference of a capability or a catalog program.
    Reference {
        /// The capability's or the program's name.
        topic: String,
    },
    /// The final answer.
    Answer {
        /// Its text.
        text: String,
    },
}

/// The tools of the native protocol; `reference` too when the prompt is compact.
pub fn tools(style: crate::prompt::PromptStyle) -> Vec<ToolSpec> {
    let value = serde_json::json!({
        "anyOf": [{"type": "number"}, {"type": "string"}]
    });
    let mut tools = vec![
        ToolSpec {
            name: RUN_WAT.to_owned(),
            description: "Run a WAT-plus function body and get its results (or its error, with \
                          the line and a hint)."
                .to_owned(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "body": {"type": "string", "description": "the WAT-plus body"},
                    "args": {"type": "array", "items": value, "description": "arguments, loaded with argv"}
                },
                "required": ["body"]
            }),
        },
        ToolSpec {
            name: USE_PROGRAM.to_owned(),
            description: "Run a program of the catalog by name and get its results.".to_owned(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "the program's name"},
                    "args": {"type": "array", "items": value, "description": "its arguments, in order"}
                },
                "required": ["name"]
            }),
        },
    ];
    if style == crate::prompt::PromptStyle::Compact {
        tools.push(ToolSpec {
            name: REFERENCE.to_owned(),
            description: "Get the full reference of a capability (its host functions' \
                          signatures and error codes) or of a catalog program (its arguments \
                          and examples)."
                .to_owned(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "topic": {"type": "string", "description": "a capability's name (`str`, `http`) or a program's (`sha256`)"}
                },
                "required": ["topic"]
            }),
        });
    }
    tools
}

/// Reads a tool call; an error is told to the model.
pub fn parse_tool_call(call: &ToolCall) -> Result<Action, String> {
    if let Some(malformed) = &call.malformed {
        return Err(format!(
            "the arguments of your `{}` call are not a JSON object: {}",
            call.name, malformed.error
        ));
    }
    let field = |name: &str| call.arguments.get(name);
    let args = || -> Result<Vec<&serde_json::Value>, String> {
        match field("args") {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) => Ok(items.iter().collect()),
            Some(other) => Err(format!("`args` must be an array, not {other}")),
        }
    };
    match call.name.as_str() {
        RUN_WAT => {
            let body = field("body")
                .and_then(serde_json::Value::as_str)
                .ok_or("`run_wat` needs `body`, a string")?;
            let args = args()?
                .into_iter()
                .map(|v| literal(v).map(|l| literal_value(&l)))
                .collect::<Result<_, _>>()?;
            Ok(Action::RunWat {
                body: body.to_owned(),
                args,
            })
        }
        USE_PROGRAM => {
            let name = field("name")
                .and_then(serde_json::Value::as_str)
                .ok_or("`use_program` needs `name`, a string")?;
            Ok(Action::Use {
                name: name.to_owned(),
                args: args()?.into_iter().map(literal).collect::<Result<_, _>>()?,
            })
        }
        REFERENCE => {
            let topic = field("topic")
                .and_then(serde_json::Value::as_str)
                .ok_or("`reference` needs `topic`, a string")?;
            Ok(Action::Reference {
                topic: topic.to_owned(),
            })
        }
        other => Err(format!(
            "there is no tool `{other}`; the tools are `{RUN_WAT}`, `{USE_PROGRAM}` and \
             `{REFERENCE}`"
        )),
    }
}

fn literal(value: &serde_json::Value) -> Result<Literal, String> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Literal::Int)
            .or_else(|| n.as_f64().map(Literal::Float))
            .ok_or_else(|| format!("the number {n} does not fit an i64 or f64")),
        serde_json::Value::String(s) => Ok(Literal::Str(s.clone())),
        other => Err(format!("an argument is a number or a string, not {other}")),
    }
}

/// The value a literal stands for in `argv` (integers are i64, floats f64).
fn literal_value(literal: &Literal) -> Value {
    match literal {
        Literal::Int(n) => Value::I64(*n),
        Literal::Float(x) => Value::F64(*x),
        Literal::Str(s) => Value::Str(s.clone()),
    }
}
