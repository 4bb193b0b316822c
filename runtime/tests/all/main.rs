//! Integration tests of the runtime, one module per topic: the database store (processes,
//! crashes and files are the CLI tests'), the runtime's calls, and sessions.

mod database;
mod events;
mod runtime;
mod sessions;
mod store_contract;

use watsmith_runtime::{Effective, Prewarm, Runtime, RuntimeOptions};

/// A runtime of the default settings, with `store` as its store if given.
pub(crate) async fn runtime(store: Option<&std::path::Path>) -> Runtime {
    watsmith_test_support::install_tls();
    let settings = Effective {
        store: store.map(std::path::Path::to_path_buf),
        ..Effective::default()
    };
    let mut options = RuntimeOptions::new(settings);
    options.prewarm = Prewarm::OnDemand;
    Runtime::start(options).await.expect("the runtime starts")
}
