//! The JSON kv file of earlier releases (`--kv-file`), imported into a database on first use.
//!
//! The file was `{"format": "watsmith-kv", "version": 1, "namespaces": {NAMESPACE: {KEY:
//! {"text": ...} | {"base64": ...}}}}`. Importing it, with the file locked against another
//! process importing it at the same time: its entries go into a new database written beside it
//! (in the directory of the link's target, if the path is a link), with the file's permissions;
//! the JSON is copied to `FILE.bak`; and the database is renamed over the file, so the path
//! (and a link to it) now names the database. A file that is not a JSON kv store of that format
//! is refused and left alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use watsmith_engine::KvQuota;

use super::StoreError;
use super::database::Database;

/// Largest JSON kv file imported, in bytes: the stores of earlier releases kept a few
/// megabytes (their namespaces had the same quotas as now).
pub const MAX_IMPORT_BYTES: u64 = 256 << 20;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The file imported (now the database).
    pub path: PathBuf,
    /// Where the JSON was kept.
    pub backup: PathBuf,
    /// Namespaces imported.
    pub namespaces: usize,
    /// Keys imported.
    pub keys: usize,
}

/// The file, as earlier releases wrote it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KvFile {
    format: String,
    version: u32,
    namespaces: BTreeMap<String, BTreeMap<String, StoredValue>>,
}

/// A value: text when it was UTF-8, base64 otherwise.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum StoredValue {
    Text(String),
    Base64(String),
}

/// Whether the first bytes of a file are those of a JSON object.
pub(super) fn looks_like_json(head: &[u8]) -> bool {
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

/// Imports the JSON kv file at `path`, replacing it with a database; `None` if another process
/// did it first.
pub(super) fn import(path: &Path, quota: KvQuota) -> Result<Option<Imported>, StoreError> {
    let location = format!("`{}`", path.display());
    let io = |what: &str, error: std::io::Error| StoreError::Io {
        location: location.clone(),
        reason: format!("{what}: {error}"),
    };
    let target = std::fs::canonicalize(path).map_err(|e| io("cannot resolve it", e))?;
    let file = std::fs::File::open(&target).map_err(|e| io("cannot open it", e))?;
    file.lock()
        .map_err(|e| io("cannot lock it to import it", e))?;
    // Read again under the lock: another process may have imported it meanwhile (then the path
    // names a new file, a database).
    let bytes = watsmith_engine::file::read_bounded(&target, MAX_IMPORT_BYTES).map_err(|e| {
        StoreError::Io {
            location: location.clone(),
            reason: format!("cannot read it: {e}"),
        }
    })?;
    if !looks_like_json(&bytes) {
        return Ok(None);
    }
    let entries = decode(&bytes).map_err(|reason| StoreError::Foreign {
        location: location.clone(),
        reason,
    })?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let temporary = tempfile::Builder::new()
        .prefix(".watsmith-import-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|e| io("cannot write the database beside it", e))?;
    let permissions = file
        .metadata()
        .map_err(|e| io("cannot read its permissions", e))?
        .permissions();
    std::fs::set_permissions(temporary.path(), permissions)
        .map_err(|e| io("cannot give the database its permissions", e))?;
    {
        let database = Database::connect(temporary.path(), quota)?;
        for (namespace, key, value) in &entries {
            database
                .put(namespace, key, value)
                .map_err(|e| StoreError::Record {
                    location: location.clone(),
                    what: format!("the key {key:?} of namespace {namespace:?}"),
                    reason: e.to_string(),
                })?;
        }
        // Dropped: the connection closes, folding its log into the file.
    }
    let backup = backup_path(&target);
    std::fs::copy(&target, &backup).map_err(|e| io("cannot keep a copy of it", e))?;
    temporary
        .persist(&target)
        .map_err(|e| io("cannot put the database in its place", e.error))?;
    let namespaces = entries
        .iter()
        .map(|(namespace, _, _)| namespace)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok(Some(Imported {
        path: path.to_path_buf(),
        backup,
        namespaces,
        keys: entries.len(),
    }))
}

/// `FILE.bak`, or `FILE.bak.2`, ... if that exists.
fn backup_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = target.parent().unwrap_or(Path::new("."));
    (1..)
        .map(|n| {
            dir.join(if n == 1 {
                format!("{name}.bak")
            } else {
                format!("{name}.bak.{n}")
            })
        })
        .find(|candidate| !candidate.exists())
        .unwrap_or_else(|| dir.join(format!("{name}.bak")))
}

/// The entries of a JSON kv file, or why it is not one.
fn decode(bytes: &[u8]) -> Result<Vec<(String, String, Vec<u8>)>, String> {
    let file: KvFile = serde_json::from_slice(bytes)
        .map_err(|e| format!("it is JSON, but not a watsmith kv file: {e}"))?;
    if file.format != "watsmith-kv" || file.version != 1 {
        return Err(format!(
            "it is format `{}` version {}; this build imports `watsmith-kv` version 1",
            file.format, file.version
        ));
    }
    let mut entries = Vec::new();
    for (namespace, keys) in file.namespaces {
        for (key, stored) in keys {
            let value = match stored {
                StoredValue::Text(text) => text.into_bytes(),
                StoredValue::Base64(encoded) => BASE64.decode(encoded).map_err(|e| {
                    format!("namespace {namespace:?}, key {key:?}: bad base64: {e}")
                })?,
            };
            entries.push((namespace.clone(), key, value));
        }
    }
    Ok(entries)
}
