//! `fs`: files under a jail root directory.
//!
//! A run's grant names the root ([`FsGrant`]); a grant without one is refused
//! before the run starts. The root is opened once per run as a [`cap_std::fs::Dir`], and every
//! operation resolves its path through that handle: `..` that climbs out, absolute paths, and
//! symlinks whose target lies outside (absolute targets included, even ones that name a place
//! inside the root) are refused by cap-std (on Linux with `openat2(RESOLVE_BENEATH)`), not by
//! string checks here. Symlinks that stay inside the root are followed. Paths are str values,
//! relative to the root; `""` and `"."` name the root itself.
//!
//! Status codes, and the log line each refusal adds so the model sees why:
//!
//! | cause | code |
//! |---|---|
//! | the path leads outside the root, is absolute, or the OS denies access; a write on a read-only grant | EACCESS |
//! | no such file or directory | ENOENT |
//! | the file does not fit in the memory limit; a write past the run's quota of bytes written; the disk is full | ENOMEM |
//! | wrong kind of entry (a directory to `read`, `write` or `delete`, a file to `list`, a file in the way of `mkdir`, a device or pipe); an invalid path; any other I/O error | EBOUND |
//! | the path is not UTF-8 | ETRFM |
//!
//! `read` checks the file's size before reading and reads at most `Limits::memory_bytes`.
//! Only regular files are read or written: a named pipe would block the run where no deadline
//! reaches it. Every call, refused or not, spends one storage operation of the run's budget
//! (`Limits::max_io_ops`); past it the run stops with a `host_budget` trap. Paths are at most
//! [`MAX_PATH_BYTES`] (EBOUND).
//!
//! The run's quota of bytes written (`Limits::max_fs_write_bytes`) counts the bytes `write` and
//! `append` write and [`FS_ENTRY_BYTES`] for each file or directory created (so `mkdir` of a
//! deep path, or a loop of new names, cannot create millions of entries). A call that would
//! pass it fails with ENOMEM and a log line before anything is written or created; a call
//! refused for any reason spends nothing of it.
//!
//! `write` replaces a file atomically: the data goes into a new file in the same directory
//! (`.watsmith-write-*.tmp`), which is renamed over the old one, keeping its permissions. A
//! concurrent reader sees the old contents or the new, never a mix, and a failed write (a full
//! disk) leaves the old file intact. It is not synced to the disk (no `fsync`): after a power
//! loss the file may hold its old contents. A symlink at the path is replaced, not written
//! through. `append` writes in place.
//!
//! `list` returns an array of str (an `arr` handle), so that a name holding a newline is still
//! one name.

use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, MetadataExt as _, OpenOptions, OpenOptionsExt as _};
use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::arr::{self, ARRAY_BYTES, ELEMENT_BYTES, Element};
use super::{doc, returned, unreadable_str};
use crate::capability::{Capability, FunctionDoc};
use crate::limits::FS_ENTRY_BYTES;
use crate::policy::{Grant, GrantSettings};
use crate::state::{self, Budget, RunState, status};
use crate::status::StatusCode;

/// The capability's name, its import module.
pub const NAME: &str = "fs";

/// `fs.read`: a file's bytes.
pub const READ: HostFunction = HostFunction {
    module: NAME,
    name: "read",
    params: &[ValType::I32],
    results: &[ValType::I32, ValType::I32],
};
/// `fs.write`: create or replace a file.
pub const WRITE: HostFunction = HostFunction {
    module: NAME,
    name: "write",
    params: &[ValType::I32, ValType::I32],
    results: &[ValType::I32],
};
/// `fs.append`: append to a file.
pub const APPEND: HostFunction = HostFunction {
    module: NAME,
    name: "append",
    params: &[ValType::I32, ValType::I32],
    results: &[ValType::I32],
};
/// `fs.list`: the entries of a directory.
pub const LIST: HostFunction = HostFunction {
    module: NAME,
    name: "list",
    params: &[ValType::I32],
    results: &[ValType::I32, ValType::I32],
};
/// `fs.exists`: whether a path exists.
pub const EXISTS: HostFunction = HostFunction {
    module: NAME,
    name: "exists",
    params: &[ValType::I32],
    results: &[ValType::I32],
};
/// `fs.delete`: delete a file.
pub const DELETE: HostFunction = HostFunction {
    module: NAME,
    name: "delete",
    params: &[ValType::I32],
    results: &[ValType::I32],
};
/// `fs.mkdir`: create a directory and its parents.
pub const MKDIR: HostFunction = HostFunction {
    module: NAME,
    name: "mkdir",
    params: &[ValType::I32],
    results: &[ValType::I32],
};

