//! The built-in capabilities.

pub mod core;
