//! Task events as a stream: every event of a stored session's task is numbered and published as
//! it happens, kept for the store by a writer that runs beside the task, and given to every
//! subscriber: a reader that starts from any number gets the stored events first, then the
//! live ones, none lost or doubled in between (what SSE's `Last-Event-ID` and a WebSocket
//! `subscribe` need).
//!
//! Each session's events go through its [`Hub`] in this runtime. The task's lease holder is the
//! only writer of its session's events, so it numbers them itself, following the last one
//! stored. Published events wait in the hub until the store has them; everything numbered
//! below the first one waiting is in the store. A subscriber therefore reads the store up to
//! the first waiting event, then the waiting ones, then the live channel, skipping what it has
//! seen. The channel is bounded ([`SUBSCRIBER_QUEUE`]): a subscriber that falls that far behind
//! is told so, with the number to read on from ([`Streamed::Lagged`]), and the task never waits
//! for it.
//!
//! Live delivery covers the tasks this runtime runs; the events of a task another process runs
//! on a shared store are read from the store.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::{Notify, broadcast};
use watsmith_agent::{Event, TranscriptLine};

use crate::store::{EventQuery, MAX_EVENTS_READ, Store, StoreError, StoredEvent, now_ms};

/// How many events a subscriber may fall behind the task before it is told it lagged.
pub const SUBSCRIBER_QUEUE: usize = 1024;

/// The most waiting events the writer stores in one call.
const WRITE_BATCH: usize = 512;

/// One item of a [`Subscription`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Streamed {
    /// A stored event (numbered, in order).
    Event(StoredEvent),
    /// Streamed text of the model's answer as it arrives: live only (not stored, not
    /// numbered), so a reader that resumes does not get it again; the answer it is part of is
    /// in the next `response` event.
    Delta {
        /// The task.
        task: String,
        /// The text.
        text: String,
    },
    /// The task's run returned: after its last event, with the error it returned, if any (a
    /// store that failed to save it, a lease lost). Live only.
    Ended {
        /// The task.
        task: String,
        /// The error, as the runtime describes it.
        error: Option<String>,
    },
    /// The subscriber fell [`SUBSCRIBER_QUEUE`] events behind and was dropped from the live
    /// channel: subscribe again after `after` to read on (from the store, then live). The
    /// subscription ends with it.
    Lagged {
        /// The number of the last event it was given.
        after: u64,
    },
}

impl Streamed {
    /// Whether this item ends the task `task`: its final answer, its stop, or the end of its
    /// run.
    fn ends(&self, task: &str) -> bool {
        match self {
            Self::Event(event) => {
                event.task == task
                    && matches!(
                        event.line.event,
                        Event::Final { .. } | Event::Stopped { .. }
                    )
            }
            Self::Ended { task: ended, .. } => ended == task,
            Self::Delta { .. } | Self::Lagged { .. } => false,
        }
    }

    fn task(&self) -> Option<&str> {
        match self {
            Self::Event(event) => Some(&event.task),
            Self::Delta { task, .. } | Self::Ended { task, .. } => Some(task),
            Self::Lagged { .. } => None,
        }
    }
}

/// One session's events in this runtime. See the [module documentation](self).
pub(crate) struct Hub {
    session: String,
    store: Arc<dyn Store>,
    state: Mutex<HubState>,
    /// Wakes the writer when an event waits.
    waiting: Notify,
    /// Held by the one call storing the waiting events.
    writing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct HubState {
    /// The number the next event gets.
    next: u64,
    /// Events published, not yet known to be stored, in order; every event numbered below the
    /// first is stored.
    waiting: VecDeque<StoredEvent>,
    /// The task running now, if any.
    running: Option<String>,
    /// The live channel, while someone subscribes (an idle session keeps none).
    live: Option<broadcast::Sender<Arc<Streamed>>>,
}

impl HubState {
    fn send(&mut self, item: Streamed) {
        if let Some(live) = &self.live
            && live.send(Arc::new(item)).is_err()
        {
            // No subscriber is left: an idle session keeps no channel.
            self.live = None;
        }
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        // Every critical section leaves the state whole: a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A task begins (its session's lease held): its events are numbered after the last one
    /// stored. Events still waiting from an earlier task whose store failed are numbered after
    /// what another holder stored since, if it did.
    pub(crate) async fn begin(&self, task: &str) -> Result<(), StoreError> {
        let last = self.store.last_event(&self.session).await?;
        let mut state = self.lock();
        let mut next = last + 1;
        if state.waiting.front().is_some_and(|first| first.seq == next) {
            next = state.next;
        } else {
            for event in &mut state.waiting {
                event.seq = next;
                next += 1;
            }
        }
        state.next = next;
        state.running = Some(task.to_owned());
        Ok(())
    }

    /// Publishes an event of `task`: numbered and kept for the store (a delta only sent live).
    pub(crate) fn publish(&self, task: &str, event: &Event) {
        let mut state = self.lock();
        if let Event::Delta { text } = event {
            if state.live.is_some() {
                state.send(Streamed::Delta {
                    task: task.to_owned(),
                    text: text.clone(),
                });
            }
            return;
        }
        let stored = StoredEvent {
            seq: state.next,
            task: task.to_owned(),
            line: TranscriptLine {
                ts_ms: u128::from(now_ms()),
                event: event.clone(),
            },
        };
        state.next += 1;
        if state.live.is_some() {
            state.send(Streamed::Event(stored.clone()));
        }
        state.waiting.push_back(stored);
        drop(state);
        self.waiting.notify_one();
    }

    /// The task's run returned, with `error`.
    pub(crate) fn end(&self, task: &str, error: Option<String>) {
        let mut state = self.lock();
        state.running = None;
        state.send(Streamed::Ended {
            task: task.to_owned(),
            error,
        });
    }

    /// Stores the waiting events, until none waits.
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        let _writing = self.writing.lock().await;
        loop {
            let batch: Vec<StoredEvent> = self
                .lock()
                .waiting
                .iter()
                .take(WRITE_BATCH)
                .cloned()
                .collect();
            let Some(last) = batch.last().map(|event| event.seq) else {
                return Ok(());
            };
            self.store.append_events(&self.session, &batch).await?;
            let mut state = self.lock();
            while state.waiting.front().is_some_and(|event| event.seq <= last) {
                state.waiting.pop_front();
            }
        }
    }

