//! Running a pre-linked program: the store of one run with its policy checked, fuel and deadline,
//! synchronously or on a fiber, and the outcome.

use std::time::Instant;

use std::sync::atomic::Ordering;

use wasmtime::{CallHook, Store, Trap, UpdateDeadline};

use tokio_util::sync::CancellationToken;

use super::admission::Refusal;
use super::trap::{Cancelled, DeadlineDuringHostCall, classify};
use super::{Engine, Program};
use crate::limits::{EPOCH_TICK, Limits, UNLIMITED_FUEL};
use crate::outcome::{Outcome, Status, TrapInfo, TrapKind};
use crate::policy::Policy;
use crate::state::RunState;
use crate::status::StatusCode;
use crate::value::Value;

impl Engine {
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
        let mut args = Some(args);
        let mut waiter = self.admission.waiter(None);
        loop {
            let seen = waiter.seen();
            let mut store =
                match self.store(program, args.take().unwrap_or_default(), policy, limits) {
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
            if pool_is_full(&result) {
                args = Some(std::mem::take(&mut store.data_mut().args));
                drop(store);
                if let Err(refusal) = waiter.wait_blocking(seen) {
                    return refusal.outcome().timed_since(started);
                }
                continue;
            }
            let outcome = finish(store, result, program, limits, started);
            self.admission.released();
            return outcome;
        }
    }

    /// Runs a prepared program on the caller's async runtime (a tokio runtime with time and I/O
    /// enabled). Compute yields to the executor every [`EPOCH_TICK`], so a long computation
    /// never blocks other tasks; the deadline covers host calls too. A run that finds every
    /// instance slot busy waits in the engine's queue ([`EngineConfig::queue`](crate::EngineConfig::queue)),
    /// and is `busy` past it.
    pub async fn run_async(
        &self,
        program: &Program,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
    ) -> Outcome {
        self.run_until(program, args, policy, limits, None).await
    }

    /// [`Engine::run_async`], stopped when `cancel` is cancelled: within one [`EPOCH_TICK`] in
    /// compiled code, at once in an async host call or in the queue. The outcome is then
    /// `cancelled`, with the logs the run wrote; what it stored (kv, files) stays.
    pub async fn run_cancellable(
        &self,
        program: &Program,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
        cancel: &CancellationToken,
    ) -> Outcome {
        self.run_until(program, args, policy, limits, Some(cancel))
            .await
    }

