//! The fake server's semantics, driven in-process through its router; every
//! response is checked against the spec's documented statuses and schemas.

use crate::common;

use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Request, StatusCode, header},
};
use chrono::{DateTime, TimeDelta, Utc};
use common::spec::SpecValidator;
use h2ogpte_fake_server::{AppState, FakeServer, app};
use serde_json::{Value, json};
use tower::ServiceExt;

const KEYS: &str = "/admin/api_keys";

struct Harness {
    app: Router,
    state: AppState,
    admin: String,
    spec: SpecValidator,
}

struct Reply {
    status: StatusCode,
    json: Value,
}

impl Harness {
    fn new() -> Self {
        Self::with(FakeServer::builder())
    }

    fn with(builder: h2ogpte_fake_server::FakeServerBuilder) -> Self {
        let (state, admin) = builder
            .user("u-alice", "Alice")
            .user("u-bob", "bob")
            .collection("c-reports", "Reports", "u-alice")
            .into_state()
            .expect("valid setup");
        Self {
            app: app(state.clone()),
            state,
            admin,
            spec: SpecValidator::load(),
        }
    }

    /// Sends a request as the admin; `template` is the spec path the response
    /// is validated against.
    async fn call(&self, method: &str, uri: &str, template: &str, body: Option<Value>) -> Reply {
        let admin = self.admin.clone();
        self.raw(
            method,
            uri,
            Some(template),
            Some(&admin),
            body.map(|b| ("application/json", b.to_string())),
        )
        .await
    }

    async fn raw(
        &self,
        method: &str,
        uri: &str,
        template: Option<&str>,
        bearer: Option<&str>,
        body: Option<(&str, String)>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/v1{uri}"));
        if let Some(key) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let body = match body {
            Some((content_type, text)) => {
                req = req.header(header::CONTENT_TYPE, content_type);
                Body::from(text)
            }
            None => Body::empty(),
        };
        let response = self
            .app
            .clone()
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 1 << 24).await.expect("body");
        if let Some(template) = template {
            self.spec
                .check(
                    method,
                    &format!("/admin/api_keys{template}"),
                    status.as_u16(),
                    &bytes,
                )
                .unwrap_or_else(|e| panic!("{method} {uri}: {e}"));
        }
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        if !status.is_success() {
            assert_eq!(
                json["code"],
                json!(status.as_u16()),
                "code is the status: {json}"
            );
            assert!(
                json["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{json}"
            );
        }
        Reply { status, json }
    }

    async fn create(&self, body: Value) -> Reply {
        self.call("POST", KEYS, "", Some(body)).await
    }

