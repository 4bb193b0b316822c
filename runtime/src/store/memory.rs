//! A store in the process's memory: what a run or a chat uses when it keeps nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use watsmith_agent::TranscriptLine;
use watsmith_engine::{KvStore, MemoryKv};

use super::{SessionRecord, SessionSummary, Store, StoreError, StoredEvent, after_ms, now_ms};

/// Sessions, events and kv namespaces in memory, gone with the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    kv: Arc<MemoryKv>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sessions: HashMap<String, SessionRecord>,
    events: HashMap<String, Vec<StoredEvent>>,
    /// The last revision of each session removed (or expired), where one made again under its
    /// name starts: a save of the removed one is then refused, not taken for the new one's.
    removed: HashMap<String, u64>,
    /// Each leased session's holder and when its lease runs out (ms since the Unix epoch).
    leases: HashMap<String, (String, u64)>,
}

impl State {
    fn remove(&mut self, id: &str) -> bool {
        self.events.remove(id);
        match self.sessions.remove(id) {
            Some(record) => {
                self.removed.insert(id.to_owned(), record.revision);
                true
            }
            None => false,
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The kv namespaces, as the host sees them.
    pub fn kv_store(&self) -> &MemoryKv {
        &self.kv
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the maps consistent: a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    fn kv(&self) -> Arc<dyn KvStore> {
        self.kv.clone()
    }

    async fn load_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let mut state = self.lock();
        match state.sessions.get(id) {
            Some(record) if record.expires_ms <= now_ms() => {
                state.remove(id);
                Ok(None)
            }
            found => Ok(found.cloned()),
        }
    }

    async fn save_session(&self, record: &SessionRecord) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let stored = state.sessions.get(&record.id).map(|stored| stored.revision);
        record.may_replace(stored)?;
        let last = match stored {
            Some(revision) => revision,
            None => {
                // A new session's transcript is its own (see the database's).
                state.events.remove(&record.id);
                state.removed.get(&record.id).copied().unwrap_or(0)
            }
        };
        let mut saved = record.clone();
        saved.revision = last + 1;
        let revision = saved.revision;
        state.sessions.insert(record.id.clone(), saved);
        Ok(revision)
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().remove(id))
    }

    async fn list_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        let now = now_ms();
        let mut sessions: Vec<SessionSummary> = self
            .lock()
            .sessions
            .values()
            .filter(|record| record.expires_ms > now)
            .map(|record| SessionSummary {
                id: record.id.clone(),
                messages: record.messages.len(),
                updated_ms: record.updated_ms,
            })
            .collect();
        sessions.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then(a.id.cmp(&b.id)));
        Ok(sessions)
    }

    async fn append_events(
        &self,
        session: &str,
        task: &str,
        lines: &[TranscriptLine],
    ) -> Result<Vec<u64>, StoreError> {
        let mut state = self.lock();
        let events = state.events.entry(session.to_owned()).or_default();
        let first = events.last().map_or(1, |event| event.seq + 1);
        let mut numbers = Vec::with_capacity(lines.len());
        for (offset, line) in lines.iter().enumerate() {
            let seq = first + offset as u64;
            events.push(StoredEvent {
                seq,
                task: task.to_owned(),
                line: line.clone(),
            });
            numbers.push(seq);
        }
        Ok(numbers)
    }

    async fn events(
        &self,
        session: &str,
        task: Option<&str>,
        after: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .lock()
            .events
            .get(session)
            .map(|events| {
                events
                    .iter()
                    .filter(|event| event.seq > after && task.is_none_or(|t| event.task == t))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn lease_session(
        &self,
        id: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut state = self.lock();
        match state.leases.get(id) {
            Some((other, until)) if other != holder && *until > now => Err(StoreError::Leased {
                session: id.to_owned(),
                until_ms: *until,
            }),
            _ => {
                state
                    .leases
                    .insert(id.to_owned(), (holder.to_owned(), after_ms(now, ttl)));
                Ok(())
            }
        }
    }

    async fn release_session(&self, id: &str, holder: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let held = state
            .leases
            .get(id)
            .is_some_and(|(other, _)| other == holder);
        if held {
            state.leases.remove(id);
        }
        Ok(held)
    }

    async fn remove_expired(&self) -> Result<usize, StoreError> {
        let now = now_ms();
        let mut state = self.lock();
        let expired: Vec<String> = state
            .sessions
            .values()
            .filter(|record| record.expires_ms <= now)
            .map(|record| record.id.clone())
            .collect();
        for id in &expired {
            state.remove(id);
        }
        state.leases.retain(|_, (_, until)| *until > now);
        Ok(expired.len())
    }

    fn describe(&self) -> String {
        "the in-memory store".to_owned()
    }
}
