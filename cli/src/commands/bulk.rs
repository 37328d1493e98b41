//! `expire`, `inactivity`, `deactivate` and `delete`: one call per id, as a
//! batch, each result in words that match the act.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use futures::TryStreamExt;
use h2ogpte_api_keys::{Client, Error, ListQuery, types};

use crate::{
    args::{Batch, Delete, Expire, Global, Inactivity, Output},
    batch::{self, Summary},
    commands::PAGE_SIZE,
    failure::{Failure, describe},
    output::{OUTCOME_COLUMNS, Outcome, outcomes_table, print_items, write_ndjson},
    signals::Signals,
    terminal::{escape, note},
};

/// What a batch does to each key, in words.
struct Act {
    /// The progress bar's label.
    verb: &'static str,
    /// What a key that ended as asked is, in the summary.
    done: &'static str,
    /// The error that still leaves a key as asked, and its note.
    settled: Option<(u16, &'static str)>,
}

pub async fn expire(
    client: &Client,
    args: &Expire,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let ids = batch::read_ids(&args.batch)?;
    let body = types::ApiKeyUpdateExpiryRequest {
        expires_in: args.expires_in.clone(),
    };
    let done = if args.never {
        "expiry removed"
    } else {
        "expiry set"
    };
    let act = Act {
        verb: "expire",
        done,
        settled: None,
    };
    let summary = run(ids, &args.batch, g, signals, &act, |id| {
        let (client, body) = (client, body.clone());
        async move { client.update_api_key_expiry(&id, body).await }
    })
    .await;
    report(&summary, g, &act)
}

pub async fn inactivity(
    client: &Client,
    args: &Inactivity,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let ids = batch::read_ids(&args.batch)?;
    let body = types::ApiKeyUpdateInactivityIntervalRequest {
        inactivity_interval: args.days,
    };
    let done = if args.never {
        "inactivity interval removed"
    } else {
        "inactivity interval set"
    };
    let act = Act {
        verb: "inactivity",
        done,
        settled: None,
    };
    let summary = run(ids, &args.batch, g, signals, &act, |id| {
        let (client, body) = (client, body.clone());
        async move { client.update_api_key_inactivity_interval(&id, body).await }
    })
    .await;
    report(&summary, g, &act)
}

pub async fn deactivate(
    client: &Client,
    args: &Batch,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let ids = batch::read_ids(args)?;
    // The end state holds: a key that is already inactive is done.
    let act = Act {
        verb: "deactivate",
        done: "deactivated",
        settled: Some((409, "already inactive")),
    };
    let summary = run(ids, args, g, signals, &act, |id| async move {
        client.deactivate_api_key(&id).await
    })
    .await;
    report(&summary, g, &act)
}

pub async fn delete(
    client: &Client,
    args: &Delete,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let ids = batch::read_ids(&args.batch)?;
    if !args.yes {
        if !io::stdin().is_terminal() {
            return Err(Failure::usage(
                "refusing to delete without a confirmation, and standard input is not a terminal to ask on: pass --yes",
            ));
        }
        let listed =
            crate::commands::interruptible(signals, describe_keys(client, &ids, g)).await?;
        if !confirm(&listed, ids.len())? {
            return Err(Failure::api("nothing deleted"));
        }
    }
    let act = Act {
        verb: "delete",
        done: "deleted",
        settled: args.ignore_missing.then_some((404, "already gone")),
    };
    let summary = run(ids, &args.batch, g, signals, &act, |id| async move {
        client.delete_api_key(&id).await
    })
    .await;
    report(&summary, g, &act)
}

/// Rows shown before a delete confirmation, at most.
const CONFIRM_ROWS: usize = 20;

/// The keys a delete will remove, as lines of id, user and name (at most
/// [`CONFIRM_ROWS`]), found by paging through every key.
async fn describe_keys(
    client: &Client,
    ids: &[String],
    g: &Global,
) -> Result<Vec<String>, Failure> {
    let shown: std::collections::HashSet<&str> =
        ids.iter().take(CONFIRM_ROWS).map(String::as_str).collect();
    let mut found = std::collections::HashMap::new();
    let mut keys =
        std::pin::pin!(client.stream_all_api_keys(&ListQuery::new().with_limit(PAGE_SIZE)));
    while let Some(key) = keys
        .try_next()
        .await
        .map_err(|e| Failure::from_error(&e, g.timeout))?
    {
        if shown.contains(key.id.as_str()) {
            found.insert(key.id.clone(), key);
            if found.len() == shown.len() {
                break;
            }
        }
    }
    Ok(ids
        .iter()
        .take(CONFIRM_ROWS)
        .map(|id| match found.get(id) {
            Some(k) => format!(
                "  {}  {}  {}",
                escape(id),
                escape(&k.username),
                escape(&k.name)
            ),
            None => format!("  {}  (no such key)", escape(id)),
        })
        .collect())
}

/// Asks on the terminal, after listing the keys.
fn confirm(listed: &[String], count: usize) -> Result<bool, Failure> {
    let mut err = io::stderr();
    let _ = writeln!(err, "These keys will be deleted (id, user, name):");
    for line in listed {
        let _ = writeln!(err, "{line}");
    }
    if count > listed.len() {
        let _ = writeln!(err, "  … and {} more", count - listed.len());
    }
    let _ = write!(err, "Delete {count} key(s)? This cannot be undone. [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    io::stdin().lock().take(64).read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Runs the batch; with `-o ndjson` each result is written as it is known.
async fn run<F, Fut>(
    ids: Vec<String>,
    args: &Batch,
    g: &Global,
    signals: &mut Signals,
    act: &Act,
    op: F,
) -> Summary
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let mut stdout_gone = false;
    let report = |outcome: &Outcome| {
        if g.output == Output::Ndjson && !stdout_gone {
            // A reader that went away stops the record, not the batch.
            stdout_gone = write_ndjson(&mut io::stdout().lock(), outcome).is_err();
        }
    };
    let settled = |e: &Error| match (act.settled, e.status()) {
        (Some((status, note)), Some(s)) if s.as_u16() == status && e.endpoint_error().is_some() => {
            Some(note)
        }
        _ => None,
    };
    let judge = |id, result| Outcome::of(id, result, settled, |e| describe(e, g.timeout));
    let how = batch::How {
        concurrency: args.concurrency.into(),
        verb: act.verb,
        quiet: g.quiet,
    };
    batch::run(ids, how, op, report, judge, signals).await
}

/// Prints every outcome (NDJSON lines were written already), then the
/// count; exit 130 or 143 when a signal stopped it, 3 when some failed, 1
/// when all did.
fn report(summary: &Summary, g: &Global, act: &Act) -> Result<(), Failure> {
    let outcomes = &summary.outcomes;
    if g.output != Output::Ndjson {
        print_items(outcomes, g.output, &OUTCOME_COLUMNS, !g.no_headers, |o| {
            outcomes_table(o, !g.no_headers)
        })?;
    }
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    let done = outcomes.len() - failed;
    let mut counts = format!("{done} {}, {failed} failed", act.done);
    if summary.not_attempted > 0 {
        counts += &format!(", {} not attempted", summary.not_attempted);
    }
    if summary.abandoned > 0 {
        counts += &format!(
            ", {} abandoned in flight (outcome unknown: check them with `h2ogpte-keys list`)",
            summary.abandoned
        );
    }
    if !g.quiet {
        note(&counts);
    }
    if let Some(signal) = summary.signal {
        let total = outcomes.len() + summary.not_attempted + summary.abandoned;
        return Err(Failure::signalled(
            signal,
            format!(
                "{signal}: {} of {total} key(s) not done",
                summary.not_attempted + summary.abandoned
            ),
        ));
    }
    match failed {
        0 => Ok(()),
        n if n == outcomes.len() => {
            Err(Failure::api(format!("every one of the {n} key(s) failed")))
        }
        n => Err(Failure::partial(format!(
            "{n} of {} key(s) failed; see the results above",
            outcomes.len()
        ))),
    }
}
