//! The rotation journal: each rotation's next step, written before it is
//! taken, so that a run killed between steps (SIGKILL, a reboot) is
//! finished or undone by `rotate --resume`. One JSON file per state
//! directory, rewritten atomically (temporary file, sync, rename, directory
//! sync) at every step, holding only unfinished rotations and never a
//! secret; a lock file keeps a second run of the tool out meanwhile.

use std::{
    fs::File,
    io::{Read, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{atomic, failure::Failure, terminal::escape};

/// The journal's format; a newer one is refused, never rewritten.
pub const FORMAT: u32 = 1;

/// The journal's and its lock's names in the state directory, for the
/// server whose API base URL is `server`: `rotations-HOST_PORT.json` and
/// `.lock`, with every character but letters, digits, `.` and `-` as `_`.
fn file_names(server: &str) -> (String, String) {
    let place = h2ogpte_api_keys::reqwest::Url::parse(server)
        .ok()
        .map(|u| {
            let host = u.host_str().unwrap_or("").to_owned();
            match u.port_or_known_default() {
                Some(port) => format!("{host}_{port}"),
                None => host,
            }
        })
        .unwrap_or_else(|| server.to_owned());
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
        format!("rotations-{place}.json"),
        format!("rotations-{place}.lock"),
    )
}

/// The name of the list of new keys whose rotations finished while others
/// were open, beside the journal.
fn done_name(journal: &Path) -> PathBuf {
    journal.with_extension("done")
}
/// Largest journal read.
const MAX_BYTES: u64 = 64 << 20;

/// Environment variable of the XDG base directory for state.
const XDG_STATE_HOME: &str = "XDG_STATE_HOME";

/// The state directory: `--state-dir`, else `$XDG_STATE_HOME/h2ogpte-keys`,
/// else `~/.local/state/h2ogpte-keys`.
pub fn state_dir(flag: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(dir) = flag {
        return Ok(dir.to_owned());
    }
    let base = std::env::var_os(XDG_STATE_HOME)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".local/state"))
        })
        .ok_or_else(|| {
            Failure::usage(
                "no state directory: set XDG_STATE_HOME or HOME, or pass --state-dir DIR",
            )
        })?;
    Ok(base.join("h2ogpte-keys"))
}

/// A rotation's step, as far as it is known to have gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// About to bring the old key's expiry forward (with an overlap) and
    /// create the new key: either may have happened. Undone by putting the
    /// expiry back; a key the create may have made is named.
    Creating,
    /// The new key exists (`new_key_id`); its secret may not have been
    /// delivered. Finished when the secret file holds it; else undone by
    /// deleting the key and putting the expiry back.
    Created,
    /// The secret was delivered; the old key is to be retired. Finished by
    /// retiring it.
    Delivered,
}

impl Step {
    /// The step as the journal writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Creating => "creating",
            Step::Created => "created",
            Step::Delivered => "delivered",
        }
    }
}

/// How the old key is retired, as the journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Retirement {
    Deactivate,
    Delete,
    /// Its expiry was brought forward; nothing is left to do once the
    /// secret is delivered.
    Expire,
}

/// One unfinished rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The key being replaced: one open rotation per key.
    pub old_key_id: String,
    pub username: String,
    pub user_id: String,
    pub name: String,
    /// The old key's expiry before the rotation, to put back on undo.
    pub old_expires_at: Option<DateTime<Utc>>,
    pub retire: Retirement,
    /// Where the secret goes, in words.
    pub secret_to: String,
    /// The file the secret goes to, for a file sink: a resumed rotation
    /// that finds the new key's secret there knows it was delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    pub started_at: DateTime<Utc>,
    pub step: Step,
    /// The new key, from step `created` on.
    pub new_key_id: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The file's contents.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    format: u32,
    /// The API base URL the rotations were made on.
    server: String,
    rotations: Vec<Entry>,
}

/// An open journal: the state directory locked, the entries in memory, each
/// change written through.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// New keys of the rotations finished since the journal was last
    /// empty, a line each: `rotate --resume` never takes one of them for a
    /// key an interrupted create made, though they share a user and a name.
    done: PathBuf,
    contents: Mutex<Contents>,
    /// Held for the journal's life.
    _lock: File,
}