static FUNCTIONS: [FunctionDoc; 7] = [
    doc(
        READ,
        "the bytes of the file at the str PATH (relative to the jail root) as (pointer, status); ENOENT if missing, EACCESS if the path leads outside the root, EBOUND if it is a directory, ENOMEM if it does not fit in memory",
    ),
    doc(
        WRITE,
        "create or replace the file at PATH with DATA (a str or bytes), atomically (readers see the old or the new contents); EACCESS outside the root or on a read-only grant, ENOENT if the parent directory is missing (fs.mkdir it), EBOUND if PATH is a directory, ENOMEM past the run's quota of bytes written (a new file counts 4096 more)",
    ),
    doc(
        APPEND,
        "append DATA to the file at PATH, creating it if missing; errors as fs.write",
    ),
    doc(
        LIST,
        "the names in the directory at PATH (\"\" for the root), sorted, directories with a trailing \"/\", as an array of str (arr handle; read it with arr.len and arr.get_str), with status; ENOENT, EACCESS, EBOUND if PATH is a file, ENOMEM if the names do not fit in memory",
    ),
    doc(
        EXISTS,
        "1 if a file or directory exists at PATH, else 0 (also 0 when the path is refused)",
    ),
    doc(
        DELETE,
        "delete the file at PATH (a directory is EBOUND); ENOENT if missing, EACCESS outside the root or on a read-only grant",
    ),
    doc(
        MKDIR,
        "create the directory PATH and any missing parents (nothing to do if it exists); EACCESS outside the root or on a read-only grant, EBOUND if a file is in the way, ENOMEM if the new directories (4096 bytes each) pass the run's quota of bytes written",
    ),
];

/// The settings of an `fs` grant: the jail root and whether the run may change files under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsGrant {
    /// The directory every path is relative to; nothing outside it is reachable.
    pub root: PathBuf,
    /// Directories that jail the run in turn, each relative to the one before (the first to
    /// `root`) and opened through it, so that no level, by `..` or a symlink, leads outside the
    /// one above it (empty: `root` itself is the jail).
    pub within: Vec<PathBuf>,
    /// Whether `write`, `append`, `delete` and `mkdir` are allowed (EACCESS otherwise).
    pub writable: bool,
}

impl FsGrant {
    /// Reading and listing under `root`.
    pub fn read_only(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            within: Vec::new(),
            writable: false,
        }
    }

    /// Reading and writing under `root`.
    pub fn read_write(root: impl Into<PathBuf>) -> Self {
        Self {
            writable: true,
            ..Self::read_only(root)
        }
    }

    /// The grant, jailed in `dir` under its current jail.
    pub fn within(mut self, dir: impl Into<PathBuf>) -> Self {
        self.within.push(dir.into());
        self
    }

    /// Opens the jail: the root, then each level of [`FsGrant::within`] through the one above
    /// it (cap-std refuses a level that leads outside the one above, by `..` or a symlink, so a
    /// symlink inside a narrowed jail cannot reach a sibling of it).
    ///
    /// Errors: a message naming the level that cannot be opened and why.
    pub(crate) fn open(&self) -> Result<Dir, String> {
        let mut dir = Dir::open_ambient_dir(&self.root, ambient_authority()).map_err(|error| {
            format!(
                "cannot open the jail root `{}`: {error}",
                self.root.display()
            )
        })?;
        for (level, sub) in self.within.iter().enumerate() {
            dir = dir.open_dir(sub).map_err(|error| {
                let above: PathBuf = self.within[..level].iter().collect();
                format!(
                    "cannot open the jail `{}` under `{}`: {error}",
                    sub.display(),
                    self.root.join(above).display()
                )
            })?;
        }
        Ok(dir)
    }
}

