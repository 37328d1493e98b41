//! The words of a rotation's end: the engine's outcomes, refusals and
//! causes, and resume's settlements, as the tool says them (every value
//! from the server escaped), with the command that settles what is left.

use h2ogpte_api_keys::{
    Error, ErrorKind,
    rotation::{
        Cause, End, HumanCheck, OldExpiry, OldKey, Outcome, Refusal, RotationFailure, RotationStop,
        Settled, Settlement,
    },
};

use crate::{
    args::Global,
    failure::{Failure, describe},
    terminal::escape,
};

/// How a rotation's old key ended, in a word, and when it stops working.
pub fn old_key_word(old: &OldKey) -> (&'static str, Option<chrono::DateTime<chrono::Utc>>) {
    match old {
        OldKey::Deactivated => ("deactivated", None),
        OldKey::Deleted => ("deleted", None),
        OldKey::ExpiresAt(at) => ("expires", Some(*at)),
        OldKey::Expired { at } => ("expired", Some(*at)),
        OldKey::RetiredElsewhere => ("retired elsewhere", None),
        _ => ("active", None),
    }
}

/// Why the caller's own key is left alone, in every command.
pub const OWN_KEY: &str = "this may be the key this tool authenticates with (its hint matches): acting on it would lock this tool out; pass --allow-self to do it anyway";

/// Why a key was refused before anything was done.
pub fn refusal(r: &Refusal) -> String {
    match r {
        Refusal::Unfinished { step } => format!(
            "an earlier rotation of this key is unfinished (it stopped at step {}): run `h2ogpte-keys rotate --resume` first",
            step.as_str()
        ),
        Refusal::AlreadyRotated { new_key_id } => format!(
            "this key was rotated already, into key {}, which still works: the old key is retiring (let it expire); to rotate it again anyway, pass --again",
            escape(new_key_id)
        ),
        Refusal::OwnKey => OWN_KEY.to_owned(),
        _ => "refused before anything was done".to_owned(),
    }
}

/// A rotation's outcome as the failure it is, `None` when it is done:
/// the error words and whether something is left (exit 3).
pub fn outcome_failure(o: &Outcome, hint: Option<&str>, g: &Global) -> Option<Failure> {
    let old = escape(&o.old_id);
    let new = o.new_id.as_deref().map(escape);
    Some(match &o.end {
        End::Rotated(OldKey::RetiredElsewhere) => {
            let new = new.unwrap_or_default();
            Failure::partial(format!(
                "the new key {new} was delivered, but someone deactivated or deleted the old key {old} meanwhile: if that revocation was meant for its user, delete the new key too with `h2ogpte-keys delete {new}`"
            ))
        }
        End::Rotated(OldKey::StillActive(e)) => Failure::partial(format!(
            "the new key {} was delivered, but the old key {old} is still active: {}; retire it with `h2ogpte-keys rotate --resume`",
            new.unwrap_or_default(),
            describe(e, g.timeout),
        )),
        End::Rotated(_) => return None,
        End::Refused(r) => Failure::usage(refusal(r)),
        End::Undone(cause) => match cause {
            Cause::Call(e) => create_failed(e, hint, g),
            Cause::Delivery(why) => Failure::api(format!(
                "{}; the new key {} was deleted again and the old key {old} left as it was",
                escape(&why.to_string()),
                new.unwrap_or_default()
            )),
            Cause::Journal(e) => Failure::api(match new {
                Some(new) => format!(
                    "{}; the rotation stopped there: the new key {new} was deleted again and the old key {old} left as it was",
                    escape(&e.to_string())
                ),
                None => format!("{}; nothing was changed", escape(&e.to_string())),
            }),
            _ => Failure::api(escape(&cause.to_string())),
        },
        // A plan's step that left something: its own words name it.
        End::Left(Cause::Call(e @ Error::Rotation(_))) => {
            let mut failure = create_failed(e, hint, g);
            failure.message += "; `h2ogpte-keys rotate --resume` settles what is left";
            failure.code = failure.code.max(crate::failure::EXIT_PARTIAL);
            failure
        }
        End::Left(cause) => {
            let why = match cause {
                Cause::Call(e) => describe(e, g.timeout),
                other => escape(&other.to_string()),
            };
            Failure::partial(match (&o.secret_to, new) {
                (Some(to), Some(new)) => format!(
                    "the secret of the new key {new} was delivered to {}, but {why}: the old key {old} still works; run `h2ogpte-keys rotate --resume` once that is mended",
                    escape(to)
                ),
                (None, Some(new)) => format!(
                    "DANGER: {why}; key {new} may exist with nobody holding its secret, and the old key {old}'s expiry may be shortened: run `h2ogpte-keys rotate --resume` to undo it"
                ),
                (_, None) => format!(
                    "{why}; the old key {old}'s expiry may be shortened: run `h2ogpte-keys rotate --resume` to put it back"
                ),
            })
        }
        _ => Failure::api(format!("key {old} was not rotated")),
    })
}

