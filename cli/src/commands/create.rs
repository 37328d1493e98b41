//! `create`: a new key; the secret alone on stdout, delivered or undone.

use h2ogpte_api_keys::{Client, parse_interval, types};

use crate::{
    args::{Create, Global, Output},
    deliver::{Framing, check_output_keeps_secrets, create_key, deliver_or_undo, undo},
    failure::Failure,
    output::line,
    signals::Signals,
    sink::{KeyFacts, Sink},
    terminal::{escape, note},
};

pub async fn create(
    client: &Client,
    args: &Create,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let request = types::ApiKeyCreateRequest {
        user_id: args.user.clone(),
        name: args.name.clone(),
        collection_id: args.collection.clone(),
        expires_in: args.expires_in.clone(),
        inactivity_interval: args.inactivity_days,
    };
    let sink = Sink::from_args(&args.sink, None)?;
    // The place for the secret is checked in the dry run as in the real run.
    if !sink.is_stdout() {
        sink.check(None).map_err(Failure::usage)?;
    }
    // A dry run refuses what the real run would: an output that would
    // lose the secret.
    if sink.is_stdout() {
        check_output_keeps_secrets(g)?;
    }
    if args.dry_run {
        return say_request(&request, g, client.base_url().as_str());
    }
    let user = request.user_id.clone();
    let (result, deferred) = create_key(
        client.create_api_key_for_user(request),
        &user,
        "",
        g,
        signals,
    )
    .await?;
    let created = result.map_err(|e| Failure::from_error(&e, g.timeout))?;
    if sink.is_stdout() {
        deliver_or_undo(client, &created, g, Framing::Alone).await?;
    } else {
        let key = &created.api_key;
        let facts = KeyFacts {
            new_id: &key.id,
            name: &key.name,
            username: &key.username,
            old_id: None,
        };
        // A signal stops the delivery at once (the command and all it
        // started are killed) and the key is deleted again: nobody holds it.
        let delivered = tokio::select! {
            delivered = sink.deliver(created.secret_key.expose(), facts) => delivered,
            signal = signals.next() => {
                let why = format!("{signal}: the delivery of the secret was stopped");
                let undone = undo(client, &created, &why, g).await;
                return Err(Failure::signalled(signal, undone.message));
            }
        };
        match delivered {
            Ok(to) => say_delivered(key, &to, g)?,
            Err(why) => return Err(undo(client, &created, &why, g).await),
        }
    }
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

/// A key whose secret went to a sink: in a table its id on stdout (for
/// scripts) and where the secret went on stderr; in JSON the key and
/// `secret_to`, without the secret.
fn say_delivered(key: &types::ApiKeyInfo, to: &str, g: &Global) -> Result<(), Failure> {
    let record = serde_json::json!({ "api_key": key, "secret_to": to });
    match g.output {
        Output::Json => {
            line(&serde_json::to_string_pretty(&record).map_err(std::io::Error::from)?)?
        }
        Output::Ndjson => line(&record.to_string())?,
        Output::Table | Output::Csv | Output::Openmetrics => {
            line(&escape(&key.id))?;
            if !g.quiet {
                note(&format!(
                    "created key {} for {}; its secret went to {}",
                    escape(&key.id),
                    escape(&key.username),
                    escape(to)
                ));
            }
        }
    }
    Ok(())
}

/// `--dry-run`: the request that would be sent, on stdout.
fn say_request(
    request: &types::ApiKeyCreateRequest,
    g: &Global,
    server: &str,
) -> Result<(), Failure> {
    let target = crate::context::target(server, g);
    if let Some(interval) = &request.expires_in
        && let Err(e) = parse_interval(interval)
        && !g.quiet
    {
        note(&format!("--expires-in: the server may refuse it: {e}"));
    }
    let summary = serde_json::json!({
        "dry_run": true,
        "server": server,
        "context": g.context,
        "create": request,
    });
    match g.output {
        Output::Json => {
            line(&serde_json::to_string_pretty(&summary).map_err(std::io::Error::from)?)?
        }
        Output::Ndjson => line(&summary.to_string())?,
        Output::Table | Output::Csv | Output::Openmetrics => line(&format!(
            "would create a key for user {}{}{}{}{}; nothing was created",
            escape(&request.user_id),
            request
                .name
                .as_deref()
                .map_or_else(String::new, |n| format!(" named {:?}", escape(n))),
            request
                .collection_id
                .as_deref()
                .map_or_else(String::new, |c| format!(" in collection {}", escape(c))),
            request.expires_in.as_deref().map_or_else(
                || ", never expiring".to_owned(),
                |i| format!(", expiring in {}", escape(i))
            ),
            request
                .inactivity_interval
                .map_or_else(String::new, |d| format!(", invalid after {d} days unused")),
        ))?,
    }
    // What only the server knows is said as not checked, never as ok.
    if !g.quiet && matches!(g.output, Output::Table | Output::Csv) {
        let mut unchecked = vec!["that the user exists"];
        if request.collection_id.is_some() {
            unchecked.push("that the collection exists and is the user's");
        }
        if request.expires_in.is_some() {
            unchecked.push("that the server's longest expiry allows it");
        }
        note(&format!(
            "dry run on {target}, not checked: {}",
            unchecked.join("; ")
        ));
    }
    Ok(())
}
