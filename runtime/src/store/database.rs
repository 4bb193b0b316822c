//! The embedded store: one SQLite database file (SQLite compiled in, through `rusqlite` with its
//! `bundled` feature).
//!
//! Why SQLite and not `redb`: the store must be shared by processes (two `watsmith exec` runs
//! incrementing the same counter at once, a chat and a server on one file), and `redb` takes an
//! exclusive lock on its file, so a second process cannot open it at all. SQLite was made for
//! this: writers are serialised by its file locks and wait for each other (a busy timeout),
//! readers never block the writer in WAL mode, and a transaction is atomic whatever happens to
//! the process. It is also the format every operator already has tools for.
//!
//! How the requirements are met:
//!
//! - Nothing lost between processes: every kv call is one transaction, and one that writes
//!   begins `IMMEDIATE` (it takes the write lock before reading), so a read-modify-write such as
//!   `incr` is never interleaved with another process's.
//! - `kill -9` during a write: the change is in the write-ahead log or it is not; the database is
//!   never half written, and the last process to close it folds the log back in and removes it
//!   (`-wal` and `-shm` exist only while the store is open). Committed transactions survive the
//!   death of the process; with `synchronous = NORMAL` (the usual WAL setting, no fsync per
//!   commit) a power loss may lose the last ones, never the file.
//! - Nothing lost between two processes resuming one session: a session has a revision, and a
//!   save must name the revision it loaded ([`StoreError::Changed`] otherwise), so the second
//!   save is refused rather than erasing the first one's task. Revisions are never reused: a
//!   removed (or expired) session leaves a tombstone with its last revision, and one made again
//!   under its name goes on from there, so a save of the removed one is not taken for it.
//! - No executor thread blocked: an async call never waits inside SQLite for the file's lock.
//!   If another process holds it, the call lets the connection go and its task sleeps and tries
//!   again, for at most [`BUSY_TIMEOUT`] or until it is dropped (a run's deadline drops its kv
//!   call); the process's other calls go on meanwhile.
//! - A file that is not a watsmith store (another program's database, random bytes, a newer
//!   format) is refused with an error naming it, and left as it is. The file's identity is
//!   SQLite's `application_id` ([`APPLICATION_ID`]) and its format `user_version`
//!   ([`SCHEMA_VERSION`]).
//! - A store path that is a symbolic link is opened through it (SQLite names its log after the
//!   link's target); the file is written in place, so its permissions and owner are kept. A new
//!   store file is created readable and writable by its owner only (SQLite gives the log the
//!   database's permissions).
//! - An older store, the JSON file of `--kv-file` (`{"format": "watsmith-kv", ...}`), is
//!   imported on first use: its keys go into a new database that replaces the file (through a
//!   link, at the link's target, with the file's permissions), and the JSON is kept beside it as
//!   `FILE.bak` ([`Opened::imported`] says so).
//!
//! Quotas are the engine's ([`KvQuota::admit`]), checked inside the transaction that writes,
//! against a per-namespace count of keys and bytes kept in the same transaction.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use watsmith_engine::capabilities::kv::{counter_sum, counter_value};
use watsmith_engine::{KvError, KvQuota, KvStore};

use super::import::{self, Imported};
use super::{
    EventQuery, SessionRecord, SessionSummary, Store, StoreError, StoredEvent, after_ms,
    new_events, now_ms,
};

/// SQLite's `application_id` of a watsmith store: `WSMT`.
pub const APPLICATION_ID: i32 = 0x5753_4d54;
/// The store's schema version (`user_version`). Version 1 (no `leases` table) is migrated
/// when it is opened.
pub const SCHEMA_VERSION: i32 = 2;
/// How long a writer waits for another process's transaction before it gives up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The first bytes of every SQLite database.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

