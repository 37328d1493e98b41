//! `create`: a new key; the secret alone on stdout.

use h2ogpte_api_keys::{Client, types};

use crate::{
    args::{Create, Global, Output},
    failure::Failure,
    output::write_ndjson,
    terminal::{escape, note, out_line},
};

pub async fn create(client: &Client, args: &Create, g: &Global) -> Result<(), Failure> {
    let request = types::ApiKeyCreateRequest {
        user_id: args.user.clone(),
        name: args.name.clone(),
        collection_id: args.collection.clone(),
        expires_in: args.expires_in.clone(),
        inactivity_interval: args.inactivity_days,
    };
    let created = client
        .create_api_key_for_user(request)
        .await
        .map_err(|e| Failure::from_error(&e, g.timeout))?;
    print_created(&created, g.output)
}

/// Prints a new key: in a table, only the secret on stdout (so it can be
/// captured), the rest on stderr; in JSON, the whole result.
pub fn print_created(created: &types::ApiKeyResult, format: Output) -> Result<(), Failure> {
    match format {
        Output::Table => {
            // Exact for a real secret (`sk-` and alphanumerics); a server's
            // control characters are escaped, as no header could carry them.
            out_line(&escape(created.secret_key.expose()))?;
            let k = &created.api_key;
            note(&format!(
                "created key {} for {} (hint …{}, expires {}); store the secret above now: it will not be shown again",
                k.id,
                k.username,
                k.hint,
                k.expires_at
                    .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
            ));
        }
        Output::Json => {
            let text =
                serde_json::to_string_pretty(created).map_err(|e| Failure::api(e.to_string()))?;
            out_line(&text)?;
            note("the secret_key above will not be shown again: store it now");
        }
        Output::Ndjson => {
            write_ndjson(&mut std::io::stdout().lock(), created)?;
            note("the secret_key above will not be shown again: store it now");
        }
    }
    Ok(())
}
