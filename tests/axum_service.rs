//! `examples/axum_service.rs` through HTTP: a service whose axum handlers
//! share one `Client` creates a key for a team, lists a user's keys,
//! rotates with an overlap and deactivates, against the fake server; and a
//! client error reaches its caller as the status of its kind.

use crate::support::serve;
use h2ogpte_api_keys::reqwest;
use h2ogpte_fake_server::FakeServer;
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../examples/axum_service.rs"]
mod service;

use service::{Issued, Listed};

struct Running {
    base: String,
    http: reqwest::Client,
    _server: FakeServer,
}

async fn start() -> Running {
    let (server, client) = serve(
        FakeServer::builder()
            .user("team-1", "team.one")
            // A username the API's filter for "team.one" also matches.
            .user("team-1b", "team.one.backup"),
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, service::router(client)).await });
    Running {
        base,
        http: reqwest::Client::new(),
        _server: server,
    }
}

impl Running {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("the service answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn keys_of(&self, username: &str) -> Vec<Listed> {
        let response = self
            .http
            .get(format!("{}/users/{username}/keys", self.base))
            .send()
            .await
            .expect("the service answers");
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("a list")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_administers_keys_through_one_shared_client() {
    let service = start().await;
    let (status, body) = service
        .post(
            "/teams/team-1/keys",
            json!({"name": "ci", "expires_in": "30 days"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let issued: Issued = serde_json::from_value(body).expect("an issued key");
    assert!(!issued.secret.is_empty());
    service
        .post("/teams/team-1b/keys", json!({"name": "backup"}))
        .await;

    // The exact user's keys, not those of every username containing it.
    let keys = service.keys_of("team.one").await;
    assert_eq!(keys.len(), 1, "only team.one's key");
    assert_eq!(
        (keys[0].id.as_str(), keys[0].active),
        (issued.id.as_str(), true)
    );

    let (status, body) = service
        .post(
            &format!("/keys/{}/rotate", issued.id),
            json!({"user_id": "team-1", "overlap_days": 7}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rotated: Issued = serde_json::from_value(body).expect("a rotated key");
    assert_ne!(rotated.id, issued.id);
    assert!(
        rotated.old_key_until.is_some(),
        "the old key works for a week"
    );
    let keys = service.keys_of("team.one").await;
    assert_eq!(keys.len(), 2, "both work during the overlap");
    assert!(keys.iter().all(|k| k.active));

    let (status, _) = service
        .post(&format!("/keys/{}/deactivate", issued.id), json!({}))
        .await;
    assert_eq!(status, 204);
    let old = service.keys_of("team.one").await;
    assert!(old.iter().any(|k| k.id == issued.id && !k.active));

    // Errors by kind: deactivating twice is a conflict; rotating for a
    // user id that does not exist is the create's 404; a revoked key is
    // refused before anything is sent.
    let (status, body) = service
        .post(&format!("/keys/{}/deactivate", issued.id), json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = service
        .post(
            &format!("/keys/{}/rotate", rotated.id),
            json!({"user_id": "team.one", "overlap_days": 7}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("put back")),
        "{body}"
    );
    let (status, _) = service
        .post(
            &format!("/keys/{}/rotate", issued.id),
            json!({"user_id": "team-1", "overlap_days": 7}),
        )
        .await;
    assert_eq!(status, 400, "a deactivated key is not rotated");
    let (status, _) = service
        .post("/keys/no-such-key/deactivate", json!({}))
        .await;
    assert_eq!(status, 404);
}