const SCHEMA: &str = "
    CREATE TABLE kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (namespace, key)
    ) WITHOUT ROWID;
    CREATE TABLE kv_usage (
        namespace TEXT PRIMARY KEY,
        keys INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        revision INTEGER NOT NULL,
        messages INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE events (
        session TEXT NOT NULL,
        seq INTEGER NOT NULL,
        task TEXT NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (session, seq)
    ) WITHOUT ROWID;
";

/// What version 2 added to version 1: the sessions' leases.
const LEASES: &str = "
    CREATE TABLE leases (
        session TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        until_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
";

/// A store in one SQLite file. Cheap to clone (an `Arc`); one connection per process, used by
/// one call at a time. Its async methods never block the executor's thread: a call that finds
/// the file locked by another process sleeps its task between tries ([`BUSY_TIMEOUT`] at most,
/// less if it is dropped).
#[derive(Debug, Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// One connection, taken by one call at a time (an async lock: a call waiting for it
    /// sleeps its task).
    connection: tokio::sync::Mutex<Link>,
    path: PathBuf,
    quota: KvQuota,
}

/// A store opened, and what had to be done first.
#[derive(Debug)]
pub struct Opened {
    /// The store.
    pub database: Database,
    /// The JSON kv file it was imported from, if it was one.
    pub imported: Option<Imported>,
}

impl Database {
    /// Opens the store at `path`, creating it (owner-only) if there is no file, importing it if
    /// it is an older JSON kv file. Errors name the file: a missing directory, a file that is
    /// not a watsmith store (left untouched), a store of another format version.
    pub fn open(path: &Path) -> Result<Opened, StoreError> {
        Self::open_with_quota(path, KvQuota::default())
    }

    /// [`Database::open`] with kv quotas other than the defaults.
    pub fn open_with_quota(path: &Path, quota: KvQuota) -> Result<Opened, StoreError> {
        let location = format!("`{}`", path.display());
        let io = |reason: String| StoreError::Io {
            location: location.clone(),
            reason,
        };
        let mut imported = None;
        // SQLite opens the file by name and would block on a FIFO: what is there must be a
        // regular file, checked on a descriptor opened without blocking.
        match watsmith_engine::file::open_regular(path) {
            Ok(mut file) => {
                let mut head = [0u8; 16];
                let read = read_up_to(&mut file, &mut head).map_err(|e| io(e.to_string()))?;
                let head = &head[..read];
                if import::looks_like_json(head) {
                    imported = import::import(path, quota)?;
                } else if !head.is_empty() && head != SQLITE_HEADER {
                    return Err(StoreError::Foreign {
                        location,
                        reason: "it is not an SQLite database".to_owned(),
                    });
                }
            }
            Err(error) if error.is_not_found() => create(path)?,
            Err(error) => return Err(io(format!("cannot open it: {error}"))),
        }
        let database = Self::connect(path, quota)?;
        Ok(Opened { database, imported })
    }

    /// Connects to the existing file at `path` and checks (or, if empty, writes) its schema.
    pub(super) fn connect(path: &Path, quota: KvQuota) -> Result<Self, StoreError> {
        let location = format!("`{}`", path.display());
        let fail = |error: rusqlite::Error| sqlite_error(&location, &error);
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fail)?;
        let mut link = Link::new(connection, &location)?;
        init(&mut link.sqlite, &location)?;
        Ok(Self {
            inner: Arc::new(Inner {
                connection: tokio::sync::Mutex::new(link),
                path: path.to_path_buf(),
                quota,
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The value under `key` in `namespace`, as the host sees it.
    pub fn value(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let inner = &self.inner;
        kv_sql::get(&inner.lock().sqlite, namespace, key).map_err(|error| inner.kv_error(&error))
    }

    /// Stores `value` under `key` in `namespace` from the host (an import, a fixture), under the
    /// quotas a program's `$kv.set` has.
    pub fn put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        let inner = &self.inner;
        kv_sql::set(
            &mut inner.lock().sqlite,
            &inner.quota,
            namespace,
            key,
            value,
        )
        .map_err(|error| inner.kv_error(&error))?
    }
}

/// Reads as many bytes as fit in `buffer`, or fewer at the end of the file.
fn read_up_to(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut read = 0;
    while read < buffer.len() {
        match file.read(&mut buffer[read..])? {
            0 => break,
            n => read += n,
        }
    }
    Ok(read)
}

/// Creates an empty file at `path`, readable and writable by its owner only; SQLite makes it a
/// database. A file that appeared meanwhile (another process creating the store) is fine.
pub(super) fn create(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Io {
            location: format!("`{}`", path.display()),
            reason: format!("cannot create it: {error}"),
        }),
    }
}

/// Checks the file is a store of this format (before anything is written to it: a foreign file
/// is left exactly as it was), sets the connection up, and writes the schema into an empty
/// database (inside the write lock, so two processes creating it at once agree).
fn init(connection: &mut Connection, location: &str) -> Result<(), StoreError> {
    let fail = |error: rusqlite::Error| sqlite_error(location, &error);
    let identity = |connection: &Connection| -> rusqlite::Result<(i32, i32, i64)> {
        Ok((
            connection.pragma_query_value(None, "application_id", |row| row.get(0))?,
            connection.pragma_query_value(None, "user_version", |row| row.get(0))?,
            connection.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?,
        ))
    };
    let mut found = identity(connection).map_err(fail)?;
    if found.0 == 0 && found.2 > 0 {
        // Tables and no watsmith id: another program's database, or another process creating
        // the store that committed between the reads. Looked at again under the write lock,
        // which waits for that process's transaction to end.
        let settled = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        found = identity(&settled).map_err(fail)?;
        settled.commit().map_err(fail)?;
    }
    let (application_id, version, tables) = found;
    let foreign = |reason: String| StoreError::Foreign {
        location: location.to_owned(),
        reason,
    };
    match (application_id, tables) {
        (0, 0) => {}
        (APPLICATION_ID, _) if version == SCHEMA_VERSION || version == 1 => {}
        (APPLICATION_ID, _) => {
            return Err(foreign(format!(
                "it is a watsmith store of format version {version}; this build reads version {SCHEMA_VERSION}"
            )));
        }
        (0, _) => {
            return Err(foreign(
                "it is another program's SQLite database (it has tables and no watsmith id)"
                    .to_owned(),
            ));
        }
        (other, _) => {
            return Err(foreign(format!(
                "it is another program's SQLite database (application id {other:#x})"
            )));
        }
    }
    // Switching a new file to the write-ahead log needs it to itself for a moment, and SQLite
    // reports a second process doing the same as busy at once, without waiting: try again.
    let started = Instant::now();
    let mut attempt = 0;
    let mode: String = loop {
        match connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(error) if is_busy(&error) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            done => break done.map_err(fail)?,
        }
    };
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Io {
            location: location.to_owned(),
            reason: format!("cannot use a write-ahead log (journal mode {mode})"),
        });
    }
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail)?;
    if application_id == 0 {
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Another process may have written the schema since the first look.
        let (application_id, _, tables) = identity(&transaction).map_err(fail)?;
        if (application_id, tables) == (0, 0) {
            transaction.execute_batch(SCHEMA).map_err(fail)?;
            transaction.execute_batch(LEASES).map_err(fail)?;
            transaction
                .pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(fail)?;
            transaction
                .pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(fail)?;
        }
        transaction.commit().map_err(fail)?;
    } else if version == 1 {
        // Under the write lock: another process may be migrating it too.
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let version: i32 = transaction
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(fail)?;
        if version == 1 {
            transaction.execute_batch(LEASES).map_err(fail)?;
            transaction
                .pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(fail)?;
        }
        transaction.commit().map_err(fail)?;
    }
    Ok(())
}