impl Journal {
    /// Opens (or starts) the journal in `dir` for `server`, the API base URL.
    /// A journal that is corrupt, from a newer version of the tool or of
    /// another server is refused with what to do; another run holding the
    /// directory is refused too.
    pub fn open(dir: &Path, server: &str) -> Result<Self, Failure> {
        let shown = escape(&dir.display().to_string());
        create_private_dir(dir).map_err(|e| {
            Failure::usage(format!(
                "cannot create the state directory {shown}: {e}; pass --state-dir DIR"
            ))
        })?;
        let (file, lock_file) = file_names(server);
        let lock = lock(&dir.join(lock_file)).map_err(|e| {
            Failure::usage(format!(
                "the rotation journal in {shown} is in use by another h2ogpte-keys run on this server ({e}): wait for it to end"
            ))
        })?;
        let path = dir.join(file);
        let contents = match File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents {
                format: FORMAT,
                server: server.to_owned(),
                rotations: Vec::new(),
            },
            Err(e) => {
                return Err(Failure::usage(format!(
                    "cannot read the rotation journal {}: {e}",
                    escape(&path.display().to_string())
                )));
            }
            Ok(file) => read(file, &path, server)?,
        };
        let done = done_name(&path);
        if contents.rotations.is_empty() {
            let _ = std::fs::remove_file(&done);
        }
        Ok(Self {
            path,
            done,
            contents: Mutex::new(contents),
            _lock: lock,
        })
    }

    /// The unfinished rotations.
    pub fn entries(&self) -> Vec<Entry> {
        self.guard().rotations.clone()
    }

    /// The open rotation of this old key, if any.
    pub fn get(&self, old_key_id: &str) -> Option<Entry> {
        self.guard()
            .rotations
            .iter()
            .find(|e| e.old_key_id == old_key_id)
            .cloned()
    }

    /// Records `entry` (replacing the one of its old key) and writes the
    /// journal; on failure the journal in memory is as before.
    pub fn put(&self, mut entry: Entry) -> Result<(), String> {
        entry.updated_at = now();
        let mut contents = self.guard();
        let before = contents.rotations.clone();
        match contents
            .rotations
            .iter_mut()
            .find(|e| e.old_key_id == entry.old_key_id)
        {
            Some(slot) => *slot = entry,
            None => contents.rotations.push(entry),
        }
        self.save(&contents)
            .inspect_err(|_| contents.rotations = before)
    }

    /// Forgets the rotation of this old key (finished or undone). A new
    /// key that was delivered is kept in the list of finished ones while
    /// other rotations are open.
    pub fn remove(&self, old_key_id: &str) -> Result<(), String> {
        let mut contents = self.guard();
        let Some(at) = contents
            .rotations
            .iter()
            .position(|e| e.old_key_id == old_key_id)
        else {
            return Ok(());
        };
        let entry = contents.rotations.remove(at);
        if let (Step::Delivered, Some(new)) = (entry.step, &entry.new_key_id) {
            // Not synced: lost only to a crash of the machine, and then
            // `--resume` names one key too many, never one too few.
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.done)
                .and_then(|mut f| writeln!(f, "{new}"));
            if let Err(e) = appended {
                tracing::debug!(error = %e, "the list of finished rotations was not written");
            }
        }
        let saved = self.save(&contents);
        if contents.rotations.is_empty() && saved.is_ok() {
            let _ = std::fs::remove_file(&self.done);
        }
        saved
    }

    /// The new keys of the rotations finished since the journal was last
    /// empty.
    pub fn finished_keys(&self) -> std::collections::HashSet<String> {
        let mut text = String::new();
        let _ = File::open(&self.done).and_then(|f| f.take(MAX_BYTES).read_to_string(&mut text));
        text.lines().map(str::to_owned).collect()
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, Contents> {
        // A panic elsewhere cannot leave the list half-changed: every change
        // is one assignment.
        self.contents.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the journal atomically: temporary file, sync, rename,
    /// directory sync.
    fn save(&self, contents: &Contents) -> Result<(), String> {
        let text = serde_json::to_vec_pretty(contents).map_err(|e| e.to_string())?;
        atomic::write(&self.path, &text).map_err(|e| {
            format!(
                "cannot write the rotation journal {}: {e}",
                escape(&self.path.display().to_string())
            )
        })
    }
}

/// The unfinished rotations of `server` in `dir`, read without the lock
/// (for the audit; a rotation may be running): none when there is no
/// journal.
pub fn peek(dir: &Path, server: &str) -> Result<Vec<Entry>, Failure> {
    let path = dir.join(file_names(server).0);
    match File::open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Failure::usage(format!(
            "cannot read the rotation journal {}: {e}",
            escape(&path.display().to_string())
        ))),
        Ok(file) => Ok(read(file, &path, server)?.rotations),
    }
}

