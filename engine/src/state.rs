//! The state of one run, and the helpers host functions use to reach the program's memory
//! (public as [`crate::host`], for capabilities defined outside this crate).

use std::any::Any;

use wasmtime::{AsContextMut, Caller, Memory, ResourceLimiter};

use crate::limits::{Limits, WASM_PAGE};
use crate::outcome::Usage;
use crate::status::StatusCode;
use crate::value::Value;

/// A host-call budget of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// HTTP requests ([`Limits::max_http_requests`]).
    HttpRequests,
    /// AI completions ([`Limits::max_ai_calls`]).
    AiCalls,
    /// AI tokens ([`Limits::max_ai_tokens`]).
    AiTokens,
    /// kv and fs operations ([`Limits::max_io_ops`]).
    IoOps,
    /// Bytes written to files ([`Limits::max_fs_write_bytes`]).
    FsWriteBytes,
}

/// A host-call budget ran out (a trap, reported as `host_budget`).
#[derive(Debug, thiserror::Error)]
#[error("host-call budget exhausted: at most {limit} {what} per run")]
pub struct HostBudgetExceeded {
    /// What ran out.
    pub what: &'static str,
    /// The budget.
    pub limit: u64,
}

/// A result cap was exceeded (a trap, reported as `output_limit`).
#[derive(Debug, thiserror::Error)]
#[error("output limit exceeded: {0}")]
pub struct OutputLimitExceeded(pub String);

/// The one ledger of the host memory a run holds: its arrays and its parsed JSON document,
/// charged before they are built. The run's memory cap ([`Limits::memory_bytes`]) bounds these
/// bytes and the linear memory together: the host refuses (ENOMEM) what would pass it, and the
/// limiter refuses `memory.grow` past what the ledger leaves.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    bytes: u64,
}

impl Ledger {
    /// Host bytes charged now.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Charges `bytes`, or ENOMEM if the host bytes would pass `room` (the cap less the linear
    /// memory, as [`room`] gives it).
    pub(crate) fn charge(&mut self, bytes: u64, room: u64) -> Result<(), StatusCode> {
        let total = self.bytes.saturating_add(bytes);
        if total > room {
            return Err(StatusCode::ENOMEM);
        }
        self.bytes = total;
        Ok(())
    }

    /// Whether `bytes` more could be charged within `room`, without charging them.
    pub(crate) fn admits(&self, bytes: u64, room: u64) -> Result<(), StatusCode> {
        if self.bytes.saturating_add(bytes) > room {
            return Err(StatusCode::ENOMEM);
        }
        Ok(())
    }

    /// Gives back `bytes` charged before.
    pub(crate) fn release(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_sub(bytes);
    }
}

/// The bytes host data may still take: the memory cap less the linear memory's size.
pub(crate) fn room(caller: &Caller<'_, RunState>) -> wasmtime::Result<u64> {
    let linear = memory(caller)?.data_size(caller) as u64;
    Ok(caller.data().limits.memory_bytes.saturating_sub(linear))
}

/// The run's limiter: linear memory and host data share the memory cap. Growth past it fails
/// softly: the program's `memory.grow` returns -1, as the WebAssembly spec says it may (and the
/// first refusal is logged, so the model learns why), and the host allocator returns ENOMEM.
impl ResourceLimiter for RunState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let (cap, host) = (self.limits.memory_bytes, self.ledger.bytes());
        if (desired as u64).saturating_add(host) <= cap {
            return Ok(true);
        }
        if !self.host_growing && !self.grow_refused {
            self.grow_refused = true;
            let held = if host > 0 {
                format!(", of which host data (arrays, parsed JSON) holds {host}")
            } else {
                String::new()
            };
            self.push_log(format!(
                "memory.grow refused, returned -1: growing from {current} to {desired} bytes would pass the run's memory cap of {cap} bytes{held}"
            ));
        }
        Ok(false)
    }

    /// A growth the cap allowed failed anyway: the operating system refused the memory (a data
    /// or address-space limit of the process, or memory exhausted), or the memory's own
    /// maximum. `memory.grow` returns -1; the program is told why in a log line, once, as for
    /// the cap (a growth for the host allocator is reported by its ENOMEM instead).
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        if !self.host_growing && !self.grow_refused {
            self.grow_refused = true;
            self.push_log(format!(
                "memory.grow failed, returned -1: the host could not grow the memory ({error}), though the run's memory cap of {} bytes allows it",
                self.limits.memory_bytes
            ));
        }
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Bodies have no tables; refuse any.
        Ok(desired == 0)
    }
}

/// Results and logs of a run, within their caps.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub(crate) results: Vec<Value>,
    pub(crate) result_bytes: usize,
    pub(crate) logs: Vec<String>,
    pub(crate) log_bytes: usize,
    pub(crate) dropped_logs: usize,
}

