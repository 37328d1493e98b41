//! `ClientBuilder`: the client's configuration (server, API key, timeouts,
//! retries, limits, transport), from code or from the `H2OGPTE_SERVER_URL`
//! and `H2OGPTE_API_KEY` environment variables, checked once in `build`.

use std::{fmt, time::Duration};

use url::Url;

use crate::{
    Client, Error, RetryPolicy, Setting,
    hooks::Hooks,
    raw,
    request_hook::{RequestHook, RequestInfo},
    secret::Secret,
    server_url::{api_base_url, is_loopback, shown_server_url},
    settings::{
        API_KEY_ENV, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_STREAM_KEYS, DEFAULT_PREFETCH,
        SERVER_URL_ENV,
    },
    transport::Transport,
};

/// The setting an environment variable configures.
fn setting_of(name: &str) -> Setting {
    if name == API_KEY_ENV {
        Setting::ApiKey
    } else {
        Setting::ServerUrl
    }
}

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
    server_url: Option<String>,
    base_url_verbatim: bool,
    api_key: Option<Secret>,
    user_agent: String,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: usize,
    prefetch: usize,
    max_stream_keys: u64,
    allow_insecure_http: bool,
    transport: Transport,
    request_hook: Option<RequestHook>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "server_url",
                &self.server_url.as_deref().map(shown_server_url),
            )
            .field("base_url_verbatim", &self.base_url_verbatim)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("prefetch", &self.prefetch)
            .field("max_stream_keys", &self.max_stream_keys)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("root_certificates", &self.transport.root_certificates.len())
            .field(
                "identity",
                &self.transport.identity.as_ref().map(|_| "[redacted]"),
            )
            .field("proxy", &self.transport.proxy.is_some())
            .field("http_client", &self.transport.http_client.is_some())
            .field("request_hook", &self.request_hook.is_some())
            .finish()
    }
}

impl ClientBuilder {
    /// A builder with no server and no API key yet: [`build`](Self::build)
    /// refuses to guess a server, so an administrator's key never goes to
    /// one nobody named. Set one with [`with_server_url`](Self::with_server_url)
    /// (the hosted h2oGPTe on purpose:
    /// `with_server_url(`[`DEFAULT_SERVER_URL`](crate::DEFAULT_SERVER_URL)`)`).
    pub fn new() -> Self {
        Self {
            server_url: None,
            base_url_verbatim: false,
            api_key: None,
            user_agent: concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            prefetch: DEFAULT_PREFETCH,
            max_stream_keys: DEFAULT_MAX_STREAM_KEYS,
            allow_insecure_http: false,
            transport: Transport::default(),
            request_hook: None,
        }
    }

