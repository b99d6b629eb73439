//! The lock that keeps a second run out of an output directory while one writes to it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{hold_partial, release_partial};
use crate::identity::{absolute, FileId};

/// An output directory held by one process: a second run into it is refused while the first
/// holds it. The lock is the operating system's (a killed run leaves none held), taken on a
/// file beside the directory, so that a run that fails before writing leaves no directory
/// behind; the file is removed again when the lock is dropped.
pub struct DirLock {
    path: PathBuf,
    _file: fs::File,
}

/// The directory `dir` leads to (through links, `.` and `..`) as a parent and a name, so that
/// two paths to one directory share its lock and its staging directory.
pub(super) fn parent_and_name(dir: &Path) -> Result<(PathBuf, String)> {
    let named = absolute(dir);
    match (named.parent(), named.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            Ok((parent.to_path_buf(), name.to_string_lossy().into_owned()))
        }
        _ => bail!("cannot use {} as an output directory", dir.display()),
    }
}

impl DirLock {
    /// The lock file of `dir`: `.<name>.aeclust-lock` beside it.
    pub fn file_of(dir: &Path) -> Result<PathBuf> {
        let (parent, name) = parent_and_name(dir)?;
        Ok(parent.join(format!(".{name}.aeclust-lock")))
    }

    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = Self::file_of(dir)?;
        let cannot = || format!("cannot lock {}", dir.display());
        loop {
            let file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .with_context(cannot)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => bail!(
                    "another aeclust run is writing to {} (it holds {}); wait for it or choose \
                     another --out",
                    dir.display(),
                    path.display()
                ),
                Err(fs::TryLockError::Error(e)) => return Err(e).with_context(cannot),
            }
            // The holder before us removes the file as it lets go; a lock on a removed file
            // holds nothing, so lock the file that is there now.
            let locked = FileId::of_metadata(&file.metadata().with_context(cannot)?);
            if FileId::of(&path) == Some(locked) {
                hold_partial(&path);
                return Ok(DirLock { path, _file: file });
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Removed while still locked, then closed.
        let _ = fs::remove_file(&self.path);
        release_partial(&self.path);
    }
}
