//! `rotate`: one key or many (`--from-file`) through the library's
//! rotation engine ([`Rotator`]), which journals every step in the state
//! directory and delivers each secret to the sink (standard output,
//! `--secret-file`, `--secret-dir`, `--secret-command`). This module turns
//! flags into plans, runs them under SIGINT and SIGTERM with a progress
//! bar, and words each key's result; `rotate --resume` is `resume`'s.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use h2ogpte_api_keys::{
    Client, parse_interval,
    rotation::{End, Memory, Outcome, Refusal, Retire, RotationPlan, Rotator, Stop},
    types::ApiKeyInfo,
};
use serde::Serialize;

use crate::{
    args::{Batch, Global, Output, Rotate},
    batch::{self, Summary},
    deliver::{OldKeyEnd, check_output_keeps_secrets, finish_rotation},
    failure::Failure,
    lookup::keys_named,
    output::{line, print_results, whole_table, write_ndjson},
    rotation_words::{old_key_word, outcome_failure, refusal, refused},
    signals::Signals,
    sink::{Outlet, Sink},
    state_dir::{journal_failure, open_journal, peek_journal},
    terminal::{escape, note},
    user_map::UserMap,
    wait::{interruptible, unless_signalled, until_second_signal},
};

pub async fn rotate(
    client: &Client,
    args: &Rotate,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let sink = Sink::from_args(&args.sink, args.secret_dir.as_deref())?;
    if args.from_file.is_some() && sink.is_stdout() {
        return Err(Failure::usage(
            "--from-file rotates many keys: give each secret a place with --secret-dir DIR or --secret-command CMD",
        ));
    }
    let retire = retire_of(args)?;
    let single = args.id.is_some();
    // A dry run refuses what the real run would: an output that would
    // lose the secret.
    if sink.is_stdout() && args.from_file.is_none() {
        check_output_keeps_secrets(g)?;
    }
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
    let users = match &args.user_map {
        Some(path) => Some(UserMap::read(path)?),
        None => None,
    };
    // A real run locks the journal before it reads anything; a dry run
    // reads it as it is and refuses what the real run would.
    let (journal, memory) = match args.dry_run {
        true => (None, peek_journal(client, g)?),
        false => {
            let journal = open_journal(client, g)?;
            let entries = h2ogpte_api_keys::rotation::Journal::entries(&journal)
                .await
                .map_err(journal_failure)?;
            (Some(journal), Memory::new(entries))
        }
    };
    // The keys, and the replacements of keys rotated before: whether those
    // still work decides whether a key may be rotated again.
    let mut wanted = ids.clone();
    wanted.extend(
        ids.iter()
            .filter_map(|id| memory.finished(id)?.new_key_id.clone()),
    );
    let found = interruptible(signals, keys_named(client, &wanted, g)).await?;
    let listed: Vec<ApiKeyInfo> = found.values().cloned().collect();
    let now = Utc::now();
    let judge = Judge {
        args,
        retire,
        now,
        users: users.as_ref(),
        sink: &sink,
        memory: &memory,
        listed: &listed,
        client,
        g,
    };
    let judged: Vec<Result<RotationPlan, Failure>> =
        ids.iter().map(|id| judge.plan(id, found.get(id))).collect();
    // Without a user id given, the username stands in; a failed create then
    // names the flag that gives ids.
    let hint = match (&args.user, &args.user_map, single) {
        (None, None, true) => Some("--user"),
        (None, None, false) => Some("--user-map"),
        _ => None,
    };
    if single && sink.is_stdout() {
        let plan = judged
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(Failure::api("no key id was given")))?;
        if args.dry_run {
            let target = crate::context::target(client.base_url().as_str(), g);
            return say_plan(&plan, g, args.user.is_some(), &target);
        }
        let outlet = Outlet { sink: &sink, g };
        let Some(journal) = journal else {
            return Err(Failure::api("the rotation journal is not open"));
        };
        let stop = Stop::new();
        let rotator = Rotator::new(client.clone(), journal, outlet)
            .with_stop(stop.clone())
            .with_force(args.again)
            .with_allow_self(g.allow_self);
        let old_id = plan.old().id.clone();
        let (run, signal) =
            until_second_signal(signals, &stop, rotator.run(vec![plan], |_| {})).await;
        let Some(run) = run else {
            return Err(Failure::signalled(
                signal.unwrap_or(crate::signals::Signal::Interrupt),
                format!(
                    "DANGER: stopped waiting for the rotation of key {}: if the server made the new key, nobody may hold its secret; run `h2ogpte-keys rotate --resume` to settle it",
                    escape(&old_id)
                ),
            ));
        };
        let run = run.map_err(journal_failure)?;
        let Some(outcome) = run.outcomes.into_iter().next() else {
            return Err(Failure::api("the rotation did not run"));
        };
        return single_result(&outcome, hint, g, signal);
    }
    let fit = judged.iter().filter(|j| j.is_ok()).count();
    if let Some(warning) = sink.same_place_warning(fit)
        && !g.quiet
    {
        note(&warning);
    }
    if args.dry_run {
        let rows: Vec<RotationRow> = ids
            .iter()
            .zip(judged)
            .map(|(id, j)| match j {
                Ok(plan) => would(&plan, &sink),
                Err(f) => RotationRow::failed(id, f.message),
            })
            .collect();
        if g.output == Output::Ndjson {
            let mut out = std::io::stdout().lock();
            for row in &rows {
                write_ndjson(&mut out, row)?;
            }
        }
        let summary = Summary {
            outcomes: rows,
            not_attempted: 0,
            abandoned: 0,
            signal: None,
        };
        let prefix = format!(
            "dry run on {}, nothing was changed: ",
            crate::context::target(client.base_url().as_str(), g)
        );
        return report(&summary, g, &prefix, "would be rotated");
    }
    let Some(journal) = journal else {
        return Err(Failure::api("the rotation journal is not open"));
    };
    let mut rows: HashMap<String, RotationRow> = HashMap::new();
    let mut plans = Vec::new();
    let mut stdout_gone = false;
    for (id, j) in ids.iter().zip(judged) {
        match j {
            Ok(plan) => plans.push(plan),
            Err(f) => {
                let row = RotationRow::failed(id, f.message);
                if g.output == Output::Ndjson && !stdout_gone {
                    stdout_gone = write_ndjson(&mut std::io::stdout().lock(), &row).is_err();
                }
                rows.insert(id.clone(), row);
            }
        }
    }
    let planned = plans.len();
    let stop = Stop::new();
    let rotator = Rotator::new(client.clone(), journal, Outlet { sink: &sink, g })
        .with_concurrency(args.concurrency.into())
        .with_stop(stop.clone())
        .with_force(args.again)
        .with_allow_self(g.allow_self);
    let progress = batch::progress_bar(planned, "rotate", g.quiet);
    let each = |o: &Outcome| {
        let row = RotationRow::of(o, hint, g);
        progress.inc(1);
        if g.output == Output::Ndjson && !stdout_gone {
            progress.suspend(|| {
                stdout_gone = write_ndjson(&mut std::io::stdout().lock(), &row).is_err();
            });
        }
        rows.insert(o.old_id.clone(), row);
    };
    let (run, signal) = until_second_signal(signals, &stop, rotator.run(plans, each)).await;
    progress.finish_and_clear();
    let not_attempted = match run {
        Some(run) => run.map_err(journal_failure)?.not_attempted,
        None => 0,
    };
    let outcomes: Vec<RotationRow> = ids.iter().filter_map(|id| rows.remove(id)).collect();
    let done = outcomes.len();
    let summary = Summary {
        outcomes,
        not_attempted,
        abandoned: (ids.len() - done).saturating_sub(not_attempted),
        signal,
    };
    report(&summary, g, "", "rotated")
}

