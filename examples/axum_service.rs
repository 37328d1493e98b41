//! A small axum service that administers keys for its teams: its handlers
//! share one `Client` in the router's state and await it directly (every
//! future of the client is `Send`). Runs on an embedded fake server unless
//! `H2OGPTE_SERVER_URL` and `H2OGPTE_API_KEY` name a real one.
//!
//! ```sh
//! cargo run --example axum_service
//! # then, with the address it prints:
//! curl -X POST localhost:PORT/teams/team-1/keys -H 'content-type: application/json' -d '{"name":"ci"}'
//! curl localhost:PORT/users/team.one/keys
//! ```
//!
//! Routes:
//! - `POST /teams/{user_id}/keys` `{"name": …, "expires_in": …}`: a key for
//!   the team's user; the answer holds the secret, once;
//! - `GET /users/{username}/keys`: that user's keys (an exact username:
//!   the API's filter matches a part of it);
//! - `POST /keys/{id}/deactivate`;
//! - `POST /keys/{id}/rotate` `{"user_id": …, "overlap_days": …}`: a new key,
//!   the old one working for the overlap.
//!
//! A client error becomes an HTTP status by its kind (`Error::kind`), the
//! same whether the API documents the status or not.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures::TryStreamExt;
use h2ogpte_api_keys::{
    API_KEY_ENV, Client, CreateKey, Error, ErrorKind, ListQuery, SERVER_URL_ENV,
    chrono::TimeDelta,
    rotation::{OldKey, Retire},
};
use serde::{Deserialize, Serialize};

/// The longest overlap this service grants.
const MAX_OVERLAP_DAYS: i64 = 90;

/// The service's routes over one shared client: `Client` is `Clone + Send +
/// Sync`, and its clones share one connection pool.
pub fn router(client: Client) -> Router {
    Router::new()
        .route("/teams/{user_id}/keys", post(create_for_team))
        .route("/users/{username}/keys", get(list_for_user))
        .route("/keys/{id}/deactivate", post(deactivate))
        .route("/keys/{id}/rotate", post(rotate))
        .with_state(client)
}

/// The body of `POST /teams/{user_id}/keys`.
#[derive(Deserialize)]
pub struct NewKey {
    /// The key's name.
    pub name: String,
    /// How long it lives, such as `30 days`; never expires without it.
    pub expires_in: Option<String>,
}

/// A key handed out, with its secret.
#[derive(Serialize, Deserialize)]
pub struct Issued {
    /// The key's id.
    pub id: String,
    /// Shown once: the caller stores it.
    pub secret: String,
    /// For a rotation: when the old key stops working.
    pub old_key_until: Option<String>,
}

/// A key of a user's listing.
#[derive(Serialize, Deserialize)]
pub struct Listed {
    /// The key's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it is active.
    pub active: bool,
}

/// The body of `POST /keys/{id}/rotate`.
#[derive(Deserialize)]
pub struct RotateRequest {
    /// The id of the key's user (the API lists usernames, not ids).
    pub user_id: String,
    /// How many days the old key keeps working.
    pub overlap_days: i64,
}

async fn create_for_team(
    State(client): State<Client>,
    Path(user_id): Path<String>,
    Json(new): Json<NewKey>,
) -> Result<(StatusCode, Json<Issued>), Failed> {
    let mut request = CreateKey::for_user(user_id).name(new.name);
    if let Some(interval) = new.expires_in {
        request = request.expires_in(interval);
    }
    let created = client.create_api_key_for_user(request).await?;
    Ok((
        StatusCode::CREATED,
        Json(Issued {
            id: created.api_key.id,
            secret: created.secret_key.expose().to_owned(),
            old_key_until: None,
        }),
    ))
}

async fn list_for_user(
    State(client): State<Client>,
    Path(username): Path<String>,
) -> Result<Json<Vec<Listed>>, Failed> {
    let query = ListQuery::new().with_filter(username.clone());
    let keys: Vec<Listed> = client
        .stream_all_api_keys(&query)
        // The filter matches a part of the username: keep this user's own.
        .try_filter(|key| std::future::ready(key.username == username))
        .map_ok(|key| Listed {
            id: key.id,
            name: key.name,
            active: key.is_active,
        })
        .try_collect()
        .await?;
    Ok(Json(keys))
}

async fn deactivate(
    State(client): State<Client>,
    Path(id): Path<String>,
) -> Result<StatusCode, Failed> {
    client.deactivate_api_key(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate(
    State(client): State<Client>,
    Path(id): Path<String>,
    Json(request): Json<RotateRequest>,
) -> Result<Json<Issued>, Failed> {
    if !(1..=MAX_OVERLAP_DAYS).contains(&request.overlap_days) {
        return Err(Failed(
            StatusCode::BAD_REQUEST,
            format!("overlap_days must be 1 to {MAX_OVERLAP_DAYS}"),
        ));
    }
    let window = Retire::After(TimeDelta::days(request.overlap_days));
    let rotated = client.rotate_api_key(&id, &request.user_id, window).await?;
    let old_key_until = match rotated.old_key {
        OldKey::ExpiresAt(at) => Some(at.to_rfc3339()),
        // Both keys exist and the old one could not be retired: say so
        // rather than hide it; the new secret is still handed over.
        OldKey::StillActive(e) => {
            eprintln!("key {id} is still active after its rotation: {e}");
            None
        }
        _ => None,
    };
    Ok(Json(Issued {
        id: rotated.created.api_key.id,
        secret: rotated.created.secret_key.expose().to_owned(),
        old_key_until,
    }))
}

/// A client error as an HTTP answer, by its kind.
pub struct Failed(StatusCode, String);

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        let status = match e.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::BadRequest | ErrorKind::RefusedBeforeSending => StatusCode::BAD_REQUEST,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        Failed(status, e.to_string())
    }
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let configured =
        std::env::var_os(SERVER_URL_ENV).is_some() && std::env::var_os(API_KEY_ENV).is_some();
    let (_server, client) = if configured {
        (None, Client::from_env()?)
    } else {
        let server = h2ogpte_fake_server::FakeServer::builder()
            .user("team-1", "team.one")
            .start()
            .await?;
        let client = Client::builder()
            .with_server_url(server.url())
            .with_api_key(server.admin_key())
            .build()?;
        (Some(server), client)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("serving on http://{}", listener.local_addr()?);
    axum::serve(listener, router(client))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
