//! The wire types of the API-key endpoints, as the spec names them: what
//! requests carry and what responses hold. The fake server's own reading of
//! the spec, shared with no client code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest inactivity interval accepted, in days (100 years).
pub const MAX_INACTIVITY_DAYS: i64 = 36_500;

/// A create request as the spec's `APIKeyCreateRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CreateRequest {
    /// Id of the user the key is for.
    pub user_id: String,
    /// Name of the key.
    #[serde(default)]
    pub name: Option<String>,
    /// Collection the key is restricted to; none for a global key.
    #[serde(default)]
    pub collection_id: Option<String>,
    /// Interval after which the key expires, such as `"30 days"`.
    #[serde(default)]
    pub expires_in: Option<String>,
    /// Days the key may go unused before it becomes invalid.
    #[serde(default)]
    pub inactivity_interval: Option<i64>,
}

impl CreateRequest {
    /// A request for a global key of `user_id` with no name, expiry or interval.
    pub fn for_user(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            ..Self::default()
        }
    }

    /// A request for a named global key without expiry, for seeding.
    pub(crate) fn named(user_id: &str, name: String) -> Self {
        Self {
            name: Some(name),
            ..Self::for_user(user_id)
        }
    }
}

/// An update-expiry request as the spec's `APIKeyUpdateExpiryRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UpdateExpiryRequest {
    /// The new interval from now; `None` removes the expiry.
    #[serde(default)]
    pub expires_in: Option<String>,
}

/// An update-inactivity request as the spec's `APIKeyUpdateInactivityIntervalRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UpdateInactivityIntervalRequest {
    /// The new interval in days; `None` removes it.
    #[serde(default)]
    pub inactivity_interval: Option<i64>,
}

/// A key's metadata on the wire, as the spec's `APIKeyInfo` (the fields are
/// documented there; a 1.6 server leaves out the three added in 1.7.0).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub id: String,
    pub username: String,
    pub name: String,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactivity_interval: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_calls: Option<i64>,
    pub is_active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    pub is_global_key: bool,
}

/// A created key with its secret, as the spec's `APIKeyResult`.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub secret_key: String,
    pub api_key: KeyInfo,
}
