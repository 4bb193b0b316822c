//! The outcome of a run: the one format shared by the CLI, the agent's observations, the server
//! and the evaluation tools.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use watsmith_preprocessor::Diagnostic;

use crate::status::StatusCode;
use crate::value::Value;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The program returned 0.
    Ok,
    /// The program returned a non-zero status, or was refused by the policy (EACCESS).
    Error,
    /// The program trapped or hit a limit.
    Trap,
    /// The program did not preprocess, assemble or validate.
    Invalid,
    /// The caller cancelled the run ([`Engine::exec_cancellable`](crate::Engine::exec_cancellable)):
    /// it stopped where it was; what it had stored (kv, files) stays.
    Cancelled,
    /// The run never started: every instance slot (or the compiler) stayed busy for the
    /// engine's queue wait, or the queue was full ([`EngineConfig::queue`](crate::EngineConfig::queue)).
    /// Not the program's fault: the same call may succeed later.
    Busy,
}

impl Status {
    /// The name as in the JSON form: `ok`, `error`, `trap`, `invalid`, `cancelled`, `busy`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Trap => "trap",
            Self::Invalid => "invalid",
            Self::Cancelled => "cancelled",
            Self::Busy => "busy",
        }
    }
}

/// Why a run was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TrapKind {
    /// The instruction budget ran out.
    OutOfFuel,
    /// The wall-clock deadline passed.
    Timeout,
    /// No longer produced: `memory.grow` past the cap returns -1 and the host allocator ENOMEM.
    /// Kept so that outcomes recorded by earlier versions (transcripts, stored sessions) read.
    MemoryLimit,
    /// The wasm stack overflowed (deep recursion).
    StackOverflow,
    /// An `unreachable` instruction ran.
    Unreachable,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// Signed integer overflow in division.
    IntegerOverflow,
    /// A float that does not fit the integer it was converted to.
    InvalidConversion,
    /// A load or store outside the linear memory.
    MemoryOutOfBounds,
    /// The results exceeded their caps.
    OutputLimit,
    /// A host-call budget (HTTP requests, AI calls or tokens, storage operations) ran out.
    HostBudget,
    /// A host function failed.
    Host,
    /// Any other trap.
    Other,
}

impl TrapKind {
    /// Its name, as in JSON: `out_of_fuel`, `timeout`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::OutOfFuel => "out_of_fuel",
            Self::Timeout => "timeout",
            Self::MemoryLimit => "memory_limit",
            Self::StackOverflow => "stack_overflow",
            Self::Unreachable => "unreachable",
            Self::IntegerDivideByZero => "integer_divide_by_zero",
            Self::IntegerOverflow => "integer_overflow",
            Self::InvalidConversion => "invalid_conversion",
            Self::MemoryOutOfBounds => "memory_out_of_bounds",
            Self::OutputLimit => "output_limit",
            Self::HostBudget => "host_budget",
            Self::Host => "host",
            Self::Other => "other",
        }
    }
}

/// A trap and its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapInfo {
    /// What stopped the program.
    pub kind: TrapKind,
    /// Wasmtime's (or the host's) description.
    pub message: String,
}

/// Whether the compiled program came from a cache: `hit` (this engine's, in memory), `disk`
/// (the on-disk cache: neither preprocessed nor compiled by this process) or `miss` (compiled
/// for this run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheState {
    /// Compiled before; reused.
    Hit,
    /// Compiled for this run.
    Miss,
    /// Loaded from the on-disk cache ([`crate::EngineConfig::disk_cache`]) for this run.
    Disk,
}

