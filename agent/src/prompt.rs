//! The system prompt, generated from what the session can really do: the dialect with worked
//! examples, the host functions of every granted capability, the catalog, the response protocol
//! and the limits. Its hash goes into every transcript, so a result can be traced to the exact
//! prompt that produced it.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use watsmith_catalog::Catalog;
use watsmith_engine::{Limits, Policy, Registry};

use crate::limits::AgentLimits;

/// How the model states its actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Native tool calling: `run_wat {body, args}` and `use_program {name, args}`.
    Tools,
    /// Text: a fenced ```wat block, an `@use name(args)` line, or a plain answer.
    Text,
}

/// How much of the reference the system prompt holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptStyle {
    /// The dialect, each granted capability in one line with its functions' names, the
    /// catalog's program names, the protocol and the limits (within 2,000 tokens for the
    /// default grants); the full reference of a capability or a program comes on demand, when
    /// the model asks for it ([`reference`]).
    #[default]
    Compact,
    /// Everything up front: every host function's signature and description, every program's
    /// signature and summary (about 7,000 tokens with every capability granted).
    Full,
}

impl Protocol {
    /// Every protocol's name, as settings, flags and transcripts take them.
    pub const NAMES: [&'static str; 2] = [Self::Tools.name(), Self::Text.name()];

    /// Its name: `tools` or `text`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Text => "text",
        }
    }

    /// The protocol of that name, if one has it.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Tools, Self::Text]
            .into_iter()
            .find(|protocol| protocol.name() == name)
    }
}

impl PromptStyle {
    /// Every style's name, as settings and flags take them.
    pub const NAMES: [&'static str; 2] = [Self::Compact.name(), Self::Full.name()];

    /// Its name: `compact` or `full`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Compact => "compact",
            Self::Full => "full",
        }
    }

    /// The style of that name, if one has it.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Compact, Self::Full]
            .into_iter()
            .find(|style| style.name() == name)
    }

    /// [`PromptStyle::Full`] (a serde default: what transcripts without the field had).
    pub fn full() -> Self {
        Self::Full
    }
}

/// A system prompt and its hash, computed once: every request of an agent carries the same
/// prompt (an `Arc`, not a copy of its 14 KB), and the request's hash takes the prompt's hash
/// from it instead of hashing the text again ([`crate::request_hash`]). In JSON it is the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemPrompt {
    text: Arc<str>,
    hash: String,
}

