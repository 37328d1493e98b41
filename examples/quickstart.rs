//! The whole lifecycle of an API key through the client: create (showing the
//! secret once), list with a filter, set and remove an expiry, deactivate,
//! delete, and a typed error. Runs on an embedded fake server unless
//! `H2OGPTE_SERVER_URL` and `H2OGPTE_API_KEY` name a real one.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use std::error::Error as StdError;

use h2ogpte_api_keys::{API_KEY_ENV, Client, Error, ListQuery, SERVER_URL_ENV, types};
use h2ogpte_fake_server::FakeServer;

/// The user the demo key is made for on the embedded server; on a real server
/// set `QUICKSTART_USER_ID` to a user that exists there.
const DEMO_USER_ID: &str = "demo-user";
const DEMO_USERNAME: &str = "demo.user";

#[tokio::main]
async fn main() -> Result<(), Box<dyn StdError>> {
    let configured =
        std::env::var_os(SERVER_URL_ENV).is_some() && std::env::var_os(API_KEY_ENV).is_some();
    // Keep the embedded server alive for the whole run.
    let (_server, client, user_id) = if configured {
        let client = Client::from_env()?;
        let user_id = std::env::var("QUICKSTART_USER_ID").map_err(|_| {
            "set QUICKSTART_USER_ID to the id of a user on that server to create a demo key for"
        })?;
        println!(
            "Using the server at {} from {SERVER_URL_ENV}: this creates, changes and deletes one key for user {user_id}.",
            client.base_url()
        );
        (None, client, user_id)
    } else {
        let server = FakeServer::builder()
            .user(DEMO_USER_ID, DEMO_USERNAME)
            .start()
            .await?;
        println!(
            "No {SERVER_URL_ENV}/{API_KEY_ENV} set: running on an embedded fake h2oGPTe at {}",
            server.url()
        );
        let client = Client::builder()
            .with_server_url(server.url())
            .with_api_key(server.admin_key())
            .build()?;
        (Some(server), client, DEMO_USER_ID.to_owned())
    };
    println!("\n1. Create a key for user {user_id}");
    let created = client
        .create_api_key_for_user(
            types::ApiKeyCreateRequest::builder()
                .user_id(user_id.clone())
                .name("quickstart".to_owned())
                .expires_in("30 days".to_owned()),
        )
        .await?;
    let key = &created.api_key;
    println!(
        "   secret (shown once, store it now): {}",
        created.secret_key.expose()
    );
    println!(
        "   id {}  hint …{}  expires {}",
        key.id,
        key.hint,
        show(key.expires_at)
    );

    println!("\n2. List the keys of users matching {:?}", &key.username);
    for k in client
        .collect_all_api_keys(&ListQuery::new().with_filter(&key.username))
        .await?
    {
        println!(
            "   {}  {:<12} {:<12} active={} calls={} expires {}",
            k.id,
            k.username,
            k.name,
            k.is_active,
            k.total_calls
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            show(k.expires_at)
        );
    }

    println!("\n3. Set its expiry to 90 days from now, then remove it");
    client.set_api_key_expiry(&key.id, "90 days").await?;
    println!("   expires {}", show(find(&client, key).await?.expires_at));
    client.remove_api_key_expiry(&key.id).await?;
    println!("   expires {}", show(find(&client, key).await?.expires_at));

    println!("\n4. Let it go unused for at most 30 days, then lift that limit");
    match client.set_api_key_inactivity_interval(&key.id, 30).await {
        Ok(()) => {
            let days = |k: types::ApiKeyInfo| {
                k.inactivity_interval
                    .map_or_else(|| "none".to_owned(), |d| format!("{d} days"))
            };
            println!(
                "   inactivity interval: {}",
                days(find(&client, key).await?)
            );
            client.remove_api_key_inactivity_interval(&key.id).await?;
            println!(
                "   inactivity interval: {}",
                days(find(&client, key).await?)
            );
        }
        // A server before h2oGPTe 1.7.0 lacks this operation; say so and go on.
        Err(e @ Error::Unsupported { .. }) => println!("   skipped: {e}"),
        Err(e) => return Err(e.into()),
    }

    println!("\n5. Deactivate it");
    client.deactivate_api_key(&key.id).await?;
    println!("   active={}", find(&client, key).await?.is_active);

    println!("\n6. Deactivate it again: a typed error");
    match client.deactivate_api_key(&key.id).await {
        Err(e @ Error::Api { .. }) => println!("   {e}"),
        other => return Err(format!("expected a 409 error response, got {other:?}").into()),
    }

    println!("\n7. Delete it");
    client.delete_api_key(&key.id).await?;
    let left = client
        .collect_all_api_keys(&ListQuery::new().with_filter(&key.username))
        .await?;
    println!(
        "   keys left with that id: {}",
        left.iter().filter(|k| k.id == key.id).count()
    );
    println!("\nDone.");
    Ok(())
}

fn show(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

async fn find(
    client: &Client,
    key: &types::ApiKeyInfo,
) -> Result<types::ApiKeyInfo, Box<dyn StdError>> {
    client
        .collect_all_api_keys(&ListQuery::new().with_filter(&key.username))
        .await?
        .into_iter()
        .find(|k| k.id == key.id)
        .ok_or_else(|| format!("key {} is not listed", key.id).into())
}
