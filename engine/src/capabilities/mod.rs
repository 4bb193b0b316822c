//! The built-in capabilities.

use crate::status::StatusCode;

pub mod core;
pub mod fs;
pub mod kv;

/// Why the str argument at `ptr` could not be read (for the log), given the status
/// [`crate::host::read_str`] returned.
pub(crate) fn unreadable_str(ptr: i32, code: StatusCode) -> String {
    if code == StatusCode::ETRFM {
        format!("the str at address {ptr} is not UTF-8")
    } else {
        format!("no str at address {ptr}")
    }
}
