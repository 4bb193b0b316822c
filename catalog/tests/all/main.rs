//! Integration tests of the catalog, one module per topic: calls (parsing, binding), the
//! directories programs load from and pre-warming, and the walk of every built-in program.

mod call;
mod directories;
mod programs;

/// The binaries install the TLS crypto provider of the `http` client; a test is its own.
pub(crate) fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
