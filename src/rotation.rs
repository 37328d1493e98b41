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
use reqwest::StatusCode;

use crate::{
    Client, Error, ListQuery,
    policy::is_active,
    types::{ApiKeyCreateRequest, ApiKeyInfo, ApiKeyResult},
};

pub use crate::error::{OldExpiry, RotationFailure, RotationStop};

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
    /// creation and its retirement (the server answered 409 or 404). Both
    /// facts stand: the replacement exists, and whoever revoked the old key
    /// may not want it; decide, and [`Rotation::withdraw`] it if not.
    RetiredElsewhere,
    /// Retiring it failed: it is still active, and the new key exists too.
    StillActive(Error),
}

/// A rotation checked against the old key and ready to run.
#[derive(Debug, Clone)]
pub struct RotationPlan {
    old: ApiKeyInfo,
    request: ApiKeyCreateRequest,
    retire: Retire,
    planned_at: DateTime<Utc>,
    /// The overlap window's end (now plus the window), checked when planned.
    window_ends: Option<DateTime<Utc>>,
}

impl RotationPlan {
    /// Plans replacing `old` at `now`, without any call. Refuses a key that
    /// grants no access (deactivated or expired: a replacement would hand
    /// revoked access back) and an overlap window that is not positive or
    /// ends past the dates this crate represents, each an
    /// [`Error::Rotation`] whose [`RotationStop`] says which.
    ///
    /// The key is made for the old key's username as `user_id`, which is
    /// right only where usernames are ids: give the user's id with
    /// [`for_user`](Self::for_user).
    pub fn new(old: ApiKeyInfo, retire: Retire, now: DateTime<Utc>) -> Result<Self, Error> {
        let refused = |stop| {
            Error::from(RotationFailure::new(
                &old.id,
                Some(old.username.clone()),
                stop,
            ))
        };
        match crate::KeyState::of(&old, now) {
            crate::KeyState::Active => {}
            crate::KeyState::Expired { at } => return Err(refused(RotationStop::Expired { at })),
            crate::KeyState::Idle { since } => return Err(refused(RotationStop::Idle { since })),
            _ => return Err(refused(RotationStop::Deactivated)),
        }
        let window_ends = match retire {
            Retire::After(window) => Some(
                Some(window)
                    .filter(|w| *w > TimeDelta::zero())
                    .and_then(|w| now.checked_add_signed(w))
                    .ok_or_else(|| refused(RotationStop::Window))?,
            ),
            _ => None,
        };
        let expires_in = old
            .expires_at
            .map(|at| format!("{} seconds", (at - now).num_seconds().max(1)));
        let request = ApiKeyCreateRequest {
            user_id: old.username.clone(),
            name: Some(old.name.clone()),
            collection_id: old.collection_id.clone(),
            expires_in,
            inactivity_interval: old.inactivity_interval,
        };
        Ok(Self {
            old,
            request,
            retire,
            planned_at: now,
            window_ends,
        })
    }

    /// Makes the new key for the user with this id (the API lists keys by
    /// username, which may differ from the id). The new key must still
    /// belong to the old key's user, or it is deleted again.
    pub fn for_user(mut self, user_id: impl Into<String>) -> Self {
        self.request.user_id = user_id.into();
        self
    }

    /// Makes the new key expire `expires_in` from now (such as `"90
    /// days"`, checked with [`parse_interval`](crate::parse_interval))
    /// instead of when the old key would have: rotating a key that never
    /// expires, or lives too long, then does not hand its replacement the
    /// same finding.
    pub fn with_expires_in(mut self, expires_in: &str) -> Result<Self, Error> {
        crate::parse_interval(expires_in)?;
        self.request.expires_in = Some(expires_in.to_owned());
        Ok(self)
    }

    /// The key to replace.
    pub fn old(&self) -> &ApiKeyInfo {
        &self.old
    }

    /// The create request the replacement is made with.
    pub fn request(&self) -> &ApiKeyCreateRequest {
        &self.request
    }

    /// How the old key will be retired.
    pub fn retire(&self) -> Retire {
        self.retire
    }

    /// When the old key stops working with an overlap window: the earlier
    /// of its own expiry and the window's end; `None` for an immediate
    /// retirement.
    pub fn old_key_stops_at(&self) -> Option<DateTime<Utc>> {
        let end = self.window_ends?;
        Some(self.old.expires_at.map_or(end, |at| at.min(end)))
    }

    /// The window in whole seconds when the old key's expiry must come
    /// forward to it; `None` when it already expires within the window.
    fn shortened_expiry(&self) -> Option<i64> {
        let end = self.window_ends?;
        match self.old.expires_at {
            Some(at) if at <= end => None,
            _ => Some((end - self.planned_at).num_seconds().max(1)),
        }
    }

