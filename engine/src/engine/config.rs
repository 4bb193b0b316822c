//! Engine-wide settings and the Wasmtime configuration they make.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{
    Config, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, RegallocAlgorithm,
    Strategy,
};

use crate::code_cache::CodeCache;
use crate::limits::{
    ASYNC_HOST_STACK_BYTES, CODE_CACHE_BYTES, COMPACT_MEMORY_RESERVATION, DEFAULT_CACHE_CAPACITY,
    DEFAULT_POOL_SLOTS, DEFAULT_QUEUE_CAPACITY, DEFAULT_QUEUE_WAIT, DEFAULT_STACK_BYTES,
    MAX_MEMORY_BYTES, MIN_POOL_SLOTS, POOL_ADDRESS_SHARE, POOL_KEEP_RESIDENT_BYTES,
    POOL_SLOT_ADDRESS_BYTES, POOL_SLOT_DATA_BYTES,
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
    /// waits in the [`queue`](EngineConfig::queue). `None` allocates each instance on demand. Default: [`DEFAULT_POOL_SLOTS`].
    ///
    /// Each slot reserves [`POOL_SLOT_ADDRESS_BYTES`] (about 4.1 GiB) of address space, not of
    /// memory, and maps [`POOL_SLOT_DATA_BYTES`] (2 MiB) of stack. Under an address-space limit
    /// (`RLIMIT_AS`, `ulimit -v`) or a data limit (`RLIMIT_DATA`, `ulimit -d`) the pool takes at
    /// most half of each ([`POOL_ADDRESS_SHARE`]): the slots are cut to what fits, and if fewer
    /// than [`MIN_POOL_SLOTS`] fit, instances are allocated on demand with compact memories
    /// ([`COMPACT_MEMORY_RESERVATION`]), whose code checks bounds explicitly. The engine says
    /// what it chose: [`Engine::allocation`](super::Engine::allocation).
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
    /// The queue in front of the instance pool and the compiler: how many calls may wait for a
    /// slot, and for how long, before they are answered [`Status::Busy`](crate::Status::Busy).
    pub queue: QueueConfig,
}

/// The bounded queue of calls that wait for an instance slot or for the compiler (at most
/// one compilation per core runs at once). A call that finds a slot free never waits and costs
/// nothing here; one that finds every slot busy waits until a run ends, up to [`QueueConfig::wait`];
/// past that wait, or when [`QueueConfig::capacity`] calls already wait, its outcome is
/// [`Status::Busy`](crate::Status::Busy): the run never started, and never becomes a trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Calls waiting at once, at most (for a slot and for the compiler together). Default
    /// [`DEFAULT_QUEUE_CAPACITY`]: four times the default pool.
    pub capacity: u32,
    /// The longest a call waits. Default [`DEFAULT_QUEUE_WAIT`] (1 s): a run of the catalog takes
    /// microseconds to milliseconds, so a call that waits this long would wait for runs that
    /// take seconds each, and is better told to come back.
    pub wait: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_QUEUE_CAPACITY,
            wait: DEFAULT_QUEUE_WAIT,
        }
    }
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
            queue: QueueConfig::default(),
        }
    }
}

/// How an engine allocates the instances of its runs, chosen by [`EngineConfig::pool_slots`]
/// and the process's address-space limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// A pool of this many pre-reserved slots: the most runs at once.
    Pool {
        /// Slots in the pool.
        slots: u32,
    },
    /// Each instance on demand, its memory reserving the address space Wasmtime reserves by
    /// default on 64-bit hosts (4 GiB and guard regions): without a pool and without an
    /// address-space limit.
    OnDemand,
    /// Each instance on demand, its memory reserving [`COMPACT_MEMORY_RESERVATION`]: what fits
    /// under a tight address-space limit.
    Compact,
}

impl Allocation {
    /// The allocation for `pool_slots` (as in [`EngineConfig`]) under `limits`.
    pub fn plan(pool_slots: Option<u32>, limits: ProcessLimits) -> Self {
        let share = |limit: Option<u64>, per_slot: u64| {
            limit.map_or(u64::MAX, |limit| limit / POOL_ADDRESS_SHARE / per_slot)
        };
        let fitting = share(limits.address_bytes, POOL_SLOT_ADDRESS_BYTES)
            .min(share(limits.data_bytes, POOL_SLOT_DATA_BYTES));
        match pool_slots {
            Some(slots) if fitting >= u64::from(MIN_POOL_SLOTS.min(slots)) => Self::Pool {
                slots: slots.min(u32::try_from(fitting).unwrap_or(u32::MAX)),
            },
            // Unlimited: Wasmtime's default reservations. Under a limit, runs on demand are not
            // counted, so each must reserve little.
            None if limits.address_bytes.is_none() => Self::OnDemand,
            _ => Self::Compact,
        }
    }
}

/// The limits of this process that decide how much the pool may reserve, in bytes (`None`:
/// unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessLimits {
    /// The address-space limit (the soft `RLIMIT_AS`, `ulimit -v`).
    pub address_bytes: Option<u64>,
    /// The data limit (the soft `RLIMIT_DATA`, `ulimit -d`): private writable memory.
    pub data_bytes: Option<u64>,
}

