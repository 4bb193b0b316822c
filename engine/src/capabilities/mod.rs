//! The built-in capabilities.
//!
//! `core` is always granted; `str`, `arr`, `json` and `math` compute without reaching outside the
//! run ([`crate::Policy::standard`] grants them); `kv`, `fs`, `http`, `ai`, `time` and `rand` are
//! granted one by one. The helpers below are what their host functions
//! share: reading a str argument where it lies in memory, and returning `(value, status)` while
//! letting a host error (a missing memory, an output limit) end the run.

pub mod ai;
pub mod arr;
pub mod clock;
pub mod core;
pub mod fs;
pub mod http;
pub mod json;
pub mod kv;
pub mod math;
pub mod random;
pub mod str;

use wasmtime::Caller;
use watsmith_preprocessor::abi::{HostFunction, ValType};

use crate::capability::FunctionDoc;
use crate::state::{self, RunState};
use crate::status::StatusCode;

/// The primitive `str`: the module `str` below shadows it in this file.
type Text = std::primitive::str;

/// Why a host function did not produce its value: a status the program gets back, or a host
/// error that ends the run as a trap.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Returned to the program as the call's error code.
    Status(StatusCode),
    /// Ends the run.
    Host(wasmtime::Error),
}

impl From<StatusCode> for Failure {
    fn from(code: StatusCode) -> Self {
        Self::Status(code)
    }
}

impl From<wasmtime::Error> for Failure {
    fn from(error: wasmtime::Error) -> Self {
        Self::Host(error)
    }
}

/// The `(value, status)` results of a fallible host function: the value is its default (0) on
/// error.
pub(crate) fn returned<T: Default>(result: Result<T, Failure>) -> wasmtime::Result<(T, i32)> {
    match result {
        Ok(value) => Ok((value, 0)),
        Err(Failure::Status(code)) => Ok((T::default(), code.as_i32())),
        Err(Failure::Host(error)) => Err(error),
    }
}

/// The status result of a fallible host function without a value.
pub(crate) fn returned_status(result: Result<(), Failure>) -> wasmtime::Result<i32> {
    returned(result).map(|((), code)| code)
}

/// The bytes of the length-prefixed value at `ptr` in `data`, without copying; EBOUND if the
/// prefix or the bytes lie outside it.
pub(crate) fn located(data: &[u8], ptr: i32) -> Result<&[u8], StatusCode> {
    let start = ptr as u32 as usize;
    let prefix = data
        .get(start..start.saturating_add(4))
        .ok_or(StatusCode::EBOUND)?;
    let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    let body = start + 4;
    data.get(body..body.saturating_add(len))
        .ok_or(StatusCode::EBOUND)
}

/// The bytes of the value at `ptr`, borrowed from the program's memory.
pub(crate) fn view<'a>(caller: &'a Caller<'_, RunState>, ptr: i32) -> Result<&'a [u8], Failure> {
    let memory = state::memory(caller)?;
    Ok(located(memory.data(caller), ptr)?)
}

/// The text of the str at `ptr`, borrowed: EBOUND outside memory, ETRFM if not UTF-8.
pub(crate) fn text<'a>(caller: &'a Caller<'_, RunState>, ptr: i32) -> Result<&'a Text, Failure> {
    utf8(view(caller, ptr)?)
}

/// `bytes` as text, or ETRFM.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&Text, Failure> {
    Ok(std::str::from_utf8(bytes).map_err(|_| StatusCode::ETRFM)?)
}

/// ENOMEM unless a value of `len` bytes could still be stored in the run's memory: above the
/// allocator's top, within the memory cap less the host data the run holds (its ledger). What
/// builds output on the host checks its size with this first, so that no input makes the host
/// build more than the run could still hold.
pub(crate) fn fits(caller: &Caller<'_, RunState>, len: u64) -> Result<(), Failure> {
    let run = caller.data();
    let needed = u64::from(run.top)
        .saturating_add(8)
        .saturating_add(len)
        .saturating_add(4)
        .saturating_add(run.ledger.bytes());
    if needed > run.limits().memory_bytes {
        return Err(StatusCode::ENOMEM.into());
    }
    Ok(())
}

pub(crate) fn store(caller: &mut Caller<'_, RunState>, bytes: &[u8]) -> Result<i32, Failure> {
    Ok(state::write_value(caller, bytes)?? as i32)
}

/// A function's documentation entry.
pub(crate) const fn doc(function: HostFunction, description: &'static str) -> FunctionDoc {
    FunctionDoc {
        function,
        description,
    }
}

/// The signature of `module.name`.
pub(crate) const fn signature(
    module: &'static str,
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostFunction {
    HostFunction {
        module,
        name,
        params,
        results,
    }
}

/// Why the str argument at `ptr` could not be read (for the log), given the status
/// [`crate::host::read_str`] returned.
pub(crate) fn unreadable_str(ptr: i32, code: StatusCode) -> String {
    if code == StatusCode::ETRFM {
        format!("the str at address {ptr} is not UTF-8")
    } else {
        format!("no str at address {ptr}")
    }
}
