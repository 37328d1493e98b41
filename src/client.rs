//! The front door: a ready-to-use client that wraps the generated one.

use std::fmt;

use url::Url;

use crate::{ClientBuilder, Error, raw};

/// A configured client for the API-key administration endpoints.
///
/// Make one with [`ClientBuilder`] or [`Client::from_env`]. Every generated
/// operation is reachable through [`Client::raw`], which returns the
/// progenitor-generated client with its request builders.
#[derive(Clone)]
pub struct Client {
    raw: raw::Client,
    base_url: Url,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The API key lives in the HTTP client's default headers, marked
        // sensitive; showing only the base URL keeps Debug short and safe.
        f.debug_struct("Client")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn from_parts(raw: raw::Client, base_url: Url) -> Self {
        Self { raw, base_url }
    }

    /// A client configured from `H2OGPTE_SERVER_URL` and `H2OGPTE_API_KEY`.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// A builder with the defaults; same as [`ClientBuilder::new`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The API base URL requests go to, such as `https://host/api/v1`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The generated client, for direct use of its request builders.
    pub fn raw(&self) -> &raw::Client {
        &self.raw
    }
}
