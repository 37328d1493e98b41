//! Client configuration: server URL, API key, timeouts and user agent, from code
//! or from the `H2OGPTE_SERVER_URL` and `H2OGPTE_API_KEY` environment variables.

use std::{fmt, time::Duration};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{Client, Error, raw};

/// The hosted h2oGPTe service, used when no server URL is configured.
pub const DEFAULT_SERVER_URL: &str = "https://h2ogpte.genai.h2o.ai";
/// Environment variable holding the server root, such as `https://h2ogpte.example.com`.
pub const SERVER_URL_ENV: &str = "H2OGPTE_SERVER_URL";
/// Environment variable holding an administrator's API key.
pub const API_KEY_ENV: &str = "H2OGPTE_API_KEY";
/// Path of the REST API below the server root.
pub const API_PATH: &str = "/api/v1";

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a [`Client`]: start from [`ClientBuilder::new`] or
/// [`ClientBuilder::from_env`], adjust with the `with_*` methods, then
/// [`build`](ClientBuilder::build).
///
/// ```no_run
/// # fn main() -> Result<(), h2ogpte_api_keys::Error> {
/// let client = h2ogpte_api_keys::ClientBuilder::new()
///     .with_server_url("https://h2ogpte.example.com")
///     .with_api_key("sk-...")
///     .with_timeout(std::time::Duration::from_secs(20))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    server_url: String,
    base_url_verbatim: bool,
    api_key: Option<SecretString>,
    user_agent: String,
    connect_timeout: Duration,
    timeout: Duration,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("server_url", &self.server_url)
            .field("base_url_verbatim", &self.base_url_verbatim)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder for the hosted service ([`DEFAULT_SERVER_URL`]) with no API key yet.
    pub fn new() -> Self {
        Self {
            server_url: DEFAULT_SERVER_URL.to_owned(),
            base_url_verbatim: false,
            api_key: None,
            user_agent: concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A builder from the environment: `H2OGPTE_SERVER_URL` (optional, the server
    /// root) and `H2OGPTE_API_KEY`. A variable that is set but not valid Unicode is
    /// an error; a missing API key is reported by [`build`](Self::build).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name))
    }

    fn from_vars(var: impl Fn(&str) -> Result<String, std::env::VarError>) -> Result<Self, Error> {
        let read = |name: &str| match var(name) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::config(format!(
                "{name} is not valid Unicode: set it to plain text"
            ))),
        };
        let mut builder = Self::new();
        if let Some(url) = read(SERVER_URL_ENV)? {
            builder = builder.with_server_url(url);
        }
        if let Some(key) = read(API_KEY_ENV)? {
            builder = builder.with_api_key(key);
        }
        Ok(builder)
    }

    /// The server root (`https://host`) or the API base (`https://host/api/v1`);
    /// a trailing slash is ignored.
    pub fn with_server_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = url.into();
        self.base_url_verbatim = false;
        self
    }

    /// The API base URL as is, without `/api/v1` appended: for a gateway that
    /// mounts the API elsewhere, or a mock server that serves it at its root.
    /// A trailing slash is still ignored.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = url.into();
        self.base_url_verbatim = true;
        self
    }

    /// An administrator's API key, sent as `Authorization: Bearer <key>`.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// The `User-Agent` header; defaults to `h2ogpte-api-keys/<version>`.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How long to wait for a connection to be established (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one HTTP request may take from start to end (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The API base URL this builder would use: the server root with `/api/v1`.
    pub fn base_url(&self) -> Result<Url, Error> {
        api_base_url(&self.server_url, !self.base_url_verbatim)
    }

    /// Checks the configuration and makes the client.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = self.base_url()?;
        let api_key = self.api_key.ok_or_else(|| {
            Error::config(format!(
                "no API key: set {API_KEY_ENV} or call with_api_key"
            ))
        })?;
        let mut auth = HeaderValue::try_from(format!("Bearer {}", api_key.expose_secret()))
            .map_err(|_| {
                Error::config("the API key holds characters that cannot be sent in an HTTP header; check for a stray newline")
            })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);

        install_crypto_provider();
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(self.user_agent)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            // The real ingress answers `//api/v1` with a 301; following redirects
            // would hide such a misconfiguration and could resend a create.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        let raw = raw::Client::new_with_client(base_url.as_str().trim_end_matches('/'), http);
        Ok(Client::from_parts(raw, base_url))
    }
}

