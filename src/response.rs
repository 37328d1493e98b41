//! Reading a failed response: the generated client's error turned into the
//! crate's [`Error`], with the status and `Retry-After` the hooks saw, a
//! bounded and redacted snippet of the body, and the JSON path where
//! decoding failed. What a 404 without an API error means is decided once,
//! in `call.rs`.

use std::{error::Error as StdError, time::Duration};

use reqwest::StatusCode;

use serde::de::DeserializeOwned;

use crate::{
    Error, raw,
    retry::retry_after,
    secret::{redacted_decode_error, snippet},
    settings::BODY_SNIPPET_LIMIT,
    types::EndpointError,
};

impl Error {
    /// Turns the generated client's error into this one. `status` is the
    /// response status the hooks saw, which the generated error may not keep.
    ///
    /// `T` is the operation's success type: a body that fails to decode is
    /// decoded again with the field path tracked, to say where it failed.
    pub(crate) async fn from_raw<T: DeserializeOwned>(
        err: raw::Error<EndpointError>,
        seen: Option<Seen>,
        reading: &Reading,
    ) -> Self {
        let status = seen.as_ref().map(|s| s.status);
        match err {
            raw::Error::InvalidRequest(reason) => Error::invalid_request(reason),
            raw::Error::Custom(reason) => Error::invalid_request(reason),
            raw::Error::ErrorResponse(response) => {
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let error = response.into_inner();
                tracing::debug!(status = status.as_u16(), message = %snippet(error.message.as_bytes()), "API error");
                Error::Api {
                    status,
                    error,
                    retry_after,
                }
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
                    retry_after: seen.and_then(|s| s.retry_after),
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

/// What the hooks saw of an attempt's response.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) status: StatusCode,
    /// The URL that answered, without user info or query: kept for a 404
    /// only, to say which URL was not the API.
    pub(crate) not_found_url: Option<String>,
    /// How long the server asked to wait (`Retry-After`).
    pub(crate) retry_after: Option<Duration>,
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