impl SystemPrompt {
    /// A prompt of `text`, hashed.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let hash = crate::event::hex(&Sha256::digest(text.as_bytes()));
        Self { text, hash }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// SHA-256 of the text, in hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

impl From<&str> for SystemPrompt {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl SystemPrompt {
    /// This prompt with `instructions` (if any, and not blank) at its end under the heading
    /// `## Instructions for this session`.
    pub fn with_instructions(self, instructions: Option<&str>) -> Self {
        match instructions.map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => Self::new(format!(
                "{}\n## Instructions for this session\n\n{text}\n",
                self.text().trim_end()
            )),
            None => self,
        }
    }
}

impl From<String> for SystemPrompt {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl serde::Serialize for SystemPrompt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for SystemPrompt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// What the model is told about the dialect. Every example in it is run by the tests.
pub const DIALECT: &str = r#"## WAT-plus

You write the BODY of one WebAssembly function in WebAssembly Text (folded `(i32.add (local.get $a) (i32.const 1))` or flat form), not a module: no `func`, no params, no imports. Additions:

- Typed locals, declared anywhere: `(local $n i64)` `(local $x f64)` `(local $i i32)` `(local $s str)` `(local $b bytes)`. `str` and `bytes` are i32 pointers to `[u32 length][bytes]` in memory.
- `(argv N $x)` loads argument N (from 0) into `$x`, converted to its type.
- `(resv $x)` appends the value of `$x` to the results; every result is shown to you.
- `(check $d (call $cap.fn ...))` stores the value of a host call that can fail in `$d`, or ends the run with its non-zero status. `(check (call ...))` for calls that return only a status.
- `"text"` is a str pointer to a string literal.
- Falling off the end is success; `(return (i32.const N))` ends the run with status N; `(call $core.log "text")` adds a log line.
- Status codes: 0 SUCCESS, 1 ETRFM (type), 2 ENOMEM, 3 EACCESS (not allowed), 4 ENOENT (not found), 5 EBOUND (bounds), 6 EREMOTE (remote call failed), 7 EPARSE.

Example: the number of primes below argument 0.

```wat
(local $n i64) (local $i i64) (local $d i64) (local $count i64) (local $prime i32)
(argv 0 $n)
(local.set $i (i64.const 2))
(block $done
  (loop $next
    (br_if $done (i64.ge_s (local.get $i) (local.get $n)))
    (local.set $prime (i32.const 1))
    (local.set $d (i64.const 2))
    (block $found
      (loop $try
        (br_if $found (i64.gt_s (i64.mul (local.get $d) (local.get $d)) (local.get $i)))
        (if (i64.eqz (i64.rem_s (local.get $i) (local.get $d)))
          (then (local.set $prime (i32.const 0)) (br $found)))
        (local.set $d (i64.add (local.get $d) (i64.const 1)))
        (br $try)))
    (if (local.get $prime)
      (then (local.set $count (i64.add (local.get $count) (i64.const 1)))))
    (local.set $i (i64.add (local.get $i) (i64.const 1)))
    (br $next)))
(resv $count)
```

Example: text in, text out, with host functions that can fail.

```wat
(local $text str) (local $upper str) (local $n i64)
(argv 0 $text)
(check $upper (call $str.upper (local.get $text)))
(check $upper (call $str.concat (local.get $upper) "!"))
(local.set $n (i64.extend_i32_u (call $str.chars (local.get $text))))
(resv $upper)
(resv $n)
```
"#;

/// The response protocol, as the model is told it.
fn protocol_section(protocol: Protocol, style: PromptStyle) -> String {
    let compact = style == PromptStyle::Compact;
    match protocol {
        Protocol::Tools => {
            let mut text = String::from(
                "## How to act\n\n\
                 Use the tools. `run_wat` runs a WAT-plus body with arguments (numbers and \
                 strings, loaded with `argv`); `use_program` runs a catalog program by name with \
                 its arguments.",
            );
            if compact {
                text.push_str(
                    " `reference` gives the full reference of a capability (its host functions' \
                     signatures) or of a catalog program (its arguments and examples): ask for \
                     it before you use one.",
                );
            }
            text.push_str(
                " One action at a time: after each you get an observation (the results, or the \
                 status, trap or error with its line and a hint). When you know the answer, \
                 reply with it in plain text and call no tool.\n",
            );
            text
        }
        Protocol::Text => {
            let mut text = String::from(
                "## How to act\n\n\
                 Each reply does exactly one of these:\n\
                 1. Runs a program: a fenced ```wat block holding the body. There are no \
                 arguments in this protocol: write the values into the body as constants or \
                 string literals.\n\
                 2. Calls a catalog program: a line `@use name(arg, ...)` with number and quoted \
                 string arguments, e.g. `@use gcd(12, 18)`.\n",
            );
            if compact {
                text.push_str(
                    "3. Asks for a reference: a line `@reference name`, where the name is a \
                     capability (its host functions' signatures) or a catalog program (its \
                     arguments and examples): ask before you use one.\n\
                     4. Answers: the answer in plain text, with no code block and no `@` line.\n",
                );
            } else {
                text.push_str(
                    "3. Answers: the answer in plain text, with no code block and no `@use` \
                     line.\n",
                );
            }
            text.push_str(
                "You may think briefly before the block. After each program or call you get an \
                 observation (the results, or the status, trap or error with its line and a \
                 hint); fix the program and try again when it fails.\n",
            );
            text
        }
    }
}

/// The reference of one granted capability: each host function's signature and description.
fn capability_reference(capability: &dyn watsmith_engine::Capability) -> String {
    let mut text = format!("### {}: {}\n", capability.name(), capability.description());
    for function in capability.functions() {
        text.push_str(&format!(
            "- `{}`: {}\n",
            function.signature(),
            function.description
        ));
    }
    text
}

/// The catalog programs whose capabilities `policy` grants.
fn usable<'c>(catalog: &'c Catalog, policy: &Policy) -> Vec<&'c watsmith_catalog::Program> {
    catalog
        .programs()
        .into_iter()
        .filter(|p| p.front.capabilities.iter().all(|c| policy.grants(c)))
        .collect()
}