/// A SQLite error as the store's: a damaged file is `Foreign`, anything else `Io`.
fn sqlite_error(location: &str, error: &rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Foreign {
            location: location.to_owned(),
            reason: format!("it is damaged or not a database ({error})"),
        },
        _ => StoreError::Io {
            location: location.to_owned(),
            reason: error.to_string(),
        },
    }
}

/// The connection, and whether SQLite may wait for the file's lock while it runs a statement.
#[derive(Debug)]
struct Link {
    sqlite: Connection,
    patient: Arc<AtomicBool>,
}

/// Sleeps between tries of a call that found the file locked: SQLite's own steps, in
/// milliseconds.
const BACKOFF_MS: [u64; 8] = [1, 2, 5, 10, 15, 20, 25, 25];

fn backoff(attempt: usize) -> Duration {
    Duration::from_millis(BACKOFF_MS[attempt.min(BACKOFF_MS.len() - 1)])
}

impl Link {
    /// The connection, with a busy handler that waits (up to [`BUSY_TIMEOUT`], sleeping the
    /// thread) only while the link is patient: for the host's own calls (opening, importing,
    /// fixtures), never for an async call, which waits by sleeping its task instead.
    fn new(mut sqlite: Connection, location: &str) -> Result<Self, StoreError> {
        let patient = Arc::new(AtomicBool::new(true));
        let handler_patient = Arc::clone(&patient);
        let mut since = Instant::now();
        sqlite
            .busy_handler(Some(move |attempt: i32| {
                if !handler_patient.load(Ordering::Relaxed) {
                    return false;
                }
                if attempt == 0 {
                    since = Instant::now();
                }
                let waited = since.elapsed();
                if waited >= BUSY_TIMEOUT {
                    return false;
                }
                let step = backoff(usize::try_from(attempt).unwrap_or(0));
                std::thread::sleep(step.min(BUSY_TIMEOUT - waited));
                true
            }))
            .map_err(|error| sqlite_error(location, &error))?;
        Ok(Self { sqlite, patient })
    }

