//! Engine-wide settings and the Wasmtime configuration they make.

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::{
    Config, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, RegallocAlgorithm,
    Strategy,
};

use crate::code_cache::CodeCache;
use crate::limits::{
    ASYNC_HOST_STACK_BYTES, CODE_CACHE_BYTES, DEFAULT_CACHE_CAPACITY, DEFAULT_POOL_SLOTS,
    DEFAULT_STACK_BYTES, MAX_MEMORY_BYTES, POOL_KEEP_RESIDENT_BYTES,
};

/// Which compiler turns WebAssembly into machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiler {
    /// Cranelift without optimisations: the fastest Cranelift compile.
    CraneliftNone,
    /// Cranelift without optimisations and with the single-pass register allocator: the
    /// fastest Cranelift compile, with slower code.
    CraneliftSinglePass,
    /// Cranelift optimising for speed.
    CraneliftSpeed,
    /// Winch, the baseline compiler: fastest compile, slower code.
    Winch,
}

/// Engine-wide settings, validated once by [`Engine::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// The compiler. Default: Cranelift without optimisations (bodies are small and run once).
    pub compiler: Compiler,
    /// Cap on the wasm stack of every run, in bytes. Default 512 KiB.
    pub stack_bytes: usize,
    /// Compiled programs kept in the cache. Default 256; 0 disables the cache.
    pub cache_capacity: usize,
    /// Take instances from a pool of this many pre-reserved slots (Wasmtime's pooling
    /// allocator), which makes instantiation much cheaper; a run that finds every slot busy
    /// traps. `None` allocates each instance on demand. Default: [`DEFAULT_POOL_SLOTS`].
    pub pool_slots: Option<u32>,
    /// Count instructions, so that [`Limits::fuel`] applies. Default on; off, fuel limits are
    /// ignored and `fuel_used` is 0.
    pub fuel_metering: bool,
    /// Check the wall-clock deadline inside compiled code (epoch interruption). Default on; off,
    /// a computing program runs until its fuel ends (host calls of async runs still time out).
    pub epoch_deadline: bool,
    /// Keep compiled modules in this directory too, so a new process skips compiling bodies it
    /// has seen. Two caches share it: Wasmtime's own (`wasmtime/`), of compiled code keyed by the
    /// module, the compiler settings and the Wasmtime version (so a change of any of them never
    /// loads a stale artifact), and watsmith's index of bodies (`programs/`), keyed by the
    /// body's text, this build and the registry, which skips preprocessing too. Default: none.
    pub disk_cache: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            compiler: Compiler::CraneliftNone,
            stack_bytes: DEFAULT_STACK_BYTES,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            pool_slots: Some(DEFAULT_POOL_SLOTS),
            fuel_metering: true,
            epoch_deadline: true,
            disk_cache: None,
        }
    }
}

/// The engine could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the WebAssembly engine: {0}")]
pub struct EngineError(pub(super) String);

impl EngineConfig {
    /// The Wasmtime configuration of these settings (the on-disk cache is added by the engine,
    /// which knows the registry its index is keyed by).
    pub(super) fn wasmtime_config(&self) -> Result<Config, EngineError> {
        let config = self;
        let mut wasm_config = Config::new();
        wasm_config
            .consume_fuel(config.fuel_metering)
            .epoch_interruption(config.epoch_deadline)
            .max_wasm_stack(config.stack_bytes)
            // Async host calls (http, ai) are polled on the run's fiber, below the wasm stack.
            .async_stack_size(config.stack_bytes + ASYNC_HOST_STACK_BYTES);
        if let Some(slots) = config.pool_slots {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_core_instances(slots)
                .total_memories(slots)
                .total_tables(slots)
                .total_stacks(slots)
                .max_memory_size(MAX_MEMORY_BYTES)
                .max_tables_per_module(1)
                .table_elements(0)
                .linear_memory_keep_resident(POOL_KEEP_RESIDENT_BYTES);
            wasm_config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        match config.compiler {
            Compiler::CraneliftNone => {
                wasm_config
                    .strategy(Strategy::Cranelift)
                    .cranelift_opt_level(OptLevel::None);
            }
            Compiler::CraneliftSinglePass => {
                wasm_config
                    .strategy(Strategy::Cranelift)
                    .cranelift_opt_level(OptLevel::None)
                    .cranelift_regalloc_algorithm(RegallocAlgorithm::SinglePass);
            }
            Compiler::CraneliftSpeed => {
                wasm_config
                    .strategy(Strategy::Cranelift)
                    .cranelift_opt_level(OptLevel::Speed);
            }
            Compiler::Winch => {
                wasm_config.strategy(Strategy::Winch);
            }
        }
        if config.compiler != Compiler::Winch {
            // Reuse compiled functions across modules (see `code_cache`): a fresh body then
            // compiles only its own function, not its trampolines. Winch has no such cache.
            wasm_config
                .enable_incremental_compilation(Arc::new(CodeCache::new(CODE_CACHE_BYTES)))
                .map_err(|e| EngineError(format!("{e:#}")))?;
        }
        // Compile on the caller's thread: with the trampolines cached a body has one function
        // to compile, and handing it to Wasmtime's thread pool costs more than it saves (and
        // takes the other cores from concurrent runs).
        wasm_config.parallel_compilation(false);
        Ok(wasm_config)
    }
}
