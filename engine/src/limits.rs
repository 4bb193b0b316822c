//! Every limit of a run and its default, in one place.
//!
//! Defaults deny: a run gets finite fuel, a wall-clock deadline, a memory cap and output caps
//! unless the caller asks for more.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::policy::Widening;

/// Default instruction budget: about a second of compute on this project's machine.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;
/// The budget of a run without a fuel limit. Wasmtime keeps fuel in an `i64`, so this is the
/// largest budget whose consumption it still reports.
pub const UNLIMITED_FUEL: u64 = i64::MAX as u64;
/// Default wall-clock deadline of one run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default cap on the linear memory of one run.
pub const DEFAULT_MEMORY_BYTES: u64 = 64 << 20;
/// Default cap on the wasm stack (an engine setting: it is compiled into the code's checks).
pub const DEFAULT_STACK_BYTES: usize = 512 << 10;
/// Default cap on the number of results of one run.
pub const DEFAULT_MAX_RESULTS: usize = 1024;
/// Default cap on the total bytes of text and bytes results.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 1 << 20;
/// Default cap on the number of log lines.
pub const DEFAULT_MAX_LOGS: usize = 1000;
/// Default cap on the total bytes of log lines.
pub const DEFAULT_MAX_LOG_BYTES: usize = 64 << 10;
/// Period of the engine's epoch ticker: the resolution of deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);
/// Size of a WebAssembly page.
pub const WASM_PAGE: u64 = 64 << 10;
/// Default cap on HTTP requests per run (redirects included).
pub const DEFAULT_MAX_HTTP_REQUESTS: u32 = 16;
/// Default cap on the bytes of one HTTP response body.
pub const DEFAULT_MAX_HTTP_RESPONSE_BYTES: u64 = 4 << 20;
/// Default cap on AI completions per run.
pub const DEFAULT_MAX_AI_CALLS: u32 = 4;
/// Default cap on AI tokens (prompt and completion) per run.
pub const DEFAULT_MAX_AI_TOKENS: u64 = 8192;
/// Default cap on storage operations (kv and fs calls) per run.
pub const DEFAULT_MAX_IO_OPS: u32 = 10_000;
/// Default cap on the bytes `fs.write` and `fs.append` may write in one run (as a kv namespace
/// holds at most 16 MiB).
pub const DEFAULT_MAX_FS_WRITE_BYTES: u64 = 16 << 20;
/// What each file or directory a run creates counts against
/// [`Limits::max_fs_write_bytes`], besides its bytes: a block of the disk, so that a run cannot
/// create millions of empty directories (at most 4,096 entries under the default quota).
pub const FS_ENTRY_BYTES: u64 = 4 << 10;
/// Stack left to host code on a run's fiber, past the wasm stack (async host calls are polled
/// there).
pub const ASYNC_HOST_STACK_BYTES: usize = 3 << 19;
/// Default number of instance slots of the pooling allocator: the most runs at once per engine.
/// Each slot reserves [`POOL_SLOT_ADDRESS_BYTES`] of address space (not memory), so the default
/// pool reserves about 1.03 TiB; under an address-space limit (`ulimit -v`) the pool is made
/// smaller (see [`EngineConfig::pool_slots`](crate::EngineConfig::pool_slots)).
pub const DEFAULT_POOL_SLOTS: u32 = 256;
/// Default number of calls that may wait for an instance slot or the compiler at once: four
/// times [`DEFAULT_POOL_SLOTS`] (see [`QueueConfig`](crate::QueueConfig)).
pub const DEFAULT_QUEUE_CAPACITY: u32 = 4 * DEFAULT_POOL_SLOTS;
/// Default longest wait of a queued call (see [`QueueConfig`](crate::QueueConfig)).
pub const DEFAULT_QUEUE_WAIT: Duration = Duration::from_secs(1);
/// Guard region Wasmtime reserves before and after each linear memory on 64-bit hosts (its
/// default), so that most bounds checks are done by the hardware.
pub const MEMORY_GUARD_BYTES: u64 = 32 << 20;
/// Address space one pool slot reserves: the largest memory a run may be granted, its two guard
/// regions and the run's fiber stack, rounded up to the next 64 MiB (Wasmtime pads to pages).
pub const POOL_SLOT_ADDRESS_BYTES: u64 = (MAX_MEMORY_BYTES as u64
    + 2 * MEMORY_GUARD_BYTES
    + (DEFAULT_STACK_BYTES + ASYNC_HOST_STACK_BYTES) as u64)
    .next_multiple_of(64 << 20);