impl ProcessLimits {
    /// This process's limits now.
    pub fn current() -> Self {
        use rustix::process::{Resource, getrlimit};
        Self {
            address_bytes: getrlimit(Resource::As).current,
            data_bytes: getrlimit(Resource::Data).current,
        }
    }
}

/// The engine could not be built: why, and whose setting it was.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the WebAssembly engine: {message}")]
pub struct EngineError {
    kind: EngineErrorKind,
    message: String,
}

/// What kind of [`EngineError`] it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineErrorKind {
    /// The on-disk module cache cannot be used (a path that is not a directory, one that other
    /// users may change): the caller's setting is wrong, and the message says how to fix it.
    ModuleCache,
    /// Wasmtime or the host refused (memory for the pool, a thread for the ticker).
    Host,
}

impl EngineError {
    pub(super) fn host(message: String) -> Self {
        Self {
            kind: EngineErrorKind::Host,
            message,
        }
    }

    pub(super) fn module_cache(message: String) -> Self {
        Self {
            kind: EngineErrorKind::ModuleCache,
            message,
        }
    }

    /// Whose fault it is.
    pub fn kind(&self) -> EngineErrorKind {
        self.kind
    }
}

impl EngineConfig {
    /// The Wasmtime configuration of these settings with instances allocated as `allocation`
    /// says (the on-disk cache is added by the engine, which knows the registry its index is
    /// keyed by).
    pub(super) fn wasmtime_config(&self, allocation: Allocation) -> Result<Config, EngineError> {
        let config = self;
        let mut wasm_config = Config::new();
        wasm_config
            .consume_fuel(config.fuel_metering)
            .epoch_interruption(config.epoch_deadline)
            .max_wasm_stack(config.stack_bytes)
            // Async host calls (http, ai) are polled on the run's fiber, below the wasm stack.
            .async_stack_size(config.stack_bytes + ASYNC_HOST_STACK_BYTES);
        match allocation {
            Allocation::Pool { slots } => {
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
            Allocation::OnDemand => {}
            Allocation::Compact => {
                wasm_config
                    .memory_reservation(COMPACT_MEMORY_RESERVATION)
                    .memory_reservation_for_growth(COMPACT_MEMORY_RESERVATION)
                    .memory_guard_size(0)
                    .guard_before_linear_memory(false);
            }
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
                .map_err(|e| EngineError::host(format!("{e:#}")))?;
        }
        // Compile on the caller's thread: with the trampolines cached a body has one function
        // to compile, and handing it to Wasmtime's thread pool costs more than it saves (and
        // takes the other cores from concurrent runs).
        wasm_config.parallel_compilation(false);
        Ok(wasm_config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn limits(address_gib: Option<u64>, data_gib: Option<u64>) -> ProcessLimits {
        ProcessLimits {
            address_bytes: address_gib.map(|g| g * GIB),
            data_bytes: data_gib.map(|g| g * GIB),
        }
    }

    #[test]
    fn without_limits_the_pool_is_what_was_asked() {
        let none = ProcessLimits::default();
        assert_eq!(
            Allocation::plan(Some(256), none),
            Allocation::Pool { slots: 256 }
        );
        assert_eq!(Allocation::plan(None, none), Allocation::OnDemand);
    }

    #[test]
    fn an_address_space_limit_cuts_the_pool_to_half_of_it() {
        // 100 GiB: 50 GiB for the pool, 12 slots of about 4.1 GiB.
        let plan = Allocation::plan(Some(256), limits(Some(100), None));
        assert_eq!(plan, Allocation::Pool { slots: 12 });
        // A pool smaller than the limit allows is kept as it is.
        assert_eq!(
            Allocation::plan(Some(8), limits(Some(1024), None)),
            Allocation::Pool { slots: 8 }
        );
        // 8 GiB holds no slot in its half: compact memories, on demand.
        assert_eq!(
            Allocation::plan(Some(256), limits(Some(8), None)),
            Allocation::Compact
        );
        assert_eq!(
            Allocation::plan(None, limits(Some(8), None)),
            Allocation::Compact
        );
        // Fewer than the minimum of slots: on demand too.
        assert_eq!(
            Allocation::plan(Some(256), limits(Some(3 * 9), None)),
            Allocation::Compact
        );
        // Unpooled under any address-space limit: compact, since runs on demand are not
        // counted and each default reservation is 4 GiB.
        assert_eq!(
            Allocation::plan(None, limits(Some(1024), None)),
            Allocation::Compact
        );
        assert_eq!(
            Allocation::plan(None, limits(None, Some(1))),
            Allocation::OnDemand
        );
    }

    #[test]
    fn a_data_limit_cuts_the_pool_by_its_stacks() {
        // 300 MiB of data: 150 MiB for the stacks of 2 MiB each.
        let plan = Allocation::plan(
            Some(256),
            ProcessLimits {
                address_bytes: None,
                data_bytes: Some(300 << 20),
            },
        );
        assert_eq!(
            plan,
            Allocation::Pool {
                slots: (150 << 20) / POOL_SLOT_DATA_BYTES as u32
            }
        );
        assert_eq!(
            Allocation::plan(Some(256), limits(None, Some(0))),
            Allocation::Compact
        );
    }
}
