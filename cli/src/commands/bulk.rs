//! `expire`, `inactivity`, `deactivate` and `delete`: one call per id, as a
//! batch.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use h2ogpte_api_keys::{Client, types};

use crate::{
    args::{Batch, Delete, Expire, Global, Inactivity, Output},
    batch::{self, Summary},
    failure::{Failure, describe},
    output::{Outcome, outcomes_table, print_items, write_ndjson},
    signals::Signals,
    terminal::note,
};

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
    let summary = run(ids, &args.batch, g, signals, "expire", |id| {
        let (client, body) = (client, body.clone());
        async move { client.update_api_key_expiry(&id, body).await }
    })
    .await;
    report(&summary, g.output, "expired")
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
    let summary = run(ids, &args.batch, g, signals, "inactivity", |id| {
        let (client, body) = (client, body.clone());
        async move { client.update_api_key_inactivity_interval(&id, body).await }
    })
    .await;
    report(&summary, g.output, "updated")
}

pub async fn deactivate(
    client: &Client,
    args: &Batch,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let ids = batch::read_ids(args)?;
    let summary = run(ids, args, g, signals, "deactivate", |id| async move {
        client.deactivate_api_key(&id).await
    })
    .await;
    report(&summary, g.output, "deactivated")
}

pub async fn delete(
    client: &Client,
    args: &Delete,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let ids = batch::read_ids(&args.batch)?;
    if !args.yes && io::stdin().is_terminal() && !confirm(ids.len())? {
        return Err(Failure::usage("nothing deleted"));
    }
    let summary = run(ids, &args.batch, g, signals, "delete", |id| async move {
        client.delete_api_key(&id).await
    })
    .await;
    report(&summary, g.output, "deleted")
}

/// Runs the batch; with `-o ndjson` each result is written as it is known.
async fn run<F, Fut>(
    ids: Vec<String>,
    args: &Batch,
    g: &Global,
    signals: &mut Signals,
    verb: &str,
    op: F,
) -> Summary
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), h2ogpte_api_keys::Error>>,
{
    let mut stdout_gone = false;
    let report = |outcome: &Outcome| {
        if g.output == Output::Ndjson && !stdout_gone {
            // A reader that went away stops the record, not the batch.
            stdout_gone = write_ndjson(&mut io::stdout().lock(), outcome).is_err();
        }
    };
    let describe = |e: &h2ogpte_api_keys::Error| describe(e, g.timeout);
    batch::run(
        ids,
        args.concurrency.into(),
        verb,
        op,
        report,
        describe,
        signals,
    )
    .await
}

fn confirm(count: usize) -> Result<bool, Failure> {
    let mut err = io::stderr();
    let _ = write!(err, "Delete {count} key(s)? This cannot be undone. [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    io::stdin().lock().take(64).read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Prints every outcome (NDJSON lines were written already), then the
/// count; exit 130 or 143 when a signal stopped it, 3 when some failed, 1
/// when all did.
fn report(summary: &Summary, format: Output, verb: &str) -> Result<(), Failure> {
    let outcomes = &summary.outcomes;
    if format != Output::Ndjson {
        print_items(outcomes, format, outcomes_table)?;
    }
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    let done = outcomes.len() - failed;
    let mut counts = format!("{done} {verb}, {failed} failed");
    if summary.not_attempted > 0 {
        counts += &format!(", {} not attempted", summary.not_attempted);
    }
    if summary.abandoned > 0 {
        counts += &format!(
            ", {} abandoned in flight (outcome unknown: check them with `h2ogpte-keys list`)",
            summary.abandoned
        );
    }
    note(&counts);
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
