//! `kv`: a key-value store shared by the runs of an engine, one namespace per grant.
//!
//! A run sees exactly one namespace, named by its grant ([`KvGrant`]; a plain
//! `Policy::allow("kv")` gets [`KvGrant::DEFAULT_NAMESPACE`]), and can never name another: the
//! namespace is not an argument of any function. Keys are UTF-8 text; values are the bytes of a
//! str or bytes value, returned as they were stored (the program declares which it expects).
//!
//! # Quotas
//!
//! Keys are 1 to [`KV_MAX_KEY_BYTES`] bytes (EBOUND otherwise); values at most
//! [`KV_MAX_VALUE_BYTES`] (ENOMEM); a namespace holds at most [`KV_MAX_KEYS`] keys and
//! [`KV_MAX_NAMESPACE_BYTES`] bytes of keys and values together (ENOMEM). Every call, failed or
//! not, spends one storage operation of the run's budget (`Limits::max_io_ops`); past it the run
//! stops with a `host_budget` trap. A refused call also logs one line saying why.
//!
//! # Persistence
//!
//! [`Kv::in_memory`] (what `Registry::builtin()` registers) lives as long as the engine.
//! [`Kv::open`] backs the store with a JSON file:
//!
//! ```json
//! {
//!   "format": "watsmith-kv",
//!   "version": 1,
//!   "namespaces": {
//!     "default": {
//!       "counter": { "text": "3" },
//!       "blob": { "base64": "AP8=" }
//!     }
//!   }
//! }
//! ```
//!
//! A value is stored as `text` when it is UTF-8 and as standard padded `base64` otherwise. A file
//! that cannot be read or parsed is an error naming the file ([`KvError`]), never an empty store.
//!
//! When to save: writing the whole store after every `set` would cost a full serialisation and
//! an fsync per call (a loop of 1000 sets would take seconds), so changes are batched per run.
//! Each run's kv state remembers whether the run changed the store, and when the run ends (its
//! state is dropped, before `Engine::run` returns its outcome) the store is saved if it did. So a
//! run's changes are on disk when its outcome is returned, with one save per changing run. A save
//! writes a temporary file in the same directory, fsyncs it, renames it over the store and fsyncs
//! the directory: a crash leaves the old file or the new one, never a mix. If a save fails, the
//! changes stay in memory and the next change of any run retries it first; if that fails too,
//! that run stops with a `host` trap naming the file. [`Kv::flush`] saves on demand and reports
//! the error (binaries call it before exiting), and dropping the last handle of the store makes a
//! final attempt.
//!
//! One file belongs to one store: two processes (or two [`Kv`] opened separately) on the same
//! file overwrite each other's saves. The file is created with owner-only permissions.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::doc;
use super::unreadable_str;
use crate::capability::{Capability, FunctionDoc, Grant};
use crate::limits::{KV_MAX_KEY_BYTES, KV_MAX_VALUE_BYTES};
use crate::state::{self, Budget, RunState, status};
use crate::status::StatusCode;

mod store;

use store::{Data, KvStore, Namespace, decode, encode, lock, write_atomically};

/// `kv.get`: the value of a key.
pub const GET: HostFunction = HostFunction {
    module: "kv",
    name: "get",
    params: &[ValType::I32],
    results: &[ValType::I32, ValType::I32],
};
/// `kv.set`: store a value under a key.
pub const SET: HostFunction = HostFunction {
    module: "kv",
    name: "set",
    params: &[ValType::I32, ValType::I32],
    results: &[ValType::I32],
};
/// `kv.delete`: remove a key.
pub const DELETE: HostFunction = HostFunction {
    module: "kv",
    name: "delete",
    params: &[ValType::I32],
    results: &[ValType::I32],
};
/// `kv.has`: whether a key is present.
pub const HAS: HostFunction = HostFunction {
    module: "kv",
    name: "has",
    params: &[ValType::I32],
    results: &[ValType::I32],
};
/// `kv.list`: the keys with a prefix.
pub const LIST: HostFunction = HostFunction {
    module: "kv",
    name: "list",
    params: &[ValType::I32],
    results: &[ValType::I32, ValType::I32],
};
/// `kv.incr`: add to a counter stored as decimal text.
pub const INCR: HostFunction = HostFunction {
    module: "kv",
    name: "incr",
    params: &[ValType::I32, ValType::I64],
    results: &[ValType::I64, ValType::I32],
};

