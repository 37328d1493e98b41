//! `--output-file FILE` on `list` and `audit`: standard output goes through
//! a pipe to a temporary file beside FILE, renamed over it only when the
//! run succeeded and every byte was written and synced, so a collector or a
//! spreadsheet never reads half a report, a failure (a full disk included)
//! never replaces the last good one, and nothing meant for the file reaches
//! the terminal. FILE must be a regular file (or a link to one) or not yet
//! exist: a device or a FIFO is never replaced.

use std::{
    fs::File,
    io::{BufWriter, Read, Write},
    os::fd::{AsFd, OwnedFd},
    path::{Path, PathBuf},
    thread::JoinHandle,
};

use tempfile::NamedTempFile;

use crate::{atomic, failure::Failure, terminal::escape};

/// Standard output sent to a temporary file until [`finish`](Self::finish).
pub struct OutputFile {
    /// The file the report replaces (a link's target).
    path: PathBuf,
    /// The standard output from before, put back at the end.
    saved: OwnedFd,
    /// Copies the pipe into the temporary file: the file, synced, or the
    /// first error.
    copier: JoinHandle<std::io::Result<NamedTempFile>>,
}

impl OutputFile {
    /// Sends standard output to a temporary file in FILE's directory. The
    /// file takes FILE's mode when FILE exists, else 644: a report is read
    /// by collectors that run as other users.
    pub fn begin(path: &Path) -> Result<Self, Failure> {
        let shown = escape(&path.display().to_string());
        let cannot = |e: std::io::Error| Failure::usage(format!("--output-file {shown}: {e}"));
        let (path, temp) = temp_for(path)?;
        let (read_end, write_end) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| cannot(e.into()))?;
        let copier = std::thread::Builder::new()
            .name("h2ogpte-keys-output-file".to_owned())
            .spawn(move || copy(File::from(read_end), temp))
            .map_err(cannot)?;
        std::io::stdout().lock().flush().map_err(cannot)?;
        let saved = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(cannot)?;
        rustix::stdio::dup2_stdout(&write_end).map_err(|e| cannot(e.into()))?;
        drop(write_end);
        Ok(Self {
            path,
            saved,
            copier,
        })
    }

    /// Puts standard output back; when `keep`, renames the report over FILE
    /// (and syncs the directory) if every byte reached it, else deletes it
    /// and leaves FILE as it was.
    pub fn finish(self, keep: bool) -> Result<(), Failure> {
        let shown = escape(&self.path.display().to_string());
        // Into the pipe, which the copier always drains: nothing stays
        // buffered to reach the real standard output later.
        let flushed = std::io::stdout().lock().flush();
        // Closes the pipe's last write end: the copier sees its end.
        let restored = rustix::stdio::dup2_stdout(&self.saved);
        let copied = self
            .copier
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the file writer stopped")));
        let cannot = |e: std::io::Error| {
            Failure::api(format!(
                "--output-file {shown}: the report could not be written whole ({e}); the file was left as it was"
            ))
        };
        restored.map_err(|e| cannot(e.into()))?;
        if !keep {
            return Ok(());
        }
        let temp = copied.map_err(cannot)?;
        flushed.map_err(cannot)?;
        atomic::place(temp, &self.path, true).map_err(cannot)
    }
}

/// Replaces `path` whole with `bytes`, by the same rules as a report: the
/// regular file there (or a link's), its mode kept; a device, a FIFO or a
/// directory is refused, never replaced.
pub fn replace_whole(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let shown = escape(&path.display().to_string());
    let cannot = |e: std::io::Error| Failure::usage(format!("--output-file {shown}: {e}"));
    let (path, mut temp) = temp_for(path)?;
    temp.write_all(bytes).map_err(cannot)?;
    temp.as_file().sync_all().map_err(cannot)?;
    atomic::place(temp, &path, true).map_err(cannot)
}

/// The file a report replaces ([`target`]) and a temporary file beside it
/// with its mode.
fn temp_for(path: &Path) -> Result<(PathBuf, NamedTempFile), Failure> {
    let shown = escape(&path.display().to_string());
    let cannot = |e: std::io::Error| Failure::usage(format!("--output-file {shown}: {e}"));
    let path =
        target(path).map_err(|why| Failure::usage(format!("--output-file {shown} {why}")))?;
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&path).map_or(0o644, |m| m.permissions().mode() & 0o777)
    };
    let temp = atomic::temp_beside(&path).map_err(cannot)?;
    #[cfg(unix)]
    temp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(cannot)?;
    Ok((path, temp))
}

/// The file a report replaces: FILE, or the regular file a link names; a
/// directory, a device, a FIFO or a socket is refused (why, in words).
fn target(path: &Path) -> Result<PathBuf, String> {
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path.to_owned()),
        Err(e) => return Err(format!(": {e}")),
        Ok(meta) => meta,
    };
    let (path, meta) = if meta.file_type().is_symlink() {
        let real = std::fs::canonicalize(path)
            .map_err(|e| format!("is a link that leads nowhere ({e})"))?;
        let meta = std::fs::metadata(&real).map_err(|e| format!(": {e}"))?;
        (real, meta)
    } else {
        (path.to_owned(), meta)
    };
    if meta.is_file() {
        Ok(path)
    } else if meta.is_dir() {
        Err("is a directory".to_owned())
    } else {
        Err("is not a regular file (a device, a FIFO or a socket), which a report never replaces: give a file's path, or redirect standard output instead".to_owned())
    }
}

/// Copies everything from `pipe` into `temp`, then syncs it. After a write
/// fails (a full disk), the rest is read and dropped, so the command never
/// blocks; the first error is returned.
fn copy(mut pipe: File, temp: NamedTempFile) -> std::io::Result<NamedTempFile> {
    let mut failed = None;
    {
        let mut out = BufWriter::new(temp.as_file());
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failed.get_or_insert(e);
                    break;
                }
            };
            if failed.is_none()
                && let Err(e) = out.write_all(&chunk[..n])
            {
                failed = Some(e);
            }
        }
        if failed.is_none()
            && let Err(e) = out.flush()
        {
            failed = Some(e);
        }
    }
    match failed {
        Some(e) => Err(e),
        None => temp.as_file().sync_all().map(|()| temp),
    }
}
