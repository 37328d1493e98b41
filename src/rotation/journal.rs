//! The rotation's memory: each rotation's step, recorded before it is
//! taken, and each finished rotation (old key, new key, when the old one
//! stops working) kept for a while after, behind a trait the engine writes
//! through. [`MemoryJournal`] keeps it in memory; `FileJournal` (feature
//! `file-journal`) in a file that outlives the process.

use std::{future::Future, path::PathBuf, sync::Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    policy::{Finding, FindingCode, Remedy},
    rotation::{Refusal, Retire},
    types::ApiKeyInfo,
};

/// How long a finished or undone rotation is remembered after the old key
/// stops working (or after it ended, for an immediate retirement).
pub const REMEMBER_FOR: TimeDelta = TimeDelta::days(30);

/// A rotation's step, as far as it is known to have gone. Each is recorded
/// before the step it names is taken, so a run stopped anywhere leaves the
/// step that says what may have happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Step {
    /// About to bring the old key's expiry forward (with an overlap) and
    /// create the new key: either may have happened. Resume puts the expiry
    /// back and names (never deletes) any key the create may have made.
    Creating,
    /// The create returned this new key; its secret has reached nobody.
    /// Resume deletes it and puts the old key's expiry back.
    Created,
    /// The secret is being handed to its sink: it may have arrived. Resume
    /// asks the sink; what it cannot tell is named for a human, never
    /// deleted on a guess.
    Delivering,
    /// The secret was delivered; the old key is to be retired. Resume
    /// retires it.
    Delivered,
    /// Done: the old key is retired, or stops working at `old_stops_at`.
    /// Remembered for [`REMEMBER_FOR`] after that.
    Finished,
    /// Nothing is left of it: no new key, the old key as it was.
    Undone,
}

impl Step {
    /// The step as the journal writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Creating => "creating",
            Step::Created => "created",
            Step::Delivering => "delivering",
            Step::Delivered => "delivered",
            Step::Finished => "finished",
            Step::Undone => "undone",
        }
    }

    /// Whether a rotation at this step is over (nothing for resume to do).
    pub fn is_settled(self) -> bool {
        matches!(self, Step::Finished | Step::Undone)
    }
}

/// How the old key is retired, as the journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Retirement {
    /// Deactivated once the secret is delivered.
    Deactivate,
    /// Deleted once the secret is delivered.
    Delete,
    /// Its expiry was brought forward to the overlap window's end; nothing
    /// is left to do once the secret is delivered.
    Expire,
}

impl From<Retire> for Retirement {
    fn from(retire: Retire) -> Self {
        match retire {
            Retire::Delete => Retirement::Delete,
            Retire::After(_) => Retirement::Expire,
            Retire::Deactivate => Retirement::Deactivate,
        }
    }
}

/// One rotation as the journal knows it. It never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Entry {
    /// The key being replaced.
    pub old_key_id: String,
    /// Its user, as listed.
    pub username: String,
    /// The user id the new key is made for.
    pub user_id: String,
    /// The key's name.
    pub name: String,
    /// The old key's expiry before the rotation, to put back on undo.
    pub old_expires_at: Option<DateTime<Utc>>,
    /// How the old key is retired.
    pub retire: Retirement,
    /// Where the secret goes, in words.
    pub secret_to: String,
    /// What the sink needs to find the secret again (such as a file's
    /// path), never the secret: resume asks the sink whether it holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_at: Option<String>,
    /// When the rotation started: with the old key's id, it names the
    /// rotation.
    pub started_at: DateTime<Utc>,
    /// How far it went.
    pub step: Step,
    /// The new key, from [`Step::Created`] on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key_id: Option<String>,
    /// When the old key stops (or stopped) working, once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_stops_at: Option<DateTime<Utc>>,
    /// When this step was recorded.
    pub updated_at: DateTime<Utc>,
}

