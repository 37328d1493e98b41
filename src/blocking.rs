//! `blocking::Client`: every front-door operation without `async`, for
//! provisioning scripts, build tools and services that are not async.
//!
//! ```no_run
//! use h2ogpte_api_keys::{ListQuery, blocking::Client, types};
//!
//! fn main() -> Result<(), h2ogpte_api_keys::Error> {
//!     let client = Client::from_env()?;
//!     let created = client.create_api_key_for_user(
//!         types::ApiKeyCreateRequest::builder().user_id("6f3c1f0e-7d59-4f0a-9a47-0c2f1b9d5e21"),
//!     )?;
//!     for key in client.stream_all_api_keys(&ListQuery::new().with_filter("alice")) {
//!         println!("{}", key?.id);
//!     }
//!     client.delete_api_key(&created.api_key.id)?;
//!     Ok(())
//! }
//! ```

use std::{fmt, future::Future, sync::Arc};

use futures_util::StreamExt;

use crate::{ClientBuilder, Error, ListQuery, types};

/// A blocking client: the same operations, arguments and [`Error`] as the
/// async [`Client`](crate::Client), each call waiting for its answer.
///
/// It runs its own tokio runtime (one worker thread, as `reqwest::blocking`
/// does), so it works from a plain `fn main`. Called from inside an async
/// runtime it still works, but it blocks that runtime's thread for the
/// whole call, starving its other tasks: there, use the async `Client`, or
/// call this one from `tokio::task::spawn_blocking`. Dropping it anywhere,
/// async code included, is safe.
///
/// Clones share the runtime and the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    /// What [`as_async`](Client::as_async) gives: the same configuration
    /// over a pool of its own, so no connection is shared across runtimes.
    async_view: crate::Client,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Client")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The client's runtime, shut down without waiting when the last clone goes
/// (waiting would panic inside an async context).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl ClientBuilder {
    /// Checks the configuration and makes a [`blocking::Client`](Client).
    #[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
    pub fn build_blocking(self) -> Result<Client, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("h2ogpte-api-keys-blocking")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::config(
                    crate::Setting::Runtime,
                    format!("cannot start the client's runtime: {e}"),
                )
            })?;
        Ok(Client {
            async_view: self.clone().build()?,
            inner: self.build()?,
            runtime: Arc::new(Runtime(Some(runtime))),
        })
    }
}

