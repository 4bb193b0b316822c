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
//! results with the expected ones.

#![deny(missing_docs)]

pub mod call;
mod catalog;
mod program;

pub use crate::call::{Call, CallError, Literal};
pub use crate::catalog::Catalog;
pub use crate::program::{CatalogError, Example, FrontMatter, Param, Program, Type};