/// What a run spent of its host-call budgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// HTTP requests sent, redirects included.
    pub http_requests: u32,
    /// AI completions asked for.
    pub ai_calls: u32,
    /// AI tokens, prompt and completion.
    pub ai_tokens: u64,
    /// kv and fs operations.
    pub io_ops: u32,
    /// Bytes written to files by `fs.write` and `fs.append`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fs_write_bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// How the run ended.
    pub status: Status,
    /// The program's status code, when it returned one: SUCCESS for `ok`; for `error` the code it
    /// returned, or EACCESS when the policy refused it. Absent (`None`) when the program was
    /// stopped (`trap`) or did not compile (`invalid`): it returned nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<StatusCode>,
    /// The code's name (`SUCCESS`, `EBOUND`, ..., `CUSTOM`), present with `code`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "code_name"
    )]
    pub code_name: Option<Cow<'static, str>>,
    /// The results, in order.
    pub results: Vec<Value>,
    /// The log lines (with a final marker if some were dropped).
    pub logs: Vec<String>,
    /// The trap, if the program was stopped.
    pub trap: Option<TrapInfo>,
    /// Errors (and warnings) located in the body as the model wrote it.
    pub diagnostics: Vec<Diagnostic>,
    /// Instructions consumed (fuel units), exact: for a run that returned, ran out of fuel or
    /// was stopped by the host (a budget, a cap, a deadline passed in a host call), and 0 for
    /// one that never ran. Absent (`None`) when compiled code trapped (a division by zero, a
    /// deadline in a loop): compiled code keeps the count in a register and Wasmtime's stored
    /// count can be far behind, so no number would be true. Absent too when the engine does
    /// not meter fuel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_used: Option<u64>,
    /// What the run spent of its host-call budgets.
    pub usage: Usage,
    /// Wall-clock time of the run, including compilation on a cache miss.
    pub elapsed_us: u64,
    /// Whether the compiled program came from the cache (absent when it never compiled).
    pub cache: Option<CacheState>,
    /// SHA-256 of the WebAssembly module that ran, in hex (absent when it never compiled).
    pub module_hash: Option<String>,
}

impl Outcome {
    /// The outcome of a body that did not compile: its diagnostics.
    pub(crate) fn invalid(diagnostics: Vec<Diagnostic>) -> Self {
        Self::never_ran(Status::Invalid, None, diagnostics)
    }

    /// The outcome of a program the policy refused (EACCESS): why, located in the body.
    pub(crate) fn denied(diagnostics: Vec<Diagnostic>) -> Self {
        Self::never_ran(Status::Error, Some(StatusCode::EACCESS), diagnostics)
    }

    /// The outcome of a program stopped before it ran (no runtime, a compilation cut short).
    pub(crate) fn stopped(trap: TrapInfo) -> Self {
        let mut outcome = Self::never_ran(Status::Trap, None, Vec::new());
        outcome.trap = Some(trap);
        outcome
    }

    /// The outcome of a run cancelled before it started (while it waited for a slot or the
    /// compiler).
    pub(crate) fn cancelled() -> Self {
        Self::never_ran(Status::Cancelled, None, Vec::new())
    }

    /// The outcome of a run that found the engine at capacity (see [`Status::Busy`]).
    pub(crate) fn busy() -> Self {
        Self::never_ran(Status::Busy, None, Vec::new())
    }

    fn never_ran(status: Status, code: Option<StatusCode>, diagnostics: Vec<Diagnostic>) -> Self {
        Self {
            status,
            code,
            code_name: code.map(|code| Cow::Borrowed(code.name())),
            results: Vec::new(),
            logs: Vec::new(),
            trap: None,
            diagnostics,
            fuel_used: Some(0),
            usage: Usage::default(),
            elapsed_us: 0,
            cache: None,
            module_hash: None,
        }
    }

    /// The outcome, recording whether its program came from the cache.
    pub(crate) fn with_cache(mut self, cache: CacheState) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The outcome, with its wall-clock time counted from `started`.
    pub(crate) fn timed_since(mut self, started: std::time::Instant) -> Self {
        self.elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self
    }
}

/// A code's name, read back as the name the engine gives it (one of [`StatusCode::NAMES`]).
fn code_name<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'static, str>>, D::Error> {
    let Some(name) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    StatusCode::NAMES
        .into_iter()
        .find(|known| *known == name)
        .map(|known| Some(Cow::Borrowed(known)))
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown status code name `{name}`; the names are {}",
                StatusCode::NAMES.join(", ")
            ))
        })
}
