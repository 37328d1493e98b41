//! CSV output: a header row of the API's field names, every cell quoted
//! (RFC 4180, by the `csv` crate), and a `'` before anything a spreadsheet
//! would run as a formula, at a cell's start or after a character an import
//! could split it on, as OWASP advises against CSV injection
//! (`benches/csv_formulas.sh` checks it with LibreOffice); on a terminal,
//! cells escaped as table cells are.

use std::{
    io::{self, IsTerminal},
    sync::LazyLock,
};

use h2ogpte_api_keys::types::ApiKeyInfo;
use serde::Serialize;
use serde_json::Value;

use crate::terminal::escape;

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

/// A cell a spreadsheet shows as text, as OWASP advises against CSV
/// injection: a `'` goes before any start of a formula.
///
/// A spreadsheet skips what it does not show before a formula, so what
/// counts is the first character past any whitespace (a space, NBSP, a line
/// break), control or invisible format character (ZWSP, a BOM); it starts a
/// formula or a DDE call when it is `=`, `+`, `-`, `@`, `|` or `%`, or their
/// full-width forms. That is checked at the cell's start (where a tab or
/// carriage return is defused too, as OWASP lists them), and after every
/// character an import could split the cell on (`,`, `;`, `|`, a tab, a
/// line break): a spreadsheet that reads the file with another separator,
/// as a `;` locale does, ignores this file's quotes and starts a new cell
/// there.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    let leading = starts_formula(cell) || cell.starts_with(['\t', '\r']);
    // After a split character, unless a line break or tab follows it (the
    // `'` then goes after that one).
    let defused_after = |i: usize, c: char| {
        let rest = &cell[i + c.len_utf8()..];
        is_split(c) && !rest.starts_with(['\t', '\r', '\n']) && starts_formula(rest)
    };
    let inner = cell.char_indices().any(|(i, c)| defused_after(i, c));
    if !leading && !inner {
        return cell.into();
    }
    let mut out = String::with_capacity(cell.len() + 2);
    if leading {
        out.push('\'');
    }
    for (i, c) in cell.char_indices() {
        out.push(c);
        if defused_after(i, c) {
            out.push('\'');
        }
    }
    out.into()
}

/// A character an import may split a cell on.
fn is_split(c: char) -> bool {
    matches!(c, ',' | ';' | '|' | '\t' | '\r' | '\n')
}

/// Whether `text`'s first character that shows starts a formula.
fn starts_formula(text: &str) -> bool {
    let first = text
        .chars()
        .find(|c| !(c.is_whitespace() || c.is_control() || is_invisible(*c)));
    matches!(
        first,
        Some('=' | '+' | '-' | '@' | '|' | '%' | '＝' | '＋' | '－' | '＠' | '｜' | '％')
    )
}

/// Characters that show as nothing: zero-width spaces and joiners, word
/// joiners, the BOM, the soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}'
    )
}

/// How cells reach the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cells {
    /// Exact, for a file or a pipe.
    Exact,
    /// Escaped as table cells are ([`escape`]), for a terminal, which would
    /// run control sequences in them.
    Escaped,
}

impl Cells {
    /// Escaped when standard output is a terminal, exact otherwise.
    pub fn for_stdout() -> Self {
        if io::stdout().is_terminal() {
            Cells::Escaped
        } else {
            Cells::Exact
        }
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
    cells: Cells,
    /// The header row is still to be written: with the first row, or by
    /// [`finish`](Self::finish), so a listing that fails before its first
    /// page leaves no header that looks like an empty answer.
    header_pending: bool,
}

impl<W: io::Write> CsvWriter<W> {
    /// A writer whose first row names `columns` (unless `header` is false),
    /// written with the first row or at the end.
    pub fn new(
        out: W,
        columns: &[impl AsRef<str>],
        header: bool,
        cells: Cells,
    ) -> io::Result<Self> {
        let out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(out);
        let columns: Vec<String> = columns.iter().map(|c| c.as_ref().to_owned()).collect();
        Ok(Self {
            out,
            columns,
            cells,
            header_pending: header,
        })
    }

    fn write_header(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.header_pending) {
            self.out.write_record(&self.columns).map_err(into_io)?;
        }
        Ok(())
    }

    /// Writes one item as a row.
    pub fn push(&mut self, item: &impl Serialize) -> io::Result<()> {
        self.write_header()?;
        let value = serde_json::to_value(item)?;
        let cells = self.cells;
        let row = self.columns.iter().map(|c| {
            let text = defuse(&cell(value.get(c))).into_owned();
            match cells {
                Cells::Exact => text,
                Cells::Escaped => escape(&text),
            }
        });
        self.out.write_record(row).map_err(into_io)
    }

    /// Ends a complete answer: the header, if no row wrote it, then a flush.
    pub fn finish(mut self) -> io::Result<()> {
        self.write_header()?;
        self.out.flush()
    }

    /// Ends an answer that a failure cut short: the rows so far, and no
    /// header when there was none.
    pub fn abandon(mut self) -> io::Result<()> {
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
            " =1+1",
            "\u{a0}=1+1",
            "\u{200b}=1+1",
            "\u{feff}=1+1",
            "\u{3000}=1+1",
            "＝1+1",
            "＋1+1",
            "|calc",
            "%0A=1",
        ] {
            assert_eq!(defuse(cell), format!("'{cell}"), "{cell:?}");
        }
        assert_eq!(defuse("plain = text"), "plain = text");
        assert_eq!(defuse("a, b; c"), "a, b; c");
        // Where another separator or a line break would start a new cell.
        assert_eq!(defuse("x;=1+1"), "x;'=1+1");
        assert_eq!(defuse("x, =1+1"), "x,' =1+1");
        assert_eq!(defuse("x|=1+1"), "x|'=1+1");
        assert_eq!(defuse("ab\n=1+1"), "ab\n'=1+1");
        assert_eq!(defuse("\n=1+1"), "'\n'=1+1");
        assert_eq!(defuse("x;|calc"), "x;'|calc");
        assert_eq!(defuse("\r\n=1+1"), "'\r\n'=1+1");
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
        let mut w = CsvWriter::new(&mut out, &["a", "b"], true, Cells::Exact).expect("writer");
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
            "\"a\",\"b\"\r\n\"say \"\"hi\"\", twice\nthen stop\",\"\"\r\n\"'=1+1\",\"3\"\r\n"
        );
    }

    #[test]
    fn a_terminal_sees_control_characters_escaped() {
        #[derive(Serialize)]
        struct Row {
            a: &'static str,
        }
        let hostile = "\u{1b}[2J\u{7}\u{0}\u{9b}31m\u{202e}";
        let mut exact = Vec::new();
        let mut escaped = Vec::new();
        for (out, cells) in [(&mut exact, Cells::Exact), (&mut escaped, Cells::Escaped)] {
            let mut w = CsvWriter::new(out, &["a"], false, cells).expect("writer");
            w.push(&Row { a: hostile }).expect("row");
            w.finish().expect("flush");
        }
        let exact = String::from_utf8(exact).expect("utf-8");
        assert!(exact.contains(hostile), "a file keeps the bytes: {exact:?}");
        let escaped = String::from_utf8(escaped).expect("utf-8");
        for c in ['\u{1b}', '\u{7}', '\u{0}', '\u{9b}', '\u{202e}'] {
            assert!(!escaped.contains(c), "{c:?} in {escaped:?}");
        }
        assert!(escaped.contains("\\u{1b}[2J"), "{escaped:?}");
    }
}
