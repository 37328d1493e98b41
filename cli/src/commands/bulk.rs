//! `expire`, `inactivity`, `deactivate` and `delete`: one call per id, as a
//! batch, each result in words that match the act.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use h2ogpte_api_keys::{Client, Error, KeyState, policy::reports_last_use, types};

use crate::{
    args::{Batch, Deactivate, Delete, Expire, Global, Inactivity, Output},
    batch::{self, OUTCOME_COLUMNS, Outcome, Summary},
    commands::unless_signalled,
    failure::{Failure, describe},
    lookup::keys_named,
    output::{outcomes_table, print_results, write_ndjson},
    rotation_words::OWN_KEY,
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
    /// What a dry run says of a key the real run would change.
    would: &'static str,
}

pub async fn expire(
    client: &Client,
    args: &Expire,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    // The grammar is checked here, in the dry run and the real run alike;
    // the server's longest allowed expiry is known only to the server.
    if let Some(interval) = &args.expires_in {
        h2ogpte_api_keys::parse_interval(interval)
            .map_err(|e| Failure::usage(format!("--in: {e}")))?;
    }
    let ids = read_ids(&args.batch, signals).await?;
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
        would: if args.never {
            "would remove the expiry"
        } else {
            "would set the expiry (not checked: whether the server's longest expiry allows it)"
        },
    };
    let change = Change::Terms {
        revive: args.revive,
    };
    if args.batch.dry_run {
        return dry_run(client, ids, g, signals, &act, change).await;
    }
    let judged = judge_all(client, ids, g, signals, &act, change).await?;
    let summary = run(judged, &args.batch, g, signals, &act, |id| {
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
    let ids = read_ids(&args.batch, signals).await?;
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
        would: if args.never {
            "would remove the inactivity interval"
        } else {
            "would set the inactivity interval"
        },
    };
    let change = Change::Inactivity {
        revive: args.revive,
    };
    if args.batch.dry_run {
        return dry_run(client, ids, g, signals, &act, change).await;
    }
    let judged = judge_all(client, ids, g, signals, &act, change).await?;
    let summary = run(judged, &args.batch, g, signals, &act, |id| {
        let (client, body) = (client, body.clone());
        async move { client.update_api_key_inactivity_interval(&id, body).await }
    })
    .await;
    report(&summary, g, &act)
}

pub async fn deactivate(
    client: &Client,
    args: &Deactivate,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let ids = read_ids(&args.batch, signals).await?;
    // The end state holds: a key deactivated meanwhile is done.
    let act = Act {
        verb: "deactivate",
        done: "deactivated",
        settled: Some((409, "already inactive")),
        would: "would deactivate",
    };
    let change = Change::Deactivate {
        allow_revivable: args.allow_revivable,
    };
    if args.batch.dry_run {
        return dry_run(client, ids, g, signals, &act, change).await;
    }
    let judged = guard_own(client, ids, g, signals).await?;
    let mut summary = run(judged, &args.batch, g, signals, &act, |id| async move {
        client.deactivate_api_key(&id).await
    })
    .await;
    // A 409 says "inactive", not why: an expired or idle key is not
    // deactivated, and the listing says which ones those are.
    let inactive: Vec<String> = summary
        .outcomes
        .iter()
        .filter(|o| o.ok && o.note == act.settled.map(|(_, note)| note))
        .map(|o| o.id.clone())
        .collect();
    if !inactive.is_empty() {
        // Only the keys that answered 409 are listed, so `found` holds
        // nothing else.
        let found =
            crate::commands::interruptible(signals, keys_named(client, &inactive, g)).await?;
        let now = chrono::Utc::now();
        for outcome in &mut summary.outcomes {
            if let Some(key) = found.get(&outcome.id)
                && outcome.ok
                && outcome.note == act.settled.map(|(_, note)| note)
            {
                // The server's status and code stay; the words follow the state.
                match judge(&outcome.id, Some(key), change, &act, now, false) {
                    Ok(Some(note)) => outcome.note = Some(note),
                    Ok(None) => {}
                    Err(error) => {
                        outcome.ok = false;
                        outcome.note = None;
                        outcome.error = Some(error);
                    }
                }
            }
        }
    }
    report(&summary, g, &act)
}

