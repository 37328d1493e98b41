//! A key's state, computed once from what the API lists: active, expired,
//! idle past its inactivity interval, or deactivated for good, with the
//! instant it stopped working where the key says it.

use chrono::{DateTime, TimeDelta, Utc};

use crate::types::ApiKeyInfo;

/// Whether a key can authenticate, and if not, why.
///
/// Expired and idle keys are *revivable*: a new expiry or a longer (or no)
/// inactivity interval makes them authenticate again, and the server does
/// not deactivate them (it answers that they are inactive already). Only a
/// deactivated key is revoked for good.
///
/// ```
/// use h2ogpte_api_keys::{KeyState, chrono::Utc};
/// # fn demo(key: &h2ogpte_api_keys::types::ApiKeyInfo) {
/// match KeyState::of(key, Utc::now()) {
///     KeyState::Active => println!("{} works", key.id),
///     state if state.is_revivable() => println!("{} stopped at {:?}", key.id, state.since()),
///     _ => println!("{} is deactivated for good", key.id),
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyState {
    /// It authenticates.
    Active,
    /// Its expiry passed then.
    Expired {
        /// Its `expires_at`.
        at: DateTime<Utc>,
    },
    /// The server lists it inactive, and it went unused past its
    /// inactivity interval: since its last use (or its creation, if never
    /// used) plus the interval.
    Idle {
        /// When the interval ran out.
        since: DateTime<Utc>,
    },
    /// The server lists it inactive, and neither its expiry nor its
    /// inactivity says why: deactivated, for good. The API does not say
    /// when.
    Deactivated,
}

impl KeyState {
    /// The state of `key` at `now`.
    pub fn of(key: &ApiKeyInfo, now: DateTime<Utc>) -> Self {
        if let Some(at) = key.expires_at.filter(|at| *at <= now) {
            return KeyState::Expired { at };
        }
        // The server's word on activity stands; its expiry and inactivity
        // interval only say why a key it lists inactive stopped.
        if key.is_active {
            return KeyState::Active;
        }
        match idle_since(key).filter(|since| *since <= now) {
            Some(since) => KeyState::Idle { since },
            None => KeyState::Deactivated,
        }
    }

    /// Whether the key authenticates.
    pub fn is_active(self) -> bool {
        self == KeyState::Active
    }

    /// Whether a change of its expiry or inactivity interval would make the
    /// key authenticate again (expired or idle).
    pub fn is_revivable(self) -> bool {
        matches!(self, KeyState::Expired { .. } | KeyState::Idle { .. })
    }

    /// When the key stopped working, where the key says it (its expiry, or
    /// the end of its inactivity interval); `None` when active or
    /// deactivated.
    pub fn since(self) -> Option<DateTime<Utc>> {
        match self {
            KeyState::Expired { at } => Some(at),
            KeyState::Idle { since } => Some(since),
            _ => None,
        }
    }

    /// The state in one word: `active`, `expired`, `idle`, `deactivated`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Expired { .. } => "expired",
            KeyState::Idle { .. } => "idle",
            KeyState::Deactivated => "deactivated",
        }
    }
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When the key's inactivity interval runs out, if it has one: its last
/// use (or creation) plus the interval; `None` past the dates chrono holds.
fn idle_since(key: &ApiKeyInfo) -> Option<DateTime<Utc>> {
    let days = key.inactivity_interval.filter(|d| *d > 0)?;
    let from = key.last_used_at.unwrap_or(key.created_at);
    from.checked_add_signed(TimeDelta::try_days(days)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(extra: serde_json::Value) -> ApiKeyInfo {
        let mut value = serde_json::json!({
            "id": "k-1", "username": "svc", "name": "ingest", "hint": "abcd",
            "created_at": "2026-01-01T00:00:00Z", "total_calls": 0,
            "is_active": true, "is_global_key": true
        });
        if let (Some(v), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
            v.extend(extra);
        }
        serde_json::from_value(value).expect("a key")
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").to_utc()
    }

    #[test]
    fn each_state_and_the_instant_it_began() {
        let now = at("2026-06-01T00:00:00Z");
        assert_eq!(
            KeyState::of(&key(serde_json::json!({})), now),
            KeyState::Active
        );
        let expired =
            key(serde_json::json!({"expires_at": "2026-05-01T00:00:00Z", "is_active": false}));
        assert_eq!(
            KeyState::of(&expired, now),
            KeyState::Expired {
                at: at("2026-05-01T00:00:00Z")
            }
        );
        let idle = key(serde_json::json!({
            "last_used_at": "2026-03-01T00:00:00Z", "inactivity_interval": 30, "is_active": false
        }));
        let state = KeyState::of(&idle, now);
        assert_eq!(
            state,
            KeyState::Idle {
                since: at("2026-03-31T00:00:00Z")
            }
        );
        assert!(state.is_revivable() && !state.is_active());
        let dead = key(serde_json::json!({"is_active": false}));
        assert_eq!(KeyState::of(&dead, now), KeyState::Deactivated);
        assert!(!KeyState::Deactivated.is_revivable());
        assert_eq!(KeyState::Deactivated.since(), None);
        // An interval past any date never runs out.
        let forever = key(serde_json::json!({"inactivity_interval": i64::MAX, "is_active": false}));
        assert_eq!(KeyState::of(&forever, now), KeyState::Deactivated);
        // A key the server lists active is active, whatever its interval says.
        let listed = key(serde_json::json!({"inactivity_interval": 1}));
        assert_eq!(KeyState::of(&listed, now), KeyState::Active);
    }
}