    /// Stores events as they are published until `done` is cancelled, then the rest; the last
    /// store error, if the store still lacks some. A failed write is tried again with the next
    /// event.
    pub(crate) async fn write_until(
        &self,
        done: &watsmith_engine::CancellationToken,
    ) -> Result<(), StoreError> {
        loop {
            tokio::select! {
                () = self.waiting.notified() => {}
                () = done.cancelled() => break,
            }
            let _retried_later = self.flush().await;
        }
        self.flush().await
    }

    /// Reads the events of `task` (every task's if `None`) numbered after `after`: stored,
    /// waiting, then live.
    pub(crate) fn subscribe(self: &Arc<Self>, task: Option<String>, after: u64) -> Subscription {
        let mut state = self.lock();
        let live = match &state.live {
            Some(live) => live.subscribe(),
            None => {
                let (sender, receiver) = broadcast::channel(SUBSCRIBER_QUEUE);
                state.live = Some(sender);
                receiver
            }
        };
        // Everything numbered below the first waiting event is stored; with none waiting, all
        // that is stored may be read (what is published meanwhile comes live too, and is
        // skipped once seen).
        let stored_through = state
            .waiting
            .front()
            .map_or(u64::MAX, |first| first.seq.saturating_sub(1));
        let waiting: VecDeque<StoredEvent> = state
            .waiting
            .iter()
            .filter(|event| event.seq > after)
            .cloned()
            .collect();
        let follows_live = match &task {
            Some(task) => state.running.as_deref() == Some(task),
            None => true,
        };
        drop(state);
        Subscription {
            hub: Arc::clone(self),
            task,
            seen: after,
            cursor: after,
            stored_through,
            page: VecDeque::new(),
            waiting: Some(waiting),
            live: follows_live.then_some(live),
            ended: false,
        }
    }
}

/// The hubs of the sessions this runtime has live or subscribed to, by session id. A hub lives
/// while a session or a subscription holds it.
#[derive(Default)]
pub(crate) struct Hubs {
    hubs: Mutex<HashMap<String, Weak<Hub>>>,
}

impl Hubs {
    /// The hub of `session`, made now if none is alive.
    pub(crate) fn get(&self, session: &str, store: &Arc<dyn Store>) -> Arc<Hub> {
        let mut hubs = self.hubs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(hub) = hubs.get(session).and_then(Weak::upgrade) {
            return hub;
        }
        hubs.retain(|_, hub| hub.strong_count() > 0);
        let hub = Arc::new(Hub {
            session: session.to_owned(),
            store: Arc::clone(store),
            state: Mutex::new(HubState::default()),
            waiting: Notify::new(),
            writing: tokio::sync::Mutex::new(()),
        });
        hubs.insert(session.to_owned(), Arc::downgrade(&hub));
        hub
    }
}

/// A reader of a session's events from a number on: the stored ones first, then those still
/// waiting for the store, then the live ones, each once and in order. A subscription to one
/// task ends after that task's last event (at once for a task that is not running here, once
/// its stored events are read); one to every task goes on until dropped.
pub struct Subscription {
    hub: Arc<Hub>,
    task: Option<String>,
    /// The number of the last event passed on or skipped.
    seen: u64,
    /// How far the store has been read.
    cursor: u64,
    /// What is read from the store: the events numbered below the first one waiting.
    stored_through: u64,
    /// Events read, not yet passed on.
    page: VecDeque<StoredEvent>,
    /// The events waiting for the store when the subscription was made, until taken up.
    waiting: Option<VecDeque<StoredEvent>>,
    /// The live channel (`None`: a task that is not running here).
    live: Option<broadcast::Receiver<Arc<Streamed>>>,
    ended: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("session", &self.hub.session)
            .field("task", &self.task)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next item; `None` when the subscription has ended (its task ended, or it lagged).
    ///
    /// # Errors
    /// The store's, reading stored events; the subscription may be read again (or made again
    /// after the last event it gave).
    pub async fn next(&mut self) -> Result<Option<Streamed>, StoreError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            if let Some(event) = self.page.pop_front() {
                if event.seq <= self.seen {
                    continue;
                }
                self.seen = event.seq;
                if let Some(item) = self.pass(Streamed::Event(event)) {
                    return Ok(Some(item));
                }
                continue;
            }
            if self.cursor < self.stored_through {
                let mut query = EventQuery::after(self.cursor)
                    .through(self.stored_through)
                    .limit(MAX_EVENTS_READ);
                query.task.clone_from(&self.task);
                let page = self.hub.store.events(&self.hub.session, &query).await?;
                self.cursor = match (page.last(), page.len() < MAX_EVENTS_READ) {
                    (Some(last), false) => last.seq,
                    _ => self.stored_through,
                };
                self.page.extend(page);
                continue;
            }
            if let Some(waiting) = self.waiting.take() {
                self.page = waiting;
                continue;
            }
            let Some(live) = &mut self.live else {
                self.ended = true;
                return Ok(None);
            };
            let item = match live.recv().await {
                Ok(item) => Streamed::clone(&item),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.ended = true;
                    return Ok(Some(Streamed::Lagged { after: self.seen }));
                }
                Err(broadcast::error::RecvError::Closed) => {
                    self.ended = true;
                    return Ok(None);
                }
            };
            if let Streamed::Event(event) = &item {
                if event.seq <= self.seen {
                    continue;
                }
                self.seen = event.seq;
            }
            if let Some(item) = self.pass(item) {
                return Ok(Some(item));
            }
        }
    }

    /// `item` if it is of the subscription's task (every item if it has none), noting whether
    /// it ends the subscription.
    fn pass(&mut self, item: Streamed) -> Option<Streamed> {
        let Some(task) = &self.task else {
            return Some(item);
        };
        if item.task().is_some_and(|of| of != task) {
            return None;
        }
        if item.ends(task) {
            self.ended = true;
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use watsmith_agent::{Spent, Stop};

    use super::*;
    use crate::MemoryStore;

    fn stop() -> Event {
        Event::Stopped {
            reason: Stop::Cancelled,
            spent: Spent::default(),
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_never_reads_is_told_it_lagged_and_reads_on_from_where_it_was() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let hub = Hubs::default().get("s", &store);
        hub.begin("1").await.expect("begins");
        let mut slow = hub.subscribe(None, 0);
        let published = SUBSCRIBER_QUEUE as u64 * 2;
        // Publishing never waits for the subscriber.
        for _ in 0..published {
            hub.publish("1", &stop());
        }
        assert_eq!(
            slow.next().await.expect("reads"),
            Some(Streamed::Lagged { after: 0 })
        );
        assert_eq!(slow.next().await.expect("reads"), None, "it ends");

        // Half are stored, half still wait: read again, it gets them all, once, in order.
        let half: Vec<StoredEvent> = hub
            .lock()
            .waiting
            .iter()
            .take(SUBSCRIBER_QUEUE)
            .cloned()
            .collect();
        store.append_events("s", &half).await.expect("stored");
        hub.lock().waiting.drain(..SUBSCRIBER_QUEUE);
        let mut again = hub.subscribe(None, 0);
        hub.publish("1", &stop());
        hub.end("1", None);
        let mut numbers = Vec::new();
        while let Some(item) = again.next().await.expect("reads") {
            match item {
                Streamed::Event(event) => numbers.push(event.seq),
                Streamed::Ended { .. } => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(numbers, (1..=published + 1).collect::<Vec<_>>());

        hub.flush().await.expect("flushes");
        assert_eq!(store.last_event("s").await.expect("last"), published + 1);
        assert!(hub.lock().waiting.is_empty());
    }

    #[tokio::test]
    async fn events_left_waiting_by_a_failed_store_follow_what_another_holder_stored_since() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let hub = Hubs::default().get("s", &store);
        hub.begin("1").await.expect("begins");
        hub.publish("1", &stop());
        // Another process stores two events of its own task meanwhile.
        let other = |seq| StoredEvent {
            seq,
            task: "2".to_owned(),
            line: TranscriptLine {
                ts_ms: 0,
                event: stop(),
            },
        };
        store
            .append_events("s", &[other(1), other(2)])
            .await
            .expect("stored");
        hub.begin("3").await.expect("begins");
        hub.publish("3", &stop());
        hub.flush().await.expect("flushes");
        let stored = store
            .events("s", &EventQuery::default())
            .await
            .expect("reads");
        let tasks: Vec<(u64, &str)> = stored.iter().map(|e| (e.seq, e.task.as_str())).collect();
        assert_eq!(tasks, [(1, "2"), (2, "2"), (3, "1"), (4, "3")]);
    }

    #[tokio::test]
    async fn an_idle_session_keeps_no_live_channel() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let hub = Hubs::default().get("s", &store);
        drop(hub.subscribe(None, 0));
        hub.begin("1").await.expect("begins");
        hub.publish("1", &stop());
        assert!(hub.lock().live.is_none());
    }
}
