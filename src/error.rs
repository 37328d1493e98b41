//! The crate's one error type: what went wrong, whether retrying could help,
//! and what to do about it.

use std::{error::Error as StdError, time::Duration};

use reqwest::{StatusCode, header::HeaderMap};
use serde::de::DeserializeOwned;

use crate::{raw, types::EndpointError};

/// Most bytes of a response body kept in an error or a log line.
pub const BODY_SNIPPET_LIMIT: usize = 512;

/// Everything that can go wrong building a client or calling the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is missing something or holds a bad value.
    #[error("invalid configuration: {reason}")]
    Config {
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// The server URL is plain `http://` to a host that is not loopback, and
    /// insecure http was not allowed: the API key would travel in clear.
    #[error(
        "refusing to send the API key over plain http to {host}: use https, or call with_allow_insecure_http(true) on a trusted network"
    )]
    InsecureUrl {
        /// The host the URL names.
        host: String,
    },

    /// The request was refused before anything was sent.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong with it.
        reason: String,
    },

    /// The API answered with a documented error and an `EndpointError` body.
    #[error("{status}: {}{}", snippet(error.message.as_bytes()), hint(*status))]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The decoded error body.
        error: EndpointError,
    },

    /// The server answered with a status the API does not document for this
    /// operation, such as a proxy's HTML 502 page or a redirect.
    #[error("unexpected HTTP {status}{}{}", location_hint(location.as_deref()), snippet_suffix(body))]
    UnexpectedStatus {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, at most [`BODY_SNIPPET_LIMIT`] bytes.
        body: String,
        /// Where a redirect pointed.
        location: Option<String>,
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },

    /// A response body did not match the API's types.
    #[error("cannot decode the response{}: {}{source}{}", status_suffix(*status), path_prefix(path), snippet_suffix(body))]
    Decode {
        /// The HTTP status of the response, when known.
        status: Option<StatusCode>,
        /// Where in the body decoding failed, such as `[0].total_calls`.
        path: String,
        /// The decoding error.
        source: serde_json::Error,
        /// The start of the body, at most [`BODY_SNIPPET_LIMIT`] bytes.
        body: String,
    },

    /// No response came in time.
    #[error(
        "the request timed out: raise the timeout with ClientBuilder::with_timeout, or check the server"
    )]
    Timeout {
        /// The underlying error.
        source: reqwest::Error,
    },

    /// The connection could not be established.
    #[error(
        "cannot connect to {url}: {}: {}",
        root_cause(source),
        connect_hint(source)
    )]
    Connect {
        /// The URL that was tried, without user info or query.
        url: String,
        /// The underlying error.
        source: reqwest::Error,
    },

    /// The connection failed during the exchange (reset, truncated body, TLS).
    #[error("the connection failed: {}", root_cause(source))]
    Transport {
        /// The underlying error.
        source: reqwest::Error,
    },

    /// A response body was larger than the configured limit; reading stopped
    /// there, so memory stays near the limit whatever the server sends.
    #[error(
        "the response body exceeds the limit of {limit} bytes: raise it with ClientBuilder::with_max_response_bytes if the server is trusted"
    )]
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },

    /// The server does not offer the operation: it answered 404 or 405
    /// without an `EndpointError`, as a server from before the release that
    /// added the operation does.
    #[error(
        "the server does not offer {operation} (it answered {status} without an API error): servers before h2oGPTe {since} lack it; upgrade the server"
    )]
    Unsupported {
        /// The operationId.
        operation: &'static str,
        /// The h2oGPTe release that added it.
        since: &'static str,
        /// The status the server answered.
        status: StatusCode,
    },

    /// The server's pages contradict the API's paging contract (it ignores
    /// `offset` or `limit`), so walking them would never end.
    #[error("the server does not page as the API documents: {reason}")]
    Paging {
        /// What the server did.
        reason: String,
    },

    /// A stream of keys passed its bound without ending, as a server that
    /// always has another full page would make it.
    #[error(
        "the listing passed {limit} keys without ending, far beyond any real deployment: check the server, or raise ClientBuilder::with_max_stream_keys if it truly holds more"
    )]
    TooManyKeys {
        /// The bound, in keys.
        limit: u64,
    },
}

