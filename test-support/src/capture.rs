//! A real HTTP server on 127.0.0.1 that records each request exactly as it
//! arrived (method, raw path, raw query, headers, body) and answers with a
//! canned success, so tests can snapshot what the client puts on the wire.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Method, Request, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Captured {
    /// The HTTP method.
    pub method: String,
    /// The raw path, as sent.
    pub path: String,
    /// The raw query, as sent.
    pub query: Option<String>,
    /// Every header but `Host`, by lower-case name.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (a string when it is not JSON, null when empty).
    pub body: serde_json::Value,
}

/// A running capture server; dropped with the test's runtime.
pub struct CaptureServer {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Captured>>>,
}

/// A created key as the spec's example shows it, for answering creates.
pub const CREATED: &str = r#"{"secret_key":"sk-test","api_key":{"id":"k1","username":"alice","name":"n","hint":"test","created_at":"2026-11-02T09:14:07Z","total_calls":0,"is_active":true,"is_global_key":true}}"#;

impl CaptureServer {
    /// Starts on 127.0.0.1 with a free port, in the current runtime.
    pub async fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = seen.clone();
        let app = Router::new().fallback(move |req: Request<Body>| {
            let state = state.clone();
            async move { record(req, &state).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, seen }
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request seen so far, oldest first.
    pub fn requests(&self) -> Vec<Captured> {
        self.seen.lock().expect("capture lock").clone()
    }

    /// The one request seen; fails the test if there were more or fewer.
    pub fn only_request(&self) -> Captured {
        let mut all = self.requests();
        assert_eq!(all.len(), 1, "expected exactly one request, saw {all:#?}");
        all.remove(0)
    }
}

async fn record(req: Request<Body>, seen: &Mutex<Vec<Captured>>) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| *name != header::HOST)
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let captured = Captured {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body,
    };
    let is_create = parts.method == Method::POST && captured.path.ends_with("/admin/api_keys");
    let is_list = parts.method == Method::GET;
    seen.lock().expect("capture lock").push(captured);
    if is_create {
        (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            CREATED,
        )
            .into_response()
    } else if is_list {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "[]",
        )
            .into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}
