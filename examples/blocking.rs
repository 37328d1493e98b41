//! A key's lifecycle from plain synchronous code: `fn main`, no tokio, with
//! `blocking::Client::from_env()`. CI runs it against the fake server binary:
//!
//! ```sh
//! H2OGPTE_SERVER_URL=… H2OGPTE_API_KEY=… EXAMPLE_USER_ID=u-1 \
//!     cargo run --example blocking --features blocking
//! ```

use h2ogpte_api_keys::{ListQuery, blocking::Client, types};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let user = std::env::var("EXAMPLE_USER_ID").unwrap_or_else(|_| "u-interop".to_owned());
    let created = client.create_api_key_for_user(
        types::ApiKeyCreateRequest::builder()
            .user_id(user)
            .name("blocking example".to_owned()),
    )?;
    let key = created.api_key;
    println!("created {} for {}", key.id, key.username);

    let query = ListQuery::new().with_filter(&key.username);
    let listed = client
        .stream_all_api_keys(&query)
        .filter_map(Result::ok)
        .any(|k| k.id == key.id);
    println!("listed: {listed}");

    client.set_api_key_expiry(&key.id, "30 days")?;
    client.set_api_key_inactivity_interval(&key.id, 14)?;
    client.remove_api_key_inactivity_interval(&key.id)?;
    client.deactivate_api_key(&key.id)?;
    client.delete_api_key(&key.id)?;
    let gone = !client
        .collect_all_api_keys(&query)?
        .iter()
        .any(|k| k.id == key.id);
    println!("expired, interval set and removed, deactivated, deleted: {gone}");
    if !(listed && gone) {
        return Err("the server did not show the lifecycle as expected".into());
    }
    println!("blocking lifecycle: 1 passed, 0 failed");
    Ok(())
}
