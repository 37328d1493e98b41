//! `audit --state FILE`: what the audit remembers between runs, per key:
//! when it was first seen, first seen inactive, and its findings at the
//! last run. Each finding is then `new` or `open`, and the findings since
//! cleared are `fixed` (or `gone`, with their key). The file is rewritten
//! atomically, and only after a complete listing.

use std::{
    collections::HashMap,
    io::Read,
    path::{Path, PathBuf},
};

use chrono::{DateTime, Utc};
use h2ogpte_api_keys::{KeyState, policy::FindingCode, types::ApiKeyInfo};
use serde::{Deserialize, Serialize};

use crate::{atomic, failure::Failure, terminal::escape};

/// The state file's format; a newer one is refused, never rewritten.
const FORMAT: u32 = 1;
/// Largest state file read: some million keys.
const MAX_BYTES: u64 = 1 << 30;

/// What is remembered of one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remembered {
    pub username: String,
    pub name: String,
    pub first_seen: DateTime<Utc>,
    /// When it was first seen not working; `None` while it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_inactive: Option<DateTime<Utc>>,
    /// Its findings at the last run, as a set of [`FindingCode::ALL`]
    /// positions (in the file, their codes).
    #[serde(default, with = "codes", skip_serializing_if = "is_zero")]
    pub findings: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Finding codes as a bit set, written as their codes.
mod codes {
    use h2ogpte_api_keys::policy::FindingCode;
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(set: &u32, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for (at, code) in FindingCode::ALL.iter().enumerate() {
            if set & (1 << at) != 0 {
                seq.serialize_element(code.as_str())?;
            }
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let names = Vec::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(names
            .iter()
            .map(|name| super::bit_of(name))
            .fold(0, |set, bit| set | bit))
    }
}

/// The bit of a finding code's name; none for a code this version does
/// not know.
fn bit_of(name: &str) -> u32 {
    FindingCode::ALL
        .iter()
        .position(|c| c.as_str() == name)
        .map_or(0, |at| 1 << at)
}

/// The bit set of `codes`.
fn set_of(codes: &[FindingCode]) -> u32 {
    codes
        .iter()
        .fold(0, |set, code| set | bit_of(code.as_str()))
}

/// The codes of a bit set, in report order.
fn codes_of(set: u32) -> impl Iterator<Item = FindingCode> {
    FindingCode::ALL
        .into_iter()
        .enumerate()
        .filter(move |(at, _)| set & (1 << at) != 0)
        .map(|(_, code)| code)
}

/// The file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    format: u32,
    /// The API base URL audited.
    server: String,
    /// When the last complete audit ran.
    audited_at: Option<DateTime<Utc>>,
    keys: HashMap<String, Remembered>,
}

/// The file's format alone, read before the rest so that a newer file is
/// named as such.
#[derive(Deserialize)]
struct Head {
    format: Option<u64>,
}

/// A finding's standing against the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// Not found at the last run.
    New,
    /// Found at the last run too.
    Open,
    /// Found at the last run, not now.
    Fixed,
    /// Found at the last run on a key no longer listed.
    Gone,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::New => "new",
            Standing::Open => "open",
            Standing::Fixed => "fixed",
            Standing::Gone => "gone",
        }
    }
}

/// A finding of the last run that is no more.
pub struct Cleared {
    pub id: String,
    pub username: String,
    pub name: String,
    pub code: FindingCode,
    pub standing: Standing,
}

/// The state of the last run, and this run's as keys are seen: each key
/// seen moves from `before` to `now`, so memory holds one entry per key.
pub struct AuditMemory {
    path: PathBuf,
    server: String,
    before: HashMap<String, Remembered>,
    last_run: Option<DateTime<Utc>>,
    now: HashMap<String, Remembered>,
    /// Findings of keys seen this run that the last run had and this one
    /// has not.
    fixed: Vec<Cleared>,
}

