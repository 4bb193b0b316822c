//! The store behind `kv`: namespaces with quotas, shared by an engine's runs, and its file.
//!
//! The file is JSON: `{"format": "watsmith-kv", "version": 1, "namespaces": {NAMESPACE: {KEY:
//! {"text": ...} | {"base64": ...}}}}` (values are text when they are UTF-8). Saves are atomic:
//! a temporary file in the same directory, fsync, rename, fsync of the directory.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::{Failure, KvError};
use crate::limits::{KV_MAX_KEY_BYTES, KV_MAX_KEYS, KV_MAX_NAMESPACE_BYTES, KV_MAX_VALUE_BYTES};
use crate::status::StatusCode;

/// The keys and values of one namespace, and their total size.
#[derive(Debug, Default)]
pub(super) struct Namespace {
    pub(super) entries: BTreeMap<String, Vec<u8>>,
    /// Bytes of all keys and values.
    pub(super) bytes: usize,
}

impl Namespace {
    /// Inserts or replaces, within the namespace's quotas.
    pub(super) fn put(&mut self, key: &str, value: Vec<u8>) -> Result<(), Failure> {
        let old = self.entries.get(key).map(|v| key.len() + v.len());
        if old.is_none() && self.entries.len() >= KV_MAX_KEYS {
            return Err(Failure::refused(
                StatusCode::ENOMEM,
                format!("the namespace already holds {KV_MAX_KEYS} keys, the most it may"),
            ));
        }
        let bytes = self.bytes - old.unwrap_or(0) + key.len() + value.len();
        if bytes > KV_MAX_NAMESPACE_BYTES {
            return Err(Failure::refused(
                StatusCode::ENOMEM,
                format!(
                    "the namespace would hold {bytes} bytes; it may hold {KV_MAX_NAMESPACE_BYTES}"
                ),
            ));
        }
        self.entries.insert(key.to_owned(), value);
        self.bytes = bytes;
        Ok(())
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<()> {
        let value = self.entries.remove(key)?;
        self.bytes -= key.len() + value.len();
        Some(())
    }
}

/// Every namespace, and a counter of changes.
#[derive(Debug, Default)]
pub(super) struct Data {
    pub(super) namespaces: BTreeMap<String, Namespace>,
    /// Incremented by every change; compared with the saved generation.
    pub(super) generation: u64,
}

/// The store all runs of an engine share.
#[derive(Debug)]
pub(super) struct KvStore {
    pub(super) data: Mutex<Data>,
    pub(super) file: Option<PathBuf>,
    /// The generation last written to the file. Held while saving, so that saves from several
    /// threads reach the file in order and the data lock is not held during I/O.
    pub(super) saved: Mutex<u64>,
    /// The last save failed and none has succeeded since.
    pub(super) save_failed: AtomicBool,
}

impl KvStore {
    pub(super) fn new(data: Data, file: Option<PathBuf>) -> Self {
        let generation = data.generation;
        Self {
            data: Mutex::new(data),
            file,
            saved: Mutex::new(generation),
            save_failed: AtomicBool::new(false),
        }
    }

    /// Writes the store to its file if it changed since the last save.
    pub(super) fn flush(&self) -> Result<(), KvError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let mut saved = lock(&self.saved);
        let (generation, bytes) = {
            let data = lock(&self.data);
            if data.generation == *saved {
                return Ok(());
            }
            (data.generation, encode(&data))
        };
        match bytes.and_then(|bytes| write_atomically(path, &bytes)) {
            Ok(()) => {
                *saved = generation;
                self.save_failed.store(false, Ordering::Relaxed);
                Ok(())
            }
            Err(source) => {
                self.save_failed.store(true, Ordering::Relaxed);
                Err(KvError::Save {
                    path: path.clone(),
                    source,
                })
            }
        }
    }

    /// Retries a failed save before a change is made on top of it.
    pub(super) fn recover(&self) -> Result<(), KvError> {
        if self.save_failed.load(Ordering::Relaxed) {
            self.flush()
        } else {
            Ok(())
        }
    }
}

impl Drop for KvStore {
    fn drop(&mut self) {
        // Runs save their own changes; this is a last attempt after a failed save.
        let _ = self.flush();
    }
}

/// Locks a mutex, recovering it if a thread panicked while holding it: every critical section
/// leaves the data consistent.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) const FORMAT: &str = "watsmith-kv";
pub(super) const VERSION: u32 = 1;

