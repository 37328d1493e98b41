//! `apply`: a plan saved by `plan --out`, carried out by the library
//! ([`plan::apply`]) on the server it was made for, after every key it
//! changes is read again and any key changed since is skipped, with a
//! reason (as a stale Terraform plan would be); rotations go through the
//! rotation engine into a secret directory or command. It names the server
//! before it changes anything, and asks (or needs --yes).

use std::io::IsTerminal;

use h2ogpte_api_keys::{
    Client,
    plan::{self, Action, Applied, PlanRow},
    rotation::{End, Rotator, Stop},
    types::ApiKeyInfo,
};
use serde::Serialize;

use crate::{
    args::{ApplyArgs, Global, Output},
    failure::Failure,
    lookup::keys_named,
    output::{print_results, whole_table, write_ndjson},
    plan_file::{PlanFile, detail},
    rotation_words::{OWN_KEY, outcome_failure},
    signals::Signals,
    sink::{Outlet, Sink},
    state_dir::{journal_failure, open_journal},
    terminal::{escape, note},
    user_map::UserMap,
    wait::{interruptible, unless_signalled, until_second_signal},
};

/// One key's result, as printed.
#[derive(Debug, Serialize)]
pub struct Row {
    pub id: String,
    pub action: &'static str,
    /// "done", "failed", "skipped" or, in a dry run, "would".
    pub result: &'static str,
    pub detail: String,
}

const COLUMNS: [&str; 4] = ["id", "action", "result", "detail"];

pub async fn apply(
    client: &Client,
    args: &ApplyArgs,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let server = client.base_url().as_str().to_owned();
    let path = args.plan.clone();
    let plan = {
        let server = server.clone();
        unless_signalled(signals, move || PlanFile::load(&path, &server)).await?
    };
    let sink = Sink::from_args(&args.delivery.sink, args.delivery.secret_dir.as_deref())?;
    let users = match &args.delivery.user_map {
        Some(path) => Some(UserMap::read(path)?),
        None => None,
    };
    let changing: Vec<&PlanRow> = plan.rows.iter().filter(|r| r.action.changes()).collect();
    if changing.is_empty() {
        return Err(Failure::nothing_to_do(
            "nothing to do: the plan changes no key",
        ));
    }
    let rotations = changing
        .iter()
        .filter(|r| matches!(r.action, Action::Rotate { .. }))
        .count();
    if rotations > 0 && sink.is_stdout() {
        return Err(Failure::usage(format!(
            "the plan rotates {rotations} key(s): give each secret a place with --secret-dir DIR or --secret-command CMD"
        )));
    }
    if let Some(warning) = sink.same_place_warning(rotations)
        && !g.quiet
    {
        note(&warning);
    }
    let changing: Vec<PlanRow> = changing.into_iter().cloned().collect();
    let (fresh, mut rows) = interruptible(signals, recheck(client, &changing, &sink, g)).await?;
    let shown = crate::context::target(&server, g);
    if args.dry_run {
        rows.extend(fresh.iter().map(|r| Row {
            id: r.key.id.clone(),
            action: r.action.as_str(),
            result: "would",
            detail: detail(&r.action),
        }));
        print(&rows, g)?;
        if !g.quiet {
            note(&format!(
                "dry run, nothing was changed: {} change(s) would be made on {shown}, {} skipped",
                fresh.len(),
                rows.len() - fresh.len()
            ));
        }
        return Ok(());
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(format!(
                "refusing to change {} key(s) on {shown} without a confirmation, and standard input is not a terminal to ask on: pass --yes",
                fresh.len()
            )));
        }
        let question = format!("apply {} change(s) to {shown}? [y/N] ", fresh.len());
        let answer = unless_signalled(signals, move || {
            eprint!("{question}");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
            Ok(line)
        })
        .await?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Failure::api("nothing was changed"));
        }
    }
    if !g.quiet {
        note(&format!("applying {} change(s) to {shown}", fresh.len()));
    }
    let stop = Stop::new();
    let work = carry_out(
        client,
        &fresh,
        &sink,
        users.as_ref(),
        args.delivery.concurrency.into(),
        &stop,
        g,
    );
    let (done, signal) = until_second_signal(signals, &stop, work).await;
    if let Some(done) = done {
        rows.extend(done?);
    }
    print(&rows, g)?;
    let failed = rows.iter().filter(|r| r.result != "done").count();
    let counts = format!("{} done, {failed} not", rows.len() - failed);
    if !g.quiet {
        note(&counts);
    }
    if let Some(signal) = signal {
        return Err(Failure::signalled(signal, format!("{signal}: {counts}")));
    }
    match failed {
        0 => Ok(()),
        n if n == rows.len() => Err(Failure::api(format!(
            "none of the {n} change(s) was made; see the results above"
        ))),
        n => Err(Failure::partial(format!(
            "{n} of {} change(s) not made; see the results above",
            rows.len()
        ))),
    }
}

