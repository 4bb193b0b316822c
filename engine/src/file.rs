//! Reading the operator's files (configuration, catalog programs, the store, transcripts, the
//! module cache's entries): regular files only, opened without blocking, read up to a bound.
//!
//! A FIFO opened for reading blocks until a writer comes, a device such as `/dev/zero` never
//! ends, and a symbolic link may lead to either. Every such file is opened with `O_NONBLOCK`
//! (which returns at once for a FIFO and changes nothing for a regular file), checked on the
//! opened descriptor (so a name swapped after a check cannot pass), and read one byte past its
//! bound, to notice a file that grows.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Nothing has that name.
    #[error("it does not exist")]
    NotFound,
    /// The name is a symbolic link to nothing.
    #[error("it is a link to `{}`, which does not exist", target.display())]
    DanglingLink {
        /// What the link names.
        target: PathBuf,
    },
    /// A directory, a FIFO, a socket or a device (through any links).
    #[error("it is {kind}, not a regular file")]
    NotRegular {
        /// What it is, with its article: `a directory`, `a FIFO`, `a character device`, ...
        kind: &'static str,
    },
    /// Longer than the bound for its kind of file.
    #[error("it is larger than {limit} bytes, the limit for this file")]
    TooLarge {
        /// The bound, in bytes.
        limit: u64,
    },
    /// Text expected, and it is not UTF-8.
    #[error("it is not UTF-8 text (at byte {at})")]
    NotUtf8 {
        /// Offset of the first byte that is not UTF-8.
        at: usize,
    },
    /// Any other failure of the system (permissions, I/O).
    #[error("{0}")]
    Io(std::io::Error),
}

impl FileError {
    /// Whether nothing has the name (a missing optional file is no error).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound)
    }

    fn from_open(path: &Path, error: std::io::Error) -> Self {
        if error.kind() != std::io::ErrorKind::NotFound {
            return Self::Io(error);
        }
        match std::fs::read_link(path) {
            Ok(target) => Self::DanglingLink { target },
            Err(_) => Self::NotFound,
        }
    }
}

/// What a file that is not regular is, as [`FileError::NotRegular`] names it.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

/// Opens `path` for reading without blocking and checks the opened file is a regular one.
pub fn open_regular(path: &Path) -> Result<File, FileError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| FileError::from_open(path, error))?;
    let file_type = file.metadata().map_err(FileError::Io)?.file_type();
    if !file_type.is_file() {
        return Err(FileError::NotRegular {
            kind: kind_of(file_type),
        });
    }
    Ok(file)
}

/// Whether `path` names a regular file (through links): `Ok(false)` if nothing has the name, an
/// error for a dangling link or anything else. What to check before a library (SQLite) opens a
/// file by name, since it would block on a FIFO.
pub fn is_regular_or_absent(path: &Path) -> Result<bool, FileError> {
    match open_regular(path) {
        Ok(_) => Ok(true),
        Err(FileError::NotFound) => Ok(false),
        Err(error) => Err(error),
    }
}

/// The bytes of the regular file at `path`, if it holds at most `limit` of them.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let file = open_regular(path)?;
    let size = file.metadata().map_err(FileError::Io)?.len();
    if size > limit {
        return Err(FileError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // The file may grow after the check: read one byte past the bound, to notice.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    Ok(bytes)
}

/// The UTF-8 text of the regular file at `path`, if it holds at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, FileError> {
    String::from_utf8(read_bounded(path, limit)?).map_err(|error| FileError::NotUtf8 {
        at: error.utf8_error().valid_up_to(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_bound_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.toml");
        std::fs::write(&file, "twelve bytes").expect("write");
        assert_eq!(read_text(&file, 12).expect("fits"), "twelve bytes");
        assert!(matches!(
            read_text(&file, 11),
            Err(FileError::TooLarge { limit: 11 })
        ));

        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        // Without O_NONBLOCK this open waits for a writer that never comes.
        let error = read_text(&fifo, 1 << 20).expect_err("a FIFO");
        assert_eq!(error.to_string(), "it is a FIFO, not a regular file");

        let error = read_bounded(Path::new("/dev/zero"), 1 << 20).expect_err("a device");
        assert_eq!(
            error.to_string(),
            "it is a character device, not a regular file"
        );
        let zero_link = dir.path().join("zero.wat");
        std::os::unix::fs::symlink("/dev/zero", &zero_link).expect("link");
        assert!(matches!(
            read_bounded(&zero_link, 1 << 20),
            Err(FileError::NotRegular {
                kind: "a character device"
            })
        ));

        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).expect("link");
        let error = read_text(&dangling, 10).expect_err("dangling");
        assert!(
            error.to_string().starts_with("it is a link to `")
                && error.to_string().ends_with("gone`, which does not exist"),
            "{error}"
        );
        assert!(
            read_text(&dir.path().join("absent"), 10)
                .expect_err("absent")
                .is_not_found()
        );
        assert!(!is_regular_or_absent(&dir.path().join("absent")).expect("absent is fine"));
        assert!(is_regular_or_absent(&file).expect("a file"));
        assert!(is_regular_or_absent(dir.path()).is_err());

        std::fs::write(&file, [b'a', 0xff]).expect("write");
        assert_eq!(
            read_text(&file, 10).expect_err("not text").to_string(),
            "it is not UTF-8 text (at byte 1)"
        );
    }
}
