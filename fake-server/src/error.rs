//! The one error type of the fake server: every failure becomes an
//! `EndpointError` JSON body whose `code` is the HTTP status.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// A failed request: the status and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status of the response.
    pub status: StatusCode,
    /// Human-readable message, sent as `message`.
    pub message: String,
}

/// The wire form of an error, as the spec's `EndpointError`.
#[derive(Serialize)]
struct EndpointError<'a> {
    code: u16,
    message: &'a str,
}

/// Most characters of a message; a longer one is cut (a backstop: every
/// message that echoes input quotes it with [`quote`] already).
pub const MAX_MESSAGE_CHARS: usize = 1024;

/// Most characters of a caller's input echoed in a message.
const MAX_QUOTED_CHARS: usize = 64;

/// At most a bounded prefix of `text`, control characters and quotes
/// escaped, with a note of how much was left out: for echoing a caller's
/// input back in a message.
pub fn quote(text: &str) -> String {
    let prefix: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    let rest = text.chars().count() - prefix.chars().count();
    let escaped = prefix.escape_debug();
    if rest == 0 {
        escaped.to_string()
    } else {
        format!("{escaped}… ({rest} more characters)")
    }
}

impl ApiError {
    /// An error with this status and message (cut at 1024 characters).
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
            message.truncate(cut);
            message.push('…');
        }
        Self { status, message }
    }

    /// 400: the request is malformed or a value is out of range.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no valid administrator key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404: the key, user, collection or route does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the key's state does not allow the change.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = EndpointError {
            code: self.status.as_u16(),
            message: &self.message,
        };
        (self.status, Json(body)).into_response()
    }
}
