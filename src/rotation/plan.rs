//! A rotation checked against the old key before any call: who the
//! replacement is for, what it is made with, and how the old key retires.

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    Client, Error,
    rotation::{OldExpiry, Retire, RotationFailure, RotationStop, restore_expiry},
    types::{ApiKeyCreateRequest, ApiKeyInfo},
};

/// A rotation checked against the old key and ready to run.
#[derive(Debug, Clone)]
pub struct RotationPlan {
    pub(super) old: ApiKeyInfo,
    pub(super) request: ApiKeyCreateRequest,
    pub(super) retire: Retire,
    pub(super) planned_at: DateTime<Utc>,
    /// The overlap window's end (now plus the window), checked when planned.
    pub(super) window_ends: Option<DateTime<Utc>>,
    /// The replacement inherits the old key's expiry: its remaining
    /// lifetime is computed when the create is sent, not when planned, so
    /// a batch's late creates do not outlive their old keys.
    pub(super) inherit_expiry: Option<DateTime<Utc>>,
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
        let request = ApiKeyCreateRequest {
            user_id: old.username.clone(),
            name: Some(old.name.clone()),
            collection_id: old.collection_id.clone(),
            expires_in: old.expires_at.map(|at| seconds_until(at, now)),
            inactivity_interval: old.inactivity_interval,
        };
        Ok(Self {
            inherit_expiry: old.expires_at,
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

    /// Makes the new key expire `expires_in` from its creation (such as
    /// `"90 days"`, checked with [`parse_interval`](crate::parse_interval))
    /// instead of when the old key would have: rotating a key that never
    /// expires, or lives too long, then does not hand its replacement the
    /// same finding.
    pub fn with_expires_in(mut self, expires_in: &str) -> Result<Self, Error> {
        crate::parse_interval(expires_in)?;
        self.request.expires_in = Some(expires_in.to_owned());
        self.inherit_expiry = None;
        Ok(self)
    }

    /// Gives the new key this inactivity interval, in days, instead of the
    /// old key's.
    pub fn with_inactivity_interval(mut self, days: i64) -> Self {
        self.request.inactivity_interval = Some(days);
        self
    }

    /// The key to replace.
    pub fn old(&self) -> &ApiKeyInfo {
        &self.old
    }

    /// The create request the replacement is made with, as it would be
    /// sent now (an inherited expiry is counted again when it is sent).
    pub fn request(&self) -> &ApiKeyCreateRequest {
        &self.request
    }

    /// How the old key will be retired.
    pub fn retire(&self) -> Retire {
        self.retire
    }

    /// When the plan was made.
    pub fn planned_at(&self) -> DateTime<Utc> {
        self.planned_at
    }

    /// When the old key stops working with an overlap window: the earlier
    /// of its own expiry and the window's end; `None` for an immediate
    /// retirement.
    pub fn old_key_stops_at(&self) -> Option<DateTime<Utc>> {
        let end = self.window_ends?;
        Some(self.old.expires_at.map_or(end, |at| at.min(end)))
    }

    /// The create request as it goes on the wire at `now`: an inherited
    /// expiry is what is left of the old key's life then.
    pub(super) fn request_at(&self, now: DateTime<Utc>) -> ApiKeyCreateRequest {
        let mut request = self.request.clone();
        if let Some(at) = self.inherit_expiry {
            request.expires_in = Some(seconds_until(at, now));
        }
        request
    }

    /// The window in whole seconds when the old key's expiry must come
    /// forward to it; `None` when it already expires within the window.
    pub(super) fn shortened_expiry(&self) -> Option<i64> {
        let end = self.window_ends?;
        match self.old.expires_at {
            Some(at) if at <= end => None,
            _ => Some((end - self.planned_at).num_seconds().max(1)),
        }
    }

    /// The error of a rotation of this plan that stopped at `stop`.
    pub(super) fn stopped(
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
    pub(super) async fn put_back(&self, client: &Client, shortened: bool) -> OldExpiry {
        if !shortened {
            return OldExpiry::Unchanged;
        }
        match restore_expiry(client, &self.old.id, self.old.expires_at).await {
            Ok(()) => OldExpiry::PutBack,
            Err(error) => OldExpiry::Shortened {
                until: self.old_key_stops_at().unwrap_or(self.planned_at),
                error: Box::new(error),
            },
        }
    }
}

/// What is left from `now` until `at`, as an interval the API takes (at
/// least one second).
fn seconds_until(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} seconds", (at - now).num_seconds().max(1))
}
