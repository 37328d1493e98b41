//! `CreateKey`: a create request built from what a caller has at hand
//! (`&str`, `String`, days as a number), where the generated builder's
//! optional fields want `Option<String>`.

use crate::types::ApiKeyCreateRequest;

/// The body of [`Client::create_api_key_for_user`](crate::Client::create_api_key_for_user),
/// built with setters that take plain values:
///
/// ```no_run
/// # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
/// use h2ogpte_api_keys::CreateKey;
///
/// let created = client
///     .create_api_key_for_user(
///         CreateKey::for_user("6f3c1f0e-7d59-4f0a-9a47-0c2f1b9d5e21")
///             .name("nightly ingestion")
///             .expires_in("30 days")
///             .inactivity_interval(14),
///     )
///     .await?;
/// # Ok(()) }
/// ```
///
/// The generated builder (`types::ApiKeyCreateRequest::builder()`) works
/// too, but its optional fields take `Option<String>` or `String`
/// (`.name("x".to_owned())`), not `&str`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateKey(ApiKeyCreateRequest);

impl CreateKey {
    /// A global key for the user with this id, with no name, expiry or
    /// inactivity interval yet.
    pub fn for_user(user_id: impl Into<String>) -> Self {
        Self(ApiKeyCreateRequest {
            user_id: user_id.into(),
            name: None,
            collection_id: None,
            expires_in: None,
            inactivity_interval: None,
        })
    }

    /// The key's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.0.name = Some(name.into());
        self
    }

    /// Restricts the key to one of the user's collections.
    pub fn collection_id(mut self, collection_id: impl Into<String>) -> Self {
        self.0.collection_id = Some(collection_id.into());
        self
    }

    /// Expires the key after this interval, such as `"30 days"`.
    pub fn expires_in(mut self, interval: impl Into<String>) -> Self {
        self.0.expires_in = Some(interval.into());
        self
    }

    /// Makes the key invalid after this many days without use (servers
    /// since 1.7.0).
    pub fn inactivity_interval(mut self, days: i64) -> Self {
        self.0.inactivity_interval = Some(days);
        self
    }
}

impl From<CreateKey> for ApiKeyCreateRequest {
    fn from(request: CreateKey) -> Self {
        request.0
    }
}

#[cfg(test)]
mod tests {
    use super::CreateKey;
    use crate::types::ApiKeyCreateRequest;

    #[test]
    fn plain_values_fill_the_request() {
        let request: ApiKeyCreateRequest = CreateKey::for_user("u-1")
            .name("svc")
            .collection_id(String::from("c-1"))
            .expires_in("30 days")
            .inactivity_interval(14)
            .into();
        assert_eq!(
            request,
            ApiKeyCreateRequest {
                user_id: "u-1".to_owned(),
                name: Some("svc".to_owned()),
                collection_id: Some("c-1".to_owned()),
                expires_in: Some("30 days".to_owned()),
                inactivity_interval: Some(14),
            }
        );
    }
}
