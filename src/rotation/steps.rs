//! A rotation in steps: the replacement made (the old key's expiry brought
//! forward first for an overlap), checked against the old key as the
//! server lists it, then the old key retired, or everything undone.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;

use crate::{
    Client, Error, KeyState,
    policy::is_active,
    rotation::{OldKey, Retire, RotationPlan, RotationStop, list_user, now_utc, restore_expiry},
    types::{ApiKeyInfo, ApiKeyResult},
};

impl RotationPlan {
    /// Runs the first half: with an overlap window, the old key's expiry
    /// comes forward first (the server alone knows its longest allowed
    /// expiry, and this asks it before anything is created: a window it
    /// refuses fails here, [`RotationStop::Shorten`], with nothing changed);
    /// then the replacement is created, checked to belong to the old key's
    /// user, and the old key read again: one revoked meanwhile gets no
    /// replacement ([`RotationStop::RevokedMeanwhile`]).
    ///
    /// A failed create ([`RotationStop::Create`]; a wrong user id answers
    /// 404) puts the old key's expiry back. A replacement for another user
    /// ([`RotationStop::WrongUser`]) is deleted again, and the old key's
    /// expiry put back; if that delete fails, the error names the key
    /// (`orphan`). The error's `old_expiry` says whether putting the expiry
    /// back worked.
    pub async fn create(self, client: &Client) -> Result<Rotation, Error> {
        let rotation = self.make(client).await?;
        let listed = match list_user(client, &rotation.plan.old.username).await {
            Ok(keys) => Ok(keys.into_iter().find(|k| k.id == rotation.plan.old.id)),
            Err(e) => Err(e),
        };
        rotation.confirm(client, listed).await
    }

    /// Brings the old key's expiry forward (with a window) and creates the
    /// replacement, checked to belong to the old key's user; the old key is
    /// not read again (the engine reads a user's keys once for many).
    pub(super) async fn make(self, client: &Client) -> Result<Rotation, Error> {
        let shortened = self.shortened_expiry();
        if let Some(seconds) = shortened
            && let Err(e) = client
                .set_api_key_expiry(&self.old.id, &format!("{seconds} seconds"))
                .await
        {
            let unchanged = crate::rotation::OldExpiry::Unchanged;
            return Err(self.stopped(RotationStop::Shorten, Some(e), unchanged, None));
        }
        let request = self.request_at(now_utc());
        let created = match client.create_api_key_for_user(request).await {
            Ok(created) => created,
            Err(e) => {
                // No replacement to hand over: the old key's expiry goes
                // back to what it was.
                let old_expiry = self.put_back(client, shortened.is_some()).await;
                return Err(self.stopped(RotationStop::Create, Some(e), old_expiry, None));
            }
        };
        let rotation = Rotation {
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
        Ok(rotation)
    }
}

/// A rotation whose replacement exists: retire the old key once the
/// secret is safe, or undo.
#[derive(Debug)]
pub struct Rotation {
    /// The replacement, with its secret (shown only this once).
    pub created: ApiKeyResult,
    pub(super) plan: RotationPlan,
    pub(super) shortened: bool,
    /// The old key as the server listed it once the replacement existed.
    pub(super) old_now: Option<ApiKeyInfo>,
}

impl Rotation {
    /// The plan this rotation follows.
    pub fn plan(&self) -> &RotationPlan {
        &self.plan
    }

    /// Whether the overlap window brought the old key's expiry forward.
    pub fn shortened(&self) -> bool {
        self.shortened
    }

