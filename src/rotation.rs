//! Rotation, a composite of the six calls: a new key like an active old one
//! (same user, name, collection, inactivity interval and remaining expiry),
//! then the old one retired, at once or after an overlap window in which
//! both work. It never restores revoked access, never moves a key to
//! another user, never extends the old key's life, and leaves one
//! replacement when two rotations race.
//!
//! In one call:
//!
//! ```no_run
//! # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
//! use h2ogpte_api_keys::chrono::TimeDelta;
//! use h2ogpte_api_keys::rotation::{OldKey, Retire};
//!
//! let rotated = client
//!     .rotate_api_key("5f0c…", Retire::After(TimeDelta::days(7)))
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
//! retired: [`Client::plan_rotation`], [`RotationPlan::create`], then
//! [`Rotation::retire_old`] (or [`Rotation::undo`] when the secret could
//! not be delivered).

use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt;
use reqwest::StatusCode;

use crate::{
    Client, Error, ListQuery,
    policy::is_active,
    types::{ApiKeyCreateRequest, ApiKeyInfo, ApiKeyResult},
};

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
    /// Someone else retired or replaced it meanwhile, most likely a
    /// concurrent rotation: the replacement made here is the one to drop
    /// ([`Rotation::withdraw`]).
    RetiredElsewhere(String),
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
}

impl RotationPlan {
    /// Plans replacing `old` at `now`, without any call. Refuses a key that
    /// grants no access (inactive or expired: a replacement would hand
    /// revoked access back) and an overlap that is not positive.
    ///
    /// The key is made for the old key's username as `user_id`; use
    /// [`for_user`](Self::for_user) when the user's id differs.
    pub fn new(old: ApiKeyInfo, retire: Retire, now: DateTime<Utc>) -> Result<Self, Error> {
        if !is_active(&old, now) {
            let state = if old.expires_at.is_some_and(|at| at <= now) {
                "expired"
            } else {
                "inactive"
            };
            return Err(Error::invalid_request(format!(
                "key {} is {state}, so it grants no access; rotating it would restore access that was revoked. Nothing was changed: to issue a new key on purpose, create one",
                old.id
            )));
        }
        if let Retire::After(window) = retire
            && window <= TimeDelta::zero()
        {
            return Err(Error::invalid_request(
                "the overlap window must be positive, such as 7 days",
            ));
        }
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
        })
    }

    /// Makes the new key for the user with this id (the API lists keys by
    /// username, which may differ from the id). The new key must still
    /// belong to the old key's user, or it is deleted again.
    pub fn for_user(mut self, user_id: impl Into<String>) -> Self {
        self.request.user_id = user_id.into();
        self
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
        match self.retire {
            Retire::After(window) => {
                let end = self.planned_at + window;
                Some(self.old.expires_at.map_or(end, |at| at.min(end)))
            }
            _ => None,
        }
    }

    /// The window in whole seconds when the old key's expiry must come
    /// forward to it; `None` when it already expires within the window.
    fn shortened_expiry(&self) -> Option<i64> {
        let Retire::After(window) = self.retire else {
            return None;
        };
        let end = self.planned_at + window;
        match self.old.expires_at {
            Some(at) if at <= end => None,
            _ => Some(window.num_seconds().max(1)),
        }
    }

    /// Runs the first half: with an overlap window, the old key's expiry
    /// comes forward first (the server alone knows its longest allowed
    /// expiry, and this asks it before anything is created: a window it
    /// refuses fails here, with nothing changed); then the replacement is
    /// created and checked to belong to the old key's user.
    ///
    /// A failed create puts the old key's expiry back. A replacement for
    /// another user is deleted again, and the old key's expiry put back;
    /// if that delete fails, the error says so, and names the key.
    pub async fn create(self, client: &Client) -> Result<Rotation, Error> {
        let shortened = self.shortened_expiry();
        if let Some(seconds) = shortened {
            client
                .set_api_key_expiry(&self.old.id, &format!("{seconds} seconds"))
                .await?;
        }
        let created = match client.create_api_key_for_user(self.request.clone()).await {
            Ok(created) => created,
            Err(e) => {
                // No replacement to hand over: the old key's expiry goes
                // back to what it was.
                if shortened.is_some()
                    && let Err(restore) = restore_expiry(client, &self.old).await
                {
                    tracing::warn!(
                        key = %self.old.id,
                        error = %restore,
                        "the create failed, and putting the old key's expiry back failed too"
                    );
                }
                return Err(e);
            }
        };
        let rotation = Rotation {
            created,
            plan: self,
            shortened: shortened.is_some(),
        };
        let made_for = &rotation.created.api_key.username;
        if *made_for != rotation.plan.old.username {
            let mut reason = format!(
                "the replacement was made for {made_for}, but key {} belongs to {}: make it for the id of {}",
                rotation.plan.old.id, rotation.plan.old.username, rotation.plan.old.username
            );
            let orphan = rotation
                .withdraw(client)
                .await
                .err()
                .map(|_| rotation.created.api_key.id.clone());
            if let Err(e) = rotation.restore_old_expiry(client).await {
                reason += &format!(
                    "; putting key {}'s expiry back as it was failed too ({e}): set it again",
                    rotation.plan.old.id
                );
            }
            return Err(Error::Rotation { reason, orphan });
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
}

impl Rotation {
    /// The plan this rotation follows.
    pub fn plan(&self) -> &RotationPlan {
        &self.plan
    }

    /// Retires the old key as planned. With an overlap window its expiry
    /// was set already; this checks that no concurrent rotation of the same
    /// key made a replacement first (the earlier replacement wins, so two
    /// racing rotations keep exactly one).
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
            Retire::After(_) => return self.check_overlap(client).await,
        };
        match result {
            Ok(()) => done,
            Err(e) if e.status() == Some(already) && e.endpoint_error().is_some() => {
                OldKey::RetiredElsewhere(format!(
                    "key {old} was retired by someone else meanwhile ({e})"
                ))
            }
            Err(e) => OldKey::StillActive(e),
        }
    }

    /// With an overlap window: the old key's end, unless an earlier
    /// replacement of it exists (same user, name and collection, made since
    /// this rotation was planned).
    async fn check_overlap(&self, client: &Client) -> OldKey {
        let stops = self.plan.old_key_stops_at().unwrap_or(self.plan.planned_at);
        let old = &self.plan.old;
        let mine = &self.created.api_key;
        let query = ListQuery::new().with_filter(old.username.clone());
        let mut keys = std::pin::pin!(client.stream_all_api_keys(&query));
        // Creation times come from the server's clock: allow it some skew.
        let since = self.plan.planned_at - TimeDelta::minutes(5);
        loop {
            match keys.try_next().await {
                Ok(Some(k)) => {
                    let rival = k.id != mine.id
                        && k.id != old.id
                        && k.username == old.username
                        && k.name == old.name
                        && k.collection_id == old.collection_id
                        && k.created_at >= since.max(old.created_at)
                        && k.is_active
                        && (k.created_at, &k.id) < (mine.created_at, &mine.id);
                    if rival {
                        return OldKey::RetiredElsewhere(format!(
                            "key {} was replaced by {} meanwhile, before this rotation's key",
                            old.id, k.id
                        ));
                    }
                }
                Ok(None) => return OldKey::ExpiresAt(stops),
                Err(e) => return OldKey::StillActive(e),
            }
        }
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

    /// Deletes the replacement only, leaving the old key as the winner of a
    /// concurrent rotation left it ([`OldKey::RetiredElsewhere`]).
    pub async fn withdraw(&self, client: &Client) -> Result<(), Error> {
        client.delete_api_key(&self.created.api_key.id).await
    }
}

