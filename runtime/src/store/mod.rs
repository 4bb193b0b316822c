//! The store: what outlives a run, a task and a process. The kv capability's namespaces,
//! sessions (their history, kv namespace, model, policy and expiry) and transcripts (every event
//! of every task of a session).
//!
//! [`Store`] is the interface; [`Database`] keeps it in one SQLite file that several processes
//! may share, and [`MemoryStore`] in the process (a run or a chat that keeps nothing). A
//! networked store implements the same trait. Every method is atomic on its own, and the kv part
//! is the engine's [`KvStore`], so programs reach it through their grant.

mod database;
mod import;
mod memory;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use watsmith_agent::{Message, TranscriptLine};
use watsmith_engine::{KvStore, LimitsSpec, PolicySpec};

pub use self::database::{APPLICATION_ID, BUSY_TIMEOUT, Database, Opened, SCHEMA_VERSION};
pub use self::import::{Imported, MAX_IMPORT_BYTES};
pub use self::memory::MemoryStore;

/// How long a session is kept after its last use, unless configured otherwise.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How long a task's lease on its session lasts unless renewed (renewed every third of it while
/// the task runs), unless configured otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The version of the records' JSON form ([`SessionRecord`], [`TranscriptLine`]) this build
/// writes and reads; a store holding another is refused, not misread.
pub const RECORD_VERSION: u32 = 1;

/// A session as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRecord {
    /// The session's name, unique in the store.
    pub id: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// The kv namespace its programs use.
    pub kv_namespace: String,
    /// The model it talks to.
    pub model: Option<ModelRecord>,
    /// What its programs may do.
    pub policy: PolicySpec,
    /// The limits of each run.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// Tasks run in it so far.
    #[serde(default)]
    pub tasks: u64,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When it was last saved.
    pub updated_ms: u64,
    /// When it expires unless saved again (a sliding expiry).
    pub expires_ms: u64,
    /// How many times a session of this name has been saved: 0 for a session not yet in the
    /// store. Never reused: a session made again under the name of one removed (or expired)
    /// goes on from the removed one's, so that a save of the removed one is not taken for the
    /// new one's. The store keeps it (it is not part of the record's JSON) and a save must name
    /// the revision it loaded ([`Store::save_session`]).
    #[serde(skip)]
    pub revision: u64,
}

impl SessionRecord {
    /// Whether saving this record may replace what the store holds, the session at revision
    /// `stored` (`None`: it holds none): only if that is the revision this record was loaded at
    /// (0: created here), else [`StoreError::Changed`].
    pub fn may_replace(&self, stored: Option<u64>) -> Result<(), StoreError> {
        if stored.unwrap_or(0) == self.revision {
            Ok(())
        } else {
            Err(StoreError::Changed {
                session: self.id.clone(),
                loaded: self.revision,
                now: stored,
            })
        }
    }
}

/// The model of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRecord {
    /// The provider's name (`openai`, `anthropic`, `ollama`, `replay`).
    pub provider: String,
    /// The model's name at the provider.
    pub model: String,
}

/// One session in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// Its name.
    pub id: String,
    /// Its number of messages.
    pub messages: usize,
    /// When it was last saved, in milliseconds since the Unix epoch.
    pub updated_ms: u64,
}

/// A stored event: its number in the session (from 1, increasing), its task and the line.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Its number in the session.
    pub seq: u64,
    /// The task it belongs to.
    pub task: String,
    /// The event and when it happened.
    pub line: TranscriptLine,
}

/// Which of a session's stored events to read: those numbered after `after` up to `through`,
/// of `task` only if given, at most `limit` of them (a reader pages on from the last it got).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Only this task's events; `None`: every task's.
    pub task: Option<String>,
    /// Events numbered after this (0: from the first).
    pub after: u64,
    /// Events numbered up to this one, included; `None`: to the last.
    pub through: Option<u64>,
    /// At most this many; at most [`MAX_EVENTS_READ`] are read at once whatever it says.
    pub limit: usize,
}

/// The most events one [`Store::events`] call reads.
pub const MAX_EVENTS_READ: usize = 1000;

impl Default for EventQuery {
    /// Every event of every task, the first [`MAX_EVENTS_READ`].
    fn default() -> Self {
        Self::after(0)
    }
}

impl EventQuery {
    /// The events after `after`, of every task, up to [`MAX_EVENTS_READ`] of them.
    pub fn after(after: u64) -> Self {
        Self {
            task: None,
            after,
            through: None,
            limit: MAX_EVENTS_READ,
        }
    }

    /// Those of `task` only.
    #[must_use]
    pub fn of_task(mut self, task: impl Into<String>) -> Self {
        self.task = Some(task.into());
        self
    }

    /// Those numbered up to `through`, included.
    #[must_use]
    pub fn through(mut self, through: u64) -> Self {
        self.through = Some(through);
        self
    }

    /// At most `limit` of them.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// How many to read at most: the limit, capped at [`MAX_EVENTS_READ`].
    pub fn capped(&self) -> usize {
        self.limit.min(MAX_EVENTS_READ)
    }

    /// Whether `event` is one the query asks for (the limit aside).
    pub fn matches(&self, event: &StoredEvent) -> bool {
        event.seq > self.after
            && self.through.is_none_or(|through| event.seq <= through)
            && self.task.as_deref().is_none_or(|task| event.task == task)
    }
}