impl GrantSettings for FsGrant {
    const CAPABILITY: &'static str = NAME;
}

/// The `fs` capability. Each run's grant gives its root ([`FsGrant`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fs;

/// One run's jail: the opened root, and whether it may write.
#[derive(Debug)]
struct Jail {
    dir: Dir,
    writable: bool,
}

impl Capability for Fs {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "files under the run's jail root directory, read-only unless the grant allows writing; every call is one storage operation of the run's budget"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn new_state(&self, grant: &Grant) -> Result<Option<Box<dyn std::any::Any + Send>>, String> {
        let grant = grant
            .settings::<FsGrant>()
            .ok_or("no jail root was given")?;
        let dir = grant.open()?;
        Ok(Some(Box::new(Jail {
            dir,
            writable: grant.writable,
        })))
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap(
            NAME,
            "read",
            |mut caller: Caller<'_, RunState>, path: i32| -> wasmtime::Result<(i32, i32)> {
                let path = begin(&mut caller, "read", path, Access::Read)?;
                let cap = caller.data().limits().memory_bytes;
                let bytes = in_jail(&mut caller, "read", path, |dir, path| {
                    read_file(dir, path, cap)
                })?;
                state::return_bytes(&mut caller, bytes)
            },
        )?;
        linker.func_wrap(
            NAME,
            "write",
            |mut caller: Caller<'_, RunState>, path: i32, data: i32| -> wasmtime::Result<i32> {
                write_linked(&mut caller, "write", path, data, Mode::Replace)
            },
        )?;
        linker.func_wrap(
            NAME,
            "append",
            |mut caller: Caller<'_, RunState>, path: i32, data: i32| -> wasmtime::Result<i32> {
                write_linked(&mut caller, "append", path, data, Mode::Append)
            },
        )?;
        linker.func_wrap(
            NAME,
            "list",
            |mut caller: Caller<'_, RunState>, path: i32| -> wasmtime::Result<(i32, i32)> {
                let path = begin(&mut caller, "list", path, Access::Read)?;
                // What the names may take: the memory the run has left, less its host data.
                let cap = state::room(&caller)?.saturating_sub(caller.data().ledger.bytes());
                let names = in_jail(&mut caller, "list", path, |dir, path| {
                    list_dir(dir, path, cap)
                })?;
                returned(match names {
                    Ok(names) => {
                        arr::create(&mut caller, names.into_iter().map(Element::Str).collect())
                    }
                    Err(code) => Err(code.into()),
                })
            },
        )?;
        linker.func_wrap(
            NAME,
            "exists",
            |mut caller: Caller<'_, RunState>, path: i32| -> wasmtime::Result<i32> {
                let path = begin(&mut caller, "exists", path, Access::Read)?;
                let found = in_jail(&mut caller, "exists", path, |dir, path| {
                    Ok(dir.try_exists(path)?)
                })?;
                Ok(found.map_or(0, i32::from))
            },
        )?;
        linker.func_wrap(
            NAME,
            "delete",
            |mut caller: Caller<'_, RunState>, path: i32| -> wasmtime::Result<i32> {
                let path = begin(&mut caller, "delete", path, Access::Write)?;
                let done = in_jail(&mut caller, "delete", path, delete_file)?;
                Ok(status(done))
            },
        )?;
        linker.func_wrap(
            NAME,
            "mkdir",
            |mut caller: Caller<'_, RunState>, path: i32| -> wasmtime::Result<i32> {
                let path = begin(&mut caller, "mkdir", path, Access::Write)?;
                let left = caller.data().remaining(Budget::FsWriteBytes);
                let mut made = 0;
                let done = in_jail(&mut caller, "mkdir", path, |dir, path| {
                    make_dirs(dir, path, left, &mut made)
                })?;
                // What was created counts, even if a later level failed.
                caller
                    .data_mut()
                    .charge(Budget::FsWriteBytes, made * FS_ENTRY_BYTES)?;
                Ok(status(done))
            },
        )?;
        Ok(())
    }
}

