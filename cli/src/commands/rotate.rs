//! `rotate`: the library's rotation ([`h2ogpte_api_keys::rotation`]) with a
//! terminal around it: the create waits out a first signal, the secret is
//! delivered on stdout or the rotation undone, every step is journalled,
//! and the old key's end is said. A sink (`--secret-file`,
//! `--secret-command`) or many keys (`--from-file`) go to `rotate_many`;
//! `--resume` to `resume`.

use chrono::Utc;
use h2ogpte_api_keys::{
    Client, Error, ErrorKind, parse_interval,
    rotation::{OldExpiry, OldKey, Retire, Rotation, RotationFailure, RotationPlan, RotationStop},
};

use crate::{
    args::{Global, Output, Rotate},
    commands::{interruptible, list::find},
    deliver::{
        Framing, OldKeyEnd, check_output_keeps_secrets, create_key, finish_rotation, print_created,
        undone,
    },
    failure::{EXIT_PARTIAL, Failure, describe},
    journal::{Entry, Journal, Retirement, Step, state_dir},
    output::line,
    signals::Signals,
    sink::Sink,
    terminal::{escape, note},
};

pub async fn rotate(
    client: &Client,
    args: &Rotate,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    if args.resume {
        return super::resume::resume(client, g, signals).await;
    }
    let sink = Sink::from_args(&args.sink, args.secret_dir.as_deref())?;
    if args.from_file.is_some() && sink.is_stdout() {
        return Err(Failure::usage(
            "--from-file rotates many keys: give each secret a place with --secret-dir DIR or --secret-command CMD",
        ));
    }
    let id = match &args.id {
        Some(id) if sink.is_stdout() => id,
        _ => return super::rotate_many::rotate_into(client, args, &sink, g, signals).await,
    };
    let retire = retire_of(args)?;
    if !args.dry_run {
        check_output_keeps_secrets(g)?;
    }
    let old = interruptible(signals, find(client, id, g)).await?;
    let planned = RotationPlan::new(old, retire, Utc::now()).map_err(|e| refused(e, id, g))?;
    let planned = match &args.user {
        Some(user) => planned.for_user(user),
        None => planned,
    };
    let plan = match &args.expires_in {
        Some(interval) => planned
            .with_expires_in(interval)
            .map_err(|e| Failure::usage(format!("--expires-in: {e}")))?,
        None => planned,
    };
    let unfinished = |id: &str| {
        Failure::usage(format!(
            "an earlier rotation of key {} is unfinished: run `h2ogpte-keys rotate --resume` first",
            escape(id)
        ))
    };
    if args.dry_run {
        // Refused as the real run would refuse it, read without the lock.
        if unfinished_rotations(client, g)?.contains(id) {
            return Err(unfinished(id));
        }
        return say_plan(&plan, g, args.user.is_some());
    }
    let journal = open_journal(client, g)?;
    if journal.get(id).is_some() {
        return Err(unfinished(id));
    }
    let old_id = plan.old().id.clone();
    let user = plan.request().user_id.clone();
    let mut entry = journal_entry(&plan, &Sink::Stdout);
    journal
        .put(entry.clone())
        .map_err(|e| Failure::api(format!("{e}; nothing was changed")))?;
    // A second signal stops waiting: the old key's expiry may have come
    // forward already, and the message must say so.
    let also = match plan.old_key_stops_at() {
        Some(_) => format!(
            "; the old key {}'s expiry may have been brought forward for the overlap: check it with `h2ogpte-keys show {}`",
            escape(&old_id),
            escape(&old_id)
        ),
        None => String::new(),
    };
    let also = format!("{also}; or let `h2ogpte-keys rotate --resume` undo what is left");
    let (result, deferred) = create_key(plan.create(client), &user, &also, g, signals).await?;
    let rotation = match result {
        Ok(rotation) => rotation,
        Err(e) => {
            // The library undid what it could; the error says the rest.
            let _ = journal.remove(&old_id);
            let hint = args.user.is_none().then_some("--user");
            return Err(create_failed(e, hint, g));
        }
    };
    let created = &rotation.created;
    entry.step = Step::Created;
    entry.new_key_id = Some(created.api_key.id.clone());
    // The old key is retired only once the new secret is in safe hands.
    let printed = match journal.put(entry.clone()) {
        Ok(()) => print_created(created, g, Framing::Rotation)
            .map_err(|e| format!("the secret could not be written to standard output ({e})")),
        Err(e) => Err(e),
    };
    if let Err(why) = printed {
        let mut failure = undone(rotation.withdraw(client).await, created, &why, g);
        if let Err(e) = rotation.restore_old_expiry(client).await {
            let old = escape(&old_id);
            failure.message += &format!(
                "; and the old key {old}'s expiry, brought forward for the overlap, could not be put back ({}): set it again with `h2ogpte-keys expire {old}`",
                describe(&e, g.timeout)
            );
            failure.code = failure.code.max(EXIT_PARTIAL);
        }
        if failure.code != EXIT_PARTIAL {
            let _ = journal.remove(&old_id);
        }
        return Err(failure);
    }
    entry.step = Step::Delivered;
    if let Err(e) = journal.put(entry) {
        note(&format!(
            "{e}: retiring the old key {} anyway",
            escape(&old_id)
        ));
    }
    let (old, new) = (escape(&old_id), escape(&created.api_key.id));
    if let Some(signal) = deferred.or_else(|| signals.pending()) {
        // The secret is delivered; a reader gone by now must not turn this
        // exit into a quiet 0.
        let end = plan_end(&rotation);
        let _ = finish_rotation(g, &old_id, end);
        let what = match end {
            OldKeyEnd::Until(_) => {
                let _ = journal.remove(&old_id);
                "keeps working until the end of the overlap window".to_owned()
            }
            _ => "is still active: retire it with `h2ogpte-keys rotate --resume`".to_owned(),
        };
        return Err(Failure::signalled(
            signal,
            format!("{signal}: the new key {new} was delivered, and the old key {old} {what}"),
        ));
    }
    let outcome = rotation.retire_old(client).await;
    // Written whatever the reader does: a closed output here must not skip
    // the withdrawal below (a lost concurrent rotation) or hide a failure.
    let end = match &outcome {
        OldKey::Deactivated => OldKeyEnd::Retired("deactivated"),
        OldKey::Deleted => OldKeyEnd::Retired("deleted"),
        OldKey::ExpiresAt(at) => OldKeyEnd::Until(*at),
        _ => OldKeyEnd::Active,
    };
    let _ = finish_rotation(g, &old_id, end);
    if !matches!(outcome, OldKey::StillActive(_)) {
        let _ = journal.remove(&old_id);
    }
    match outcome {
        // The secret was delivered: the new key stays, whatever happened to
        // the old one; both are named, and the operator decides.
        OldKey::RetiredElsewhere => Err(Failure::partial(format!(
            "the new key {new} was delivered, but someone deactivated or deleted the old key {old} meanwhile: if that revocation was meant for its user, delete the new key too with `h2ogpte-keys delete {new}`"
        ))),
        OldKey::StillActive(e) => Err(Failure::partial(format!(
            "the new key {new} was created, but the old key {old} is still active: {}; retire it with `h2ogpte-keys rotate --resume`",
            describe(&e, g.timeout),
        ))),
        _ => Ok(()),
    }
}

