//! The state of one run, and the helpers host functions use to reach the program's memory.

use wasmtime::{AsContextMut, Caller, Memory, ResourceLimiter};

use crate::limits::{Limits, WASM_PAGE};
use crate::status::StatusCode;
use crate::value::Value;

/// The linear memory grew past the run's cap (a trap, reported as `memory_limit`).
#[derive(Debug, thiserror::Error)]
#[error("linear memory limit of {cap} bytes exceeded (asked for {desired} bytes)")]
pub struct MemoryLimitExceeded {
    /// The cap.
    pub cap: u64,
    /// What the program asked for.
    pub desired: u64,
}

/// A result cap was exceeded (a trap, reported as `output_limit`).
#[derive(Debug, thiserror::Error)]
#[error("output limit exceeded: {0}")]
pub struct OutputLimitExceeded(pub String);

/// Enforces the memory cap. Growth requested by the program's own `memory.grow` traps when it
/// would pass the cap; growth requested by the host allocator fails softly, so that `core.alloc`
/// can return ENOMEM and the program decide.
#[derive(Debug)]
pub(crate) struct MemoryCap {
    pub(crate) max_bytes: u64,
    pub(crate) host_growing: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired <= self.max_bytes {
            Ok(true)
        } else if self.host_growing {
            Ok(false)
        } else {
            Err(MemoryLimitExceeded {
                cap: self.max_bytes,
                desired,
            }
            .into())
        }
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

/// Everything one run owns: its arguments, its output, its allocator and memory cap.
#[derive(Debug)]
pub struct RunState {
    pub(crate) args: Vec<Value>,
    pub(crate) limits: Limits,
    pub(crate) output: Output,
    pub(crate) top: u32,
    pub(crate) memory: Option<Memory>,
    pub(crate) memory_cap: MemoryCap,
}

impl RunState {
    pub(crate) fn new(args: Vec<Value>, limits: Limits, initial_top: u32) -> Self {
        let memory_cap = MemoryCap {
            max_bytes: limits.memory_bytes,
            host_growing: false,
        };
        Self {
            args,
            limits,
            output: Output::default(),
            top: initial_top,
            memory: None,
            memory_cap,
        }
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
pub(crate) fn memory(caller: &Caller<'_, RunState>) -> wasmtime::Result<Memory> {
    caller
        .data()
        .memory
        .ok_or_else(|| wasmtime::format_err!("the program has no exported memory"))
}

/// Reads the length-prefixed bytes at `ptr`, or the status to return if they lie outside memory.
pub(crate) fn read_bytes(
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
pub(crate) fn read_str(
    caller: &mut Caller<'_, RunState>,
    ptr: i32,
) -> wasmtime::Result<Result<String, StatusCode>> {
    Ok(read_bytes(caller, ptr)?
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| StatusCode::ETRFM)))
}

/// Allocates `size` bytes (8-aligned) with the bump allocator, growing the memory as needed.
/// Returns the address, or ENOMEM when the memory cap (or the 4 GiB address space) is reached.
pub(crate) fn alloc(
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
        caller.data_mut().memory_cap.host_growing = true;
        let grown = memory.grow(caller.as_context_mut(), pages);
        caller.data_mut().memory_cap.host_growing = false;
        if grown.is_err() {
            return Ok(Err(StatusCode::ENOMEM));
        }
    }
    caller.data_mut().top = end as u32;
    Ok(Ok(start as u32))
}

/// Copies `bytes` into fresh memory as a length-prefixed value and returns its address.
pub(crate) fn write_value(
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