/// The longest path accepted, in bytes: the system's `PATH_MAX`, which bounds the levels
/// `fs.mkdir` walks.
pub const MAX_PATH_BYTES: usize = 4096;

/// What a function needs of the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// How `write_linked` opens the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Replace,
    Append,
}

/// Why an operation in the jail failed.
#[derive(Debug)]
enum Refusal {
    /// An I/O error, classified by [`io_status`].
    Io(io::Error),
    /// A refusal of this module's own.
    Status(StatusCode, String),
}

impl From<io::Error> for Refusal {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

impl Refusal {
    fn explain(self) -> (StatusCode, String) {
        match self {
            Self::Io(error) => io_status(&error),
            Self::Status(code, reason) => (code, reason),
        }
    }
}

/// The status of an I/O error, and a reason for the log.
fn io_status(error: &io::Error) -> (StatusCode, String) {
    use io::ErrorKind as Kind;
    match error.kind() {
        Kind::NotFound => (StatusCode::ENOENT, "no such file or directory".to_owned()),
        // cap-std's own refusals carry no OS error code.
        Kind::PermissionDenied if error.raw_os_error().is_none() => (
            StatusCode::EACCESS,
            "refused: the path leads outside the jail root (through `..` or a symlink)".to_owned(),
        ),
        Kind::PermissionDenied | Kind::ReadOnlyFilesystem => {
            (StatusCode::EACCESS, format!("permission denied: {error}"))
        }
        Kind::StorageFull | Kind::QuotaExceeded | Kind::FileTooLarge => {
            (StatusCode::ENOMEM, format!("no space: {error}"))
        }
        Kind::IsADirectory => (StatusCode::EBOUND, "it is a directory".to_owned()),
        Kind::NotADirectory => (
            StatusCode::EBOUND,
            "the path, or a part of it, is a file where a directory is needed".to_owned(),
        ),
        Kind::InvalidInput | Kind::InvalidFilename => {
            (StatusCode::EBOUND, format!("invalid path: {error}"))
        }
        Kind::AlreadyExists => (
            StatusCode::EBOUND,
            "a file is in the way of the directory".to_owned(),
        ),
        _ => (StatusCode::EBOUND, error.to_string()),
    }
}

/// The run's jail.
fn jail<'a>(caller: &'a mut Caller<'_, RunState>) -> wasmtime::Result<&'a Jail> {
    caller
        .data_mut()
        .state_mut::<Jail>()
        .map(|jail| &*jail)
        .ok_or_else(|| wasmtime::format_err!("fs: the run has no jail"))
}

/// Spends one storage operation, reads the path argument, and checks that the grant allows
/// `access`. A refusal is logged.
fn begin(
    caller: &mut Caller<'_, RunState>,
    function: &str,
    ptr: i32,
    access: Access,
) -> wasmtime::Result<Result<String, StatusCode>> {
    caller.data_mut().charge(Budget::IoOps, 1)?;
    let path = match state::read_str(caller, ptr)? {
        Ok(path) => path,
        Err(code) => {
            let reason = unreadable_str(ptr, code);
            caller.data_mut().log(format!("fs.{function}: {reason}"));
            return Ok(Err(code));
        }
    };
    if path.len() > MAX_PATH_BYTES {
        caller.data_mut().log(format!(
            "fs.{function}: the path is {} bytes; paths are at most {MAX_PATH_BYTES} bytes",
            path.len()
        ));
        return Ok(Err(StatusCode::EBOUND));
    }
    let refusal = if Path::new(&path).has_root() {
        Some("absolute paths are refused: paths are relative to the jail root")
    } else if access == Access::Write && !jail(caller)?.writable {
        Some("refused: the grant is read-only")
    } else {
        None
    };
    if let Some(reason) = refusal {
        caller
            .data_mut()
            .log(format!("fs.{function} {path:?}: {reason}"));
        return Ok(Err(StatusCode::EACCESS));
    }
    Ok(Ok(path))
}

/// Runs `op` on the jail with the path (`""` is the root), logging a refusal.
fn in_jail<T>(
    caller: &mut Caller<'_, RunState>,
    function: &str,
    path: Result<String, StatusCode>,
    op: impl FnOnce(&Dir, &Path) -> Result<T, Refusal>,
) -> wasmtime::Result<Result<T, StatusCode>> {
    let path = match path {
        Ok(path) => path,
        Err(code) => return Ok(Err(code)),
    };
    let relative = if path.is_empty() { "." } else { path.as_str() };
    let result = op(&jail(caller)?.dir, Path::new(relative));
    Ok(result.map_err(|refusal| {
        let (code, reason) = refusal.explain();
        caller
            .data_mut()
            .log(format!("fs.{function} {path:?}: {reason}"));
        code
    }))
}

/// Refuses anything but a regular file (or nothing) at `path`: a directory cannot be read or
/// written as a file, and opening a named pipe would block. The file's metadata, if there is one.
fn expect_file(
    dir: &Dir,
    path: &Path,
    missing_ok: bool,
) -> Result<Option<cap_std::fs::Metadata>, Refusal> {
    match dir.metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta)),
        Ok(meta) if meta.is_dir() => Err(Refusal::Status(
            StatusCode::EBOUND,
            "it is a directory (fs.list lists it)".to_owned(),
        )),
        Ok(_) => Err(Refusal::Status(
            StatusCode::EBOUND,
            "it is not a regular file".to_owned(),
        )),
        Err(error) if missing_ok && error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Opens the file at `path` with `options` and checks what was opened, not the name (which may
/// have been swapped since it was looked at): only a regular file with no other hard link.
/// Opened non-blocking, so that a named pipe put in its place never holds the run (a write to
/// one without a reader fails at once).
fn open_file(dir: &Dir, path: &Path, options: &mut OpenOptions) -> Result<File, Refusal> {
    options.custom_flags(libc::O_NONBLOCK);
    let file = dir.open_with(path, options)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(Refusal::Status(
            StatusCode::EBOUND,
            "it is a directory (fs.list lists it)".to_owned(),
        ));
    }
    if !meta.is_file() {
        return Err(Refusal::Status(
            StatusCode::EBOUND,
            "it is not a regular file".to_owned(),
        ));
    }
    refuse_hard_links(meta.nlink())?;
    Ok(file)
}

