//! Every key matching a filter as a `Stream`, fetched one page at a time.

use std::collections::{HashSet, VecDeque};

use futures::{Stream, TryStreamExt, stream};

use crate::{Client, Error, types::ApiKeyInfo};

/// Page size used by [`Client::all_api_keys`].
pub const DEFAULT_PAGE_SIZE: u64 = 100;

struct Pager {
    offset: u64,
    buffer: VecDeque<ApiKeyInfo>,
    last_page_ids: HashSet<String>,
    exhausted: bool,
}

impl Pager {
    /// Takes in the page fetched at the current offset: the keys not yielded
    /// already go to the buffer. A server that ignores `limit` (more keys
    /// than asked) or `offset` (a full page with nothing new) is an error,
    /// so that every request either yields a key or ends the stream.
    fn take(&mut self, page: Vec<ApiKeyInfo>, limit: u64) -> Result<(), Error> {
        let fetched = page.len() as u64;
        if fetched > limit {
            return Err(Error::Paging {
                reason: format!(
                    "asked for at most {limit} keys at offset {}, got {fetched}: it ignores `limit`",
                    self.offset
                ),
            });
        }
        let mut ids = HashSet::with_capacity(page.len());
        self.buffer = page
            .into_iter()
            .filter(|k| ids.insert(k.id.clone()) && !self.last_page_ids.contains(&k.id))
            .collect();
        if fetched == limit && self.buffer.is_empty() {
            return Err(Error::Paging {
                reason: format!(
                    "the full page at offset {} holds no key that was not on the page before: it ignores `offset`",
                    self.offset
                ),
            });
        }
        self.offset += fetched;
        self.exhausted = fetched < limit;
        self.last_page_ids = ids;
        Ok(())
    }
}

impl Client {
    /// Every key whose username matches `filter` (all keys when `None`), in
    /// the server's order, fetched lazily `page_size` at a time until a short
    /// page. Memory stays at about one page whatever the total.
    ///
    /// Offset paging is not a snapshot: while others create or delete keys,
    /// a key can be skipped (a deletion before the current offset shifts the
    /// rest back) or seen twice (a creation before it shifts them forward). A
    /// key already yielded from the previous page is not yielded again; keys
    /// that move further than one page are not tracked, to keep memory flat.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
    /// let mut keys = std::pin::pin!(client.api_keys(Some("alice"), 500));
    /// while let Some(key) = keys.try_next().await? {
    ///     println!("{} {}", key.id, key.is_active);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn api_keys<'a>(
        &'a self,
        filter: Option<&'a str>,
        page_size: u64,
    ) -> impl Stream<Item = Result<ApiKeyInfo, Error>> + 'a {
        let start = Pager {
            offset: 0,
            buffer: VecDeque::new(),
            last_page_ids: HashSet::new(),
            exhausted: false,
        };
        stream::try_unfold(start, move |mut pager| async move {
            loop {
                if let Some(key) = pager.buffer.pop_front() {
                    return Ok(Some((key, pager)));
                }
                if pager.exhausted {
                    return Ok(None);
                }
                let page = self.list_api_keys(filter, pager.offset, page_size).await?;
                pager.take(page, page_size)?;
            }
        })
    }

    /// Every key whose username matches `filter`, collected; see
    /// [`api_keys`](Self::api_keys) for the paging caveats.
    pub async fn all_api_keys(&self, filter: Option<&str>) -> Result<Vec<ApiKeyInfo>, Error> {
        self.api_keys(filter, DEFAULT_PAGE_SIZE).try_collect().await
    }
}