    pub(super) async fn run_until(
        &self,
        program: &Program,
        args: Vec<Value>,
        policy: &Policy,
        limits: &Limits,
        cancel: Option<&CancellationToken>,
    ) -> Outcome {
        if cancel.is_some_and(CancellationToken::is_cancelled) {
            return Outcome::cancelled();
        }
        let started = Instant::now();
        let mut args = Some(args);
        let mut waiter = self.admission.waiter(cancel);
        loop {
            let wake = waiter.arm();
            let mut store =
                match self.store(program, args.take().unwrap_or_default(), policy, limits) {
                    Ok(store) => store,
                    Err(outcome) => return *outcome,
                };
            if self.ticker.is_some() {
                // From this attempt: the time spent in the queue is not the program's.
                let deadline = Instant::now() + limits.timeout;
                let cancel = cancel.cloned();
                store.epoch_deadline_callback(move |_| {
                    if cancel.as_ref().is_some_and(CancellationToken::is_cancelled) {
                        Err(Cancelled.into())
                    } else if Instant::now() >= deadline {
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
            // Only a program that waits on async host calls needs a timer: compute alone is
            // stopped by the epoch callback above, and a timer per run is a registration in the
            // runtime's time driver that every concurrent run would contend for.
            let result = match (program.is_async, cancel) {
                (false, _) => run.await,
                (true, None) => timed(limits, run).await,
                (true, Some(cancel)) => tokio::select! {
                    result = timed(limits, run) => result,
                    () = cancel.cancelled() => Err(Cancelled.into()),
                },
            };
            if pool_is_full(&result) {
                args = Some(std::mem::take(&mut store.data_mut().args));
                drop(store);
                if let Err(refusal) = waiter.wait(wake).await {
                    return refusal.outcome().timed_since(started);
                }
                continue;
            }
            let outcome = finish(store, result, program, limits, started);
            self.admission.released();
            return outcome;
        }
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
                return Outcome::stopped(TrapInfo {
                    kind: TrapKind::Host,
                    message,
                });
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
        let refuse = |diagnostics| Box::new(Outcome::denied(diagnostics));
        if program.capabilities.iter().any(|c| !policy.grants(c)) {
            return Err(refuse(program.refusals(|capability| {
                (!policy.grants(capability)).then(|| {
                    let how = policy
                        .how_to_grant(capability)
                        .map(|how| format!(" ({how})"))
                        .unwrap_or_default();
                    (
                        format!("capability `{capability}` is not granted to this run"),
                        format!(
                            "the run's policy must allow `{capability}`{how}, or solve the task without it"
                        ),
                    )
                })
            })));
        }
        let mut state = RunState::new(args, limits.clone(), program.initial_top);
        for name in &program.capabilities {
            let (Some(capability), Some(grant)) = (self.registry.get(name), policy.grant_of(name))
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
        store.limiter(|state| state);
        if let Some(ticker) = &self.ticker {
            // Compiled code checks the deadline; a host call (a long `str.replace`, a kv call)
            // is checked when it returns, so a run never ends `ok` past its deadline, even one
            // whose last act is that call.
            let clock = ticker.clock();
            let ticks = limits.timeout.as_micros().div_ceil(EPOCH_TICK.as_micros()) + 1;
            let until = clock
                .load(Ordering::Relaxed)
                .saturating_add(u64::try_from(ticks).unwrap_or(u64::MAX));
            let ms = limits.timeout.as_millis();
            store.call_hook(move |_, hook| {
                if matches!(hook, CallHook::ReturningFromHost)
                    && clock.load(Ordering::Relaxed) >= until
                {
                    return Err(DeadlineDuringHostCall(ms).into());
                }
                Ok(())
            });
        }
        if self.fuel_metering {
            let budget = limits.fuel.unwrap_or(UNLIMITED_FUEL);
            store
                .set_fuel(budget)
                .map_err(|error| Box::new(Outcome::stopped(classify(&error))))?;
        }
        Ok(store)
    }
}

/// Whether an attempt was refused for want of an instance slot or a fiber stack in the pool:
/// the run never started, and waits in the queue.
fn pool_is_full(result: &wasmtime::Result<i32>) -> bool {
    result
        .as_ref()
        .is_err_and(|error| error.is::<wasmtime::PoolConcurrencyLimitError>())
}

/// A run that waits on async host calls, under its deadline.
async fn timed(
    limits: &Limits,
    run: impl std::future::Future<Output = wasmtime::Result<i32>>,
) -> wasmtime::Result<i32> {
    match tokio::time::timeout(limits.timeout, run).await {
        Ok(result) => result,
        Err(_) => Err(DeadlineDuringHostCall(limits.timeout.as_millis()).into()),
    }
}

impl Refusal {
    /// The outcome of a call that left the queue without a slot.
    pub(super) fn outcome(self) -> Outcome {
        match self {
            Self::Busy => Outcome::busy(),
            Self::Cancelled => Outcome::cancelled(),
        }
    }
}

/// The outcome of a run that got as far as its store.
pub(super) fn finish(
    store: Store<RunState>,
    result: wasmtime::Result<i32>,
    program: &Program,
    limits: &Limits,
    started: Instant,
) -> Outcome {
    // Without metering `get_fuel` fails: no count. A trap raised by compiled code leaves the
    // stored count behind the register that held it (see `Outcome::fuel_used`); the host's
    // own errors, out of fuel included, come after the count was stored.
    let budget = limits.fuel.unwrap_or(UNLIMITED_FUEL);
    // A cancellation is seen in compiled code's epoch check too.
    let in_compiled_code = result.as_ref().err().is_some_and(|error| {
        error.is::<Cancelled>()
            || error
                .downcast_ref::<Trap>()
                .is_some_and(|trap| *trap != Trap::OutOfFuel)
    });
    let fuel_used = store
        .get_fuel()
        .ok()
        .filter(|_| !in_compiled_code)
        .map(|left| budget.saturating_sub(left));
    let state = store.into_data();
    let mut logs = state.output.logs;
    if state.output.dropped_logs > 0 {
        logs.push(format!(
            "[{} more log lines dropped: the limit is {} lines or {} bytes]",
            state.output.dropped_logs, limits.max_logs, limits.max_log_bytes
        ));
    }
    let (status, code, trap) = match result {
        Ok(0) => (Status::Ok, Some(StatusCode::SUCCESS), None),
        Ok(code) => (Status::Error, Some(StatusCode(code)), None),
        Err(error) if error.is::<Cancelled>() => (Status::Cancelled, None, None),
        Err(error) => (Status::Trap, None, Some(classify(&error))),
    };
    Outcome {
        status,
        code,
        code_name: code.map(|code| std::borrow::Cow::Borrowed(code.name())),
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
