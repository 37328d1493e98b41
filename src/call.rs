//! One front-door call from start to end: the attempt loop with its
//! retries, the report the hooks fill in for each attempt, and the one place
//! where a failed attempt becomes the crate's [`Error`].
//!
//! The loop takes a closure that gets its own copy of the generated client
//! and returns a `Send` future. No borrow of the loop's locals goes into the
//! future, so the loop's own future is `Send` whatever the operation; a
//! higher-ranked async closure (`AsyncFnMut(&raw::Client)`) cannot promise
//! that on stable Rust, and made no future of the client `Send`.

use std::{
    future::Future,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
};

use progenitor_client::ClientInfo;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::{
    Error, RetryPolicy, raw,
    response::{Reading, Seen},
    retry::{Repeatable, retry_after},
    types::EndpointError,
};

/// What the attempt loop and the error need to know of an operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    /// The operationId, for [`Error::Unsupported`].
    operation: &'static str,
    repeatable: Repeatable,
    /// Its success body holds a new secret, which no error may quote.
    secret_in_response: bool,
    /// The h2oGPTe release that added the operation: a server before it
    /// answers 404 or 405 without an API error ([`Error::Unsupported`]).
    added_in: Option<&'static str>,
}

impl Call {
    /// Create: never re-sent once it may have reached the server.
    pub(crate) const fn create(operation: &'static str) -> Self {
        Self {
            operation,
            repeatable: Repeatable::OnlyIfUnsent,
            secret_in_response: true,
            added_in: None,
        }
    }

    /// Everything else: sending it twice has the effect of sending it once.
    pub(crate) const fn idempotent(operation: &'static str) -> Self {
        Self {
            operation,
            repeatable: Repeatable::Yes,
            secret_in_response: false,
            added_in: None,
        }
    }

    /// An operation that servers before `release` lack.
    pub(crate) const fn added_in(mut self, release: &'static str) -> Self {
        self.added_in = Some(release);
        self
    }
}

/// A call that failed for good.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    /// An earlier attempt may have reached the server and done the job (see
    /// [`Error::may_have_been_applied`]).
    maybe_applied: bool,
}

impl Failure {
    /// For operations whose repeat answers an error once the first attempt
    /// worked (deactivate: 409, delete: 404): success, when an earlier
    /// attempt may have done it.
    pub(crate) fn done_earlier(self, status: StatusCode) -> Result<(), Error> {
        match self.error {
            Error::Api { status: s, .. } if self.maybe_applied && s == status => {
                tracing::debug!(%status, "an earlier attempt already did it");
                Ok(())
            }
            error => Err(error),
        }
    }
}

/// One call, shared with the hooks of the generated client that sends it:
/// the attempt number goes in (for the span), what the last response showed
/// comes out (the generated error may not keep its status or headers).
#[derive(Debug, Default)]
pub(crate) struct CallReport {
    attempt: AtomicU32,
    seen: Mutex<Option<Seen>>,
}

impl CallReport {
    /// The attempt being sent, from 1.
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt.load(Ordering::Relaxed)
    }

    /// Starts attempt `attempt`: no response yet.
    fn begin(&self, attempt: u32) {
        self.attempt.store(attempt, Ordering::Relaxed);
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Records what `response` shows before the generated code reads it.
    pub(crate) fn saw(&self, response: &Response) {
        let status = response.status();
        let seen = Seen {
            status,
            not_found_url: (status == StatusCode::NOT_FOUND)
                .then(|| crate::server_url::shown_url(response.url())),
            retry_after: retry_after(response.headers()),
        };
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(seen);
    }

    fn seen(&self) -> Option<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The generated client's answer to one attempt.
pub(crate) type Attempt<T> = Result<raw::ResponseValue<T>, raw::Error<EndpointError>>;

/// Sends `call` with retries. `send` gets, for each attempt, a copy of the
/// generated client whose hooks report to this call, and returns the
/// attempt's future; the copy costs a few reference counts, no connection.
pub(crate) async fn run<T, F, Fut>(
    raw: &raw::Client,
    retry: &RetryPolicy,
    max_response_bytes: usize,
    call: Call,
    mut send: F,
) -> Result<T, Failure>
where
    T: DeserializeOwned,
    F: FnMut(raw::Client) -> Fut,
    Fut: Future<Output = Attempt<T>> + Send,
{
    let report = Arc::new(CallReport::default());
    let reporting = raw::Client::new_with_client(
        raw.baseurl(),
        raw.client().clone(),
        raw.inner().reporting_to(report.clone()),
    );
    let reading = Reading {
        max_response_bytes,
        holds_secret: call.secret_in_response,
    };
    // Made at the first retry: most calls never need it.
    let mut backoff = None;
    let mut attempt = 1;
    let mut maybe_applied = false;
    loop {
        report.begin(attempt);
        let err = match send(reporting.clone()).await {
            Ok(value) => return Ok(value.into_inner()),
            Err(e) => failed::<T>(&call, e, report.seen(), &reading).await,
        };
        let backoff = backoff.get_or_insert_with(|| retry.backoff());
        match retry.next_delay(call.repeatable, attempt, &err, backoff) {
            Some(delay) => {
                tracing::debug!(attempt, ?delay, error = %err, "retrying");
                maybe_applied |= err.may_have_been_applied();
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            None => {
                return Err(Failure {
                    error: err,
                    maybe_applied,
                });
            }
        }
    }
}

/// What httpmock answers, with a 404, to a request no mock matches.
const NO_MOCK_MATCHED: &str = "did not match any route or mock";

/// The error of a failed attempt, built once: the generated error read with
/// what the hooks saw, then a 404 or 405 without an API error said as what
/// it most likely is (a server that lacks the operation, a mock server that
/// matched no mock, or a URL that is not the API).
async fn failed<T: DeserializeOwned>(
    call: &Call,
    err: raw::Error<EndpointError>,
    seen: Option<Seen>,
    reading: &Reading,
) -> Error {
    let not_found_url = seen.as_ref().and_then(|s| s.not_found_url.clone());
    let error = Error::from_raw::<T>(err, seen, reading).await;
    let Some(status) = error.status_without_api_error() else {
        return error;
    };
    match (call.added_in, status.as_u16(), not_found_url) {
        (Some(since), 404 | 405, _) => Error::Unsupported {
            operation: call.operation,
            since,
            status,
        },
        (None, 404, Some(url)) => {
            let body = error.into_body_snippet();
            if body.contains(NO_MOCK_MATCHED) {
                Error::NoMockMatched { url }
            } else {
                Error::WrongUrl { url, body }
            }
        }
        _ => error,
    }
}
