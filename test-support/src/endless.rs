//! A server on 127.0.0.1 that honours `offset` and `limit` over a listing of
//! a given size, or one that always has another full page, or one that
//! sends more keys than asked, counting the requests it answers.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{Router, extract::Query, routing::get};

/// A running endless server; dropped with the test's runtime.
pub struct EndlessServer {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl EndlessServer {
    /// A listing of `total` keys (endless with `None`), whose pages hold
    /// `extra` keys more than asked.
    pub async fn start(total: Option<u64>, extra: u64) -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let app = Router::new().route(
            "/api/v1/admin/api_keys",
            get(move |Query(q): Query<HashMap<String, u64>>| {
                counter.fetch_add(1, Ordering::SeqCst);
                let offset = q.get("offset").copied().unwrap_or(0);
                let limit = q.get("limit").copied().unwrap_or(100) + extra;
                let end = total.map_or(offset + limit, |t| t.min(offset + limit));
                let keys: Vec<String> = (offset..end.max(offset))
                    .map(|i| key(&format!("k-{i}")))
                    .collect();
                async move {
                    (
                        [("content-type", "application/json")],
                        format!("[{}]", keys.join(",")),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, requests }
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn key(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","username":"alice","name":"n","hint":"abcd","created_at":"2026-11-02T09:14:07Z","total_calls":0,"is_active":true,"is_global_key":true}}"#
    )
}
