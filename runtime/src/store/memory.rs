//! A store in the process's memory: what a run or a chat uses when it keeps nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use watsmith_engine::{KvQuota, KvStore, MemoryKv};

use super::{
    EventQuery, SessionRecord, SessionSummary, Store, StoreError, StoredEvent, after_ms,
    new_events, now_ms,
};

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
    /// An empty store, its kv namespaces under the default quota.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store, each kv namespace under `quota`.
    pub fn with_quota(quota: KvQuota) -> Self {
        Self {
            kv: Arc::new(MemoryKv::with_quota(quota)),
            state: Mutex::default(),
        }
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

    async fn append_events(&self, session: &str, events: &[StoredEvent]) -> Result<(), StoreError> {
        let mut state = self.lock();
        let stored = state.events.entry(session.to_owned()).or_default();
        let last = stored.last().map_or(0, |event| event.seq);
        stored.extend_from_slice(new_events(session, last, events)?);
        Ok(())
    }

    async fn events(
        &self,
        session: &str,
        query: &EventQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let state = self.lock();
        let Some(events) = state.events.get(session) else {
            return Ok(Vec::new());
        };
        let from = events.partition_point(|event| event.seq <= query.after);
        Ok(events[from..]
            .iter()
            .take_while(|event| query.through.is_none_or(|through| event.seq <= through))
            .filter(|event| query.matches(event))
            .take(query.capped())
            .cloned()
            .collect())
    }

    async fn last_event(&self, session: &str) -> Result<u64, StoreError> {
        Ok(self
            .lock()
            .events
            .get(session)
            .and_then(|events| events.last())
            .map_or(0, |event| event.seq))
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
