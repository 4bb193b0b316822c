//! Integration tests of the agent, one module per topic: reading the model's actions, the
//! system prompt, the loop end to end through the real engine and catalog, the provider clients
//! against servers on 127.0.0.1 that speak each API's wire format, and the demo's recordings.

mod demo;
mod parse;
mod prompt;
mod providers;
mod react;

use std::sync::Arc;

use watsmith_catalog::{Catalog, Prepared};
use watsmith_engine::{Engine, EngineConfig};

/// The built-in catalog on a fresh engine with the default configuration, and the TLS
/// provider every client needs installed (a binary's job).
pub(crate) fn catalog() -> Arc<Prepared> {
    watsmith_test_support::install_tls();
    let engine = Arc::new(Engine::new(&EngineConfig::default()).expect("engine"));
    Arc::new(Prepared::new(Arc::new(Catalog::builtin()), engine))
}
