//! The status codes a program ends with (`docs/dialect.md` describes them for the model).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A program's status: 0 for success, the documented error codes, or any other value the program
/// chose to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusCode(pub i32);

impl StatusCode {
    /// Completed normally.
    pub const SUCCESS: Self = Self(0);
    /// Serialization or type error across the boundary.
    pub const ETRFM: Self = Self(1);
    /// Allocation failed (memory limit).
    pub const ENOMEM: Self = Self(2);
    /// Capability or policy denied.
    pub const EACCESS: Self = Self(3);
    /// Resource not found.
    pub const ENOENT: Self = Self(4);
    /// Bounds check failed.
    pub const EBOUND: Self = Self(5);
    /// Remote call failed.
    pub const EREMOTE: Self = Self(6);
    /// Parse error.
    pub const EPARSE: Self = Self(7);

    /// Every name [`StatusCode::name`] gives.
    pub const NAMES: [&'static str; 9] = [
        "SUCCESS", "ETRFM", "ENOMEM", "EACCESS", "ENOENT", "EBOUND", "EREMOTE", "EPARSE", "CUSTOM",
    ];

    /// The documented name (`SUCCESS`, `EBOUND`, ...) or `CUSTOM` for a code of the program's own.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "SUCCESS",
            1 => "ETRFM",
            2 => "ENOMEM",
            3 => "EACCESS",
            4 => "ENOENT",
            5 => "EBOUND",
            6 => "EREMOTE",
            7 => "EPARSE",
            _ => "CUSTOM",
        }
    }

    /// The code as an `i32`, as host functions return it.
    pub fn as_i32(self) -> i32 {
        self.0
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.name())
    }
}
