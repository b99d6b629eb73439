//! Writing output files so that a reader never sees half of one, and nothing that is not a
//! regular file is ever replaced.
//!
//! - A regular file (or a new path) is written to a temporary file beside it, synced, then
//!   renamed over it: it holds its old content or the new one, never a mix.
//! - A symbolic link is followed: its target is written that way, and the link stays.
//! - A character device (`/dev/null`, a terminal) is written through, and its errors
//!   (`/dev/full`: no space left) are errors.
//! - Anything else (a FIFO, a socket, a block device, a directory) is refused.
//!
//! Temporary files still being written are listed, so that an interrupted process removes
//! them on its way out (`remove_partial_files`).
//!
//! [`OutputSet`] puts a command's outputs in place together, only when it succeeds.

mod lock;
mod set;

pub use lock::DirLock;
pub use set::{beside, OutputSet, MARKER_TEXT, OUTPUT_MARKER};

use std::fs;
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};

/// Temporary files being written now, and staging directories.
static PARTIAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Symbolic links followed before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Where a write to `path` lands.
enum Target {
    /// A regular file, or nothing yet: replaced atomically.
    File(PathBuf),
    /// A character device: written through.
    Device(PathBuf),
}

/// Follows `path` through any symbolic links and says how it is written.
fn target(path: &Path) -> Result<Target> {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::File(path)),
            Err(e) => return Err(e).with_context(|| format!("cannot write {}", path.display())),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let link = fs::read_link(&path)
                .with_context(|| format!("cannot follow the link {}", path.display()))?;
            path = match path.parent() {
                Some(dir) => dir.join(link),
                None => link,
            };
        } else if kind.is_file() {
            return Ok(Target::File(path));
        } else if kind.is_char_device() {
            return Ok(Target::Device(path));
        } else {
            let what = if kind.is_dir() {
                "a directory"
            } else if kind.is_fifo() {
                "a FIFO"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "a block device"
            };
            bail!(
                "cannot write {}: it is {what}, not a regular file",
                path.display()
            );
        }
    }
    bail!("cannot write {}: too many symbolic links", path.display())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` as the module's rules say: atomically for a file (through a
/// link to its target), through for a character device.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file = match target(path)? {
        Target::Device(device) => {
            return fs::OpenOptions::new()
                .write(true)
                .open(&device)
                .and_then(|mut f| f.write_all(bytes).and_then(|()| f.flush()))
                .with_context(|| format!("cannot write {}", path.display()));
        }
        Target::File(file) => file,
    };
    let name = file
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = parent_dir(&file).join(format!("{}{}", temp_prefix(name), std::process::id()));
    hold_partial(&tmp);
    let result = (|| -> std::io::Result<()> {
        let mut out = fs::File::create(&tmp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
        fs::rename(&tmp, &file)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    release_partial(&tmp);
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// How the temporary files of [`write_atomic`] for a file called `name` begin (the writer's
/// process id follows).
fn temp_prefix(name: &std::ffi::OsStr) -> String {
    format!(".{}.tmp-", name.to_string_lossy())
}

/// Removes the temporary files that writers of `path` killed mid-write (SIGKILL cannot be
/// caught) left beside it: those whose process no longer runs.
pub fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let prefix = temp_prefix(name);
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let pid = entry_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|pid| pid.parse::<libc::pid_t>().ok());
        if pid.is_some_and(|pid| !process_runs(pid)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` exists (ours included).
fn process_runs(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Removes the temporary files and staging directories of writes still in progress (for a
/// process about to exit on an interrupt).
pub fn remove_partial_files() {
    let partial = match PARTIAL.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    for tmp in partial.iter() {
        let _ = fs::remove_file(tmp).or_else(|_| fs::remove_dir_all(tmp));
    }
}

/// Lists `path` (a temporary file or directory) for removal on an interrupt.
fn hold_partial(path: &Path) {
    PARTIAL
        .lock()
        .expect("partial files")
        .push(path.to_path_buf());
}

/// Takes `path` off that list.
fn release_partial(path: &Path) {
    PARTIAL.lock().expect("partial files").retain(|p| p != path);
}

/// Fails early, before hours of work, when `path` could not be written later: what is there
/// must be a file, a link to one, a character device or nothing, in a directory we can write
/// in.
pub fn check_writable(path: &Path) -> Result<()> {
    check_in(path, false)
}

/// Like [`check_writable`] for a file of an [`OutputSet`], which creates the folders it is
/// in: the nearest folder above it that exists must be a directory we can write in.
pub fn check_placeable(path: &Path) -> Result<()> {
    check_in(path, true)
}

fn check_in(path: &Path, create_dirs: bool) -> Result<()> {
    let file = match target(path)? {
        Target::Device(_) => return Ok(()),
        Target::File(file) => file,
    };
    let mut dir = parent_dir(&file);
    while create_dirs && !dir.exists() {
        dir = parent_dir(dir);
    }
    if !dir.is_dir() {
        bail!(
            "cannot write {}: {} is not a directory",
            path.display(),
            dir.display()
        );
    }
    // Asked of the system rather than by writing a probe file, which a killed process could
    // leave among the outputs.
    let c_dir = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    // SAFETY: `c_dir` is a NUL-terminated path that lives through the call.
    if unsafe { libc::access(c_dir.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}
