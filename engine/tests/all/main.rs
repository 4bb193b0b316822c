//! Integration tests of the engine, one module per topic. Every test runs real Wasmtime.

mod capabilities;
mod errors;
mod fs;
mod kv;
mod limits;
mod sharing;

use watsmith_engine::{Engine, EngineConfig, Limits, Outcome, Policy, Value};

pub(crate) fn engine() -> Engine {
    Engine::new(&EngineConfig::default()).expect("the default engine builds")
}

pub(crate) fn exec(engine: &Engine, body: &str, args: Vec<Value>) -> Outcome {
    engine.exec(body, args, &Policy::deny_all(), &Limits::default())
}