fn hint(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => {
            " (check H2OGPTE_API_KEY: it must be an active key of an administrator)"
        }
        _ => "",
    }
}

fn location_hint(location: Option<&str>) -> String {
    match location {
        Some(to) => format!(
            " redirecting to {to}: check H2OGPTE_SERVER_URL (the server root, without a trailing slash)"
        ),
        None => String::new(),
    }
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("{path}: ")
    }
}

fn status_suffix(status: Option<StatusCode>) -> String {
    status.map(|s| format!(" ({s})")).unwrap_or_default()
}

fn snippet_suffix(body: &str) -> String {
    if body.trim().is_empty() {
        String::new()
    } else {
        format!("; body: {}", body.trim())
    }
}

fn connect_hint(source: &reqwest::Error) -> &'static str {
    if untrusted_certificate(source) {
        "the server's certificate is not trusted: add its CA with ClientBuilder::with_root_certificate, or check H2OGPTE_SERVER_URL"
    } else {
        "check H2OGPTE_SERVER_URL and that the server is up"
    }
}

/// Whether a TLS handshake failed on the server's certificate. rustls' error
/// sits inside an `io::Error`, whose `source` skips it, so look inside.
fn untrusted_certificate(e: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(rustls::Error::InvalidCertificate(_)) = c.downcast_ref::<rustls::Error>() {
            return true;
        }
        cause = match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => c.source(),
        };
    }
    false
}

fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cause: &(dyn StdError + 'static) = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The first [`BODY_SNIPPET_LIMIT`] bytes of a body as text, cut at a
/// character boundary, with `…` when cut.
///
/// The value of any `secret_key` in it is replaced by `[redacted]`: a body
/// that was not what the API documents may still carry a new key's secret.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let text = redact_secret_values(&String::from_utf8_lossy(
        &bytes[..bytes.len().min(BODY_SNIPPET_LIMIT * 2)],
    ));
    if text.len() <= BODY_SNIPPET_LIMIT {
        return text;
    }
    let mut end = BODY_SNIPPET_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Replaces the value after each `secret_key` (quoted or bare, whole or cut
/// off by the end of the text) with `[redacted]`.
fn redact_secret_values(text: &str) -> String {
    const FIELD: &str = "secret_key";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(FIELD) {
        let (before, after) = rest.split_at(at + FIELD.len());
        out.push_str(before);
        // Up to the value: a closing quote, blanks, the colon, blanks.
        let value_at = after
            .find(|c: char| !(c == '"' || c == ':' || c.is_whitespace()))
            .unwrap_or(after.len());
        let (lead, value) = after.split_at(value_at);
        if !lead.contains(':') {
            rest = after;
            continue;
        }
        out.push_str(lead);
        let value_len = if lead.ends_with('"') {
            // A JSON string: up to the first quote that is not escaped.
            let bytes = value.as_bytes();
            let mut i = 0;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i.min(bytes.len())
        } else {
            value
                .find(|c: char| matches!(c, ',' | '}' | ']') || c.is_whitespace())
                .unwrap_or(value.len())
        };
        out.push_str("[redacted]");
        rest = value.get(value_len..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// `Retry-After` as seconds or an HTTP date, from now.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

impl Error {
    /// This error, or [`Error::Unsupported`] when it is a 404 or 405 without
    /// an `EndpointError`: the answer of a server that lacks `operation`.
    pub(crate) fn unsupported_if_missing(
        self,
        operation: &'static str,
        since: &'static str,
    ) -> Self {
        match self {
            Error::Decode {
                status: Some(status),
                ..
            }
            | Error::UnexpectedStatus { status, .. }
                if matches!(status.as_u16(), 404 | 405) =>
            {
                Error::Unsupported {
                    operation,
                    since,
                    status,
                }
            }
            other => other,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::Config {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_request(reason: impl Into<String>) -> Self {
        Error::InvalidRequest {
            reason: reason.into(),
        }
    }

    /// The HTTP status of the response that caused this error, if there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. }
            | Error::UnexpectedStatus { status, .. }
            | Error::Unsupported { status, .. } => Some(*status),
            Error::Decode { status, .. } => *status,
            _ => None,
        }
    }

    /// The decoded error body the server sent, if it sent one.
    pub fn endpoint_error(&self) -> Option<&EndpointError> {
        match self {
            Error::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether a TLS connection failed because the server's certificate is
    /// not trusted (a private CA not added, a wrong host name, an expired
    /// certificate).
    pub fn is_untrusted_certificate(&self) -> bool {
        match self {
            Error::Connect { source, .. } | Error::Transport { source } => {
                untrusted_certificate(source)
            }
            _ => false,
        }
    }

    /// Whether the request certainly did not reach the server, so that even a
    /// create may be sent again.
    pub fn is_unsent(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. }
                | Error::InvalidRequest { .. }
                | Error::Config { .. }
                | Error::InsecureUrl { .. }
        )
    }

    /// How long the server asked to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::UnexpectedStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Turns the generated client's error into this one. `status` is the
    /// response status the hooks saw, which the generated error may not keep.
    ///
    /// `T` is the operation's success type: a body that fails to decode is
    /// decoded again with the field path tracked, to say where it failed.
    pub(crate) async fn from_raw<T: DeserializeOwned>(
        err: raw::Error<EndpointError>,
        status: Option<StatusCode>,
        reading: &Reading,
    ) -> Self {
        match err {
            raw::Error::InvalidRequest(reason) => Error::invalid_request(reason),
            raw::Error::Custom(reason) => Error::invalid_request(reason),
            raw::Error::ErrorResponse(response) => {
                let status = response.status();
                let error = response.into_inner();
                tracing::debug!(status = status.as_u16(), message = %snippet(error.message.as_bytes()), "API error");
                Error::Api { status, error }
            }
            raw::Error::InvalidResponsePayload(bytes, source) => {
                let is_error = status.is_some_and(|s| s.is_client_error() || s.is_server_error());
                let located = if is_error {
                    locate::<EndpointError>(&bytes)
                } else {
                    locate::<T>(&bytes)
                };
                let (path, source) = located.unwrap_or((String::new(), source));
                // A create's success body holds the new secret: keep none of
                // it, not even in the decoder's message, which can quote a value.
                let (body, source) = if reading.holds_secret && !is_error {
                    (String::new(), redacted_decode_error(&source))
                } else {
                    (snippet(&bytes), source)
                };
                tracing::debug!(status = status.map(|s| s.as_u16()), %body, "undecodable response");
                Error::Decode {
                    status,
                    path,
                    source,
                    body,
                }
            }
            raw::Error::UnexpectedResponse(response) => Self::unexpected(response, reading).await,
            raw::Error::CommunicationError(source)
            | raw::Error::ResponseBodyError(source)
            | raw::Error::InvalidUpgrade(source) => Self::from_reqwest(source, reading),
        }
    }

    pub(crate) fn from_reqwest(source: reqwest::Error, reading: &Reading) -> Self {
        // The URL is shown, if at all, without user info or query, so the
        // source keeps none of it for its own Display and Debug.
        let url = source.url().map(crate::server_url::shown_url);
        let source = source.without_url();
        if caused_by::<http_body_util::LengthLimitError>(&source) {
            Error::ResponseTooLarge {
                limit: reading.max_response_bytes,
            }
        } else if source.is_timeout() {
            Error::Timeout { source }
        } else if source.is_connect() {
            let url = url.unwrap_or_else(|| "the server".to_owned());
            Error::Connect { url, source }
        } else {
            // A reset, a truncated or unreadable body, TLS: the exchange failed midway.
            Error::Transport { source }
        }
    }

    async fn unexpected(response: reqwest::Response, reading: &Reading) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let location = status
            .is_redirection()
            .then(|| {
                headers
                    .get(reqwest::header::LOCATION)?
                    .to_str()
                    .ok()
                    .map(str::to_owned)
            })
            .flatten();
        // A create answered with an undocumented success status may still
        // carry the secret in any shape: keep none of it.
        let body = if reading.holds_secret && status.is_success() {
            String::new()
        } else {
            read_bounded(response).await
        };
        tracing::debug!(status = status.as_u16(), %body, "unexpected response");
        Error::UnexpectedStatus {
            status,
            body,
            location,
            retry_after: retry_after(&headers),
        }
    }
}

/// What the client knows about reading a response, for describing a failure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    /// The body limit in force ([`Error::ResponseTooLarge`]).
    pub(crate) max_response_bytes: usize,
    /// The success body holds a secret (a create): keep no snippet of it.
    pub(crate) holds_secret: bool,
}

fn caused_by<E: StdError + 'static>(e: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<E>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// The decoder's message with every quoted value replaced, for a body that
/// may hold a secret (`invalid type: string "sk-…"` would show it).
fn redacted_decode_error(e: &serde_json::Error) -> serde_json::Error {
    let message = e.to_string();
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                out.push_str("\"[redacted]");
                quoted = true;
            }
            ('"', true) => {
                out.push('"');
                quoted = false;
            }
            (c, false) => out.push(c),
            (_, true) => {}
        }
    }
    <serde_json::Error as serde::de::Error>::custom(out)
}