/// The end of a single key's rotation onto standard output: what became
/// of the old key, then the exit.
fn single_result(
    o: &Outcome,
    hint: Option<&str>,
    g: &Global,
    signal: Option<crate::signals::Signal>,
) -> Result<(), Failure> {
    if o.secret_to.is_some() {
        // The secret is out: whatever the reader does now, the old key's
        // end is said.
        let end = match &o.end {
            End::Rotated(old) => match old_key_word(old) {
                (_, Some(at)) => OldKeyEnd::Until(at),
                ("active", None) => OldKeyEnd::Active,
                (word, None) => OldKeyEnd::Retired(word),
            },
            _ => OldKeyEnd::Active,
        };
        let _ = finish_rotation(g, &o.old_id, end);
    }
    if let Some(failure) = outcome_failure(o, hint, g) {
        return Err(failure);
    }
    match signal {
        Some(signal) => Err(Failure::signalled(
            signal,
            format!(
                "{signal}: the rotation of key {} in flight was finished first",
                escape(&o.old_id)
            ),
        )),
        None => Ok(()),
    }
}

/// What judges each key before anything is made.
struct Judge<'a> {
    args: &'a Rotate,
    retire: Retire,
    now: DateTime<Utc>,
    users: Option<&'a UserMap>,
    sink: &'a Sink,
    memory: &'a Memory,
    listed: &'a [ApiKeyInfo],
    client: &'a Client,
    g: &'a Global,
}