/// Writable memory one pool slot maps when the engine starts: the run's fiber stack (its
/// guard page included, rounded up). It counts against a data limit (`RLIMIT_DATA`), unlike the
/// memory reservation, which is not writable until a run grows into it.
pub const POOL_SLOT_DATA_BYTES: u64 =
    ((DEFAULT_STACK_BYTES + ASYNC_HOST_STACK_BYTES) as u64 + (64 << 10)).next_multiple_of(1 << 20);
/// Under an address-space or data limit, the share of it the pool may take is one part in this
/// many (the rest is left to the process: its threads' stacks, the compiler, the heap, and the
/// memories that runs grow).
pub const POOL_ADDRESS_SHARE: u64 = 2;
/// Under an address-space limit that holds fewer pool slots than this, instances are
/// allocated on demand instead, each memory reserving only [`COMPACT_MEMORY_RESERVATION`].
pub const MIN_POOL_SLOTS: u32 = 4;
/// Address space each memory reserves when instances are allocated on demand under an
/// address-space limit: memories larger than this are moved when they grow, and the compiled
/// code checks bounds explicitly (slower than the guard regions of the pool, but it runs).
pub const COMPACT_MEMORY_RESERVATION: u64 = 64 << 20;
/// Bytes at the start of each pooled memory that are zeroed in place when a run ends instead of
/// being returned to the kernel with `madvise`: the data segments and first allocations of the
/// next run then land on resident pages, and a run whose memory is one wasm page (most bodies)
/// makes no system call at all when it ends. That matters more than the zeroing: each `madvise`
/// that drops pages flushes the TLB of every core running the process (an IPI, a VM exit under
/// KVM), so with 16 KiB kept (the remaining 48 KiB of the page returned on every run) two
/// threads ran 1.1-1.4x one thread's calls per second in `watsmith bench`, and 1.3-1.9x with the
/// whole page kept (two separate processes scale 1.5-2.3x on this VM, from minute to minute).
/// Measured alternately in one process: fib(20) 4.1 -> 3.6 µs p50, the 30-line primes body
/// 5.3 -> 4.0 µs.
pub const POOL_KEEP_RESIDENT_BYTES: usize = 64 << 10;
/// The largest linear memory any run may be granted (the whole 32-bit address space).
pub const MAX_MEMORY_BYTES: usize = 1 << 32;
/// Longest kv key, in bytes; longer (or empty) keys fail with EBOUND.
pub const KV_MAX_KEY_BYTES: usize = 256;
/// Largest kv value, in bytes; larger values fail with ENOMEM.
pub const KV_MAX_VALUE_BYTES: usize = 1 << 20;
/// Most keys in one kv namespace; a new key past it fails with ENOMEM.
pub const KV_MAX_KEYS: usize = 10_000;
/// Most bytes (keys and values together) in one kv namespace; a write past it fails with ENOMEM.
pub const KV_MAX_NAMESPACE_BYTES: usize = 16 << 20;
/// Longest kv namespace name, in bytes.
pub const KV_MAX_NAMESPACE_NAME_BYTES: usize = 256;
/// Bytes of compiled Cranelift functions (keys and code) kept per engine for reuse by later
/// compiles: the trampolines every module needs, and recently compiled bodies' functions.
pub const CODE_CACHE_BYTES: usize = 8 << 20;
/// Default number of compiled programs the cache keeps.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

