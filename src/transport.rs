//! The HTTP client under the API client: TLS (rustls with *ring* by
//! default, or the platform's with `native-tls`), extra roots, a client
//! identity, proxy and pool, built here unless the caller supplies one.

use std::time::Duration;

use crate::Error;

/// How the HTTP client is made: by this builder with these options, or
/// supplied whole by the caller.
#[derive(Clone, Default)]
pub(crate) struct Transport {
    pub(crate) root_certificates: Vec<reqwest::Certificate>,
    pub(crate) identity: Option<reqwest::Identity>,
    pub(crate) proxy: Option<reqwest::Proxy>,
    pub(crate) pool_max_idle_per_host: Option<usize>,
    pub(crate) pool_idle_timeout: Option<Duration>,
    pub(crate) http_client: Option<reqwest::Client>,
}

impl Transport {
    /// Whether any option for building the HTTP client here was set.
    pub(crate) fn is_customised(&self) -> bool {
        !self.root_certificates.is_empty()
            || self.identity.is_some()
            || self.proxy.is_some()
            || self.pool_max_idle_per_host.is_some()
            || self.pool_idle_timeout.is_some()
    }

    /// Builds the HTTP client with these options. Redirects are never
    /// followed. With `loopback` (the server is on this machine) no proxy
    /// from the environment (`HTTP_PROXY`, `ALL_PROXY`, …) is used: a
    /// plain-http request would hand the bearer to that proxy in clear.
    pub(crate) fn build(
        &self,
        user_agent: &str,
        connect_timeout: Duration,
        timeout: Duration,
        loopback: bool,
    ) -> Result<reqwest::Client, Error> {
        #[cfg(feature = "rustls")]
        install_crypto_provider();
        let t = self;
        let mut b = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            // The real ingress answers `//api/v1` with a 301; following redirects
            // would hide such a misconfiguration and could resend a create.
            .redirect(reqwest::redirect::Policy::none());
        #[cfg(feature = "native-tls")]
        {
            b = b.tls_backend_native();
        }
        if loopback {
            // Clears the environment's proxies; an explicit one is added below.
            b = b.no_proxy();
        }
        for cert in &t.root_certificates {
            b = b.add_root_certificate(cert.clone());
        }
        if let Some(identity) = &t.identity {
            b = b.identity(identity.clone());
        }
        if let Some(proxy) = &t.proxy {
            b = b.proxy(proxy.clone());
        }
        if let Some(max) = t.pool_max_idle_per_host {
            b = b.pool_max_idle_per_host(max);
        }
        if let Some(timeout) = t.pool_idle_timeout {
            b = b.pool_idle_timeout(timeout);
        }
        b.build().map_err(|e| {
            Error::config(
                crate::Setting::HttpClient,
                format!("cannot build the HTTP client: {e}"),
            )
        })
    }
}

/// Makes *ring* the process's default rustls crypto provider, unless the
/// program installed one already (feature `rustls`, on by default).
///
/// This crate builds reqwest without a bundled provider (ring builds much
/// faster than aws-lc). [`ClientBuilder::build`](crate::ClientBuilder::build) calls this itself; call it
/// before building your own `reqwest::Client` for
/// [`ClientBuilder::with_http_client`](crate::ClientBuilder::with_http_client), or reqwest will panic for want of one.
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