    /// The error of a rotation of this plan that stopped at `stop`.
    fn stopped(
        &self,
        stop: RotationStop,
        source: Option<Error>,
        old_expiry: OldExpiry,
        orphan: Option<String>,
    ) -> Error {
        Error::from(RotationFailure {
            source,
            old_expiry,
            orphan,
            ..RotationFailure::new(&self.old.id, Some(self.request.user_id.clone()), stop)
        })
    }

    /// Puts the old key's expiry back, if `shortened`: what became of it.
    async fn put_back(&self, client: &Client, shortened: bool) -> OldExpiry {
        if !shortened {
            return OldExpiry::Unchanged;
        }
        match restore_expiry(client, &self.old).await {
            Ok(()) => OldExpiry::PutBack,
            Err(error) => OldExpiry::Shortened {
                until: self.old_key_stops_at().unwrap_or(self.planned_at),
                error: Box::new(error),
            },
        }
    }

    /// Runs the first half: with an overlap window, the old key's expiry
    /// comes forward first (the server alone knows its longest allowed
    /// expiry, and this asks it before anything is created: a window it
    /// refuses fails here, [`RotationStop::Shorten`], with nothing changed);
    /// then the replacement is created and checked to belong to the old
    /// key's user.
    ///
    /// A failed create ([`RotationStop::Create`]; a wrong user id answers
    /// 404) puts the old key's expiry back. A replacement for another user
    /// ([`RotationStop::WrongUser`]) is deleted again, and the old key's
    /// expiry put back; if that delete fails, the error names the key
    /// (`orphan`). The error's `old_expiry` says whether putting the expiry
    /// back worked.
    pub async fn create(self, client: &Client) -> Result<Rotation, Error> {
        let shortened = self.shortened_expiry();
        if let Some(seconds) = shortened
            && let Err(e) = client
                .set_api_key_expiry(&self.old.id, &format!("{seconds} seconds"))
                .await
        {
            let unchanged = OldExpiry::Unchanged;
            return Err(self.stopped(RotationStop::Shorten, Some(e), unchanged, None));
        }
        let created = match client.create_api_key_for_user(self.request.clone()).await {
            Ok(created) => created,
            Err(e) => {
                // No replacement to hand over: the old key's expiry goes
                // back to what it was.
                let old_expiry = self.put_back(client, shortened.is_some()).await;
                return Err(self.stopped(RotationStop::Create, Some(e), old_expiry, None));
            }
        };
        let mut rotation = Rotation {
            created,
            plan: self,
            shortened: shortened.is_some(),
            old_now: None,
        };
        let made_for = &rotation.created.api_key.username;
        if *made_for != rotation.plan.old.username {
            let stop = RotationStop::WrongUser {
                made_for: made_for.clone(),
                owner: rotation.plan.old.username.clone(),
            };
            return Err(rotation.abandon(client, stop).await);
        }
        // The race is decided here, before the secret is handed to anyone:
        // an old key that someone revoked meanwhile must not live on in a
        // replacement. The read also gives the old key's end as the server
        // has it.
        match rotation.read_old(client).await {
            Ok(Some(now)) if is_active(&now, now_utc()) => rotation.old_now = Some(now),
            Ok(_) => {
                return Err(rotation
                    .abandon(client, RotationStop::RevokedMeanwhile)
                    .await);
            }
            // Not known: the planned end stands, and retiring says the rest.
            Err(e) => tracing::debug!(error = %e, "the old key could not be read again"),
        }
        Ok(rotation)
    }
}

/// A rotation whose replacement exists: retire the old key once the
/// secret is safe, or undo.
#[derive(Debug)]
pub struct Rotation {
    /// The replacement, with its secret (shown only this once).
    pub created: ApiKeyResult,
    plan: RotationPlan,
    shortened: bool,
    /// The old key as the server listed it once the replacement existed.
    old_now: Option<ApiKeyInfo>,
}

impl Rotation {
    /// The plan this rotation follows.
    pub fn plan(&self) -> &RotationPlan {
        &self.plan
    }

