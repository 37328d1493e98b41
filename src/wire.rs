//! What this crate puts on the wire, as the official client does: path
//! parameters percent-encoded once with its rules, query parameters in the
//! spec's order with the same encoding, `Content-Length: 0` on a body-less
//! write, no path that leaves its operation's route, and no caller's header
//! that frames, routes or authenticates a request. The rules hold for every
//! operation, through the front door and `raw()` alike.
//!
//! Data flows one way: the generated code encodes a key id with
//! [`encode_path`] and builds the query with [`with_query`] (the build
//! points it at both), once; the request hook only checks and adds.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{
    Method, Request,
    header::{CONTENT_LENGTH, HeaderValue},
};

include!(concat!(env!("OUT_DIR"), "/wire_tables.rs"));

/// Every byte but `A-Z a-z 0-9 - . _ ~` is percent-encoded, in path
/// parameters and query values alike (a space is `%20`, never `+`).
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a caller may not set header `name` (lower-case, as `HeaderName`
/// holds it), or `None` when it may: the headers that frame a request
/// (its length, its body's encoding, the connection's fate), route it
/// (`Host`, and the method and URL overrides that proxies and frameworks
/// honour), or carry credentials, which the client sets itself. A caller's
/// value there would reframe the request, send it elsewhere or as another
/// operation, or authenticate it as someone else beside the bearer.
pub(crate) fn refused_header(name: &str) -> Option<&'static str> {
    Some(match name {
        "authorization" => {
            "the Authorization header is set from the API key: call with_api_key to act with another key"
        }
        "proxy-authorization" | "cookie" => {
            "it carries credentials, and the client authenticates with the bearer token alone"
        }
        "host" => "it routes the request: the host comes from the server URL",
        "x-http-method-override" | "x-http-method" | "x-method-override" => {
            "it overrides the request's method, which is the operation's"
        }
        "x-original-url" | "x-rewrite-url" | "x-forwarded-host" | "forwarded" => {
            "it reroutes the request: the URL comes from the server URL and the operation"
        }
        "content-length" | "transfer-encoding" | "te" | "trailer" | "expect"
        | "content-encoding" => "it frames the request's body, which the HTTP layer sets",
        "connection" | "keep-alive" | "proxy-connection" | "upgrade" | "proxy-authenticate" => {
            "it is a hop-by-hop header, which the HTTP layer sets"
        }
        _ => return None,
    })
}

/// Encodes a path parameter as the official client does, so it stays one
/// path segment whatever it holds (`/` is `%2F`, `\` `%5C`, `é` `%C3%A9`).
/// The generated client calls this for every path parameter.
pub(crate) fn encode_path(value: &str) -> String {
    utf8_percent_encode(value, ENCODED).to_string()
}

/// Refuses a request whose path does not have the shape of its operation's
/// template: a path parameter of `""`, `"."` or `".."` cannot be carried as
/// one segment (a URL parser drops or resolves it, even encoded), so the
/// request would reach another route, such as `DELETE /admin/` or the
/// create collection. Checked on the request every call sends, the front
/// door's and `raw()`'s alike, before any byte leaves.
///
/// `base_path` is the API base URL's path (`/api/v1`), as the URL was built.
pub(crate) fn check_path(
    request: &Request,
    base_path: &str,
    operation_id: &str,
) -> Result<(), String> {
    let Some((_, template)) = PATH_TEMPLATES.iter().find(|(id, _)| *id == operation_id) else {
        return Ok(());
    };
    let path = request.url().path();
    let below = path
        .strip_prefix(base_path.trim_end_matches('/'))
        .unwrap_or(path);
    // Segment by segment, without allocating: this runs on every request.
    let (mut sent, mut expected) = (below.split('/'), template.split('/'));
    let fits = loop {
        match (sent.next(), expected.next()) {
            (None, None) => break true,
            (Some(segment), Some(part)) if part.starts_with('{') && part.ends_with('}') => {
                if segment.is_empty() || segment == "." || segment == ".." {
                    break false;
                }
            }
            (Some(segment), Some(part)) if segment == part => {}
            _ => break false,
        }
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "{operation_id}: a key id of \"\", \".\" or \"..\" cannot be sent as a URL path segment; nothing was sent"
        ))
    }
}

/// `url` with the query the official client sends: the parameters that are
/// set, in the order given (the build passes the spec's), each value encoded
/// with [`ENCODED`] (a space is `%20`, never `+`).
pub(crate) fn with_query(mut url: String, pairs: &[(&str, Option<&dyn fmt::Display>)]) -> String {
    let mut separator = '?';
    for (name, value) in pairs {
        if let Some(value) = value {
            url.push(separator);
            url.push_str(name);
            url.push('=');
            url.extend(utf8_percent_encode(&value.to_string(), ENCODED));
            separator = '&';
        }
    }
    url
}

/// Applies the request-wide rules to a request the generated code built.
pub(crate) fn apply(request: &mut Request) {
    content_length_on_empty_writes(request);
}

/// A body-less POST (deactivate) would otherwise go without any length,
/// which some proxies answer with 411; the official client sends 0.
fn content_length_on_empty_writes(request: &mut Request) {
    if request.body().is_none()
        && matches!(
            *request.method(),
            Method::POST | Method::PATCH | Method::PUT
        )
    {
        request
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_encoded_like_the_official_client() {
        for (id, wire) in [
            ("0b8e4a52-3c1d", "0b8e4a52-3c1d"),
            ("a/b?c#d%e f", "a%2Fb%3Fc%23d%25e%20f"),
            ("é", "%C3%A9"),
            ("a\\b", "a%5Cb"),
            ("~._-", "~._-"),
            ("...", "..."),
        ] {
            assert_eq!(encode_path(id), wire, "{id}");
        }
    }

    #[test]
    fn the_query_keeps_the_given_order_and_encodes_like_a_path() {
        let filter = "ana & josé+x~";
        let url = with_query(
            "http://h/api".to_owned(),
            &[
                ("offset", Some(&200 as &dyn fmt::Display)),
                ("limit", None),
                ("filter", Some(&filter as &dyn fmt::Display)),
            ],
        );
        assert_eq!(
            url,
            "http://h/api?offset=200&filter=ana%20%26%20jos%C3%A9%2Bx~"
        );
        assert_eq!(with_query("u".to_owned(), &[("a", None)]), "u");
    }
}
