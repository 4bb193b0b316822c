//! The built-in capabilities.

pub mod core;
pub mod fs;
pub mod kv;
