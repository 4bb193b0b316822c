//! Admission: the bounded queue of calls that wait for an instance slot or for the compiler.
//!
//! A call costs nothing here unless it has to wait: a run tries to instantiate, and only when
//! the pool answers that every slot is taken ([`wasmtime::PoolConcurrencyLimitError`]) does it
//! join the queue and wait for a run to end. A run that ends reads one counter (written only by
//! calls that wait) and wakes a waiter if there is one. So the hot path writes no shared line.
//!
//! No wake-up is lost: a waiter counts itself before it tries again, and a run gives back its
//! slot (under the pool's lock) before it reads the count; either the waiter's attempt sees
//! the free slot, or the run sees the waiter and wakes it. Async waiters are woken through a
//! [`Notify`] (whose wake-up passes to the next waiter if the woken one has gone), synchronous
//! ones through a condition variable.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use std::pin::Pin;

use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio_util::sync::CancellationToken;

use super::QueueConfig;

/// The queue of one engine.
#[derive(Debug)]
pub(super) struct Admission {
    config: QueueConfig,
    /// Calls in the queue now.
    waiting: AtomicU32,
    /// Wakes an async waiter when a run ends.
    freed: Notify,
    /// Runs ended while some call waited, for synchronous waiters (who wait for it to change).
    ended: Mutex<u64>,
    ended_changed: Condvar,
}

/// Why a queued call stopped waiting without a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The queue was full, or the wait passed: the outcome is `busy`.
    Busy,
    /// The caller cancelled it: the outcome is `cancelled`.
    Cancelled,
}

/// A place in the queue, given back when dropped.
#[derive(Debug)]
pub(super) struct Place<'a> {
    admission: &'a Admission,
    /// When the wait ends.
    until: Instant,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.admission.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One call's turns at a slot: try, and between refusals wait in the queue.
///
/// Async: `let wake = waiter.arm();`, try; refused, `waiter.wait(wake).await?` and try again.
/// Synchronous: `let seen = waiter.seen();`, try; refused, `waiter.wait_blocking(seen)?`.
pub(super) struct Waiter<'a> {
    admission: &'a Admission,
    place: Option<Place<'a>>,
    cancel: Option<&'a CancellationToken>,
}

/// A queued call's registered wake-up.
pub(super) type Wake<'a> = Option<Pin<Box<Notified<'a>>>>;

