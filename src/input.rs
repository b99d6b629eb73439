//! The files a command is given to read: regular files only, since a FIFO would leave the
//! reader waiting and a device such as `/dev/zero` would never end.

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Fails unless `path` leads (through links) to a regular file.
pub fn check_file(path: &Path) -> Result<()> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{} does not exist", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if meta.is_file() {
        return Ok(());
    }
    bail!("{} is {}, not a file", path.display(), kind_of(&meta))
}

/// What a file that is not a regular file is, in words: "a directory", "a FIFO", ...
pub fn kind_of(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_file() {
        "a file"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "a socket"
    }
}

/// The bytes of the regular file at `path`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    check_file(path)?;
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The regular file at `path`, opened for reading.
pub fn open(path: &Path) -> Result<fs::File> {
    check_file(path)?;
    fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))
}
