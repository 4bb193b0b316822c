//! The watsmith engine: wraps an expanded WAT-plus body into a module, compiles it once (cached,
//! pre-linked), and runs it under fuel, memory, stack, output and wall-clock limits with only the
//! capabilities the run's policy grants. Every run ends in a typed [`Outcome`].
//!
//! ```
//! use watsmith_engine::{Engine, EngineConfig, Limits, Policy, Status, Value};
//!
//! let engine = Engine::new(&EngineConfig::default()).expect("engine");
//! let body = "(local $n i64) (argv 0 $n) (local.set $n (i64.mul (local.get $n) (local.get $n))) (resv $n)";
//! let outcome = engine.exec(body, vec![Value::I64(12)], &Policy::deny_all(), &Limits::default());
//! assert_eq!(outcome.status, Status::Ok);
//! assert_eq!(outcome.results, [Value::I64(144)]);
//! ```
//!
//! Design notes:
//! - The compile cache is keyed by the body's text, so a hit skips preprocessing entirely; the
//!   policy is still checked on every run against the capabilities the program imports.
//! - Deadlines use epoch interruption with one ticker thread per engine ([`limits::EPOCH_TICK`]).
//! - The linear memory and the host data of a run (its arrays, its parsed JSON) share one memory
//!   cap, charged before anything is built. Growth past it fails softly: the program's own
//!   `memory.grow` returns -1, as the spec allows (the first refusal is logged), and the host
//!   functions return ENOMEM, so a program can handle both.
//! - Capabilities ([`Capability`]) are registered in a [`Registry`] and granted per run by a
//!   [`Policy`], with settings where they need them ([`HttpGrant`], [`FsGrant`], [`KvGrant`],
//!   [`RandGrant`], [`AiGrant`]); each imported capability builds fresh per-run state from its
//!   grant. The policy is checked when a program runs, so one compiled program serves any
//!   policy, and what reaches outside the engine (the kv store, the model `ai` asks) travels
//!   with the grant: one engine serves sessions with different stores and models. A
//!   [`PolicySpec`] is the serde form of a policy, validated once and narrowed, never widened.
//! - `http`, `kv` and `ai` are async host functions: programs importing them run on a fiber
//!   ([`Engine::run_async`]; [`Engine::run`] drives them on the engine's own runtime).
//! - Instances come from Wasmtime's pooling allocator; compiled modules can also be kept on disk
//!   ([`EngineConfig::disk_cache`]).

#![deny(missing_docs)]

mod cache;
pub mod capabilities;
mod capability;
mod code_cache;
mod engine;
pub mod file;
mod index;
pub mod limits;
mod number;
mod outcome;
mod policy;
mod state;
mod status;
mod template;
mod value;

/// What a capability's host functions use to reach the program: its memory (str and bytes
/// values), the run's state and budgets, and the `(value, status)` return convention.
pub mod host {
    pub use crate::state::{
        Budget, RunState, alloc, memory, pair, read_bytes, read_str, return_bytes, status,
        write_value,
    };
}

pub use crate::cache::CacheStats;
pub use crate::capabilities::ai::{Ai, AiGrant, Model};
pub use crate::capabilities::fs::{Fs, FsGrant};
pub use crate::capabilities::http::{HostRule, HostRuleError, Http, HttpGrant};
pub use crate::capabilities::kv::{Kv, KvError, KvGrant, KvQuota, KvStore, MemoryKv};
pub use crate::capabilities::random::RandGrant;
pub use crate::capability::{Capability, FunctionDoc, Registry};
pub use crate::engine::{
    Allocation, Compiler, Engine, EngineConfig, EngineError, EngineErrorKind, ProcessLimits,
    Program, QueueConfig,
};
pub use crate::limits::{Limits, LimitsError, LimitsSpec};
pub use crate::number::{NumberError, parse_number};
pub use crate::outcome::{CacheState, Outcome, Status, TrapInfo, TrapKind, Usage};
pub use crate::policy::{
    AiBudget, FsSpec, Grant, GrantHint, GrantSettings, Policy, PolicyError, PolicySpec, Resources,
    Widening,
};
pub use crate::state::{Budget, HostBudgetExceeded, OutputLimitExceeded, RunState};
pub use crate::status::StatusCode;
pub use crate::template::{Assembled, assemble};
pub use crate::value::{Value, float_text, format_f64};
/// The token that cancels a run ([`Engine::exec_cancellable`], [`Engine::run_cancellable`]):
/// tokio-util's, re-exported so that callers need not depend on it.
pub use tokio_util::sync::CancellationToken;
