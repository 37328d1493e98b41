//! `rotate`: a new key like an active old one, for the same user, then the
//! old one retired. It never restores revoked access and never moves a key
//! to another user.

use chrono::Utc;
use h2ogpte_api_keys::{Client, Error, types};

use crate::{
    args::{Global, Rotate},
    commands::{create::print_created, list::find},
    failure::Failure,
    output::status,
    terminal::note,
};

pub async fn rotate(client: &Client, args: &Rotate, g: &Global) -> Result<(), Failure> {
    let failed = |e: &Error| Failure::from_error(e, g.timeout);
    let old = find(client, &args.id, g).await?;
    let now = Utc::now();
    // A revoked key stays revoked: a rotation would hand its access back.
    let state = status(&old, now);
    if state != "active" {
        return Err(Failure::api(format!(
            "key {} is {state}, so it grants no access; rotating it would restore access that was revoked. Nothing was changed: to issue a new key on purpose, use `h2ogpte-keys create`",
            old.id
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
    let created = match client.create_api_key_for_user(request).await {
        Ok(created) => created,
        Err(e @ Error::Api { .. })
            if args.user.is_none() && e.status().is_some_and(|s| s.as_u16() == 404) =>
        {
            return Err(Failure::api(format!(
                "{}: the key belongs to username {}; pass --user with that user's id",
                crate::failure::describe(&e, g.timeout),
                old.username
            )));
        }
        Err(e) => return Err(failed(&e)),
    };
    // The new key must belong to the old key's user: `--user` naming someone
    // else would otherwise move the access to them.
    if created.api_key.username != old.username {
        let new_id = &created.api_key.id;
        return match client.delete_api_key(new_id).await {
            Ok(()) => Err(Failure::api(format!(
                "--user made a key for {} but key {} belongs to {}; the new key was deleted and the old key is unchanged: pass --user with {}'s id",
                created.api_key.username, old.id, old.username, old.username
            ))),
            Err(e) => Err(Failure::partial(format!(
                "DANGER: --user made key {new_id} for {} but key {} belongs to {}, and deleting the new key failed ({}): delete it now with `h2ogpte-keys delete {new_id}`; the old key is unchanged",
                created.api_key.username,
                old.id,
                old.username,
                crate::failure::describe(&e, g.timeout)
            ))),
        };
    }
    print_created(&created, g.output)?;
    let retired = if args.delete_old {
        client.delete_api_key(&old.id).await.map(|()| "deleted")
    } else {
        client
            .deactivate_api_key(&old.id)
            .await
            .map(|()| "deactivated")
    };
    match retired {
        Ok(verb) => {
            note(&format!("old key {} {verb}", old.id));
            Ok(())
        }
        Err(e) => Err(Failure::partial(format!(
            "the new key {} was created, but the old key {} is still active: {}; retire it with `h2ogpte-keys deactivate {}`",
            created.api_key.id,
            old.id,
            crate::failure::describe(&e, g.timeout),
            old.id
        ))),
    }
}
