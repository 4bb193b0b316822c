//! The built-in capabilities.

pub mod ai;
pub mod clock;
pub mod core;
pub mod http;
pub mod random;
