//! `kv`: a key-value store kept across runs, one namespace per grant.
//!
//! A run sees exactly one namespace, named by its grant ([`KvGrant`]), and can never name
//! another: the namespace is not an argument of any function. Keys are UTF-8 text; values are the
//! bytes of a str or bytes value, returned as they were stored (the program declares which it
//! expects).
//!
//! Where the namespaces live is not the engine's business: a grant carries a [`KvStore`], the
//! interface the engine defines (as `ai` does with its model). [`MemoryKv`] keeps them in the
//! process; the runtime's store keeps them in a database file shared by processes, and a
//! networked store can implement the same trait. Every call of a program is one call of the
//! store, atomic on its own (`incr` is a read-modify-write the store does at once), so two runs,
//! two processes or two nodes incrementing the same counter never lose an increment. The store's
//! functions are async: a program that imports `kv` runs on a fiber, like one that imports
//! `http`.
//!
//! # Quotas
//!
//! Keys are 1 to [`KV_MAX_KEY_BYTES`] bytes (EBOUND otherwise); values at most
//! [`KV_MAX_VALUE_BYTES`] (ENOMEM), both checked here before the store is asked; a namespace
//! holds at most [`KvQuota::max_keys`] keys and [`KvQuota::max_bytes`] bytes of keys and values
//! together (ENOMEM), checked by the store inside the change ([`KvQuota::admit`] is the rule
//! every store applies). Every call, failed or not, spends one storage operation of the run's
//! budget (`Limits::max_io_ops`); past it the run stops with a `host_budget` trap. A refused call
//! also logs one line saying why. A store that fails (its file cannot be written, its server
//! cannot be reached) stops the run with a `host` trap naming the store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::arr::{self, Element};
use super::{doc, returned, unreadable_str};
use crate::capability::{Capability, FunctionDoc};
use crate::limits::{KV_MAX_KEY_BYTES, KV_MAX_KEYS, KV_MAX_NAMESPACE_BYTES, KV_MAX_VALUE_BYTES};
use crate::policy::{Grant, GrantSettings};
use crate::state::{self, Budget, RunState};
use crate::status::StatusCode;

/// The capability's name, its import module.
pub const NAME: &str = "kv";

/// `kv.get`: the value of a key.
pub const GET: HostFunction = HostFunction {
    module: NAME,
    name: "get",
    params: &[ValType::I32],
    results: &[ValType::I32, ValType::I32],
};
/// `kv.set`: store a value under a key.
pub const SET: HostFunction = HostFunction {
    module: NAME,
    name: "set",
    params: &[ValType::I32, ValType::I32],
    results: &[ValType::I32],
};
/// `kv.delete`: remove a key.
pub const DELETE: HostFunction = HostFunction {
    module: NAME,
    name: "delete",
    params: &[ValType::I32],
    results: &[ValType::I32],
};
/// `kv.has`: whether a key is present.
pub const HAS: HostFunction = HostFunction {
    module: NAME,
    name: "has",
    params: &[ValType::I32],
    results: &[ValType::I32],
};
/// `kv.list`: the keys with a prefix.
pub const LIST: HostFunction = HostFunction {
    module: NAME,
    name: "list",
    params: &[ValType::I32],
    results: &[ValType::I32, ValType::I32],
};
/// `kv.incr`: add to a counter stored as decimal text.
pub const INCR: HostFunction = HostFunction {
    module: NAME,
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
        "the keys starting with the str PREFIX (\"\" for all), sorted, as an array of str (arr handle; read it with arr.len and arr.get_str), with status; an empty array if none; ENOMEM if they do not fit in memory",
    ),
    doc(
        INCR,
        "add DELTA (i64) to the decimal integer stored under KEY (absent counts as 0), store the sum as text and return (sum, status); EPARSE if the value is not a decimal integer, EBOUND on overflow",
    ),
];

/// The namespace quotas a store enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvQuota {
    /// Most keys in one namespace. Default [`KV_MAX_KEYS`].
    pub max_keys: u64,
    /// Most bytes of keys and values together in one namespace. Default
    /// [`KV_MAX_NAMESPACE_BYTES`].
    pub max_bytes: u64,
}

impl Default for KvQuota {
    fn default() -> Self {
        Self {
            max_keys: KV_MAX_KEYS as u64,
            max_bytes: KV_MAX_NAMESPACE_BYTES as u64,
        }
    }
}

