//! How a command fails: an exit code and one line that says, in the CLI's
//! own terms (flags and environment variables), what to do.

use std::{io, time::Duration};

use h2ogpte_api_keys::{API_KEY_ENV, Error, SERVER_URL_ENV};

use crate::{
    signals::Signal,
    terminal::{MESSAGE_LIMIT, clip},
};

pub use crate::exit::{
    EXIT_API, EXIT_FINDINGS, EXIT_NOTHING_CHECKED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE,
};

/// A failure with its exit code and a one-line message.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    /// The command's output is not whole (a write failed), whatever the
    /// code says: an `--output-file` report must not take it.
    pub incomplete: bool,
    /// The command's output is whole though the command failed afterwards
    /// (the audit's `--state` could not be written): an `--output-file`
    /// report takes it.
    pub whole: bool,
}

impl Failure {
    /// A usage or configuration error: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(EXIT_USAGE, message)
    }

    /// An API or transport error: exit code 1.
    pub fn api(message: impl Into<String>) -> Self {
        Self::new(EXIT_API, message)
    }

    /// Part of the work was done, part was not: exit code 3.
    pub fn partial(message: impl Into<String>) -> Self {
        Self::new(EXIT_PARTIAL, message)
    }

    /// An audit found keys that break the policy: exit code 4.
    pub fn findings(message: impl Into<String>) -> Self {
        Self::new(EXIT_FINDINGS, message)
    }

    /// Nothing to do (an empty list of ids): exit code 0, the message said
    /// unless `--quiet`.
    pub fn nothing_to_do(message: impl Into<String>) -> Self {
        Self::new(EXIT_OK, message)
    }

    /// An audit that checked nothing: exit code 5.
    pub fn nothing_checked(message: impl Into<String>) -> Self {
        Self::new(EXIT_NOTHING_CHECKED, message)
    }

    /// Stopped by a signal: exit code 130 (SIGINT) or 143 (SIGTERM).
    pub fn signalled(signal: Signal, message: impl Into<String>) -> Self {
        Self::new(signal.exit_code(), message)
    }

    fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            incomplete: false,
            whole: false,
        }
    }

    /// This failure, with the output marked whole.
    pub fn whole(mut self) -> Self {
        self.whole = true;
        self
    }

    /// This failure, with the output marked not whole.
    pub fn incomplete(mut self) -> Self {
        self.incomplete = true;
        self
    }

    /// A library error, described for the command line; `timeout` is the
    /// `--timeout` in force.
    pub fn from_error(e: &Error, timeout: Duration) -> Self {
        let code = match e {
            Error::Config { .. } | Error::InvalidRequest { .. } | Error::InsecureUrl { .. } => {
                EXIT_USAGE
            }
            _ => EXIT_API,
        };
        Self::new(code, describe(e, timeout))
    }
}

/// What went wrong and what to do, naming flags rather than library calls.
/// A server's message is cut at [`MESSAGE_LIMIT`] characters.
pub fn describe(e: &Error, timeout: Duration) -> String {
    match e {
        Error::Api { status, error, .. } => {
            let hint = if status.as_u16() == 401 {
                format!(
                    " (check {API_KEY_ENV} or --api-key: it must be an active key of an administrator)"
                )
            } else {
                String::new()
            };
            format!("{status}: {}{hint}", clip(&error.message, MESSAGE_LIMIT))
        }
        Error::Timeout { .. } => format!(
            "no answer within {} s: raise --timeout, or check that the server is up",
            timeout.as_secs_f64()
        ),
        Error::InsecureUrl { host } => format!(
            "refusing to send the API key over plain http to {host}: use https, or pass --allow-insecure-http (or set H2OGPTE_ALLOW_INSECURE_HTTP=1) on a trusted network"
        ),
        Error::ResponseTooLarge { limit } => format!(
            "the server sent a response larger than {} MiB, far beyond any legitimate answer: check {SERVER_URL_ENV} and any proxy in between",
            limit >> 20
        ),
        Error::WrongUrl { url, .. } => format!(
            "{url} answered 404 without an API error: check {SERVER_URL_ENV} or --server-url, which take the server root (/api/v1 is appended)"
        ),
        Error::TooManyKeys { limit } => format!(
            "stopped after {limit} keys without reaching the end of the listing: the server may be sending pages for ever; check {SERVER_URL_ENV}, or raise --max-keys if it truly holds more"
        ),
        Error::Connect { url, .. } if e.is_untrusted_certificate() => format!(
            "cannot connect to {url}: the server's certificate is not trusted: pass its CA certificate with --ca-cert FILE, or check {SERVER_URL_ENV}"
        ),
        e => clip(&e.to_string(), 2 * MESSAGE_LIMIT),
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            // The reader (`head`, say) has what it wanted: stop quietly.
            return Self::new(EXIT_OK, "");
        }
        Failure::api(format!("cannot write the output: {e}"))
    }
}
