//! The world a fake server plays: its users, their collections, and the
//! server-wide settings (which API release, the longest expiry).

/// A user the server knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id, as `user_id` in create requests.
    pub id: String,
    /// Username, as shown in keys and matched by the list filter.
    pub username: String,
    /// Whether the user's keys may call the admin endpoints.
    pub is_admin: bool,
}

/// A collection a key can be restricted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// Id, as `collection_id` in create requests.
    pub id: String,
    /// Name, shown as `collection_name` of the keys restricted to it.
    pub name: String,
    /// Id of the user who owns it; only that user's keys may be restricted to it.
    pub owner_id: String,
}

/// Which release of the API-key API the server plays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApiVersion {
    /// Before 1.7.0: keys carry no `total_calls`, `last_used_at` or
    /// `inactivity_interval`, create ignores `inactivity_interval`, and there
    /// is no inactivity-interval route.
    V1_6,
    /// 1.7.0 and later: all six operations and every field.
    #[default]
    V1_7,
}

impl std::str::FromStr for ApiVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "1.6" => Ok(Self::V1_6),
            "1.7" => Ok(Self::V1_7),
            other => Err(format!(
                "unknown API version {other:?}: use 1.6 (before 1.7.0) or 1.7"
            )),
        }
    }
}

/// Server-wide settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The release of the API the server plays.
    pub api_version: ApiVersion,
    /// `global_api_key_expiry_days`: the longest expiry a request may ask for.
    /// As the administration guide says, a requested expiry beyond it is
    /// rejected; a key created without one, or whose expiry is removed, has none.
    pub max_expiry_days: Option<u32>,
}