/// How the old key is to be retired, from the flags; `--expires-in`'s
/// grammar is checked too.
pub(super) fn retire_of(args: &Rotate) -> Result<Retire, Failure> {
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

/// The journal of this state directory, for this server.
pub(super) fn open_journal(client: &Client, g: &Global) -> Result<Journal, Failure> {
    let dir = state_dir(g.state_dir.as_deref())?;
    Journal::open(&dir, client.base_url().as_str())
}

/// The old keys of the journal's unfinished rotations, read without its
/// lock (for a dry run, which changes nothing).
pub(super) fn unfinished_rotations(
    client: &Client,
    g: &Global,
) -> Result<std::collections::HashSet<String>, Failure> {
    let dir = state_dir(g.state_dir.as_deref())?;
    let entries = crate::journal::peek(&dir, client.base_url().as_str())?;
    Ok(entries.into_iter().map(|e| e.old_key_id).collect())
}

/// A rotation's first journal entry, written before anything is changed.
pub(super) fn journal_entry(plan: &RotationPlan, sink: &Sink) -> Entry {
    let old = plan.old();
    let now = crate::journal::now();
    Entry {
        old_key_id: old.id.clone(),
        username: old.username.clone(),
        user_id: plan.request().user_id.clone(),
        name: old.name.clone(),
        old_expires_at: old.expires_at,
        retire: match plan.retire() {
            Retire::Delete => Retirement::Delete,
            Retire::After(_) => Retirement::Expire,
            _ => Retirement::Deactivate,
        },
        secret_to: sink.target(Some(&old.id)),
        secret_file: sink.file(Some(&old.id)),
        started_at: now,
        step: Step::Creating,
        new_key_id: None,
        updated_at: now,
    }
}

/// The old key's end before the retirement runs: with an overlap its
/// expiry is set already, as the server listed it.
fn plan_end(rotation: &Rotation) -> OldKeyEnd {
    match rotation.plan().retire() {
        Retire::After(_) => OldKeyEnd::Until(rotation.old_key_stops_at()),
        _ => OldKeyEnd::Active,
    }
}

/// A plan the library refused: a revoked key stays revoked (a rotation
/// would hand its access back), and a window must be a date.
pub(super) fn refused(e: Error, id: &str, g: &Global) -> Failure {
    let id = escape(id);
    let stop = match &e {
        Error::Rotation(failure) => &failure.stop,
        _ => return Failure::from_error(&e, g.timeout),
    };
    match stop {
        RotationStop::Deactivated | RotationStop::Expired { .. } | RotationStop::Idle { .. } => {
            let state = match stop {
                RotationStop::Expired { .. } => "expired",
                RotationStop::Idle { .. } => "idle past its inactivity interval",
                _ => "inactive",
            };
            Failure::api(format!(
                "key {id} is {state}, so it grants no access; rotating it would restore access that was revoked. Nothing was changed: to issue a new key on purpose, use `h2ogpte-keys create`"
            ))
        }
        RotationStop::Window => Failure::usage(
            "--overlap: the window must be positive and end before the year 262000, such as \"7 days\"",
        ),
        _ => Failure::from_error(&e, g.timeout),
    }
}

/// A failed first half: nothing was created (or what was, was deleted
/// again); the message says what to do, from the causes the error carries.
/// `hint` is the flag that gives the user's id, when none was given.
pub(super) fn create_failed(e: Error, hint: Option<&str>, g: &Global) -> Failure {
    let Error::Rotation(failure) = &e else {
        return Failure::from_error(&e, g.timeout);
    };
    let RotationFailure {
        key_id,
        stop,
        source,
        old_expiry,
        orphan,
        ..
    } = failure.as_ref();
    let old = escape(key_id);
    let cause = source
        .as_ref()
        .map_or_else(String::new, |s| format!("{}: ", describe(s, g.timeout)));
    let expiry = match old_expiry {
        OldExpiry::Shortened { until, error } => Some(format!(
            "putting key {old}'s expiry back failed ({}): it now stops working at {} (UTC); set it again with `h2ogpte-keys expire {old}`",
            describe(error, g.timeout),
            until.format("%Y-%m-%d %H:%M:%S")
        )),
        _ => None,
    };
    let failure = match (stop, orphan) {
        (_, Some(orphan)) => {
            let orphan = escape(orphan);
            return Failure::partial(format!(
                "DANGER: {}; key {orphan} exists but nobody holds its secret: delete it with `h2ogpte-keys delete {orphan}`",
                escape(&e.to_string()),
            ));
        }
        (RotationStop::Shorten, None) => Failure::api(format!(
            "{cause}nothing was created, and key {old} is unchanged; choose a shorter --overlap (the server caps how long a key may live)"
        )),
        (RotationStop::Create, None)
            if hint.is_some()
                && source
                    .as_ref()
                    .is_some_and(|s| s.kind() == ErrorKind::NotFound) =>
        {
            let flag = hint.unwrap_or("--user");
            Failure::api(format!(
                "{cause}the key's username is not its user's id; pass {flag} with that user's id. Nothing was created{}",
                if expiry.is_some() {
                    String::new()
                } else {
                    format!(", and key {old} is unchanged")
                }
            ))
        }
        _ => Failure::api(escape(&e.to_string())),
    };
    match expiry {
        Some(expiry) => Failure::partial(format!("{}; {expiry}", failure.message)),
        None => failure,
    }
}

/// `--dry-run`: what the rotation would do, on stdout; nothing is changed.
fn say_plan(plan: &RotationPlan, g: &Global, user_given: bool) -> Result<(), Failure> {
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
                "would create a key for user {} named {:?}{}, expiring {}, deliver its secret, then {until} key {}",
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