impl<'a> Waiter<'a> {
    /// Before an attempt: a queued call registers for the next run's end, so one that ends
    /// during the attempt still wakes it.
    pub(super) fn arm(&self) -> Wake<'a> {
        self.place.as_ref()?;
        let mut wake = Box::pin(self.admission.freed.notified());
        wake.as_mut().enable();
        Some(wake)
    }

    /// After a refused attempt: joins the queue (and tries again at once), or waits for a run
    /// to end; `Err` when the queue is full, the wait has passed or the caller cancelled.
    pub(super) async fn wait(&mut self, wake: Wake<'a>) -> Result<(), Refusal> {
        let (Some(place), Some(wake)) = (&self.place, wake) else {
            self.place = Some(self.admission.enter()?);
            return Ok(());
        };
        let left = place.until.saturating_duration_since(Instant::now());
        let never = CancellationToken::new();
        let cancel = self.cancel.unwrap_or(&never);
        tokio::select! {
            () = wake => Ok(()),
            () = tokio::time::sleep(left) => Err(Refusal::Busy),
            () = cancel.cancelled() => Err(Refusal::Cancelled),
        }
    }

    /// Before a synchronous attempt: the count of ended runs it waits to see change.
    pub(super) fn seen(&self) -> u64 {
        *self
            .admission
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Waiter::wait`] on the calling thread (no cancellation).
    pub(super) fn wait_blocking(&mut self, seen: u64) -> Result<(), Refusal> {
        let Some(place) = &self.place else {
            self.place = Some(self.admission.enter()?);
            return Ok(());
        };
        let left = place.until.saturating_duration_since(Instant::now());
        if left == Duration::ZERO {
            return Err(Refusal::Busy);
        }
        let ended = self
            .admission
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (_ended, _timeout) = self
            .admission
            .ended_changed
            .wait_timeout_while(ended, left, |ended| *ended == seen)
            .unwrap_or_else(PoisonError::into_inner);
        Ok(())
    }
}

impl Admission {
    pub(super) fn new(config: QueueConfig) -> Self {
        Self {
            config,
            waiting: AtomicU32::new(0),
            freed: Notify::new(),
            ended: Mutex::new(0),
            ended_changed: Condvar::new(),
        }
    }

    /// Joins the queue, unless [`QueueConfig::capacity`] calls already wait.
    pub(super) fn enter(&self) -> Result<Place<'_>, Refusal> {
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        let place = Place {
            admission: self,
            until: Instant::now() + self.config.wait,
        };
        if before >= self.config.capacity {
            return Err(Refusal::Busy);
        }
        Ok(place)
    }

    /// A run has ended and given back its slot: wakes one waiter, if any.
    pub(super) fn released(&self) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        self.freed.notify_one();
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.ended_changed.notify_one();
    }

    /// A call that may have to wait: it joins the queue at its first refusal.
    pub(super) fn waiter<'a>(&'a self, cancel: Option<&'a CancellationToken>) -> Waiter<'a> {
        Waiter {
            admission: self,
            place: None,
            cancel,
        }
    }

    /// Waits for a permit of `semaphore` (the compiler's), in the queue if none is free.
    pub(super) async fn permit<'s>(
        &self,
        semaphore: &'s tokio::sync::Semaphore,
        cancel: Option<&CancellationToken>,
    ) -> Result<tokio::sync::SemaphorePermit<'s>, Refusal> {
        if let Ok(permit) = semaphore.try_acquire() {
            return Ok(permit);
        }
        let place = self.enter()?;
        let left = place.until.saturating_duration_since(Instant::now());
        let never = CancellationToken::new();
        let cancel = cancel.unwrap_or(&never);
        tokio::select! {
            permit = semaphore.acquire() => permit.map_err(|_closed| Refusal::Busy),
            () = tokio::time::sleep(left) => Err(Refusal::Busy),
            () = cancel.cancelled() => Err(Refusal::Cancelled),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::*;

    fn queue(capacity: u32, wait_ms: u64) -> Admission {
        Admission::new(QueueConfig {
            capacity,
            wait: Duration::from_millis(wait_ms),
        })
    }

    #[test]
    fn a_full_queue_refuses_at_once_and_gives_places_back() {
        let admission = queue(1, 10_000);
        let first = admission.enter().expect("a place");
        assert_eq!(admission.enter().err(), Some(Refusal::Busy));
        drop(first);
        assert_eq!(admission.waiting.load(Ordering::SeqCst), 0);
        assert!(admission.enter().is_ok());
    }

    /// Tries until `free` is set, as a run tries until a slot is.
    fn run_blocking(admission: &Admission, free: &AtomicBool) -> Result<(), Refusal> {
        let mut waiter = admission.waiter(None);
        loop {
            let seen = waiter.seen();
            if free.load(Ordering::SeqCst) {
                return Ok(());
            }
            waiter.wait_blocking(seen)?;
        }
    }

    async fn run_async(
        admission: &Admission,
        free: &AtomicBool,
        cancel: Option<&CancellationToken>,
    ) -> Result<(), Refusal> {
        let mut waiter = admission.waiter(cancel);
        loop {
            let wake = waiter.arm();
            if free.load(Ordering::SeqCst) {
                return Ok(());
            }
            waiter.wait(wake).await?;
        }
    }

    #[test]
    fn a_synchronous_waiter_is_woken_when_a_run_ends() {
        let admission = queue(4, 60_000);
        let free = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| run_blocking(&admission, &free));
            while admission.waiting.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            free.store(true, Ordering::SeqCst);
            admission.released();
            assert_eq!(waiter.join().expect("no panic"), Ok(()));
        });
        assert_eq!(admission.waiting.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_synchronous_waiter_is_busy_after_the_wait() {
        let admission = queue(4, 20);
        let started = Instant::now();
        assert_eq!(
            run_blocking(&admission, &AtomicBool::new(false)),
            Err(Refusal::Busy)
        );
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(admission.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_async_waiter_is_woken_cancelled_or_busy() {
        let admission = Arc::new(queue(4, 60_000));
        let free = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (admission, free) = (admission.clone(), free.clone());
            tokio::spawn(async move { run_async(&admission, &free, None).await })
        };
        while admission.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        free.store(true, Ordering::SeqCst);
        admission.released();
        assert_eq!(waiter.await.expect("no panic"), Ok(()));

        let cancel = CancellationToken::new();
        cancel.cancel();
        let never = AtomicBool::new(false);
        assert_eq!(
            run_async(&admission, &never, Some(&cancel)).await,
            Err(Refusal::Cancelled)
        );

        let short = queue(4, 20);
        assert_eq!(run_async(&short, &never, None).await, Err(Refusal::Busy));
        assert_eq!(short.waiting.load(Ordering::SeqCst), 0);
        assert_eq!(admission.waiting.load(Ordering::SeqCst), 0);
    }
}
