//! The front door: the API's operations under their operationIds, with typed
//! errors and retries, over the generated client, which stays reachable.

use std::{fmt, future::Future, sync::Arc};

use progenitor_client::ClientInfo;

use reqwest::StatusCode;
use url::Url;

use chrono::{DateTime, Utc};
use futures_util::{Stream, TryStreamExt};

use crate::{
    CallOptions, ClientBuilder, Error, ListQuery, RetryPolicy,
    call::{self, Call, Failure},
    paging::StreamLimits,
    policy::{KeyAudit, Policy},
    raw,
    rotation::{Retire, RotateOptions, Rotated, RotationPlan},
    types::{self, ApiKeyInfo},
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
    /// The hint of the key this client authenticates with.
    own_hint: Arc<str>,
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
        api_key: &str,
    ) -> Self {
        Self {
            raw,
            base_url,
            retry,
            max_response_bytes,
            stream_limits,
            own_hint: crate::secret::hint_of(api_key).into(),
        }
    }

    /// Whether `key` may be the key this client authenticates with: the
    /// server keeps the last four characters of each secret (`hint`), and
    /// `key`'s is this client's. Keys that share a hint all answer yes,
    /// so a caller that protects its own key errs on the safe side. The
    /// [rotation engine](crate::rotation::Rotator) and
    /// [plans](crate::plan) leave such keys alone unless told otherwise.
    pub fn may_be_own_key(&self, key: &ApiKeyInfo) -> bool {
        !self.own_hint.is_empty() && key.hint == *self.own_hint
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
        let own_hint = options.own_hint.clone();
        let hooks = self.raw.inner().with_options(options);
        Client {
            raw: raw::Client::new_with_client(self.raw.baseurl(), self.raw.client().clone(), hooks),
            own_hint: own_hint.unwrap_or_else(|| self.own_hint.clone()),
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
    pub async fn list_all_api_keys(&self, query: &ListQuery) -> Result<Vec<ApiKeyInfo>, Error> {
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

// Making a client, walking every key, the audit and the rotation
// composites; their work is done elsewhere (the builder, paging, the policy,
// the rotation module), and every method of `Client` is in this file.
impl Client {
    /// A client configured from `H2OGPTE_SERVER_URL` and `H2OGPTE_API_KEY`.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// A builder with the defaults; same as [`ClientBuilder::new`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Every key the query matches (its filter; its limit is the page size
    /// and its offset where to start), in the server's order, until a short
    /// page.
    ///
    /// The stream owns a clone of the client (a few reference counts) and
    /// of the query: it can be returned from a handler, such as axum's
    /// `Body::from_stream`, or moved into a task.
    ///
    /// The first page is requested alone, so a listing that fits in one
    /// page costs one request. Once it came back full, round trips
    /// overlap: up to the prefetch count of pages
    /// ([`ListQuery::with_prefetch`], else the client's
    /// [`with_prefetch`](crate::ClientBuilder::with_prefetch), 4 by default)
    /// are requested ahead at once, and keys are still yielded in the
    /// server's order. At most prefetch + 1 pages are held, whatever the
    /// total; pages fetched past the short one that ends the walk are
    /// dropped. A prefetch of 1 fetches one page after the other.
    ///
    /// Offset paging is not a snapshot: while others create or delete keys,
    /// a key can be skipped (a deletion before the current offset shifts the
    /// rest back) or seen twice (a creation before it shifts them forward).
    /// A key is yielded once, however often the server lists it (8 bytes a
    /// key are kept for that).
    /// A server that ignores `limit` or `offset` ends the stream with
    /// [`Error::Paging`]; one that always has another page, with
    /// [`Error::TooManyKeys`] once the client's
    /// [`with_max_stream_keys`](crate::ClientBuilder::with_max_stream_keys)
    /// bound is passed.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
    /// use h2ogpte_api_keys::ListQuery;
    /// let query = ListQuery::new().with_filter("alice").with_limit(500);
    /// let mut keys = std::pin::pin!(client.stream_all_api_keys(&query));
    /// while let Some(key) = keys.try_next().await? {
    ///     println!("{} {}", key.id, key.is_active);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream_all_api_keys(
        &self,
        query: &ListQuery,
    ) -> impl Stream<Item = Result<ApiKeyInfo, Error>> + Send + 'static + use<> {
        crate::paging::stream_all_api_keys(self.clone(), query)
    }

    /// Every key the query matches, collected from all its pages; see
    /// [`stream_all_api_keys`](Self::stream_all_api_keys) for the paging
    /// caveats. Memory grows with the number of keys.
    pub async fn collect_all_api_keys(&self, query: &ListQuery) -> Result<Vec<ApiKeyInfo>, Error> {
        self.stream_all_api_keys(query).try_collect().await
    }

    /// Every key the query matches, each with the rules of `policy` it
    /// breaks at `now` ([`Policy::evaluate`]), page after page as
    /// [`stream_all_api_keys`](Self::stream_all_api_keys) fetches them.
    /// Clean keys are yielded too (their `findings` are empty), so a caller
    /// can count what was checked; a listing that fails ends the stream with
    /// its error, after the keys judged so far.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
    /// use h2ogpte_api_keys::{ListQuery, chrono::Utc, policy::Policy};
    ///
    /// let policy = Policy::recommended().with_max_age_days(Some(30));
    /// let mut audit = std::pin::pin!(client.audit(&ListQuery::new(), &policy, Utc::now()));
    /// while let Some(judged) = audit.try_next().await? {
    ///     for finding in &judged.findings {
    ///         println!("{} {}: {}", judged.key.id, finding.code, finding.detail);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn audit(
        &self,
        query: &ListQuery,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Result<KeyAudit, Error>> + Send + 'static + use<> {
        let policy = policy.clone();
        self.stream_all_api_keys(query).map_ok(move |key| KeyAudit {
            findings: policy.evaluate(&key, now),
            key,
        })
    }

    /// The key with this id, found by paging through every key (the API has
    /// no call that reads one key).
    pub async fn find_api_key(&self, key_id: &str) -> Result<Option<ApiKeyInfo>, Error> {
        crate::rotation::find_api_key(self, key_id).await
    }

    /// Reads the key and plans its rotation ([`RotationPlan::new`]); nothing
    /// is changed. The plan makes the replacement for the key's username:
    /// give the user's id with [`RotationPlan::for_user`] where the two
    /// differ (see [the rotation module](crate::rotation)).
    pub async fn plan_rotation(&self, key_id: &str, retire: Retire) -> Result<RotationPlan, Error> {
        crate::rotation::plan_rotation(self, key_id, retire).await
    }

    /// Rotates a key in one call: plan, create for `user_id`, retire.
    ///
    /// `user_id` is the id of the key's user, which the API does not list
    /// (it lists the username; on a real server ids are UUIDs). A wrong id
    /// fails with an [`Error::Rotation`] whose `stop` is
    /// [`RotationStop::Create`](crate::rotation::RotationStop::Create) (its `source` the create's 404), with
    /// nothing created and the old key's expiry put back; the id of another
    /// user makes a key that is deleted again ([`RotationStop::WrongUser`](crate::rotation::RotationStop::WrongUser)).
    ///
    /// The result holds the new secret. An error means no new key is left
    /// (a key that someone revoked meanwhile gets no replacement:
    /// [`RotationStop::RevokedMeanwhile`](crate::rotation::RotationStop::RevokedMeanwhile)), except where the error's
    /// `orphan` names a key a delete failed on.
    ///
    /// `options` is how the old key retires ([`Retire`], which converts),
    /// and the new key's lifetime
    /// ([`RotateOptions::with_expires_in`](crate::rotation::RotateOptions::with_expires_in));
    /// without one the replacement inherits what is left of the old key's.
    ///
    /// ```no_run
    /// # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
    /// use h2ogpte_api_keys::{chrono::TimeDelta, rotation::{Retire, RotateOptions}};
    /// let options = RotateOptions::new(Retire::After(TimeDelta::days(7))).with_expires_in("90 days");
    /// let rotated = client.rotate_api_key("5f0c…", "6f3c1f0e-…", options).await?;
    /// # let _ = rotated; Ok(()) }
    /// ```
    pub async fn rotate_api_key(
        &self,
        key_id: &str,
        user_id: &str,
        options: impl Into<RotateOptions>,
    ) -> Result<Rotated, Error> {
        crate::rotation::rotate_api_key(self, key_id, user_id, options.into()).await
    }
}
