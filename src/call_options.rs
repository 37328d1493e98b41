//! `CallOptions`: per-call settings of a view of the client, as the
//! official client's `_request_timeout`, `_headers` and `_request_auth`:
//! a timeout, extra headers, and another administrator's key.

use std::{fmt, sync::Arc, time::Duration};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::Error;

/// Settings for the calls of one view of a client, made with
/// [`Client::with_options`](crate::Client::with_options): the view shares
/// the connection pool, and the retry policy, body cap and wire rules apply
/// unchanged.
///
/// ```no_run
/// # async fn demo(client: h2ogpte_api_keys::Client) -> Result<(), h2ogpte_api_keys::Error> {
/// use std::time::Duration;
/// use h2ogpte_api_keys::{CallOptions, ListQuery};
///
/// let audited = client.with_options(
///     CallOptions::new()
///         .with_timeout(Duration::from_secs(5))
///         .with_header("x-request-id", "audit-2026-12")?
///         .with_api_key("sk-another-administrator"),
/// );
/// let page = audited.list_all_api_keys(&ListQuery::new()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) headers: HeaderMap,
    /// `Authorization: Bearer <key>`, or why the key cannot be sent.
    pub(crate) authorization: Option<Result<HeaderValue, Arc<str>>>,
    /// The hint of that key ([`Client::may_be_own_key`](crate::Client::may_be_own_key)).
    pub(crate) own_hint: Option<Arc<str>>,
}

impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field(
                "api_key",
                &self.authorization.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl CallOptions {
    /// No per-call settings: the client's own.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long one HTTP request of this view may take, instead of the
    /// client's timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// An extra header on every request of this view, such as a request id.
    /// Refused: `Authorization` (use [`with_api_key`](Self::with_api_key)),
    /// the headers that frame or route a request or carry credentials
    /// (`Host`, `Content-Length`, `Content-Encoding`, `Transfer-Encoding`,
    /// `Connection`, `Upgrade`, `TE`, `Trailer`, `Expect`,
    /// `Proxy-Authorization`, `Cookie` and the other hop-by-hop headers; the
    /// method and URL overrides `X-HTTP-Method-Override`, `X-HTTP-Method`,
    /// `X-Method-Override`, `X-Original-URL`, `X-Rewrite-URL`,
    /// `X-Forwarded-Host` and `Forwarded`), and names and values HTTP cannot
    /// carry.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let header = HeaderName::try_from(name).map_err(|_| {
            Error::invalid_request(format!(
                "{name:?} is not a valid HTTP header name: use letters, digits and -"
            ))
        })?;
        if let Some(why) = crate::wire::refused_header(header.as_str()) {
            return Err(Error::invalid_request(format!(
                "header {header} cannot be set per call: {why}"
            )));
        }
        let value = HeaderValue::try_from(value).map_err(|_| {
            Error::invalid_request(format!(
                "the value of header {name} holds characters HTTP cannot carry, such as a newline"
            ))
        })?;
        self.headers.append(header, value);
        Ok(self)
    }

    /// Act with this administrator's API key instead of the client's.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.own_hint = Some(crate::secret::hint_of(&key).into());
        self.authorization = Some(
            HeaderValue::try_from(format!("Bearer {key}"))
                .map(|mut value| {
                    value.set_sensitive(true);
                    value
                })
                .map_err(|_| {
                    Arc::from(
                        "the API key of these call options holds characters that cannot be sent in an HTTP header; check for a stray newline",
                    )
                }),
        );
        self
    }

    /// Applies these options to a request the generated code built.
    pub(crate) fn apply(&self, request: &mut reqwest::Request) -> Result<(), String> {
        if let Some(authorization) = &self.authorization {
            let value = authorization.clone().map_err(|why| why.to_string())?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        for (name, value) in &self.headers {
            request.headers_mut().append(name, value.clone());
        }
        if let Some(timeout) = self.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::CallOptions;

    #[test]
    fn bad_headers_are_refused_with_a_reason() {
        let err = CallOptions::new()
            .with_header("Authorization", "Bearer x")
            .expect_err("refused");
        assert!(err.to_string().contains("with_api_key"), "{err}");
        for name in [
            "Host",
            "content-length",
            "Transfer-Encoding",
            "Connection",
            "Upgrade",
            "TE",
            "Trailer",
            "Proxy-Authorization",
            "Cookie",
            "Keep-Alive",
            "Proxy-Connection",
            "X-HTTP-Method-Override",
            "X-HTTP-Method",
            "X-Method-Override",
            "X-Original-URL",
            "X-Rewrite-URL",
            "Content-Encoding",
        ] {
            let err = CallOptions::new()
                .with_header(name, "x")
                .expect_err("framing, routing or credentials");
            assert!(err.to_string().contains("cannot be set per call"), "{err}");
        }
        assert!(
            CallOptions::new()
                .with_header("x-request-id", "r-1")
                .is_ok()
        );
        assert!(CallOptions::new().with_header("bad name", "x").is_err());
        assert!(CallOptions::new().with_header("x-ok", "a\nb").is_err());
        let debug = format!("{:?}", CallOptions::new().with_api_key("sk-secret-key"));
        assert!(!debug.contains("sk-secret"), "{debug}");
    }
}
