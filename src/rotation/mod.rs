//! Rotation, a composite of the six calls: a new key like an active old one
//! (same user, name, collection, inactivity interval and remaining expiry),
//! then the old one retired, at once or after an overlap window in which
//! both work. It never restores revoked access (a key revoked while it is
//! rotated gets no replacement), never moves a key to another user, never
//! extends the old key's life, and never takes another key for a rival
//! because it shares a name.
//!
//! In one call:
//!
//! ```no_run
//! # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
//! use h2ogpte_api_keys::chrono::TimeDelta;
//! use h2ogpte_api_keys::rotation::{OldKey, Retire};
//!
//! // The key's id, and the id of its user: the API lists keys by username,
//! // and a create takes the user's id (on a real server, a UUID).
//! let rotated = client
//!     .rotate_api_key("5f0c…", "6f3c1f0e-…", Retire::After(TimeDelta::days(7)))
//!     .await?;
//! // Hand the new secret to the service now: it is shown only once.
//! let secret = rotated.created.secret_key.expose();
//! if let OldKey::ExpiresAt(at) = rotated.old_key {
//!     println!("the old key works until {at}");
//! }
//! # let _ = secret; Ok(()) }
//! ```
//!
//! In steps, to put the secret somewhere safe before the old key is
//! retired: [`Client::plan_rotation`], [`RotationPlan::for_user`],
//! [`RotationPlan::create`], then [`Rotation::retire_old`] (or
//! [`Rotation::undo`] when the secret could not be delivered).
//!
//! Many keys, crash-safe: a [`Rotator`] runs plans through one state
//! machine (create, deliver, retire), records each step in a [`Journal`]
//! before it takes it, hands each secret to a [`Deliver`] sink the caller
//! implements, and [`Rotator::resume`] settles what a killed run left. The
//! journal remembers finished rotations for a while, so a key already
//! rotated is not rotated again ([`Refusal::AlreadyRotated`]) and a key in
//! its overlap window is known as retiring ([`Memory::retiring`]).
//!
//! **The user id.** The API lists a key's *username*, and a create takes the
//! user's *id*; on a real server the two differ (ids are UUIDs). Give the
//! id: to [`Client::rotate_api_key`], or to [`RotationPlan::for_user`]. A
//! wrong id fails the create (404) with an [`Error::Rotation`] whose `stop`
//! is [`RotationStop::Create`]: nothing was created and the old key's expiry
//! was put back, as its `old_expiry` says. A replacement the server made for
//! another user is deleted again ([`RotationStop::WrongUser`]).
//!
//! Every failure of a composite is an [`Error::Rotation`], whose
//! [`RotationFailure`] says at which
//! step it stopped ([`RotationStop`]), the call that failed (its `source`),
//! what became of the old key's expiry ([`OldExpiry`]) and any replacement
//! left behind (`orphan`).

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::TryStreamExt;

use crate::{Client, Error, ListQuery, types::ApiKeyInfo};

mod deliver;
mod engine;
#[cfg(all(unix, feature = "file-journal"))]
mod file_journal;
mod journal;
mod plan;
mod steps;

pub use crate::error::{OldExpiry, RotationFailure, RotationStop};
pub use deliver::{Deliver, DeliveryError, Handover};
pub use engine::{
    Cause, End, HumanCheck, Outcome, Refusal, Rotator, Run, Settled, Settlement, Stop,
};
#[cfg(all(unix, feature = "file-journal"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "file-journal"))))]
pub use file_journal::{FileJournal, normalised_server};
pub use journal::{
    Entry, Journal, JournalError, Memory, MemoryJournal, REMEMBER_FOR, Retirement, Step,
};
pub use plan::RotationPlan;
pub use steps::Rotation;

/// How the old key is retired once its replacement exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retire {
    /// Deactivated at once.
    Deactivate,
    /// Deleted at once.
    Delete,
    /// Left working for this long, then expired: its expiry becomes the
    /// earlier of the one it has and now plus the window.
    After(TimeDelta),
}

/// What became of the old key.
#[derive(Debug)]
#[non_exhaustive]
pub enum OldKey {
    /// It was deactivated.
    Deactivated,
    /// It was deleted.
    Deleted,
    /// It keeps working until then (the overlap window's end, or its own
    /// earlier expiry).
    ExpiresAt(DateTime<Utc>),
    /// Someone else deactivated or deleted it between the replacement's
    /// creation and its retirement (the server answered 409 or 404, and no
    /// longer lists it active). Both facts stand: the replacement exists,
    /// and whoever revoked the old key may not want it; decide, and
    /// [`Rotation::withdraw`] it if not.
    RetiredElsewhere,
    /// It expired before it could be retired (the server refused to
    /// deactivate it): it no longer works, but an administrator could
    /// extend it again.
    Expired {
        /// When it expired.
        at: DateTime<Utc>,
    },
    /// Retiring it failed: it is still active, and the new key exists too.
    StillActive(Error),
}

