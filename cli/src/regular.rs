//! Files that must be regular files (a user map, the audit's state, a
//! secret file read back): opened without blocking, so a FIFO or a device
//! planted there is refused at once instead of holding the tool past any
//! signal.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

/// Opens `path` for reading if it is a regular file (a link to one
/// counts): without blocking on a FIFO, and refused otherwise.
pub fn open(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(
            "not a regular file (a FIFO, a device or a directory)",
        ));
    }
    Ok(file)
}
