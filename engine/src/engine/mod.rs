//! The engine: compiles bodies into pre-linked programs (once, cached) and runs them under limits.
//!
//! - [`config`]: the engine-wide settings and the Wasmtime configuration they make;
//! - [`compile`]: body -> pre-linked [`Program`] (cache, index, preprocess, assemble, encode, compile, link);
//! - [`execute`]: one run of a program under its policy and limits, to an [`Outcome`];
//! - [`bounds`]: the compile work a body may ask for, checked before compiling;
//! - [`trap`]: what stopped a run; [`relocate`]: module errors located in the body; [`ticker`]: the deadline's clock.

mod admission;
mod bounds;
mod compile;
mod config;
mod execute;
mod program;
mod relocate;
mod ticker;
mod trap;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use wasmtime::{CacheConfig, Linker};
use watsmith_preprocessor::{Diagnostic, Expanded};

pub use self::config::{
    Allocation, Compiler, EngineConfig, EngineError, EngineErrorKind, ProcessLimits, QueueConfig,
};
pub use self::program::Program;

use self::admission::Admission;
use self::ticker::Ticker;
use crate::cache::{Cache, CacheStats};
use crate::capability::Registry;
use crate::index::{self, Index};
use crate::limits::Limits;
use crate::outcome::Outcome;
use crate::policy::Policy;
use crate::state::RunState;
use crate::template::{self, Assembled};
use crate::value::Value;