static FUNCTIONS: [FunctionDoc; 6] = [
    doc(
        GET,
        "the value stored under the str KEY as (pointer, status), a str or bytes as it was stored; ENOENT if absent, EBOUND if the key is empty or over 256 bytes",
    ),
    doc(
        SET,
        "store VALUE (a str or bytes) under the str KEY; EBOUND for an empty key or one over 256 bytes, ENOMEM for a value over 1 MiB or a full namespace (10000 keys or 16 MiB)",
    ),
    doc(DELETE, "remove KEY; ENOENT if absent, EBOUND for a bad key"),
    doc(
        HAS,
        "1 if KEY is present, else 0 (also 0 for an empty or over-long key)",
    ),
    doc(
        LIST,
        "the keys starting with the str PREFIX (\"\" for all), sorted, joined by \"\\n\", as (str, status); an empty str if none",
    ),
    doc(
        INCR,
        "add DELTA (i64) to the decimal integer stored under KEY (absent counts as 0), store the sum as text and return (sum, status); EPARSE if the value is not a decimal integer, EBOUND on overflow",
    ),
];

/// The settings of a `kv` grant: the namespace the run sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvGrant {
    /// The namespace. Runs with different namespaces never see each other's keys.
    pub namespace: String,
}

impl KvGrant {
    /// The namespace of a grant without settings (`Policy::allow("kv")`).
    pub const DEFAULT_NAMESPACE: &'static str = "default";

    /// A grant of the namespace `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
        }
    }
}

impl Default for KvGrant {
    fn default() -> Self {
        Self::new(Self::DEFAULT_NAMESPACE)
    }
}