    /// Retires the old key as planned. With an overlap window its expiry
    /// was set already, and this says when it stops working, as the server
    /// listed it once the replacement existed. Whether another rotation
    /// replaced the same key is not guessed from names: two keys of one
    /// user may share a name and collection, and each rotation's
    /// replacement is its own.
    pub async fn retire_old(&self, client: &Client) -> OldKey {
        let old = &self.plan.old.id;
        let (result, already, done) = match self.plan.retire {
            Retire::Deactivate => (
                client.deactivate_api_key(old).await,
                StatusCode::CONFLICT,
                OldKey::Deactivated,
            ),
            Retire::Delete => (
                client.delete_api_key(old).await,
                StatusCode::NOT_FOUND,
                OldKey::Deleted,
            ),
            Retire::After(_) => return OldKey::ExpiresAt(self.old_key_stops_at()),
        };
        match result {
            Ok(()) => done,
            Err(e) if e.status() == Some(already) && e.endpoint_error().is_some() => {
                tracing::debug!(key = %old, error = %e, "retired by someone else meanwhile");
                OldKey::RetiredElsewhere
            }
            Err(e) => OldKey::StillActive(e),
        }
    }

    /// When the old key stops working with an overlap window: its expiry
    /// as the server listed it after the replacement was made, else as
    /// planned.
    pub fn old_key_stops_at(&self) -> DateTime<Utc> {
        self.old_now
            .as_ref()
            .and_then(|k| k.expires_at)
            .or_else(|| self.plan.old_key_stops_at())
            .unwrap_or(self.plan.planned_at)
    }

    /// Stops before the secret is handed on: the replacement is deleted
    /// again and the old key's expiry put back; the error says what became
    /// of each.
    async fn abandon(&self, client: &Client, stop: RotationStop) -> Error {
        let orphan = self
            .withdraw(client)
            .await
            .err()
            .map(|_| self.created.api_key.id.clone());
        let old_expiry = self.plan.put_back(client, self.shortened).await;
        self.plan.stopped(stop, None, old_expiry, orphan)
    }

    /// The old key as the server lists it now: among its user's keys.
    async fn read_old(&self, client: &Client) -> Result<Option<ApiKeyInfo>, Error> {
        let old = &self.plan.old;
        // Large pages: a service account may hold hundreds of keys, and
        // this read is on every rotation's path.
        let query = ListQuery::new()
            .with_filter(old.username.clone())
            .with_limit(READ_OLD_PAGE);
        let mut keys = std::pin::pin!(client.stream_all_api_keys(&query));
        while let Some(k) = keys.try_next().await? {
            if k.id == old.id {
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    /// Deletes the replacement and puts the old key's expiry back as it
    /// was: for a secret that could not be delivered.
    /// Both are tried whatever the other does (the old key must keep
    /// working when nobody got the new secret); the first error is returned.
    pub async fn undo(&self, client: &Client) -> Result<(), Error> {
        let withdrawn = self.withdraw(client).await;
        let restored = self.restore_old_expiry(client).await;
        withdrawn.and(restored)
    }

    /// Puts the old key's expiry back as it was, if the overlap window
    /// brought it forward; nothing otherwise.
    pub async fn restore_old_expiry(&self, client: &Client) -> Result<(), Error> {
        if self.shortened {
            restore_expiry(client, &self.plan.old).await
        } else {
            Ok(())
        }
    }

    /// Deletes the replacement only, leaving the old key as it is: for a
    /// key that someone else retired meanwhile ([`OldKey::RetiredElsewhere`]).
    pub async fn withdraw(&self, client: &Client) -> Result<(), Error> {
        client.delete_api_key(&self.created.api_key.id).await
    }
}

/// Keys per page when a rotation reads its old key again.
const READ_OLD_PAGE: u64 = 500;

/// Puts `old`'s expiry back as it was before an overlap window shortened it.
async fn restore_expiry(client: &Client, old: &ApiKeyInfo) -> Result<(), Error> {
    match old.expires_at {
        None => client.remove_api_key_expiry(&old.id).await,
        Some(at) => {
            let seconds = (at - now_utc()).num_seconds().max(1);
            client
                .set_api_key_expiry(&old.id, &format!("{seconds} seconds"))
                .await
        }
    }
}

/// A finished one-call rotation.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rotated {
    /// The replacement, with its secret (shown only this once).
    pub created: ApiKeyResult,
    /// The old key as it was read before the rotation.
    pub old: ApiKeyInfo,
    /// What became of it. [`OldKey::StillActive`] still hands over the new
    /// key: both exist, and the old one must be retired by hand.
    pub old_key: OldKey,
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

/// [`Client::rotate_api_key`]: plan, create for `user_id`, retire.
pub(crate) async fn rotate_api_key(
    client: &Client,
    key_id: &str,
    user_id: &str,
    retire: Retire,
) -> Result<Rotated, Error> {
    let rotation = plan_rotation(client, key_id, retire)
        .await?
        .for_user(user_id)
        .create(client)
        .await?;
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
fn now_utc() -> DateTime<Utc> {
    DateTime::from(std::time::SystemTime::now())
}
