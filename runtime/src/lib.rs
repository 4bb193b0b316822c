//! The runtime: one library under every watsmith front end (the command line, the HTTP server,
//! the MCP server, the evaluation harness). A front end parses its input into a spec, makes one
//! call and renders the result; the wiring of the pipeline is here.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), watsmith_runtime::RuntimeError> {
//! use watsmith_engine::{PolicySpec, Status, Value};
//! use watsmith_runtime::{CallSpec, Effective, ExecSpec, Prewarm, Runtime, RuntimeOptions, UseSpec};
//!
//! let mut options = RuntimeOptions::new(Effective::default());
//! options.prewarm = Prewarm::OnDemand;
//! let runtime = Runtime::start(options).await?;
//! let outcome = runtime
//!     .exec(ExecSpec {
//!         body: "(local $n i64) (argv 0 $n) (local.set $n (i64.mul (local.get $n) (local.get $n))) (resv $n)".into(),
//!         args: vec![Value::I64(12)].into(),
//!         policy: PolicySpec::standard(),
//!         ..ExecSpec::default()
//!     })
//!     .await?;
//! assert_eq!(outcome.results, [Value::I64(144)]);
//!
//! let outcome = runtime
//!     .use_program(UseSpec {
//!         call: CallSpec::Text("gcd(12, 18)".into()),
//!         policy: PolicySpec::standard(),
//!         limits: Default::default(),
//!         cancel: None,
//!     })
//!     .await?;
//! assert_eq!((outcome.status, &outcome.results[..]), (Status::Ok, &[Value::I64(6)][..]));
//! # Ok(())
//! # }
//! ```
//!
//! - [`settings`]: the one schema of the configuration file, the environment and the flags,
//!   merged by a pure function;
//! - [`model`]: the model the settings name, connected;
//! - [`store`]: what outlives a run (kv namespaces, sessions, transcripts), in an SQLite file or
//!   in memory;
//! - the [`Runtime`]: the engine, the catalog pre-linked on it, the store and the model, with
//!   async [`Runtime::exec`], [`Runtime::use_program`] and [`Runtime::agent`] that never block the
//!   executor (bodies are compiled on the blocking pool; catalog programs are pre-linked).
//!
//! Policies come as [`watsmith_engine::PolicySpec`]s, validated once into the engine's policy
//! with the store and the model their grants need.

#![deny(missing_docs)]

pub mod events;
mod kind;
pub mod model;
mod runtime;
pub mod sessions;
pub mod settings;
pub mod store;
pub mod views;

pub use crate::events::{Streamed, Subscription};
pub use crate::kind::{ErrorKind, Resource};
pub use crate::model::{ModelChoice, ModelError};
pub use crate::runtime::{
    AgentSession, AgentSpec, Args, CallSpec, CheckReport, DemoError, ExecSpec,
    MAX_SESSION_NAME_BYTES, Notice, Prewarm, Runtime, RuntimeError, RuntimeOptions, UseSpec,
    session_namespace,
};
pub use crate::sessions::{SessionInfo, SessionSpec, Sessions, SessionsConfig, Submitted};
pub use crate::settings::{
    Effective, Environment, Settings, SettingsError, Source, Sourced, merge,
};
pub use crate::store::{
    Database, EventQuery, MemoryStore, SessionRecord, Store, StoreError, StoredEvent,
};
pub use crate::views::{ExpandReport, ProgramListing, SettingsView};
