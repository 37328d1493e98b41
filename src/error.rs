//! The crate's one error type, the one a user matches on: what went wrong
//! and what to do about it, its kind whatever the spec documents, the causes
//! of a composite's failure as data, and accessors for the usual questions. Reading
//! a failed response into it is in `response.rs`, retry decisions in
//! `retry.rs`, redaction in `secret.rs`.

use std::{error::Error as StdError, fmt, time::Duration};

use chrono::{DateTime, Utc};

use reqwest::StatusCode;

use crate::{secret::snippet, types::EndpointError};

/// Everything that can go wrong building a client or calling the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is missing something or holds a bad value.
    #[error("invalid configuration: {reason}")]
    Config {
        /// Which setting.
        setting: Setting,
        /// Whether it was not given at all (or blank), rather than wrong.
        missing: bool,
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
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },

    /// The server answered with a status the API does not document for this
    /// operation, such as a proxy's HTML 502 page or a redirect.
    #[error("unexpected HTTP {status}{}{}", location_hint(location.as_deref()), snippet_suffix(body))]
    UnexpectedStatus {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, at most [`BODY_SNIPPET_LIMIT`](crate::BODY_SNIPPET_LIMIT) bytes.
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
        /// The start of the body, at most [`BODY_SNIPPET_LIMIT`](crate::BODY_SNIPPET_LIMIT) bytes.
        body: String,
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
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
        /// The start of the body, at most [`BODY_SNIPPET_LIMIT`](crate::BODY_SNIPPET_LIMIT) bytes.
        body: String,
    },

    /// A mock server (httpmock, which `h2ogpte-api-keys-mock` scripts)
    /// answered 404 because no mock matched the request: in a test, a
    /// mock's conditions (path, query, headers, body) differ from what the
    /// client sent.
    #[error(
        "the mock server matched no mock to {url}: check the mock's conditions (path, query, headers, body) against the request; if no path matches, point the client at the mock with with_base_url, which takes the API base as it is (with_server_url appends /api/v1)"
    )]
    NoMockMatched {
        /// The URL requested, without user info or query.
        url: String,
    },

    /// A rotation ([`rotation`](crate::rotation)) stopped: the
    /// [`RotationFailure`] says at which step and why, what became of the
    /// old key's expiry, and names a replacement left behind. Its source is
    /// the call that failed, when one did.
    #[error(transparent)]
    Rotation(Box<RotationFailure>),

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

/// The setting an [`Error::Config`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// The server URL (`H2OGPTE_SERVER_URL`, `with_server_url`,
    /// `with_base_url`).
    ServerUrl,
    /// The API key (`H2OGPTE_API_KEY`, `with_api_key`, a view's key).
    ApiKey,
    /// The HTTP client: TLS, proxy, pool, or a caller's own client.
    HttpClient,
    /// The blocking client's runtime.
    Runtime,
}

