//! The built-in capabilities.

pub mod core;
pub mod kv;
