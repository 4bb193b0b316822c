//! Every limit of a run and its default, in one place.
//!
//! Defaults deny: a run gets finite fuel, a wall-clock deadline, a memory cap and output caps
//! unless the caller asks for more.

use std::time::Duration;

use serde::Serialize;

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
/// Stack left to host code on a run's fiber, past the wasm stack (async host calls are polled
/// there).
pub const ASYNC_HOST_STACK_BYTES: usize = 3 << 19;
/// Default number of instance slots of the pooling allocator: the most runs at once per engine.
pub const DEFAULT_POOL_SLOTS: u32 = 256;
/// Bytes at the start of each pooled memory that are zeroed in place when a run ends instead of
/// being returned to the kernel: the data segments and first allocations of the next run then
/// land on resident pages. Measured on the 30-line example: 12.0 µs per pre-linked run without,
/// 4.6 µs with 4 or 16 KiB, 6.5 µs with 64 KiB (zeroing a whole page costs more than it saves).
pub const POOL_KEEP_RESIDENT_BYTES: usize = 16 << 10;
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
/// Default number of compiled programs the cache keeps.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

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
        }
    }
}