/// The kv store's file could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// The file exists but could not be read.
    #[error("cannot read the kv store `{}`: {source}", path.display())]
    Read {
        /// The store's file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a kv store this version can read.
    #[error("the kv store `{}` is corrupt: {reason}", path.display())]
    Corrupt {
        /// The store's file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A value stored from the host ([`Kv::set`]) was refused, as a program's would be.
    #[error("cannot store the kv key {key:?}: {reason}")]
    Refused {
        /// The key.
        key: String,
        /// Why: the key's or value's size, or the namespace's quota.
        reason: String,
    },
    /// The store could not be written to its file.
    #[error("cannot save the kv store to `{}`: {source}", path.display())]
    Save {
        /// The store's file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The `kv` capability: a handle to one store, cheap to clone.
#[derive(Debug, Clone)]
pub struct Kv {
    store: Arc<KvStore>,
}

impl Kv {
    /// A store in memory only, empty, living as long as its last handle.
    pub fn in_memory() -> Self {
        Self {
            store: Arc::new(KvStore::new(Data::default(), None)),
        }
    }

    /// A store backed by the JSON file at `path`: loaded if it exists, created (empty) if not.
    /// Errors if the file cannot be read or parsed, or cannot be created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, KvError> {
        let path = path.as_ref().to_path_buf();
        let (data, exists) = match std::fs::read(&path) {
            Ok(bytes) => (decode(&path, &bytes)?, true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => (Data::default(), false),
            Err(source) => return Err(KvError::Read { path, source }),
        };
        if !exists {
            // Creating it now reports a missing or read-only directory before any run.
            let bytes = encode(&data).map_err(|source| KvError::Save {
                path: path.clone(),
                source,
            })?;
            write_atomically(&path, &bytes).map_err(|source| KvError::Save {
                path: path.clone(),
                source,
            })?;
        }
        Ok(Self {
            store: Arc::new(KvStore::new(data, Some(path))),
        })
    }

    /// Saves unsaved changes now (a no-op in memory or when nothing changed).
    pub fn flush(&self) -> Result<(), KvError> {
        self.store.flush()
    }

    /// The backing file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.store.file.as_deref()
    }

    /// The value under `key` in `namespace`, as the host sees it (for tests and tools).
    pub fn get(&self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        lock(&self.store.data)
            .namespaces
            .get(namespace)?
            .entries
            .get(key)
            .cloned()
    }

    /// Stores `value` under `key` in `namespace` from the host (to seed a store, for tools and
    /// catalog fixtures), under the limits a program's `$kv.set` has; saved to the store's file
    /// at once when there is one.
    pub fn set(
        &self,
        namespace: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
    ) -> Result<(), KvError> {
        let mut session = KvSession {
            store: Arc::clone(&self.store),
            namespace: namespace.to_owned(),
            changed: false,
        };
        let stored = check_key(key).and_then(|()| session.set(key, value.into()));
        let saved = session.store.flush();
        session.changed = false;
        match stored {
            Ok(()) => saved,
            Err(Failure::Refused { reason, .. }) => Err(KvError::Refused {
                key: key.to_owned(),
                reason,
            }),
            Err(Failure::Host(error)) => Err(error),
        }
    }
}

impl Capability for Kv {
    fn name(&self) -> &'static str {
        "kv"
    }

    fn description(&self) -> &'static str {
        "a key-value store kept across runs, one namespace per grant; every call is one storage operation of the run's budget"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn new_state(&self, grant: &Grant) -> Result<Option<Box<dyn std::any::Any + Send>>, String> {
        let namespace = grant
            .settings::<KvGrant>()
            .map_or(KvGrant::DEFAULT_NAMESPACE, |g| g.namespace.as_str());
        if namespace.is_empty() {
            return Err("the kv namespace of the grant is empty".to_owned());
        }
        Ok(Some(Box::new(KvSession {
            store: Arc::clone(&self.store),
            namespace: namespace.to_owned(),
            changed: false,
        })))
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap(
            "kv",
            "get",
            |mut caller: Caller<'_, RunState>, key: i32| -> wasmtime::Result<(i32, i32)> {
                let key = begin(&mut caller, key)?;
                let value = with_session(&mut caller, |s| key.and_then(|k| s.get(&k)))?;
                let value = settle(&mut caller, "get", value)?;
                state::return_bytes(&mut caller, value)
            },
        )?;
        linker.func_wrap(
            "kv",
            "set",
            |mut caller: Caller<'_, RunState>, key: i32, value: i32| -> wasmtime::Result<i32> {
                let key = begin(&mut caller, key)?;
                let value = state::read_bytes(&mut caller, value)?
                    .map_err(|code| Failure::refused(code, format!("no value at address {value}")));
                let done = with_session(&mut caller, |s| {
                    key.and_then(|k| value.and_then(|v| s.set(&k, v)))
                })?;
                Ok(status(settle(&mut caller, "set", done)?))
            },
        )?;
        linker.func_wrap(
            "kv",
            "delete",
            |mut caller: Caller<'_, RunState>, key: i32| -> wasmtime::Result<i32> {
                let key = begin(&mut caller, key)?;
                let done = with_session(&mut caller, |s| key.and_then(|k| s.delete(&k)))?;
                Ok(status(settle(&mut caller, "delete", done)?))
            },
        )?;
        linker.func_wrap(
            "kv",
            "has",
            |mut caller: Caller<'_, RunState>, key: i32| -> wasmtime::Result<i32> {
                let key = begin(&mut caller, key)?;
                let found = with_session(&mut caller, |s| key.map(|k| s.has(&k)))?;
                Ok(settle(&mut caller, "has", found)?.map_or(0, i32::from))
            },
        )?;
        linker.func_wrap(
            "kv",
            "list",
            |mut caller: Caller<'_, RunState>, prefix: i32| -> wasmtime::Result<(i32, i32)> {
                caller.data_mut().charge(Budget::IoOps, 1)?;
                let prefix = state::read_str(&mut caller, prefix)?
                    .map_err(|code| Failure::refused(code, unreadable_str(prefix, code)));
                let keys = with_session(&mut caller, |s| prefix.map(|p| s.list(&p)))?;
                let keys = settle(&mut caller, "list", keys)?;
                state::return_bytes(&mut caller, keys)
            },
        )?;
        linker.func_wrap(
            "kv",
            "incr",
            |mut caller: Caller<'_, RunState>,
             key: i32,
             delta: i64|
             -> wasmtime::Result<(i64, i32)> {
                let key = begin(&mut caller, key)?;
                let sum = with_session(&mut caller, |s| key.and_then(|k| s.incr(&k, delta)))?;
                Ok(state::pair(settle(&mut caller, "incr", sum)?))
            },
        )?;
        Ok(())
    }
}

/// Why a kv call did not succeed.
#[derive(Debug)]
enum Failure {
    /// The program asked for something it may not have: a status for it, a log line for why.
    Refused { code: StatusCode, reason: String },
    /// The store's file could not be saved: the run stops with a host trap.
    Host(KvError),
}

impl Failure {
    fn refused(code: StatusCode, reason: impl Into<String>) -> Self {
        Self::Refused {
            code,
            reason: reason.into(),
        }
    }
}

/// Spends one storage operation and reads the key argument: a str of 1 to
/// [`KV_MAX_KEY_BYTES`] bytes.
fn begin(caller: &mut Caller<'_, RunState>, ptr: i32) -> wasmtime::Result<Result<String, Failure>> {
    caller.data_mut().charge(Budget::IoOps, 1)?;
    Ok(match state::read_str(caller, ptr)? {
        Err(code) => Err(Failure::refused(code, unreadable_str(ptr, code))),
        Ok(key) => check_key(&key).map(|()| key),
    })
}

