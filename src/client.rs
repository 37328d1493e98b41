//! The front door: the API's operations under their operationIds, with typed
//! errors and retries, over the generated client, which stays reachable.

use std::{fmt, future::Future};

use progenitor_client::ClientInfo;

use reqwest::StatusCode;
use url::Url;

use crate::{
    CallOptions, Error, ListQuery, RetryPolicy,
    call::{self, Call, Failure},
    paging::StreamLimits,
    raw, types,
};

/// A configured client for the API-key administration endpoints.
///
/// Make one with [`Client::builder`] or [`Client::from_env`]. Its methods send
/// the operations with the configured [`RetryPolicy`] and return this
/// crate's [`Error`]; [`Client::raw`] gives the progenitor-generated client
/// and its request builders for full control (no retries, raw errors).
#[derive(Clone)]
pub struct Client {
    raw: raw::Client,
    base_url: Url,
    retry: RetryPolicy,
    max_response_bytes: usize,
    /// How far and how fast a stream of keys goes.
    pub(crate) stream_limits: StreamLimits,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The API key lives in the hooks, redacted; the base URL is enough to
        // tell clients apart.
        f.debug_struct("Client")
            .field("base_url", &self.base_url.as_str())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn from_parts(
        raw: raw::Client,
        base_url: Url,
        retry: RetryPolicy,
        max_response_bytes: usize,
        stream_limits: StreamLimits,
    ) -> Self {
        Self {
            raw,
            base_url,
            retry,
            max_response_bytes,
            stream_limits,
        }
    }

    /// The API base URL requests go to, such as `https://host/api/v1`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// A view of this client whose calls use `options`: a timeout, extra
    /// headers, another administrator's key. It shares this client's
    /// connection pool, retry policy, body cap and wire rules; making it
    /// costs a few clones, no connection. Options of an earlier view are
    /// replaced, not merged.
    pub fn with_options(&self, options: CallOptions) -> Client {
        let hooks = self.raw.inner().with_options(options);
        Client {
            raw: raw::Client::new_with_client(self.raw.baseurl(), self.raw.client().clone(), hooks),
            ..self.clone()
        }
    }

    /// The retry policy of this client's methods.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The generated client, for direct use of its request builders. Calls
    /// made through it are not retried and return the generated error type.
    pub fn raw(&self) -> &raw::Client {
        &self.raw
    }

    /// Creates a key for a user (`create_api_key_for_user`). The result holds
    /// the secret, shown only this once.
    ///
    /// `body` is an [`ApiKeyCreateRequest`](types::ApiKeyCreateRequest) or
    /// its builder (`types::ApiKeyCreateRequest::builder().user_id(..)`).
    /// Never re-sent once the request may have reached the server, so a
    /// retry cannot make a second key.
    pub async fn create_api_key_for_user<B>(&self, body: B) -> Result<types::ApiKeyResult, Error>
    where
        B: TryInto<types::ApiKeyCreateRequest>,
        B::Error: fmt::Display,
    {
        let body = body
            .try_into()
            .map_err(|e| Error::invalid_request(format!("create request: {e}")))?;
        self.run(Call::create("create_api_key_for_user"), |raw| {
            let body = body.clone();
            async move { raw.create_api_key_for_user().body(body).send().await }
        })
        .await
        .map_err(|f| f.error)
    }

    /// One page of keys (`list_all_api_keys`): see [`ListQuery`] for the
    /// offset, limit and username filter. For every key, page after page,
    /// use [`stream_all_api_keys`](Self::stream_all_api_keys).
    ///
    /// A page with more keys than the limit asked for is an
    /// [`Error::Paging`]: the server ignores `limit`.
    pub async fn list_all_api_keys(
        &self,
        query: &ListQuery,
    ) -> Result<Vec<types::ApiKeyInfo>, Error> {
        let limit = query.limit_checked()?;
        let page = self
            .run(Call::idempotent("list_all_api_keys"), |raw| async move {
                let mut builder = raw.list_all_api_keys().offset(query.offset()).limit(limit);
                if let Some(filter) = query.filter() {
                    builder = builder.filter(filter);
                }
                builder.send().await
            })
            .await
            .map_err(|f| f.error)?;
        let fetched = page.len() as u64;
        if fetched > limit.get() {
            return Err(Error::Paging {
                reason: format!(
                    "asked for at most {limit} keys at offset {}, got {fetched}: it ignores `limit`",
                    query.offset()
                ),
            });
        }
        Ok(page)
    }

    /// Deactivates a key for good (`deactivate_api_key`).
    ///
    /// Retried like the other idempotent calls; a 409 "already inactive" on a
    /// retry after an attempt that may have worked counts as success.
    pub async fn deactivate_api_key(&self, key_id: &str) -> Result<(), Error> {
        self.run(Call::idempotent("deactivate_api_key"), |raw| async move {
            raw.deactivate_api_key().key_id(key_id).send().await
        })
        .await
        .or_else(|f| f.done_earlier(StatusCode::CONFLICT))
    }