    /// A builder from the environment: `H2OGPTE_SERVER_URL` (the server root)
    /// and `H2OGPTE_API_KEY`. A variable that is set but not valid Unicode is
    /// an error; a missing server URL or API key is reported by
    /// [`build`](Self::build), which never falls back to the hosted service.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name))
    }

    fn from_vars(var: impl Fn(&str) -> Result<String, std::env::VarError>) -> Result<Self, Error> {
        let read = |name: &str| match var(name) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::config(
                setting_of(name),
                format!("{name} is not valid Unicode: set it to plain text"),
            )),
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
        self.server_url = Some(url.into());
        self.base_url_verbatim = false;
        self
    }

    /// The API base URL as is, without `/api/v1` appended: for a gateway that
    /// mounts the API elsewhere, or a mock server that serves it at its root.
    /// A trailing slash is still ignored.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = Some(url.into());
        self.base_url_verbatim = true;
        self
    }

    /// An administrator's API key, sent as `Authorization: Bearer <key>`.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(key));
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

    /// How the client's methods retry; [`RetryPolicy::none`] turns retries off.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The most bytes read of any one response body, success or error
    /// (default [`DEFAULT_MAX_RESPONSE_BYTES`], 32 MiB). A larger body fails
    /// the call with [`Error::ResponseTooLarge`] once the limit is reached, so
    /// memory stays near it whatever the server sends; a body that drips in
    /// slowly is bounded by [`with_timeout`](Self::with_timeout).
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit.max(1);
        self
    }

    /// How many pages [`Client::stream_all_api_keys`] requests ahead at once
    /// (default 4): against a server far away, paging costs about one round
    /// trip per `pages` pages instead of one per page. 1 fetches one after
    /// the other; at most [`MAX_PREFETCH`](crate::MAX_PREFETCH) (a value
    /// outside is brought to the nearer end). A query can override it with
    /// `ListQuery::with_prefetch`.
    pub fn with_prefetch(mut self, pages: usize) -> Self {
        self.prefetch = pages.clamp(1, crate::MAX_PREFETCH);
        self
    }

    /// The most keys [`Client::stream_all_api_keys`] yields before it ends
    /// with [`Error::TooManyKeys`] (default [`DEFAULT_MAX_STREAM_KEYS`]): a
    /// server that always has another full page cannot keep a walk going
    /// forever.
    pub fn with_max_stream_keys(mut self, keys: u64) -> Self {
        self.max_stream_keys = keys.max(1);
        self
    }

    /// Trust this root certificate too, for a server with a private CA.
    pub fn with_root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.transport.root_certificates.push(certificate);
        self
    }

    /// Present this client certificate and key (mutual TLS).
    pub fn with_identity(mut self, identity: reqwest::Identity) -> Self {
        self.transport.identity = Some(identity);
        self
    }

    /// Send requests through this proxy. For a plain-`http://` server (even
    /// on loopback) this needs [`with_allow_insecure_http`](Self::with_allow_insecure_http),
    /// since the proxy would see the API key in clear. Without it, proxies
    /// from the environment apply to remote servers only: a loopback server
    /// is always reached directly.
    pub fn with_proxy(mut self, proxy: reqwest::Proxy) -> Self {
        self.transport.proxy = Some(proxy);
        self
    }

    /// Most idle connections kept per host (reqwest's default is unbounded).
    pub fn with_pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.transport.pool_max_idle_per_host = Some(max);
        self
    }

    /// How long an idle connection is kept (reqwest's default is 90 s).
    pub fn with_pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.transport.pool_idle_timeout = Some(timeout);
        self
    }

    /// Use this HTTP client as it is: its TLS, proxy (including proxies
    /// from the environment, which reqwest reads by default), pool and timeouts apply,
    /// and this builder's transport options must be left unset. Call
    /// [`install_crypto_provider`](crate::install_crypto_provider) before building it. Turn off its
    /// redirects (`redirect::Policy::none()`) so a misconfigured URL shows up
    /// as an error rather than a silent resend.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.transport.http_client = Some(client);
        self
    }

    /// Allow sending the API key over plain `http://` to a host that is not
    /// loopback. Off by default: only do this on a network you trust.
    pub fn with_allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Run `hook` on every attempt of every call, after the client's own
    /// rules (bearer, per-call options, wire rules), to add headers of your
    /// own: a `traceparent`, or an OAuth token your code refreshes for the
    /// ingress in front of h2oGPTe. The hook is told the operation and the
    /// attempt ([`RequestInfo`](crate::RequestInfo)), and runs again on each
    /// retry.
    ///
    /// It may not add, replace or remove `Authorization` (the API key's
    /// bearer) or a header that frames or routes the request (`Host`,
    /// `Content-Length`, …): such an attempt is refused before anything is
    /// sent, with [`Error::InvalidRequest`] naming the header.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), h2ogpte_api_keys::Error> {
    /// use h2ogpte_api_keys::{Client, reqwest::header::HeaderValue};
    ///
    /// let client = Client::builder()
    ///     .with_server_url("https://h2ogpte.example.com")
    ///     .with_api_key("sk-admin-key")
    ///     .with_request_hook(|info, headers| {
    ///         let trace = format!("00-{:032x}-{:016x}-01", 42, info.attempt());
    ///         if let Ok(value) = HeaderValue::try_from(trace) {
    ///             headers.insert("traceparent", value);
    ///         }
    ///     })
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn with_request_hook(
        mut self,
        hook: impl Fn(&RequestInfo<'_>, &mut reqwest::header::HeaderMap) + Send + Sync + 'static,
    ) -> Self {
        self.request_hook = Some(RequestHook::new(hook));
        self
    }

    /// The API base URL this builder would use: the server root with `/api/v1`.
    pub fn base_url(&self) -> Result<Url, Error> {
        let url = self.server_url.as_deref().ok_or_else(|| {
            Error::missing(Setting::ServerUrl, format!(
                "no server URL: set {SERVER_URL_ENV} to your h2oGPTe server's root, or call with_server_url; for the hosted h2oGPTe, call with_server_url(DEFAULT_SERVER_URL) on purpose"
            ))
        })?;
        api_base_url(url, !self.base_url_verbatim)
    }

    /// Checks the configuration and makes the client.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = self.base_url()?;
        let loopback = is_loopback(&base_url);
        // The loopback exemption is about the route: a proxy in between
        // would see the bearer in clear, so an explicit one needs the opt-in.
        let proxied = self.transport.proxy.is_some();
        if base_url.scheme() == "http" && !self.allow_insecure_http && (!loopback || proxied) {
            let host = base_url.host_str().unwrap_or_default();
            return Err(Error::InsecureUrl {
                host: if proxied {
                    format!("{host} through a proxy")
                } else {
                    host.to_owned()
                },
            });
        }
        let api_key = self
            .api_key
            .as_ref()
            .filter(|key| !key.expose().trim().is_empty())
            .ok_or_else(|| {
                Error::missing(
                    Setting::ApiKey,
                    format!("no API key: set {API_KEY_ENV} or call with_api_key"),
                )
            })?;
        let hooks = Hooks::with_api_key(api_key.expose())?
            .with_max_response_bytes(self.max_response_bytes)
            .with_request_hook(self.request_hook.clone())
            .with_base_path(base_url.path());
        let http = match self.transport.http_client.clone() {
            Some(_) if self.transport.is_customised() => {
                return Err(Error::config(
                    Setting::HttpClient,
                    "with_http_client takes the client as it is: set TLS, proxy and pool options on it, not on this builder",
                ));
            }
            Some(client) => client,
            None => self.transport.build(
                &self.user_agent,
                self.connect_timeout,
                self.timeout,
                loopback,
            )?,
        };
        let raw =
            raw::Client::new_with_client(base_url.as_str().trim_end_matches('/'), http, hooks);
        Ok(Client::from_parts(
            raw,
            base_url,
            self.retry,
            self.max_response_bytes,
            crate::paging::StreamLimits {
                prefetch: self.prefetch,
                max_keys: self.max_stream_keys,
            },
            api_key.expose(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::env::VarError;

    use super::{API_KEY_ENV, ClientBuilder, SERVER_URL_ENV};

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
    fn no_server_url_is_an_error_that_names_the_variable() {
        let err = ClientBuilder::from_vars(vars(&[(API_KEY_ENV, "sk-admin")]))
            .expect("no URL is fine until build")
            .build()
            .expect_err("no server");
        let text = err.to_string();
        assert!(text.contains("H2OGPTE_SERVER_URL"), "{text}");
        assert!(
            text.contains("with_server_url(DEFAULT_SERVER_URL)"),
            "{text}"
        );
        let hosted = ClientBuilder::new()
            .with_server_url(crate::DEFAULT_SERVER_URL)
            .with_api_key("sk-admin")
            .build()
            .expect("the hosted service, on purpose");
        assert_eq!(hosted.base_url().host_str(), Some("h2ogpte.genai.h2o.ai"));
    }

    #[test]
    fn missing_key_says_what_to_set() {
        let err = ClientBuilder::from_vars(vars(&[(SERVER_URL_ENV, "http://127.0.0.1:9")]))
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
    fn plain_http_to_a_remote_host_needs_opting_in() {
        let build = |url: &str, allow: bool| {
            ClientBuilder::new()
                .with_server_url(url)
                .with_api_key("sk-x")
                .with_allow_insecure_http(allow)
                .build()
        };
        let err = build("http://h2ogpte.example.com", false).expect_err("refused");
        assert!(
            err.to_string().contains("with_allow_insecure_http(true)"),
            "{err}"
        );
        assert!(build("http://h2ogpte.example.com", true).is_ok());
        let proxied = |allow: bool| {
            ClientBuilder::new()
                .with_server_url("http://127.0.0.1:9")
                .with_api_key("sk-x")
                .with_proxy(reqwest::Proxy::all("http://127.0.0.1:3128").expect("proxy"))
                .with_allow_insecure_http(allow)
                .build()
        };
        let err = proxied(false).expect_err("a proxy sees plain http");
        assert!(err.to_string().contains("through a proxy"), "{err}");
        assert!(proxied(true).is_ok());
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:9",
            "https://h.example",
        ] {
            assert!(build(local, false).is_ok(), "{local}");
        }
    }

    #[test]
    fn credentials_in_the_server_url_are_refused_and_never_shown() {
        let builder = ClientBuilder::new()
            .with_server_url("https://admin:hunter2@h.example/?token=sk-q")
            .with_api_key("sk-x");
        let debug = format!("{builder:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("sk-q"),
            "{debug}"
        );
        let err = builder.build().expect_err("user info");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("H2OGPTE_API_KEY"), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("sk-q"),
            "{shown}"
        );
    }

    #[test]
    fn a_supplied_http_client_excludes_transport_options() {
        crate::install_crypto_provider();
        let err = ClientBuilder::new()
            .with_server_url("https://h.example")
            .with_api_key("sk-x")
            .with_http_client(reqwest::Client::new())
            .with_pool_max_idle_per_host(1)
            .build()
            .expect_err("conflict");
        assert!(err.to_string().contains("with_http_client"), "{err}");
    }

    #[test]
    fn key_with_newline_is_a_config_error() {
        let err = ClientBuilder::new()
            .with_server_url("https://h.example")
            .with_api_key("sk-abc\n")
            .build()
            .expect_err("newline in key");
        assert!(err.to_string().contains("stray newline"), "{err}");
        assert!(!err.to_string().contains("sk-abc"), "{err}");
    }
}