/// What kind of failure an [`Error`] is ([`Error::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400 or 422: the server refused the request's content.
    BadRequest,
    /// 401: the API key is missing, wrong, expired or not an administrator's.
    Unauthorized,
    /// 403: the key may not do this.
    Forbidden,
    /// 404 with an API error: no such key or user.
    NotFound,
    /// 409: the key is already in that state.
    Conflict,
    /// 429: too many requests; see [`Error::retry_after`].
    RateLimited,
    /// 502, 503 or 504: the server or a gateway is unavailable for now;
    /// see [`Error::retry_after`].
    Unavailable,
    /// Another 5xx: the server failed.
    ServerError,
    /// Any other status (a redirect, an unexpected success).
    OtherStatus,
    /// No response came in time.
    Timeout,
    /// The connection could not be established.
    Connect,
    /// The connection failed during the exchange.
    Transport,
    /// A response broke the API's contract: undecodable, too large, or a
    /// listing that does not page as documented.
    ResponseInvalid,
    /// The server lacks the operation (it predates it).
    Unsupported,
    /// The client refused the request before sending anything (a bad
    /// argument, a revoked key to rotate).
    RefusedBeforeSending,
    /// The client's configuration is wrong (no key, a URL that is not the
    /// API, plain http to another host).
    Configuration,
    /// The caller's own argument was wrong in a way only the server's
    /// answer showed (a rotation given the id of another user than the
    /// key's): the caller's caller is not to blame, and neither is the
    /// server.
    InvalidArgument,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 17] = [
        ErrorKind::BadRequest,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::RateLimited,
        ErrorKind::Unavailable,
        ErrorKind::ServerError,
        ErrorKind::OtherStatus,
        ErrorKind::Timeout,
        ErrorKind::Connect,
        ErrorKind::Transport,
        ErrorKind::ResponseInvalid,
        ErrorKind::Unsupported,
        ErrorKind::RefusedBeforeSending,
        ErrorKind::Configuration,
        ErrorKind::InvalidArgument,
    ];

    /// The kind as a stable, lower-case, dashed string for metric labels
    /// and logs (`"bad-request"`, `"rate-limited"`, `"invalid-argument"`…):
    /// a kind keeps its string across releases.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad-request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::ServerError => "server-error",
            ErrorKind::OtherStatus => "other-status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Transport => "transport",
            ErrorKind::ResponseInvalid => "response-invalid",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::RefusedBeforeSending => "refused-before-sending",
            ErrorKind::Configuration => "configuration",
            ErrorKind::InvalidArgument => "invalid-argument",
        }
    }

    fn of_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 | 422 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            502..=504 => ErrorKind::Unavailable,
            500..=599 => ErrorKind::ServerError,
            _ => ErrorKind::OtherStatus,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn hint(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => {
            " (check H2OGPTE_API_KEY: it must be an active key of an administrator)"
        }
        _ => "",
    }
}

/// A rotation that stopped ([`Error::Rotation`]): its causes as data.
#[derive(Debug, thiserror::Error)]
#[error("{}", rotation_message(self))]
#[non_exhaustive]
pub struct RotationFailure {
    /// The key being rotated.
    pub key_id: String,
    /// The user id its replacement was, or was to be, made for; `None`
    /// when it stopped before one was settled (no such key).
    pub user_id: Option<String>,
    /// Where the rotation stopped, and why.
    pub stop: RotationStop,
    /// The call that failed, when one did.
    #[source]
    pub source: Option<Error>,
    /// What became of the old key's expiry.
    pub old_expiry: OldExpiry,
    /// The id of a replacement that was made and could not be deleted
    /// again: it exists, nobody holds its secret, and it must be deleted by
    /// hand.
    pub orphan: Option<String>,
}

impl RotationFailure {
    /// A rotation of `key_id` for `user_id` that stopped at `stop`, with
    /// nothing changed; the other causes are set by struct update.
    pub(crate) fn new(
        key_id: impl Into<String>,
        user_id: Option<String>,
        stop: RotationStop,
    ) -> Self {
        Self {
            key_id: key_id.into(),
            user_id,
            stop,
            source: None,
            old_expiry: OldExpiry::Unchanged,
            orphan: None,
        }
    }
}

impl From<RotationFailure> for Error {
    fn from(failure: RotationFailure) -> Self {
        Error::Rotation(Box::new(failure))
    }
}

/// Where a rotation stopped, and why: the cause of an [`Error::Rotation`],
/// as data to match on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationStop {
    /// No key has this id.
    NoSuchKey,
    /// The key is deactivated: a replacement would restore revoked access.
    Deactivated,
    /// The key expired then: a replacement would restore revoked access.
    Expired {
        /// When it expired.
        at: DateTime<Utc>,
    },
    /// The key went unused past its inactivity interval then: a
    /// replacement would restore revoked access.
    Idle {
        /// When its interval ran out.
        since: DateTime<Utc>,
    },
    /// The overlap window is not positive, or ends past any date this
    /// crate can represent.
    Window,
    /// The server refused to bring the old key's expiry forward to the end
    /// of the overlap window (most often: the window is longer than the
    /// longest expiry it allows). Nothing was created.
    Shorten,
    /// Creating the replacement failed; an unknown user id answers 404.
    Create,
    /// The replacement was made for another user than the old key's, and
    /// deleted again.
    WrongUser {
        /// The username the server made it for.
        made_for: String,
        /// The username of the old key's user.
        owner: String,
    },
    /// Someone deactivated or deleted the key while it was rotated: its
    /// replacement, which nobody had received yet, was deleted again, so
    /// no revoked access lives on.
    RevokedMeanwhile,
}

