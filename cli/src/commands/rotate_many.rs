//! `rotate` into a sink: one key (`--secret-file`, `--secret-command`) or
//! many (`--from-file` with `--secret-dir` or `--secret-command`). Every
//! key is judged before anything is made, each rotation journals its steps,
//! and each ends delivered (the old key retired as asked) or undone (the
//! new key deleted, the old key's expiry put back), one result per key.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use h2ogpte_api_keys::{
    Client,
    rotation::{OldKey, Retire, RotationPlan},
    types::ApiKeyInfo,
};
use serde::Serialize;

use crate::{
    args::{Batch, Global, Output, Rotate},
    batch::{self, Summary},
    commands::{
        bulk::keys_named,
        interruptible,
        rotate::{
            create_failed, journal_entry, open_journal, refused, retire_of, unfinished_rotations,
        },
        unless_signalled,
    },
    failure::{Failure, describe},
    journal::{Journal, Step},
    output::{print_results, whole_table, write_ndjson},
    signals::Signals,
    sink::{KeyFacts, Sink},
    terminal::{escape, note},
    user_map::UserMap,
};

/// One key's rotation, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct RotationRow {
    /// The key replaced (or to be).
    pub old_id: String,
    /// Whether it ended as asked: delivered and retired (or, in a dry run,
    /// would be rotated).
    pub ok: bool,
    /// The new key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// Where its secret went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_to: Option<String>,
    /// What became of the old key: "deactivated", "deleted", "expires" (at
    /// `old_key_stops_at`), "active" or, in a dry run, what would.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_key: Option<String>,
    /// When the old key stops working, with an overlap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_key_stops_at: Option<DateTime<Utc>>,
    /// What went wrong, and what was done about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A key may be left that nobody holds, or an old key may be left
    /// active or shortened: the error says which, and what to do.
    #[serde(skip)]
    pub partial: bool,
}

/// The CSV columns of a [`RotationRow`].
const COLUMNS: [&str; 7] = [
    "old_id",
    "ok",
    "new_id",
    "secret_to",
    "old_key",
    "old_key_stops_at",
    "error",
];

impl RotationRow {
    fn failed(old_id: &str, error: String) -> Self {
        Self {
            old_id: old_id.to_owned(),
            ok: false,
            new_id: None,
            secret_to: None,
            old_key: None,
            old_key_stops_at: None,
            error: Some(error),
            partial: false,
        }
    }
}

/// Rotates the key `args.id` or every key of `--from-file` into `sink`.
pub async fn rotate_into(
    client: &Client,
    args: &Rotate,
    sink: &Sink,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let retire = retire_of(args)?;
    let ids = match &args.id {
        Some(id) => vec![id.clone()],
        None => {
            let batch = Batch {
                ids: Vec::new(),
                from_file: args.from_file.clone(),
                concurrency: args.concurrency,
                dry_run: args.dry_run,
            };
            unless_signalled(signals, move || batch::read_ids(&batch)).await?
        }
    };
    if ids.is_empty() {
        return Err(Failure::nothing_to_do(
            "nothing to do: the input holds no key ids",
        ));
    }
    sink.check_dir()?;
    let users = match &args.user_map {
        Some(path) => Some(UserMap::read(path)?),
        None => None,
    };
    let found = interruptible(signals, keys_named(client, &ids, g)).await?;
    // The dry run reads the journal without its lock, and refuses what the
    // real run would.
    let (journal, unfinished) = if args.dry_run {
        (None, unfinished_rotations(client, g)?)
    } else {
        let journal = open_journal(client, g)?;
        let open = journal
            .entries()
            .into_iter()
            .map(|e| e.old_key_id)
            .collect();
        (Some(journal), open)
    };
    let now = Utc::now();
    let mut judged: Vec<Result<RotationPlan, RotationRow>> = Vec::with_capacity(ids.len());
    for id in &ids {
        let verdict = judge(
            id,
            found.get(id),
            retire,
            now,
            args,
            users.as_ref(),
            sink,
            &unfinished,
            g,
        );
        judged.push(verdict.map_err(|why| RotationRow::failed(id, why)));
    }
    if args.dry_run {
        let rows = judged
            .into_iter()
            .map(|j| j.map_or_else(|row| row, |plan| would(&plan, sink)))
            .collect();
        let summary = Summary {
            outcomes: rows,
            not_attempted: 0,
            abandoned: 0,
            signal: None,
        };
        if g.output == Output::Ndjson {
            let mut out = std::io::stdout().lock();
            for row in &summary.outcomes {
                write_ndjson(&mut out, row)?;
            }
        }
        return report(
            &summary,
            g,
            "dry run, nothing was changed: ",
            "would be rotated",
        );
    }
    let Some(journal) = journal else {
        return Err(Failure::api("the rotation journal is not open"));
    };
    let journal = &journal;
    let mut refused_rows = Vec::new();
    let mut work = Vec::new();
    for (at, j) in judged.into_iter().enumerate() {
        match j {
            Ok(p) => work.push(p),
            Err(row) => refused_rows.push((at, row)),
        }
    }
    let mut stdout_gone = false;
    let mut print = |row: &RotationRow| {
        if g.output == Output::Ndjson && !stdout_gone {
            stdout_gone = write_ndjson(&mut std::io::stdout().lock(), row).is_err();
        }
    };
    for (_, row) in &refused_rows {
        print(row);
    }
    let how = batch::How {
        concurrency: if args.id.is_some() {
            1
        } else {
            args.concurrency.into()
        },
        verb: "rotate",
        quiet: g.quiet,
    };
    // Without a user id given, the username stands in; a failed create then
    // names the flag that gives ids.
    let hint = match (&args.user, &args.user_map, &args.id) {
        (None, None, Some(_)) => Some("--user"),
        (None, None, None) => Some("--user-map"),
        _ => None,
    };
    let each =
        |plan: RotationPlan| async move { rotate_one(client, plan, sink, journal, hint, g).await };
    let mut summary = batch::run(work, how, each, &mut print, signals).await;
    for (at, row) in refused_rows {
        let at = at.min(summary.outcomes.len());
        summary.outcomes.insert(at, row);
    }
    report(&summary, g, "", "rotated")
}

