//! The on-disk program index: for each body seen, the WebAssembly binary it assembled to and what
//! running it needs, keyed by the body's exact text, so that a new process serves a body it has
//! seen without preprocessing or assembling it. Compiling that binary is then answered by
//! Wasmtime's own module cache in the same directory, so a pre-warmed catalog starts in a few
//! milliseconds.
//!
//! An entry is one file, `programs/<sha256>.program`, named by the hash of the body and of
//! everything else that decides what the body assembles to: this build of the engine,
//! preprocessor and grammar ([`BUILD_ID`]) and the host functions of the registry. It holds a
//! SHA-256 of the rest of the file, the body (compared on load, so a hash collision cannot serve
//! another body), the first free byte of memory and the first call of each capability (for
//! diagnostics), and the binary. An entry whose checksum does not match (a crash, a full disk, a
//! flipped bit) is a miss: a damaged binary may still be valid WebAssembly, of another program.
//! Nothing in it is trusted more than a body: the binary is validated by Wasmtime like any other
//! when it is compiled, and the capabilities a program needs are read from the binary's imports,
//! not from the file.
//!
//! Files are written to a temporary name and renamed, so concurrent processes never read half an
//! entry; one that cannot be read or used is ignored (and replaced by the next compile of that
//! body). Programs whose preprocessing gave warnings are not indexed: their warnings are part of
//! every outcome and need the preprocessor. Entries are small (the body and its binary); nothing
//! is evicted.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::capability::Registry;

/// The build of the sources that decide what a body compiles to (`build.rs`).
pub(crate) const BUILD_ID: &str = env!("WATSMITH_BUILD_ID");

/// The first bytes of an entry, with its format version.
const MAGIC: &[u8; 8] = b"WSPROG02";

/// The subdirectory of the disk cache that holds the index (Wasmtime's cache has its own: its
/// clean-up removes every file of its directory that it did not write).
const SUBDIRECTORY: &str = "programs";

/// Largest index entry read, in bytes: the module of a body at the preprocessor's limit and its
/// metadata take a few megabytes. A longer entry (or one that is not a regular file) is a miss.
const MAX_ENTRY_BYTES: u64 = 64 << 20;

/// The subdirectory of the disk cache given to Wasmtime's module cache.
pub(crate) const WASMTIME_SUBDIRECTORY: &str = "wasmtime";

/// The disk cache's directory, resolved (absolute, without symbolic links), created private
/// (mode 0700) if it is missing, and checked if it is not, with every directory above it
/// ([`ancestors_closed`]): the cache holds native code the engine runs, so a directory (or one of
/// its two subdirectories) that belongs to another user, or that another user may write into, is
/// refused rather than used; the cache directory itself must also be closed to others, since
/// whoever can read compiled bodies can read the bodies. Errors: why, with the fix.
pub(crate) fn private_directory(dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    let dir =
        std::path::absolute(dir).map_err(|e| format!("cannot make the path absolute: {e}"))?;
    if !dir.exists() {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create its parent directory: {e}"))?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            // Made meanwhile by another process: checked below like any other.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create it: {e}")),
        }
    }
    let me = rustix::process::geteuid().as_raw();
    // Resolved once: Wasmtime opens the cache by name, so the path handed on has no symbolic
    // link another user could swap, and no directory above it that another user could change.
    let dir = std::fs::canonicalize(&dir).map_err(|e| format!("cannot resolve it: {e}"))?;
    ancestors_closed(&dir, me)?;
    for (path, top) in [
        (dir.clone(), true),
        (dir.join(SUBDIRECTORY), false),
        (dir.join(WASMTIME_SUBDIRECTORY), false),
    ] {
        // The directory itself may be reached through a symbolic link; its subdirectories,
        // written by the engine, may not.
        let meta = if top {
            std::fs::metadata(&path)
        } else {
            std::fs::symlink_metadata(&path)
        };
        let meta = match meta {
            Ok(meta) => meta,
            Err(e) if !top && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
        };
        let shown = path.display();
        if !meta.is_dir() {
            return Err(format!("`{shown}` is not a directory"));
        }
        if meta.uid() != me {
            return Err(format!(
                "`{shown}` belongs to another user (uid {}); use a directory of your own",
                meta.uid()
            ));
        }
        let open_to_others = if top { 0o077 } else { 0o022 };
        if meta.mode() & open_to_others != 0 {
            return Err(format!(
                "other users may {} `{shown}` (mode {:o}); make it private: chmod 700 {}",
                if top { "read or write" } else { "write into" },
                meta.mode() & 0o777,
                path.display()
            ));
        }
    }
    Ok(dir)
}

