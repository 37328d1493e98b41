//! The streaming audit: every key a query matches, judged by a [`Policy`] as
//! it arrives, so memory stays flat whatever the number of keys.

use chrono::{DateTime, Utc};
use futures_util::{Stream, TryStreamExt};

use crate::{
    Client, Error, ListQuery,
    policy::{KeyAudit, Policy},
};

impl Client {
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
    pub fn audit<'a>(
        &'a self,
        query: &ListQuery,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> impl Stream<Item = Result<KeyAudit, Error>> + Send + 'a {
        let policy = policy.clone();
        self.stream_all_api_keys(query).map_ok(move |key| KeyAudit {
            findings: policy.evaluate(&key, now),
            key,
        })
    }
}
