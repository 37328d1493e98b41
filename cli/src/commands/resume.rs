//! `rotate --resume`: finishes or undoes each rotation the journal holds,
//! by the last step it recorded. Delivered, or created with its secret found
//! in its file: the old key is retired as planned (finished). Created
//! otherwise: the new key is deleted and the old key's expiry put back
//! (undone; a secret a command may have received no longer works). Creating: the expiry is put back, and any key the
//! interrupted create may have made is named, never deleted on a guess (a
//! same-named key may be someone else's).

use std::collections::HashSet;

use chrono::TimeDelta;
use futures::TryStreamExt;
use h2ogpte_api_keys::{Client, Error, ListQuery};
use serde::Serialize;

use crate::{
    args::{Global, Output},
    batch::{self, Summary},
    commands::{PAGE_SIZE, rotate::open_journal},
    failure::{Failure, describe},
    journal::{Entry, Journal, Retirement, Step},
    output::{print_results, whole_table, write_ndjson},
    signals::Signals,
    sink::holds_secret,
    terminal::{escape, note},
};

/// How far before a journalled create a key it made may say it was made
/// (the server's clock against this machine's).
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// What became of one unfinished rotation.
#[derive(Debug, Serialize)]
pub struct ResumeRow {
    pub old_id: String,
    /// The step the journal had recorded.
    pub step: Step,
    /// The new key, when the journal knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// Whether it is settled: "finished" or "undone".
    pub ok: bool,
    /// "finished" (the old key retired) or "undone" (the new key deleted,
    /// the old key as it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// What is left to do by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

const COLUMNS: [&str; 6] = ["old_id", "step", "new_id", "ok", "result", "error"];

pub async fn resume(client: &Client, g: &Global, signals: &mut Signals) -> Result<(), Failure> {
    let journal = open_journal(client, g)?;
    let entries = journal.entries();
    if entries.is_empty() {
        return Err(Failure::nothing_to_do(
            "nothing to resume: the journal holds no unfinished rotation",
        ));
    }
    // New keys that are another rotation's: open ones', and finished ones'.
    let mut others = journal.finished_keys();
    others.extend(entries.iter().filter_map(|e| e.new_key_id.clone()));
    let (journal, others) = (&journal, &others);
    let how = batch::How {
        concurrency: 4,
        verb: "resume",
        quiet: g.quiet,
    };
    let mut stdout_gone = false;
    let print = |row: &ResumeRow| {
        if g.output == Output::Ndjson && !stdout_gone {
            stdout_gone = write_ndjson(&mut std::io::stdout().lock(), row).is_err();
        }
    };
    let each = |entry: Entry| async move { settle(client, entry, journal, others, g).await };
    let summary = batch::run(entries, how, each, print, signals).await;
    report(&summary, g)
}

/// Finishes or undoes one rotation; forgets it once nothing is left for a
/// later run to do.
async fn settle(
    client: &Client,
    entry: Entry,
    journal: &Journal,
    others: &HashSet<String>,
    g: &Global,
) -> ResumeRow {
    let mut row = ResumeRow {
        old_id: entry.old_key_id.clone(),
        step: entry.step,
        new_id: entry.new_key_id.clone(),
        ok: false,
        result: None,
        error: None,
    };
    let old = escape(&entry.old_key_id);
    let fail = |e: &Error| describe(e, g.timeout);
    let done: Result<String, String> = match entry.step {
        Step::Delivered => retire(client, &entry)
            .await
            .map(|how| {
                format!("finished: the secret had been delivered, and the old key {old} {how}")
            })
            .map_err(|e| {
                format!(
                    "retiring the old key {old} failed ({}); run `rotate --resume` again",
                    fail(&e)
                )
            }),
        Step::Created if delivered(client, &entry).await => retire(client, &entry)
            .await
            .map(|how| {
                format!(
                    "finished: the new key's secret is in {}, and the old key {old} {how}",
                    escape(&entry.secret_to)
                )
            })
            .map_err(|e| {
                format!(
                    "retiring the old key {old} failed ({}); run `rotate --resume` again",
                    fail(&e)
                )
            }),
        Step::Created => {
            let deleted = match entry.new_key_id.as_deref() {
                Some(new) => already(client.delete_api_key(new).await, 404),
                None => Ok(()),
            };
            let restored = put_back(client, &entry).await;
            match (deleted, restored) {
                (Ok(()), Ok(())) => Ok(format!(
                    "undone: the new key {} was deleted (a secret the run may have sent to {} no longer works), and the old key {old} works as before",
                    escape(entry.new_key_id.as_deref().unwrap_or("?")),
                    escape(&entry.secret_to)
                )),
                (Err(e), _) | (_, Err(e)) => Err(format!(
                    "undoing failed ({}); run `rotate --resume` again",
                    fail(&e)
                )),
            }
        }
        Step::Creating => match put_back(client, &entry).await {
            Err(e) => Err(format!(
                "putting the old key {old}'s expiry back failed ({}); run `rotate --resume` again",
                fail(&e)
            )),
            Ok(()) => match made_meanwhile(client, &entry, others).await {
                Ok(made) if made.is_empty() => Ok(format!(
                    "undone: the run stopped while creating the new key, and no key of {} named {:?} was made since; the old key {old} works as before",
                    escape(&entry.username),
                    escape(&entry.name)
                )),
                Ok(made) => {
                    let ids: Vec<String> = made.iter().map(|id| escape(id)).collect();
                    // Settled as far as this tool can tell: forgotten, and
                    // the keys named for the administrator.
                    let _ = journal.remove(&entry.old_key_id);
                    row.error = Some(format!(
                        "the run stopped while creating the new key; the old key {old} works as before, but {} of {} named {:?} made since may be what it created, whose secret nobody holds: check, and delete with `h2ogpte-keys delete {}`",
                        if ids.len() == 1 {
                            format!("key {}", ids[0])
                        } else {
                            format!("keys {}", ids.join(", "))
                        },
                        escape(&entry.username),
                        escape(&entry.name),
                        ids.join(" ")
                    ));
                    return row;
                }
                Err(e) => Err(format!(
                    "the old key's expiry is back, but the keys of {} could not be listed to look for a key the create made ({}); run `rotate --resume` again",
                    escape(&entry.username),
                    fail(&e)
                )),
            },
        },
    };
    match done {
        Ok(result) => match journal.remove(&entry.old_key_id) {
            Ok(()) => {
                row.ok = true;
                row.result = Some(result);
            }
            Err(e) => row.error = Some(format!("{result}, but {e}")),
        },
        Err(error) => row.error = Some(error),
    }
    row
}

/// An error that still leaves the key as asked (`status`, with the API's
/// own error body) counts as done.
fn already(result: Result<(), Error>, status: u16) -> Result<(), Error> {
    match result {
        Err(e)
            if e.status().is_some_and(|s| s.as_u16() == status) && e.endpoint_error().is_some() =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Whether the new key's secret reached its file before the run stopped:
/// the file holds a secret ending in the new key's hint, as listed.
async fn delivered(client: &Client, entry: &Entry) -> bool {
    let (Some(path), Some(new)) = (&entry.secret_file, &entry.new_key_id) else {
        return false;
    };
    let query = ListQuery::new()
        .with_filter(entry.username.clone())
        .with_limit(PAGE_SIZE);
    let mut keys = std::pin::pin!(client.stream_all_api_keys(&query));
    while let Ok(Some(key)) = keys.try_next().await {
        if key.id == *new {
            return key.is_active && holds_secret(path, &key.hint);
        }
    }
    false
}

/// Retires the old key as planned; how, in words.
async fn retire(client: &Client, entry: &Entry) -> Result<&'static str, Error> {
    let id = &entry.old_key_id;
    match entry.retire {
        Retirement::Deactivate => {
            already(client.deactivate_api_key(id).await, 409).map(|()| "is deactivated")
        }
        Retirement::Delete => already(client.delete_api_key(id).await, 404).map(|()| "is deleted"),
        Retirement::Expire => Ok("expires at the end of the overlap window, as planned"),
    }
}

/// Puts the old key's expiry back as it was before an overlap brought it
/// forward; nothing for the other retirements. A key gone or revoked
/// meanwhile has nothing to put back.
async fn put_back(client: &Client, entry: &Entry) -> Result<(), Error> {
    if entry.retire != Retirement::Expire {
        return Ok(());
    }
    let id = &entry.old_key_id;
    let result = match entry.old_expires_at {
        None => client.remove_api_key_expiry(id).await,
        Some(at) => {
            let seconds = (at - chrono::Utc::now()).num_seconds().max(1);
            client
                .set_api_key_expiry(id, &format!("{seconds} seconds"))
                .await
        }
    };
    already(already(result, 404), 409)
}

/// Keys of the entry's user with its name, made since the rotation
/// started, that are neither the old key nor another rotation's new key.
async fn made_meanwhile(
    client: &Client,
    entry: &Entry,
    others: &HashSet<String>,
) -> Result<Vec<String>, Error> {
    let query = ListQuery::new()
        .with_filter(entry.username.clone())
        .with_limit(PAGE_SIZE);
    let since = entry.started_at - CLOCK_SKEW;
    let mut keys = std::pin::pin!(client.stream_all_api_keys(&query));
    let mut made = Vec::new();
    while let Some(key) = keys.try_next().await? {
        if key.username == entry.username
            && key.name == entry.name
            && key.id != entry.old_key_id
            && key.created_at >= since
            && !others.contains(&key.id)
        {
            made.push(key.id);
        }
    }
    Ok(made)
}

/// Prints every row, then the counts; exit 0 when every rotation is
/// settled, 3 when some need a hand.
fn report(summary: &Summary<ResumeRow>, g: &Global) -> Result<(), Failure> {
    let rows = &summary.outcomes;
    print_results(rows, g, &COLUMNS, |rows| {
        let cells = rows
            .iter()
            .map(|r| {
                [
                    escape(&r.old_id),
                    r.step.as_str().to_owned(),
                    r.new_id.as_deref().map(escape).unwrap_or_default(),
                    match (&r.result, &r.error) {
                        (_, Some(e)) => format!("not settled: {}", escape(e)),
                        (Some(done), None) => escape(done),
                        (None, None) => String::new(),
                    },
                ]
            })
            .collect();
        whole_table(["OLD ID", "STEP", "NEW ID", "RESULT"], cells, !g.no_headers)
    })?;
    let settled = rows.iter().filter(|r| r.ok).count();
    let finished = rows
        .iter()
        .filter(|r| r.ok && r.step == Step::Delivered)
        .count();
    let mut counts = format!(
        "{finished} finished, {} undone, {} need a hand",
        settled - finished,
        rows.len() - settled
    );
    if summary.not_attempted + summary.abandoned > 0 {
        counts += &format!(
            ", {} left in the journal for the next `rotate --resume`",
            summary.not_attempted + summary.abandoned
        );
    }
    if !g.quiet {
        note(&counts);
    }
    if let Some(signal) = summary.signal {
        return Err(Failure::signalled(signal, format!("{signal}: {counts}")));
    }
    // Whatever is not settled needs a hand (or another run): partial.
    match rows.len() - settled {
        0 => Ok(()),
        n => Err(Failure::partial(format!(
            "{n} of {} unfinished rotation(s) need a hand; see the results above",
            rows.len()
        ))),
    }
}
