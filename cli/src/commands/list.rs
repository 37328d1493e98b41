//! `list` and `show`: keys, one page or all of them, filtered on the client.

use std::io::Write;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use h2ogpte_api_keys::{Client, KeyState, types};

use crate::{
    args::{Global, List, Output},
    csv_out::{Cells, CsvWriter, KEY_COLUMNS},
    failure::Failure,
    lookup::find,
    output::{KeyWriter, key_details, write_ndjson},
    terminal::note,
};

fn keep(args: &List, key: &types::ApiKeyInfo, now: DateTime<Utc>) -> bool {
    let state = KeyState::of(key, now);
    let active = state == KeyState::Active;
    let state_ok = (!args.active || active)
        && (!args.inactive || !active)
        && (!args.expired || matches!(state, KeyState::Expired { .. }));
    let unused_ok = args.unused_for.is_none_or(|days| {
        let since = key.last_used_at.unwrap_or(key.created_at);
        now - since >= chrono::TimeDelta::days(i64::from(days))
    });
    state_ok && unused_ok
}

pub async fn list(client: &Client, args: &List, g: &Global) -> Result<(), Failure> {
    let failed = |e: h2ogpte_api_keys::Error| Failure::from_error(&e, g.timeout);
    let now = Utc::now();
    let query = crate::lookup::query(args.filter.as_deref(), args.user.as_deref());
    // Written as keys arrive, in memory bounded by a page and a chunk of
    // table rows, whatever the number of keys.
    let mut out = KeyWriter::new(
        std::io::BufWriter::new(std::io::stdout().lock()),
        g.output,
        now,
        !g.no_headers,
    )?;
    if !args.all && !args.filters_on_the_client() {
        let page = query.with_offset(args.offset).with_limit(args.limit);
        // A failed page writes nothing: not even a header or `[]`.
        for key in client.list_all_api_keys(&page).await.map_err(failed)? {
            out.push(key)?;
        }
        out.finish()?;
        return Ok(());
    }
    // A filter the server cannot apply sees every key: page through them
    // all, and take --offset and --limit among the keys that match.
    let window = (!args.all).then_some((args.offset, args.limit));
    let mut keys = std::pin::pin!(client.stream_all_api_keys(&query));
    let (mut matched, mut shown) = (0u64, 0u64);
    loop {
        let key = match keys.try_next().await {
            Ok(Some(key)) => key,
            Ok(None) => break,
            Err(e) => {
                // What arrived before the error is still written, but
                // nothing that could pass for a complete answer.
                let shown = out.written();
                out.abandon()?;
                let mut failure = failed(e);
                failure.message += &format!(
                    "; the output is incomplete: it holds the {shown} key(s) listed before the failure"
                );
                return Err(failure);
            }
        };
        if !keep(args, &key, now) {
            continue;
        }
        matched += 1;
        match window {
            Some((offset, _)) if matched <= offset => continue,
            Some((_, limit)) if shown == limit => {
                out.finish()?;
                if !g.quiet {
                    note(&format!(
                        "more keys match: pass --offset {} for the next ones, or --all for every one",
                        args.offset + limit
                    ));
                }
                return Ok(());
            }
            _ => {}
        }
        out.push(key)?;
        shown += 1;
    }
    out.finish()?;
    Ok(())
}

pub async fn show(client: &Client, id: &str, g: &Global) -> Result<(), Failure> {
    let key = find(client, id, g).await?;
    let mut out = std::io::stdout().lock();
    match g.output {
        Output::Table | Output::Openmetrics => write!(out, "{}", key_details(&key, Utc::now()))?,
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, &key).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Output::Ndjson => write_ndjson(&mut out, &key)?,
        Output::Csv => {
            let mut csv =
                CsvWriter::new(&mut out, &KEY_COLUMNS, !g.no_headers, Cells::for_stdout())?;
            csv.push(&key)?;
            csv.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `whoami`: the server, the context, and the keys whose hint is the one
/// this tool authenticates with, found by reading every key once.
pub async fn whoami(client: &Client, g: &Global) -> Result<(), Failure> {
    let own = crate::lookup::own(client, g).await?;
    let server = client.base_url().as_str();
    let mut out = std::io::stdout().lock();
    match g.output {
        Output::Table | Output::Openmetrics | Output::Csv => {
            writeln!(out, "Server:   {}", crate::terminal::escape(server))?;
            if let Some(name) = &g.context {
                writeln!(out, "Context:  {}", crate::terminal::escape(name))?;
            }
            for key in &own {
                writeln!(out)?;
                write!(out, "{}", key_details(key, Utc::now()))?;
            }
        }
        Output::Json | Output::Ndjson => {
            let shown = serde_json::json!({
                "server": server,
                "context": g.context,
                "keys": own,
            });
            serde_json::to_writer(&mut out, &shown).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    match own.len() {
        0 => Err(Failure::api(
            "the server lists no key with the hint of this tool's key: is it another server's key, or one of a user the listing does not show?",
        )),
        1 => Ok(()),
        n => {
            note(&format!(
                "{n} keys share this key's hint (its last four characters): this tool's key is one of them"
            ));
            Ok(())
        }
    }
}