/// A finished one-call rotation.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rotated {
    /// The replacement, with its secret (shown only this once).
    pub created: crate::types::ApiKeyResult,
    /// The old key as it was read before the rotation.
    pub old: ApiKeyInfo,
    /// What became of it. [`OldKey::StillActive`] still hands over the new
    /// key: both exist, and the old one must be retired by hand.
    pub old_key: OldKey,
}

/// Keys per page when a rotation reads a user's keys.
const USER_PAGE: u64 = 500;

/// Every key of the user named exactly `username` (the API's filter is a
/// substring: other users' keys are dropped).
pub(crate) async fn list_user(client: &Client, username: &str) -> Result<Vec<ApiKeyInfo>, Error> {
    let query = ListQuery::new()
        .with_filter(username.to_owned())
        .with_limit(USER_PAGE);
    client
        .stream_all_api_keys(&query)
        .try_filter(|k| std::future::ready(k.username == username))
        .try_collect()
        .await
}

/// Puts key `id`'s expiry back to `expires_at` (removed when `None`).
pub(crate) async fn restore_expiry(
    client: &Client,
    id: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    match expires_at {
        None => client.remove_api_key_expiry(id).await,
        Some(at) => {
            let seconds = (at - now_utc()).num_seconds().max(1);
            client
                .set_api_key_expiry(id, &format!("{seconds} seconds"))
                .await
        }
    }
}

/// [`Client::find_api_key`]: pages through every key for this id.
pub(crate) async fn find_api_key(
    client: &Client,
    key_id: &str,
) -> Result<Option<ApiKeyInfo>, Error> {
    let mut keys = std::pin::pin!(client.stream_all_api_keys(&ListQuery::new()));
    while let Some(key) = keys.try_next().await? {
        if key.id == key_id {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

/// [`Client::plan_rotation`]: reads the key and plans its rotation.
pub(crate) async fn plan_rotation(
    client: &Client,
    key_id: &str,
    retire: Retire,
) -> Result<RotationPlan, Error> {
    let old = find_api_key(client, key_id)
        .await?
        .ok_or_else(|| RotationFailure::new(key_id, None, RotationStop::NoSuchKey))?;
    RotationPlan::new(old, retire, now_utc())
}

/// How [`Client::rotate_api_key`] rotates: the old key's retirement and,
/// optionally, the new key's lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotateOptions {
    /// How the old key is retired.
    pub retire: Retire,
    /// The new key's lifetime from its creation (such as `"90 days"`);
    /// `None` inherits what is left of the old key's.
    pub expires_in: Option<String>,
}

impl RotateOptions {
    /// Retires the old key so; the new key inherits its remaining life.
    pub fn new(retire: Retire) -> Self {
        Self {
            retire,
            expires_in: None,
        }
    }

    /// Makes the new key expire this long after its creation, checked with
    /// [`parse_interval`](crate::parse_interval) when the rotation runs.
    pub fn with_expires_in(mut self, expires_in: impl Into<String>) -> Self {
        self.expires_in = Some(expires_in.into());
        self
    }
}

impl From<Retire> for RotateOptions {
    fn from(retire: Retire) -> Self {
        Self::new(retire)
    }
}

/// [`Client::rotate_api_key`]: plan, create for `user_id`, retire.
pub(crate) async fn rotate_api_key(
    client: &Client,
    key_id: &str,
    user_id: &str,
    options: RotateOptions,
) -> Result<Rotated, Error> {
    let mut plan = plan_rotation(client, key_id, options.retire)
        .await?
        .for_user(user_id);
    if let Some(expires_in) = &options.expires_in {
        plan = plan.with_expires_in(expires_in)?;
    }
    let rotation = plan.create(client).await?;
    match rotation.retire_old(client).await {
        // Nobody holds the new secret yet: a key revoked meanwhile is
        // not handed on in its replacement.
        OldKey::RetiredElsewhere => Err(rotation
            .abandon(client, RotationStop::RevokedMeanwhile)
            .await),
        old_key => Ok(Rotated {
            created: rotation.created,
            old: rotation.plan.old,
            old_key,
        }),
    }
}

/// The current time, from the standard library's clock (the crate builds
/// chrono without its `clock` feature).
pub(crate) fn now_utc() -> DateTime<Utc> {
    DateTime::from(std::time::SystemTime::now())
}
