//! `core`: arguments, results, allocation and logging. Always granted.
//!
//! The `arg_*`/`res_*` functions are the ones the macros expand to
//! ([`watsmith_preprocessor::abi`]); the engine provides exactly those signatures (a test
//! checks it).

use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::{self, HostFunction, ValType};

use super::doc;
use crate::capability::{Capability, FunctionDoc};
use crate::state::{self, RunState, pair, status};
use crate::status::StatusCode;
use crate::value::Value;

/// The capability's name: its import module, and what a policy grants.
pub const NAME: &str = "core";

/// The `core` capability.
#[derive(Debug, Clone, Copy)]
pub struct Core;

/// `core.alloc`: `size` bytes of fresh memory.
pub const ALLOC: HostFunction = HostFunction {
    module: NAME,
    name: "alloc",
    params: &[ValType::I32],
    results: &[ValType::I32, ValType::I32],
};
/// `core.log`: append a str to the run's log.
pub const LOG: HostFunction = HostFunction {
    module: NAME,
    name: "log",
    params: &[ValType::I32],
    results: &[],
};
/// `core.arg_count`: the number of arguments.
pub const ARG_COUNT: HostFunction = HostFunction {
    module: NAME,
    name: "arg_count",
    params: &[],
    results: &[ValType::I32],
};

static FUNCTIONS: [FunctionDoc; 13] = [
    doc(
        abi::ARG_I32,
        "argument N as i32 (what `argv` calls); EBOUND if there is no argument N, ETRFM if it is not an integer that fits",
    ),
    doc(
        abi::ARG_I64,
        "argument N as i64; EBOUND if missing, ETRFM if not an integer",
    ),
    doc(
        abi::ARG_F64,
        "argument N as f64 (integers convert); EBOUND if missing, ETRFM if not a number",
    ),
    doc(
        abi::ARG_STR,
        "argument N copied into memory as a str; EBOUND if missing, ETRFM if not text, ENOMEM if memory is full",
    ),
    doc(
        abi::ARG_BYTES,
        "argument N copied into memory as bytes (text gives its UTF-8); EBOUND, ETRFM, ENOMEM",
    ),
    doc(abi::RES_I32, "append an i32 result (what `resv` calls)"),
    doc(abi::RES_I64, "append an i64 result"),
    doc(abi::RES_F64, "append an f64 result"),
    doc(
        abi::RES_STR,
        "append the str at the pointer as a text result; EBOUND if it lies outside memory, ETRFM if not UTF-8",
    ),
    doc(
        abi::RES_BYTES,
        "append the bytes at the pointer as a bytes result; EBOUND if outside memory",
    ),
    doc(
        ALLOC,
        "allocate SIZE bytes (8-aligned) and return (pointer, status); EBOUND if SIZE is negative, ENOMEM past the memory limit",
    ),
    doc(LOG, "append the str at the pointer to the run's log"),
    doc(ARG_COUNT, "the number of arguments"),
];

