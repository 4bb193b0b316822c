//! Capabilities: the host functions a program may import, grouped by what they give access to.
//!
//! A [`Capability`] names itself, documents its functions (the template assembler derives the WAT
//! import lines from these signatures, and the agent's system prompt lists them), and registers
//! them on the engine's linker. The [`Registry`] is the only place that knows them all: adding a
//! capability means implementing the trait and registering it, nothing else.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use wasmtime::Linker;
use watsmith_preprocessor::abi::HostFunction;

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
                Box::new(crate::capabilities::kv::Kv::in_memory()),
                Box::new(crate::capabilities::fs::Fs),
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

    pub(crate) fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        for capability in self.iter() {
            capability.link(linker)?;
        }
        Ok(())
    }
}

/// How a run may use one capability: granted, with optional settings the capability reads when
/// it builds the run's state (a jail root, a host allowlist, a seed).
#[derive(Clone, Default)]
pub struct Grant {
    settings: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("settings", &self.settings.as_ref().map(|_| ".."))
            .finish()
    }
}

impl Grant {
    /// The settings, if they were given and are of type `T`.
    pub fn settings<T: Any>(&self) -> Option<&T> {
        self.settings.as_deref()?.downcast_ref()
    }
}

/// Which capabilities a run may use. `core` is always granted; everything else is denied unless
/// allowed.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    grants: BTreeMap<String, Grant>,
}

impl Policy {
    /// The capability that every program has: arguments, results, allocation and logging.
    pub const ALWAYS: &'static str = "core";

    /// Capabilities that compute without reaching outside the run and give the same results on
    /// every run: [`Policy::standard`] grants them.
    pub const COMPUTE: [&'static str; 4] = ["str", "arr", "json", "math"];

    /// A policy that grants only `core`.
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// `core` and the compute-only capabilities ([`Policy::COMPUTE`]); nothing that reads or
    /// writes outside the run (kv, fs, http, ai) or makes it irreproducible (time, rand).
    pub fn standard() -> Self {
        Self::COMPUTE
            .iter()
            .fold(Self::deny_all(), |policy, name| policy.allow(*name))
    }

    /// Grants a capability with its default settings.
    pub fn allow(mut self, capability: impl Into<String>) -> Self {
        self.grants.insert(capability.into(), Grant::default());
        self
    }

    /// Grants a capability with settings (see each capability for their type).
    pub fn allow_with<T: Any + Send + Sync>(
        mut self,
        capability: impl Into<String>,
        settings: T,
    ) -> Self {
        let grant = Grant {
            settings: Some(Arc::new(settings)),
        };
        self.grants.insert(capability.into(), grant);
        self
    }

    /// Whether the capability is granted.
    pub fn grants(&self, capability: &str) -> bool {
        capability == Self::ALWAYS || self.grants.contains_key(capability)
    }

    /// The grant of a capability, if it is granted (`core` has the default grant).
    pub fn grant(&self, capability: &str) -> Option<Grant> {
        match self.grants.get(capability) {
            Some(grant) => Some(grant.clone()),
            None => (capability == Self::ALWAYS).then(Grant::default),
        }
    }

    /// The granted capabilities' names, sorted (`core` included).
    pub fn granted(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.grants.keys().map(String::as_str).collect();
        if !names.contains(&Self::ALWAYS) {
            names.push(Self::ALWAYS);
        }
        names.sort_unstable();
        names
    }
}
