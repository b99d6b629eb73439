//! Walking a folder as people fill one: links followed (each folder read once, so a loop
//! ends), and what is not read said with a reason: hidden entries, broken links, files that
//! are not regular files, aeclust's own output folders, folders excluded by the caller.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::names::escape;
use crate::identity::FileId;
use crate::output::OUTPUT_MARKER;

/// A file left out of the data, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Its path relative to the data folder (escaped as [`super::names::escape`] does); a
    /// folder left out whole ends with `/`.
    pub name: String,
    pub why: &'static str,
}

pub const HIDDEN: &str = "hidden (its name starts with a dot)";
pub const BROKEN_LINK: &str = "a link that leads nowhere (to nothing, or round a loop)";
pub const NOT_A_FILE: &str = "not a regular file";
pub const READ_TWICE: &str = "a folder already read through another path";

/// One entry of a folder, links followed.
pub struct Entry {
    pub path: PathBuf,
    pub name: OsString,
    pub is_dir: bool,
    pub id: FileId,
}

/// Walks the folders below one root.
pub struct Walker<'a> {
    root: &'a Path,
    /// Folders never read (the output directory of this run), by identity.
    excluded: &'a [FileId],
    visited: HashSet<FileId>,
    pub skipped: Vec<Skipped>,
    /// Output folders left out, by name.
    pub outputs_left_out: Vec<String>,
}

impl<'a> Walker<'a> {
    pub fn new(root: &'a Path, excluded: &'a [FileId]) -> Self {
        let visited = FileId::of(root).into_iter().collect();
        Walker {
            root,
            excluded,
            visited,
            skipped: Vec::new(),
            outputs_left_out: Vec::new(),
        }
    }

    /// `path` relative to the root, as text.
    pub fn name_of(&self, path: &Path) -> String {
        escape(path.strip_prefix(self.root).unwrap_or(path).as_os_str())
    }

    fn skip(&mut self, path: &Path, folder: bool, why: &'static str) {
        let mut name = self.name_of(path);
        if folder {
            name.push('/');
        }
        self.skipped.push(Skipped { name, why });
    }

    /// The entries of `dir` that are read, sorted by name; the others are recorded.
    pub fn entries(&mut self, dir: &Path) -> Result<Vec<Entry>> {
        let listing =
            fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        let mut entries = Vec::new();
        for entry in listing {
            let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
            let (path, name) = (entry.path(), entry.file_name());
            let meta = match fs::metadata(&path) {
                Ok(meta) => meta,
                Err(_) if fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) => {
                    self.skip(&path, false, BROKEN_LINK);
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            let is_dir = meta.is_dir();
            if name == OUTPUT_MARKER {
                // aeclust's own mark on a folder it wrote, which is being read as data.
                continue;
            }
            if name.as_encoded_bytes().starts_with(b".") {
                self.skip(&path, is_dir, HIDDEN);
                continue;
            }
            if !is_dir && !meta.is_file() {
                self.skip(&path, false, NOT_A_FILE);
                continue;
            }
            let id = FileId::of_metadata(&meta);
            if is_dir && self.excluded.contains(&id) {
                continue;
            }
            if is_dir && path.join(OUTPUT_MARKER).is_file() {
                let name = self.name_of(&path);
                self.outputs_left_out.push(name);
                continue;
            }
            entries.push(Entry {
                path,
                name,
                is_dir,
                id,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Every file below `dir`, through links, each folder once; sorted by path so that the
    /// order is the same on every machine.
    pub fn files_below(&mut self, dir: &Path) -> Result<Vec<Entry>> {
        let mut files = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            for entry in self.entries(&current)? {
                if !entry.is_dir {
                    files.push(entry);
                } else if self.visited.insert(entry.id) {
                    pending.push(entry.path);
                } else {
                    self.skip(&entry.path, true, READ_TWICE);
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// Marks `dir` as read, or says it was read before (and records it as skipped).
    pub fn enter(&mut self, dir: &Entry) -> bool {
        let first = self.visited.insert(dir.id);
        if !first {
            self.skip(&dir.path, true, READ_TWICE);
        }
        first
    }

    /// Records every file below `dir` as left out, for `why`.
    pub fn skip_all(&mut self, dir: &Path, why: &'static str) -> Result<()> {
        for file in self.files_below(dir)? {
            self.skip(&file.path, false, why);
        }
        Ok(())
    }

    /// Records `file` as left out, for `why`.
    pub fn skip_file(&mut self, file: &Path, why: &'static str) {
        self.skip(file, false, why);
    }
}