/// Whether `id` can be rotated, and its plan: refused (why) when it is
/// not listed, grants no access, has no user id, cannot name its secret's
/// file, or has an unfinished rotation in the journal.
#[allow(clippy::too_many_arguments)]
fn judge(
    id: &str,
    key: Option<&ApiKeyInfo>,
    retire: Retire,
    now: DateTime<Utc>,
    args: &Rotate,
    users: Option<&UserMap>,
    sink: &Sink,
    unfinished: &HashSet<String>,
    g: &Global,
) -> Result<RotationPlan, String> {
    let fail = |why: String| why;
    let key = key.ok_or_else(|| fail("no such key".to_owned()))?;
    if unfinished.contains(id) {
        return Err(fail(
            "an earlier rotation of this key is unfinished: run `h2ogpte-keys rotate --resume` first".to_owned(),
        ));
    }
    let plan =
        RotationPlan::new(key.clone(), retire, now).map_err(|e| fail(refused(e, id, g).message))?;
    let user = match (&args.user, users) {
        (Some(user), _) => Some(user.clone()),
        (None, Some(map)) => Some(
            map.get(&key.username)
                .ok_or_else(|| {
                    fail(format!(
                        "user {} is not in --user-map: add `{},USER_ID`; nothing was made for this key",
                        escape(&key.username),
                        escape(&key.username)
                    ))
                })?
                .to_owned(),
        ),
        (None, None) => None,
    };
    let plan = match user {
        Some(user) => plan.for_user(user),
        None => plan,
    };
    let plan = match &args.expires_in {
        Some(interval) => plan
            .with_expires_in(interval)
            .map_err(|e| fail(format!("--expires-in: {e}")))?,
        None => plan,
    };
    sink.check(Some(id)).map_err(fail)?;
    Ok(plan)
}

/// What a dry run says of a key fit to rotate.
fn would(plan: &RotationPlan, sink: &Sink) -> RotationRow {
    let old = &plan.old().id;
    RotationRow {
        old_id: old.clone(),
        ok: true,
        new_id: None,
        secret_to: Some(sink.target(Some(old))),
        old_key: Some(
            match plan.retire() {
                Retire::Delete => "would be deleted",
                Retire::After(_) => "would expire",
                _ => "would be deactivated",
            }
            .to_owned(),
        ),
        old_key_stops_at: plan.old_key_stops_at(),
        error: None,
        partial: false,
    }
}