impl AuditMemory {
    /// Reads the state file (none yet is an empty state). A file that is
    /// corrupt, newer, or of another server is refused and left as it is.
    pub fn load(path: &Path, server: &str) -> Result<Self, Failure> {
        let shown = escape(&path.display().to_string());
        let keep = "it was left as it is: point --state at another file to start afresh";
        let cannot =
            |e: &dyn std::fmt::Display| Failure::usage(format!("cannot read --state {shown}: {e}"));
        let open =
            || crate::regular::open(path).map(|f| std::io::BufReader::new(f.take(MAX_BYTES)));
        let contents = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(cannot(&e)),
            Ok(file) => {
                if std::fs::metadata(path).map_err(|e| cannot(&e))?.len() > MAX_BYTES {
                    return Err(Failure::usage(format!(
                        "--state {shown} is larger than {} MiB: {keep}",
                        MAX_BYTES >> 20
                    )));
                }
                // Read as a stream twice: the format, then the whole.
                let format = serde_json::from_reader::<_, Head>(file)
                    .ok()
                    .and_then(|h| h.format);
                if format.is_some_and(|f| f > u64::from(FORMAT)) {
                    return Err(Failure::usage(format!(
                        "--state {shown} was written by a newer h2ogpte-keys: use that version; {keep}"
                    )));
                }
                let file = open().map_err(|e| cannot(&e))?;
                let contents: Contents = serde_json::from_reader(file).map_err(|e| {
                    Failure::usage(format!(
                        "--state {shown} is not an audit state file ({}): {keep}",
                        escape(&e.to_string())
                    ))
                })?;
                if contents.server != server {
                    return Err(Failure::usage(format!(
                        "--state {shown} remembers the keys of {}, not {}: {keep}",
                        escape(&contents.server),
                        escape(server)
                    )));
                }
                Some(contents)
            }
        };
        let (before, last_run) =
            contents.map_or_else(|| (HashMap::new(), None), |c| (c.keys, c.audited_at));
        Ok(Self {
            path: path.to_owned(),
            server: server.to_owned(),
            now: HashMap::with_capacity(before.len()),
            before,
            last_run,
            fixed: Vec::new(),
        })
    }

    /// When a key that is not working now was first seen so: at an earlier
    /// run, else now.
    pub fn first_inactive(&self, id: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        self.before
            .get(id)
            .and_then(|k| k.first_inactive)
            .unwrap_or(now)
    }

    /// Remembers `key` with all its findings (`codes`), says of each
    /// whether it is new or open, and keeps the ones it no longer has as
    /// fixed.
    pub fn see(
        &mut self,
        key: &ApiKeyInfo,
        now: DateTime<Utc>,
        codes: &[FindingCode],
    ) -> Vec<Standing> {
        let before = self.before.remove(&key.id);
        let was = before.as_ref().map_or(0, |b| b.findings);
        let standing = codes
            .iter()
            .map(|code| {
                if was & bit_of(code.as_str()) != 0 {
                    Standing::Open
                } else {
                    Standing::New
                }
            })
            .collect();
        let is = set_of(codes);
        for code in codes_of(was & !is) {
            self.fixed.push(Cleared {
                id: key.id.clone(),
                username: key.username.clone(),
                name: key.name.clone(),
                code,
                standing: Standing::Fixed,
            });
        }
        let active = KeyState::of(key, now).is_active();
        let first_seen = before.as_ref().map_or(now, |b| b.first_seen);
        let first_inactive = if active {
            None
        } else {
            before.as_ref().and_then(|b| b.first_inactive).or(Some(now))
        };
        // The last run's strings are reused when they still hold.
        let (username, name) = match before {
            Some(b) if b.username == key.username && b.name == key.name => (b.username, b.name),
            _ => (key.username.clone(), key.name.clone()),
        };
        self.now.insert(
            key.id.clone(),
            Remembered {
                username,
                name,
                first_seen,
                first_inactive,
                findings: is,
            },
        );
        standing
    }

    /// The findings of the last run that are no more: fixed on keys still
    /// listed, gone with their keys; and how many keys are gone. With
    /// `listed_all` false (a `--filter` run), keys not listed are kept as
    /// they were, not taken for gone.
    pub fn cleared(&mut self, listed_all: bool) -> (Vec<Cleared>, u64) {
        let mut cleared = std::mem::take(&mut self.fixed);
        let left = std::mem::take(&mut self.before);
        if !listed_all {
            self.now.extend(left);
            return (cleared, 0);
        }
        let gone = left.len() as u64;
        let mut left: Vec<(String, Remembered)> = left.into_iter().collect();
        left.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, was) in left {
            for code in codes_of(was.findings) {
                cleared.push(Cleared {
                    id: id.clone(),
                    username: was.username.clone(),
                    name: was.name.clone(),
                    code,
                    standing: Standing::Gone,
                });
            }
        }
        (cleared, gone)
    }

    /// When the last complete run was.
    pub fn last_run(&self) -> Option<DateTime<Utc>> {
        self.last_run
    }

    /// Writes this run's state, atomically.
    pub fn save(self, audited_at: DateTime<Utc>) -> Result<(), Failure> {
        let contents = Contents {
            format: FORMAT,
            server: self.server,
            audited_at: Some(audited_at),
            keys: self.now,
        };
        let shown = escape(&self.path.display().to_string());
        atomic::write_with(&self.path, true, |out| {
            serde_json::to_writer(out, &contents).map_err(std::io::Error::from)
        })
        .map_err(|e| {
            Failure::api(format!(
                "cannot write --state {shown}: {e}; the state of the last run was left as it was"
            ))
        })
    }
}