/// Decodes `bytes` as `T` tracking the path, for the path of the first error.
fn locate<T: DeserializeOwned>(bytes: &[u8]) -> Option<(String, serde_json::Error)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => None,
        Err(e) => Some((e.path().to_string(), e.into_inner())),
    }
}

/// Reads at most a snippet's worth of the body, however large it is.
async fn read_bounded(mut response: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < BODY_SNIPPET_LIMIT * 2 {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    snippet(&kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_bounded_and_cut_at_a_char_boundary() {
        let long = "é".repeat(1000);
        let s = snippet(long.as_bytes());
        assert!(s.len() <= BODY_SNIPPET_LIMIT + "…".len(), "{}", s.len());
        assert!(s.ends_with('…'));
        assert_eq!(snippet(b"short"), "short");
    }

    #[test]
    fn snippets_redact_secret_values_in_any_shape() {
        for (body, kept) in [
            (
                r#"{"secret_key":"sk-1","x":1}"#,
                r#"{"secret_key":"[redacted]","x":1}"#,
            ),
            (
                r#"{"secret_key" : "sk-\"2"}"#,
                r#"{"secret_key" : "[redacted]"}"#,
            ),
            (
                r#"{"secret_key":sk-3,"x":1}"#,
                r#"{"secret_key":[redacted],"x":1}"#,
            ),
            (
                r#"{"secret_key":"sk-cut-off"#,
                r#"{"secret_key":"[redacted]"#,
            ),
            (r#"no secret_key here"#, r#"no secret_key here"#),
        ] {
            assert_eq!(snippet(body.as_bytes()), kept, "{body}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        h.insert(
            reqwest::header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().expect("header"),
        );
        let d = retry_after(&h).expect("a date");
        assert!(
            d <= Duration::from_secs(30) && d >= Duration::from_secs(28),
            "{d:?}"
        );
        h.insert(
            reqwest::header::RETRY_AFTER,
            "soon".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = Error::Api {
            status: StatusCode::UNAUTHORIZED,
            error: EndpointError {
                code: 401,
                message: "invalid API key".into(),
                error_type: None,
            },
        };
        assert_eq!(
            e.to_string(),
            "401 Unauthorized: invalid API key (check H2OGPTE_API_KEY: it must be an active key of an administrator)"
        );
        let e = Error::UnexpectedStatus {
            status: StatusCode::MOVED_PERMANENTLY,
            body: String::new(),
            location: Some("https://h.example/api/v1/admin/api_keys".into()),
            retry_after: None,
        };
        assert!(e.to_string().contains("without a trailing slash"), "{e}");
        assert!(!e.is_retryable());
    }
}
