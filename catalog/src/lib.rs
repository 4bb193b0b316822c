//! The catalog: ready WAT-plus programs, each a `.wat` body with TOML front matter in `;;`
//! comment lines at the top, so the file also runs as it is with `watsmith exec`:
//!
//! ```text
//! ;; ---
//! ;; name = "gcd"
//! ;; description = "The greatest common divisor of two integers"
//! ;; tags = ["number-theory"]
//! ;; capabilities = []
//! ;;
//! ;; [[params]]
//! ;; name = "a"
//! ;; type = "i64"
//! ;; ...
//! ;; [[examples]]
//! ;; args = [12, 18]
//! ;; results = [6]
//! ;; ---
//! (local $a i64) ...
//! ```
//!
//! Front matter is parsed strictly: an unknown key, a missing one or a wrong type is an error
//! that names the file and the line. Examples are the program's tests: [`Example::args`] types
//! their arguments by the declared parameters, and [`Example::check`] compares an outcome's
//! results with the expected ones, and a [`Checker`] runs them, each in the world its program's
//! [`Fixture`] describes (served HTTP paths, files, kv entries, model answers).

#![deny(missing_docs)]

pub mod call;
mod catalog;
mod check;
mod prepared;
mod program;

pub use crate::call::{Bound, Call, CallError, Invocation, Literal, ParseError};
pub use crate::catalog::Catalog;
pub use crate::check::{Checker, CheckerError, EXAMPLE_SEED, SERVER_PLACEHOLDER};
pub use crate::prepared::Prepared;
pub use crate::program::{
    CatalogError, Example, Fixture, FrontMatter, MAX_PROGRAM_BYTES, Param, Program, Type,
};