    /// Runs `op` once; if the file is locked by another process it fails at once (busy).
    fn at_once<T>(&mut self, op: impl FnOnce(&mut Connection) -> T) -> T {
        self.patient.store(false, Ordering::Relaxed);
        let done = op(&mut self.sqlite);
        self.patient.store(true, Ordering::Relaxed);
        done
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
}

impl Inner {
    /// The connection, for the host's own calls (not from async code: they may wait for the
    /// file's lock, blocking the thread).
    fn lock(&self) -> tokio::sync::MutexGuard<'_, Link> {
        self.connection.blocking_lock()
    }

    fn location(&self) -> String {
        format!("`{}`", self.path.display())
    }

    fn error(&self, error: &rusqlite::Error) -> StoreError {
        sqlite_error(&self.location(), error)
    }

    fn kv_error(&self, error: &rusqlite::Error) -> KvError {
        KvError::Store(self.error(error).to_string())
    }

    fn record_error(&self, what: &str, reason: impl ToString) -> StoreError {
        StoreError::Record {
            location: self.location(),
            what: what.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// Runs `op` on the connection from async code without ever blocking the executor's thread
    /// for longer than the statements take (a call is a transaction of microseconds). If
    /// another process holds the file's write lock, the call fails at once inside SQLite, the
    /// connection is let go, and the task sleeps and tries again, for up to [`BUSY_TIMEOUT`]:
    /// meanwhile the process's other calls go on, and a caller that gives up (a run that meets
    /// its deadline drops its kv call) ends the wait. `op` may run several times: a try that
    /// finds the file locked did nothing (a writing transaction takes the lock before it
    /// reads).
    async fn call<T>(
        &self,
        op: impl Fn(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let done = self.connection.lock().await.at_once(&op);
            match done {
                Err(error) if is_busy(&error) && started.elapsed() < BUSY_TIMEOUT => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    /// A kv call ([`Inner::call`]), its SQLite errors the kv capability's.
    async fn kv<T>(
        &self,
        op: impl Fn(&mut Connection) -> rusqlite::Result<Result<T, KvError>>,
    ) -> Result<T, KvError> {
        self.call(op).await.map_err(|error| self.kv_error(&error))?
    }

    /// A store call ([`Inner::call`]), its SQLite errors the store's.
    async fn store<T>(
        &self,
        op: impl Fn(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.call(op).await.map_err(|error| self.error(&error))
    }
}

/// Runs `op` in one transaction that takes the write lock first; a refusal rolls it back.
fn write<T>(
    connection: &mut Connection,
    op: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<Result<T, KvError>>,
) -> rusqlite::Result<Result<T, KvError>> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let result = op(&transaction)?;
    if result.is_ok() {
        transaction.commit()?;
    }
    // Dropped without a commit: rolled back.
    Ok(result)
}

/// The namespace's key count and bytes.
fn usage(transaction: &rusqlite::Transaction<'_>, namespace: &str) -> rusqlite::Result<(u64, u64)> {
    Ok(transaction
        .prepare_cached("SELECT keys, bytes FROM kv_usage WHERE namespace = ?1")?
        .query_row([namespace], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })
        .optional()?
        .map_or((0, 0), |(keys, bytes)| (keys as u64, bytes as u64)))
}

/// Stores `value` under `key` within the quota, keeping the namespace's usage.
fn put(
    transaction: &rusqlite::Transaction<'_>,
    quota: &KvQuota,
    namespace: &str,
    key: &str,
    value: &[u8],
) -> rusqlite::Result<Result<(), KvError>> {
    let old: Option<i64> = transaction
        .prepare_cached("SELECT length(value) FROM kv WHERE namespace = ?1 AND key = ?2")?
        .query_row([namespace, key], |row| row.get(0))
        .optional()?;
    let old = old.map(|len| len as usize);
    let (keys, bytes) = usage(transaction, namespace)?;
    if let Err(refused) = quota.admit(keys, bytes, key, old, value.len()) {
        return Ok(Err(refused));
    }
    transaction
        .prepare_cached("INSERT OR REPLACE INTO kv (namespace, key, value) VALUES (?1, ?2, ?3)")?
        .execute(params![namespace, key, value])?;
    let added_keys = i64::from(old.is_none());
    let added_bytes =
        (key.len() + value.len()) as i64 - old.map_or(0, |len| (key.len() + len) as i64);
    transaction
        .prepare_cached(
            "INSERT INTO kv_usage (namespace, keys, bytes) VALUES (?1, ?2, ?3)
             ON CONFLICT (namespace) DO UPDATE SET keys = keys + ?2, bytes = bytes + ?3",
        )?
        .execute(params![namespace, added_keys, added_bytes])?;
    Ok(Ok(()))
}

/// The kv functions, each one transaction of microseconds.
mod kv_sql {
    use super::*;

    pub(super) fn get(
        connection: &Connection,
        namespace: &str,
        key: &str,
    ) -> rusqlite::Result<Option<Vec<u8>>> {
        connection
            .prepare_cached("SELECT value FROM kv WHERE namespace = ?1 AND key = ?2")?
            .query_row([namespace, key], |row| row.get(0))
            .optional()
    }

    pub(super) fn set(
        connection: &mut Connection,
        quota: &KvQuota,
        namespace: &str,
        key: &str,
        value: &[u8],
    ) -> rusqlite::Result<Result<(), KvError>> {
        write(connection, |transaction| {
            put(transaction, quota, namespace, key, value)
        })
    }

    pub(super) fn delete(
        connection: &mut Connection,
        namespace: &str,
        key: &str,
    ) -> rusqlite::Result<Result<bool, KvError>> {
        write(connection, |transaction| {
            let old: Option<i64> = transaction
                .prepare_cached("SELECT length(value) FROM kv WHERE namespace = ?1 AND key = ?2")?
                .query_row([namespace, key], |row| row.get(0))
                .optional()?;
            let Some(old) = old else {
                return Ok(Ok(false));
            };
            transaction
                .prepare_cached("DELETE FROM kv WHERE namespace = ?1 AND key = ?2")?
                .execute([namespace, key])?;
            transaction
                .prepare_cached(
                    "UPDATE kv_usage SET keys = keys - 1, bytes = bytes - ?2 WHERE namespace = ?1",
                )?
                .execute(params![namespace, key.len() as i64 + old])?;
            transaction
                .prepare_cached("DELETE FROM kv_usage WHERE namespace = ?1 AND keys = 0")?
                .execute([namespace])?;
            Ok(Ok(true))
        })
    }

    pub(super) fn has(
        connection: &Connection,
        namespace: &str,
        key: &str,
    ) -> rusqlite::Result<bool> {
        connection
            .prepare_cached("SELECT 1 FROM kv WHERE namespace = ?1 AND key = ?2")?
            .exists([namespace, key])
    }

    pub(super) fn list(
        connection: &Connection,
        namespace: &str,
        prefix: &str,
    ) -> rusqlite::Result<Vec<String>> {
        // Keys are compared as bytes (SQLite's BINARY collation), the order of Rust's strings:
        // the keys with the prefix are a run starting at the prefix itself.
        let mut statement = connection
            .prepare_cached("SELECT key FROM kv WHERE namespace = ?1 AND key >= ?2 ORDER BY key")?;
        let mut rows = statement.query([namespace, prefix])?;
        let mut keys = Vec::new();
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            if !key.starts_with(prefix) {
                break;
            }
            keys.push(key);
        }
        Ok(keys)
    }

    pub(super) fn incr(
        connection: &mut Connection,
        quota: &KvQuota,
        namespace: &str,
        key: &str,
        delta: i64,
    ) -> rusqlite::Result<Result<i64, KvError>> {
        write(connection, |transaction| {
            let current: Option<Vec<u8>> = transaction
                .prepare_cached("SELECT value FROM kv WHERE namespace = ?1 AND key = ?2")?
                .query_row([namespace, key], |row| row.get(0))
                .optional()?;
            let sum = match counter_value(key, current.as_deref())
                .and_then(|current| counter_sum(current, delta))
            {
                Ok(sum) => sum,
                Err(refused) => return Ok(Err(refused)),
            };
            Ok(put(
                transaction,
                quota,
                namespace,
                key,
                sum.to_string().as_bytes(),
            )?
            .map(|()| sum))
        })
    }
}

#[async_trait::async_trait]
impl KvStore for Database {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.inner
            .kv(|connection| kv_sql::get(connection, namespace, key).map(Ok))
            .await
    }

    async fn set(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        let quota = self.inner.quota;
        self.inner
            .kv(|connection| kv_sql::set(connection, &quota, namespace, key, value))
            .await
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<bool, KvError> {
        self.inner
            .kv(|connection| kv_sql::delete(connection, namespace, key))
            .await
    }

    async fn has(&self, namespace: &str, key: &str) -> Result<bool, KvError> {
        self.inner
            .kv(|connection| kv_sql::has(connection, namespace, key).map(Ok))
            .await
    }

    async fn list(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, KvError> {
        self.inner
            .kv(|connection| kv_sql::list(connection, namespace, prefix).map(Ok))
            .await
    }

    async fn incr(&self, namespace: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        let quota = self.inner.quota;
        self.inner
            .kv(|connection| kv_sql::incr(connection, &quota, namespace, key, delta))
            .await
    }

    fn describe(&self) -> String {
        format!("the store {}", self.inner.location())
    }
}

/// A session row's revision and expiry.
fn session_row(
    transaction: &rusqlite::Transaction<'_>,
    id: &str,
) -> rusqlite::Result<Option<(String, u64, u64)>> {
    transaction
        .query_row(
            "SELECT record, revision, expires_ms FROM sessions WHERE id = ?1",
            [id],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get::<_, i64>(1)? as u64,
                    row.get::<_, i64>(2)? as u64,
                ))
            },
        )
        .optional()
}

/// The number of the session's last stored event (0: none).
fn last_event(connection: &Connection, session: &str) -> rusqlite::Result<u64> {
    let last: i64 = connection.query_row(
        "SELECT coalesce(max(seq), 0) FROM events WHERE session = ?1",
        [session],
        |row| row.get(0),
    )?;
    Ok(last as u64)
}

/// Removes a session and its events, leaving a tombstone: its row, without a record (`''`),
/// expired, keeping the last revision, so that a session made again under the name starts after
/// it and a save of the removed one (at a revision it had) is refused, not taken for the new
/// one's. A tombstone is never loaded or listed (it has expired).
fn delete_session(transaction: &rusqlite::Transaction<'_>, id: &str) -> rusqlite::Result<bool> {
    let deleted = transaction.execute(
        "UPDATE sessions SET record = '', messages = 0, expires_ms = 0
         WHERE id = ?1 AND record != ''",
        [id],
    )?;
    transaction.execute("DELETE FROM events WHERE session = ?1", [id])?;
    Ok(deleted > 0)
}

#[async_trait::async_trait]
impl Store for Database {
    fn kv(&self) -> Arc<dyn KvStore> {
        Arc::new(self.clone())
    }

