//! A [`Journal`] in a file that outlives the process: one per server in a
//! private state directory, appended a line per step and synced before the
//! step is taken, compacted when opened, locked against a second run, and
//! never opened through a link or as anything but a regular file.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Write},
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use rustix::fs::OFlags;
use serde::{Deserialize, Serialize};

use crate::rotation::{Entry, Journal, JournalError, journal::upsert, now_utc};

/// The file's format: a header line, then a line per recorded step. A
/// newer one is refused, never rewritten.
pub const FORMAT: u64 = 2;

/// Largest journal read.
const MAX_BYTES: u64 = 64 << 20;

/// The first line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: u64,
    /// The normalised server URL the rotations were made on.
    server: String,
}

/// A journal in `DIR/rotations-<server>.jsonl`, locked by
/// `DIR/rotations-<server>.lock` while open.
///
/// The directory must belong to the user running the process and be
/// private (mode 700; it is created so); neither it, the lock nor the
/// journal may be a symbolic link, and the journal must be a regular file.
/// Settled rotations are kept until [`Entry::remember_until`], then
/// dropped when the journal is next opened.
#[derive(Debug, Clone)]
pub struct FileJournal {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    state: Mutex<State>,
    /// Held while the journal is open.
    _lock: File,
}

#[derive(Debug)]
struct State {
    /// Opened for appending; `None` once a failed write could not be
    /// taken back (nothing more is recorded).
    file: Option<File>,
    /// The file's length after the last whole line.
    len: u64,
    entries: Vec<Entry>,
}

impl FileJournal {
    /// Opens (or starts) the journal of `server` (its URL, normalised with
    /// [`normalised_server`]) in `dir`, creating `dir` with mode 700 where
    /// it does not exist. Refuses, with what to do: a directory that is a
    /// link, another user's, or open to others; a journal that is corrupt,
    /// newer, or another server's; another run holding the lock. Blocks
    /// on file system calls only.
    pub fn open(dir: impl AsRef<Path>, server: &str) -> Result<Self, JournalError> {
        let dir = dir.as_ref();
        let server = normalised_server(server);
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|source| JournalError::Io {
            action: "create the directory of",
            path: dir.to_owned(),
            source,
        })?;
        check_dir(dir)?;
        let (name, lock_name) = file_names(&server);
        let lock = lock(&dir.join(lock_name))?;
        let path = dir.join(name);
        let mut entries = read(&path, &server)?.unwrap_or_default();
        let now = now_utc();
        entries.retain(|e| e.remember_until().is_none_or(|until| until > now));
        let len = rewrite(&path, &server, &entries)?;
        let file = open_regular(&path, OFlags::WRONLY | OFlags::APPEND, 0).map_err(|source| {
            JournalError::Io {
                action: "open",
                path: path.clone(),
                source,
            }
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                state: Mutex::new(State {
                    file: Some(file),
                    len,
                    entries,
                }),
                _lock: lock,
            }),
        })
    }

    /// The entries of `server`'s journal in `dir`, read without the lock
    /// (a rotation may be running) and without changing anything: none
    /// when there is no journal. The same checks as [`open`](Self::open).
    pub fn peek(dir: impl AsRef<Path>, server: &str) -> Result<Vec<Entry>, JournalError> {
        let dir = dir.as_ref();
        let server = normalised_server(server);
        match std::fs::symlink_metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            _ => check_dir(dir)?,
        }
        let path = dir.join(file_names(&server).0);
        Ok(read(&path, &server)?.unwrap_or_default())
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Appends `entry` as a line and syncs it; a write that fails is taken
    /// back (the file cut to its last whole line), so the next one starts
    /// clean.
    fn append(&self, entry: &Entry) -> Result<(), JournalError> {
        let path = &self.inner.path;
        let mut line = serde_json::to_vec(entry).map_err(|e| JournalError::Other(e.to_string()))?;
        line.push(b'\n');
        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        let len = state.len;
        let Some(file) = state.file.as_mut() else {
            return Err(JournalError::Other(format!(
                "an earlier write to {} could not be taken back, so nothing more is recorded: free the disk, then resume",
                path.display()
            )));
        };
        let written = file.write_all(&line).and_then(|()| file.sync_data());
        if let Err(source) = written {
            if file.set_len(len).and_then(|()| file.sync_data()).is_err() {
                state.file = None;
            }
            return Err(JournalError::Io {
                action: "write",
                path: path.clone(),
                source,
            });
        }
        state.len = len + line.len() as u64;
        upsert(&mut state.entries, entry.clone());
        Ok(())
    }
}

