//! `--output-file FILE` on `list` and `audit`: standard output goes to a
//! temporary file beside FILE, renamed over it only when the run succeeded,
//! so a collector or a spreadsheet never reads half a report and a failure
//! never replaces the last good one.

use std::{
    io::Write,
    os::fd::{AsFd, OwnedFd},
    path::{Path, PathBuf},
};

use tempfile::NamedTempFile;

use crate::{atomic, failure::Failure, terminal::escape};

/// Standard output sent to a temporary file until [`finish`](Self::finish).
pub struct OutputFile {
    path: PathBuf,
    temp: NamedTempFile,
    /// The standard output from before, put back at the end.
    saved: OwnedFd,
}

impl OutputFile {
    /// Sends standard output to a temporary file in FILE's directory. The
    /// file takes FILE's mode when FILE exists, else 644: a report is read
    /// by collectors that run as other users.
    pub fn begin(path: &Path) -> Result<Self, Failure> {
        let shown = escape(&path.display().to_string());
        let cannot = |e: std::io::Error| Failure::usage(format!("--output {shown}: {e}"));
        if path.is_dir() {
            return Err(Failure::usage(format!("--output {shown} is a directory")));
        }
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o777)
        };
        let temp = atomic::temp_beside(path).map_err(cannot)?;
        #[cfg(unix)]
        temp.as_file()
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
            .map_err(cannot)?;
        std::io::stdout().lock().flush().map_err(cannot)?;
        let saved = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(cannot)?;
        rustix::stdio::dup2_stdout(temp.as_file()).map_err(|e| cannot(e.into()))?;
        Ok(Self {
            path: path.to_owned(),
            temp,
            saved,
        })
    }

    /// Puts standard output back; when `keep`, syncs the report and renames
    /// it over FILE (and syncs the directory), else deletes it and leaves
    /// FILE as it was.
    pub fn finish(self, keep: bool) -> Result<(), Failure> {
        let shown = escape(&self.path.display().to_string());
        let flushed = std::io::stdout().lock().flush();
        let restored = rustix::stdio::dup2_stdout(&self.saved);
        let cannot = |e: std::io::Error| {
            Failure::api(format!(
                "--output {shown}: {e}; the file was left as it was"
            ))
        };
        restored.map_err(|e| cannot(e.into()))?;
        if !keep {
            return Ok(());
        }
        flushed.map_err(cannot)?;
        atomic::place(self.temp, &self.path, true).map_err(cannot)
    }
}
