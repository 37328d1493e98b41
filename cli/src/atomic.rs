//! Files replaced whole or not at all: written to a temporary file beside
//! the target (mode 600 unless asked otherwise), synced, renamed over it,
//! and the directory synced, so a reader sees the old file or the new one,
//! never a part, and a crash keeps one of them.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
};

use tempfile::NamedTempFile;

/// The directory a file is in (`.` for a bare name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// How a temporary file's name starts: hidden, and recognisable.
pub const TEMP_PREFIX: &str = ".h2ogpte-keys-";
/// How it ends.
pub const TEMP_SUFFIX: &str = ".tmp";

/// A temporary file beside `path`, named so it is hidden and recognisable.
pub fn temp_beside(path: &Path) -> std::io::Result<NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(parent_of(path))
}

/// Syncs `temp` and renames it to `path` (over a file there only when
/// `replace`; else an `AlreadyExists` error), then syncs the directory.
pub fn place(temp: NamedTempFile, path: &Path, replace: bool) -> std::io::Result<()> {
    temp.as_file().sync_all()?;
    let placed = if replace {
        temp.persist(path).map(drop)
    } else {
        temp.persist_noclobber(path).map(drop)
    };
    placed.map_err(|e| e.error)?;
    File::open(parent_of(path))?.sync_all()
}

/// Writes `path` whole with what `write` writes through a buffer,
/// replacing the file there when `replace`.
pub fn write_with(
    path: &Path,
    replace: bool,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut temp = temp_beside(path)?;
    {
        let mut out = BufWriter::new(temp.as_file_mut());
        write(&mut out)?;
        out.flush()?;
    }
    place(temp, path, replace)
}