/// Puts `old`'s expiry back as it was before an overlap window shortened it.
async fn restore_expiry(client: &Client, old: &ApiKeyInfo) -> Result<(), Error> {
    match old.expires_at {
        None => client.remove_api_key_expiry(&old.id).await,
        Some(at) => {
            let seconds = (at - Utc::now()).num_seconds().max(1);
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

impl Client {
    /// The key with this id, found by paging through every key (the API has
    /// no call that reads one key).
    pub async fn find_api_key(&self, key_id: &str) -> Result<Option<ApiKeyInfo>, Error> {
        let mut keys = std::pin::pin!(self.stream_all_api_keys(&ListQuery::new()));
        while let Some(key) = keys.try_next().await? {
            if key.id == key_id {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    /// Reads the key and plans its rotation ([`RotationPlan::new`]); nothing
    /// is changed.
    pub async fn plan_rotation(&self, key_id: &str, retire: Retire) -> Result<RotationPlan, Error> {
        let old = self.find_api_key(key_id).await?.ok_or_else(|| {
            Error::invalid_request(format!(
                "no key with id {key_id}: check the id in the list of keys"
            ))
        })?;
        RotationPlan::new(old, retire, Utc::now())
    }

    /// Rotates a key in one call: plan, create, retire. The result holds the
    /// new secret; an error means no new key is left (a lost race to a
    /// concurrent rotation deletes the one made here), except an
    /// [`Error::Rotation`] whose `orphan` names a key a delete failed on.
    pub async fn rotate_api_key(&self, key_id: &str, retire: Retire) -> Result<Rotated, Error> {
        let rotation = self
            .plan_rotation(key_id, retire)
            .await?
            .create(self)
            .await?;
        match rotation.retire_old(self).await {
            OldKey::RetiredElsewhere(why) => Err(Error::Rotation {
                reason: format!("{why}; the other replacement is the one to use"),
                orphan: rotation
                    .withdraw(self)
                    .await
                    .err()
                    .map(|_| rotation.created.api_key.id.clone()),
            }),
            old_key => Ok(Rotated {
                created: rotation.created,
                old: rotation.plan.old,
                old_key,
            }),
        }
    }
}
