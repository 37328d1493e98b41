//! `rotate`: the library's rotation ([`h2ogpte_api_keys::rotation`]) with a
//! terminal around it: the create waits out a first signal, the secret is
//! delivered or the rotation undone, and the old key's end is said.

use chrono::Utc;
use h2ogpte_api_keys::{
    Client, Error, parse_interval,
    rotation::{OldKey, Retire, Rotation, RotationPlan},
};

use crate::{
    args::{Global, Output, Rotate},
    commands::{
        deliver::{
            Framing, OldKeyEnd, check_output_keeps_secrets, create_key, finish_rotation,
            print_created, undone,
        },
        interruptible,
        list::find,
    },
    failure::{EXIT_PARTIAL, Failure, describe},
    output::{line, status},
    signals::Signals,
    terminal::{escape, note},
};

pub async fn rotate(
    client: &Client,
    args: &Rotate,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let retire = match &args.overlap {
        Some(text) => Retire::After(
            parse_interval(text).map_err(|e| Failure::usage(format!("--overlap: {e}")))?,
        ),
        None if args.delete_old => Retire::Delete,
        None => Retire::Deactivate,
    };
    if !args.dry_run {
        check_output_keeps_secrets(g)?;
    }
    let old = interruptible(signals, find(client, &args.id, g)).await?;
    let now = Utc::now();
    // A revoked key stays revoked: a rotation would hand its access back.
    let state = status(&old, now);
    if state != "active" {
        return Err(Failure::api(format!(
            "key {} is {state}, so it grants no access; rotating it would restore access that was revoked. Nothing was changed: to issue a new key on purpose, use `h2ogpte-keys create`",
            escape(&old.id)
        )));
    }
    let planned = RotationPlan::new(old, retire, now).map_err(|e| Failure::usage(e.to_string()))?;
    let plan = match &args.user {
        Some(user) => planned.for_user(user),
        None => planned,
    };
    if args.dry_run {
        return say_plan(&plan, g);
    }
    let old_id = plan.old().id.clone();
    let user = plan.request().user_id.clone();
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
    let (result, deferred) = create_key(plan.create(client), &user, &also, g, signals).await?;
    let rotation = result.map_err(|e| create_failed(e, args, &old_id, g))?;
    let created = &rotation.created;
    // The old key is retired only once the new secret is in safe hands.
    if let Err(e) = print_created(created, g, Framing::Rotation) {
        let why = format!("the secret could not be written to standard output ({e})");
        let mut failure = undone(rotation.withdraw(client).await, created, &why, g);
        if let Err(e) = rotation.restore_old_expiry(client).await {
            let old = escape(&old_id);
            failure.message += &format!(
                "; and the old key {old}'s expiry, brought forward for the overlap, could not be put back ({}): set it again with `h2ogpte-keys expire {old}`",
                describe(&e, g.timeout)
            );
            failure.code = failure.code.max(EXIT_PARTIAL);
        }
        return Err(failure);
    }
    let (old, new) = (escape(&old_id), escape(&created.api_key.id));
    if let Some(signal) = deferred.or_else(|| signals.pending()) {
        // The secret is delivered; a reader gone by now must not turn this
        // exit into a quiet 0.
        let end = plan_end(&rotation);
        let _ = finish_rotation(g, &old_id, end);
        let what = match end {
            OldKeyEnd::Until(_) => "keeps working until the end of the overlap window".to_owned(),
            _ => format!("is still active: retire it with `h2ogpte-keys deactivate {old}`"),
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
    match outcome {
        OldKey::RetiredElsewhere(why) => {
            let why = format!(
                "a concurrent rotation won: {}, so the replacement it made is the one to use",
                escape(&why)
            );
            Err(undone(rotation.withdraw(client).await, created, &why, g))
        }
        OldKey::StillActive(e) => Err(Failure::partial(format!(
            "the new key {new} was created, but the old key {old} is still active: {}; retire it with `h2ogpte-keys deactivate {old}`",
            describe(&e, g.timeout),
        ))),
        _ => Ok(()),
    }
}

/// The old key's end as planned, before the retirement runs: with an
/// overlap its expiry is set already.
fn plan_end(rotation: &Rotation) -> OldKeyEnd {
    rotation
        .plan()
        .old_key_stops_at()
        .map_or(OldKeyEnd::Active, OldKeyEnd::Until)
}

/// A failed first half: nothing was created (or what was, was deleted
/// again); the message says what to do.
fn create_failed(e: Error, args: &Rotate, old_id: &str, g: &Global) -> Failure {
    match e {
        Error::Rotation {
            reason,
            orphan: Some(orphan),
        } => Failure::partial(format!(
            "DANGER: {}, and deleting the replacement {} failed too: it exists but nobody holds its secret; delete it with `h2ogpte-keys delete {}`",
            escape(&reason),
            escape(&orphan),
            escape(&orphan)
        )),
        e @ Error::Rotation { .. } => Failure::api(escape(&e.to_string())),
        e @ Error::Api { .. }
            if args.user.is_none() && e.status().is_some_and(|s| s.as_u16() == 404) =>
        {
            Failure::api(format!(
                "{}: the key's username is not its user's id; pass --user with that user's id. Nothing was created, and key {} is unchanged",
                describe(&e, g.timeout),
                escape(old_id)
            ))
        }
        e @ Error::Api { .. }
            if args.overlap.is_some() && e.status().is_some_and(|s| s.as_u16() == 400) =>
        {
            Failure::api(format!(
                "{}: nothing was created, and key {} is unchanged; choose a shorter --overlap (the server caps how long a key may live)",
                describe(&e, g.timeout),
                escape(old_id)
            ))
        }
        e => Failure::from_error(&e, g.timeout),
    }
}

/// `--dry-run`: what the rotation would do, on stdout; nothing is changed.
fn say_plan(plan: &RotationPlan, g: &Global) -> Result<(), Failure> {
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
        Output::Table | Output::Csv => {
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
                request
                    .expires_in
                    .as_deref()
                    .map_or_else(|| "never".to_owned(), |i| format!("in {i}")),
                escape(&old.id)
            ))?;
            if !g.quiet && matches!(plan.retire(), Retire::After(_)) {
                note(
                    "dry run: whether the server allows the overlap window is known only when it is asked",
                );
            }
        }
    }
    Ok(())
}
