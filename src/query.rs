//! `ListQuery`: the parameters of `list_all_api_keys`, named, with the
//! spec's defaults.

use std::num::NonZeroU64;

use crate::{
    Error,
    settings::{DEFAULT_PAGE_SIZE, MAX_PREFETCH},
};

/// The parameters of `list_all_api_keys`, named so that offset and limit
/// cannot be swapped: `ListQuery::new().with_filter("alice").with_limit(500)`.
/// The defaults are the spec's: offset 0, limit 100, no filter.
///
/// For [`Client::stream_all_api_keys`](crate::Client::stream_all_api_keys) the limit is the page size and the
/// offset where the walk starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    offset: u64,
    limit: u64,
    filter: Option<String>,
    prefetch: Option<usize>,
    /// Only this username, exactly (the API's filter is a substring).
    user: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: DEFAULT_PAGE_SIZE,
            filter: None,
            prefetch: None,
            user: None,
        }
    }
}

impl ListQuery {
    /// The spec's defaults: offset 0, limit 100, every username.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys to skip.
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// How many keys to return at most; at least 1 (0 is refused when sent).
    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// Only keys of usernames matching this (the `filter` parameter).
    ///
    /// The API documents it only as "keys for usernames matching this
    /// filter": treat it as a search, not an equality. The fake server
    /// matches it as a case-insensitive part of the username, so `"ann"`
    /// also finds `joanna`'s keys. For one user's keys, keep those whose
    /// `username` is that user's:
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
    /// use h2ogpte_api_keys::ListQuery;
    /// let query = ListQuery::new().with_filter("ann");
    /// let anns: Vec<_> = client
    ///     .stream_all_api_keys(&query)
    ///     .try_filter(|key| std::future::ready(key.username == "ann"))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn with_filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Only the keys of the user named exactly `username`. The API's
    /// filter matches a substring (`svc-etl` also lists `svc-etl-staging`):
    /// this sends it as the filter, to narrow the listing, and a stream
    /// ([`Client::stream_all_api_keys`](crate::Client::stream_all_api_keys),
    /// [`Client::audit`](crate::Client::audit)) yields only the exact
    /// matches. A single page ([`Client::list_all_api_keys`](crate::Client::list_all_api_keys))
    /// is the server's, unfiltered: keep [`keeps`](Self::keeps) there.
    pub fn with_user(mut self, username: impl Into<String>) -> Self {
        let username = username.into();
        self.filter = Some(username.clone());
        self.user = Some(username);
        self
    }

    /// The exact username, when set with [`with_user`](Self::with_user).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether `key` belongs to this query's exact user (always, without
    /// one).
    pub fn keeps(&self, key: &crate::types::ApiKeyInfo) -> bool {
        self.user.as_deref().is_none_or(|u| key.username == u)
    }

    /// For [`Client::stream_all_api_keys`](crate::Client::stream_all_api_keys):
    /// how many pages to request ahead at once, instead of the client's
    /// default: from 1 (one after the other) to [`MAX_PREFETCH`]; a value
    /// outside is brought to the nearer end. Not sent.
    pub fn with_prefetch(mut self, pages: usize) -> Self {
        self.prefetch = Some(pages.clamp(1, MAX_PREFETCH));
        self
    }

    /// The pages a stream requests ahead, when set on this query.
    pub fn prefetch(&self) -> Option<usize> {
        self.prefetch
    }

    /// How many keys to skip.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many keys to return at most.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The username filter, if any.
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    pub(crate) fn limit_checked(&self) -> Result<NonZeroU64, Error> {
        NonZeroU64::new(self.limit)
            .ok_or_else(|| Error::invalid_request("limit must be at least 1"))
    }
}
