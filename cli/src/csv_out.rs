//! CSV output: a header row of the API's field names, RFC 4180 quoting by
//! the `csv` crate, and cells a spreadsheet would run as a formula (those
//! that begin with `=`, `+`, `-`, `@`, tab or carriage return) prefixed
//! with `'`, as OWASP advises against CSV injection.

use std::{io, sync::LazyLock};

use h2ogpte_api_keys::types::ApiKeyInfo;
use serde::Serialize;
use serde_json::Value;

/// The columns of a key, in the order people read them; fields of the type
/// that this list does not name (a field a new release added) follow, so
/// none is ever left out.
const KEY_ORDER: [&str; 13] = [
    "id",
    "username",
    "name",
    "hint",
    "created_at",
    "expires_at",
    "last_used_at",
    "inactivity_interval",
    "total_calls",
    "is_active",
    "is_global_key",
    "collection_id",
    "collection_name",
];

/// Every field of `ApiKeyInfo`, as the API names them.
pub static KEY_COLUMNS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let schema = schemars::schema_for!(ApiKeyInfo);
    let fields: Vec<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut columns: Vec<String> = KEY_ORDER
        .iter()
        .filter(|c| fields.iter().any(|f| f == *c))
        .map(|c| (*c).to_owned())
        .collect();
    columns.extend(
        fields
            .into_iter()
            .filter(|f| !KEY_ORDER.contains(&f.as_str())),
    );
    columns
});

/// A cell a spreadsheet shows as text: one that would start a formula gets
/// a leading `'`.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// A value as one cell: text as is, nothing as empty, the rest as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// Writes rows of serialisable items under a header of `columns`, each
/// cell taken from the item's field of that name, as they come.
pub struct CsvWriter<W: io::Write> {
    out: csv::Writer<W>,
    columns: Vec<String>,
}

impl<W: io::Write> CsvWriter<W> {
    /// A writer whose first row names `columns` (unless `header` is false).
    pub fn new(out: W, columns: &[impl AsRef<str>], header: bool) -> io::Result<Self> {
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        let columns: Vec<String> = columns.iter().map(|c| c.as_ref().to_owned()).collect();
        if header {
            out.write_record(&columns).map_err(io::Error::other)?;
        }
        Ok(Self { out, columns })
    }

    /// Writes one item as a row.
    pub fn push(&mut self, item: &impl Serialize) -> io::Result<()> {
        let value = serde_json::to_value(item)?;
        let row = self
            .columns
            .iter()
            .map(|c| defuse(&cell(value.get(c))).into_owned());
        self.out.write_record(row).map_err(into_io)
    }

    /// Flushes what was written.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The io error under a csv error, so a closed pipe stays a closed pipe.
fn into_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_arrive_as_text() {
        for cell in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(defuse(cell), format!("'{cell}"));
        }
        assert_eq!(defuse("plain = text"), "plain = text");
        assert_eq!(defuse(""), "");
    }

    #[test]
    fn every_field_of_a_key_is_a_column() {
        let schema = schemars::schema_for!(ApiKeyInfo);
        let mut fields: Vec<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let mut columns = KEY_COLUMNS.clone();
        fields.sort();
        columns.sort();
        assert!(!fields.is_empty());
        assert_eq!(columns, fields, "each field once, none left out");
        assert_eq!(KEY_COLUMNS[0], "id");
    }

    #[test]
    fn quoting_is_rfc_4180() {
        #[derive(Serialize)]
        struct Row {
            a: &'static str,
            b: Option<u32>,
        }
        let mut out = Vec::new();
        let mut w = CsvWriter::new(&mut out, &["a", "b"], true).expect("writer");
        w.push(&Row {
            a: "say \"hi\", twice\nthen stop",
            b: None,
        })
        .expect("row");
        w.push(&Row {
            a: "=1+1",
            b: Some(3),
        })
        .expect("row");
        w.finish().expect("flush");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "a,b\r\n\"say \"\"hi\"\", twice\nthen stop\",\r\n'=1+1,3\r\n"
        );
    }
}
