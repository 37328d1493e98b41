//! progenitor's `ClientHooks` for the generated client: the bearer header,
//! the wire rules, one tracing span per HTTP attempt, and the response body
//! limit, applied to every operation however it is called.

use std::{fmt, sync::Arc, time::Instant};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{
    Request, Response, ResponseBuilderExt,
    header::{AUTHORIZATION, HeaderValue},
};
use tracing::Instrument;

use crate::{
    CallOptions,
    call::CallReport,
    generated::{Client, Error},
    request_hook::RequestHook,
    settings::DEFAULT_MAX_RESPONSE_BYTES,
    wire,
};

/// State the hooks need, kept in the generated client (`raw::Client`).
#[derive(Clone)]
pub struct Hooks {
    authorization: Option<HeaderValue>,
    max_response_bytes: usize,
    /// Set on the per-call copy the front door sends with; `raw()` has none.
    call: Option<Arc<CallReport>>,
    /// A view's per-call settings ([`Client::with_options`](crate::Client::with_options)).
    options: Option<Arc<CallOptions>>,
    /// The caller's hook, run last on every attempt.
    request_hook: Option<RequestHook>,
    /// The API base URL's path, from the URL the builder made; `None` for
    /// hooks a `raw` user put on a client of their own.
    base_path: Option<Arc<str>>,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            authorization: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            call: None,
            options: None,
            request_hook: None,
            base_path: None,
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
            .field("options", &self.options)
            .field("request_hook", &self.request_hook.is_some())
            .finish()
    }
}

impl Hooks {
    /// Hooks that send `Authorization: Bearer <api_key>` on every request,
    /// marked sensitive so HTTP-level logging never shows it.
    pub fn with_api_key(api_key: &str) -> Result<Self, crate::Error> {
        let mut value = HeaderValue::try_from(format!("Bearer {api_key}")).map_err(|_| {
            crate::Error::config(
                crate::Setting::ApiKey,
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

    /// These hooks, for a client whose API base URL has this path.
    pub(crate) fn with_base_path(mut self, path: &str) -> Self {
        self.base_path = Some(path.into());
        self
    }

    /// These hooks, running the caller's `hook` on every attempt.
    pub(crate) fn with_request_hook(mut self, hook: Option<RequestHook>) -> Self {
        self.request_hook = hook;
        self
    }

    /// These hooks with a view's per-call settings.
    pub(crate) fn with_options(&self, options: CallOptions) -> Self {
        Self {
            options: Some(Arc::new(options)),
            ..self.clone()
        }
    }

    /// These hooks, reporting to `call`.
    pub(crate) fn reporting_to(&self, call: Arc<CallReport>) -> Self {
        Self {
            call: Some(call),
            ..self.clone()
        }
    }
}

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(&self, request: &mut Request, info: &OperationInfo) -> Result<(), Error<E>> {
        if let Some(auth) = &self.inner().authorization {
            request
                .headers_mut()
                .entry(AUTHORIZATION)
                .or_insert_with(|| auth.clone());
        }
        if let Some(options) = &self.inner().options {
            options.apply(request).map_err(Error::InvalidRequest)?;
        }
        let base_path = match &self.inner().base_path {
            Some(path) => std::borrow::Cow::Borrowed(&**path),
            // A client built by hand: read its base URL once per request.
            None => std::borrow::Cow::Owned(
                url::Url::parse(self.baseurl())
                    .map(|url| url.path().to_owned())
                    .unwrap_or_default(),
            ),
        };
        wire::check_path(request, &base_path, info.operation_id).map_err(Error::InvalidRequest)?;
        wire::apply(request);
        if let Some(hook) = &self.inner().request_hook {
            let attempt = self.inner().call.as_deref().map_or(1, CallReport::attempt);
            hook.run(info.operation_id, attempt, request.headers_mut())
                .map_err(Error::InvalidRequest)?;
        }
        Ok(())
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let call = self.inner().call.as_deref();
        let attempt = call.map_or(1, CallReport::attempt);
        // The operation id and short names, plus the attribute names of
        // OpenTelemetry's HTTP client conventions, so a collector shows them
        // without mapping. Field values are computed only when the span is on.
        let url = request.url();
        let span = tracing::info_span!(
            "h2ogpte_http",
            operation = info.operation_id,
            method = %request.method(),
            attempt,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
            otel.kind = "client",
            otel.name = %request.method(),
            http.request.method = %request.method(),
            server.address = url.host_str().unwrap_or_default(),
            server.port = url.port_or_known_default().unwrap_or_default(),
            url.full = %crate::server_url::shown_url_for_span(url),
            http.request.resend_count = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        if attempt > 1 {
            span.record("http.request.resend_count", attempt - 1);
        }
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
                span.record("http.response.status_code", status.as_u16());
                if status.is_client_error() || status.is_server_error() {
                    span.record("error.type", status.as_str());
                }
                if let Some(call) = call {
                    call.saw(response);
                }
                tracing::debug!(parent: &span, status = status.as_u16(), elapsed_ms, "response");
            }
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else {
                    "transport"
                };
                span.record("error.type", kind);
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
/// A body that declares a length within the limit is left as it is: the
/// HTTP layer never reads past a declared length, so only a chunked body, or
/// one that declares more than the limit, is wrapped. The wrapped response
/// keeps its URL.
fn limit_body(response: Response, limit: usize) -> Response {
    if response
        .content_length()
        .is_some_and(|length| length <= limit as u64)
    {
        return response;
    }
    let url = response.url().clone();
    let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let body = reqwest::Body::wrap(http_body_util::Limited::new(body, limit));
    let mut limited = http::Response::new(body);
    *limited.status_mut() = parts.status;
    *limited.version_mut() = parts.version;
    *limited.headers_mut() = parts.headers;
    *limited.extensions_mut() = parts.extensions;
    // reqwest keeps a response's URL in an extension only its builder sets.
    let mut with_url = http::Response::builder().url(url);
    if let Some(extensions) = with_url.extensions_mut() {
        limited.extensions_mut().extend(std::mem::take(extensions));
    }
    Response::from(limited)
}