/// The full reference of `topic`, a capability `policy` grants or a catalog program it can
/// run, as the model is told it when it asks (the `reference` tool, or `@reference name`);
/// for anything else, an error naming what there is.
pub fn reference(
    registry: &Registry,
    policy: &Policy,
    catalog: &Catalog,
    topic: &str,
) -> Result<String, String> {
    let topic = topic.trim().trim_start_matches('$');
    let granted: Vec<_> = registry
        .iter()
        .filter(|c| policy.grants(c.name()))
        .collect();
    if let Some(capability) = granted.iter().find(|c| c.name() == topic) {
        return Ok(capability_reference(*capability));
    }
    let programs = usable(catalog, policy);
    if let Some(program) = programs.iter().find(|p| p.front.name == topic) {
        let front = &program.front;
        let mut text = format!(
            "### {}\n\n`{}`\n\n{}\n",
            front.name,
            front.signature(),
            front.description
        );
        if !front.capabilities.is_empty() {
            text.push_str(&format!("\nUses: {}.\n", front.capabilities.join(", ")));
        }
        let examples: Vec<String> = front
            .examples
            .iter()
            .take(3)
            .map(|example| {
                format!(
                    "- `{}`",
                    watsmith_catalog::call::example_line(front, example)
                )
            })
            .collect();
        if !examples.is_empty() {
            text.push_str(&format!("\nExamples:\n{}\n", examples.join("\n")));
        }
        return Ok(text);
    }
    let names: Vec<&str> = granted
        .iter()
        .map(|c| c.name())
        .chain(programs.iter().map(|p| p.front.name.as_str()))
        .collect();
    Err(format!(
        "there is no capability or program `{topic}` to give the reference of; there are: {}",
        names.join(", ")
    ))
}

impl SystemPrompt {
    /// The prompt for a session granted `policy` on an engine with `registry`, offering
    /// `catalog`, under `limits` per run and `agent` per task, holding as much of the reference
    /// as `style` says.
    pub fn build(
        registry: &Registry,
        policy: &Policy,
        catalog: &Catalog,
        limits: &Limits,
        agent: &AgentLimits,
        protocol: Protocol,
        style: PromptStyle,
    ) -> Self {
        let mut text = String::from(
            "You are the agent of watsmith. You solve the user's task by running small \
             WebAssembly programs, which you write in WAT-plus, or ready programs from the \
             catalog, and you read their results before you answer. Compute rather than guess: \
             run a program for anything you would otherwise estimate.\n\n",
        );
        text.push_str(&protocol_section(protocol, style));
        text.push('\n');
        text.push_str(DIALECT);
        text.push_str("\n## Host functions you may call\n");
        if style == PromptStyle::Compact {
            text.push_str(
                "\nBy capability, with its functions' names (call them as \
                 `(call $capability.name ...)`; ask for the reference of a capability for their \
                 signatures):\n",
            );
        }
        for capability in registry.iter().filter(|c| policy.grants(c.name())) {
            match style {
                PromptStyle::Full => {
                    text.push('\n');
                    text.push_str(&capability_reference(capability));
                }
                PromptStyle::Compact => {
                    let names: Vec<&str> = capability
                        .functions()
                        .iter()
                        .map(|f| f.function.name)
                        .collect();
                    text.push_str(&format!(
                        "- `{}`: {} ({})\n",
                        capability.name(),
                        capability.description(),
                        names.join(", ")
                    ));
                }
            }
        }
        let usable = usable(catalog, policy);
        if !usable.is_empty() {
            let call = match protocol {
                Protocol::Tools => "run with `use_program`",
                Protocol::Text => "called with `@use name(args)`",
            };
            text.push_str(&format!("\n## Catalog: ready programs, {call}\n\n"));
            match style {
                PromptStyle::Full => {
                    for program in usable {
                        let summary = program
                            .front
                            .description
                            .split("; ")
                            .next()
                            .unwrap_or_default();
                        text.push_str(&format!("- `{}`: {summary}\n", program.front.signature()));
                    }
                }
                PromptStyle::Compact => {
                    let names: Vec<&str> = usable.iter().map(|p| p.front.name.as_str()).collect();
                    text.push_str(&format!(
                        "{} (ask for a program's reference for its arguments).\n",
                        names.join(", ")
                    ));
                }
            }
        }
        text.push_str(&format!(
            "\n## Limits\n\nEach run: {} instructions, {} ms, {} MiB of memory. Each task: at \
             most {} actions, {} retries of a program that does not compile.\n",
            limits
                .fuel
                .map_or_else(|| "unlimited".to_owned(), |f| f.to_string()),
            limits.timeout.as_millis(),
            limits.memory_bytes >> 20,
            agent.max_steps,
            agent.max_retries,
        ));
        Self::new(text)
    }
}
