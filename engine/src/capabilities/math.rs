//! `math`: the f64 functions WebAssembly lacks (it has `sqrt`, `floor`, `ceil`, `trunc`,
//! `nearest`, `abs`, `min`, `max` and `copysign` as instructions).
//!
//! None can fail: out-of-domain arguments give NaN or an infinity, as IEEE 754 says. Each call
//! is one Rust `f64` method: no allocation, no access to the run's state.

use wasmtime::Linker;
use watsmith_preprocessor::abi::HostFunction;
use watsmith_preprocessor::abi::ValType::F64;

use super::{doc, signature};
use crate::capability::{Capability, FunctionDoc};
use crate::state::RunState;

/// The capability's name: its import module, and what a policy grants.
pub const NAME: &str = "math";

/// The `math` capability.
#[derive(Debug, Clone, Copy)]
pub struct Math;

const fn unary(name: &'static str) -> HostFunction {
    signature(NAME, name, &[F64], &[F64])
}

const fn binary(name: &'static str) -> HostFunction {
    signature(NAME, name, &[F64, F64], &[F64])
}

/// A function of one argument, by name.
type Unary = (&'static str, fn(f64) -> f64);
/// A function of two arguments, by name.
type Binary = (&'static str, fn(f64, f64) -> f64);

/// The functions of one argument.
const UNARY: [Unary; 15] = [
    ("exp", f64::exp),
    ("ln", f64::ln),
    ("log10", f64::log10),
    ("log2", f64::log2),
    ("sin", f64::sin),
    ("cos", f64::cos),
    ("tan", f64::tan),
    ("asin", f64::asin),
    ("acos", f64::acos),
    ("atan", f64::atan),
    ("sinh", f64::sinh),
    ("cosh", f64::cosh),
    ("tanh", f64::tanh),
    ("cbrt", f64::cbrt),
    ("exp2", f64::exp2),
];

/// The functions of two arguments.
const BINARY: [Binary; 4] = [
    ("pow", f64::powf),
    ("atan2", f64::atan2),
    ("hypot", f64::hypot),
    ("fmod", fmod),
];

/// The remainder of `x / y` with the sign of `x` (C's `fmod`, WebAssembly has none for floats).
fn fmod(x: f64, y: f64) -> f64 {
    x % y
}

static FUNCTIONS: [FunctionDoc; 19] = [
    doc(unary("exp"), "(X) e raised to X"),
    doc(
        unary("ln"),
        "(X) natural logarithm of X (NaN below 0, -inf at 0)",
    ),
    doc(unary("log10"), "(X) base-10 logarithm of X"),
    doc(unary("log2"), "(X) base-2 logarithm of X"),
    doc(unary("sin"), "(X) sine of X radians"),
    doc(unary("cos"), "(X) cosine of X radians"),
    doc(unary("tan"), "(X) tangent of X radians"),
    doc(
        unary("asin"),
        "(X) arcsine of X in radians (NaN outside -1..1)",
    ),
    doc(
        unary("acos"),
        "(X) arccosine of X in radians (NaN outside -1..1)",
    ),
    doc(unary("atan"), "(X) arctangent of X in radians"),
    doc(unary("sinh"), "(X) hyperbolic sine of X"),
    doc(unary("cosh"), "(X) hyperbolic cosine of X"),
    doc(unary("tanh"), "(X) hyperbolic tangent of X"),
    doc(
        unary("cbrt"),
        "(X) cube root of X (negative for negative X)",
    ),
    doc(unary("exp2"), "(X) 2 raised to X"),
    doc(binary("pow"), "(X, Y) X raised to Y"),
    doc(
        binary("atan2"),
        "(Y, X) Y first: the angle of the point (X, Y) in radians, in -pi..pi",
    ),
    doc(
        binary("hypot"),
        "(X, Y) sqrt(X*X + Y*Y) without overflow: the length of (X, Y)",
    ),
    doc(
        binary("fmod"),
        "(X, Y) the remainder of X / Y with the sign of X (NaN if Y is 0)",
    ),
];

impl Capability for Math {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "f64 functions WebAssembly lacks: powers, logarithms, trigonometry, hypot, cbrt, fmod"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        for (name, f) in UNARY {
            linker.func_wrap(NAME, name, f)?;
        }
        for (name, f) in BINARY {
            linker.func_wrap(NAME, name, f)?;
        }
        Ok(())
    }
}