impl Entry {
    /// The first entry of a rotation, before anything is changed.
    pub(crate) fn start(
        plan: &crate::rotation::RotationPlan,
        secret_to: String,
        secret_at: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        let old = plan.old();
        Entry {
            old_key_id: old.id.clone(),
            username: old.username.clone(),
            user_id: plan.request().user_id.clone(),
            name: old.name.clone(),
            old_expires_at: old.expires_at,
            retire: plan.retire().into(),
            secret_to,
            secret_at,
            started_at: now,
            step: Step::Creating,
            new_key_id: None,
            old_stops_at: None,
            updated_at: now,
        }
    }

    /// Whether `other` records the same rotation (old key and start).
    pub fn same_rotation(&self, other: &Entry) -> bool {
        self.old_key_id == other.old_key_id && self.started_at == other.started_at
    }

    /// Until when a settled rotation is remembered; `None` while it is open.
    pub fn remember_until(&self) -> Option<DateTime<Utc>> {
        if !self.step.is_settled() {
            return None;
        }
        let end = self
            .old_stops_at
            .map_or(self.updated_at, |at| at.max(self.updated_at));
        Some(end.checked_add_signed(REMEMBER_FOR).unwrap_or(end))
    }
}

/// Why the journal could not be read or written. Its words say what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// A file operation failed.
    #[error("cannot {action} the rotation journal {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", "lock", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another run holds the journal's lock.
    #[error("the rotation journal {} is in use by another run on this server: wait for it to end", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The journal cannot be read as one.
    #[error("the rotation journal {} is corrupt ({detail}): it was left as it is; move it aside only once you have checked the keys it names by hand", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A newer version wrote it.
    #[error("the rotation journal {} is of format {format}, written by a newer version: finish it with that version; it was left as it is", path.display())]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: u64,
    },
    /// It belongs to another server.
    #[error("the rotation journal {} holds rotations on {server}, not this server: finish them there, or use another state directory for this one", path.display())]
    OtherServer {
        /// The file.
        path: PathBuf,
        /// The server it names.
        server: String,
    },
    /// The directory or a file in it is not safe to trust.
    #[error("the rotation journal's {} {why}", path.display())]
    Unsafe {
        /// The directory or file.
        path: PathBuf,
        /// Why, and what to do.
        why: String,
    },
    /// A journal of another kind failed.
    #[error("the rotation journal failed: {0}")]
    Other(String),
}

/// Where rotations record their steps. The engine records each step before
/// it takes it and goes on only once `record` returned `Ok`: a step that
/// cannot be recorded is not taken.
///
/// An implementation keeps one entry per rotation (the old key's id and
/// `started_at` name it), the latest recorded, and returns them all, open
/// and settled; it may forget a settled entry once its
/// [`remember_until`](Entry::remember_until) has passed.
pub trait Journal: Send + Sync {
    /// Records `entry`, replacing the earlier entry of the same rotation;
    /// returns once it would survive a crash.
    fn record(&self, entry: &Entry) -> impl Future<Output = Result<(), JournalError>> + Send;

    /// Every entry it holds.
    fn entries(&self) -> impl Future<Output = Result<Vec<Entry>, JournalError>> + Send;
}

impl<J: Journal> Journal for std::sync::Arc<J> {
    fn record(&self, entry: &Entry) -> impl Future<Output = Result<(), JournalError>> + Send {
        (**self).record(entry)
    }

    fn entries(&self) -> impl Future<Output = Result<Vec<Entry>, JournalError>> + Send {
        (**self).entries()
    }
}

/// A journal in memory: for tests, and for a service that keeps its own
/// record elsewhere. It survives nothing but the value.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    entries: Mutex<Vec<Entry>>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// A journal holding `entries` (as another journal returned them).
    pub fn with_entries(entries: Vec<Entry>) -> Self {
        Self {
            entries: Mutex::new(entries),
        }
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // Every change is one assignment: a panic elsewhere cannot leave
        // the list half-changed.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Journal for MemoryJournal {
    async fn record(&self, entry: &Entry) -> Result<(), JournalError> {
        upsert(&mut self.guard(), entry.clone());
        Ok(())
    }

    async fn entries(&self) -> Result<Vec<Entry>, JournalError> {
        Ok(self.guard().clone())
    }
}