/// Most instructions in a body's function, after macro expansion (checked before compiling,
/// like the three bounds below: compilation runs outside the run's limits). A 1,000-line program has a
/// few thousand.
pub const MAX_OPERATORS: usize = 100_000;
/// Most values on the operand stack at once. Hand-written code rarely holds more than a dozen.
pub const MAX_OPERAND_STACK: u32 = 1_000;
/// Deepest nesting of blocks, loops and ifs (the syntax tree's own limit is 256 levels).
pub const MAX_CONTROL_DEPTH: u32 = 256;
/// Most locals in a body's function, parameters and the expansion's own locals included.
pub const MAX_LOCALS: u32 = 2_000;
/// Most blocks, loops and ifs in a body's function (16,000 ifs compiled for 1 s). A
/// hand-written program has a few hundred at most.
pub const MAX_BLOCKS: usize = 5_000;
/// Most loops in a body's function: compile time grows with the square of their number (4,000
/// took 1.4 s, 16,000 took 20 s). A hand-written program has a few dozen.
pub const MAX_LOOPS: usize = 1_000;
/// Most liveness work in a body's function: at every instruction that begins a block or
/// branches (`block`, `loop`, `if`, `else`, `br_if`, `br_table`), its locals plus the values on
/// the operand stack, summed. A hand-written program of 30 locals and 300 blocks has 9,000; a
/// body at the bound compiles in about 0.3 s (1,000 locals across 1,000 loops).
pub const MAX_LIVENESS_WORK: usize = 1_000_000;

/// Per-run limits. `None` fuel means unlimited (the deadline still applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Instruction budget (fuel); `None` for unlimited.
    pub fuel: Option<u64>,
    /// Wall-clock deadline, enforced by epoch interruption.
    pub timeout: Duration,
    /// Cap on the linear memory, in bytes.
    pub memory_bytes: u64,
    /// Cap on the number of results.
    pub max_results: usize,
    /// Cap on the total bytes of text/bytes results.
    pub max_result_bytes: usize,
    /// Cap on the number of log lines.
    pub max_logs: usize,
    /// Cap on the total bytes of log lines.
    pub max_log_bytes: usize,
    /// Cap on HTTP requests, redirects included (a host-call budget).
    pub max_http_requests: u32,
    /// Cap on the bytes of one HTTP response body (larger responses fail with EREMOTE).
    pub max_http_response_bytes: u64,
    /// Cap on AI completions (a host-call budget).
    pub max_ai_calls: u32,
    /// Cap on AI tokens, prompt and completion (a host-call budget).
    pub max_ai_tokens: u64,
    /// Cap on kv and fs operations (a host-call budget).
    pub max_io_ops: u32,
    /// Cap on the bytes `fs.write` and `fs.append` write in one run; a write that would pass it
    /// fails with ENOMEM (and a log line) before anything is written.
    pub max_fs_write_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: Some(DEFAULT_FUEL),
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            max_results: DEFAULT_MAX_RESULTS,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            max_logs: DEFAULT_MAX_LOGS,
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            max_http_requests: DEFAULT_MAX_HTTP_REQUESTS,
            max_http_response_bytes: DEFAULT_MAX_HTTP_RESPONSE_BYTES,
            max_ai_calls: DEFAULT_MAX_AI_CALLS,
            max_ai_tokens: DEFAULT_MAX_AI_TOKENS,
            max_io_ops: DEFAULT_MAX_IO_OPS,
            max_fs_write_bytes: DEFAULT_MAX_FS_WRITE_BYTES,
        }
    }
}

/// Per-run limits as data (a configuration file, a command line, a request): each field left out
/// keeps the limit it is applied to. `fuel = 0` means no instruction budget (the deadline still
/// applies). Narrowed like a [`crate::PolicySpec`]: a request may lower a limit, never raise it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSpec {
    /// Instruction budget; 0 for unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Wall-clock deadline, in milliseconds (at least 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Cap on the linear memory, in MiB (at most 4096).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// Cap on HTTP requests, redirects included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_http_requests: Option<u32>,
    /// Cap on kv and fs operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_io_ops: Option<u32>,
}

