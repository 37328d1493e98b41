//! progenitor's `ClientHooks` for the generated client: the bearer header,
//! the wire rules, one tracing span per HTTP attempt, and the response body
//! limit, applied to every operation however it is called.

use std::{cell::Cell, fmt, time::Instant};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{
    Request, Response, StatusCode,
    header::{AUTHORIZATION, HeaderValue},
};
use tracing::Instrument;

use crate::{
    generated::{Client, Error},
    wire,
};

/// Default limit on one response body: far above the largest legitimate
/// page (1000 keys are about 500 KiB), far below what would hurt a process.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 << 20;

/// State the hooks need, kept in the generated client (`raw::Client`).
#[derive(Clone)]
pub struct Hooks {
    authorization: Option<HeaderValue>,
    max_response_bytes: usize,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            authorization: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[redacted]"),
            )
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl Hooks {
    /// Hooks that send `Authorization: Bearer <api_key>` on every request,
    /// marked sensitive so HTTP-level logging never shows it.
    pub fn with_api_key(api_key: &str) -> Result<Self, crate::Error> {
        let mut value = HeaderValue::try_from(format!("Bearer {api_key}")).map_err(|_| {
            crate::Error::config(
                "the API key holds characters that cannot be sent in an HTTP header; check for a stray newline",
            )
        })?;
        value.set_sensitive(true);
        Ok(Self {
            authorization: Some(value),
            ..Self::default()
        })
    }

    /// Stops reading any response body past `limit` bytes; the body read
    /// then fails, which the front door reports as
    /// [`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge).
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }
}

/// What the front door tells the hooks about the call in progress (the
/// attempt number, for the span), and what the hooks report back (the
/// response status, which the generated error may not keep).
#[derive(Debug)]
pub(crate) struct CallScope {
    pub(crate) attempt: u32,
    pub(crate) status: Cell<Option<StatusCode>>,
}

tokio::task_local! {
    pub(crate) static CALL: CallScope;
}

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(&self, request: &mut Request, info: &OperationInfo) -> Result<(), Error<E>> {
        if let Some(auth) = &self.inner().authorization {
            request
                .headers_mut()
                .entry(AUTHORIZATION)
                .or_insert_with(|| auth.clone());
        }
        wire::apply(request, info.operation_id);
        Ok(())
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let attempt = CALL.try_with(|c| c.attempt).unwrap_or(1);
        let span = tracing::info_span!(
            "h2ogpte_http",
            operation = info.operation_id,
            method = %request.method(),
            attempt,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self
            .client()
            .execute(request)
            .instrument(span.clone())
            .await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("elapsed_ms", elapsed_ms);
        match &result {
            Ok(response) => {
                let status = response.status();
                span.record("status", status.as_u16());
                let _ = CALL.try_with(|c| c.status.set(Some(status)));
                tracing::debug!(parent: &span, status = status.as_u16(), elapsed_ms, "response");
            }
            Err(e) => {
                tracing::debug!(parent: &span, elapsed_ms, error = %e, "no response");
            }
        }
        result.map(|response| limit_body(response, self.inner().max_response_bytes))
    }
}

/// Caps the body at `limit` bytes, whatever the generated code then reads it
/// with: past the limit the read fails instead of growing memory. The
/// request timeout still bounds a body that drips in slowly.
///
/// The rebuilt response no longer knows its URL; nothing downstream asks.
fn limit_body(response: Response, limit: usize) -> Response {
    let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let body = reqwest::Body::wrap(http_body_util::Limited::new(body, limit));
    let mut limited = http::Response::new(body);
    *limited.status_mut() = parts.status;
    *limited.version_mut() = parts.version;
    *limited.headers_mut() = parts.headers;
    *limited.extensions_mut() = parts.extensions;
    Response::from(limited)
}
