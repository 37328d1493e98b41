//! The crate's one error type, the one a user matches on: what went wrong
//! and what to do about it, with accessors for the usual questions. Reading
//! a failed response into it is in `response.rs`, retry decisions in
//! `retry.rs`, redaction in `secret.rs`.

use std::{error::Error as StdError, time::Duration};

use reqwest::StatusCode;

use crate::{secret::snippet, types::EndpointError};

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

    /// A URL answered 404 with a body that is not the API's
    /// `EndpointError`: most likely not the h2oGPTe API at all, such as a
    /// base URL without `/api/v1`, or with it twice.
    #[error(
        "{url} answered 404 Not Found without an API error{}: is the URL right? with_server_url takes the server root and appends /api/v1; with_base_url takes the API base as is",
        snippet_suffix(body)
    )]
    WrongUrl {
        /// The URL requested, without user info or query.
        url: String,
        /// The start of the body, at most [`BODY_SNIPPET_LIMIT`] bytes.
        body: String,
    },

    /// A rotation stopped after its replacement was made (it was for
    /// another user, or a concurrent rotation won), and the replacement was
    /// deleted again; when that delete failed too, `orphan` names the key,
    /// which exists with a secret nobody holds.
    #[error("{reason}{}", orphan_hint(orphan.as_deref()))]
    Rotation {
        /// Why the rotation stopped.
        reason: String,
        /// The id of a replacement left behind, which must be deleted by hand.
        orphan: Option<String>,
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

fn orphan_hint(orphan: Option<&str>) -> String {
    match orphan {
        None => "; the replacement was deleted again, and the old key is as it was".to_owned(),
        Some(id) => format!(
            "; deleting the replacement failed too: key {id} exists but nobody holds its secret, so delete it"
        ),
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
            Error::WrongUrl { .. } => Error::Unsupported {
                operation,
                since,
                status: StatusCode::NOT_FOUND,
            },
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
            Error::WrongUrl { .. } => Some(StatusCode::NOT_FOUND),
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
