//! `rotate`: a new key like an active old one, for the same user, its secret
//! delivered, then the old one retired. It never restores revoked access,
//! never moves a key to another user, and never leaves two replacements
//! when two rotations race.

use chrono::Utc;
use h2ogpte_api_keys::{Client, Error, types};

use crate::{
    args::{Global, Rotate},
    commands::{
        deliver::{
            Framing, check_output_keeps_secrets, create_key, deliver_or_undo, finish_rotation, undo,
        },
        interruptible,
        list::find,
    },
    failure::{Failure, describe},
    output::status,
    signals::Signals,
    terminal::escape,
};

pub async fn rotate(
    client: &Client,
    args: &Rotate,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    check_output_keeps_secrets(g)?;
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
    let expires_in = old
        .expires_at
        .map(|at| format!("{} seconds", (at - now).num_seconds().max(1)));
    let request = types::ApiKeyCreateRequest {
        user_id: args.user.clone().unwrap_or_else(|| old.username.clone()),
        name: Some(old.name.clone()),
        collection_id: old.collection_id.clone(),
        expires_in,
        inactivity_interval: old.inactivity_interval,
    };
    let (result, deferred) = create_key(client, request, g, signals).await?;
    let created = match result {
        Ok(created) => created,
        Err(e @ Error::Api { .. })
            if args.user.is_none() && e.status().is_some_and(|s| s.as_u16() == 404) =>
        {
            return Err(Failure::api(format!(
                "{}: the key belongs to username {}; pass --user with that user's id",
                describe(&e, g.timeout),
                escape(&old.username)
            )));
        }
        Err(e) => return Err(Failure::from_error(&e, g.timeout)),
    };
    let (old_id, new_id) = (escape(&old.id), escape(&created.api_key.id));
    // The new key must belong to the old key's user: `--user` naming someone
    // else would otherwise move the access to them.
    if created.api_key.username != old.username {
        let why = format!(
            "--user made a key for {} but key {old_id} belongs to {}; the old key is unchanged: pass --user with {}'s id",
            escape(&created.api_key.username),
            escape(&old.username),
            escape(&old.username)
        );
        return Err(undo(client, &created, &why, g).await);
    }
    // The old key is retired only once the new secret is in safe hands.
    deliver_or_undo(client, &created, g, Framing::Rotation).await?;
    if let Some(signal) = deferred.or_else(|| signals.pending()) {
        // The secret is delivered; a reader gone by now must not turn this
        // exit into a quiet 0.
        let _ = finish_rotation(g, &old.id, None);
        return Err(Failure::signalled(
            signal,
            format!(
                "{signal}: the new key {new_id} was delivered, and the old key {old_id} is still active: retire it with `h2ogpte-keys deactivate {old_id}`"
            ),
        ));
    }
    let (retired, already) = if args.delete_old {
        (
            client.delete_api_key(&old.id).await.map(|()| "deleted"),
            404,
        )
    } else {
        let done = client.deactivate_api_key(&old.id).await;
        (done.map(|()| "deactivated"), 409)
    };
    // Written whatever the reader does: a closed output here must not skip
    // the undo below (a lost concurrent rotation) or hide a failure.
    let _ = finish_rotation(g, &old.id, retired.as_ref().ok().copied());
    match retired {
        Ok(_) => Ok(()),
        // Someone else retired it between our read and now: most likely a
        // concurrent rotation, whose replacement is the one to keep.
        Err(e @ Error::Api { .. }) if e.status().is_some_and(|s| s.as_u16() == already) => {
            let why = format!(
                "a concurrent rotation won: key {old_id} was retired by someone else meanwhile ({}), so the replacement it made is the one to use",
                describe(&e, g.timeout)
            );
            Err(undo(client, &created, &why, g).await)
        }
        Err(e) => Err(Failure::partial(format!(
            "the new key {new_id} was created, but the old key {old_id} is still active: {}; retire it with `h2ogpte-keys deactivate {old_id}`",
            describe(&e, g.timeout),
        ))),
    }
}