/// Argument `index` as `function` reads it (`read` gives `None` for a value of another type),
/// or its status: EBOUND if there is no such argument, ETRFM if it is not `wanted`. A failed read
/// also leaves a log line naming the argument and why, since the status alone (what `argv`
/// ends the run with) does not say which argument it was.
fn read_argument<T>(
    caller: &mut Caller<'_, RunState>,
    function: &str,
    index: i32,
    wanted: &str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> Result<T, StatusCode> {
    let args = &caller.data().args;
    let (code, why) = match usize::try_from(index).ok().and_then(|i| args.get(i)) {
        Some(value) => match read(value) {
            Some(read) => return Ok(read),
            None => {
                let found = match value {
                    Value::Str(_) => "a str".to_owned(),
                    Value::Bytes(_) => "bytes".to_owned(),
                    number => format!("the {} {number}", number.type_name()),
                };
                (
                    StatusCode::ETRFM,
                    format!("argument {index} is {found}, not {wanted}"),
                )
            }
        },
        None => {
            let given = match args.len() {
                1 => "1 argument".to_owned(),
                n => format!("{n} arguments"),
            };
            (
                StatusCode::EBOUND,
                format!("there is no argument {index}: the run was given {given}"),
            )
        }
    };
    caller
        .data_mut()
        .push_log(format!("core.{function}: {why} ({})", code.name()));
    Err(code)
}

fn arg_to_memory(
    caller: &mut Caller<'_, RunState>,
    index: i32,
    text_only: bool,
) -> wasmtime::Result<(i32, i32)> {
    let bytes = if text_only {
        read_argument(caller, "arg_str", index, "text", |value| match value {
            Value::Str(s) => Some(s.as_bytes().to_vec()),
            _ => None,
        })
    } else {
        read_argument(
            caller,
            "arg_bytes",
            index,
            "text or bytes",
            |value| match value {
                Value::Str(s) => Some(s.as_bytes().to_vec()),
                Value::Bytes(b) => Some(b.clone()),
                _ => None,
            },
        )
    };
    state::return_bytes(caller, bytes)
}

impl Capability for Core {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "arguments, results, memory allocation and logging (always granted)"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap(
            NAME,
            "arg_i32",
            |mut caller: Caller<'_, RunState>, index: i32| {
                pair(read_argument(
                    &mut caller,
                    "arg_i32",
                    index,
                    "an integer that fits an i32",
                    |value| match value {
                        Value::I32(n) => Some(*n),
                        Value::I64(n) => i32::try_from(*n).ok(),
                        _ => None,
                    },
                ))
            },
        )?;
        linker.func_wrap(
            NAME,
            "arg_i64",
            |mut caller: Caller<'_, RunState>, index: i32| {
                pair(read_argument(
                    &mut caller,
                    "arg_i64",
                    index,
                    "an integer",
                    |value| match value {
                        Value::I64(n) => Some(*n),
                        Value::I32(n) => Some(i64::from(*n)),
                        _ => None,
                    },
                ))
            },
        )?;
        linker.func_wrap(
            NAME,
            "arg_f64",
            |mut caller: Caller<'_, RunState>, index: i32| {
                pair(read_argument(
                    &mut caller,
                    "arg_f64",
                    index,
                    "a number",
                    |value| match value {
                        Value::F64(x) => Some(*x),
                        Value::I64(n) => Some(*n as f64),
                        Value::I32(n) => Some(f64::from(*n)),
                        _ => None,
                    },
                ))
            },
        )?;
        linker.func_wrap(
            NAME,
            "arg_str",
            |mut caller: Caller<'_, RunState>, index: i32| arg_to_memory(&mut caller, index, true),
        )?;
        linker.func_wrap(
            NAME,
            "arg_bytes",
            |mut caller: Caller<'_, RunState>, index: i32| arg_to_memory(&mut caller, index, false),
        )?;
        linker.func_wrap(
            NAME,
            "res_i32",
            |mut caller: Caller<'_, RunState>, value: i32| {
                caller.data_mut().push_result(Value::I32(value)).map(|()| 0)
            },
        )?;
        linker.func_wrap(
            NAME,
            "res_i64",
            |mut caller: Caller<'_, RunState>, value: i64| {
                caller.data_mut().push_result(Value::I64(value)).map(|()| 0)
            },
        )?;
        linker.func_wrap(
            NAME,
            "res_f64",
            |mut caller: Caller<'_, RunState>, value: f64| {
                caller.data_mut().push_result(Value::F64(value)).map(|()| 0)
            },
        )?;
        linker.func_wrap(
            NAME,
            "res_str",
            |mut caller: Caller<'_, RunState>, ptr: i32| -> wasmtime::Result<i32> {
                match state::read_str(&mut caller, ptr)? {
                    Ok(text) => caller.data_mut().push_result(Value::Str(text)).map(|()| 0),
                    Err(code) => Ok(status(Err(code))),
                }
            },
        )?;
        linker.func_wrap(
            NAME,
            "res_bytes",
            |mut caller: Caller<'_, RunState>, ptr: i32| -> wasmtime::Result<i32> {
                match state::read_bytes(&mut caller, ptr)? {
                    Ok(bytes) => caller
                        .data_mut()
                        .push_result(Value::Bytes(bytes))
                        .map(|()| 0),
                    Err(code) => Ok(status(Err(code))),
                }
            },
        )?;
        linker.func_wrap(
            NAME,
            "alloc",
            |mut caller: Caller<'_, RunState>, size: i32| -> wasmtime::Result<(i32, i32)> {
                let Ok(size) = u32::try_from(size) else {
                    return Ok((0, StatusCode::EBOUND.as_i32()));
                };
                Ok(pair(state::alloc(&mut caller, size)?.map(|ptr| ptr as i32)))
            },
        )?;
        linker.func_wrap(
            NAME,
            "log",
            |mut caller: Caller<'_, RunState>, ptr: i32| -> wasmtime::Result<()> {
                let line = match state::read_bytes(&mut caller, ptr)? {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(_) => format!("[core.log: no str at address {ptr}]"),
                };
                caller.data_mut().push_log(line);
                Ok(())
            },
        )?;
        linker.func_wrap(NAME, "arg_count", |caller: Caller<'_, RunState>| -> i32 {
            i32::try_from(caller.data().args.len()).unwrap_or(i32::MAX)
        })?;
        Ok(())
    }
}