/// A [`LimitsSpec`] that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the limit `{field}` {reason}")]
pub struct LimitsError {
    /// The field.
    pub field: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

impl LimitsSpec {
    /// `limits` with this spec's fields; an error names a field whose value cannot be a limit.
    pub fn apply(&self, mut limits: Limits) -> Result<Limits, LimitsError> {
        if let Some(fuel) = self.fuel {
            limits.fuel = (fuel > 0).then_some(fuel);
        }
        if let Some(ms) = self.timeout_ms {
            if ms == 0 {
                return Err(LimitsError {
                    field: "timeout_ms",
                    reason: "must be at least 1".to_owned(),
                });
            }
            limits.timeout = Duration::from_millis(ms);
        }
        if let Some(mb) = self.memory_mb {
            let bytes = mb.saturating_mul(1 << 20);
            if mb == 0 || bytes > MAX_MEMORY_BYTES as u64 {
                return Err(LimitsError {
                    field: "memory_mb",
                    reason: format!(
                        "must be 1 to {} (the 32-bit address space)",
                        MAX_MEMORY_BYTES >> 20
                    ),
                });
            }
            limits.memory_bytes = bytes;
        }
        if let Some(requests) = self.max_http_requests {
            limits.max_http_requests = requests;
        }
        if let Some(ops) = self.max_io_ops {
            limits.max_io_ops = ops;
        }
        Ok(limits)
    }

    /// This spec (the caps, over [`Limits::default`]) narrowed by `request`: the request's
    /// limits where it gives them and they are within the caps, the caps' elsewhere.
    pub fn narrow(&self, request: &LimitsSpec) -> Result<LimitsSpec, Widening> {
        let caps = self
            .apply(Limits::default())
            .map_err(|e| Widening(e.to_string()))?;
        let asked = request
            .apply(caps.clone())
            .map_err(|e| Widening(e.to_string()))?;
        let over = |what: &str, asked: String, cap: String| {
            Widening(format!("{what} of {asked}; at most {cap} is allowed"))
        };
        match (caps.fuel, asked.fuel) {
            (Some(cap), None) => {
                return Err(over("unlimited fuel", "a run".to_owned(), cap.to_string()));
            }
            (Some(cap), Some(fuel)) if fuel > cap => {
                return Err(over("fuel", fuel.to_string(), cap.to_string()));
            }
            _ => {}
        }
        if asked.timeout > caps.timeout {
            return Err(over(
                "a deadline",
                format!("{} ms", asked.timeout.as_millis()),
                format!("{} ms", caps.timeout.as_millis()),
            ));
        }
        if asked.memory_bytes > caps.memory_bytes {
            return Err(over(
                "memory",
                format!("{} MiB", asked.memory_bytes >> 20),
                format!("{} MiB", caps.memory_bytes >> 20),
            ));
        }
        if asked.max_http_requests > caps.max_http_requests {
            return Err(over(
                "HTTP requests",
                asked.max_http_requests.to_string(),
                caps.max_http_requests.to_string(),
            ));
        }
        if asked.max_io_ops > caps.max_io_ops {
            return Err(over(
                "storage operations",
                asked.max_io_ops.to_string(),
                caps.max_io_ops.to_string(),
            ));
        }
        Ok(LimitsSpec {
            fuel: Some(asked.fuel.unwrap_or(0)),
            timeout_ms: Some(u64::try_from(asked.timeout.as_millis()).unwrap_or(u64::MAX)),
            memory_mb: Some(asked.memory_bytes >> 20),
            max_http_requests: Some(asked.max_http_requests),
            max_io_ops: Some(asked.max_io_ops),
        })
    }
}
