//! The engine: compiles bodies into pre-linked programs (once, cached) and runs them under limits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use wasmtime::{
    CacheConfig, Config, InstanceAllocationStrategy, InstancePre, Linker, Module, OptLevel,
    PoolingAllocationConfig, RegallocAlgorithm, Store, Strategy, Trap, UpdateDeadline,
};
use watsmith_preprocessor::{Diagnostic, DiagnosticKind, Expanded, Reporter, Severity, Span};

use crate::cache::{Cache, CacheStats};
use crate::capability::{Policy, Registry};
use crate::index::{self, Index};
use crate::limits::{
    ASYNC_HOST_STACK_BYTES, DEFAULT_CACHE_CAPACITY, DEFAULT_POOL_SLOTS, DEFAULT_STACK_BYTES,
    EPOCH_TICK, Limits, MAX_MEMORY_BYTES, POOL_KEEP_RESIDENT_BYTES, UNLIMITED_FUEL,
};
use crate::outcome::{CacheState, Outcome, Status, TrapInfo, TrapKind};
use crate::run::{HostBudgetExceeded, MemoryLimitExceeded, OutputLimitExceeded, RunState};
use crate::status::StatusCode;
use crate::template::{self, Assembled};
use crate::value::Value;

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
pub struct EngineError(String);

/// A compiled, pre-linked program: instantiating and running it is cheap.
pub struct Program {
    pre: InstancePre<RunState>,
    /// The body as written, to locate refusals.
    source: Arc<str>,
    initial_top: u32,
    capabilities: Vec<&'static str>,
    /// Whether it imports async functions: then it runs on a fiber.
    is_async: bool,
    /// Warnings of the preprocessor (leniency applied), to report with every run.
    warnings: Vec<Diagnostic>,
    /// SHA-256 of the WebAssembly binary, in hex: which module ran, for transcripts.
    module_hash: String,
    /// For policy diagnostics: each imported capability, the first call that needs it, and
    /// where that call is in the body.
    first_calls: Vec<(&'static str, String, Span)>,
}

impl Program {
    /// SHA-256 of the program's WebAssembly binary, in hex.
    pub fn module_hash(&self) -> &str {
        &self.module_hash
    }
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("initial_top", &self.initial_top)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// The capabilities the program imports from.
    pub fn capabilities(&self) -> &[&'static str] {
        &self.capabilities
    }

    /// The preprocessor's warnings.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Whether it imports async host functions (http, ai).
    pub fn is_async(&self) -> bool {
        self.is_async
    }