impl Journal for FileJournal {
    async fn record(&self, entry: &Entry) -> Result<(), JournalError> {
        let (journal, entry) = (self.clone(), entry.clone());
        tokio::task::spawn_blocking(move || journal.append(&entry))
            .await
            .map_err(|e| JournalError::Other(format!("the journal's writer stopped: {e}")))?
    }

    async fn entries(&self) -> Result<Vec<Entry>, JournalError> {
        let state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        Ok(state.entries.clone())
    }
}

/// A server URL as journals are named and checked by: scheme, host in
/// lower case (`localhost` as `127.0.0.1`, no trailing dot), the port
/// (the scheme's default made explicit) and the path without a trailing
/// slash; a URL that does not parse is kept as given.
pub fn normalised_server(server: &str) -> String {
    let Ok(url) = url::Url::parse(server.trim()) else {
        return server.trim().to_owned();
    };
    let host = url.host_str().unwrap_or("").trim_end_matches('.');
    let host = match host.to_ascii_lowercase().as_str() {
        "localhost" => "127.0.0.1".to_owned(),
        other => other.to_owned(),
    };
    let port = url
        .port_or_known_default()
        .map_or_else(String::new, |p| format!(":{p}"));
    let path = url.path().trim_end_matches('/');
    format!("{}://{host}{port}{path}", url.scheme())
}

/// The journal's and its lock's names for a normalised server: every
/// character but letters, digits, `.` and `-` as `_`.
fn file_names(server: &str) -> (String, String) {
    let place = server.split_once("://").map_or(server, |(_, rest)| rest);
    let place: String = place
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        format!("rotations-{place}.jsonl"),
        format!("rotations-{place}.lock"),
    )
}

/// The state directory is a real directory, this user's, and private.
fn check_dir(dir: &Path) -> Result<(), JournalError> {
    let unsafe_dir = |why: String| JournalError::Unsafe {
        path: dir.to_owned(),
        why,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(|source| JournalError::Io {
        action: "inspect the directory of",
        path: dir.to_owned(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir(
            "is a symbolic link: give the directory it points to".to_owned(),
        ));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("is not a directory".to_owned()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(unsafe_dir(format!(
            "belongs to user {}, not to this one ({me}): the journal lives only in a directory of your own",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "has mode {mode:o}: others could plant a journal there; make it private (chmod 700)"
        )));
    }
    Ok(())
}

/// Opens `path` without following a link, without blocking on a FIFO, and
/// only if it is a regular file of this user.
fn open_regular(path: &Path, flags: OFlags, mode: u32) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .read(flags.contains(OFlags::RDWR) || !flags.contains(OFlags::WRONLY))
        .write(flags.intersects(OFlags::WRONLY | OFlags::RDWR))
        .append(flags.contains(OFlags::APPEND))
        .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC).bits() as i32);
    if mode != 0 {
        options.create(true).mode(mode);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(std::io::Error::other("it belongs to another user"));
    }
    Ok(file)
}

/// Takes the lock without waiting.
fn lock(path: &Path) -> Result<File, JournalError> {
    let file =
        open_regular(path, OFlags::WRONLY, 0o600).map_err(|source| JournalError::Unsafe {
            path: path.to_owned(),
            why: format!("cannot be opened as this user's regular file ({source}): remove it"),
        })?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(JournalError::Locked {
            path: path.to_owned(),
        }),
        Err(e) => Err(JournalError::Io {
            action: "lock",
            path: path.to_owned(),
            source: e.into(),
        }),
    }
}

