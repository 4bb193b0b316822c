//! The host functions of the `core` capability that macro expansions call.
//!
//! This is the contract between the preprocessor and the engine: the engine's `core` capability
//! must provide exactly these imports with these signatures (its tests check that against
//! [`MACRO_HOST_FUNCTIONS`]). Functions that can fail return their error code last, as every
//! watsmith host function does; `0` means success.
//!
//! | function | signature | used by |
//! |---|---|---|
//! | `core.arg_i32` | `(param $index i32) (result i32 i32)` | `argv` into an `i32` local |
//! | `core.arg_i64` | `(param $index i32) (result i64 i32)` | `argv` into an `i64` local |
//! | `core.arg_f64` | `(param $index i32) (result f64 i32)` | `argv` into an `f64`/`f32` local |
//! | `core.arg_str` | `(param $index i32) (result i32 i32)` | `argv` into a `str` local |
//! | `core.arg_bytes` | `(param $index i32) (result i32 i32)` | `argv` into a `bytes` local |
//! | `core.res_i32` | `(param i32) (result i32)` | `resv` of an `i32` local |
//! | `core.res_i64` | `(param i64) (result i32)` | `resv` of an `i64` local |
//! | `core.res_f64` | `(param f64) (result i32)` | `resv` of an `f64`/`f32` local |
//! | `core.res_str` | `(param i32) (result i32)` | `resv` of a `str` local |
//! | `core.res_bytes` | `(param i32) (result i32)` | `resv` of a `bytes` local |
//!
//! `arg_*` fail with EBOUND (5) when the argument index is out of range and with ETRFM (1) when
//! the argument cannot be converted to the requested type; `arg_str`/`arg_bytes` copy the
//! argument into the module's memory (through the allocator) and return a pointer to its
//! length-prefixed bytes. `res_*` fail when an output limit is reached.

use std::fmt;

use serde::Serialize;

/// A WebAssembly value type at the host boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValType {
    /// 32-bit integer (also str/bytes pointers and error codes).
    I32,
    /// 64-bit integer.
    I64,
    /// 64-bit float.
    F64,
}

impl ValType {
    /// The WAT spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F64 => "f64",
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signature of one host function a macro expansion imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HostFunction {
    /// Import module (the capability), e.g. `core`.
    pub module: &'static str,
    /// Function name within the capability, e.g. `arg_i64`.
    pub name: &'static str,
    /// Parameter types.
    pub params: &'static [ValType],
    /// Result types. For a function that can fail, the last one is its status (0 for success);
    /// functions that cannot fail (`core.arg_count`, `kv.has`) have none.
    pub results: &'static [ValType],
}

impl HostFunction {
    /// The name the body calls it by: `$core.arg_i64`.
    pub fn wat_name(&self) -> String {
        format!("${}.{}", self.module, self.name)
    }

    /// The WAT import declaration, e.g.
    /// `(import "core" "arg_i64" (func $core.arg_i64 (param i32) (result i64 i32)))`.
    pub fn import_wat(&self) -> String {
        let list = |types: &[ValType]| {
            types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut out = format!(
            "(import \"{}\" \"{}\" (func {}",
            self.module,
            self.name,
            self.wat_name()
        );
        if !self.params.is_empty() {
            out.push_str(&format!(" (param {})", list(self.params)));
        }
        if !self.results.is_empty() {
            out.push_str(&format!(" (result {})", list(self.results)));
        }
        out.push_str("))");
        out
    }
}

use ValType::{F64, I32, I64};

const fn core(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostFunction {
    HostFunction {
        module: "core",
        name,
        params,
        results,
    }
}

/// `core.arg_i32`: argument as `i32`.
pub const ARG_I32: HostFunction = core("arg_i32", &[I32], &[I32, I32]);
/// `core.arg_i64`: argument as `i64`.
pub const ARG_I64: HostFunction = core("arg_i64", &[I32], &[I64, I32]);
/// `core.arg_f64`: argument as `f64`.
pub const ARG_F64: HostFunction = core("arg_f64", &[I32], &[F64, I32]);
/// `core.arg_str`: argument as a str pointer.
pub const ARG_STR: HostFunction = core("arg_str", &[I32], &[I32, I32]);
/// `core.arg_bytes`: argument as a bytes pointer.
pub const ARG_BYTES: HostFunction = core("arg_bytes", &[I32], &[I32, I32]);
/// `core.res_i32`: append an `i32` result.
pub const RES_I32: HostFunction = core("res_i32", &[I32], &[I32]);
/// `core.res_i64`: append an `i64` result.
pub const RES_I64: HostFunction = core("res_i64", &[I64], &[I32]);
/// `core.res_f64`: append an `f64` result.
pub const RES_F64: HostFunction = core("res_f64", &[F64], &[I32]);
/// `core.res_str`: append a str result.
pub const RES_STR: HostFunction = core("res_str", &[I32], &[I32]);
/// `core.res_bytes`: append a bytes result.
pub const RES_BYTES: HostFunction = core("res_bytes", &[I32], &[I32]);

/// Every host function a macro expansion may call.
pub const MACRO_HOST_FUNCTIONS: &[HostFunction] = &[
    ARG_I32, ARG_I64, ARG_F64, ARG_STR, ARG_BYTES, RES_I32, RES_I64, RES_F64, RES_STR, RES_BYTES,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_lines_are_wat() {
        assert_eq!(
            ARG_I64.import_wat(),
            "(import \"core\" \"arg_i64\" (func $core.arg_i64 (param i32) (result i64 i32)))"
        );
        assert_eq!(
            RES_STR.import_wat(),
            "(import \"core\" \"res_str\" (func $core.res_str (param i32) (result i32)))"
        );
    }
}
