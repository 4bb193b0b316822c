//! Capabilities: the host functions a program may import, grouped by what they give access to.
//!
//! A [`Capability`] names itself, documents its functions (the template assembler derives the WAT
//! import lines from these signatures, and the agent's system prompt lists them), and registers
//! them on the engine's linker. The [`Registry`] is the only place that knows them all: adding a
//! capability means implementing the trait and registering it, nothing else.

use std::any::Any;

use serde::Serialize;
use wasmtime::Linker;
use watsmith_preprocessor::abi::HostFunction;

use crate::policy::Grant;
use crate::state::RunState;

/// One host function, as documented to the model.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FunctionDoc {
    /// Module (the capability), name and signature.
    pub function: HostFunction,
    /// What it does, one line, including its error codes.
    pub description: &'static str,
}

impl FunctionDoc {
    /// The signature as a model reads it: `$core.alloc (param i32) (result i32 i32)`.
    pub fn signature(&self) -> String {
        let import = self.function.import_wat();
        let start = import.find("(func ").map_or(0, |i| i + "(func ".len());
        import[start..import.len() - 2].to_owned()
    }
}

/// A group of host functions imported as `(import "<name>" "<fn>" ...)` and called `$<name>.<fn>`.
pub trait Capability: Send + Sync + 'static {
    /// The import module name, e.g. `core`, `str`.
    fn name(&self) -> &'static str;

    /// One line on what the capability gives access to.
    fn description(&self) -> &'static str;

    /// Every function, with its signature.
    fn functions(&self) -> &'static [FunctionDoc];

    /// Registers the functions on the linker.
    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()>;

    /// Whether its functions are async (they wait on the network): a program importing one runs
    /// on a fiber ([`crate::Engine::run_async`]).
    fn is_async(&self) -> bool {
        false
    }

    /// Fresh state for one run that imports this capability, built from the run's grant; host
    /// functions reach it with [`RunState::state_mut`]. An `Err` refuses the run (EACCESS) with
    /// the message, e.g. when a grant lacks the settings the capability needs.
    fn new_state(&self, grant: &Grant) -> Result<Option<Box<dyn Any + Send>>, String> {
        let _ = grant;
        Ok(None)
    }
}

/// The capabilities an engine knows.
pub struct Registry {
    capabilities: Vec<Box<dyn Capability>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.capabilities.iter().map(|c| c.name()))
            .finish()
    }
}

impl Registry {
    /// A registry of the built-in capabilities.
    pub fn builtin() -> Self {
        Self {
            capabilities: vec![
                Box::new(crate::capabilities::core::Core),
                Box::new(crate::capabilities::str::Str),
                Box::new(crate::capabilities::arr::Arr),
                Box::new(crate::capabilities::json::Json),
                Box::new(crate::capabilities::math::Math),
                Box::new(crate::capabilities::http::Http::new()),
                Box::new(crate::capabilities::clock::Clock),
                Box::new(crate::capabilities::random::Random),
                Box::new(crate::capabilities::kv::Kv),
                Box::new(crate::capabilities::fs::Fs),
                Box::new(crate::capabilities::ai::Ai),
            ],
        }
    }

    /// Adds a capability; a second one with the same name replaces the first.
    pub fn register(&mut self, capability: Box<dyn Capability>) {
        self.capabilities.retain(|c| c.name() != capability.name());
        self.capabilities.push(capability);
    }

    /// All capabilities, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Capability> {
        self.capabilities.iter().map(|c| c.as_ref())
    }

    /// The capability named `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Capability> {
        self.iter().find(|c| c.name() == name)
    }

    /// The documented function `$capability.function`.
    pub fn function(&self, capability: &str, function: &str) -> Option<&'static FunctionDoc> {
        self.get(capability)?
            .functions()
            .iter()
            .find(|f| f.function.name == function)
    }

    /// Every function's full name (`$core.alloc`), for suggestions.
    pub fn function_names(&self) -> Vec<String> {
        self.iter()
            .flat_map(|c| c.functions().iter().map(|f| f.function.wat_name()))
            .collect()
    }

    /// Every capability with its functions, in Markdown: what `docs/capabilities.md` holds and
    /// `watsmith capabilities` prints.
    pub fn reference(&self) -> String {
        let mut text = String::new();
        for capability in self.iter() {
            text.push_str(&format!(
                "## `{}`\n\n{}.\n\n| function | what it does |\n|---|---|\n",
                capability.name(),
                capability.description()
            ));
            for function in capability.functions() {
                text.push_str(&format!(
                    "| `{}` | {} |\n",
                    function.signature(),
                    function.description.replace('|', "\\|")
                ));
            }
            text.push('\n');
        }
        text
    }

    /// `docs/capabilities.md` whole, and what `watsmith capabilities` prints: how a program
    /// calls and is granted capabilities, then [`Registry::reference`].
    pub fn document(&self) -> String {
        format!("{REFERENCE_PREAMBLE}{}", self.reference())
    }

    pub(crate) fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        for capability in self.iter() {
            capability.link(linker)?;
        }
        Ok(())
    }
}

/// The opening of [`Registry::document`].
const REFERENCE_PREAMBLE: &str = "\
# Capabilities

Generated from the engine's registry by `BLESS=1 cargo test -p watsmith-engine --test all
reference` (a test fails when this file is stale); `watsmith capabilities` prints the same.

A program imports a host function by calling it: `(call $str.len (local.get $s))`. Pointers are
`str`/`bytes` values (`[u32 length][bytes]` in memory). Functions that can fail return `(value,
status)`: use `(check $dst (call ...))` to store the value and end the run with the status if it
is not 0. A run may use only the capabilities its policy grants: `core` always; `str`, `arr`,
`json` and `math` by default (`Policy::standard`, and `watsmith exec`); `kv`, `fs`, `http`,
`ai`, `time` and `rand` when granted (on the command line `--allow CAP`, `--allow-host`,
`--fs-root`, `--store`, `--seed`; `ai` asks the model configured for the run). A program that
calls an ungranted capability is refused before it runs (EACCESS). Host-call budgets per run: HTTP requests (16, redirects
included), AI calls (4) and tokens (8192), kv and fs operations (10,000); past one the run stops
with a `host_budget` trap.

";