impl Client {
    /// A client configured from `H2OGPTE_SERVER_URL` and `H2OGPTE_API_KEY`.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build_blocking()
    }

    /// A builder with the defaults; finish with
    /// [`build_blocking`](ClientBuilder::build_blocking).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// An async client with the same configuration, for use on the
    /// caller's own runtime.
    ///
    /// It has a connection pool of its own: a connection it opens is driven
    /// by the caller's runtime, and a blocking call that reused it on the
    /// same thread would wait for a runtime it is blocking. (A client built
    /// with [`with_http_client`](ClientBuilder::with_http_client) shares
    /// that client's pool; there, keep the two on different threads.)
    pub fn as_async(&self) -> &crate::Client {
        &self.async_view
    }

    /// A view whose calls use `options`; see
    /// [`Client::with_options`](crate::Client::with_options). It shares this
    /// client's runtime and connection pools.
    pub fn with_options(&self, options: crate::CallOptions) -> Client {
        Client {
            inner: self.inner.with_options(options.clone()),
            async_view: self.async_view.with_options(options),
            runtime: self.runtime.clone(),
        }
    }

    /// Runs `future` to completion on this thread, within the client's
    /// runtime, whose worker drives the sockets and timers.
    fn wait<F: Future>(&self, future: F) -> F::Output {
        let runtime = self.runtime.0.as_ref();
        let _context = runtime.map(tokio::runtime::Runtime::enter);
        futures_executor::block_on(future)
    }

    /// See [`Client::create_api_key_for_user`](crate::Client::create_api_key_for_user).
    pub fn create_api_key_for_user<B>(&self, body: B) -> Result<types::ApiKeyResult, Error>
    where
        B: TryInto<types::ApiKeyCreateRequest>,
        B::Error: fmt::Display,
    {
        self.wait(self.inner.create_api_key_for_user(body))
    }

    /// See [`Client::list_all_api_keys`](crate::Client::list_all_api_keys).
    pub fn list_all_api_keys(&self, query: &ListQuery) -> Result<Vec<types::ApiKeyInfo>, Error> {
        self.wait(self.inner.list_all_api_keys(query))
    }

    /// Every key the query matches, as an `Iterator` that fetches a page at a
    /// time; see [`Client::stream_all_api_keys`](crate::Client::stream_all_api_keys).
    pub fn stream_all_api_keys<'a>(
        &'a self,
        query: &ListQuery,
    ) -> impl Iterator<Item = Result<types::ApiKeyInfo, Error>> + 'a {
        let mut keys = Box::pin(self.inner.stream_all_api_keys(query));
        std::iter::from_fn(move || self.wait(keys.next()))
    }

    /// See [`Client::collect_all_api_keys`](crate::Client::collect_all_api_keys).
    pub fn collect_all_api_keys(&self, query: &ListQuery) -> Result<Vec<types::ApiKeyInfo>, Error> {
        self.wait(self.inner.collect_all_api_keys(query))
    }

    /// See [`Client::deactivate_api_key`](crate::Client::deactivate_api_key).
    pub fn deactivate_api_key(&self, key_id: &str) -> Result<(), Error> {
        self.wait(self.inner.deactivate_api_key(key_id))
    }

    /// See [`Client::delete_api_key`](crate::Client::delete_api_key).
    pub fn delete_api_key(&self, key_id: &str) -> Result<(), Error> {
        self.wait(self.inner.delete_api_key(key_id))
    }

    /// See [`Client::update_api_key_expiry`](crate::Client::update_api_key_expiry).
    pub fn update_api_key_expiry<B>(&self, key_id: &str, body: B) -> Result<(), Error>
    where
        B: TryInto<types::ApiKeyUpdateExpiryRequest>,
        B::Error: fmt::Display,
    {
        self.wait(self.inner.update_api_key_expiry(key_id, body))
    }

    /// See [`Client::set_api_key_expiry`](crate::Client::set_api_key_expiry).
    pub fn set_api_key_expiry(&self, key_id: &str, expires_in: &str) -> Result<(), Error> {
        self.wait(self.inner.set_api_key_expiry(key_id, expires_in))
    }

    /// See [`Client::remove_api_key_expiry`](crate::Client::remove_api_key_expiry).
    pub fn remove_api_key_expiry(&self, key_id: &str) -> Result<(), Error> {
        self.wait(self.inner.remove_api_key_expiry(key_id))
    }

    /// See [`Client::update_api_key_inactivity_interval`](crate::Client::update_api_key_inactivity_interval).
    pub fn update_api_key_inactivity_interval<B>(&self, key_id: &str, body: B) -> Result<(), Error>
    where
        B: TryInto<types::ApiKeyUpdateInactivityIntervalRequest>,
        B::Error: fmt::Display,
    {
        self.wait(self.inner.update_api_key_inactivity_interval(key_id, body))
    }

    /// See [`Client::set_api_key_inactivity_interval`](crate::Client::set_api_key_inactivity_interval).
    pub fn set_api_key_inactivity_interval(&self, key_id: &str, days: i64) -> Result<(), Error> {
        self.wait(self.inner.set_api_key_inactivity_interval(key_id, days))
    }

    /// See [`Client::remove_api_key_inactivity_interval`](crate::Client::remove_api_key_inactivity_interval).
    pub fn remove_api_key_inactivity_interval(&self, key_id: &str) -> Result<(), Error> {
        self.wait(self.inner.remove_api_key_inactivity_interval(key_id))
    }

    /// See [`Client::find_api_key`](crate::Client::find_api_key).
    pub fn find_api_key(&self, key_id: &str) -> Result<Option<types::ApiKeyInfo>, Error> {
        self.wait(self.inner.find_api_key(key_id))
    }

    /// See [`Client::rotate_api_key`](crate::Client::rotate_api_key): the
    /// rotation in one call, for the key's user given by id (the API lists
    /// usernames; a wrong id fails with nothing created and the old key's
    /// expiry put back).
    pub fn rotate_api_key(
        &self,
        key_id: &str,
        user_id: &str,
        options: impl Into<crate::rotation::RotateOptions>,
    ) -> Result<crate::rotation::Rotated, Error> {
        self.wait(self.inner.rotate_api_key(key_id, user_id, options))
    }

    /// See [`Client::plan_rotation`](crate::Client::plan_rotation).
    pub fn plan_rotation(
        &self,
        key_id: &str,
        retire: crate::rotation::Retire,
    ) -> Result<crate::rotation::RotationPlan, Error> {
        self.wait(self.inner.plan_rotation(key_id, retire))
    }

    /// Every key the query matches, judged against `policy` at `now`, as
    /// an `Iterator` that fetches a page at a time; see
    /// [`Client::audit`](crate::Client::audit).
    pub fn audit<'a>(
        &'a self,
        query: &ListQuery,
        policy: &crate::policy::Policy,
        now: chrono::DateTime<chrono::Utc>,
    ) -> impl Iterator<Item = Result<crate::policy::KeyAudit, Error>> + 'a {
        let mut judged = Box::pin(self.inner.audit(query, policy, now));
        std::iter::from_fn(move || self.wait(judged.next()))
    }
}
