//! What the numbers were measured on: the machine, and the Python interpreter that the
//! process-per-call scenario spawns.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Serialize, Serializer};

/// The machine, so that a pasted table says where it comes from.
#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    /// The CPU's model name (`/proc/cpuinfo`), when the system tells.
    pub(crate) cpu: Option<String>,
    /// Logical cores this process may use.
    pub(crate) cores: usize,
    /// Operating system family (`linux`, `macos`, ...).
    pub(crate) os: &'static str,
    /// CPU architecture.
    pub(crate) arch: &'static str,
    /// The distribution's name (`/etc/os-release`), when there is one.
    pub(crate) distribution: Option<String>,
    /// The kernel release (`/proc/sys/kernel/osrelease`), when the system tells.
    pub(crate) kernel: Option<String>,
}

impl Machine {
    /// The machine this process runs on.
    pub(crate) fn detect() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let cpu = read("/proc/cpuinfo").and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        });
        let distribution = read("/etc/os-release").and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_owned())
        });
        Self {
            cpu,
            cores: cores(),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            distribution,
            kernel: read("/proc/sys/kernel/osrelease").map(|text| text.trim().to_owned()),
        }
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cpu = self.cpu.as_deref().unwrap_or("unknown CPU");
        write!(f, "{cpu}, {} cores, {} {}", self.cores, self.os, self.arch)?;
        match (&self.distribution, &self.kernel) {
            (Some(distribution), Some(kernel)) => write!(f, " ({distribution}, kernel {kernel})"),
            (Some(distribution), None) => write!(f, " ({distribution})"),
            (None, Some(kernel)) => write!(f, " (kernel {kernel})"),
            (None, None) => Ok(()),
        }
    }
}

/// Logical cores this process may use (1 when the system does not say).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The Python interpreter to spawn, resolved past version-manager shims.
#[derive(Debug, Serialize)]
pub(crate) struct Interpreter {
    /// The real interpreter: its `sys.executable`, canonicalized. This is what is spawned.
    #[serde(serialize_with = "lossy")]
    pub(crate) path: PathBuf,
    /// What was found on `PATH` (or given with `--python`); a pyenv or asdf shim is a script
    /// that execs the real interpreter, so spawning it would time the shim as well.
    #[serde(serialize_with = "lossy")]
    pub(crate) found: PathBuf,
    /// `python3 --version`.
    pub(crate) version: String,
}

/// Serialises a path as text, replacing what is not UTF-8.
fn lossy<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}

impl Interpreter {
    /// Finds `name` (a bare name is looked up in `search_path`, the value of `PATH`; anything
    /// with a directory is taken as it is), asks it for `sys.executable` and canonicalizes
    /// that. The error says why there is no interpreter to spawn.
    pub(crate) fn resolve(name: &Path, search_path: Option<OsString>) -> Result<Self, String> {
        let found = if name.components().count() > 1 {
            name.to_owned()
        } else {
            search_path
                .iter()
                .flat_map(std::env::split_paths)
                .map(|dir| dir.join(name))
                .find(|candidate| is_executable(candidate))
                .ok_or_else(|| format!("`{}` is not on PATH", name.display()))?
        };
        let executable = run_python(&found, &["-c", "import sys; print(sys.executable)"])?;
        // `sys.executable` is empty when Python cannot tell; the file found is the best guess.
        let real = if executable.is_empty() {
            found.clone()
        } else {
            PathBuf::from(executable)
        };
        let path = real
            .canonicalize()
            .map_err(|e| format!("cannot resolve `{}`: {e}", real.display()))?;
        let version = run_python(&path, &["--version"])?;
        Ok(Self {
            path,
            found,
            version,
        })
    }
}

/// Runs the interpreter at `path` with `args` and gives what it printed, trimmed (Python 2 and
/// early 3 print `--version` on stderr, so stderr counts when stdout is empty).
fn run_python(path: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", path.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`{} {}` failed ({}): {}",
            path.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if stdout.is_empty() {
        Ok(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    } else {
        Ok(stdout)
    }
}

/// Whether `path` is a file this user may execute (any file, where permissions have no
/// execute bit).
pub(crate) fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = path.metadata() else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_missing_from_path_is_reported_not_spawned() {
        let empty = tempfile::tempdir().expect("temp dir");
        let error = Interpreter::resolve(
            Path::new("python3"),
            Some(std::env::join_paths([empty.path()]).expect("joins")),
        )
        .expect_err("nothing there");
        assert_eq!(error, "`python3` is not on PATH");
        let error = Interpreter::resolve(Path::new("python3"), None).expect_err("no PATH");
        assert_eq!(error, "`python3` is not on PATH");
    }

    #[test]
    fn the_machine_names_its_core_count_and_system() {
        let machine = Machine::detect();
        assert!(machine.cores >= 1);
        let text = machine.to_string();
        assert!(
            text.contains(&format!(
                "{} cores, {}",
                machine.cores,
                std::env::consts::OS
            )),
            "{text}"
        );
    }
}
