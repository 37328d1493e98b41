//! Keys looked up by id, for the commands that act on ids: one listing
//! pass over every key, whatever the number of ids; and the tool's own key,
//! which no command acts on unless `--allow-self`.

use futures::{StreamExt, TryStreamExt};
use h2ogpte_api_keys::{Client, ListQuery, types};

use crate::{args::Global, failure::Failure};

/// Keys fetched per request when a command pages through every key.
pub const PAGE_SIZE: u64 = 500;

/// The listing of `--filter` (a substring of usernames) or `--user` (one
/// username, exactly), in pages of [`PAGE_SIZE`].
pub fn query(filter: Option<&str>, user: Option<&str>) -> ListQuery {
    let mut query = ListQuery::new().with_limit(PAGE_SIZE);
    if let Some(filter) = filter {
        query = query.with_filter(filter);
    }
    if let Some(user) = user {
        query = query.with_user(user);
    }
    query
}

/// The key with this id, found by paging through every key.
pub async fn find(client: &Client, id: &str, g: &Global) -> Result<types::ApiKeyInfo, Failure> {
    let mut keys = std::pin::pin!(
        client
            .stream_all_api_keys(&ListQuery::new().with_limit(PAGE_SIZE))
            .try_filter(|k| std::future::ready(k.id == id))
    );
    match keys.next().await {
        Some(found) => found.map_err(|e| Failure::from_error(&e, g.timeout)),
        None => Err(Failure::api(format!(
            "no key with id {id}: check the id with `h2ogpte-keys list`"
        ))),
    }
}

/// The keys among `ids` that exist, found by paging through every key once.
pub async fn keys_named(
    client: &Client,
    ids: &[String],
    g: &Global,
) -> Result<std::collections::HashMap<String, types::ApiKeyInfo>, Failure> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut found = std::collections::HashMap::new();
    let mut keys =
        std::pin::pin!(client.stream_all_api_keys(&ListQuery::new().with_limit(PAGE_SIZE)));
    while let Some(key) = keys
        .try_next()
        .await
        .map_err(|e| Failure::from_error(&e, g.timeout))?
    {
        if wanted.contains(key.id.as_str()) {
            found.insert(key.id.clone(), key);
            if found.len() == wanted.len() {
                break;
            }
        }
    }
    Ok(found)
}

/// Whether `key` is kept from every change: it may be the key this tool
/// authenticates with (the library's judgement) and `--allow-self` was
/// not given.
pub fn protected(client: &Client, key: &types::ApiKeyInfo, g: &Global) -> bool {
    !g.allow_self && client.may_be_own_key(key)
}

/// The ids of `keys` kept from every change, for a plan ([`protected`]).
pub fn protected_ids<'a>(
    client: &Client,
    keys: impl IntoIterator<Item = &'a types::ApiKeyInfo>,
    g: &Global,
) -> Vec<String> {
    match g.allow_self {
        true => Vec::new(),
        false => h2ogpte_api_keys::plan::own_keys(client, keys),
    }
}

/// The listed keys that may be the one this tool authenticates with,
/// found by reading every key once (`whoami`).
pub async fn own(client: &Client, g: &Global) -> Result<Vec<types::ApiKeyInfo>, Failure> {
    client
        .stream_all_api_keys(&query(None, None))
        .try_filter(|k| std::future::ready(client.may_be_own_key(k)))
        .try_collect()
        .await
        .map_err(|e| Failure::from_error(&e, g.timeout))
}