/// The events of `events` that are new to a transcript whose last stored event is `last`: those
/// numbered after it, which must follow it without a gap ([`Store::append_events`]).
pub(crate) fn new_events<'a>(
    session: &str,
    last: u64,
    events: &'a [StoredEvent],
) -> Result<&'a [StoredEvent], StoreError> {
    let new = &events[events.partition_point(|event| event.seq <= last)..];
    for (expected, event) in (last + 1..).zip(new) {
        if event.seq != expected {
            return Err(StoreError::EventGap {
                session: session.to_owned(),
                expected,
                got: event.seq,
            });
        }
    }
    Ok(new)
}

/// The store failed or refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store's file is not one this build can use: another program's database, a damaged
    /// one, another format version. Never overwritten.
    #[error("{location} is not a watsmith store this build can use: {reason}")]
    Foreign {
        /// The file.
        location: String,
        /// What it is instead.
        reason: String,
    },
    /// The store could not be read or written.
    #[error("the store {location}: {reason}")]
    Io {
        /// The file or server.
        location: String,
        /// What failed.
        reason: String,
    },
    /// The session was saved (or removed) by someone else since it was loaded: saving it would
    /// erase what they did. Load it again.
    #[error(
        "the session {session:?} was changed by another process since it was loaded (revision {loaded}, now {}); resume it again to go on",
        now.map_or_else(|| "removed".to_owned(), |now| now.to_string())
    )]
    Changed {
        /// The session.
        session: String,
        /// The revision it was loaded at (0: created here).
        loaded: u64,
        /// The store's revision (`None`: no longer there).
        now: Option<u64>,
    },
    /// Another holder (a task in this process or in another sharing the store) holds the
    /// session's lease: it is running a task. Try again when that ends.
    #[error(
        "the session {session:?} is running a task (its lease is held until {until_ms} ms since the Unix epoch, renewed while the task runs); try again when it ends"
    )]
    Leased {
        /// The session.
        session: String,
        /// When the lease runs out unless renewed, in milliseconds since the Unix epoch.
        until_ms: u64,
    },
    /// Events appended out of order: the session's transcript goes on from `expected`. Another
    /// holder wrote events since this one numbered its own, or the session was removed.
    #[error(
        "the events of the session {session:?} go on from number {expected}, not {got}: another process wrote to it, or it was removed"
    )]
    EventGap {
        /// The session.
        session: String,
        /// The number the next event must have.
        expected: u64,
        /// The number it had.
        got: u64,
    },
    /// A record could not be read back.
    #[error("the store {location} holds a record this build cannot read ({what}): {reason}")]
    Record {
        /// The file or server.
        location: String,
        /// Which record.
        what: String,
        /// Why.
        reason: String,
    },
}

/// Where everything that outlives a run is kept. See the [module documentation](self).
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The kv capability's namespaces.
    fn kv(&self) -> Arc<dyn KvStore>;

    /// The session `id`, unless it does not exist or has expired (an expired one is removed).
    async fn load_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Creates a session (its `revision` 0) or replaces the one at `record.revision`, and gives
    /// its new revision. A session that was saved or removed since (its revision is not the
    /// record's) is left as it is: [`StoreError::Changed`].
    async fn save_session(&self, record: &SessionRecord) -> Result<u64, StoreError>;

    /// Removes a session and its events; whether it existed.
    async fn delete_session(&self, id: &str) -> Result<bool, StoreError>;

    /// The sessions that have not expired, most recently saved first.
    async fn list_sessions(&self) -> Result<Vec<SessionSummary>, StoreError>;

    /// Appends events to the session's transcript, each with its number: the holder of the
    /// session's lease numbers them, following the last one stored ([`Store::last_event`]).
    /// Events numbered at or below the last one stored are taken as stored already (a retry
    /// of an append whose answer was lost; the lease holder is the only writer) and skipped.
    ///
    /// # Errors
    /// [`StoreError::EventGap`] when the first new event does not follow the last stored one
    /// (another holder wrote meanwhile, or the session was removed): nothing is appended.
    async fn append_events(&self, session: &str, events: &[StoredEvent]) -> Result<(), StoreError>;

    /// The session's events the query asks for, in order of their numbers.
    async fn events(
        &self,
        session: &str,
        query: &EventQuery,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// The number of the session's last stored event (0: none).
    async fn last_event(&self, session: &str) -> Result<u64, StoreError>;

    /// Takes the lease of session `id` for `holder` for `ttl` from now (the store's clock), or
    /// renews it: granted when no lease is held, when the one held has run out (its holder
    /// crashed or hung), or when `holder` holds it. While another holder's lease runs, refused
    /// at once with [`StoreError::Leased`]. The session need not exist yet (a lease guards
    /// its creation too).
    async fn lease_session(&self, id: &str, holder: &str, ttl: Duration) -> Result<(), StoreError>;

    /// Gives the lease of session `id` back if `holder` holds it; whether it did.
    async fn release_session(&self, id: &str, holder: &str) -> Result<bool, StoreError>;

    /// Removes every session that has expired (with its events), and every lease that has run
    /// out; how many sessions. The store's own clock decides.
    async fn remove_expired(&self) -> Result<usize, StoreError>;

    /// What the store is, for messages: `the database /home/me/.local/share/watsmith/watsmith.db`.
    fn describe(&self) -> String;
}

/// Milliseconds `duration` from `now_ms`, saturating.
pub(crate) fn after_ms(now_ms: u64, duration: Duration) -> u64 {
    now_ms.saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