/// A hard link names the same file as another name, which may be outside the jail: no path
/// check can tell, so a file with more than one name is neither read nor written.
fn refuse_hard_links(links: u64) -> Result<(), Refusal> {
    if links > 1 {
        return Err(Refusal::Status(
            StatusCode::EACCESS,
            format!(
                "refused: the file has {links} hard links, and another may lead outside the jail"
            ),
        ));
    }
    Ok(())
}

/// The file's bytes, if they fit in `cap` bytes of memory (with their length prefix).
fn read_file(dir: &Dir, path: &Path, cap: u64) -> Result<Vec<u8>, Refusal> {
    expect_file(dir, path, false)?;
    let too_big = |size: u64| {
        Refusal::Status(
            StatusCode::ENOMEM,
            format!("the file is {size} bytes; the run's memory holds at most {cap}"),
        )
    };
    let file = open_file(dir, path, OpenOptions::new().read(true))?;
    let size = file.metadata()?.len();
    if size.saturating_add(4) > cap {
        return Err(too_big(size));
    }
    // The file may grow after the check: read one byte past what fits, to notice.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(cap.saturating_sub(3)).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read.saturating_add(4) > cap {
        return Err(too_big(read));
    }
    Ok(bytes)
}

/// `fs.write` and `fs.append`: the path, the data, then the write.
fn write_linked(
    caller: &mut Caller<'_, RunState>,
    function: &str,
    path: i32,
    data: i32,
    mode: Mode,
) -> wasmtime::Result<i32> {
    let path = begin(caller, function, path, Access::Write)?;
    if path.is_err() {
        return Ok(status(path.map(drop)));
    }
    let data = match state::read_bytes(caller, data)? {
        Ok(data) => data,
        Err(code) => {
            caller
                .data_mut()
                .log(format!("fs.{function}: no data at address {data}"));
            return Ok(status(Err(code)));
        }
    };
    // The run's quota of bytes written, checked before anything is: a refusal writes nothing,
    // and spends nothing of it.
    let size = data.len() as u64;
    let left = caller.data().remaining(Budget::FsWriteBytes);
    let quota = caller.data().limits().max_fs_write_bytes;
    let over_quota = |cost: u64| {
        Refusal::Status(
            StatusCode::ENOMEM,
            format!(
                "refused: {cost} bytes would pass the run's quota of {quota} bytes written to files ({} written so far; a new file counts {FS_ENTRY_BYTES} more)",
                quota - left
            ),
        )
    };
    let mut spent = 0;
    let done = in_jail(caller, function, path, |dir, path| {
        let existing = expect_file(dir, path, true)?;
        if let Some(meta) = &existing {
            refuse_hard_links(meta.nlink())?;
        }
        let cost = size
            + if existing.is_some() {
                0
            } else {
                FS_ENTRY_BYTES
            };
        if cost > left {
            return Err(over_quota(cost));
        }
        let written = match mode {
            Mode::Replace => replace_file(dir, path, &data, existing.as_ref()),
            Mode::Append => append_file(dir, path, &data),
        };
        // An append that failed part of the way may have written some of it: counted whole.
        if written.is_ok() || (mode == Mode::Append && matches!(written, Err(Refusal::Io(_)))) {
            spent = cost;
        }
        written
    })?;
    caller.data_mut().charge(Budget::FsWriteBytes, spent)?;
    Ok(status(done))
}