/// Turns a server root or API base into the API base URL, `<root>/api/v1`.
fn api_base_url(server_url: &str, append_api_path: bool) -> Result<Url, Error> {
    let trimmed = server_url.trim();
    if trimmed.is_empty() {
        return Err(Error::config(format!(
            "the server URL is empty: set {SERVER_URL_ENV} to the server root, such as {DEFAULT_SERVER_URL}"
        )));
    }
    let mut url = Url::parse(trimmed).map_err(|e| {
        Error::config(format!(
            "the server URL {trimmed:?} is not a URL ({e}): use the server root, such as {DEFAULT_SERVER_URL}"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "the server URL {trimmed:?} must start with http:// or https://"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "the server URL {trimmed:?} must not have a query or fragment: use the server root"
        )));
    }
    if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(format!(
            "the server URL {trimmed:?} has no host: use the server root, such as {DEFAULT_SERVER_URL}"
        )));
    }
    // A trailing slash would give `//api/v1`, which the real ingress redirects.
    let root = url.path().trim_end_matches('/');
    let path = if root.ends_with(API_PATH) || !append_api_path {
        root.to_owned()
    } else {
        format!("{root}{API_PATH}")
    };
    url.set_path(&path);
    Ok(url)
}

/// reqwest is built without a bundled crypto provider (ring builds much faster
/// than aws-lc); make ring the process default unless the program chose one.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use std::env::VarError;

    use super::{API_KEY_ENV, ClientBuilder, SERVER_URL_ENV, api_base_url};

    fn vars(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Result<String, VarError> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
                .ok_or(VarError::NotPresent)
        }
    }

    #[test]
    fn from_env_reads_both_variables() {
        let builder = ClientBuilder::from_vars(vars(&[
            (SERVER_URL_ENV, "http://127.0.0.1:9/"),
            (API_KEY_ENV, "sk-env-secret"),
        ]))
        .expect("valid environment");
        let url = builder.base_url().expect("valid url");
        assert_eq!(url.as_str(), "http://127.0.0.1:9/api/v1");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("sk-env-secret"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
        let client = builder.build().expect("builds");
        let debug = format!("{client:?} {:?}", client.raw());
        assert!(!debug.contains("sk-env-secret"), "{debug}");
    }

    #[test]
    fn missing_key_says_what_to_set() {
        let err = ClientBuilder::from_vars(vars(&[]))
            .expect("empty environment is fine until build")
            .build()
            .expect_err("no key");
        assert_eq!(
            err.to_string(),
            "invalid configuration: no API key: set H2OGPTE_API_KEY or call with_api_key"
        );
        let blank = ClientBuilder::from_vars(vars(&[(API_KEY_ENV, "  ")]))
            .expect("blank is unset")
            .build();
        assert!(blank.is_err());
    }

    #[test]
    fn non_unicode_variable_is_an_error() {
        let err = ClientBuilder::from_vars(|_| Err(VarError::NotUnicode("x".into())))
            .expect_err("not unicode");
        assert!(err.to_string().contains("not valid Unicode"), "{err}");
    }

    #[test]
    fn key_with_newline_is_a_config_error() {
        let err = ClientBuilder::new()
            .with_api_key("sk-abc\n")
            .build()
            .expect_err("newline in key");
        assert!(err.to_string().contains("stray newline"), "{err}");
        assert!(!err.to_string().contains("sk-abc"), "{err}");
    }

    #[test]
    fn server_root_gets_api_path_and_loses_trailing_slashes() {
        for (input, expected) in [
            (
                "https://h2ogpte.genai.h2o.ai",
                "https://h2ogpte.genai.h2o.ai/api/v1",
            ),
            (
                "https://h2ogpte.genai.h2o.ai/",
                "https://h2ogpte.genai.h2o.ai/api/v1",
            ),
            (
                "https://h2ogpte.genai.h2o.ai//",
                "https://h2ogpte.genai.h2o.ai/api/v1",
            ),
            ("https://h.example/api/v1", "https://h.example/api/v1"),
            ("https://h.example/api/v1/", "https://h.example/api/v1"),
            (
                "http://127.0.0.1:8080/prefix/",
                "http://127.0.0.1:8080/prefix/api/v1",
            ),
            ("  http://localhost:1  ", "http://localhost:1/api/v1"),
        ] {
            let got = api_base_url(input, true).map(|u| u.to_string());
            assert_eq!(got.ok().as_deref(), Some(expected), "for {input:?}");
        }
    }

    #[test]
    fn base_url_is_taken_as_is() {
        for (input, expected) in [
            ("http://127.0.0.1:9", "http://127.0.0.1:9/"),
            ("http://127.0.0.1:9/", "http://127.0.0.1:9/"),
            (
                "https://gw.example/h2ogpte/v1/",
                "https://gw.example/h2ogpte/v1",
            ),
        ] {
            let got = api_base_url(input, false).map(|u| u.to_string());
            assert_eq!(got.ok().as_deref(), Some(expected), "for {input:?}");
        }
    }

    #[test]
    fn bad_server_urls_are_clear_errors() {
        for (input, needle) in [
            ("", "empty"),
            ("h2ogpte.genai.h2o.ai", "not a URL"),
            ("ftp://h.example", "http:// or https://"),
            ("https://h.example/?a=1", "query or fragment"),
            ("mailto:admin@h.example", "http:// or https://"),
        ] {
            let err = api_base_url(input, true).expect_err(input).to_string();
            assert!(err.contains(needle), "{input:?} gave {err:?}");
        }
    }
}