/// The file, as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreFile {
    pub(super) format: String,
    pub(super) version: u32,
    pub(super) namespaces: BTreeMap<String, BTreeMap<String, StoredValue>>,
}

/// A value in the file, as read.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(super) enum StoredValue {
    Text(String),
    Base64(String),
}

/// The file, as written (borrowing the store).
#[derive(Serialize)]
pub(super) struct StoreFileRef<'a> {
    pub(super) format: &'static str,
    pub(super) version: u32,
    pub(super) namespaces: BTreeMap<&'a str, BTreeMap<&'a str, StoredValueRef<'a>>>,
}

/// A value in the file, as written.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum StoredValueRef<'a> {
    Text(&'a str),
    Base64(String),
}

pub(super) fn encode(data: &Data) -> std::io::Result<Vec<u8>> {
    let namespaces = data
        .namespaces
        .iter()
        .map(|(name, namespace)| {
            let entries = namespace
                .entries
                .iter()
                .map(|(key, value)| {
                    let stored = match std::str::from_utf8(value) {
                        Ok(text) => StoredValueRef::Text(text),
                        Err(_) => StoredValueRef::Base64(BASE64.encode(value)),
                    };
                    (key.as_str(), stored)
                })
                .collect();
            (name.as_str(), entries)
        })
        .collect();
    let file = StoreFileRef {
        format: FORMAT,
        version: VERSION,
        namespaces,
    };
    serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)
}

pub(super) fn decode(path: &Path, bytes: &[u8]) -> Result<Data, KvError> {
    let corrupt = |reason: String| KvError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let file: StoreFile =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not a kv store: {e}")))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(corrupt(format!(
            "it is format `{}` version {}; this build reads `{FORMAT}` version {VERSION}",
            file.format, file.version
        )));
    }
    let mut data = Data::default();
    for (name, entries) in file.namespaces {
        let mut namespace = Namespace::default();
        for (key, stored) in entries {
            let value = match stored {
                StoredValue::Text(text) => text.into_bytes(),
                StoredValue::Base64(encoded) => BASE64.decode(encoded).map_err(|e| {
                    corrupt(format!("namespace {name:?}, key {key:?}: bad base64: {e}"))
                })?,
            };
            if key.is_empty() || key.len() > KV_MAX_KEY_BYTES || value.len() > KV_MAX_VALUE_BYTES {
                return Err(corrupt(format!(
                    "namespace {name:?}, key {key:?}: the key or its value is outside the kv quotas"
                )));
            }
            namespace.bytes += key.len() + value.len();
            namespace.entries.insert(key, value);
        }
        if !namespace.entries.is_empty() {
            data.namespaces.insert(name, namespace);
        }
    }
    Ok(data)
}

/// Replaces the file at `path` with `bytes`: a temporary file in the same directory, fsynced,
/// renamed over it, and the directory fsynced.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".watsmith-kv-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

#[cfg(unix)]
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(super) fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Directories cannot be opened for syncing here; the rename is as durable as it gets.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn values_round_trip_through_the_file_format_as_text_or_base64() {
        let mut data = Data::default();
        let mut namespace = Namespace::default();
        namespace.put("text", b"hello".to_vec()).expect("fits");
        namespace.put("binary", vec![0, 255, 1]).expect("fits");
        data.namespaces.insert("ns".to_owned(), namespace);
        let bytes = encode(&data).expect("encodes");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(json["namespaces"]["ns"]["text"]["text"], "hello");
        assert_eq!(json["namespaces"]["ns"]["binary"]["base64"], "AP8B");
        let back = decode(Path::new("x.json"), &bytes).expect("decodes");
        let ns = &back.namespaces["ns"];
        assert_eq!(ns.entries["binary"], [0, 255, 1]);
        assert_eq!(ns.bytes, "text".len() + 5 + "binary".len() + 3);
    }

    #[test]
    pub(super) fn replacing_and_removing_keep_the_byte_count() {
        let mut namespace = Namespace::default();
        namespace.put("k", vec![1; 10]).expect("fits");
        namespace.put("k", vec![1; 3]).expect("fits");
        assert_eq!(namespace.bytes, 4);
        namespace.remove("k").expect("present");
        assert_eq!(namespace.bytes, 0);
    }
}
