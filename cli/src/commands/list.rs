//! `list` and `show`: keys, one page or all of them, filtered on the client.

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use h2ogpte_api_keys::{Client, ListQuery, types};

use crate::{
    args::{Global, List},
    commands::PAGE_SIZE,
    failure::Failure,
    output::{KeyWriter, keys_table, print_items, status},
};

fn keep(args: &List, key: &types::ApiKeyInfo, now: DateTime<Utc>) -> bool {
    let state = status(key, now);
    let state_ok = (!args.active || state == "active")
        && (!args.inactive || state != "active")
        && (!args.expired || state == "expired");
    let unused_ok = args.unused_for.is_none_or(|days| {
        let since = key.last_used_at.unwrap_or(key.created_at);
        now - since >= chrono::TimeDelta::days(i64::from(days))
    });
    state_ok && unused_ok
}

pub async fn list(client: &Client, args: &List, g: &Global) -> Result<(), Failure> {
    let failed = |e: h2ogpte_api_keys::Error| Failure::from_error(&e, g.timeout);
    let now = Utc::now();
    let mut every = ListQuery::new().with_limit(PAGE_SIZE);
    if let Some(filter) = &args.filter {
        every = every.with_filter(filter);
    }
    if args.all {
        // Written as pages arrive, in memory bounded by a page and a chunk
        // of table rows, whatever the number of keys.
        let mut keys = std::pin::pin!(client.stream_all_api_keys(&every));
        let mut out = KeyWriter::new(
            std::io::BufWriter::new(std::io::stdout().lock()),
            g.output,
            now,
        );
        loop {
            match keys.try_next().await {
                Ok(Some(key)) if keep(args, &key, now) => out.push(key)?,
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    // What arrived before the error is still written.
                    out.finish()?;
                    return Err(failed(e));
                }
            }
        }
        out.finish()?;
        return Ok(());
    }
    let page = every.with_offset(args.offset).with_limit(args.limit);
    let keys = client.list_all_api_keys(&page).await.map_err(failed)?;
    let keys: Vec<_> = keys.into_iter().filter(|k| keep(args, k, now)).collect();
    print_items(&keys, g.output, |k| keys_table(k, now))?;
    Ok(())
}

pub async fn show(client: &Client, id: &str, g: &Global) -> Result<(), Failure> {
    let key = find(client, id, g).await?;
    print_items(std::slice::from_ref(&key), g.output, |k| {
        keys_table(k, Utc::now())
    })?;
    Ok(())
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
