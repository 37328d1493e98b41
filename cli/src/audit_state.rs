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

use crate::{failure::Failure, journal::write_atomically, terminal::escape};

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
    /// Its finding codes at the last run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
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
    pub key: Remembered,
    pub code: FindingCode,
    pub standing: Standing,
}

/// The state of the last run, and this run's as keys are seen.
pub struct AuditMemory {
    path: PathBuf,
    server: String,
    before: HashMap<String, Remembered>,
    last_run: Option<DateTime<Utc>>,
    now: HashMap<String, Remembered>,
}

impl AuditMemory {
    /// Reads the state file (none yet is an empty state). A file that is
    /// corrupt, newer, or of another server is refused and left as it is.
    pub fn load(path: &Path, server: &str) -> Result<Self, Failure> {
        let shown = escape(&path.display().to_string());
        let keep = "it was left as it is: point --state at another file to start afresh";
        let contents = match std::fs::File::open(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Failure::usage(format!("cannot read --state {shown}: {e}"))),
            Ok(file) => {
                let mut bytes = Vec::new();
                file.take(MAX_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| Failure::usage(format!("cannot read --state {shown}: {e}")))?;
                if bytes.len() as u64 > MAX_BYTES {
                    return Err(Failure::usage(format!(
                        "--state {shown} is larger than {} MiB: {keep}",
                        MAX_BYTES >> 20
                    )));
                }
                let format = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64));
                if format.is_some_and(|f| f > u64::from(FORMAT)) {
                    return Err(Failure::usage(format!(
                        "--state {shown} was written by a newer h2ogpte-keys: use that version; {keep}"
                    )));
                }
                let contents: Contents = serde_json::from_slice(&bytes).map_err(|e| {
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
        })
    }

    /// When a key that is not working now was first seen so: at an earlier
    /// run, else now.
    pub fn first_inactive(&self, id: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(
            self.before
                .get(id)
                .and_then(|k| k.first_inactive)
                .unwrap_or(now),
        )
    }

    /// Remembers `key` with all its findings (`codes`), and says of each
    /// whether it is new or open.
    pub fn see(
        &mut self,
        key: &ApiKeyInfo,
        now: DateTime<Utc>,
        codes: &[FindingCode],
    ) -> Vec<Standing> {
        let before = self.before.get(&key.id);
        let standing = codes
            .iter()
            .map(|code| match before {
                Some(b) if b.findings.iter().any(|c| c == code.as_str()) => Standing::Open,
                _ => Standing::New,
            })
            .collect();
        let active = KeyState::of(key, now).is_active();
        self.now.insert(
            key.id.clone(),
            Remembered {
                username: key.username.clone(),
                name: key.name.clone(),
                first_seen: before.map_or(now, |b| b.first_seen),
                first_inactive: if active {
                    None
                } else {
                    before.and_then(|b| b.first_inactive).or(Some(now))
                },
                findings: codes.iter().map(|c| c.as_str().to_owned()).collect(),
            },
        );
        standing
    }

    /// The findings of the last run that are no more: fixed on keys still
    /// listed, gone with their keys; and how many keys are gone. With
    /// `listed_all` false (a `--filter` run), keys not listed are kept as
    /// they were, not taken for gone.
    pub fn cleared(&mut self, listed_all: bool) -> (Vec<Cleared>, u64) {
        let mut cleared = Vec::new();
        let mut gone = 0;
        let mut ids: Vec<&String> = self.before.keys().collect();
        ids.sort();
        let mut kept = Vec::new();
        for id in ids {
            let was = &self.before[id];
            let (standing, still) = match self.now.get(id) {
                Some(now) => (Standing::Fixed, &now.findings[..]),
                None if listed_all => {
                    gone += 1;
                    (Standing::Gone, &[][..])
                }
                None => {
                    kept.push(id.clone());
                    continue;
                }
            };
            for code in &was.findings {
                let Some(code) = FindingCode::ALL.into_iter().find(|c| c.as_str() == code) else {
                    continue;
                };
                if !still.iter().any(|c| c == code.as_str()) {
                    cleared.push(Cleared {
                        id: id.clone(),
                        key: was.clone(),
                        code,
                        standing,
                    });
                }
            }
        }
        for id in kept {
            if let Some(was) = self.before.get(&id) {
                self.now.insert(id, was.clone());
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
        let bytes = serde_json::to_vec(&contents)
            .map_err(|e| Failure::api(format!("cannot write --state {shown}: {e}")))?;
        write_atomically(&self.path, &bytes).map_err(|e| {
            Failure::api(format!(
                "cannot write --state {shown}: {e}; the state of the last run was left as it was"
            ))
        })
    }
}