/// Everything one run owns: its arguments, its output, its allocator and memory cap, what it spent
/// of its budgets, and the state of each capability it imports.
pub struct RunState {
    pub(crate) args: Vec<Value>,
    pub(crate) limits: Limits,
    pub(crate) output: Output,
    pub(crate) top: u32,
    pub(crate) memory: Option<Memory>,
    /// Set while the host allocator grows the memory, whose refusal is ENOMEM, not a log line.
    pub(crate) host_growing: bool,
    /// Whether a `memory.grow` was refused (logged once).
    grow_refused: bool,
    /// Host memory held by the run ([`Ledger`]).
    pub(crate) ledger: Ledger,
    pub(crate) usage: Usage,
    /// The run's host-side arrays (`arr`, and what `str.split` and `json.keys` return).
    pub(crate) arrays: crate::capabilities::arr::Arrays,
    states: Vec<Box<dyn Any + Send>>,
}

impl std::fmt::Debug for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunState")
            .field("args", &self.args)
            .field("top", &self.top)
            .field("usage", &self.usage)
            .field("states", &self.states.len())
            .finish_non_exhaustive()
    }
}

impl RunState {
    pub(crate) fn new(args: Vec<Value>, limits: Limits, initial_top: u32) -> Self {
        Self {
            args,
            limits,
            output: Output::default(),
            top: initial_top,
            memory: None,
            host_growing: false,
            grow_refused: false,
            ledger: Ledger::default(),
            usage: Usage::default(),
            arrays: crate::capabilities::arr::Arrays::default(),
            states: Vec::new(),
        }
    }

    pub(crate) fn add_state(&mut self, state: Box<dyn Any + Send>) {
        self.states.push(state);
    }

    /// The run's state of type `T`, as a capability's [`crate::Capability::new_state`] built it.
    pub fn state_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.states.iter_mut().find_map(|s| s.downcast_mut::<T>())
    }

    /// The run's state of type `T` and the run's host-memory ledger, to charge what it builds.
    pub(crate) fn state_and_ledger<T: Any>(&mut self) -> Option<(&mut T, &mut Ledger)> {
        let ledger = &mut self.ledger;
        self.states
            .iter_mut()
            .find_map(|s| s.downcast_mut::<T>())
            .map(|state| (state, ledger))
    }

    /// The run's limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Spends `amount` of a budget; past it, the run stops with a `host_budget` trap.
    pub fn charge(&mut self, budget: Budget, amount: u64) -> Result<(), HostBudgetExceeded> {
        let limits = &self.limits;
        let usage = &mut self.usage;
        let (used, limit, what): (u64, u64, &'static str) = match budget {
            Budget::HttpRequests => (
                u64::from(usage.http_requests),
                u64::from(limits.max_http_requests),
                "HTTP requests",
            ),
            Budget::AiCalls => (
                u64::from(usage.ai_calls),
                u64::from(limits.max_ai_calls),
                "AI calls",
            ),
            Budget::AiTokens => (usage.ai_tokens, limits.max_ai_tokens, "AI tokens"),
            Budget::IoOps => (
                u64::from(usage.io_ops),
                u64::from(limits.max_io_ops),
                "storage operations",
            ),
            Budget::FsWriteBytes => (
                usage.fs_write_bytes,
                limits.max_fs_write_bytes,
                "bytes written to files",
            ),
        };
        let total = used.saturating_add(amount);
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        match budget {
            Budget::HttpRequests => usage.http_requests = clamp(total.min(limit)),
            Budget::AiCalls => usage.ai_calls = clamp(total.min(limit)),
            Budget::AiTokens => usage.ai_tokens = total.min(limit),
            Budget::IoOps => usage.io_ops = clamp(total.min(limit)),
            Budget::FsWriteBytes => usage.fs_write_bytes = total.min(limit),
        }
        if total > limit {
            return Err(HostBudgetExceeded { what, limit });
        }
        Ok(())
    }

    /// What the run has spent of its budgets so far.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The remaining amount of a budget.
    pub fn remaining(&self, budget: Budget) -> u64 {
        let (used, limit) = match budget {
            Budget::HttpRequests => (
                u64::from(self.usage.http_requests),
                u64::from(self.limits.max_http_requests),
            ),
            Budget::AiCalls => (
                u64::from(self.usage.ai_calls),
                u64::from(self.limits.max_ai_calls),
            ),
            Budget::AiTokens => (self.usage.ai_tokens, self.limits.max_ai_tokens),
            Budget::IoOps => (
                u64::from(self.usage.io_ops),
                u64::from(self.limits.max_io_ops),
            ),
            Budget::FsWriteBytes => (self.usage.fs_write_bytes, self.limits.max_fs_write_bytes),
        };
        limit.saturating_sub(used)
    }

    /// Appends a line to the run's log (host functions explain their failures there).
    pub fn log(&mut self, line: impl Into<String>) {
        self.push_log(line.into());
    }

    pub(crate) fn push_result(&mut self, value: Value) -> wasmtime::Result<()> {
        let bytes = match &value {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            _ => 0,
        };
        let output = &mut self.output;
        if output.results.len() >= self.limits.max_results {
            return Err(OutputLimitExceeded(format!(
                "more than {} results",
                self.limits.max_results
            ))
            .into());
        }
        if output.result_bytes + bytes > self.limits.max_result_bytes {
            return Err(OutputLimitExceeded(format!(
                "more than {} bytes of results",
                self.limits.max_result_bytes
            ))
            .into());
        }
        output.result_bytes += bytes;
        output.results.push(value);
        Ok(())
    }

    /// Records a log line; past the caps, lines are counted and dropped (a marker says how many).
    pub(crate) fn push_log(&mut self, line: String) {
        let output = &mut self.output;
        if output.logs.len() >= self.limits.max_logs
            || output.log_bytes + line.len() > self.limits.max_log_bytes
        {
            output.dropped_logs += 1;
            return;
        }
        output.log_bytes += line.len();
        output.logs.push(line);
    }
}

