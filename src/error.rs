//! The crate's one error type: what went wrong, and whether retrying could help.

use reqwest::StatusCode;

use crate::types::EndpointError;

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
}

impl Error {
    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::Config {
            reason: reason.into(),
        }
    }

    /// The HTTP status of the response that caused this error, if there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Config { .. } => None,
        }
    }

    /// The decoded error body the server sent, if it sent one.
    pub fn endpoint_error(&self) -> Option<&EndpointError> {
        match self {
            Error::Config { .. } => None,
        }
    }
}