    async fn created(&self, body: Value) -> Value {
        let r = self.create(body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        r.json
    }

    async fn list(&self, query: &str) -> Reply {
        self.call("GET", &format!("{KEYS}{query}"), "", None).await
    }

    async fn listed(&self, query: &str) -> Vec<Value> {
        let r = self.list(query).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        r.json.as_array().expect("array").clone()
    }

    async fn find(&self, id: &str) -> Value {
        self.listed("?limit=1000")
            .await
            .into_iter()
            .find(|k| k["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed"))
    }

    async fn deactivate(&self, id: &str) -> Reply {
        self.call(
            "POST",
            &format!("{KEYS}/deactivate/{id}"),
            "/deactivate/{key_id}",
            None,
        )
        .await
    }

    async fn delete(&self, id: &str) -> Reply {
        self.call("DELETE", &format!("{KEYS}/{id}"), "/{key_id}", None)
            .await
    }

    async fn expire(&self, id: &str, body: Option<Value>) -> Reply {
        self.call(
            "PATCH",
            &format!("{KEYS}/expire/{id}"),
            "/expire/{key_id}",
            body,
        )
        .await
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .expect("timestamp string")
        .parse()
        .expect("RFC 3339")
}

fn assert_message(r: &Reply, status: StatusCode, needle: &str) {
    assert_eq!(r.status, status, "{}", r.json);
    let message = r.json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "message {message:?} lacks {needle:?}"
    );
}

#[tokio::test]
async fn create_returns_the_secret_once_and_stores_only_metadata() {
    let h = Harness::new();
    let a = h.created(json!({"user_id": "u-alice", "name": "ci"})).await;
    let b = h.created(json!({"user_id": "u-alice"})).await;
    let secret = a["secret_key"].as_str().expect("secret");
    assert!(secret.len() >= 43, "at least 32 bytes of entropy: {secret}");
    assert_ne!(a["secret_key"], b["secret_key"]);
    assert_ne!(a["api_key"]["id"], b["api_key"]["id"]);
    let key = &a["api_key"];
    assert_eq!(key["hint"], json!(&secret[secret.len() - 4..]));
    assert_eq!(key["username"], "Alice");
    assert_eq!(key["name"], "ci");
    assert_eq!(key["is_global_key"], true);
    assert_eq!(key["is_active"], true);
    assert_eq!(key["total_calls"], 0);
    assert!(
        key["created_at"]
            .as_str()
            .expect("created_at")
            .ends_with('Z'),
        "UTC: {key}"
    );
    assert!(key.get("expires_at").is_none() && key.get("collection_id").is_none());
    // The listing never carries a secret.
    let listed = h.find(key["id"].as_str().expect("id")).await;
    assert!(listed.get("secret_key").is_none());
    assert_eq!(&listed, key);
}

#[tokio::test]
async fn create_with_collection_expiry_and_inactivity() {
    let h = Harness::new();
    let before = h.state.now();
    let key = h
        .created(json!({"user_id": "u-alice", "collection_id": "c-reports", "expires_in": "1 day 12 hours", "inactivity_interval": 7}))
        .await["api_key"]
        .clone();
    assert_eq!(key["is_global_key"], false);
    assert_eq!(key["collection_id"], "c-reports");
    assert_eq!(key["collection_name"], "Reports");
    assert_eq!(key["inactivity_interval"], 7);
    let created = time(&key["created_at"]);
    assert!(created >= before);
    assert_eq!(time(&key["expires_at"]) - created, TimeDelta::hours(36));
}

#[tokio::test]
async fn create_rejects_bad_input_with_400() {
    let h = Harness::new();
    for (body, needle) in [
        (json!({}), "user_id"),
        (json!({"user_id": ""}), "user_id must not be empty"),
        (
            json!({"user_id": "u-alice", "expires_in": "thirty days"}),
            "30 days",
        ),
        (
            json!({"user_id": "u-alice", "expires_in": "0 days"}),
            "not positive",
        ),
        (
            json!({"user_id": "u-alice", "inactivity_interval": 0}),
            "between 1 and 36500",
        ),
        (
            json!({"user_id": "u-alice", "inactivity_interval": 36501}),
            "between 1 and 36500",
        ),
        (json!({"user_id": 7}), "user_id"),
        (
            json!({"user_id": "u-alice", "inactivity_interval": "7"}),
            "inactivity_interval",
        ),
        (json!(["u-alice"]), "expected a JSON object"),
        (
            json!({"user_id": "u-alice", "inactivity_interval": null}),
            "must not be null",
        ),
    ] {
        assert_message(
            &h.create(body.clone()).await,
            StatusCode::BAD_REQUEST,
            needle,
        );
    }
    let bad_json = h
        .raw(
            "POST",
            KEYS,
            Some(""),
            Some(&h.admin),
            Some(("application/json", "{\"user_id\":".into())),
        )
        .await;
    assert_message(&bad_json, StatusCode::BAD_REQUEST, "invalid request body");
    let wrong_type = h
        .raw(
            "POST",
            KEYS,
            Some(""),
            Some(&h.admin),
            Some(("text/plain", "{\"user_id\":\"u-alice\"}".into())),
        )
        .await;
    assert_message(
        &wrong_type,
        StatusCode::BAD_REQUEST,
        "Content-Type: application/json",
    );
}

#[tokio::test]
async fn create_answers_404_for_unknown_user_or_foreign_collection() {
    let h = Harness::new();
    assert_message(
        &h.create(json!({"user_id": "nobody"})).await,
        StatusCode::NOT_FOUND,
        "user nobody",
    );
    assert_message(
        &h.create(json!({"user_id": "u-alice", "collection_id": "c-none"}))
            .await,
        StatusCode::NOT_FOUND,
        "collection c-none",
    );
    assert_message(
        &h.create(json!({"user_id": "u-bob", "collection_id": "c-reports"}))
            .await,
        StatusCode::NOT_FOUND,
        "collection c-reports",
    );
}

#[tokio::test]
async fn max_key_lifetime_is_enforced() {
    let h = Harness::with(FakeServer::builder().max_expiry_days(30));
    let r = h
        .create(json!({"user_id": "u-alice", "expires_in": "31 days"}))
        .await;
    assert_message(
        &r,
        StatusCode::BAD_REQUEST,
        "maximum key lifetime of 30 days",
    );
    let ok = h
        .created(json!({"user_id": "u-alice", "expires_in": "30 days"}))
        .await;
    // The cap bounds requested expiries only; asking for none gives none.
    let unbounded = h.created(json!({"user_id": "u-alice"})).await["api_key"].clone();
    assert!(unbounded.get("expires_at").is_none());
    let id = ok["api_key"]["id"].as_str().expect("id");
    assert_message(
        &h.expire(id, Some(json!({"expires_in": "1 year"}))).await,
        StatusCode::BAD_REQUEST,
        "maximum",
    );
}

#[tokio::test]
async fn list_filters_orders_and_pages() {
    let h = Harness::new();
    let mut ids = Vec::new();
    for user in ["u-alice", "u-bob", "u-alice", "u-bob", "u-alice"] {
        ids.push(h.created(json!({"user_id": user})).await["api_key"]["id"].clone());
    }
    let alice: Vec<Value> = h
        .listed("?filter=LIC")
        .await
        .into_iter()
        .map(|k| k["id"].clone())
        .collect();
    assert_eq!(alice, vec![ids[0].clone(), ids[2].clone(), ids[4].clone()]);
    // The admin's bootstrap key comes first: it was created first.
    let all: Vec<Value> = h
        .listed("")
        .await
        .into_iter()
        .map(|k| k["id"].clone())
        .collect();
    assert_eq!(all.len(), 6);
    assert_eq!(&all[1..], &ids[..]);
    let page: Vec<Value> = h
        .listed("?offset=2&limit=2")
        .await
        .into_iter()
        .map(|k| k["id"].clone())
        .collect();
    assert_eq!(page, vec![ids[1].clone(), ids[2].clone()]);
    assert!(h.listed("?offset=100").await.is_empty());
    assert_eq!(h.listed("?filter=b%20o").await.len(), 0);
    assert_eq!(h.listed("?filter=bo").await.len(), 2);
}

#[tokio::test]
async fn list_rejects_out_of_range_paging() {
    let h = Harness::new();
    for (query, needle) in [
        ("?limit=0", "limit must be between 1 and 1000"),
        ("?limit=1001", "limit must be between 1 and 1000"),
        ("?offset=-1", "offset must be 0 or more"),
        ("?limit=ten", "invalid query"),
    ] {
        assert_message(&h.list(query).await, StatusCode::BAD_REQUEST, needle);
    }
    assert_eq!(h.listed("?limit=1000").await.len(), 1);
}

#[tokio::test]
async fn deactivate_then_conflict_then_delete_then_not_found() {
    let h = Harness::new();
    let id = h.created(json!({"user_id": "u-bob"})).await["api_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(h.deactivate(&id).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.find(&id).await["is_active"], false);
    assert_message(
        &h.deactivate(&id).await,
        StatusCode::CONFLICT,
        "already inactive",
    );
    assert_message(
        &h.expire(&id, Some(json!({}))).await,
        StatusCode::CONFLICT,
        "deactivated",
    );
    assert_eq!(h.delete(&id).await.status, StatusCode::NO_CONTENT);
    assert_message(&h.delete(&id).await, StatusCode::NOT_FOUND, "not found");
    assert_message(&h.deactivate(&id).await, StatusCode::NOT_FOUND, "not found");
    assert_message(
        &h.expire(&id, None).await,
        StatusCode::NOT_FOUND,
        "not found",
    );
}

#[tokio::test]
async fn update_expiry_sets_and_removes() {
    let h = Harness::new();
    let id = h
        .created(json!({"user_id": "u-alice", "expires_in": "1 day"}))
        .await["api_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let before = h.state.now();
    assert_eq!(
        h.expire(&id, Some(json!({"expires_in": "2 weeks"})))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let at = time(&h.find(&id).await["expires_at"]);
    assert!(at >= before + TimeDelta::weeks(2) && at <= h.state.now() + TimeDelta::weeks(2));
    // `{}` removes the expiry, and so does no body at all.
    assert_eq!(
        h.expire(&id, Some(json!({}))).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(h.find(&id).await.get("expires_at").is_none());
    h.expire(&id, Some(json!({"expires_in": "1 day"}))).await;
    let empty = h
        .raw(
            "PATCH",
            &format!("{KEYS}/expire/{id}"),
            Some("/expire/{key_id}"),
            Some(&h.admin),
            Some(("application/json", String::new())),
        )
        .await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT);
    assert!(h.find(&id).await.get("expires_at").is_none());
    for (content_type, body, needle) in [
        (
            "application/json",
            "{\"expires_in\": 5}",
            "invalid request body",
        ),
        ("application/json", "{", "invalid request body"),
        ("text/plain", "{}", "Content-Type: application/json"),
        ("application/json", "{\"expires_in\": \"soon\"}", "30 days"),
    ] {
        let r = h
            .raw(
                "PATCH",
                &format!("{KEYS}/expire/{id}"),
                Some("/expire/{key_id}"),
                Some(&h.admin),
                Some((content_type, body.into())),
            )
            .await;
        assert_message(&r, StatusCode::BAD_REQUEST, needle);
    }
}

#[tokio::test]
async fn keys_become_inactive_when_expired_or_idle() {
    let h = Harness::new();
    let expiring = h
        .created(json!({"user_id": "u-alice", "expires_in": "1 hour"}))
        .await["api_key"]["id"]
        .clone();
    let idle = h
        .created(json!({"user_id": "u-alice", "inactivity_interval": 2}))
        .await["api_key"]["id"]
        .clone();
    h.state.advance_clock(TimeDelta::hours(2));
    let expiring = expiring.as_str().expect("id");
    assert_eq!(h.find(expiring).await["is_active"], false);
    assert_eq!(h.find(idle.as_str().expect("id")).await["is_active"], true);
    assert_message(
        &h.deactivate(expiring).await,
        StatusCode::CONFLICT,
        "already inactive",
    );
    // The admin key has no inactivity window and is used on every call.
    h.state.advance_clock(TimeDelta::days(3));
    assert_eq!(h.find(idle.as_str().expect("id")).await["is_active"], false);
}

#[tokio::test]
async fn only_active_admin_keys_authenticate_and_each_call_is_counted() {
    let h = Harness::new();
    let spec = Some("");
    assert_message(
        &h.raw("GET", KEYS, spec, None, None).await,
        StatusCode::UNAUTHORIZED,
        "Bearer",
    );
    assert_message(
        &h.raw("GET", KEYS, spec, Some("sk-wrong"), None).await,
        StatusCode::UNAUTHORIZED,
        "invalid API key",
    );
    let bob = h.created(json!({"user_id": "u-bob"})).await;
    let bob_secret = bob["secret_key"].as_str().expect("secret");
    assert_message(
        &h.raw("GET", KEYS, spec, Some(bob_secret), None).await,
        StatusCode::UNAUTHORIZED,
        "administrators",
    );
    // A second admin's key works until it expires.
    let h2 = Harness::with(FakeServer::builder().admin_user("u-root", "root"));
    let root = h2
        .created(json!({"user_id": "u-root", "expires_in": "1 minute"}))
        .await;
    let root_secret = root["secret_key"].as_str().expect("secret");
    assert_eq!(
        h2.raw("GET", KEYS, spec, Some(root_secret), None)
            .await
            .status,
        StatusCode::OK
    );
    let id = root["api_key"]["id"].as_str().expect("id");
    let used = h2.find(id).await;
    assert_eq!(used["total_calls"], 1);
    assert!(used.get("last_used_at").is_some());
    h2.state.advance_clock(TimeDelta::minutes(2));
    assert_message(
        &h2.raw("GET", KEYS, spec, Some(root_secret), None).await,
        StatusCode::UNAUTHORIZED,
        "expired",
    );
    // The bootstrap admin key counts its own calls too.
    let before = h.listed("?filter=admin").await[0]["total_calls"]
        .as_i64()
        .expect("calls");
    let after = h.listed("?filter=admin").await[0]["total_calls"]
        .as_i64()
        .expect("calls");
    assert_eq!(after, before + 1);
}

#[tokio::test]
async fn a_deactivated_admin_key_stops_working() {
    let h = Harness::new();
    let admin_id = h.listed("?filter=admin").await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(h.deactivate(&admin_id).await.status, StatusCode::NO_CONTENT);
    assert_message(&h.list("").await, StatusCode::UNAUTHORIZED, "deactivated");
}

#[tokio::test]
async fn key_ids_with_reserved_characters_are_one_segment() {
    let h = Harness::new();
    for id in ["a%2Fb", "a%3Fb", "caf%C3%A9", "..%2F..%2Fx"] {
        assert_message(&h.delete(id).await, StatusCode::NOT_FOUND, "not found");
    }
    let r = h.delete("a%2Fb").await;
    assert!(
        r.json["message"].as_str().expect("message").contains("a/b"),
        "decoded id: {}",
        r.json
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_endpoint_errors() {
    let h = Harness::new();
    let admin = h.admin.clone();
    let r = h
        .raw("GET", "/admin/nothing", None, Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h.raw("PUT", KEYS, None, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let spec = h
        .app
        .clone()
        .oneshot(
            Request::get("/api-spec.yaml")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(spec.status(), StatusCode::OK);
    let text = to_bytes(spec.into_body(), 1 << 20).await.expect("body");
    assert_eq!(&text[..], h2ogpte_fake_server::SPEC_YAML.as_bytes());
}

#[tokio::test]
async fn a_protected_admin_key_cannot_be_changed() {
    let h = Harness::with(FakeServer::builder().protect_admin_key(true));
    let admin_id = h.listed("?filter=admin").await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_message(
        &h.deactivate(&admin_id).await,
        StatusCode::CONFLICT,
        "protected",
    );
    assert_message(
        &h.delete(&admin_id).await,
        StatusCode::CONFLICT,
        "protected",
    );
    assert_message(
        &h.expire(&admin_id, Some(json!({"expires_in": "1 day"})))
            .await,
        StatusCode::CONFLICT,
        "protected",
    );
    assert_eq!(h.listed("").await.len(), 1, "still there and still working");
}

/// Sends a request whose body is a stream, and returns status, content type and JSON.
async fn send_body(
    h: &Harness,
    method: &str,
    uri: &str,
    body: Body,
) -> (StatusCode, String, Value) {
    let req = Request::builder()
        .method(method)
        .uri(format!("/api/v1{uri}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", h.admin))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("request");
    let response = h.app.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{status}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, content_type, json)
}

// Every error is an EndpointError.
#[tokio::test]
async fn every_error_is_an_endpoint_error() {
    let h = Harness::new();
    // A body over the size limit.
    let huge = format!(
        r#"{{"user_id":"u-alice","name":"{}"}}"#,
        "x".repeat(3 << 20)
    );
    let (status, content_type, json) = send_body(&h, "POST", KEYS, Body::from(huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type, "application/json");
    assert_eq!(json["code"], 413, "{json}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{json}"
    );
    // A body that breaks off, as a malformed chunked body does.
    let broken = futures_broken_body();
    let (status, content_type, json) =
        send_body(&h, "PATCH", &format!("{KEYS}/expire/k1"), broken).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(content_type, "application/json");
    assert_eq!(json["code"], 400, "{json}");
    // An unknown method on a known route.
    let (status, content_type, json) = send_body(&h, "BREW", KEYS, Body::empty()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{json}");
    assert_eq!(content_type, "application/json");
    assert_eq!(json["code"], 405, "{json}");
}

/// A body stream that fails after its first bytes.
fn futures_broken_body() -> Body {
    let parts: Vec<Result<&'static str, std::io::Error>> = vec![
        Ok(r#"{"expires_in":"#),
        Err(std::io::Error::other("malformed chunk")),
    ];
    Body::from_stream(futures::stream::iter(parts))
}

// No invalid data out, and bounded echoes of input.
#[tokio::test]
async fn expiries_past_year_9999_and_long_inputs_are_refused_boundedly() {
    let h = Harness::new();
    let r = h
        .create(json!({"user_id": "u-alice", "expires_in": "8000 years"}))
        .await;
    assert_message(&r, StatusCode::BAD_REQUEST, "9999");
    let id = h.created(json!({"user_id": "u-alice"})).await["api_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = h
        .expire(&id, Some(json!({"expires_in": "8000 years"})))
        .await;
    assert_message(&r, StatusCode::BAD_REQUEST, "9999");
    // Every time served stays readable by an RFC 3339 parser.
    for key in h.listed("?limit=1000").await {
        time(&key["created_at"]);
    }

    let long = "x".repeat(100_000);
    for r in [
        h.create(json!({"user_id": long})).await,
        h.create(json!({"user_id": "u-alice", "expires_in": long}))
            .await,
        h.create(json!({"user_id": "u-alice", "collection_id": long}))
            .await,
        h.delete(&"x".repeat(5000)).await,
    ] {
        let message = r.json["message"].as_str().expect("message");
        assert!(
            message.len() < 400,
            "{} chars: {}",
            message.len(),
            &message[..200]
        );
        assert!(message.contains("more characters"), "{message}");
    }
}

// `--user admin:NAME` keeps the bootstrap admin an admin.
#[tokio::test]
async fn renaming_the_bootstrap_admin_keeps_it_an_admin() {
    let h = Harness::with(FakeServer::builder().user("admin", "root"));
    let keys = h.listed("").await;
    assert!(
        keys.iter().any(|k| k["username"] == "root"),
        "the admin key works and carries the new name: {keys:?}"
    );
}

impl Harness {
    async fn inactivity(&self, id: &str, body: Option<Value>) -> Reply {
        self.call(
            "PATCH",
            &format!("{KEYS}/inactivity_interval/{id}"),
            "/inactivity_interval/{key_id}",
            body,
        )
        .await
    }
}

#[tokio::test]
async fn inactivity_interval_sets_and_removes() {
    let h = Harness::new();
    let id = h.created(json!({"user_id": "u-alice"})).await["api_key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = h
        .inactivity(&id, Some(json!({"inactivity_interval": 30})))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.json);
    assert_eq!(h.find(&id).await["inactivity_interval"], 30);
    let r = h.inactivity(&id, Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.json);
    assert!(h.find(&id).await.get("inactivity_interval").is_none());
    h.inactivity(&id, Some(json!({"inactivity_interval": 7})))
        .await;
    let r = h.inactivity(&id, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "no body removes it too");
    assert!(h.find(&id).await.get("inactivity_interval").is_none());

    for days in [0, -1, 36_501] {
        let r = h
            .inactivity(&id, Some(json!({"inactivity_interval": days})))
            .await;
        assert_message(&r, StatusCode::BAD_REQUEST, "inactivity_interval");
    }
    let r = h
        .inactivity(&id, Some(json!({"inactivity_interval": "30"})))
        .await;
    assert_message(&r, StatusCode::BAD_REQUEST, "inactivity_interval");
    let r = h.inactivity("no-such-key", Some(json!({}))).await;
    assert_message(&r, StatusCode::NOT_FOUND, "not found");
    h.deactivate(&id).await;
    let r = h
        .inactivity(&id, Some(json!({"inactivity_interval": 5})))
        .await;
    assert_message(&r, StatusCode::CONFLICT, "deactivated");
}

#[tokio::test]
async fn playing_a_server_before_1_7() {
    let h = Harness::with(FakeServer::builder().api_version(h2ogpte_fake_server::ApiVersion::V1_6));
    let created = h
        .created(json!({"user_id": "u-alice", "inactivity_interval": 5}))
        .await;
    let id = created["api_key"]["id"].as_str().expect("id").to_owned();
    for key in h.listed("").await {
        for field in ["total_calls", "last_used_at", "inactivity_interval"] {
            assert!(key.get(field).is_none(), "{field} in {key}");
        }
    }
    // No inactivity route: the framework's 404, not an EndpointError.
    let (status, _, json) = send_body(
        &h,
        "PATCH",
        &format!("{KEYS}/inactivity_interval/{id}"),
        Body::from("{}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(json.get("code").is_none(), "{json}");
}

// Latency delays every response without holding a lock, so
// concurrent requests overlap. Measured in tokio's paused (virtual) time.
#[tokio::test(start_paused = true)]
async fn latency_delays_each_response_and_requests_overlap() {
    let latency = std::time::Duration::from_millis(20);
    let (state, admin) = FakeServer::builder()
        .latency(latency)
        .into_state()
        .expect("state");
    let app = app(state);
    let list = || {
        Request::builder()
            .uri("/api/v1/admin/api_keys")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .expect("request")
    };
    let started = tokio::time::Instant::now();
    let response = app.clone().oneshot(list()).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(started.elapsed(), latency, "one response, one latency");

    let started = tokio::time::Instant::now();
    let all = futures::future::join_all((0..32).map(|_| app.clone().oneshot(list()))).await;
    assert!(
        all.iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status() == StatusCode::OK))
    );
    assert_eq!(
        started.elapsed(),
        latency,
        "32 concurrent requests take one latency, not 32"
    );
}

#[test]
fn seeding_beyond_the_bound_fails_with_a_message() {
    let err = FakeServer::builder()
        .plain_keys(h2ogpte_fake_server::MAX_SEED_KEYS + 1)
        .into_state()
        .map(|_| ())
        .expect_err("too many seed keys");
    assert!(err.contains("at most 1000000"), "{err}");
}

/// A seed file's keys are served as written, with the users and
/// collections they name; a bad record fails the start and is named.
#[tokio::test]
async fn a_seed_file_populates_users_collections_and_keys() {
    let dir = std::env::temp_dir().join(format!("seed-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("seed.json");
    std::fs::write(
        &path,
        r#"[{"id": "k-1", "user_id": "u-1", "username": "alice", "name": "svc",
             "secret_key": "sk-seededSecret0001", "created_at": "2025-01-01T00:00:00Z",
             "last_used_at": "2025-02-01T00:00:00Z", "total_calls": 7, "is_active": true,
             "collection_id": "c-1", "collection_name": "Reports"},
            {"id": "k-2", "user_id": "u-1", "username": "alice", "name": "gone",
             "created_at": "2025-01-02T00:00:00Z", "is_active": false}]"#,
    )
    .expect("write");
    let (state, _) = FakeServer::builder()
        .seed_file(&path)
        .into_state()
        .expect("a good file");
    let keys = state.store().list(0, 10, Some("alice"), state.now());
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].id, "k-1");
    assert_eq!(keys[0].hint, "0001");
    assert_eq!(keys[0].collection_name.as_deref(), Some("Reports"));
    assert_eq!(keys[0].total_calls, Some(7));
    assert!(!keys[0].is_global_key && keys[0].is_active);
    assert!(!keys[1].is_active, "deactivated as written");
    // A key of the file creates a key of its user: the collection is theirs.
    let created = state.store().create(
        h2ogpte_fake_server::CreateRequest {
            collection_id: Some("c-1".into()),
            ..h2ogpte_fake_server::CreateRequest::for_user("u-1")
        },
        h2ogpte_fake_server::NewKey::generate(),
        state.now(),
    );
    assert!(created.is_ok(), "{created:?}");
    std::fs::write(
        &path,
        r#"[{"id": "k-1", "user_id": "u-1", "username": "alice", "name": "svc",
             "created_at": "2999-01-01T00:00:00Z", "is_active": true}]"#,
    )
    .expect("write");
    let err = FakeServer::builder()
        .seed_file(&path)
        .into_state()
        .map(|_| ())
        .expect_err("a future creation time");
    assert!(err.contains("k-1") && err.contains("future"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn uuid_like() -> String {
    format!(
        "{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    )
}

/// The clock takes any step, the extremes included,
/// and saturates at `MAX_CLOCK_OFFSET` instead of overflowing.
#[tokio::test]
async fn the_clock_saturates_on_any_step() {
    let h = Harness::new();
    let start = Utc::now();
    for _ in 0..2 {
        h.state.advance_clock(TimeDelta::MAX);
    }
    let far = h.state.now();
    assert!(far - start <= h2ogpte_fake_server::MAX_CLOCK_OFFSET + TimeDelta::minutes(1));
    assert!(far - start >= h2ogpte_fake_server::MAX_CLOCK_OFFSET - TimeDelta::minutes(1));
    for _ in 0..3 {
        h.state.advance_clock(TimeDelta::MIN);
    }
    let back = h.state.now();
    assert!(start - back <= h2ogpte_fake_server::MAX_CLOCK_OFFSET + TimeDelta::minutes(1));
    // The server still answers.
    assert!(!h.listed("?limit=10").await.is_empty());
}
