//! The fake server against its spec, both ways: every field a response
//! schema documents is produced in some response (or listed here as left
//! out on purpose, with why), and every query parameter the spec documents
//! is honoured or ignored on purpose. A new release's spec that adds either
//! fails here, naming the place in the fake server to change.

use std::collections::{BTreeMap, BTreeSet};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use h2ogpte_fake_server::{
    FakeServer, HONOURED_QUERY_PARAMETERS, IGNORED_QUERY_PARAMETERS, SPEC_YAML, app,
};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Response fields the fake server never sends, on purpose.
const NOT_PRODUCED: [(&str, &str, &str); 1] = [(
    "EndpointError",
    "error_type",
    "sent only for model access and for identity lookups that could not run, which this server does not play",
)];

fn spec() -> Value {
    serde_yaml_ng::from_str(SPEC_YAML).expect("the spec parses")
}

fn resolve<'a>(spec: &'a Value, value: &'a Value) -> (&'a Value, Option<String>) {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().map(str::to_owned);
            let target = spec
                .pointer(r.trim_start_matches('#'))
                .expect("a $ref that resolves");
            let (target, inner) = resolve(spec, target);
            (target, inner.or(name))
        }
        None => (value, None),
    }
}

/// Walks `body` along `schema`, noting per named schema the fields seen.
fn visit(
    spec: &Value,
    schema: &Value,
    body: &Value,
    seen: &mut BTreeMap<String, BTreeSet<String>>,
) {
    let (schema, name) = resolve(spec, schema);
    match body {
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for b in items {
                    visit(spec, item, b, seen);
                }
            }
        }
        Value::Object(fields) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (field, value) in fields {
                if let Some(name) = &name {
                    seen.entry(name.clone()).or_default().insert(field.clone());
                }
                if let Some(sub) = props.and_then(|p| p.get(field)) {
                    visit(spec, sub, value, seen);
                }
            }
        }
        _ => {}
    }
}

/// Every response schema the spec documents, with its properties.
fn documented(spec: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let mut queue: Vec<Value> = Vec::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("item").values() {
            for response in op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, r)| r)
            {
                let (response, _) = resolve(spec, response);
                if let Some(schema) = response.pointer("/content/application~1json/schema") {
                    queue.push(schema.clone());
                }
            }
        }
    }
    while let Some(schema) = queue.pop() {
        let (target, name) = resolve(spec, &schema);
        if let Some(items) = target.get("items") {
            queue.push(items.clone());
        }
        if let (Some(name), Some(props)) =
            (name, target.get("properties").and_then(Value::as_object))
        {
            if out.contains_key(&name) {
                continue;
            }
            out.insert(name, props.keys().cloned().collect::<BTreeSet<_>>());
            queue.extend(props.values().cloned());
        }
    }
    out
}

/// One request to the app as the administrator: its status and JSON body
/// (null when it has none).
async fn call(
    router: axum::Router,
    admin: &str,
    method: String,
    uri: String,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method.as_str())
        .uri(uri)
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let response = router.oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_documented_response_field_is_produced_somewhere() {
    let (state, admin) = FakeServer::builder()
        .user("u-1", "alice")
        .collection("c-1", "Reports", "u-1")
        .into_state()
        .expect("state");
    let router = app(state);
    let send = |method: &str, uri: &str, body: Option<Value>| {
        call(
            router.clone(),
            &admin,
            method.to_owned(),
            uri.to_owned(),
            body,
        )
    };
    let spec = spec();
    let schema_of = |path: &str, method: &str, status: StatusCode| {
        let op = &spec["paths"][path][method];
        let response = &op["responses"][status.as_str()];
        let (response, _) = resolve(&spec, response);
        response
            .pointer("/content/application~1json/schema")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut seen = BTreeMap::new();
    // The richest key (a collection, an expiry, an inactivity interval), a
    // page with the admin key just used, and an error.
    let calls = [
        (
            "POST",
            "/api/v1/admin/api_keys",
            "/admin/api_keys",
            Some(
                json!({"user_id": "u-1", "name": "svc", "collection_id": "c-1",
                        "expires_in": "30 days", "inactivity_interval": 14}),
            ),
            StatusCode::CREATED,
        ),
        (
            "GET",
            "/api/v1/admin/api_keys",
            "/admin/api_keys",
            None,
            StatusCode::OK,
        ),
        (
            "DELETE",
            "/api/v1/admin/api_keys/no-such-key",
            "/admin/api_keys/{key_id}",
            None,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (method, uri, template, body, expected) in calls {
        let (status, answer) = send(method, uri, body).await;
        assert_eq!(status, expected, "{method} {uri}: {answer}");
        let schema = schema_of(template, &method.to_lowercase(), status);
        visit(&spec, &schema, &answer, &mut seen);
    }

    let mut missing = Vec::new();
    for (schema, fields) in documented(&spec) {
        for field in fields {
            let produced = seen.get(&schema).is_some_and(|s| s.contains(&field));
            let excused = NOT_PRODUCED
                .iter()
                .any(|(s, f, _)| *s == schema && *f == field);
            if !produced && !excused {
                missing.push(format!("{schema}.{field}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the spec documents response fields the fake server never sends: {missing:?}; make fake-server/src/model.rs and store.rs produce them, or list them in NOT_PRODUCED with the reason"
    );
}

#[test]
fn every_documented_query_parameter_is_honoured_or_ignored_on_purpose() {
    let spec = spec();
    let mut documented = BTreeSet::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("item").values() {
            let id = op["operationId"].as_str().unwrap_or("?");
            for p in op["parameters"].as_array().into_iter().flatten() {
                let (p, _) = resolve(&spec, p);
                if p["in"] == "query" {
                    documented
                        .insert((id.to_owned(), p["name"].as_str().expect("name").to_owned()));
                }
            }
        }
    }
    let known: BTreeSet<(String, String)> = HONOURED_QUERY_PARAMETERS
        .iter()
        .map(|(op, p)| ((*op).to_owned(), (*p).to_owned()))
        .chain(
            IGNORED_QUERY_PARAMETERS
                .iter()
                .map(|(op, p, _)| ((*op).to_owned(), (*p).to_owned())),
        )
        .collect();
    let unhandled: Vec<_> = documented.difference(&known).collect();
    assert!(
        unhandled.is_empty(),
        "the spec documents query parameters the fake server ignores: {unhandled:?}; honour them in fake-server/src/routes.rs (and add them to HONOURED_QUERY_PARAMETERS), or add them to IGNORED_QUERY_PARAMETERS with the reason"
    );
    let stale: Vec<_> = known.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "listed but no longer in the spec: {stale:?}"
    );
}

/// The honoured parameters really act: a value out of range is refused, a
/// filter narrows the page.
#[tokio::test]
async fn the_honoured_parameters_act() {
    let (state, admin) = FakeServer::builder()
        .plain_keys(3)
        .into_state()
        .expect("state");
    let router = app(state);
    let get = |query: &str| {
        let uri = format!("/api/v1/admin/api_keys?{query}");
        call(router.clone(), &admin, "GET".to_owned(), uri, None)
    };
    assert_eq!(get("offset=-1").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get("limit=0").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get("limit=2").await.1.as_array().map(Vec::len), Some(2));
    assert_eq!(get("offset=3").await.1.as_array().map(Vec::len), Some(1));
    assert_eq!(
        get("filter=nobody").await.1.as_array().map(Vec::len),
        Some(0)
    );
}