/// What resume did, in words; `Err` when something is left for a human
/// or another resume.
pub fn settled(s: &Settled, g: &Global) -> Result<String, String> {
    let e = &s.entry;
    let old = escape(&e.old_key_id);
    let new = escape(e.new_key_id.as_deref().unwrap_or("?"));
    match &s.how {
        Settlement::Finished(old_key) => {
            let how = match old_key_word(old_key) {
                ("expires", Some(at)) | ("expired", Some(at)) => format!(
                    "expires at {} (UTC), as planned",
                    at.format("%Y-%m-%d %H:%M:%S")
                ),
                ("retired elsewhere", _) => "was already deactivated or deleted".to_owned(),
                (word, _) => format!("is {word}"),
            };
            Ok(format!(
                "finished: the new key {new}'s secret had been delivered to {}, and the old key {old} {how}",
                escape(&e.secret_to)
            ))
        }
        Settlement::Undone => Ok(match &e.new_key_id {
            Some(_) => format!(
                "undone: the new key {new} was deleted (its secret had reached nobody), and the old key {old} works as before"
            ),
            None => format!(
                "undone: the run stopped before the new key was made, and the old key {old} works as before"
            ),
        }),
        Settlement::NeedsHuman { check, keys } => {
            let ids: Vec<String> = keys.iter().map(|k| escape(k)).collect();
            Err(match check {
                HumanCheck::StrayKeys => format!(
                    "the run stopped while creating the new key; the old key {old} works as before, but {} of {} named {:?} made since may be what it created, whose secret nobody holds: check, and delete with `h2ogpte-keys delete {}`",
                    if ids.len() == 1 {
                        format!("key {}", ids[0])
                    } else {
                        format!("keys {}", ids.join(", "))
                    },
                    escape(&e.username),
                    escape(&e.name),
                    ids.join(" ")
                ),
                _ => format!(
                    "the secret of the new key {new} may have reached {}, which cannot say: if it did, retire the old key with `h2ogpte-keys deactivate {old}`; if not, `h2ogpte-keys delete {new}`; then run `h2ogpte-keys rotate --resume` again",
                    escape(&e.secret_to)
                ),
            })
        }
        Settlement::RunAgain(cause) => Err(format!(
            "not settled ({}): nothing was decided; run `h2ogpte-keys rotate --resume` again",
            match cause {
                Cause::Call(e) => describe(e, g.timeout),
                other => escape(&other.to_string()),
            }
        )),
        _ => Err("not settled".to_owned()),
    }
}

/// A plan the library refused: a revoked key stays revoked (a rotation
/// would hand its access back), and a window must be a date.
pub fn refused(e: Error, id: &str, g: &Global) -> Failure {
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
pub fn create_failed(e: &Error, hint: Option<&str>, g: &Global) -> Failure {
    let Error::Rotation(failure) = e else {
        return Failure::from_error(e, g.timeout);
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
