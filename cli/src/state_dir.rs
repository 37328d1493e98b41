//! Where the tool keeps what outlives a run: the state directory, and the
//! library's rotation journal in it ([`FileJournal`]), its errors worded
//! with the flag that changes the directory.

use std::path::{Path, PathBuf};

use h2ogpte_api_keys::{
    Client,
    rotation::{Entry, FileJournal, JournalError, Memory},
};

use crate::{args::Global, failure::Failure, terminal::escape};

/// Environment variable of the XDG base directory for state.
const XDG_STATE_HOME: &str = "XDG_STATE_HOME";

/// The state directory: `--state-dir`, else `$XDG_STATE_HOME/h2ogpte-keys`,
/// else `~/.local/state/h2ogpte-keys`.
pub fn state_dir(flag: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(dir) = flag {
        return Ok(dir.to_owned());
    }
    let base = xdg_base(XDG_STATE_HOME, ".local/state").ok_or_else(|| {
        Failure::usage("no state directory: set XDG_STATE_HOME or HOME, or pass --state-dir DIR")
    })?;
    Ok(base.join("h2ogpte-keys"))
}

/// An XDG base directory: `$var` when it is absolute, else `$HOME/fallback`.
pub fn xdg_base(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(fallback))
        })
}

/// The rotation journal of `client`'s server in the state directory,
/// locked for this run (a second run is refused, exit 2).
pub fn open_journal(client: &Client, g: &Global) -> Result<FileJournal, Failure> {
    let dir = state_dir(g.state_dir.as_deref())?;
    FileJournal::open(&dir, client.base_url().as_str()).map_err(journal_failure)
}

/// What the journal of `client`'s server remembers, read without its lock
/// (a dry run and the audit change nothing; a rotation may be running).
pub fn peek_journal(client: &Client, g: &Global) -> Result<Memory, Failure> {
    let dir = state_dir(g.state_dir.as_deref())?;
    let entries: Vec<Entry> =
        FileJournal::peek(&dir, client.base_url().as_str()).map_err(journal_failure)?;
    Ok(Memory::new(entries))
}

/// A journal that cannot be used: a usage failure (exit 2) that names its
/// cause, and the flag that picks another directory where that helps.
pub fn journal_failure(e: JournalError) -> Failure {
    let text = escape(&e.to_string());
    match e {
        JournalError::Io { .. } | JournalError::Unsafe { .. } => {
            Failure::usage(format!("{text}; or pass --state-dir DIR"))
        }
        _ => Failure::usage(text),
    }
}
