//! Printing keys and batch results as a table, JSON or NDJSON. Table cells
//! are escaped (they hold server text); JSON and NDJSON stay exact.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use comfy_table::{Table, presets::NOTHING};
use h2ogpte_api_keys::types::ApiKeyInfo;
use serde::Serialize;

use crate::{args::Output, terminal::escape};

/// A key's state for people: active, expired or inactive.
pub fn status(key: &ApiKeyInfo, now: DateTime<Utc>) -> &'static str {
    if key.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else if key.is_active {
        "active"
    } else {
        "inactive"
    }
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING);
    t
}

/// The table of keys.
pub fn keys_table(keys: &[ApiKeyInfo], now: DateTime<Utc>) -> String {
    keys_table_after(keys, now, None).to_string()
}

/// The columns of the keys table.
const KEY_COLUMNS: [&str; 10] = [
    "ID",
    "USER",
    "NAME",
    "HINT",
    "COLLECTION",
    "CREATED",
    "EXPIRES",
    "LAST USED",
    "CALLS",
    "STATUS",
];

/// The table of keys; with `widths` (those of an earlier part of the same
/// listing), without a header and with columns at least that wide, so it
/// continues that part.
fn keys_table_after(keys: &[ApiKeyInfo], now: DateTime<Utc>, widths: Option<&[u16]>) -> Table {
    let mut t = table();
    if widths.is_none() {
        t.set_header(KEY_COLUMNS);
    }
    for (i, k) in keys.iter().enumerate() {
        let mut row = [
            escape(&k.id),
            escape(&k.username),
            escape(&k.name),
            format!("…{}", escape(&k.hint)),
            k.collection_name
                .as_deref()
                .map_or_else(|| "-".to_owned(), escape),
            time(Some(k.created_at)),
            time(k.expires_at),
            time(k.last_used_at),
            k.total_calls
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            status(k, now).to_owned(),
        ];
        // A continuation's first row is padded to the earlier widths, so
        // every column is at least as wide as before and the chunks line up.
        if let (0, Some(widths)) = (i, widths) {
            for (cell, width) in row.iter_mut().zip(widths) {
                let width = usize::from(*width);
                let short = width.saturating_sub(cell.chars().count());
                cell.extend(std::iter::repeat_n(' ', short));
            }
        }
        t.add_row(row);
    }
    t
}

/// Rows of a table printed at a time: memory stays bounded by these,
/// whatever the number of keys.
const TABLE_CHUNK: usize = 1000;

/// Writes keys as they arrive, in any format, in memory that does not grow
/// with their number: JSON as an array written element by element, NDJSON
/// a line each, a table in chunks whose columns line up with the first.
pub struct KeyWriter<W: Write> {
    out: W,
    format: Output,
    now: DateTime<Utc>,
    written: u64,
    chunk: Vec<ApiKeyInfo>,
    widths: Option<Vec<u16>>,
}

impl<W: Write> KeyWriter<W> {
    pub fn new(out: W, format: Output, now: DateTime<Utc>) -> Self {
        Self {
            out,
            format,
            now,
            written: 0,
            chunk: Vec::new(),
            widths: None,
        }
    }

    /// Writes (or, for a table, queues) one key.
    pub fn push(&mut self, key: ApiKeyInfo) -> io::Result<()> {
        match self.format {
            Output::Ndjson => {
                serde_json::to_writer(&mut self.out, &key)?;
                writeln!(self.out)?;
            }
            Output::Json => {
                let text = serde_json::to_string_pretty(&key)?;
                let separator = if self.written == 0 { "[\n" } else { ",\n" };
                self.out.write_all(separator.as_bytes())?;
                for (i, line) in text.lines().enumerate() {
                    if i > 0 {
                        writeln!(self.out)?;
                    }
                    write!(self.out, "  {line}")?;
                }
            }
            Output::Table => {
                self.chunk.push(key);
                if self.chunk.len() == TABLE_CHUNK {
                    self.write_chunk()?;
                }
            }
        }
        self.written += 1;
        Ok(())
    }

    fn write_chunk(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() && self.widths.is_some() {
            return Ok(());
        }
        let table = keys_table_after(&self.chunk, self.now, self.widths.as_deref());
        writeln!(self.out, "{table}")?;
        if self.widths.is_none() {
            self.widths = Some(table.column_max_content_widths());
        }
        self.chunk.clear();
        Ok(())
    }

    /// Ends the output (the JSON array's end, the table's last chunk).
    pub fn finish(mut self) -> io::Result<()> {
        match self.format {
            Output::Json if self.written == 0 => writeln!(self.out, "[]")?,
            Output::Json => writeln!(self.out, "\n]")?,
            Output::Table => self.write_chunk()?,
            Output::Ndjson => {}
        }
        self.out.flush()
    }
}

/// Prints a list of serialisable items in the chosen format.
pub fn print_items<T: Serialize>(
    items: &[T],
    format: Output,
    table: impl FnOnce(&[T]) -> String,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Output::Table => writeln!(out, "{}", table(items))?,
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, items)?;
            writeln!(out)?;
        }
        Output::Ndjson => {
            for item in items {
                write_ndjson(&mut out, item)?;
            }
        }
    }
    out.flush()
}

/// Writes `item` as one JSON line and flushes it, so a killed run still
/// leaves a record of what was done.
pub fn write_ndjson<T: Serialize>(out: &mut impl Write, item: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, item)?;
    writeln!(out)?;
    out.flush()
}

/// One id's outcome in a batch.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Outcome {
    /// The outcome of one id's call; `describe` words an error.
    pub fn of(
        id: String,
        result: Result<(), h2ogpte_api_keys::Error>,
        describe: impl Fn(&h2ogpte_api_keys::Error) -> String,
    ) -> Self {
        Outcome {
            ok: result.is_ok(),
            error: result.err().map(|e| describe(&e)),
            id,
        }
    }
}

/// The table of batch outcomes.
pub fn outcomes_table(outcomes: &[Outcome]) -> String {
    let mut t = table();
    t.set_header(["ID", "RESULT"]);
    for o in outcomes {
        t.add_row([
            escape(&o.id),
            o.error
                .as_deref()
                .map_or_else(|| "ok".to_owned(), |e| format!("failed: {}", escape(e))),
        ]);
    }
    t.to_string()
}
