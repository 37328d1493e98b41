//! The server URL rules: a server root gets `/api/v1`, a trailing slash is
//! dropped (the real ingress redirects `//api/v1`), and only http(s) URLs
//! with a host are accepted.

use url::{Host, Url};

use crate::{
    Error, Setting,
    settings::{API_KEY_ENV, API_PATH, DEFAULT_SERVER_URL, SERVER_URL_ENV},
};

/// Whether the URL names this machine, where plain http is safe.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A URL as this crate shows it (errors, `Debug`, logs): without user info,
/// query or fragment, which may hold secrets.
pub(crate) fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// A request's URL for a span's `url.full`: without user info, and with the
/// value of every query parameter redacted (as OpenTelemetry's conventions
/// allow) but the paging numbers the client makes itself (`offset`,
/// `limit`), which say which page was asked for. A `filter` is the caller's
/// text, and a pasted secret must not reach a trace.
pub(crate) fn shown_url_for_span(url: &Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
    }
    if let Some(query) = url.query() {
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name @ ("offset" | "limit"), value)) => format!("{name}={value}"),
                Some((name, _)) => format!("{name}=REDACTED"),
                None => pair.to_owned(),
            })
            .collect();
        shown.set_query(Some(&redacted.join("&")));
    }
    shown.to_string()
}

/// The server URL as configured, as this crate shows it: through
/// [`shown_url`] when it parses, and otherwise with anything up to an `@`
/// in the authority and anything from a `?` or `#` replaced.
pub(crate) fn shown_server_url(text: &str) -> String {
    if let Ok(url) = Url::parse(text.trim()) {
        return shown_url(&url);
    }
    let mut text = text.trim();
    if let Some(cut) = text.find(['?', '#']) {
        text = &text[..cut];
    }
    match text.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://[redacted]@{}", &rest[at + 1..]),
                None => text.to_owned(),
            }
        }
        None => match text.rfind('@') {
            Some(at) => format!("[redacted]@{}", &text[at + 1..]),
            None => text.to_owned(),
        },
    }
}

/// Turns a server root or API base into the API base URL, `<root>/api/v1`.
pub(crate) fn api_base_url(server_url: &str, append_api_path: bool) -> Result<Url, Error> {
    let trimmed = server_url.trim();
    if trimmed.is_empty() {
        return Err(Error::missing(
            Setting::ServerUrl,
            format!(
                "the server URL is empty: set {SERVER_URL_ENV} to the server root, such as {DEFAULT_SERVER_URL}"
            ),
        ));
    }
    let shown = shown_server_url(trimmed);
    let mut url = Url::parse(trimmed).map_err(|e| {
        Error::config(Setting::ServerUrl, format!(
            "the server URL {shown:?} is not a URL ({e}): use the server root, such as {DEFAULT_SERVER_URL}"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            Setting::ServerUrl,
            format!(
                "the server URL {shown:?} holds a user name or password: remove it; the API key goes in {API_KEY_ENV} (or with_api_key), and is sent as a bearer token"
            ),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(
            Setting::ServerUrl,
            format!("the server URL {shown:?} must start with http:// or https://"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            Setting::ServerUrl,
            format!(
                "the server URL {shown:?} must not have a query or fragment: use the server root"
            ),
        ));
    }
    if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(
            Setting::ServerUrl,
            format!(
                "the server URL {shown:?} has no host: use the server root, such as {DEFAULT_SERVER_URL}"
            ),
        ));
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

#[cfg(test)]
mod tests {
    use super::api_base_url;

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
            ("https://user:hunter2@h.example", "H2OGPTE_API_KEY"),
            ("https://sk-secret@h.example", "user name or password"),
            ("https://u:hunter2@h.example/?token=sk-secret", "user name"),
            ("https://u:hunter2@/x", "not a URL"),
            ("https://h.example/?token=sk-secret", "query or fragment"),
        ] {
            let err = api_base_url(input, true).expect_err(input).to_string();
            assert!(err.contains(needle), "{input:?} gave {err:?}");
            for secret in ["hunter2", "sk-secret"] {
                assert!(!err.contains(secret), "{input:?} shows {secret}: {err:?}");
            }
        }
    }
}