/// Opening for writing: a missing directory and a FIFO put in place of the file (which fails at
/// once without a reader, as it is opened non-blocking) say what they are.
fn open_for_writing(dir: &Dir, path: &Path, options: &mut OpenOptions) -> Result<File, Refusal> {
    open_file(dir, path, options).map_err(|refusal| match refusal {
        Refusal::Io(error) if error.kind() == io::ErrorKind::NotFound => Refusal::Status(
            StatusCode::ENOENT,
            "its directory does not exist (fs.mkdir creates it)".to_owned(),
        ),
        Refusal::Io(error) if error.raw_os_error() == Some(libc::ENXIO) => {
            Refusal::Status(StatusCode::EBOUND, "it is not a regular file".to_owned())
        }
        other => other,
    })
}

/// `fs.write`: the data goes into a new file beside the old one, which is then renamed over
/// it. A reader sees the old contents or the new, never a mix, and a write that fails (a full
/// disk) leaves the old file as it was. Not synced to the disk: after a power loss the file may
/// hold its old contents.
fn replace_file(
    dir: &Dir,
    path: &Path,
    data: &[u8],
    existing: Option<&cap_std::fs::Metadata>,
) -> Result<(), Refusal> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let Some(parent) = path.parent() else {
        return Err(Refusal::Status(
            StatusCode::EBOUND,
            "the path names no file".to_owned(),
        ));
    };
    let temp = parent.join(format!(
        ".watsmith-write-{}-{}.tmp",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = open_for_writing(dir, &temp, OpenOptions::new().write(true).create_new(true))?;
    let written = file.write_all(data).and_then(|()| match existing {
        Some(meta) => file.set_permissions(meta.permissions()),
        None => Ok(()),
    });
    drop(file);
    let renamed = written.and_then(|()| dir.rename(&temp, dir, path));
    if let Err(error) = renamed {
        let _ = dir.remove_file(&temp);
        return Err(error.into());
    }
    Ok(())
}

/// `fs.append`: at the end of the file, created if missing.
fn append_file(dir: &Dir, path: &Path, data: &[u8]) -> Result<(), Refusal> {
    let mut file = open_for_writing(
        dir,
        path,
        OpenOptions::new().write(true).create(true).append(true),
    )?;
    Ok(file.write_all(data)?)
}

/// `fs.mkdir`: the directories of `path` that are missing, each counted in `made` as it is
/// created; refused before any is created if they would cost more than `left` bytes of the
/// run's write quota ([`FS_ENTRY_BYTES`] each).
fn make_dirs(dir: &Dir, path: &Path, left: u64, made: &mut u64) -> Result<(), Refusal> {
    let mut prefix = PathBuf::new();
    let mut missing = Vec::new();
    for component in path.components() {
        prefix.push(component);
        if missing.is_empty() {
            match dir.metadata(&prefix) {
                Ok(meta) if meta.is_dir() => continue,
                Ok(_) => {
                    return Err(Refusal::Status(
                        StatusCode::EBOUND,
                        "a file is in the way of the directory".to_owned(),
                    ));
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        missing.push(prefix.clone());
    }
    let cost = missing.len() as u64 * FS_ENTRY_BYTES;
    if cost > left {
        return Err(Refusal::Status(
            StatusCode::ENOMEM,
            format!(
                "refused: {} new directories count {cost} bytes against the run's quota of bytes written to files, and {left} are left",
                missing.len()
            ),
        ));
    }
    for level in &missing {
        match dir.create_dir(level) {
            Ok(()) => *made += 1,
            // Another process made it meanwhile.
            Err(error)
                if error.kind() == io::ErrorKind::AlreadyExists
                    && dir.metadata(level).is_ok_and(|m| m.is_dir()) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// The entries of the directory at `path`, sorted, directories with a `/`: ENOMEM as soon as
/// the names read so far, as array elements, would take more than `cap` bytes of host memory.
/// A name that is not UTF-8 is listed with U+FFFD for its invalid bytes.
fn list_dir(dir: &Dir, path: &Path, cap: u64) -> Result<Vec<String>, Refusal> {
    let mut names = Vec::new();
    let mut bytes = ARRAY_BYTES;
    for entry in dir.read_dir(path)? {
        let entry = entry?;
        let mut name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type()?;
        // A symlink counts as a directory when it leads to one inside the jail.
        let is_dir = kind.is_dir()
            || (kind.is_symlink() && dir.metadata(path.join(&name)).is_ok_and(|m| m.is_dir()));
        if is_dir {
            name.push('/');
        }
        bytes += ELEMENT_BYTES + name.len() as u64;
        if bytes > cap {
            return Err(Refusal::Status(
                StatusCode::ENOMEM,
                format!(
                    "the directory has more names than fit in the run's memory ({cap} bytes left; stopped after {} names)",
                    names.len()
                ),
            ));
        }
        names.push(name);
    }
    names.sort_unstable();
    Ok(names)
}

/// Deletes a file or symlink (never a directory).
fn delete_file(dir: &Dir, path: &Path) -> Result<(), Refusal> {
    if dir.symlink_metadata(path)?.is_dir() {
        return Err(Refusal::Status(
            StatusCode::EBOUND,
            "it is a directory; fs.delete deletes files only".to_owned(),
        ));
    }
    Ok(dir.remove_file(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A named pipe put where a file was checked (the race `expect_file` cannot close) is
    /// refused by what was opened, at once, for reading and for writing.
    #[test]
    fn a_named_pipe_is_refused_by_the_opened_descriptor_without_blocking() {
        let dir = tempfile::tempdir().expect("dir");
        let made = std::process::Command::new("mkfifo")
            .arg(dir.path().join("pipe"))
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let jail = Dir::open_ambient_dir(dir.path(), ambient_authority()).expect("opens");
        let read = open_file(&jail, Path::new("pipe"), OpenOptions::new().read(true));
        assert!(
            matches!(&read, Err(Refusal::Status(StatusCode::EBOUND, reason)) if reason.contains("not a regular file")),
            "{read:?}"
        );
        // No reader: a non-blocking open for writing fails at once (ENXIO).
        let write = open_file(&jail, Path::new("pipe"), OpenOptions::new().write(true));
        assert!(
            matches!(&write, Err(Refusal::Io(error)) if error.raw_os_error() == Some(libc::ENXIO)),
            "{write:?}"
        );
    }
}