    /// Diagnostics at the first call of each capability that `refuse` returns a reason for.
    fn refusals(
        &self,
        refuse: impl Fn(&'static str) -> Option<(String, String)>,
    ) -> Vec<Diagnostic> {
        let mut reporter: Option<Reporter<'_>> = None;
        let mut diagnostics = Vec::new();
        for (capability, call, span) in &self.first_calls {
            if let Some((message, hint)) = refuse(capability) {
                let reporter = reporter.get_or_insert_with(|| Reporter::new(&self.source));
                let mut diagnostic = reporter.diagnostic(
                    Severity::Error,
                    DiagnosticKind::Validation,
                    *span,
                    format!("{message} (`{call}` needs it)"),
                );
                diagnostic.hint = Some(hint);
                diagnostics.push(diagnostic);
            }
        }
        diagnostics
    }
}

/// The deadline passed while the program waited on an async host call.
#[derive(Debug, thiserror::Error)]
#[error("the deadline of {0} ms passed while the program waited on a host call")]
struct DeadlineDuringHostCall(u128);

/// Increments the engine's epoch every [`EPOCH_TICK`]: one thread per engine, whatever the
/// number of runs, stopped when the engine is dropped.
#[derive(Debug)]
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: wasmtime::Engine) -> Result<Self, EngineError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("watsmith-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| EngineError(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread only sleeps and increments; it cannot panic, and it ends within a tick.
            let _ = thread.join();
        }
    }
}

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
    /// The on-disk index of bodies already assembled, next to Wasmtime's cache.
    index: Option<Index>,
    /// The epoch ticker, when deadlines are checked in compiled code.
    ticker: Option<Ticker>,
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
        let mut wasm_config = Config::new();
        wasm_config
            .consume_fuel(config.fuel_metering)
            .epoch_interruption(config.epoch_deadline)
            .max_wasm_stack(config.stack_bytes)
            // Async host calls (http, ai) are polled on the run's fiber, below the wasm stack.
            .async_stack_size(config.stack_bytes + ASYNC_HOST_STACK_BYTES);
        let mut disk_cache = None;
        let mut index = None;
        if let Some(directory) = &config.disk_cache {
            index = Some(Index::open(directory, &registry).map_err(|e| {
                EngineError(format!(
                    "cannot use {} as the module cache: {e}",
                    directory.display()
                ))
            })?);
            let mut cache = CacheConfig::new();
            cache.with_directory(directory.join(index::WASMTIME_SUBDIRECTORY));
            let cache = wasmtime::Cache::new(cache).map_err(|e| {
                EngineError(format!(
                    "cannot use {} as the module cache: {e:#}",
                    directory.display()
                ))
            })?;
            wasm_config.cache(Some(cache.clone()));
            disk_cache = Some(cache);
        }
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
        let wasm =
            wasmtime::Engine::new(&wasm_config).map_err(|e| EngineError(format!("{e:#}")))?;
        let mut linker = Linker::new(&wasm);
        registry
            .link(&mut linker)
            .map_err(|e| EngineError(format!("linking the capabilities: {e:#}")))?;
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
            index,
            ticker,
        })
    }

    /// The capabilities this engine knows.
    pub fn registry(&self) -> &Registry {
        &self.registry
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

    /// The compiled program of `body`, from the cache or compiled now, or the outcome that
    /// explains why it does not compile. The policy is checked when it runs.
    pub fn prepare(&self, body: &str) -> Result<(Arc<Program>, CacheState), Box<Outcome>> {
        if let Some(program) = self.cache.get(body) {
            return Ok((program, CacheState::Hit));
        }
        let program = Arc::new(self.compile(body).map_err(|diagnostics| {
            Box::new(Outcome::refused(
                Status::Invalid,
                StatusCode::SUCCESS,
                diagnostics,
            ))
        })?);
        self.cache.insert(body, Arc::clone(&program));
        Ok((program, CacheState::Miss))
    }

    fn compile(&self, body: &str) -> Result<Program, Vec<Diagnostic>> {
        if let Some(program) = self.load_indexed(body) {
            return Ok(program);
        }
        let (expanded, assembled) = self.assemble(body)?;
        let binary = encode(body, &expanded, &assembled)?;
        let module = Module::from_binary(&self.wasm, &binary).map_err(|error| {
            vec![validation_diagnostic(
                body,
                &expanded,
                &assembled,
                &binary,
                &format!("{error:#}"),
            )]
        })?;
        let pre = self.linker.instantiate_pre(&module).map_err(|error| {
            vec![template::diagnostic_at(
                body,
                &expanded,
                &assembled,
                None,
                &format!("cannot link the program: {error:#}"),
            )]
        })?;
        let mut first_calls: Vec<(&'static str, String, Span)> = Vec::new();
        for call in &expanded.calls {
            let Some((capability, _)) = call.capability_and_function() else {
                continue;
            };
            let Some(&known) = assembled.capabilities.iter().find(|c| **c == capability) else {
                continue;
            };
            if !first_calls.iter().any(|(c, ..)| *c == known) {
                first_calls.push((known, call.name.clone(), call.span));
            }
        }
        if let Some(index) = &self.index
            && expanded.warnings.is_empty()
        {
            let meta = index::Meta {
                initial_top: expanded.initial_top,
                first_calls: first_calls
                    .iter()
                    .map(|(c, call, span)| ((*c).to_owned(), call.clone(), span.start, span.end))
                    .collect(),
            };
            index.store(body, &binary, &meta);
        }
        Ok(Program {
            pre,
            source: Arc::from(body),
            module_hash: sha256_hex(&binary),
            initial_top: expanded.initial_top,
            is_async: self.is_async(&assembled.capabilities),
            capabilities: assembled.capabilities,
            warnings: expanded.warnings,
            first_calls,
        })
    }

    /// Whether any of `capabilities` has async host functions.
    fn is_async(&self, capabilities: &[&'static str]) -> bool {
        capabilities
            .iter()
            .any(|name| self.registry.get(name).is_some_and(|c| c.is_async()))
    }

    /// The program of `body` from the on-disk index, without preprocessing it: its binary is
    /// compiled (by Wasmtime's cache, normally) and linked, and the capabilities it needs are
    /// read from the binary's imports. `None` if the index has no usable entry.
    fn load_indexed(&self, body: &str) -> Option<Program> {
        let index = self.index.as_ref()?;
        let entry = index.load(body)?;
        let module = Module::from_binary(&self.wasm, &entry.binary).ok()?;
        let pre = self.linker.instantiate_pre(&module).ok()?;
        let mut capabilities: Vec<&'static str> = Vec::new();
        for import in module.imports() {
            let name = self.registry.get(import.module())?.name();
            if !capabilities.contains(&name) {
                capabilities.push(name);
            }
        }
        capabilities.sort_unstable();
        let first_calls = entry
            .meta
            .first_calls
            .into_iter()
            .map(|(capability, call, start, end)| {
                let known = capabilities.iter().find(|c| **c == capability)?;
                Some((*known, call, Span::new(start, end)))
            })
            .collect::<Option<Vec<_>>>()?;
        index.served();
        Some(Program {
            pre,
            source: Arc::from(body),
            module_hash: sha256_hex(&entry.binary),
            initial_top: entry.meta.initial_top,
            is_async: self.is_async(&capabilities),
            capabilities,
            warnings: Vec::new(),
            first_calls,
        })
    }

    /// Runs a prepared program with `args` under `policy` and `limits`. A program that imports
    /// async host functions is driven on the engine's own runtime; from async code, use
    /// [`Engine::run_async`] instead.
    pub fn run(
        &self,
        program: &Program,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
    ) -> Outcome {
        if program.is_async {
            return self.block_on(program, args, policy, limits);
        }
        let started = Instant::now();
        let mut store = match self.store(program, args, policy, limits) {
            Ok(store) => store,
            Err(outcome) => return *outcome,
        };
        if self.ticker.is_some() {
            let ticks = limits.timeout.as_micros().div_ceil(EPOCH_TICK.as_micros()) + 1;
            store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
            store.epoch_deadline_trap();
        }
        let result = program
            .pre
            .instantiate(&mut store)
            .and_then(|instance| {
                store.data_mut().memory = instance.get_memory(&mut store, "memory");
                instance.get_typed_func::<(), i32>(&mut store, "run")
            })
            .and_then(|entry| entry.call(&mut store, ()));
        finish(store, result, program, limits, started)
    }

    /// Runs a prepared program on the caller's async runtime (a tokio runtime with time and I/O
    /// enabled). Compute yields to the executor every [`EPOCH_TICK`], so a long computation
    /// never blocks other tasks; the deadline covers host calls too.
    pub async fn run_async(
        &self,
        program: &Program,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
    ) -> Outcome {
        let started = Instant::now();
        let mut store = match self.store(program, args, policy, limits) {
            Ok(store) => store,
            Err(outcome) => return *outcome,
        };
        if self.ticker.is_some() {
            let deadline = started + limits.timeout;
            store.epoch_deadline_callback(move |_| {
                if Instant::now() >= deadline {
                    Err(Trap::Interrupt.into())
                } else {
                    Ok(UpdateDeadline::Yield(1))
                }
            });
            store.set_epoch_deadline(1);
        }
        let run = async {
            let instance = program.pre.instantiate_async(&mut store).await?;
            store.data_mut().memory = instance.get_memory(&mut store, "memory");
            let entry = instance.get_typed_func::<(), i32>(&mut store, "run")?;
            entry.call_async(&mut store, ()).await
        };
        let result = match tokio::time::timeout(limits.timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(DeadlineDuringHostCall(limits.timeout.as_millis()).into()),
        };
        finish(store, result, program, limits, started)
    }

    /// [`Engine::run_async`] to completion on the engine's runtime, from synchronous code.
    fn block_on(
        &self,
        program: &Program,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
    ) -> Outcome {
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(message) => {
                let mut outcome = Outcome::refused(Status::Trap, StatusCode::SUCCESS, Vec::new());
                outcome.trap = Some(TrapInfo {
                    kind: TrapKind::Host,
                    message,
                });
                return outcome;
            }
        };
        let run = || runtime.block_on(self.run_async(program, args, policy, limits));
        if tokio::runtime::Handle::try_current().is_ok() {
            // A runtime cannot block inside another: drive this one from a thread of its own.
            std::thread::scope(|scope| {
                scope
                    .spawn(run)
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        } else {
            run()
        }
    }

    fn runtime(&self) -> Result<&tokio::runtime::Runtime, String> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("watsmith-io")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime for async host calls: {e}"))?;
        if let Err(spare) = self.runtime.set(runtime) {
            spare.shutdown_background();
        }
        self.runtime
            .get()
            .ok_or_else(|| "the runtime for async host calls vanished".to_owned())
    }

    /// A store for one run: the policy checked against what the program imports, each imported
    /// capability's state built from its grant, fuel set.
    fn store(
        &self,
        program: &Program,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
    ) -> Result<Store<RunState>, Box<Outcome>> {
        let refuse = |diagnostics| {
            Box::new(Outcome::refused(
                Status::Error,
                StatusCode::EACCESS,
                diagnostics,
            ))
        };
        if program.capabilities.iter().any(|c| !policy.grants(c)) {
            return Err(refuse(program.refusals(|capability| {
                (!policy.grants(capability)).then(|| {
                    (
                        format!("capability `{capability}` is not granted to this run"),
                        format!(
                            "the run's policy must allow `{capability}` ({}), or solve the task without it",
                            grant_flag(capability)
                        ),
                    )
                })
            })));
        }
        let mut state = RunState::new(args, limits.clone(), program.initial_top);
        for name in &program.capabilities {
            let (Some(capability), Some(grant)) = (self.registry.get(name), policy.grant(name))
            else {
                continue;
            };
            match capability.new_state(&grant) {
                Ok(Some(capability_state)) => state.add_state(capability_state),
                Ok(None) => {}
                Err(reason) => {
                    return Err(refuse(program.refusals(|capability| {
                        (capability == *name).then(|| {
                            (
                                format!("capability `{capability}` cannot be used: {reason}"),
                                "the run's grant of it is incomplete; the caller must fix the policy"
                                    .to_owned(),
                            )
                        })
                    })));
                }
            }
        }
        let mut store = Store::new(&self.wasm, state);
        store.limiter(|state| &mut state.memory_cap);
        if self.fuel_metering {
            let budget = limits.fuel.unwrap_or(UNLIMITED_FUEL);
            store.set_fuel(budget).map_err(|error| {
                let mut outcome = Outcome::refused(Status::Trap, StatusCode::SUCCESS, Vec::new());
                outcome.trap = Some(classify(&error));
                Box::new(outcome)
            })?;
        }
        Ok(store)
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

    /// [`Engine::exec`] from async code: see [`Engine::run_async`].
    pub async fn exec_async(
        &self,
        body: &str,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
    ) -> Outcome {
        let started = Instant::now();
        let outcome = match self.prepare(body) {
            Ok((program, cache)) => self
                .run_async(&program, args, policy, limits)
                .await
                .with_cache(cache),
            Err(outcome) => *outcome,
        };
        outcome.timed_since(started)
    }
}

/// The outcome of a run that got as far as its store.
fn finish(
    store: Store<RunState>,
    result: wasmtime::Result<i32>,
    program: &Program,
    limits: &Limits,
    started: Instant,
) -> Outcome {
    // Without metering `get_fuel` fails and nothing was used.
    let budget = limits.fuel.unwrap_or(UNLIMITED_FUEL);
    let fuel_used = budget.saturating_sub(store.get_fuel().unwrap_or(budget));
    let state = store.into_data();
    let mut logs = state.output.logs;
    if state.output.dropped_logs > 0 {
        logs.push(format!(
            "[{} more log lines dropped: the limit is {} lines or {} bytes]",
            state.output.dropped_logs, limits.max_logs, limits.max_log_bytes
        ));
    }
    let (status, code, trap) = match result {
        Ok(0) => (Status::Ok, StatusCode::SUCCESS, None),
        Ok(code) => (Status::Error, StatusCode(code), None),
        Err(error) => (Status::Trap, StatusCode::SUCCESS, Some(classify(&error))),
    };
    Outcome {
        status,
        code,
        code_name: code.name(),
        results: state.output.results,
        logs,
        trap,
        diagnostics: program.warnings.clone(),
        fuel_used,
        usage: state.usage,
        elapsed_us: 0,
        cache: None,
        module_hash: Some(program.module_hash.clone()),
    }
    .timed_since(started)
}

/// SHA-256 of `bytes`, in lowercase hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The typed kind of a run's error.
fn classify(error: &wasmtime::Error) -> TrapInfo {
    // The trap's own description, not the whole chain with Wasmtime's backtrace.
    let message = if let Some(trap) = error.downcast_ref::<Trap>() {
        trap.to_string()
    } else if let Some(limit) = error.downcast_ref::<MemoryLimitExceeded>() {
        limit.to_string()
    } else if let Some(limit) = error.downcast_ref::<OutputLimitExceeded>() {
        limit.to_string()
    } else if let Some(budget) = error.downcast_ref::<HostBudgetExceeded>() {
        budget.to_string()
    } else if let Some(deadline) = error.downcast_ref::<DeadlineDuringHostCall>() {
        deadline.to_string()
    } else {
        format!("{error:#}")
    };
    let kind = if let Some(trap) = error.downcast_ref::<Trap>() {
        match *trap {
            Trap::OutOfFuel => TrapKind::OutOfFuel,
            Trap::Interrupt => TrapKind::Timeout,
            Trap::StackOverflow => TrapKind::StackOverflow,
            Trap::UnreachableCodeReached => TrapKind::Unreachable,
            Trap::IntegerDivisionByZero => TrapKind::IntegerDivideByZero,
            Trap::IntegerOverflow => TrapKind::IntegerOverflow,
            Trap::BadConversionToInteger => TrapKind::InvalidConversion,
            Trap::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            _ => TrapKind::Other,
        }
    } else if error.is::<MemoryLimitExceeded>() {
        TrapKind::MemoryLimit
    } else if error.is::<OutputLimitExceeded>() {
        TrapKind::OutputLimit
    } else if error.is::<HostBudgetExceeded>() {
        TrapKind::HostBudget
    } else if error.is::<DeadlineDuringHostCall>() {
        TrapKind::Timeout
    } else {
        TrapKind::Host
    };
    TrapInfo { kind, message }
}

/// Encodes the module text with `wast`, mapping a text error back to the body.
fn encode(
    body: &str,
    expanded: &Expanded,
    assembled: &Assembled,
) -> Result<Vec<u8>, Vec<Diagnostic>> {
    let fail = |error: wast::Error| {
        vec![template::diagnostic_at(
            body,
            expanded,
            assembled,
            Some(error.span().offset()),
            &error.message(),
        )]
    };
    let buffer = wast::parser::ParseBuffer::new(&assembled.text).map_err(fail)?;
    let mut wat = wast::parser::parse::<wast::Wat<'_>>(&buffer).map_err(fail)?;
    wat.encode().map_err(fail)
}

/// Locates a validation error: finds the operator at the error's binary offset and the text span
/// of that instruction (re-parsing with instruction spans on this rare path only).
fn validation_diagnostic(
    body: &str,
    expanded: &Expanded,
    assembled: &Assembled,
    binary: &[u8],
    message: &str,
) -> Diagnostic {
    let offset = wasmtime::wasmparser::Validator::new_with_features(
        wasmtime::wasmparser::WasmFeatures::all(),
    )
    .validate_all(binary)
    .err()
    .map(|e| e.offset());
    let text_offset =
        offset.and_then(|offset| instruction_text_offset(&assembled.text, binary, offset));
    template::diagnostic_at(body, expanded, assembled, text_offset, message)
}

/// The text offset of the instruction at binary `offset` of the (single) function body.
fn instruction_text_offset(text: &str, binary: &[u8], offset: usize) -> Option<usize> {
    use wasmtime::wasmparser::{Parser, Payload};
    let mut operator_offsets = Vec::new();
    for payload in Parser::new(0).parse_all(binary) {
        if let Ok(Payload::CodeSectionEntry(function)) = payload {
            let mut reader = function.get_operators_reader().ok()?;
            while !reader.eof() {
                let (_, at) = reader.read_with_offset().ok()?;
                operator_offsets.push(at);
            }
        }
    }
    let index = operator_offsets.iter().rposition(|&at| at <= offset)?;
    let mut buffer = wast::parser::ParseBuffer::new(text).ok()?;
    buffer.track_instr_spans(true);
    let wat = wast::parser::parse::<wast::Wat<'_>>(&buffer).ok()?;
    let wast::Wat::Module(module) = wat else {
        return None;
    };
    let wast::core::ModuleKind::Text(fields) = module.kind else {
        return None;
    };
    fields.iter().find_map(|field| match field {
        wast::core::ModuleField::Func(func) => match &func.kind {
            wast::core::FuncKind::Inline { expression, .. } => {
                let spans = expression.instr_spans.as_ref()?;
                spans
                    .get(index.min(spans.len().saturating_sub(1)))
                    .map(|span| span.offset())
            }
            wast::core::FuncKind::Import(..) => None,
        },
        _ => None,
    })
}

/// The `watsmith` flag that grants `capability`, for hints.
fn grant_flag(capability: &str) -> String {
    match capability {
        "http" => "`--allow-host HOST`".to_owned(),
        "fs" => "`--fs-root DIR`".to_owned(),
        other => format!("`--allow {other}`"),
    }
}