impl Judge<'_> {
    /// `id`'s plan, or why it is refused: not listed, granting no access,
    /// rotated already or mid-rotation (the library's judgement), its user
    /// not in `--user-map`, or its secret's place unusable.
    fn plan(&self, id: &str, key: Option<&ApiKeyInfo>) -> Result<RotationPlan, Failure> {
        let key = key.ok_or_else(|| {
            Failure::api(format!(
                "no key with id {}: check the id with `h2ogpte-keys list`",
                escape(id)
            ))
        })?;
        let plan = RotationPlan::new(key.clone(), self.retire, self.now)
            .map_err(|e| refused(e, id, self.g))?;
        // The engine's own refusal, said before anything is made.
        if crate::lookup::protected(self.client, key, self.g) {
            return Err(Failure::usage(refusal(&Refusal::OwnKey)));
        }
        if let Some(why) = self
            .memory
            .refusal(key, self.listed, self.args.again, self.now)
        {
            return Err(Failure::usage(refusal(&why)));
        }
        let user = match (&self.args.user, self.users) {
            (Some(user), _) => Some(user.clone()),
            (None, Some(map)) => Some(
                map.get(&key.username)
                    .ok_or_else(|| {
                        Failure::usage(format!(
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
        let plan = match &self.args.expires_in {
            Some(interval) => plan
                .with_expires_in(interval)
                .map_err(|e| Failure::usage(format!("--expires-in: {e}")))?,
            None => plan,
        };
        self.sink.check(Some(id)).map_err(Failure::usage)?;
        Ok(plan)
    }
}

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
    /// A key's row from the engine's outcome.
    fn of(o: &Outcome, hint: Option<&str>, g: &Global) -> Self {
        let failure = outcome_failure(o, hint, g);
        let (word, stops) = match &o.end {
            End::Rotated(old) => {
                let (word, at) = old_key_word(old);
                (Some(word.to_owned()), at)
            }
            _ => (None, None),
        };
        Self {
            old_id: o.old_id.clone(),
            ok: o.is_done() && failure.is_none(),
            new_id: o.new_id.clone(),
            secret_to: o.secret_to.clone(),
            old_key: word,
            old_key_stops_at: stops,
            partial: o.leaves_work()
                || failure
                    .as_ref()
                    .is_some_and(|f| f.code == crate::failure::EXIT_PARTIAL),
            error: failure.map(|f| f.message),
        }
    }

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

/// How the old key is to be retired, from the flags; `--expires-in`'s
/// grammar is checked too.
fn retire_of(args: &Rotate) -> Result<Retire, Failure> {
    if let Some(interval) = &args.expires_in {
        parse_interval(interval).map_err(|e| Failure::usage(format!("--expires-in: {e}")))?;
    }
    Ok(match &args.overlap {
        Some(text) => Retire::After(
            parse_interval(text).map_err(|e| Failure::usage(format!("--overlap: {e}")))?,
        ),
        None if args.delete_old => Retire::Delete,
        None => Retire::Deactivate,
    })
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

/// `--dry-run`: what the rotation would do, on stdout; nothing is changed.
fn say_plan(
    plan: &RotationPlan,
    g: &Global,
    user_given: bool,
    target: &str,
) -> Result<(), Failure> {
    let old = plan.old();
    let request = plan.request();
    let retire = match plan.retire() {
        Retire::Delete => "delete",
        Retire::After(_) => "expire",
        _ => "deactivate",
    };
    let stops = plan.old_key_stops_at();
    let summary = serde_json::json!({
        "dry_run": true,
        "server": g.server_url,
        "context": g.context,
        "old_key": old,
        "create": request,
        "retire_old": retire,
        "old_key_stops_at": stops,
    });
    match g.output {
        Output::Json => {
            line(&serde_json::to_string_pretty(&summary).map_err(std::io::Error::from)?)?
        }
        Output::Ndjson => line(&summary.to_string())?,
        Output::Table | Output::Csv | Output::Openmetrics => {
            let until = match (plan.retire(), stops) {
                (Retire::After(_), Some(at)) => format!(
                    "let it work until {} (UTC), then expire",
                    at.format("%Y-%m-%d %H:%M:%S")
                ),
                _ => retire.to_owned(),
            };
            line(&format!(
                "on {target}, would create a key for user {} named {:?}{}, expiring {}, deliver its secret, then {until} key {}",
                escape(&request.user_id),
                escape(&old.name),
                old.collection_name
                    .as_deref()
                    .map_or_else(String::new, |c| format!(" in collection {}", escape(c))),
                request.expires_in.as_deref().map_or_else(
                    || "never".to_owned(),
                    // A date, not the seconds the request carries.
                    |i| match parse_interval(i)
                        .ok()
                        .and_then(|d| Utc::now().checked_add_signed(d))
                    {
                        Some(at) => format!("at {} (UTC)", at.format("%Y-%m-%d %H:%M:%S")),
                        None => format!("in {i}"),
                    }
                ),
                escape(&old.id)
            ))?;
            if !g.quiet && matches!(plan.retire(), Retire::After(_)) {
                note(
                    "dry run, not checked: whether the server allows the overlap window is known only when it is asked",
                );
            }
            if !g.quiet && !user_given {
                note(&format!(
                    "dry run, not checked: whether {} is the id of the key's user (the API lists usernames; where ids differ, pass --user with the id)",
                    escape(&request.user_id)
                ));
            }
        }
    }
    Ok(())
}