/// What became of the old key's expiry when a rotation stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum OldExpiry {
    /// It was never changed.
    Unchanged,
    /// The overlap window had brought it forward; it was put back as it was.
    PutBack,
    /// The overlap window brought it forward and putting it back failed:
    /// the key now stops working at `until`, unless its expiry is set again.
    Shortened {
        /// When the old key now stops working.
        until: DateTime<Utc>,
        /// Why putting it back failed.
        error: Box<Error>,
    },
}

fn rotation_message(failure: &RotationFailure) -> String {
    let RotationFailure {
        key_id,
        user_id,
        stop,
        source,
        old_expiry,
        orphan,
    } = failure;
    let failed = source
        .as_ref()
        .map_or_else(String::new, |e| format!(" ({e})"));
    let (what, made) = match stop {
        RotationStop::NoSuchKey => (
            format!("no key with id {key_id}: check the id in the list of keys"),
            false,
        ),
        RotationStop::Deactivated | RotationStop::Expired { .. } | RotationStop::Idle { .. } => {
            let state = match stop {
                RotationStop::Deactivated => "deactivated",
                RotationStop::Idle { .. } => "idle past its inactivity interval",
                _ => "expired",
            };
            (
                format!(
                    "key {key_id} is {state}, so it grants no access; rotating it would restore access that was revoked: to issue a new key on purpose, create one"
                ),
                false,
            )
        }
        RotationStop::Window => (
            "the overlap window must be positive and end within this crate's dates, such as 7 days"
                .to_owned(),
            false,
        ),
        RotationStop::Shorten => (
            format!(
                "rotating key {key_id}: the server refused to bring its expiry forward to the end of the overlap window{failed}: choose a shorter window (the server caps how long a key may live)"
            ),
            false,
        ),
        RotationStop::Create => {
            let user_id = user_id.as_deref().unwrap_or_default();
            let hint = if source
                .as_ref()
                .is_some_and(|e| e.kind() == ErrorKind::NotFound)
            {
                format!(
                    ": check that {user_id} is the id of the key's user (the API lists usernames; a create takes the user's id)"
                )
            } else {
                String::new()
            };
            (
                format!(
                    "rotating key {key_id}: creating its replacement for user id {user_id} failed{failed}{hint}"
                ),
                false,
            )
        }
        RotationStop::WrongUser { made_for, owner } => (
            format!(
                "rotating key {key_id}: the replacement was made for {made_for}, but the key belongs to {owner}: make it for the id of {owner}"
            ),
            true,
        ),
        RotationStop::RevokedMeanwhile => (
            format!(
                "rotating key {key_id}: someone deactivated or deleted it meanwhile, so it gets no replacement"
            ),
            true,
        ),
    };
    let replacement = match (made, orphan.as_deref()) {
        (false, _) => "nothing was created".to_owned(),
        (true, None) => "this rotation's replacement was deleted again".to_owned(),
        (true, Some(id)) => format!(
            "deleting this rotation's replacement failed: key {id} exists but nobody holds its secret, so delete it"
        ),
    };
    let expiry = match old_expiry {
        OldExpiry::Unchanged => format!("key {key_id} is unchanged"),
        OldExpiry::PutBack => format!("key {key_id}'s expiry was put back as it was"),
        OldExpiry::Shortened { until, error } => format!(
            "putting key {key_id}'s expiry back failed ({error}): it now stops working at {}, unless its expiry is set again",
            until.format("%Y-%m-%d %H:%M:%S UTC")
        ),
    };
    match stop {
        RotationStop::NoSuchKey | RotationStop::Window => format!("{what}; nothing was changed"),
        _ => format!("{what}; {replacement}, and {expiry}"),
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
/// sits inside an `io::Error`, whose `source` skips it, so look inside;
/// OpenSSL (`native-tls`) says it in its message.
fn untrusted_certificate(e: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        #[cfg(feature = "rustls")]
        if let Some(rustls::Error::InvalidCertificate(_)) = c.downcast_ref::<rustls::Error>() {
            return true;
        }
        #[cfg(feature = "native-tls")]
        if c.to_string().contains("certificate verify failed") {
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
    /// How long the server asked to wait before retrying (its
    /// `Retry-After`), whatever the status and whether the spec documents
    /// it; for a composite's failure, what its failed call was told.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. }
            | Error::UnexpectedStatus { retry_after, .. }
            | Error::Decode { retry_after, .. } => *retry_after,
            Error::Rotation(failure) => failure.source.as_ref().and_then(Error::retry_after),
            _ => None,
        }
    }

    /// Whether sending the same request again could succeed: connection
    /// failures, timeouts, and the statuses 429, 502, 503 and 504. Whether
    /// the client does retry also depends on the operation (see
    /// [`RetryPolicy`](crate::RetryPolicy)).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::Api { status, .. } | Error::UnexpectedStatus { status, .. } => {
                crate::retry::is_retryable_status(*status)
            }
            _ => false,
        }
    }

    /// Whether the server may have carried out the request that failed this
    /// way: a transport failure once the request could have been sent (a
    /// reset, a timeout), or a 500, 502 or 504, after which the server may
    /// have acted. A 429 or 503 says the request was not processed, and a
    /// connection that was never made sent nothing.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::Api { status, .. } | Error::UnexpectedStatus { status, .. } => matches!(
                *status,
                StatusCode::INTERNAL_SERVER_ERROR
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::GATEWAY_TIMEOUT
            ),
            _ => false,
        }
    }

    /// The status of a failed response that held no API error (an
    /// undocumented status, or a body that is not the API's), if this is one.
    pub(crate) fn status_without_api_error(&self) -> Option<StatusCode> {
        match self {
            Error::Decode {
                status: Some(status),
                ..
            }
            | Error::UnexpectedStatus { status, .. }
                if status.is_client_error() || status.is_server_error() =>
            {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The body snippet this error keeps, if any.
    pub(crate) fn into_body_snippet(self) -> String {
        match self {
            Error::Decode { body, .. }
            | Error::UnexpectedStatus { body, .. }
            | Error::WrongUrl { body, .. } => body,
            _ => String::new(),
        }
    }

    pub(crate) fn config(setting: Setting, reason: impl Into<String>) -> Self {
        Error::Config {
            setting,
            missing: false,
            reason: reason.into(),
        }
    }

    /// A setting that was not given, or blank.
    pub(crate) fn missing(setting: Setting, reason: impl Into<String>) -> Self {
        Error::Config {
            setting,
            missing: true,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_request(reason: impl Into<String>) -> Self {
        Error::InvalidRequest {
            reason: reason.into(),
        }
    }

    /// The HTTP status of the response that caused this error, if there was
    /// one, whether the spec documents it or not; for a composite's failure,
    /// the status of the call that failed.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. }
            | Error::UnexpectedStatus { status, .. }
            | Error::Unsupported { status, .. } => Some(*status),
            Error::Decode { status, .. } => *status,
            Error::WrongUrl { .. } | Error::NoMockMatched { .. } => Some(StatusCode::NOT_FOUND),
            Error::Rotation(failure) => failure.source.as_ref().and_then(Error::status),
            _ => None,
        }
    }

    /// What kind of failure this is, the same for a status the spec
    /// documents (an [`Error::Api`]) and one it does not
    /// ([`Error::UnexpectedStatus`]): the question a caller asks before
    /// deciding what to do.
    ///
    /// ```
    /// use h2ogpte_api_keys::{Error, ErrorKind};
    ///
    /// fn answer(e: &Error) -> u16 {
    ///     match e.kind() {
    ///         ErrorKind::NotFound => 404,
    ///         ErrorKind::Conflict => 409,
    ///         ErrorKind::RateLimited | ErrorKind::Unavailable => 503,
    ///         _ => 500,
    ///     }
    /// }
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config { .. }
            | Error::InsecureUrl { .. }
            | Error::WrongUrl { .. }
            | Error::NoMockMatched { .. } => ErrorKind::Configuration,
            Error::InvalidRequest { .. } => ErrorKind::RefusedBeforeSending,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Connect { .. } => ErrorKind::Connect,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::ResponseTooLarge { .. } | Error::Paging { .. } | Error::TooManyKeys { .. } => {
                ErrorKind::ResponseInvalid
            }
            Error::Api { status, .. } | Error::UnexpectedStatus { status, .. } => {
                ErrorKind::of_status(*status)
            }
            Error::Decode { status, .. } => match status {
                Some(s) if s.is_client_error() || s.is_server_error() => ErrorKind::of_status(*s),
                _ => ErrorKind::ResponseInvalid,
            },
            Error::Rotation(failure) => match (&failure.stop, &failure.source) {
                (RotationStop::NoSuchKey, _) => ErrorKind::NotFound,
                (RotationStop::RevokedMeanwhile, _) => ErrorKind::Conflict,
                (RotationStop::WrongUser { .. }, _) => ErrorKind::InvalidArgument,
                (_, Some(source)) => source.kind(),
                (_, None) => ErrorKind::RefusedBeforeSending,
            },
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
    fn kinds_have_stable_distinct_strings() {
        let names: std::collections::BTreeSet<&str> =
            ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len(), "one string a kind");
        assert_eq!(ErrorKind::RateLimited.to_string(), "rate-limited");
        assert_eq!(ErrorKind::InvalidArgument.as_str(), "invalid-argument");
        // A replacement made for another user blames the caller's argument,
        // not the server and not the caller's caller.
        let e = Error::from(RotationFailure::new(
            "k-1",
            Some("u-bob".into()),
            RotationStop::WrongUser {
                made_for: "bob".into(),
                owner: "alice".into(),
            },
        ));
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
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
            retry_after: None,
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

    #[test]
    fn the_kind_is_the_same_whether_the_spec_documents_the_status_or_not() {
        let wait = Some(Duration::from_secs(7));
        for status in [409, 429, 503, 404, 400, 401, 500] {
            let status = StatusCode::from_u16(status).expect("a status");
            let documented = Error::Api {
                status,
                error: EndpointError {
                    code: status.as_u16().into(),
                    message: "m".into(),
                    error_type: None,
                },
                retry_after: wait,
            };
            let undocumented = Error::UnexpectedStatus {
                status,
                body: String::new(),
                location: None,
                retry_after: wait,
            };
            assert_eq!(documented.kind(), undocumented.kind(), "{status}");
            assert_eq!(documented.status(), undocumented.status());
            assert_eq!(documented.retry_after(), wait);
            assert_eq!(undocumented.retry_after(), wait);
        }
        let unavailable = Error::UnexpectedStatus {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: String::new(),
            location: None,
            retry_after: None,
        };
        assert_eq!(unavailable.kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn a_rotation_error_has_the_kind_and_status_of_its_failed_call() {
        let not_found = Error::Api {
            status: StatusCode::NOT_FOUND,
            error: EndpointError {
                code: 404,
                message: "user not found".into(),
                error_type: None,
            },
            retry_after: None,
        };
        let e = Error::from(RotationFailure {
            source: Some(not_found),
            old_expiry: OldExpiry::PutBack,
            ..RotationFailure::new("k-1", Some("carol".into()), RotationStop::Create)
        });
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
        assert!(e.source().is_some(), "the failed call is its source");
        let message = e.to_string();
        assert!(message.contains("user id carol"), "{message}");
        assert!(message.contains("nothing was created"), "{message}");
        assert!(message.contains("put back"), "{message}");
    }
}