/// Compiles and runs WAT-plus bodies. Share it across threads (`&Engine` is enough).
#[derive(Debug)]
pub struct Engine {
    wasm: wasmtime::Engine,
    linker: Linker<RunState>,
    registry: Registry,
    cache: Cache,
    /// Drives async host calls for [`Engine::run`]; built on first need.
    runtime: OnceLock<tokio::runtime::Runtime>,
    fuel_metering: bool,
    /// Wasmtime's on-disk module cache, if configured (for its counters).
    disk_cache: Option<wasmtime::Cache>,
    /// How instances are allocated (the pool's size, under an address-space limit).
    allocation: Allocation,
    /// Makes Wasmtime's cache counters exact for a body served from the index: compiles read
    /// it, a load from the index writes it, so no other compile moves the counters meanwhile
    /// (see `compile::load_indexed`).
    disk_counters: std::sync::RwLock<()>,
    /// The on-disk index of bodies already assembled, next to Wasmtime's cache.
    index: Option<Index>,
    /// The epoch ticker, when deadlines are checked in compiled code.
    ticker: Option<Ticker>,
    /// Compilations from async callers under way at once, at most: one per core (see
    /// [`Engine::prepare_async`]).
    compiling: tokio::sync::Semaphore,
    /// The queue of calls waiting for an instance slot or for the compiler.
    admission: Admission,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime: shut it down instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Engine {
    /// An engine with the built-in capabilities.
    pub fn new(config: &EngineConfig) -> Result<Self, EngineError> {
        Self::with_registry(config, Registry::builtin())
    }

    /// An engine with the given capabilities.
    pub fn with_registry(config: &EngineConfig, registry: Registry) -> Result<Self, EngineError> {
        let allocation = Allocation::plan(config.pool_slots, ProcessLimits::current());
        let mut wasm_config = config.wasmtime_config(allocation)?;
        let mut disk_cache = None;
        let mut index = None;
        if let Some(directory) = &config.disk_cache {
            let directory = &index::private_directory(directory).map_err(|reason| {
                EngineError::module_cache(format!(
                    "cannot use `{}` as the module cache: {reason}",
                    directory.display()
                ))
            })?;
            index = Some(Index::open(directory, &registry).map_err(|e| {
                EngineError::module_cache(format!(
                    "cannot use {} as the module cache: {e}",
                    directory.display()
                ))
            })?);
            let mut cache = CacheConfig::new();
            cache.with_directory(directory.join(index::WASMTIME_SUBDIRECTORY));
            let cache = wasmtime::Cache::new(cache).map_err(|e| {
                EngineError::module_cache(format!(
                    "cannot use {} as the module cache: {e:#}",
                    directory.display()
                ))
            })?;
            wasm_config.cache(Some(cache.clone()));
            disk_cache = Some(cache);
        }
        let wasm =
            wasmtime::Engine::new(&wasm_config).map_err(|e| EngineError::host(format!("{e:#}")))?;
        let mut linker = Linker::new(&wasm);
        registry
            .link(&mut linker)
            .map_err(|e| EngineError::host(format!("linking the capabilities: {e:#}")))?;
        let ticker = if config.epoch_deadline {
            Some(Ticker::start(wasm.clone())?)
        } else {
            None
        };
        Ok(Self {
            wasm,
            linker,
            registry,
            cache: Cache::new(config.cache_capacity),
            runtime: OnceLock::new(),
            fuel_metering: config.fuel_metering,
            disk_cache,
            disk_counters: std::sync::RwLock::new(()),
            allocation,
            index,
            ticker,
            compiling: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            admission: Admission::new(config.queue),
        })
    }

    /// The capabilities this engine knows.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// How this engine allocates instances: with a pool, the most runs it holds at once.
    pub fn allocation(&self) -> Allocation {
        self.allocation
    }

    /// Hits, misses and size of the compile cache.
    pub fn cache_stats(&self) -> CacheStats {
        let mut stats = self.cache.stats();
        if let Some(disk) = &self.disk_cache {
            stats.disk_hits = disk.cache_hits() as u64;
            stats.disk_misses = disk.cache_misses() as u64;
        }
        if let Some(index) = &self.index {
            stats.disk_index_hits = index.hits();
        }
        stats
    }

    /// Preprocesses and assembles a body without compiling it: what `watsmith expand --module`
    /// prints.
    pub fn assemble(&self, body: &str) -> Result<(Expanded, Assembled), Vec<Diagnostic>> {
        let expanded = watsmith_preprocessor::preprocess(body)
            .map_err(|d| d.into_iter().collect::<Vec<_>>())?;
        let functions = template::resolve_calls(body, &expanded, &self.registry)
            .map_err(|d| d.into_iter().collect::<Vec<_>>())?;
        let assembled = template::assemble(&expanded, &functions);
        Ok((expanded, assembled))
    }

    /// Prepares and runs a body: the whole pipeline, one outcome.
    pub fn exec(&self, body: &str, args: Vec<Value>, policy: &Policy, limits: &Limits) -> Outcome {
        let started = Instant::now();
        let outcome = match self.prepare(body) {
            Ok((program, cache)) => self.run(&program, args, policy, limits).with_cache(cache),
            Err(outcome) => *outcome,
        };
        outcome.timed_since(started)
    }

    /// [`Engine::exec`] from async code, never blocking the executor: the body is prepared by
    /// [`Engine::prepare_async`] and run by [`Engine::run_async`].
    pub async fn exec_async(
        self: &Arc<Self>,
        body: &str,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
    ) -> Outcome {
        self.exec_until(body, args, policy, limits, None).await
    }

    /// [`Engine::exec_async`], stopped when `cancel` is cancelled, while it waits for the
    /// compiler or a slot or while it runs (see [`Engine::run_cancellable`]): the outcome is
    /// then `cancelled`.
    pub async fn exec_cancellable(
        self: &Arc<Self>,
        body: &str,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
        cancel: &CancellationToken,
    ) -> Outcome {
        self.exec_until(body, args, policy, limits, Some(cancel))
            .await
    }

    async fn exec_until(
        self: &Arc<Self>,
        body: &str,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
        cancel: Option<&CancellationToken>,
    ) -> Outcome {
        if cancel.is_some_and(CancellationToken::is_cancelled) {
            return Outcome::cancelled();
        }
        let started = Instant::now();
        let outcome = match self.prepare_until(body, cancel).await {
            Ok((program, cache)) => self
                .run_until(&program, args, policy, limits, cancel)
                .await
                .with_cache(cache),
            Err(outcome) => *outcome,
        };
        outcome.timed_since(started)
    }
}