impl KvQuota {
    /// Whether a namespace of `keys` keys and `bytes` bytes may take `key` = a value of
    /// `value_len` bytes, where `old_len` is the length of the value `key` holds now (`None`
    /// if absent). The rule of every store: a new key must fit in the key count, and the
    /// namespace's bytes after the change in the byte quota.
    pub fn admit(
        &self,
        keys: u64,
        bytes: u64,
        key: &str,
        old_len: Option<usize>,
        value_len: usize,
    ) -> Result<(), KvError> {
        check_key(key)?;
        if value_len > KV_MAX_VALUE_BYTES {
            return Err(KvError::Quota(format!(
                "the value is {value_len} bytes; values are at most {KV_MAX_VALUE_BYTES}"
            )));
        }
        if old_len.is_none() && keys >= self.max_keys {
            return Err(KvError::Quota(format!(
                "the namespace already holds {} keys, the most it may",
                self.max_keys
            )));
        }
        let old = old_len.map_or(0, |len| (key.len() + len) as u64);
        let after = bytes - old.min(bytes) + (key.len() + value_len) as u64;
        if after > self.max_bytes {
            return Err(KvError::Quota(format!(
                "the namespace would hold {after} bytes; it may hold {}",
                self.max_bytes
            )));
        }
        Ok(())
    }
}

/// Why a store did not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// The value is too large, or the namespace's quota would be exceeded (the program gets
    /// ENOMEM).
    #[error("{0}")]
    Quota(String),
    /// `incr` of a value that is not a decimal integer (EPARSE).
    #[error("the value of {key:?} is not a decimal integer")]
    NotInteger {
        /// The key.
        key: String,
    },
    /// A key that is empty or longer than [`KV_MAX_KEY_BYTES`] (EBOUND).
    #[error("{0}")]
    Key(String),
    /// `incr` past the range of an i64 (EBOUND).
    #[error("{current} + {delta} overflows an i64")]
    Overflow {
        /// The value stored.
        current: i64,
        /// What was added.
        delta: i64,
    },
    /// The store itself failed: its file, its connection (the run stops with a host trap).
    #[error("{0}")]
    Store(String),
}

/// Where the `kv` capability keeps its namespaces; see the [module documentation](self). Each
/// function is atomic on its own; `set` and `incr` apply the store's [`KvQuota`].
#[async_trait::async_trait]
pub trait KvStore: Send + Sync + 'static {
    /// The value of `key` in `namespace`, if present.
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    /// Stores `value` under `key`, within the namespace's quota.
    async fn set(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), KvError>;

    /// Removes `key`; whether it was present.
    async fn delete(&self, namespace: &str, key: &str) -> Result<bool, KvError>;

    /// Whether `key` is present.
    async fn has(&self, namespace: &str, key: &str) -> Result<bool, KvError>;

    /// The keys that start with `prefix`, sorted by their bytes.
    async fn list(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, KvError>;

    /// Adds `delta` to the decimal integer under `key` (absent counts as 0), stores the sum as
    /// text and returns it, all at once.
    async fn incr(&self, namespace: &str, key: &str, delta: i64) -> Result<i64, KvError>;

    /// What the store is, for messages (`memory`, `the database /var/lib/watsmith.db`).
    fn describe(&self) -> String;
}

/// The settings of a `kv` grant: the store and the namespace the run sees.
#[derive(Clone)]
pub struct KvGrant {
    store: Arc<dyn KvStore>,
    namespace: String,
}