/// A key is 1 to [`KV_MAX_KEY_BYTES`] bytes.
fn check_key(key: &str) -> Result<(), Failure> {
    if key.is_empty() {
        Err(Failure::refused(StatusCode::EBOUND, "the key is empty"))
    } else if key.len() > KV_MAX_KEY_BYTES {
        Err(Failure::refused(
            StatusCode::EBOUND,
            format!(
                "the key is {} bytes; keys are at most {KV_MAX_KEY_BYTES}",
                key.len()
            ),
        ))
    } else {
        Ok(())
    }
}

/// Runs `op` on the run's kv state.
fn with_session<T>(
    caller: &mut Caller<'_, RunState>,
    op: impl FnOnce(&mut KvSession) -> T,
) -> wasmtime::Result<T> {
    let session = caller
        .data_mut()
        .state_mut::<KvSession>()
        .ok_or_else(|| wasmtime::format_err!("kv: the run has no kv state"))?;
    Ok(op(session))
}

/// The status of a refused call (logging why), or the trap of a failed save.
fn settle<T>(
    caller: &mut Caller<'_, RunState>,
    function: &str,
    result: Result<T, Failure>,
) -> wasmtime::Result<Result<T, StatusCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(Failure::Refused { code, reason }) => {
            caller.data_mut().log(format!("kv.{function}: {reason}"));
            Ok(Err(code))
        }
        Err(Failure::Host(error)) => Err(error.into()),
    }
}

/// One run's view of the store: its namespace, and whether it changed anything (then the store
/// is saved when the run ends).
#[derive(Debug)]
struct KvSession {
    store: Arc<KvStore>,
    namespace: String,
    changed: bool,
}

impl KvSession {
    fn get(&self, key: &str) -> Result<Vec<u8>, Failure> {
        lock(&self.store.data)
            .namespaces
            .get(&self.namespace)
            .and_then(|ns| ns.entries.get(key))
            .cloned()
            .ok_or_else(|| Failure::refused(StatusCode::ENOENT, format!("no key {key:?}")))
    }

    fn has(&self, key: &str) -> bool {
        lock(&self.store.data)
            .namespaces
            .get(&self.namespace)
            .is_some_and(|ns| ns.entries.contains_key(key))
    }

    fn list(&self, prefix: &str) -> String {
        let data = lock(&self.store.data);
        let Some(namespace) = data.namespaces.get(&self.namespace) else {
            return String::new();
        };
        let keys: Vec<&str> = namespace
            .entries
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|(key, _)| key.as_str())
            .take_while(|key| key.starts_with(prefix))
            .collect();
        keys.join("\n")
    }

    fn set(&mut self, key: &str, value: Vec<u8>) -> Result<(), Failure> {
        if value.len() > KV_MAX_VALUE_BYTES {
            return Err(Failure::refused(
                StatusCode::ENOMEM,
                format!(
                    "the value is {} bytes; values are at most {KV_MAX_VALUE_BYTES}",
                    value.len()
                ),
            ));
        }
        self.change(|namespace| namespace.put(key, value))
    }

    fn delete(&mut self, key: &str) -> Result<(), Failure> {
        self.change(|namespace| {
            namespace
                .remove(key)
                .ok_or_else(|| Failure::refused(StatusCode::ENOENT, format!("no key {key:?}")))
        })
    }

    fn incr(&mut self, key: &str, delta: i64) -> Result<i64, Failure> {
        self.change(|namespace| {
            let current = match namespace.entries.get(key) {
                None => 0,
                Some(value) => std::str::from_utf8(value)
                    .ok()
                    .and_then(|text| text.parse::<i64>().ok())
                    .ok_or_else(|| {
                        Failure::refused(
                            StatusCode::EPARSE,
                            format!("the value of {key:?} is not a decimal integer"),
                        )
                    })?,
            };
            let sum = current.checked_add(delta).ok_or_else(|| {
                Failure::refused(
                    StatusCode::EBOUND,
                    format!("{current} + {delta} overflows an i64"),
                )
            })?;
            namespace.put(key, sum.to_string().into_bytes())?;
            Ok(sum)
        })
    }

    /// Applies a change to the run's namespace; a successful one marks the store changed.
    fn change<T>(
        &mut self,
        op: impl FnOnce(&mut Namespace) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        self.store.recover().map_err(Failure::Host)?;
        let mut data = lock(&self.store.data);
        let namespace = data.namespaces.entry(self.namespace.clone()).or_default();
        let result = op(namespace);
        if namespace.entries.is_empty() {
            data.namespaces.remove(&self.namespace);
        }
        if result.is_ok() {
            data.generation += 1;
            self.changed = true;
        }
        result
    }
}

impl Drop for KvSession {
    fn drop(&mut self) {
        if self.changed {
            // A failure is remembered by the store: the next change retries and reports it.
            let _ = self.store.flush();
        }
    }
}
