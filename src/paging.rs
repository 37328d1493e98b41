//! Every key a [`ListQuery`] matches, as a `Stream` fetched a page at a
//! time (the first alone, the rest ahead once a full page came back), each
//! key yielded once, ended when the server does not page as documented.

use std::{
    collections::{HashSet, VecDeque},
    hash::{BuildHasher, RandomState},
};

use futures_util::{Stream, StreamExt, stream};

use crate::{Client, Error, ListQuery, types::ApiKeyInfo};

/// How far and how fast a stream of keys goes: the client's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamLimits {
    /// Pages requested ahead, unless the query says otherwise.
    pub(crate) prefetch: usize,
    /// Keys yielded at most before [`Error::TooManyKeys`].
    pub(crate) max_keys: u64,
}

struct Pager {
    offset: u64,
    /// Keys yielded so far.
    yielded: u64,
    max_keys: u64,
    buffer: VecDeque<ApiKeyInfo>,
    /// A keyed hash of every id yielded: a key the server lists twice (on
    /// pages 1 and 3, or as offsets shift) is yielded once, for every
    /// consumer, in 8 bytes a key. The key is random per stream, so a
    /// server cannot craft ids that collide.
    seen: HashSet<u64>,
    hasher: RandomState,
    exhausted: bool,
    /// Only this username, exactly.
    user: Option<String>,
}

impl Pager {
    /// Takes in the page fetched at the current offset: the keys not yielded
    /// already go to the buffer. A server that ignores `offset` (a full page
    /// with nothing new) is an error, so that every request either yields a
    /// key or ends the stream (a page over its limit was refused by
    /// `list_all_api_keys` already).
    fn take(&mut self, page: Vec<ApiKeyInfo>, limit: u64) -> Result<(), Error> {
        let fetched = page.len() as u64;
        let (seen, hasher) = (&mut self.seen, &self.hasher);
        self.buffer = page
            .into_iter()
            .filter(|k| seen.insert(hasher.hash_one(&k.id)))
            .collect();
        if fetched == limit && self.buffer.is_empty() {
            return Err(Error::Paging {
                reason: format!(
                    "the full page at offset {} holds no key that was not listed before: it ignores `offset`",
                    self.offset
                ),
            });
        }
        self.offset += fetched;
        self.exhausted = fetched < limit;
        Ok(())
    }
}

/// [`Client::stream_all_api_keys`]: the pages, `prefetch` at a time, walked
/// in order into one stream of keys.
pub(crate) fn stream_all_api_keys(
    client: Client,
    query: &ListQuery,
) -> impl Stream<Item = Result<ApiKeyInfo, Error>> + Send + 'static + use<> {
    let limit = query.limit();
    let prefetch = query.prefetch().unwrap_or(client.stream_limits.prefetch);
    let start = query.offset();
    let template = query.clone();
    // The page at `start` alone: a listing that fits in it costs one
    // request. Only once it came back full (the stream is polled again),
    // the pages at start + limit, … are requested `prefetch` at a time and
    // delivered in order; dropping the stream cancels those in flight.
    let max_keys = client.stream_limits.max_keys;
    let page_at = move |index: u64| {
        let page = template
            .clone()
            .with_offset(start.saturating_add(index.saturating_mul(limit)));
        // A clone a page (a few reference counts): the stream owns what it
        // needs, so it can outlive the borrow that made it.
        let client = client.clone();
        async move { client.list_all_api_keys(&page).await }
    };
    let pages =
        stream::once(page_at(0)).chain(stream::iter(1u64..).map(page_at).buffered(prefetch));

    let pager = Pager {
        offset: start,
        yielded: 0,
        max_keys,
        buffer: VecDeque::new(),
        seen: HashSet::new(),
        hasher: RandomState::new(),
        exhausted: false,
        user: query.user().map(str::to_owned),
    };
    stream::try_unfold(
        (Box::pin(pages), pager),
        move |(mut pages, mut pager)| async move {
            loop {
                if let Some(key) = pager.buffer.pop_front() {
                    // An exact user: the API's filter is a substring; the
                    // other users' keys are dropped here, after paging has
                    // counted them.
                    if pager.user.as_deref().is_some_and(|u| key.username != u) {
                        continue;
                    }
                    if pager.yielded >= pager.max_keys {
                        return Err(Error::TooManyKeys {
                            limit: pager.max_keys,
                        });
                    }
                    pager.yielded += 1;
                    return Ok(Some((key, (pages, pager))));
                }
                if pager.exhausted {
                    return Ok(None);
                }
                match pages.next().await {
                    Some(page) => pager.take(page?, limit)?,
                    None => return Ok(None),
                }
            }
        },
    )
}
