//! Files by identity: the device and inode a path leads to, through links, so that an output
//! is never one of the inputs whatever names point at them.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// A file or directory, whatever path names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// What `path` leads to (through links), or `None` when nothing is there.
    pub fn of(path: &Path) -> Option<FileId> {
        std::fs::metadata(path)
            .ok()
            .map(|m| FileId::of_metadata(&m))
    }

    pub fn of_metadata(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// `path` as an absolute path without links, `.` or `..`, also when it does not exist yet:
/// the nearest folder above it that exists, resolved, with the rest of the path after it.
pub fn absolute(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut current = path;
    loop {
        if let Ok(resolved) = current.canonicalize() {
            return rest.iter().rev().fold(resolved, |p, part| p.join(part));
        }
        match (current.parent(), current.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                current = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Fails when two of `outputs` are the same file (by path, or by identity through links).
pub fn refuse_duplicates(outputs: &[&Path]) -> Result<()> {
    for (i, a) in outputs.iter().enumerate() {
        for b in &outputs[i + 1..] {
            let same_id = FileId::of(a).is_some() && FileId::of(a) == FileId::of(b);
            if same_id || absolute(a) == absolute(b) {
                bail!(
                    "{} and {} are the same file; give each output a file of its own",
                    a.display(),
                    b.display()
                );
            }
        }
    }
    Ok(())
}

/// The files a command reads, by identity, each with the path it was read through.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    files: HashMap<FileId, PathBuf>,
}

impl Inputs {
    /// Adds `path` (nothing when it does not exist: reading it fails on its own).
    pub fn add(&mut self, path: &Path) {
        if let Some(id) = FileId::of(path) {
            self.files.entry(id).or_insert_with(|| path.to_path_buf());
        }
    }

    /// Adds `path` when there is one.
    pub fn extend_path(&mut self, path: Option<&Path>) {
        if let Some(path) = path {
            self.add(path);
        }
    }

    /// Adds a file whose identity is already known.
    pub fn add_id(&mut self, id: FileId, path: PathBuf) {
        self.files.entry(id).or_insert(path);
    }

    pub fn extend(&mut self, other: &Inputs) {
        for (id, path) in &other.files {
            self.files.entry(*id).or_insert_with(|| path.clone());
        }
    }

    /// The input that `path` is, if it is one.
    pub fn find(&self, path: &Path) -> Option<&Path> {
        FileId::of(path).and_then(|id| self.files.get(&id).map(PathBuf::as_path))
    }

    /// Fails when writing (or removing) any of `outputs` would touch an input.
    pub fn refuse_outputs<'a>(&self, outputs: impl IntoIterator<Item = &'a Path>) -> Result<()> {
        for output in outputs {
            if let Some(input) = self.find(output) {
                if input == output {
                    bail!(
                        "{} is an input of this command; it cannot also be an output",
                        output.display()
                    );
                }
                bail!(
                    "{} is the input {} (the same file); it cannot also be an output",
                    output.display(),
                    input.display()
                );
            }
        }
        Ok(())
    }
}