    /// Deletes a key (`delete_api_key`).
    ///
    /// A 404 on a retry after an attempt that may have worked counts as success.
    pub async fn delete_api_key(&self, key_id: &str) -> Result<(), Error> {
        self.run(Call::idempotent("delete_api_key"), |raw| async move {
            raw.delete_api_key().key_id(key_id).send().await
        })
        .await
        .or_else(|f| f.done_earlier(StatusCode::NOT_FOUND))
    }

    /// Sets or removes a key's expiry (`update_api_key_expiry`): `expires_in`
    /// from now, or no expiry when the request leaves it out (the body `{}`).
    /// `body` is an [`ApiKeyUpdateExpiryRequest`](types::ApiKeyUpdateExpiryRequest)
    /// or its builder; [`set_api_key_expiry`](Self::set_api_key_expiry) and
    /// [`remove_api_key_expiry`](Self::remove_api_key_expiry) say it shorter.
    pub async fn update_api_key_expiry<B>(&self, key_id: &str, body: B) -> Result<(), Error>
    where
        B: TryInto<types::ApiKeyUpdateExpiryRequest>,
        B::Error: fmt::Display,
    {
        let body = body
            .try_into()
            .map_err(|e| Error::invalid_request(format!("update-expiry request: {e}")))?;
        self.run(Call::idempotent("update_api_key_expiry"), |raw| {
            let body = body.clone();
            async move {
                raw.update_api_key_expiry()
                    .key_id(key_id)
                    .body(body)
                    .send()
                    .await
            }
        })
        .await
        .map_err(|f| f.error)
    }

    /// Makes a key expire `expires_in` from now, such as `"30 days"`.
    pub async fn set_api_key_expiry(&self, key_id: &str, expires_in: &str) -> Result<(), Error> {
        let body = types::ApiKeyUpdateExpiryRequest {
            expires_in: Some(expires_in.to_owned()),
        };
        self.update_api_key_expiry(key_id, body).await
    }

    /// Removes a key's expiry (the body `{}`).
    pub async fn remove_api_key_expiry(&self, key_id: &str) -> Result<(), Error> {
        let body = types::ApiKeyUpdateExpiryRequest { expires_in: None };
        self.update_api_key_expiry(key_id, body).await
    }

    /// Sets or removes how many days a key may go unused before it becomes
    /// invalid (`update_api_key_inactivity_interval`, since h2oGPTe 1.7.0):
    /// `inactivity_interval` days, or none when the request leaves it out
    /// (the body `{}`). `body` is an
    /// [`ApiKeyUpdateInactivityIntervalRequest`](types::ApiKeyUpdateInactivityIntervalRequest)
    /// or its builder. A server before 1.7.0 answers [`Error::Unsupported`].
    pub async fn update_api_key_inactivity_interval<B>(
        &self,
        key_id: &str,
        body: B,
    ) -> Result<(), Error>
    where
        B: TryInto<types::ApiKeyUpdateInactivityIntervalRequest>,
        B::Error: fmt::Display,
    {
        let body = body.try_into().map_err(|e| {
            Error::invalid_request(format!("update-inactivity-interval request: {e}"))
        })?;
        let call = Call::idempotent("update_api_key_inactivity_interval").added_in("1.7.0");
        self.run(call, |raw| {
            let body = body.clone();
            async move {
                raw.update_api_key_inactivity_interval()
                    .key_id(key_id)
                    .body(body)
                    .send()
                    .await
            }
        })
        .await
        .map_err(|f| f.error)
    }

    /// Makes a key invalid after `days` days without use.
    pub async fn set_api_key_inactivity_interval(
        &self,
        key_id: &str,
        days: i64,
    ) -> Result<(), Error> {
        let body = types::ApiKeyUpdateInactivityIntervalRequest {
            inactivity_interval: Some(days),
        };
        self.update_api_key_inactivity_interval(key_id, body).await
    }

    /// Removes a key's inactivity interval (the body `{}`).
    pub async fn remove_api_key_inactivity_interval(&self, key_id: &str) -> Result<(), Error> {
        let body = types::ApiKeyUpdateInactivityIntervalRequest {
            inactivity_interval: None,
        };
        self.update_api_key_inactivity_interval(key_id, body).await
    }

    /// Sends `call` with this client's retries ([`call::run`]).
    async fn run<T, F, Fut>(&self, call: Call, send: F) -> Result<T, Failure>
    where
        T: serde::de::DeserializeOwned,
        F: FnMut(raw::Client) -> Fut,
        Fut: Future<Output = call::Attempt<T>> + Send,
    {
        call::run(&self.raw, &self.retry, self.max_response_bytes, call, send).await
    }
}