/// Puts `entry` in place of the entry of its rotation, or at the end.
pub(crate) fn upsert(entries: &mut Vec<Entry>, entry: Entry) {
    match entries.iter_mut().find(|e| e.same_rotation(&entry)) {
        Some(slot) => *slot = entry,
        None => entries.push(entry),
    }
}

/// What the journal remembers of a fleet's keys, for plans and audits.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    entries: Vec<Entry>,
}

impl Memory {
    /// The memory of these entries (as a journal returned them).
    pub fn new(entries: Vec<Entry>) -> Self {
        Self { entries }
    }

    /// Every entry.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The open (unsettled) rotation of this old key, if any.
    pub fn open(&self, old_key_id: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.old_key_id == old_key_id && !e.step.is_settled())
    }

    /// The latest finished rotation of this old key, if any: its new key
    /// and when the old key stops working.
    pub fn finished(&self, old_key_id: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.old_key_id == old_key_id && e.step == Step::Finished)
            .max_by_key(|e| e.started_at)
    }

    /// Whether `key_id` is a key a recorded rotation made (open or
    /// finished): such a key is never taken for a stray one.
    pub fn made(&self, key_id: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.new_key_id.as_deref() == Some(key_id))
    }

    /// When `key_id`, replaced by a finished rotation, stops working, with
    /// the key that replaced it: the key is *retiring* until then.
    pub fn retiring(&self, key_id: &str, now: DateTime<Utc>) -> Option<(&str, DateTime<Utc>)> {
        let e = self.finished(key_id)?;
        let at = e.old_stops_at.filter(|at| *at > now)?;
        Some((e.new_key_id.as_deref()?, at))
    }

    /// Whether `old` may be rotated now: refused while the journal holds
    /// an open rotation of it, or (unless `force`) when it was rotated into
    /// a key that `listed` (its user's keys) shows active.
    pub fn refusal(
        &self,
        old: &ApiKeyInfo,
        listed: &[ApiKeyInfo],
        force: bool,
        now: DateTime<Utc>,
    ) -> Option<Refusal> {
        if let Some(open) = self.open(&old.id) {
            return Some(Refusal::Unfinished { step: open.step });
        }
        if force {
            return None;
        }
        let new = self.finished(&old.id)?.new_key_id.as_deref()?;
        listed
            .iter()
            .any(|k| k.id == new && crate::policy::is_active(k, now))
            .then(|| Refusal::AlreadyRotated {
                new_key_id: new.to_owned(),
            })
    }

    /// A policy's `findings` for `key`, with what the journal knows: a key
    /// with an open rotation gets [`FindingCode::RotationInProgress`]; a
    /// key retiring after a finished rotation loses the findings whose
    /// remedy is to rotate it or change its expiry (it stops working by
    /// itself, and its replacement carries the rest).
    pub fn judge(
        &self,
        key: &ApiKeyInfo,
        mut findings: Vec<Finding>,
        now: DateTime<Utc>,
    ) -> Vec<Finding> {
        if let Some((new, at)) = self.retiring(&key.id, now) {
            findings.retain(|f| !matches!(f.remedy, Remedy::Rotate | Remedy::Expire));
            tracing::debug!(key = %key.id, replaced_by = %new, until = %at, "retiring");
        }
        if let Some(open) = self.open(&key.id) {
            findings.push(Finding::new(
                FindingCode::RotationInProgress,
                format!(
                    "a rotation stopped at step {} on {}: finish or undo it with a resume",
                    open.step.as_str(),
                    open.updated_at.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
        findings
    }
}