impl std::fmt::Debug for KvGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvGrant")
            .field("store", &self.store.describe())
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl KvGrant {
    /// The namespace of a grant that names none.
    pub const DEFAULT_NAMESPACE: &'static str = "default";

    /// A grant of `namespace` in `store`. Runs with different namespaces never see each other's
    /// keys.
    pub fn new(store: Arc<dyn KvStore>, namespace: impl Into<String>) -> Self {
        Self {
            store,
            namespace: namespace.into(),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn KvStore> {
        &self.store
    }
}

impl GrantSettings for KvGrant {
    const CAPABILITY: &'static str = NAME;
}

/// The keys and values of one namespace, and their total size.
#[derive(Debug, Default)]
struct Namespace {
    entries: BTreeMap<String, Vec<u8>>,
    /// Bytes of all keys and values.
    bytes: u64,
}

/// A [`KvStore`] in the process's memory, living as long as its last handle: the store of a
/// process that keeps nothing (`watsmith exec --allow kv` without a store file), of tests, and
/// of the catalog's examples.
#[derive(Debug, Default)]
pub struct MemoryKv {
    namespaces: Mutex<BTreeMap<String, Namespace>>,
    quota: KvQuota,
}

impl MemoryKv {
    /// An empty store with the default quotas.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with `quota`.
    pub fn with_quota(quota: KvQuota) -> Self {
        Self {
            namespaces: Mutex::default(),
            quota,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Namespace>> {
        // Every critical section leaves the map consistent: a poisoned lock is still usable.
        self.namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The value under `key` in `namespace`, as the host sees it.
    pub fn value(&self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        self.lock().get(namespace)?.entries.get(key).cloned()
    }

    /// Stores `value` under `key` in `namespace` from the host (a fixture, a test), under the
    /// quotas a program's `$kv.set` has.
    pub fn put(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.change(namespace, |quota, ns| {
            insert(quota, ns, key, value.to_vec())
        })
    }

    /// Applies a change to one namespace, dropping it when it ends up empty.
    fn change<T>(
        &self,
        namespace: &str,
        op: impl FnOnce(&KvQuota, &mut Namespace) -> Result<T, KvError>,
    ) -> Result<T, KvError> {
        let mut namespaces = self.lock();
        let entry = namespaces.entry(namespace.to_owned()).or_default();
        let result = op(&self.quota, entry);
        if entry.entries.is_empty() {
            namespaces.remove(namespace);
        }
        result
    }

    /// Reads one namespace.
    fn read<T>(&self, namespace: &str, op: impl FnOnce(Option<&Namespace>) -> T) -> T {
        op(self.lock().get(namespace))
    }
}

/// Inserts or replaces, within the quota.
fn insert(quota: &KvQuota, ns: &mut Namespace, key: &str, value: Vec<u8>) -> Result<(), KvError> {
    let old = ns.entries.get(key).map(Vec::len);
    quota.admit(ns.entries.len() as u64, ns.bytes, key, old, value.len())?;
    ns.bytes =
        ns.bytes - old.map_or(0, |len| (key.len() + len) as u64) + (key.len() + value.len()) as u64;
    ns.entries.insert(key.to_owned(), value);
    Ok(())
}

/// The integer a counter's value holds, or why it holds none.
pub fn counter_value(key: &str, value: Option<&[u8]>) -> Result<i64, KvError> {
    match value {
        None => Ok(0),
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .ok_or_else(|| KvError::NotInteger {
                key: key.to_owned(),
            }),
    }
}

/// `current + delta`, or the overflow.
pub fn counter_sum(current: i64, delta: i64) -> Result<i64, KvError> {
    current
        .checked_add(delta)
        .ok_or(KvError::Overflow { current, delta })
}

#[async_trait::async_trait]
impl KvStore for MemoryKv {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.value(namespace, key))
    }

    async fn set(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.put(namespace, key, value)
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<bool, KvError> {
        self.change(namespace, |_, ns| {
            Ok(match ns.entries.remove(key) {
                Some(value) => {
                    ns.bytes -= (key.len() + value.len()) as u64;
                    true
                }
                None => false,
            })
        })
    }

    async fn has(&self, namespace: &str, key: &str) -> Result<bool, KvError> {
        Ok(self.read(namespace, |ns| {
            ns.is_some_and(|ns| ns.entries.contains_key(key))
        }))
    }

    async fn list(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, KvError> {
        Ok(self.read(namespace, |ns| {
            ns.map(|ns| {
                ns.entries
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix),
                        std::ops::Bound::Unbounded,
                    ))
                    .map(|(key, _)| key)
                    .take_while(|key| key.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
        }))
    }

    async fn incr(&self, namespace: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        self.change(namespace, |quota, ns| {
            let sum = counter_sum(
                counter_value(key, ns.entries.get(key).map(Vec::as_slice))?,
                delta,
            )?;
            insert(quota, ns, key, sum.to_string().into_bytes())?;
            Ok(sum)
        })
    }

    fn describe(&self) -> String {
        "the in-memory kv store".to_owned()
    }
}

/// The `kv` capability. Each run's grant gives its store and namespace ([`KvGrant`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

/// One run's view: its store and namespace.
#[derive(Clone)]
struct KvSession {
    store: Arc<dyn KvStore>,
    namespace: Arc<str>,
}

impl Capability for Kv {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "a key-value store kept across runs, one namespace per grant; every call is one storage operation of the run's budget"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn is_async(&self) -> bool {
        true
    }

    fn new_state(&self, grant: &Grant) -> Result<Option<Box<dyn std::any::Any + Send>>, String> {
        let grant = grant.settings::<KvGrant>().ok_or("no kv store was given")?;
        if grant.namespace.is_empty() {
            return Err("the kv namespace of the grant is empty".to_owned());
        }
        Ok(Some(Box::new(KvSession {
            store: Arc::clone(&grant.store),
            namespace: Arc::from(grant.namespace.as_str()),
        })))
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap_async(
            NAME,
            "get",
            |mut caller: Caller<'_, RunState>, (key,): (i32,)| {
                Box::new(async move {
                    let value = match begin(&mut caller, key)? {
                        Ok((kv, key)) => kv
                            .store
                            .get(&kv.namespace, &key)
                            .await
                            .map_err(Failure::from)
                            .and_then(|value| {
                                value.ok_or_else(|| {
                                    Failure::refused(StatusCode::ENOENT, format!("no key {key:?}"))
                                })
                            }),
                        Err(failure) => Err(failure),
                    };
                    let value = settle(&mut caller, "get", value)?;
                    state::return_bytes(&mut caller, value)
                })
            },
        )?;
        linker.func_wrap_async(
            NAME,
            "set",
            |mut caller: Caller<'_, RunState>, (key, value): (i32, i32)| {
                Box::new(async move {
                    let done = match begin(&mut caller, key)? {
                        Ok((kv, key)) => match read_value(&mut caller, value)? {
                            Ok(value) => kv
                                .store
                                .set(&kv.namespace, &key, &value)
                                .await
                                .map_err(Failure::from),
                            Err(failure) => Err(failure),
                        },
                        Err(failure) => Err(failure),
                    };
                    Ok(state::status(settle(&mut caller, "set", done)?))
                })
            },
        )?;
        linker.func_wrap_async(
            NAME,
            "delete",
            |mut caller: Caller<'_, RunState>, (key,): (i32,)| {
                Box::new(async move {
                    let done = match begin(&mut caller, key)? {
                        Ok((kv, key)) => match kv.store.delete(&kv.namespace, &key).await {
                            Ok(true) => Ok(()),
                            Ok(false) => Err(Failure::refused(
                                StatusCode::ENOENT,
                                format!("no key {key:?}"),
                            )),
                            Err(error) => Err(Failure::from(error)),
                        },
                        Err(failure) => Err(failure),
                    };
                    Ok(state::status(settle(&mut caller, "delete", done)?))
                })
            },
        )?;
        linker.func_wrap_async(
            NAME,
            "has",
            |mut caller: Caller<'_, RunState>, (key,): (i32,)| {
                Box::new(async move {
                    let found = match begin(&mut caller, key)? {
                        Ok((kv, key)) => kv
                            .store
                            .has(&kv.namespace, &key)
                            .await
                            .map_err(Failure::from),
                        Err(failure) => Err(failure),
                    };
                    Ok(settle(&mut caller, "has", found)?.map_or(0, i32::from))
                })
            },
        )?;
        linker.func_wrap_async(
            NAME,
            "list",
            |mut caller: Caller<'_, RunState>, (prefix,): (i32,)| {
                Box::new(async move {
                    caller.data_mut().charge(Budget::IoOps, 1)?;
                    let kv = session(&mut caller)?;
                    let keys = match state::read_str(&mut caller, prefix)? {
                        Ok(prefix) => kv
                            .store
                            .list(&kv.namespace, &prefix)
                            .await
                            .map_err(Failure::from),
                        Err(code) => Err(Failure::refused(code, unreadable_str(prefix, code))),
                    };
                    // An array, not text joined by a separator: a key may hold any character.
                    let keys = settle(&mut caller, "list", keys)?
                        .map(|keys| keys.into_iter().map(Element::Str).collect::<Vec<_>>());
                    returned(match keys {
                        Ok(keys) => arr::create(&mut caller, keys),
                        Err(code) => Err(code.into()),
                    })
                })
            },
        )?;
        linker.func_wrap_async(
            NAME,
            "incr",
            |mut caller: Caller<'_, RunState>, (key, delta): (i32, i64)| {
                Box::new(async move {
                    let sum = match begin(&mut caller, key)? {
                        Ok((kv, key)) => kv
                            .store
                            .incr(&kv.namespace, &key, delta)
                            .await
                            .map_err(Failure::from),
                        Err(failure) => Err(failure),
                    };
                    Ok(state::pair(settle(&mut caller, "incr", sum)?))
                })
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
    /// The store failed: the run stops with a host trap.
    Store(String),
}

impl Failure {
    fn refused(code: StatusCode, reason: impl Into<String>) -> Self {
        Self::Refused {
            code,
            reason: reason.into(),
        }
    }
}

impl From<KvError> for Failure {
    fn from(error: KvError) -> Self {
        let code = match &error {
            KvError::Quota(_) => StatusCode::ENOMEM,
            KvError::NotInteger { .. } => StatusCode::EPARSE,
            KvError::Overflow { .. } | KvError::Key(_) => StatusCode::EBOUND,
            KvError::Store(reason) => return Self::Store(reason.clone()),
        };
        Self::refused(code, error.to_string())
    }
}

/// The run's kv state.
fn session(caller: &mut Caller<'_, RunState>) -> wasmtime::Result<KvSession> {
    caller
        .data_mut()
        .state_mut::<KvSession>()
        .cloned()
        .ok_or_else(|| wasmtime::format_err!("kv: the run has no kv state"))
}

/// Spends one storage operation and reads the key argument: a str of 1 to
/// [`KV_MAX_KEY_BYTES`] bytes; with the run's store and namespace.
fn begin(
    caller: &mut Caller<'_, RunState>,
    ptr: i32,
) -> wasmtime::Result<Result<(KvSession, String), Failure>> {
    caller.data_mut().charge(Budget::IoOps, 1)?;
    let kv = session(caller)?;
    Ok(match state::read_str(caller, ptr)? {
        Err(code) => Err(Failure::refused(code, unreadable_str(ptr, code))),
        Ok(key) => check_key(&key).map(|()| (kv, key)).map_err(Failure::from),
    })
}

/// The value argument: at most [`KV_MAX_VALUE_BYTES`].
fn read_value(
    caller: &mut Caller<'_, RunState>,
    ptr: i32,
) -> wasmtime::Result<Result<Vec<u8>, Failure>> {
    Ok(match state::read_bytes(caller, ptr)? {
        Err(code) => Err(Failure::refused(code, format!("no value at address {ptr}"))),
        Ok(value) if value.len() > KV_MAX_VALUE_BYTES => Err(Failure::refused(
            StatusCode::ENOMEM,
            format!(
                "the value is {} bytes; values are at most {KV_MAX_VALUE_BYTES}",
                value.len()
            ),
        )),
        Ok(value) => Ok(value),
    })
}

/// A key is 1 to [`KV_MAX_KEY_BYTES`] bytes.
pub fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() {
        Err(KvError::Key("the key is empty".to_owned()))
    } else if key.len() > KV_MAX_KEY_BYTES {
        Err(KvError::Key(format!(
            "the key is {} bytes; keys are at most {KV_MAX_KEY_BYTES}",
            key.len()
        )))
    } else {
        Ok(())
    }
}

/// The status of a refused call (logging why), or the trap of a failed store.
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
        Err(Failure::Store(reason)) => Err(wasmtime::format_err!("kv.{function}: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_and_removing_keep_the_byte_count() {
        let quota = KvQuota::default();
        let mut ns = Namespace::default();
        insert(&quota, &mut ns, "k", vec![1; 10]).expect("fits");
        insert(&quota, &mut ns, "k", vec![1; 3]).expect("fits");
        assert_eq!(ns.bytes, 4);
    }

    #[test]
    fn the_quota_admits_up_to_its_edge_and_not_one_byte_more() {
        let quota = KvQuota {
            max_keys: 2,
            max_bytes: 10,
        };
        // "ab" + 8 bytes = 10: exactly the quota.
        assert_eq!(quota.admit(0, 0, "ab", None, 8), Ok(()));
        assert!(matches!(
            quota.admit(0, 0, "ab", None, 9),
            Err(KvError::Quota(_))
        ));
        // Replacing a value counts only the difference.
        assert_eq!(quota.admit(1, 10, "ab", Some(8), 8), Ok(()));
        assert!(matches!(
            quota.admit(1, 10, "ab", Some(8), 9),
            Err(KvError::Quota(_))
        ));
        // A third key is refused, a second one's replacement is not.
        assert!(matches!(
            quota.admit(2, 4, "c", None, 0),
            Err(KvError::Quota(_))
        ));
        assert_eq!(quota.admit(2, 4, "ab", Some(0), 1), Ok(()));
    }
}