pub async fn delete(
    client: &Client,
    args: &Delete,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let ids = read_ids(&args.batch, signals).await?;
    let act = Act {
        verb: "delete",
        done: "deleted",
        settled: args.ignore_missing.then_some((404, "already gone")),
        would: "would delete",
    };
    // Refused without a way to confirm, in a dry run as in the real run.
    if !args.yes && !io::stdin().is_terminal() {
        return Err(Failure::usage(
            "refusing to delete without a confirmation, and standard input is not a terminal to ask on: pass --yes",
        ));
    }
    if args.batch.dry_run {
        return dry_run(client, ids, g, signals, &act, Change::Delete).await;
    }
    if !args.yes {
        let listed =
            crate::commands::interruptible(signals, describe_keys(client, &ids, g)).await?;
        let target = crate::context::target(client.base_url().as_str(), g);
        if !confirm(&listed, ids.len(), &target, signals).await? {
            return Err(Failure::api("nothing deleted"));
        }
    }
    let judged = guard_own(client, ids, g, signals).await?;
    let summary = run(judged, &args.batch, g, signals, &act, |id| async move {
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
    let shown = &ids[..ids.len().min(CONFIRM_ROWS)];
    let found = keys_named(client, shown, g).await?;
    Ok(shown
        .iter()
        .map(|id| match found.get(id) {
            // Which of them still work is what the operator weighs.
            Some(k) => format!(
                "  {}  {}  {}  ({})",
                escape(id),
                escape(&k.username),
                escape(&k.name),
                KeyState::of(k, chrono::Utc::now())
            ),
            None => format!("  {}  (no such key)", escape(id)),
        })
        .collect())
}

/// The batch's ids, read so that a signal while they are typed or piped in
/// ends the command before anything is changed. An input with no ids (a
/// clean night's audit, piped in) is nothing to do: said (unless --quiet),
/// exit 0, with nothing changed.
async fn read_ids(batch: &Batch, signals: &mut Signals) -> Result<Vec<String>, Failure> {
    let batch = batch.clone();
    let ids = unless_signalled(signals, move || batch::read_ids(&batch)).await?;
    if ids.is_empty() {
        return Err(Failure::nothing_to_do(
            "nothing to do: the input holds no key ids",
        ));
    }
    Ok(ids)
}

/// Asks on the terminal, after listing the keys; a signal at the prompt is
/// a no, and ends the command.
async fn confirm(
    listed: &[String],
    count: usize,
    target: &str,
    signals: &mut Signals,
) -> Result<bool, Failure> {
    let mut err = io::stderr();
    let _ = writeln!(err, "These keys will be deleted (id, user, name, state):");
    for line in listed {
        let _ = writeln!(err, "{line}");
    }
    if count > listed.len() {
        let _ = writeln!(err, "  … and {} more", count - listed.len());
    }
    let _ = write!(
        err,
        "Delete {count} key(s) on {target}? This cannot be undone. [y/N] "
    );
    let _ = err.flush();
    let answer = unless_signalled(signals, || {
        let mut answer = String::new();
        io::stdin().lock().take(64).read_line(&mut answer)?;
        Ok(answer)
    })
    .await?;
    let yes = matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes");
    // A ^C typed just before the answer reaches the process as a signal a
    // moment after the line: it still counts, and nothing is deleted. The
    // wait is bounded and only a yes pays it.
    if yes && let Ok(signal) = tokio::time::timeout(CONFIRM_GRACE, signals.next()).await {
        return Err(Failure::signalled(
            signal,
            format!("{signal} at the prompt: nothing was deleted"),
        ));
    }
    Ok(yes)
}

/// How long a yes at the delete prompt waits for a signal typed before it.
const CONFIRM_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs the batch over the ids judged to be acted on; the others' outcomes
/// (settled or refused by [`judge`]) take their places in input order.
/// With `-o ndjson` each result is written as it is known.
async fn run<F, Fut>(
    judged: Vec<Judged>,
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
    let mut report = |outcome: &Outcome| {
        if g.output == Output::Ndjson && !stdout_gone {
            // A reader that went away stops the record, not the batch.
            stdout_gone = write_ndjson(&mut io::stdout().lock(), outcome).is_err();
        }
    };
    let mut decided = Vec::new();
    let mut ids = Vec::new();
    for (at, j) in judged.into_iter().enumerate() {
        match j {
            Judged::Act(id) => ids.push(id),
            Judged::Decided(outcome) => {
                report(&outcome);
                decided.push((at, outcome));
            }
        }
    }
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
    let (op, judge) = (&op, &judge);
    let each = |id: String| async move {
        let result = op(id.clone()).await;
        judge(id, result)
    };
    let mut summary = batch::run(ids, how, each, report, signals).await;
    // The decided outcomes back in their places among the ones that ran.
    for (at, outcome) in decided {
        let at = at.min(summary.outcomes.len());
        summary.outcomes.insert(at, outcome);
    }
    summary
}

/// Prints every outcome (NDJSON lines were written already), then the
/// count; exit 130 or 143 when a signal stopped it, 3 when some failed, 1
/// when all did.
fn report(summary: &Summary, g: &Global, act: &Act) -> Result<(), Failure> {
    report_as(summary, g, act.done, "", None)
}

/// [`report`], with the summary's word for a key done and a prefix.
/// With `would` (a dry run), only the ids that note would change count as
/// "would be done"; the rest that are ok are as asked already.
fn report_as(
    summary: &Summary,
    g: &Global,
    done_word: &str,
    prefix: &str,
    would: Option<&str>,
) -> Result<(), Failure> {
    let outcomes = &summary.outcomes;
    print_results(outcomes, g, &OUTCOME_COLUMNS, |o| {
        outcomes_table(o, !g.no_headers)
    })?;
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    let done = outcomes.len() - failed;
    let mut counts = match would {
        Some(would) => {
            let changing = outcomes
                .iter()
                .filter(|o| o.ok && o.note == Some(would))
                .count();
            format!(
                "{prefix}{changing} {done_word}, {} already as asked, {failed} failed",
                done - changing
            )
        }
        None => format!("{prefix}{done} {done_word}, {failed} failed"),
    };
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

/// What a batch changes, for the judgement the dry run and the real run
/// share.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    /// The expiry: refused for a deactivated key, and for an expired one
    /// (which it would revive) unless `revive`.
    Terms {
        revive: bool,
    },
    /// The inactivity interval: missing on servers before 1.7.0, refused
    /// for a deactivated key, and for an idle one (which it would revive)
    /// unless `revive`.
    Inactivity {
        revive: bool,
    },
    /// Deactivation: an expired or idle key, which the server does not
    /// deactivate and stays revivable, fails unless `allow_revivable`.
    Deactivate {
        allow_revivable: bool,
    },
    Delete,
}

/// An id's fate before any call: acted on, or decided already.
enum Judged {
    Act(String),
    Decided(Outcome),
}

/// What a batch may do to `key` (`None`: no key with `id`) in the state it
/// is in at `now`: `Ok(None)` to act, `Ok(Some(note))` when it is as asked
/// already, `Err` when it is refused. The one check the dry run and the
/// real run share, so the dry run predicts the real one.
fn judge(
    id: &str,
    key: Option<&types::ApiKeyInfo>,
    change: Change,
    act: &Act,
    now: chrono::DateTime<chrono::Utc>,
    own: bool,
) -> Result<Option<&'static str>, String> {
    let Some(key) = key else {
        return match act.settled {
            Some((404, note)) => Ok(Some(note)),
            _ => Err(format!("no key with id {}", escape(id))),
        };
    };
    if own {
        return Err(format!("key {}: {OWN_KEY}", escape(id)));
    }
    let state = KeyState::of(key, now);
    let since = |state: KeyState| {
        state.since().map_or_else(String::new, |at| {
            format!(" since {}", at.format("%Y-%m-%d %H:%M UTC"))
        })
    };
    match (change, state) {
        (Change::Delete, _) => Ok(None),
        (Change::Deactivate { .. }, KeyState::Active) => Ok(None),
        (Change::Deactivate { .. }, KeyState::Deactivated) => Ok(Some("already inactive")),
        (
            Change::Deactivate {
                allow_revivable: true,
            },
            _,
        ) => Ok(Some("inactive, not deactivated: still revivable")),
        (Change::Deactivate { .. }, state) => Err(format!(
            "key {} is {state}{}, not deactivated: the server does not deactivate it, and a new expiry or inactivity interval would make it authenticate again; delete it, or pass --allow-revivable to count it as done",
            escape(id),
            since(state)
        )),
        (Change::Inactivity { .. }, _) if !reports_last_use(key) => Err(
            "the server does not offer update_api_key_inactivity_interval (before h2oGPTe 1.7.0)"
                .to_owned(),
        ),
        (Change::Terms { .. } | Change::Inactivity { .. }, KeyState::Deactivated) => Err(format!(
            "key {} is deactivated: the server refuses to change it",
            escape(id)
        )),
        (Change::Terms { revive: false }, state @ KeyState::Expired { .. })
        | (Change::Inactivity { revive: false }, state @ KeyState::Idle { .. }) => Err(format!(
            "key {} is {state}{}: this change would make it authenticate again; pass --revive to do that on purpose",
            escape(id),
            since(state)
        )),
        _ => Ok(None),
    }
}

/// Reads every key once and judges each id ([`judge`]): the id, whether
/// it was listed, and the verdict.
async fn verdicts(
    client: &Client,
    ids: Vec<String>,
    g: &Global,
    signals: &mut Signals,
    act: &Act,
    change: Change,
) -> Result<Vec<(String, bool, Result<Option<&'static str>, String>)>, Failure> {
    let found = crate::commands::interruptible(signals, keys_named(client, &ids, g)).await?;
    let now = chrono::Utc::now();
    Ok(ids
        .into_iter()
        .map(|id| {
            let key = found.get(&id);
            let own = key.is_some_and(|k| crate::lookup::protected(client, k, g));
            let verdict = judge(&id, key, change, act, now, own);
            (id, key.is_some(), verdict)
        })
        .collect())
}

/// The real run's judgement ([`verdicts`]): the ids to act on, and the
/// outcomes decided already.
async fn judge_all(
    client: &Client,
    ids: Vec<String>,
    g: &Global,
    signals: &mut Signals,
    act: &Act,
    change: Change,
) -> Result<Vec<Judged>, Failure> {
    Ok(verdicts(client, ids, g, signals, act, change)
        .await?
        .into_iter()
        .map(|(id, listed, verdict)| match verdict {
            // A key not listed may have come since: the server decides.
            Err(_) if !listed => Judged::Act(id),
            Ok(None) => Judged::Act(id),
            Ok(Some(note)) => Judged::Decided(Outcome::done(id, note)),
            Err(error) => Judged::Decided(Outcome::refused(id, error)),
        })
        .collect())
}

/// The ids of a deactivation or deletion, which the server judges: all
/// acted on but the caller's own key (unless --allow-self), which takes
/// one listing pass to tell.
async fn guard_own(
    client: &Client,
    ids: Vec<String>,
    g: &Global,
    signals: &mut Signals,
) -> Result<Vec<Judged>, Failure> {
    if g.allow_self {
        return Ok(ids.into_iter().map(Judged::Act).collect());
    }
    let found = crate::commands::interruptible(signals, keys_named(client, &ids, g)).await?;
    Ok(ids
        .into_iter()
        .map(|id| match found.get(&id) {
            Some(key) if crate::lookup::protected(client, key, g) => {
                let why = format!("key {}: {OWN_KEY}", escape(&id));
                Judged::Decided(Outcome::refused(id, why))
            }
            _ => Judged::Act(id),
        })
        .collect())
}

/// `--dry-run` of a batch: reads every key once, then says per id what the
/// real run would do, with the same exit codes; nothing is changed.
async fn dry_run(
    client: &Client,
    ids: Vec<String>,
    g: &Global,
    signals: &mut Signals,
    act: &Act,
    change: Change,
) -> Result<(), Failure> {
    let outcomes = verdicts(client, ids, g, signals, act, change)
        .await?
        .into_iter()
        .map(|(id, _, verdict)| match verdict {
            Ok(None) => Outcome::done(id, act.would),
            Ok(Some(note)) => Outcome::done(id, note),
            Err(error) => Outcome::refused(id, error),
        })
        .collect();
    let summary = Summary {
        outcomes,
        not_attempted: 0,
        abandoned: 0,
        signal: None,
    };
    if g.output == Output::Ndjson {
        let mut out = io::stdout().lock();
        for o in &summary.outcomes {
            write_ndjson(&mut out, o)?;
        }
    }
    let prefix = format!(
        "dry run on {}, nothing was changed: ",
        crate::context::target(client.base_url().as_str(), g)
    );
    report_as(&summary, g, "would be done", &prefix, Some(act.would))
}
