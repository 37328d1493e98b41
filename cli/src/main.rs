//! `h2ogpte-keys`: the administrators' command-line tool for h2oGPTe API keys.
//!
//! Exit codes: 0 success, 1 API or transport error, 2 usage or configuration
//! error, 3 partial failure (some ids of a batch failed, or a rotation
//! created the new key but could not retire the old one).

mod args;
mod batch;
mod output;

use std::{
    io::{self, BufRead, IsTerminal, Write},
    process::ExitCode,
    time::Duration,
};

use chrono::{DateTime, Utc};
use clap::{CommandFactory, Parser};
use futures::{StreamExt, TryStreamExt};
use h2ogpte_api_keys::{Client, ClientBuilder, Error, types};

use crate::{
    args::{Cli, Command, Create, Global, List, Output, Rotate},
    output::{Outcome, keys_table, outcomes_table, print_items, status},
};

/// A failure with its exit code and a one-line message.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// A usage or configuration error: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    fn api(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }

    fn partial(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::Config { .. } | Error::InvalidRequest { .. } => Failure::usage(e.to_string()),
            _ => Failure::api(e.to_string()),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            // The reader (`head`, say) has what it wanted: stop quietly.
            return Self {
                code: 0,
                message: String::new(),
            };
        }
        Failure::api(format!("cannot write the output: {e}"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.global.verbose > 0 {
        let level = if cli.global.verbose > 1 {
            tracing::Level::TRACE
        } else {
            tracing::Level::DEBUG
        };
        tracing_subscriber::fmt()
            .with_writer(io::stderr)
            .with_max_level(level)
            .with_ansi(io::stderr().is_terminal())
            .with_target(false)
            .init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("h2ogpte-keys: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("h2ogpte-keys: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn client(global: &Global) -> Result<Client, Failure> {
    let Some(key) = global.api_key.as_deref().filter(|k| !k.trim().is_empty()) else {
        return Err(Failure::usage(
            "no API key: set H2OGPTE_API_KEY or pass --api-key",
        ));
    };
    if !(global.timeout.is_finite() && global.timeout > 0.0) {
        return Err(Failure::usage(
            "--timeout must be a positive number of seconds",
        ));
    }
    let mut builder = ClientBuilder::new()
        .with_api_key(key.trim())
        .with_timeout(Duration::from_secs_f64(global.timeout))
        .with_user_agent(concat!("h2ogpte-keys/", env!("CARGO_PKG_VERSION")));
    if let Some(url) = global
        .server_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        builder = builder.with_server_url(url);
    }
    Ok(builder.build()?)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "h2ogpte-keys",
                &mut io::stdout(),
            );
            Ok(())
        }
        Command::Create(args) => create(&client(g)?, args, g.output).await,
        Command::List(args) => list(&client(g)?, args, g.output).await,
        Command::Show { id } => {
            let key = find(&client(g)?, id).await?;
            print_items(std::slice::from_ref(&key), g.output, |k| {
                keys_table(k, Utc::now())
            })?;
            Ok(())
        }
        Command::Expire(args) => {
            let client = client(g)?;
            let ids = batch::read_ids(&args.batch).await?;
            let body = types::ApiKeyUpdateExpiryRequest {
                expires_in: args.expires_in.clone(),
            };
            let outcomes = batch::run(ids, args.batch.concurrency.into(), "expire", |id| {
                let (client, body) = (&client, body.clone());
                async move { client.update_api_key_expiry(&id, body).await }
            })
            .await;
            report(&outcomes, g.output, "expired")
        }
        Command::Deactivate(args) => {
            let client = client(g)?;
            let ids = batch::read_ids(args).await?;
            let outcomes = batch::run(ids, args.concurrency.into(), "deactivate", |id| {
                let client = &client;
                async move { client.deactivate_api_key(&id).await }
            })
            .await;
            report(&outcomes, g.output, "deactivated")
        }
        Command::Delete(args) => {
            let client = client(g)?;
            let ids = batch::read_ids(&args.batch).await?;
            if !args.yes && io::stdin().is_terminal() && !confirm(ids.len())? {
                return Err(Failure::usage("nothing deleted"));
            }
            let outcomes = batch::run(ids, args.batch.concurrency.into(), "delete", |id| {
                let client = &client;
                async move { client.delete_api_key(&id).await }
            })
            .await;
            report(&outcomes, g.output, "deleted")
        }
        Command::Rotate(args) => rotate(&client(g)?, args, g.output).await,
    }
}