/// Every key of `changing` as listed now, and the rows of those skipped: a
/// key gone or changed since the plan was made, the caller's own key
/// (unless --allow-self), a rotation whose secret has no place. Never acted
/// on from stale facts. For `apply` and the MCP server's `apply_plan`.
pub async fn recheck(
    client: &Client,
    changing: &[PlanRow],
    sink: &Sink,
    g: &Global,
) -> Result<(Vec<PlanRow>, Vec<Row>), Failure> {
    let ids: Vec<String> = changing.iter().map(|r| r.key.id.clone()).collect();
    let now_listed = keys_named(client, &ids, g).await?;
    let mut rows = Vec::new();
    let mut fresh = Vec::new();
    for row in changing {
        match now_listed.get(&row.key.id) {
            None => rows.push(Row::skipped(row, "the key is gone since the plan was made")),
            Some(now) if row.is_stale(now) => rows.push(Row::skipped(
                row,
                "the key changed since the plan was made: make a new plan",
            )),
            // A plan made with another key may hold this one's.
            Some(now) if crate::lookup::protected(client, now, g) => {
                rows.push(Row::skipped(row, OWN_KEY))
            }
            // A secret that has no place is found now, in a dry run as in
            // the real run, before any key is made for it.
            Some(_) if matches!(row.action, Action::Rotate { .. }) => {
                match sink.check(Some(&row.key.id)) {
                    Ok(()) => fresh.push(row.clone()),
                    Err(why) => rows.push(Row::skipped(row, &why)),
                }
            }
            Some(_) => fresh.push(row.clone()),
        }
    }
    Ok((fresh, rows))
}

/// Carries `fresh` out through the library ([`plan::apply`]): rotations
/// journalled in the state directory and delivered to `sink`, `concurrency`
/// calls at once, none started after `stop`. One row per change.
pub async fn carry_out(
    client: &Client,
    fresh: &[PlanRow],
    sink: &Sink,
    users: Option<&UserMap>,
    concurrency: usize,
    stop: &Stop,
    g: &Global,
) -> Result<Vec<Row>, Failure> {
    let journal = open_journal(client, g)?;
    let rotator = Rotator::new(client.clone(), journal, Outlet { sink, g })
        .with_concurrency(concurrency)
        .with_stop(stop.clone())
        .with_allow_self(g.allow_self);
    let user_id = |key: &ApiKeyInfo| {
        users
            .and_then(|m| m.get(&key.username))
            .map_or_else(|| key.username.clone(), str::to_owned)
    };
    let applied = plan::apply(&rotator, fresh, user_id)
        .await
        .map_err(journal_failure)?;
    Ok(applied.into_iter().map(|a| Row::of(a, g)).collect())
}

impl Row {
    fn skipped(row: &PlanRow, why: &str) -> Self {
        Self {
            id: row.key.id.clone(),
            action: row.action.as_str(),
            result: "skipped",
            detail: why.to_owned(),
        }
    }

    fn of(applied: Applied, g: &Global) -> Self {
        match applied {
            Applied::Done { key_id, action } => Self {
                id: key_id,
                detail: detail(&action),
                action: action.as_str(),
                result: "done",
            },
            Applied::Failed {
                key_id,
                action,
                error,
            } => Self {
                id: key_id,
                action: action.as_str(),
                result: "failed",
                detail: crate::failure::describe(&error, g.timeout),
            },
            Applied::Rotated(outcome) => {
                let failure = outcome_failure(&outcome, Some("--user-map"), g);
                let detail = match (&failure, &outcome.new_id, &outcome.secret_to) {
                    (Some(f), _, _) => f.message.clone(),
                    (None, Some(new), Some(to)) => {
                        format!("new key {}, its secret in {}", escape(new), escape(to))
                    }
                    _ => String::new(),
                };
                Self {
                    id: outcome.old_id.clone(),
                    action: "rotate",
                    result: match (&outcome.end, failure) {
                        (End::Rotated(_), None) => "done",
                        _ => "failed",
                    },
                    detail,
                }
            }
            _ => Self {
                id: String::new(),
                action: "",
                result: "failed",
                detail: "an outcome this version does not know".to_owned(),
            },
        }
    }
}

/// Prints the rows (NDJSON, a line each).
fn print(rows: &[Row], g: &Global) -> Result<(), Failure> {
    if g.output == Output::Ndjson {
        let mut out = std::io::stdout().lock();
        for row in rows {
            write_ndjson(&mut out, row)?;
        }
    }
    print_results(rows, g, &COLUMNS, |rows| {
        let cells = rows
            .iter()
            .map(|r| {
                [
                    escape(&r.id),
                    r.action.to_owned(),
                    r.result.to_owned(),
                    escape(&r.detail),
                ]
            })
            .collect();
        whole_table(["ID", "ACTION", "RESULT", "DETAIL"], cells, !g.no_headers)
    })?;
    Ok(())
}