    async fn load_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let found = self
            .inner
            .store(|connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let found = match session_row(&transaction, id)? {
                    Some((_, _, expires)) if expires <= now_ms() => {
                        delete_session(&transaction, id)?;
                        None
                    }
                    Some((record, revision, _)) => Some((record, revision)),
                    None => None,
                };
                transaction.commit()?;
                Ok(found)
            })
            .await?;
        let Some((json, revision)) = found else {
            return Ok(None);
        };
        let mut record: SessionRecord = serde_json::from_str(&json)
            .map_err(|e| self.inner.record_error(&format!("the session {id:?}"), e))?;
        record.revision = revision;
        Ok(Some(record))
    }

    async fn save_session(&self, record: &SessionRecord) -> Result<u64, StoreError> {
        let json = serde_json::to_string(record).map_err(|e| {
            self.inner
                .record_error(&format!("the session {:?}", record.id), e)
        })?;
        let (messages, updated, expires) = (
            record.messages.len() as i64,
            record.updated_ms as i64,
            record.expires_ms as i64,
        );
        self.inner
            .store(|connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // A tombstone is no session, but its revision is where a new one starts.
                let (stored, last) = match session_row(&transaction, &record.id)? {
                    Some((json, revision, _)) if json.is_empty() => (None, revision),
                    Some((_, revision, _)) => (Some(revision), revision),
                    None => (None, 0),
                };
                if let Err(changed) = record.may_replace(stored) {
                    return Ok(Err(changed));
                }
                let revision = last + 1;
                if stored.is_none() {
                    // A new session's transcript is its own: events a removed one of its name
                    // was given after it went (appended just after its last save) are dropped.
                    transaction.execute("DELETE FROM events WHERE session = ?1", [&record.id])?;
                }
                transaction.execute(
                    "INSERT OR REPLACE INTO sessions
                     (id, record, revision, messages, updated_ms, expires_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![record.id, json, revision as i64, messages, updated, expires],
                )?;
                transaction.commit()?;
                Ok(Ok(revision))
            })
            .await?
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        self.inner
            .store(|connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let deleted = delete_session(&transaction, id)?;
                transaction.commit()?;
                Ok(deleted)
            })
            .await
    }

    async fn list_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        self.inner
            .store(|connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT id, messages, updated_ms FROM sessions WHERE expires_ms > ?1
                     ORDER BY updated_ms DESC, id",
                )?;
                let rows = statement.query_map([now_ms() as i64], |row| {
                    Ok(SessionSummary {
                        id: row.get(0)?,
                        messages: row.get::<_, i64>(1)? as usize,
                        updated_ms: row.get::<_, i64>(2)? as u64,
                    })
                })?;
                rows.collect()
            })
            .await
    }

    async fn append_events(&self, session: &str, events: &[StoredEvent]) -> Result<(), StoreError> {
        let encoded = events
            .iter()
            .map(|event| serde_json::to_string(&event.line).map(|line| (event, line)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.inner.record_error("an event", e))?;
        self.inner
            .store(|connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let last = last_event(&transaction, session)?;
                let skipped = events.len()
                    - match new_events(session, last, events) {
                        Ok(new) => new.len(),
                        Err(gap) => return Ok(Err(gap)),
                    };
                {
                    let mut insert = transaction.prepare_cached(
                        "INSERT INTO events (session, seq, task, line) VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    for (event, line) in &encoded[skipped..] {
                        insert.execute(params![session, event.seq as i64, event.task, line])?;
                    }
                }
                transaction.commit()?;
                Ok(Ok(()))
            })
            .await?
    }

    async fn events(
        &self,
        session: &str,
        query: &EventQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let through = query.through.map_or(i64::MAX, |through| {
            i64::try_from(through).unwrap_or(i64::MAX)
        });
        let after = i64::try_from(query.after).unwrap_or(i64::MAX);
        let limit = i64::try_from(query.capped()).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String, String)> = self
            .inner
            .store(|connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT seq, task, line FROM events
                     WHERE session = ?1 AND seq > ?2 AND seq <= ?3 AND (?4 IS NULL OR task = ?4)
                     ORDER BY seq LIMIT ?5",
                )?;
                let rows = statement
                    .query_map(params![session, after, through, query.task, limit], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?;
                rows.collect()
            })
            .await?;
        rows.into_iter()
            .map(|(seq, task, line)| {
                Ok(StoredEvent {
                    seq: seq as u64,
                    line: serde_json::from_str(&line).map_err(|e| {
                        self.inner
                            .record_error(&format!("event {seq} of the session {session:?}"), e)
                    })?,
                    task,
                })
            })
            .collect()
    }

    async fn last_event(&self, session: &str) -> Result<u64, StoreError> {
        self.inner
            .store(|connection| last_event(connection, session))
            .await
    }

    async fn lease_session(&self, id: &str, holder: &str, ttl: Duration) -> Result<(), StoreError> {
        let held = self
            .inner
            .store(|connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_ms();
                let other: Option<(String, i64)> = transaction
                    .query_row(
                        "SELECT holder, until_ms FROM leases WHERE session = ?1",
                        [id],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()?;
                if let Some((other, until)) = other
                    && other != holder
                    && until as u64 > now
                {
                    return Ok(Some(until as u64));
                }
                transaction.execute(
                    "INSERT OR REPLACE INTO leases (session, holder, until_ms) VALUES (?1, ?2, ?3)",
                    params![id, holder, after_ms(now, ttl) as i64],
                )?;
                transaction.commit()?;
                Ok(None)
            })
            .await?;
        match held {
            Some(until_ms) => Err(StoreError::Leased {
                session: id.to_owned(),
                until_ms,
            }),
            None => Ok(()),
        }
    }

    async fn release_session(&self, id: &str, holder: &str) -> Result<bool, StoreError> {
        self.inner
            .store(|connection| {
                let released = connection.execute(
                    "DELETE FROM leases WHERE session = ?1 AND holder = ?2",
                    [id, holder],
                )?;
                Ok(released > 0)
            })
            .await
    }

    async fn remove_expired(&self) -> Result<usize, StoreError> {
        self.inner
            .store(|connection| {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_ms() as i64;
                let expired: Vec<String> = {
                    let mut statement = transaction.prepare_cached(
                        "SELECT id FROM sessions WHERE expires_ms <= ?1 AND record != ''",
                    )?;
                    let rows = statement.query_map([now], |row| row.get(0))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                for id in &expired {
                    delete_session(&transaction, id)?;
                }
                transaction.execute("DELETE FROM leases WHERE until_ms <= ?1", [now])?;
                transaction.commit()?;
                Ok(expired.len())
            })
            .await
    }

    fn describe(&self) -> String {
        format!("the store {}", self.inner.location())
    }
}