/// Reads and checks a journal file.
fn read(file: File, path: &Path, server: &str) -> Result<Contents, Failure> {
    let shown = escape(&path.display().to_string());
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format!("cannot read the rotation journal {shown}: {e}")))?;
    let keep =
        "it was left as it is; move it aside only once you have checked the keys it names by hand";
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Failure::usage(format!(
            "the rotation journal {shown} is larger than {} MiB, which no run writes: {keep}",
            MAX_BYTES >> 20
        )));
    }
    // The format first, so that a newer journal is named as such.
    let format = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64));
    if let Some(format) = format
        && format > u64::from(FORMAT)
    {
        return Err(Failure::usage(format!(
            "the rotation journal {shown} is of format {format}, written by a newer h2ogpte-keys: finish it with that version (`rotate --resume`); {keep}"
        )));
    }
    let contents: Contents = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::usage(format!(
            "the rotation journal {shown} is corrupt ({}): {keep}",
            escape(&e.to_string())
        ))
    })?;
    if contents.format != FORMAT {
        return Err(Failure::usage(format!(
            "the rotation journal {shown} is of unknown format {}: {keep}",
            contents.format
        )));
    }
    if contents.server != server && !contents.rotations.is_empty() {
        return Err(Failure::usage(format!(
            "the rotation journal {shown} holds unfinished rotations on {}, not {}: finish them there (`rotate --resume` against that server), or use another --state-dir for this one",
            escape(&contents.server),
            escape(server)
        )));
    }
    Ok(Contents {
        server: server.to_owned(),
        ..contents
    })
}

/// Creates `dir` (and its parents) with mode 0700 where it does not exist.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Takes the journal's lock without waiting.
fn lock(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    #[cfg(unix)]
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)?;
    Ok(file)
}

/// The current time.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            old_key_id: id.to_owned(),
            username: "alice".to_owned(),
            user_id: "u-alice".to_owned(),
            name: "ci".to_owned(),
            old_expires_at: None,
            retire: Retirement::Deactivate,
            secret_to: "file x".to_owned(),
            secret_file: None,
            started_at: now(),
            step: Step::Creating,
            new_key_id: None,
            updated_at: now(),
        }
    }

    #[test]
    fn entries_survive_a_reopen_and_a_second_run_is_kept_out() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::open(dir.path(), "http://a/api/v1").expect("open");
        let other = Journal::open(dir.path(), "http://b:8080/api/v1").expect("another server's");
        drop(other);
        journal.put(entry("k1")).expect("put");
        journal.put(entry("k2")).expect("put");
        journal.remove("k1").expect("remove");
        assert!(Journal::open(dir.path(), "http://a/api/v1").is_err());
        drop(journal);
        let again = Journal::open(dir.path(), "http://a/api/v1").expect("reopen");
        let ids: Vec<String> = again.entries().into_iter().map(|e| e.old_key_id).collect();
        assert_eq!(ids, ["k2"]);
        drop(again);
        // A journal copied from another server's name is refused.
        let (a, _) = file_names("http://a/api/v1");
        let (b, _) = file_names("http://b/api/v1");
        std::fs::copy(dir.path().join(a), dir.path().join(b)).expect("copy");
        let other = Journal::open(dir.path(), "http://b/api/v1").expect_err("other server");
        assert!(
            other.message.contains("http://a/api/v1"),
            "{}",
            other.message
        );
    }

    #[test]
    fn corrupt_and_newer_journals_are_refused_and_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(file_names("s").0);
        std::fs::write(&path, b"{\"format\": 1, \"server\": ").expect("write");
        let e = Journal::open(dir.path(), "s").expect_err("corrupt");
        assert!(e.message.contains("corrupt"), "{}", e.message);
        std::fs::write(&path, br#"{"format": 9, "rest": true}"#).expect("write");
        let e = Journal::open(dir.path(), "s").expect_err("newer");
        assert!(e.message.contains("newer"), "{}", e.message);
        assert_eq!(
            std::fs::read(&path).expect("kept"),
            br#"{"format": 9, "rest": true}"#
        );
    }
}