/// One rotation, journalled step by step: the old key's expiry brought
/// forward (with an overlap) and the new key made; its secret delivered or
/// the rotation undone; the old key retired.
async fn rotate_one(
    client: &Client,
    plan: RotationPlan,
    sink: &Sink,
    journal: &Journal,
    hint: Option<&str>,
    g: &Global,
) -> RotationRow {
    let old_id = plan.old().id.clone();
    let mut row = RotationRow::failed(&old_id, String::new());
    let mut entry = journal_entry(&plan, sink);
    if let Err(e) = journal.put(entry.clone()) {
        row.error = Some(format!("{e}; nothing was changed"));
        return row;
    }
    let rotation = match plan.create(client).await {
        Ok(rotation) => rotation,
        Err(e) => {
            let failure = create_failed(e, hint, g);
            let _ = journal.remove(&old_id);
            row.partial = failure.code == crate::failure::EXIT_PARTIAL;
            row.error = Some(failure.message);
            return row;
        }
    };
    let created = &rotation.created;
    let new_id = created.api_key.id.clone();
    row.new_id = Some(new_id.clone());
    entry.step = Step::Created;
    entry.new_key_id = Some(new_id.clone());
    let noted = journal.put(entry.clone());
    let facts = KeyFacts {
        new_id: &new_id,
        name: &created.api_key.name,
        username: &created.api_key.username,
        old_id: Some(&old_id),
    };
    let delivered = match noted {
        Err(e) => Err(e),
        Ok(()) => sink.deliver(created.secret_key.expose(), facts).await,
    };
    let secret_to = match delivered {
        Ok(to) => to,
        Err(why) => {
            let new = escape(&new_id);
            match rotation.undo(client).await {
                Ok(()) => {
                    let _ = journal.remove(&old_id);
                    row.error = Some(format!(
                        "{why}; the new key {new} was deleted again and the old key left as it was"
                    ));
                }
                Err(e) => {
                    row.partial = true;
                    row.error = Some(format!(
                        "DANGER: {why}, and undoing failed ({}): key {new} may exist with nobody holding its secret; run `h2ogpte-keys rotate --resume` to finish the undo",
                        describe(&e, g.timeout)
                    ));
                }
            }
            return row;
        }
    };
    row.secret_to = Some(secret_to);
    entry.step = Step::Delivered;
    if let Err(e) = journal.put(entry) {
        // The secret is delivered: retiring goes on; the journal's older
        // step would only undo it.
        note(&format!(
            "{e}: retiring the old key {} anyway",
            escape(&old_id)
        ));
    }
    let outcome = rotation.retire_old(client).await;
    let (word, stops, error) = match outcome {
        OldKey::Deactivated => ("deactivated", None, None),
        OldKey::Deleted => ("deleted", None, None),
        OldKey::ExpiresAt(at) => ("expires", Some(at), None),
        OldKey::RetiredElsewhere => (
            "retired elsewhere",
            None,
            Some(format!(
                "someone deactivated or deleted the old key meanwhile: if that revocation was meant for its user, delete the new key too with `h2ogpte-keys delete {}`",
                escape(&new_id)
            )),
        ),
        OldKey::StillActive(e) => (
            "active",
            None,
            Some(format!(
                "the old key is still active: {}; retire it with `h2ogpte-keys rotate --resume`",
                describe(&e, g.timeout)
            )),
        ),
        _ => (
            "active",
            None,
            Some("the old key's end is unknown".to_owned()),
        ),
    };
    if word != "active" {
        let _ = journal.remove(&old_id);
    }
    row.old_key = Some(word.to_owned());
    row.old_key_stops_at = stops;
    row.ok = error.is_none();
    row.partial = error.is_some();
    row.error = error;
    row
}

/// Prints every row (NDJSON lines were written already), then the counts;
/// exit 0 when every key is done, 3 when some are not or something is
/// left to clean up, 1 when every key failed cleanly, 130 or 143 after a
/// signal.
fn report(
    summary: &Summary<RotationRow>,
    g: &Global,
    prefix: &str,
    done_word: &str,
) -> Result<(), Failure> {
    let rows = &summary.outcomes;
    print_results(rows, g, &COLUMNS, |rows| table(rows, !g.no_headers))?;
    let failed = rows.iter().filter(|r| !r.ok).count();
    let partial = rows.iter().any(|r| r.partial);
    let mut counts = format!(
        "{prefix}{} {done_word}, {failed} failed",
        rows.len() - failed
    );
    if summary.not_attempted > 0 {
        counts += &format!(", {} not attempted", summary.not_attempted);
    }
    if summary.abandoned > 0 {
        counts += &format!(
            ", {} abandoned in flight (finish or undo them with `h2ogpte-keys rotate --resume`)",
            summary.abandoned
        );
    }
    if !g.quiet {
        note(&counts);
    }
    if let Some(signal) = summary.signal {
        return Err(Failure::signalled(
            signal,
            format!(
                "{signal}: {} key(s) not rotated",
                summary.not_attempted + summary.abandoned
            ),
        ));
    }
    match failed {
        0 => Ok(()),
        n if n == rows.len() && !partial => match rows.as_slice() {
            [one] => Err(Failure::api(one.error.clone().unwrap_or_default())),
            _ => Err(Failure::api(format!("every one of the {n} key(s) failed"))),
        },
        n => Err(Failure::partial(format!(
            "{n} of {} key(s) not rotated as asked; see the results above",
            rows.len()
        ))),
    }
}

/// The table of rotation rows.
fn table(rows: &[RotationRow], header: bool) -> String {
    let cells = rows
        .iter()
        .map(|r| {
            let end = match (&r.old_key, r.old_key_stops_at) {
                (Some(word), Some(at)) => format!("{word} {}", at.format("%Y-%m-%d %H:%M:%S")),
                (Some(word), None) => word.clone(),
                (None, _) => String::new(),
            };
            [
                escape(&r.old_id),
                r.new_id.as_deref().map(escape).unwrap_or_default(),
                r.secret_to.as_deref().map(escape).unwrap_or_default(),
                end,
                match &r.error {
                    Some(e) => format!("failed: {}", escape(e)),
                    None => "ok".to_owned(),
                },
            ]
        })
        .collect();
    whole_table(
        ["OLD ID", "NEW ID", "SECRET TO", "OLD KEY", "RESULT"],
        cells,
        header,
    )
}