/// Reads and checks a journal: `None` when there is none. A last line cut
/// short (a write a crash interrupted, never confirmed) is dropped; any
/// other bad line makes it corrupt.
fn read(path: &Path, server: &str) -> Result<Option<Vec<Entry>>, JournalError> {
    let corrupt = |detail: String| JournalError::Corrupt {
        path: path.to_owned(),
        detail,
    };
    let file = match open_regular(path, OFlags::RDONLY, 0) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(JournalError::Unsafe {
                path: path.to_owned(),
                why: format!(
                    "cannot be read as this user's regular file ({source}): it was left as it is"
                ),
            });
        }
        Ok(file) => file,
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| JournalError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(corrupt(format!(
            "larger than {} MiB, which no run writes",
            MAX_BYTES >> 20
        )));
    }
    // A last line without its newline was never confirmed: dropped.
    let whole = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => &bytes[..=end],
        None => &[][..],
    };
    let text = std::str::from_utf8(whole).map_err(|_| corrupt("not UTF-8".to_owned()))?;
    let mut lines = text.lines();
    let Some(first) = lines.next() else {
        return Ok(Some(Vec::new()));
    };
    let format = serde_json::from_str::<serde_json::Value>(first)
        .ok()
        .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64));
    match format {
        Some(f) if f > FORMAT => {
            return Err(JournalError::Newer {
                path: path.to_owned(),
                format: f,
            });
        }
        Some(FORMAT) => {}
        _ => return Err(corrupt("no header line of this version".to_owned())),
    }
    let header: Header =
        serde_json::from_str(first).map_err(|e| corrupt(format!("header: {e}")))?;
    let mut entries = Vec::new();
    for (at, line) in lines.enumerate() {
        let entry: Entry =
            serde_json::from_str(line).map_err(|e| corrupt(format!("line {}: {e}", at + 2)))?;
        upsert(&mut entries, entry);
    }
    if header.server != server && !entries.is_empty() {
        return Err(JournalError::OtherServer {
            path: path.to_owned(),
            server: header.server,
        });
    }
    Ok(Some(entries))
}

/// Writes the journal whole (header and one line per entry): a private
/// temporary file beside it, synced, renamed over it, the directory
/// synced. Returns its length.
fn rewrite(path: &Path, server: &str, entries: &[Entry]) -> Result<u64, JournalError> {
    let io = |action| {
        move |source| JournalError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let mut text = serde_json::to_vec(&Header {
        format: FORMAT,
        server: server.to_owned(),
    })
    .map_err(|e| JournalError::Other(e.to_string()))?;
    text.push(b'\n');
    for entry in entries {
        text.extend(serde_json::to_vec(entry).map_err(|e| JournalError::Other(e.to_string()))?);
        text.push(b'\n');
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = path.with_extension(format!("jsonl.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags((OFlags::NOFOLLOW | OFlags::CLOEXEC).bits() as i32)
        .open(&temp)
        .and_then(|mut f| f.write_all(&text).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path))
        .and_then(|()| File::open(dir)?.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io("write")(e));
    }
    Ok(text.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_spelled_differently_share_one_journal() {
        let a = normalised_server("http://LOCALHOST:8080/api/v1/");
        assert_eq!(a, "http://127.0.0.1:8080/api/v1");
        assert_eq!(a, normalised_server("http://127.0.0.1:8080/api/v1"));
        assert_eq!(
            normalised_server("https://h2ogpte.example./api/v1"),
            "https://h2ogpte.example:443/api/v1"
        );
        assert_eq!(file_names(&a).0, "rotations-127.0.0.1_8080_api_v1.jsonl");
    }
}