fn confirm(count: usize) -> Result<bool, Failure> {
    eprint!("Delete {count} key(s)? This cannot be undone. [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Prints every outcome, then the count; exit 3 when some failed, 1 when all did.
fn report(outcomes: &[Outcome], format: Output, verb: &str) -> Result<(), Failure> {
    print_items(outcomes, format, outcomes_table)?;
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    let done = outcomes.len() - failed;
    eprintln!("{done} {verb}, {failed} failed");
    match failed {
        0 => Ok(()),
        n if n == outcomes.len() => {
            Err(Failure::api(format!("every one of the {n} key(s) failed")))
        }
        n => Err(Failure::partial(format!(
            "{n} of {} key(s) failed; see the results above",
            outcomes.len()
        ))),
    }
}

fn create_request(args: &Create) -> types::ApiKeyCreateRequest {
    types::ApiKeyCreateRequest {
        user_id: args.user.clone(),
        name: args.name.clone(),
        collection_id: args.collection.clone(),
        expires_in: args.expires_in.clone(),
        inactivity_interval: args.inactivity_days,
    }
}

/// Prints a new key: in a table, only the secret on stdout (so it can be
/// captured), the rest on stderr; in JSON, the whole result.
fn print_created(created: &types::ApiKeyResult, format: Output) -> Result<(), Failure> {
    match format {
        Output::Table => {
            println!("{}", created.secret_key.expose());
            let k = &created.api_key;
            eprintln!(
                "created key {} for {} (hint …{}, expires {}); store the secret above now: it will not be shown again",
                k.id,
                k.username,
                k.hint,
                k.expires_at
                    .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
            );
        }
        Output::Json | Output::Ndjson => {
            let text = if format == Output::Json {
                serde_json::to_string_pretty(created)
            } else {
                serde_json::to_string(created)
            }
            .map_err(|e| Failure::api(e.to_string()))?;
            println!("{text}");
            eprintln!("the secret_key above will not be shown again: store it now");
        }
    }
    Ok(())
}

async fn create(client: &Client, args: &Create, format: Output) -> Result<(), Failure> {
    let created = client.create_api_key(create_request(args)).await?;
    print_created(&created, format)
}

fn keep(args: &List, key: &types::ApiKeyInfo, now: DateTime<Utc>) -> bool {
    let state = status(key, now);
    let state_ok = (!args.active || state == "active")
        && (!args.inactive || state != "active")
        && (!args.expired || state == "expired");
    let unused_ok = args.unused_for.is_none_or(|days| {
        let since = key.last_used_at.unwrap_or(key.created_at);
        now - since >= chrono::TimeDelta::days(i64::from(days))
    });
    state_ok && unused_ok
}

async fn list(client: &Client, args: &List, format: Output) -> Result<(), Failure> {
    let now = Utc::now();
    let filter = args.filter.as_deref();
    if args.all && format == Output::Ndjson {
        // Stream: one line per key as pages arrive, memory bounded by a page.
        let mut keys = std::pin::pin!(client.api_keys(filter, 500));
        let mut out = io::stdout().lock();
        while let Some(key) = keys.try_next().await? {
            if keep(args, &key, now) {
                serde_json::to_writer(&mut out, &key).map_err(|e| Failure::api(e.to_string()))?;
                writeln!(out)?;
            }
        }
        return Ok(());
    }
    let keys = if args.all {
        client.api_keys(filter, 500).try_collect::<Vec<_>>().await?
    } else {
        client
            .list_api_keys(filter, args.offset, args.limit)
            .await?
    };
    let keys: Vec<_> = keys.into_iter().filter(|k| keep(args, k, now)).collect();
    print_items(&keys, format, |k| keys_table(k, now))?;
    Ok(())
}

async fn find(client: &Client, id: &str) -> Result<types::ApiKeyInfo, Failure> {
    let mut keys = std::pin::pin!(
        client
            .api_keys(None, 500)
            .try_filter(|k| std::future::ready(k.id == id))
    );
    match keys.next().await {
        Some(found) => Ok(found?),
        None => Err(Failure::api(format!(
            "no key with id {id}: check the id with `h2ogpte-keys list`"
        ))),
    }
}

async fn rotate(client: &Client, args: &Rotate, format: Output) -> Result<(), Failure> {
    let old = find(client, &args.id).await?;
    let now = Utc::now();
    let expires_in = match old.expires_at {
        Some(at) if at <= now => {
            return Err(Failure::api(format!(
                "key {} has expired: create a new one with `h2ogpte-keys create`",
                old.id
            )));
        }
        Some(at) => Some(format!("{} seconds", (at - now).num_seconds().max(1))),
        None => None,
    };
    let user = args.user.clone().unwrap_or_else(|| old.username.clone());
    let request = types::ApiKeyCreateRequest {
        user_id: user.clone(),
        name: Some(old.name.clone()),
        collection_id: old.collection_id.clone(),
        expires_in,
        inactivity_interval: old.inactivity_interval,
    };
    let created = match client.create_api_key(request).await {
        Ok(created) => created,
        Err(e @ Error::Api { .. })
            if args.user.is_none() && e.status().is_some_and(|s| s.as_u16() == 404) =>
        {
            return Err(Failure::api(format!(
                "{e}: the key belongs to username {}; pass --user with that user's id",
                old.username
            )));
        }
        Err(e) => return Err(e.into()),
    };
    print_created(&created, format)?;
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
            eprintln!("old key {} {verb}", old.id);
            Ok(())
        }
        Err(e) => Err(Failure::partial(format!(
            "the new key {} was created, but the old key {} is still active: {e}; retire it with `h2ogpte-keys deactivate {}`",
            created.api_key.id, old.id, old.id
        ))),
    }
}