    /// Decides the race with a revocation before the secret is handed to
    /// anyone, from the old key as the server lists it now (`Ok(None)`: not
    /// listed): an old key revoked meanwhile must not live on in its
    /// replacement, which is then withdrawn. A listing that failed leaves
    /// the planned end standing; retiring says the rest.
    pub(super) async fn confirm(
        mut self,
        client: &Client,
        listed: Result<Option<ApiKeyInfo>, Error>,
    ) -> Result<Self, Error> {
        match listed {
            Ok(Some(now)) if is_active(&now, now_utc()) => self.old_now = Some(now),
            Ok(_) => return Err(self.abandon(client, RotationStop::RevokedMeanwhile).await),
            Err(e) => tracing::debug!(error = %e, "the old key could not be read again"),
        }
        Ok(self)
    }

    /// Retires the old key as planned. With an overlap window its expiry
    /// was set already, and this says when it stops working, as the server
    /// listed it once the replacement existed. Whether another rotation
    /// replaced the same key is not guessed from names: two keys of one
    /// user may share a name and collection, and each rotation's
    /// replacement is its own.
    ///
    /// A 404 or 409 is not taken on trust: the old key is read again, and
    /// only a key that is gone or deactivated counts as retired elsewhere;
    /// one that merely expired is [`OldKey::Expired`] (an administrator
    /// could extend it again).
    pub async fn retire_old(&self, client: &Client) -> OldKey {
        retire(client, &self.plan.old, self.plan.retire)
            .await
            .unwrap_or_else(|| OldKey::ExpiresAt(self.old_key_stops_at()))
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
    pub(super) async fn abandon(&self, client: &Client, stop: RotationStop) -> Error {
        let orphan = self
            .withdraw(client)
            .await
            .err()
            .map(|_| self.created.api_key.id.clone());
        let old_expiry = self.plan.put_back(client, self.shortened).await;
        self.plan.stopped(stop, None, old_expiry, orphan)
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
            restore_expiry(client, &self.plan.old.id, self.plan.old.expires_at).await
        } else {
            Ok(())
        }
    }

    /// Deletes the replacement only, leaving the old key as it is: for a
    /// key that someone else retired meanwhile ([`OldKey::RetiredElsewhere`]).
    /// A replacement already gone counts as withdrawn.
    pub async fn withdraw(&self, client: &Client) -> Result<(), Error> {
        gone_is_done(client.delete_api_key(&self.created.api_key.id).await)
    }
}

/// A delete answered 404 with the API's own error body: the key is gone,
/// as asked.
pub(super) fn gone_is_done(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) && e.endpoint_error().is_some() => {
            Ok(())
        }
        other => other,
    }
}

/// Retires `old` as `retire` says; `None` for a window (nothing to call).
/// A 404 or 409 is checked by reading the key again.
pub(super) async fn retire(client: &Client, old: &ApiKeyInfo, retire: Retire) -> Option<OldKey> {
    let (result, done) = match retire {
        Retire::Deactivate => (
            client.deactivate_api_key(&old.id).await,
            OldKey::Deactivated,
        ),
        Retire::Delete => (client.delete_api_key(&old.id).await, OldKey::Deleted),
        Retire::After(_) => return None,
    };
    let e = match result {
        Ok(()) => return Some(done),
        Err(e) => e,
    };
    let conflict = matches!(
        e.status(),
        Some(StatusCode::CONFLICT | StatusCode::NOT_FOUND)
    ) && e.endpoint_error().is_some();
    if !conflict {
        return Some(OldKey::StillActive(e));
    }
    // Not taken on trust: what the server lists says what the old key is.
    let listed = match list_user(client, &old.username).await {
        Ok(keys) => keys.into_iter().find(|k| k.id == old.id),
        Err(read) => return Some(OldKey::StillActive(read)),
    };
    Some(match listed.map(|k| KeyState::of(&k, now_utc())) {
        None | Some(KeyState::Deactivated) | Some(KeyState::Idle { .. }) => {
            tracing::debug!(key = %old.id, error = %e, "retired by someone else meanwhile");
            OldKey::RetiredElsewhere
        }
        Some(KeyState::Expired { at }) => OldKey::Expired { at },
        Some(_) => OldKey::StillActive(e),
    })
}
