//! A command's outputs as one set: each file is written to a staging place beside its final
//! one, and only a command that succeeds moves them all into place, so a failed or
//! interrupted run leaves the previous outputs whole, and a failed first run leaves nothing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::lock::{parent_and_name, DirLock};
use super::{hold_partial, release_partial, target, write_atomic, Target};

/// The file that marks a directory as aeclust's output, so that an image folder that holds
/// one (a run's `--out` inside its `--data`) leaves it out.
pub const OUTPUT_MARKER: &str = ".aeclust-output";
/// What the marker file says.
pub const MARKER_TEXT: &[u8] = b"written by aeclust\n";

/// A directory of outputs: locked, and staged in a directory beside it.
struct StagedDir {
    target: PathBuf,
    staging: PathBuf,
    _lock: DirLock,
}

/// Outputs written as one set (see the module).
pub struct OutputSet {
    /// (final place, staged file), in the order they were staged.
    files: Vec<(PathBuf, PathBuf)>,
    dir: Option<StagedDir>,
    /// Files of earlier runs to remove when the set is put in place.
    stale: Vec<PathBuf>,
    /// Directories created for the set, removed again (when empty) unless it is put in place.
    created: Vec<PathBuf>,
    committed: bool,
}

impl OutputSet {
    /// Outputs anywhere, each staged beside its final place.
    pub fn loose() -> Self {
        OutputSet {
            files: Vec::new(),
            dir: None,
            stale: Vec::new(),
            created: Vec::new(),
            committed: false,
        }
    }

    /// Outputs in the directory `target` (created when the set is put in place), locked
    /// against a second run and staged in `.<name>.aeclust-staging` beside it.
    pub fn directory(target: &Path) -> Result<Self> {
        if target.exists() && !target.is_dir() {
            bail!("--out {} exists and is not a directory", target.display());
        }
        let (parent, name) = parent_and_name(target)?;
        let mut set = OutputSet::loose();
        set.create_dir_all(&parent)?;
        let lock = DirLock::acquire(target)?;
        let staging = parent.join(format!(".{name}.aeclust-staging"));
        // Left by a run that was killed; the lock says no run is using it now.
        if staging.exists() {
            fs::remove_dir_all(&staging)
                .with_context(|| format!("cannot remove {}", staging.display()))?;
        }
        fs::create_dir(&staging)
            .with_context(|| format!("cannot write into {}", parent.display()))?;
        hold_partial(&staging);
        set.dir = Some(StagedDir {
            target: target.to_path_buf(),
            staging,
            _lock: lock,
        });
        Ok(set)
    }

    /// The directory of a directory set.
    pub fn target_dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|dir| dir.target.as_path())
    }

    /// A path beside the directory of a directory set: `<name>.<suffix>` in its parent.
    pub fn beside(&self, suffix: &str) -> Result<PathBuf> {
        beside(
            self.target_dir().context("not a directory of outputs")?,
            suffix,
        )
    }

    /// The final places of the files staged so far.
    pub fn staged_places(&self) -> Vec<PathBuf> {
        self.files.iter().map(|(place, _)| place.clone()).collect()
    }

    /// Creates `dir` and its missing parents, remembering which it created.
    pub fn create_dir_all(&mut self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut current = Some(dir);
        while let Some(d) = current.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            current = d.parent();
        }
        for d in missing.into_iter().rev() {
            fs::create_dir(&d).with_context(|| format!("cannot create {}", d.display()))?;
            self.created.push(d);
        }
        Ok(())
    }

    /// Where to write the output whose final place is `path`.
    pub fn stage(&mut self, path: &Path) -> Result<PathBuf> {
        let staged = match &self.dir {
            Some(dir) => {
                let relative = path.strip_prefix(&dir.target).with_context(|| {
                    format!("{} is not inside {}", path.display(), dir.target.display())
                })?;
                let staged = dir.staging.join(relative);
                if let Some(parent) = staged.parent() {
                    fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                staged
            }
            None => {
                let parent = super::parent_dir(path).to_path_buf();
                self.create_dir_all(&parent)?;
                let name = path
                    .file_name()
                    .with_context(|| format!("{} is not a file path", path.display()))?;
                let staged = parent.join(format!(
                    ".{}.aeclust-staged-{}",
                    name.to_string_lossy(),
                    std::process::id()
                ));
                hold_partial(&staged);
                staged
            }
        };
        self.files.push((path.to_path_buf(), staged.clone()));
        Ok(staged)
    }

    /// Removes `path`, a file of an earlier run, when the set is put in place.
    pub fn remove_when_placed(&mut self, path: PathBuf) {
        self.stale.push(path);
    }

    /// Moves every output into its final place (a link's target for a link, written through
    /// for a character device), removes the stale files, and returns the final places.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        if let Some(dir) = &self.dir {
            fs::create_dir_all(&dir.target)
                .with_context(|| format!("cannot create {}", dir.target.display()))?;
            write_atomic(&dir.target.join(OUTPUT_MARKER), MARKER_TEXT)?;
        }
        // Devices first: writing through one can fail (/dev/full), and then no file has been
        // replaced yet. Renames do not fail but for reasons checked before the work.
        let (devices, files): (Vec<_>, Vec<_>) = self
            .files
            .iter()
            .partition(|(place, _)| matches!(target(place), Ok(Target::Device(_))));
        for (place, staged) in devices.into_iter().chain(files) {
            if let Some(parent) = place.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            put_in_place(staged, place)?;
        }
        for path in &self.stale {
            fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
        self.committed = true;
        Ok(self.files.iter().map(|(place, _)| place.clone()).collect())
    }
}

/// A path beside the directory `dir`: `<name>.<suffix>` in its parent.
pub fn beside(dir: &Path, suffix: &str) -> Result<PathBuf> {
    let (parent, name) = parent_and_name(dir)?;
    Ok(parent.join(format!("{name}.{suffix}")))
}

/// Moves `staged` to `place` as `write_atomic` would write it there.
fn put_in_place(staged: &Path, place: &Path) -> Result<()> {
    let moved = match target(place)? {
        Target::File(file) => fs::rename(staged, &file).is_ok(),
        Target::Device(_) => false,
    };
    if !moved {
        // Another file system, or a device: copy.
        let bytes =
            fs::read(staged).with_context(|| format!("cannot read {}", staged.display()))?;
        write_atomic(place, &bytes)?;
        let _ = fs::remove_file(staged);
    }
    release_partial(staged);
    Ok(())
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if !self.committed {
            for (_, staged) in &self.files {
                let _ = fs::remove_file(staged);
                release_partial(staged);
            }
        }
        if let Some(dir) = &self.dir {
            let _ = fs::remove_dir_all(&dir.staging);
            release_partial(&dir.staging);
        }
        if !self.committed {
            for dir in self.created.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
        }
    }
}
