//! `create`: a new key; the secret alone on stdout, delivered or undone.

use h2ogpte_api_keys::{Client, types};

use crate::{
    args::{Create, Global},
    commands::deliver::{Framing, check_output_keeps_secrets, create_key, deliver_or_undo},
    failure::Failure,
    signals::Signals,
};

pub async fn create(
    client: &Client,
    args: &Create,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    check_output_keeps_secrets(g)?;
    let request = types::ApiKeyCreateRequest {
        user_id: args.user.clone(),
        name: args.name.clone(),
        collection_id: args.collection.clone(),
        expires_in: args.expires_in.clone(),
        inactivity_interval: args.inactivity_days,
    };
    let (result, deferred) = create_key(client, request, g, signals).await?;
    let created = result.map_err(|e| Failure::from_error(&e, g.timeout))?;
    deliver_or_undo(client, &created, g, Framing::Alone).await?;
    match deferred.or_else(|| signals.pending()) {
        Some(signal) => Err(Failure::signalled(
            signal,
            format!(
                "{signal} after the key {} was created and its secret delivered",
                created.api_key.id
            ),
        )),
        None => Ok(()),
    }
}