/// The program's exported memory.
pub fn memory(caller: &Caller<'_, RunState>) -> wasmtime::Result<Memory> {
    caller
        .data()
        .memory
        .ok_or_else(|| wasmtime::format_err!("the program has no exported memory"))
}

/// Reads the length-prefixed bytes at `ptr`, or the status to return if they lie outside memory.
pub fn read_bytes(
    caller: &mut Caller<'_, RunState>,
    ptr: i32,
) -> wasmtime::Result<Result<Vec<u8>, StatusCode>> {
    let memory = memory(caller)?;
    let data = memory.data(&caller);
    let Ok(start) = usize::try_from(ptr as u32) else {
        return Ok(Err(StatusCode::EBOUND));
    };
    let Some(prefix) = data.get(start..start.saturating_add(4)) else {
        return Ok(Err(StatusCode::EBOUND));
    };
    let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    let body = start + 4;
    match data.get(body..body.saturating_add(len)) {
        Some(bytes) => Ok(Ok(bytes.to_vec())),
        None => Ok(Err(StatusCode::EBOUND)),
    }
}

/// Reads a str value at `ptr`: its bytes must be UTF-8 (ETRFM otherwise).
pub fn read_str(
    caller: &mut Caller<'_, RunState>,
    ptr: i32,
) -> wasmtime::Result<Result<String, StatusCode>> {
    Ok(read_bytes(caller, ptr)?
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| StatusCode::ETRFM)))
}

/// Allocates `size` bytes (8-aligned) with the bump allocator, growing the memory as needed.
/// Returns the address, or ENOMEM when the memory cap (or the 4 GiB address space) is reached.
pub fn alloc(
    caller: &mut Caller<'_, RunState>,
    size: u32,
) -> wasmtime::Result<Result<u32, StatusCode>> {
    let memory = memory(caller)?;
    let start = u64::from(caller.data().top).div_ceil(8) * 8;
    let end = start + u64::from(size);
    if end > u64::from(u32::MAX) {
        return Ok(Err(StatusCode::ENOMEM));
    }
    let current = memory.data_size(&caller) as u64;
    if end > current {
        let pages = (end - current).div_ceil(WASM_PAGE);
        caller.data_mut().host_growing = true;
        let grown = memory.grow(caller.as_context_mut(), pages);
        caller.data_mut().host_growing = false;
        if grown.is_err() {
            return Ok(Err(StatusCode::ENOMEM));
        }
    }
    caller.data_mut().top = end as u32;
    Ok(Ok(start as u32))
}

/// Copies `bytes` into fresh memory as a length-prefixed value and returns its address.
pub fn write_value(
    caller: &mut Caller<'_, RunState>,
    bytes: &[u8],
) -> wasmtime::Result<Result<u32, StatusCode>> {
    let Ok(len) = u32::try_from(bytes.len()) else {
        return Ok(Err(StatusCode::ENOMEM));
    };
    let ptr = match alloc(caller, len.saturating_add(4))? {
        Ok(ptr) => ptr,
        Err(status) => return Ok(Err(status)),
    };
    let memory = memory(caller)?;
    let data = memory.data_mut(caller.as_context_mut());
    let at = ptr as usize;
    data[at..at + 4].copy_from_slice(&len.to_le_bytes());
    data[at + 4..at + 4 + bytes.len()].copy_from_slice(bytes);
    Ok(Ok(ptr))
}

/// `(value, status)` as a host function returns it: the value is 0 on error.
pub fn pair<T: Default>(result: Result<T, StatusCode>) -> (T, i32) {
    match result {
        Ok(value) => (value, 0),
        Err(code) => (T::default(), code.as_i32()),
    }
}

/// The status a host function returns for an operation without a value.
pub fn status(result: Result<(), StatusCode>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(code) => code.as_i32(),
    }
}

/// Copies `bytes` (a str or bytes value) into the program's memory and returns
/// `(pointer, status)`, or `(0, error)` if `bytes` is an error or memory is full.
pub fn return_bytes(
    caller: &mut Caller<'_, RunState>,
    bytes: Result<impl AsRef<[u8]>, StatusCode>,
) -> wasmtime::Result<(i32, i32)> {
    match bytes {
        Ok(bytes) => Ok(pair(
            write_value(caller, bytes.as_ref())?.map(|ptr| ptr as i32),
        )),
        Err(code) => Ok((0, code.as_i32())),
    }
}