/// Whether every directory above `dir` (resolved) is closed to other users: owned by this user
/// or root, and writable by no one else unless it is sticky (like `/tmp`, where others cannot
/// rename or remove what is not theirs, and the next directory down is this user's or root's,
/// checked as one of the ancestors or as the cache itself). Otherwise another user could rename
/// a directory of the path and put their own in its place between the check and Wasmtime's
/// opening of its files by name.
fn ancestors_closed(dir: &Path, me: u32) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    for ancestor in dir.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor)
            .map_err(|e| format!("cannot read `{}`: {e}", ancestor.display()))?;
        let shown = ancestor.display();
        if meta.uid() != me && meta.uid() != 0 {
            return Err(format!(
                "`{shown}` above it belongs to another user (uid {}), who could replace the \
                 cache; use a directory under one of your own",
                meta.uid()
            ));
        }
        const STICKY: u32 = 0o1000;
        if meta.mode() & 0o022 != 0 && meta.mode() & STICKY == 0 {
            return Err(format!(
                "other users may write into `{shown}` above it (mode {:o}) and so replace the \
                 cache; use a directory under one of your own, or: chmod go-w {shown}",
                meta.mode() & 0o7777
            ));
        }
    }
    Ok(())
}

/// What running a program needs besides its binary and its imports.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) initial_top: u32,
    /// For each imported capability, its first call and where it is: (capability, call, start,
    /// end).
    pub(crate) first_calls: Vec<(String, String, usize, usize)>,
}

/// An indexed body: its binary and meta.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) binary: Vec<u8>,
    pub(crate) meta: Meta,
}

/// The index, in a directory.
#[derive(Debug)]
pub(crate) struct Index {
    dir: PathBuf,
    /// Hash of the build and the registry: part of every key.
    salt: [u8; 32],
    hits: AtomicU64,
}

impl Index {
    /// The index under the disk cache `dir` (created if missing) for bodies assembled against
    /// `registry`.
    pub(crate) fn open(dir: &Path, registry: &Registry) -> std::io::Result<Self> {
        let dir = dir.join(SUBDIRECTORY);
        std::fs::create_dir_all(&dir)?;
        let mut salt = Sha256::new();
        salt.update(BUILD_ID.as_bytes());
        for capability in registry.iter() {
            salt.update(capability.name().as_bytes());
            for function in capability.functions() {
                salt.update(function.function.wat_name().as_bytes());
                salt.update(format!("{:?}", function.function).as_bytes());
            }
        }
        Ok(Self {
            dir,
            salt: salt.finalize().into(),
            hits: AtomicU64::new(0),
        })
    }

    fn path(&self, body: &str) -> PathBuf {
        let mut key = Sha256::new();
        key.update(self.salt);
        key.update(body.as_bytes());
        let name: String = key.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.program"))
    }

    /// The entry of `body`, if the index has a usable one.
    pub(crate) fn load(&self, body: &str) -> Option<Entry> {
        let bytes = crate::file::read_bounded(&self.path(body), MAX_ENTRY_BYTES).ok()?;
        decode(&bytes, body)
    }

    /// Counts a body served from the index (its entry loaded, compiled and linked).
    pub(crate) fn served(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Indexes `body`. Best effort: an index that cannot be written only means preprocessing
    /// again next time.
    pub(crate) fn store(&self, body: &str, binary: &[u8], meta: &Meta) {
        let Ok(meta) = serde_json::to_vec(meta) else {
            return;
        };
        let mut rest = Vec::with_capacity(16 + body.len() + meta.len() + binary.len());
        for part in [body.as_bytes(), &meta] {
            rest.extend_from_slice(&(part.len() as u64).to_le_bytes());
            rest.extend_from_slice(part);
        }
        rest.extend_from_slice(binary);
        let mut bytes = Vec::with_capacity(MAGIC.len() + 32 + rest.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&Sha256::digest(&rest));
        bytes.extend_from_slice(&rest);
        let path = self.path(body);
        // On failure the temporary file is removed when dropped: no partial entry is left.
        let _ = tempfile::NamedTempFile::new_in(&self.dir).and_then(|mut file| {
            file.write_all(&bytes)?;
            file.persist(&path).map_err(|e| e.error)?;
            Ok(())
        });
    }

    /// Bodies served from the index.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

/// The entry in `bytes`, if it is an undamaged entry of `body`.
fn decode(bytes: &[u8], body: &str) -> Option<Entry> {
    let (checksum, rest) = bytes.strip_prefix(MAGIC)?.split_first_chunk::<32>()?;
    if Sha256::digest(rest).as_slice() != checksum {
        return None;
    }
    let (stored_body, rest) = part(rest)?;
    if stored_body != body.as_bytes() {
        return None;
    }
    let (meta, binary) = part(rest)?;
    Some(Entry {
        meta: serde_json::from_slice(meta).ok()?,
        binary: binary.to_vec(),
    })
}

/// A length-prefixed part, and what follows it.
fn part(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (length, rest) = bytes.split_first_chunk::<8>()?;
    let length = usize::try_from(u64::from_le_bytes(*length)).ok()?;
    (rest.len() >= length).then(|| rest.split_at(length))
}
