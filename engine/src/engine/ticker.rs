//! The epoch ticker: the clock of every run's deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use super::EngineError;
use crate::limits::EPOCH_TICK;

/// Increments the engine's epoch every [`EPOCH_TICK`]: one thread per engine, whatever the
/// number of runs, stopped when the engine is dropped. It also counts the ticks where the host
/// can read them ([`Ticker::clock`]): Wasmtime checks the epoch only in compiled code, and the
/// host checks a run's deadline against this when its host calls return.
#[derive(Debug)]
pub(super) struct Ticker {
    stop: Arc<AtomicBool>,
    /// Leaked, one per engine (8 bytes): every run's call hook reads it, and a `&'static` needs
    /// no reference count, which two threads starting runs at once would contend for.
    clock: &'static AtomicU64,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    pub(super) fn start(engine: wasmtime::Engine) -> Result<Self, EngineError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let clock: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        let ticks = clock;
        let thread = std::thread::Builder::new()
            .name("watsmith-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
            .map_err(|e| EngineError::host(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Self {
            stop,
            clock,
            thread: Some(thread),
        })
    }

    /// The ticks counted so far, one per [`EPOCH_TICK`] (shared: read it with `Relaxed`).
    pub(super) fn clock(&self) -> &'static AtomicU64 {
        self.clock
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
