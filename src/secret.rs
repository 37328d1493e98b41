//! Secrets kept out of sight: `Secret`, the type of a new key's
//! `secret_key`, readable on purpose but never shown by `Debug` and wiped
//! from memory when dropped; and the redaction of any secret from the body
//! snippets and decoder messages that errors and logs show.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::settings::BODY_SNIPPET_LIMIT;

/// A secret string, such as the `secret_key` of a newly created API key.
///
/// Read it with [`Secret::expose`]; `{:?}` prints `Secret("[redacted]")`, so
/// logging a whole create result does not leak it. It serialises as the plain
/// string, as on the wire.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret itself. Everything that prints it is on purpose.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

/// The hint the server keeps of a key's secret: its last four characters.
pub(crate) fn hint_of(secret: &str) -> String {
    let skip = secret.chars().count().saturating_sub(4);
    secret.chars().skip(skip).collect()
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Secret {
    fn inline_schema() -> bool {
        // A plain string on the wire: show it inline, as the spec does.
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "password" })
    }
}

/// The first [`BODY_SNIPPET_LIMIT`] bytes of a body as text, cut at a
/// character boundary, with `…` when cut.
///
/// The value of any `secret_key` in it is replaced by `[redacted]`: a body
/// that was not what the API documents may still carry a new key's secret.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let text = redact_secret_values(&String::from_utf8_lossy(
        &bytes[..bytes.len().min(BODY_SNIPPET_LIMIT * 2)],
    ));
    if text.len() <= BODY_SNIPPET_LIMIT {
        return text;
    }
    let mut end = BODY_SNIPPET_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Replaces the value after each `secret_key` (quoted or bare, whole or cut
/// off by the end of the text) with `[redacted]`.
fn redact_secret_values(text: &str) -> String {
    const FIELD: &str = "secret_key";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(FIELD) {
        let (before, after) = rest.split_at(at + FIELD.len());
        out.push_str(before);
        // Up to the value: a closing quote, blanks, the colon, blanks.
        let value_at = after
            .find(|c: char| !(c == '"' || c == ':' || c.is_whitespace()))
            .unwrap_or(after.len());
        let (lead, value) = after.split_at(value_at);
        if !lead.contains(':') {
            rest = after;
            continue;
        }
        out.push_str(lead);
        let value_len = if lead.ends_with('"') {
            // A JSON string: up to the first quote that is not escaped.
            let bytes = value.as_bytes();
            let mut i = 0;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i.min(bytes.len())
        } else {
            value
                .find(|c: char| matches!(c, ',' | '}' | ']') || c.is_whitespace())
                .unwrap_or(value.len())
        };
        out.push_str("[redacted]");
        rest = value.get(value_len..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The decoder's message with every quoted value replaced, for a body that
/// may hold a secret (`invalid type: string "sk-…"` would show it).
pub(crate) fn redacted_decode_error(e: &serde_json::Error) -> serde_json::Error {
    let message = e.to_string();
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                out.push_str("\"[redacted]");
                quoted = true;
            }
            ('"', true) => {
                out.push('"');
                quoted = false;
            }
            (c, false) => out.push(c),
            (_, true) => {}
        }
    }
    <serde_json::Error as serde::de::Error>::custom(out)
}

#[cfg(test)]
mod tests {
    use super::{BODY_SNIPPET_LIMIT, Secret, snippet};

    #[test]
    fn debug_is_redacted_and_json_is_plain() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(\"[redacted]\")");
        assert_eq!(s.expose(), "sk-very-secret");
        let json = serde_json::to_string(&s).expect("serialises");
        assert_eq!(json, "\"sk-very-secret\"");
        let back: Secret = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, s);
    }

    #[test]
    fn snippet_is_bounded_and_cut_at_a_char_boundary() {
        let long = "é".repeat(1000);
        let s = snippet(long.as_bytes());
        assert!(s.len() <= BODY_SNIPPET_LIMIT + "…".len(), "{}", s.len());
        assert!(s.ends_with('…'));
        assert_eq!(snippet(b"short"), "short");
    }

    #[test]
    fn snippets_redact_secret_values_in_any_shape() {
        for (body, kept) in [
            (
                r#"{"secret_key":"sk-1","x":1}"#,
                r#"{"secret_key":"[redacted]","x":1}"#,
            ),
            (
                r#"{"secret_key" : "sk-\"2"}"#,
                r#"{"secret_key" : "[redacted]"}"#,
            ),
            (
                r#"{"secret_key":sk-3,"x":1}"#,
                r#"{"secret_key":[redacted],"x":1}"#,
            ),
            (
                r#"{"secret_key":"sk-cut-off"#,
                r#"{"secret_key":"[redacted]"#,
            ),
            (r#"no secret_key here"#, r#"no secret_key here"#),
        ] {
            assert_eq!(snippet(body.as_bytes()), kept, "{body}");
        }
    }
}
