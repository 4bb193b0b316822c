//! Tests across the pipeline's crates, one module per topic: the preprocessor's output checked
//! by the engine's real template assembler and Wasmtime, not by a stand-in.

mod conformance;
mod dialect;
mod golden;
mod mapping;
