//! Printing keys and batch results as a table, CSV, JSON or NDJSON. Table
//! cells are escaped (they hold server text); CSV cells are defused against
//! formulas (`csv_out.rs`); JSON and NDJSON stay exact.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use comfy_table::{Table, presets::NOTHING};
use h2ogpte_api_keys::{KeyState, types::ApiKeyInfo};
use serde::Serialize;

use crate::{
    args::Output,
    batch::Outcome,
    csv_out::{self, CsvWriter},
    terminal::escape,
};

/// A key's state ([`KeyState`], the library's judgement) in the tables'
/// words: active, expired, or inactive (idle past its interval, or
/// deactivated).
pub fn status(key: &ApiKeyInfo, now: DateTime<Utc>) -> &'static str {
    match KeyState::of(key, now) {
        KeyState::Active => "active",
        KeyState::Expired { .. } => "expired",
        _ => "inactive",
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

/// The columns of the keys table: every time is in UTC, and says so.
const KEY_COLUMNS: [&str; 11] = [
    "ID",
    "USER",
    "NAME",
    "HINT",
    "COLLECTION",
    "CREATED (UTC)",
    "EXPIRES (UTC)",
    "LAST USED (UTC)",
    "INACTIVITY",
    "CALLS",
    "STATUS",
];

/// A key's inactivity interval for people.
fn inactivity(days: Option<i64>) -> String {
    days.map_or_else(|| "-".to_owned(), |d| format!("{d} days"))
}

/// The table of keys; with `widths` (those of an earlier part of the same
/// listing), without a header and with columns at least that wide, so it
/// continues that part. `header` says whether a first part has one.
fn keys_table_after(
    keys: &[ApiKeyInfo],
    now: DateTime<Utc>,
    widths: Option<&[u16]>,
    header: bool,
) -> Table {
    let mut t = table();
    if widths.is_none() && header {
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
            inactivity(k.inactivity_interval),
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

/// One key, one field per line under the API's field names, every field
/// shown, times with their zone.
pub fn key_details(k: &ApiKeyInfo, now: DateTime<Utc>) -> String {
    let full = |at: Option<DateTime<Utc>>, none: &str| {
        at.map_or_else(
            || none.to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
    };
    let optional = |text: Option<&str>| text.map_or_else(|| "-".to_owned(), escape);
    let rows = [
        ("id", escape(&k.id)),
        ("username", escape(&k.username)),
        ("name", escape(&k.name)),
        ("hint", format!("…{}", escape(&k.hint))),
        ("status", status(k, now).to_owned()),
        ("is_active", k.is_active.to_string()),
        ("created_at", full(Some(k.created_at), "-")),
        ("expires_at", full(k.expires_at, "never")),
        (
            "last_used_at",
            full(k.last_used_at, "never (or not reported)"),
        ),
        (
            "inactivity_interval",
            k.inactivity_interval
                .map_or_else(|| "none".to_owned(), |d| format!("{d} days")),
        ),
        (
            "total_calls",
            k.total_calls.map_or_else(
                || "- (not reported: a server before 1.7.0)".to_owned(),
                |n| n.to_string(),
            ),
        ),
        ("is_global_key", k.is_global_key.to_string()),
        ("collection_id", optional(k.collection_id.as_deref())),
        ("collection_name", optional(k.collection_name.as_deref())),
    ];
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0) + 1;
    rows.iter()
        .map(|(label, value)| format!("{:<width$} {value}\n", format!("{label}:")))
        .collect()
}

/// Rows of a table printed at a time: memory stays bounded by these,
/// whatever the number of keys.
const TABLE_CHUNK: usize = 1000;

/// Writes keys as they arrive, in any format, in memory that does not grow
/// with their number: JSON as an array written element by element, NDJSON
/// a line each, a table in chunks whose columns line up with the first.
pub struct KeyWriter<W: Write> {
    out: Sink<W>,
    format: Output,
    now: DateTime<Utc>,
    header: bool,
    written: u64,
    chunk: Vec<ApiKeyInfo>,
    widths: Option<Vec<u16>>,
}

impl<W: Write> KeyWriter<W> {
    /// A writer of keys in `format`; a table or CSV has a header row if
    /// `header`.
    pub fn new(out: W, format: Output, now: DateTime<Utc>, header: bool) -> io::Result<Self> {
        let out = match format {
            Output::Csv => Sink::Csv(Box::new(CsvWriter::new(
                out,
                &csv_out::KEY_COLUMNS,
                header,
                csv_out::Cells::for_stdout(),
            )?)),
            _ => Sink::Plain(out),
        };
        Ok(Self {
            out,
            format,
            now,
            header,
            written: 0,
            chunk: Vec::new(),
            widths: None,
        })
    }

    /// Writes (or, for a table, queues) one key.
    pub fn push(&mut self, key: ApiKeyInfo) -> io::Result<()> {
        let out = match &mut self.out {
            Sink::Csv(csv) => {
                self.written += 1;
                return csv.push(&key);
            }
            Sink::Plain(out) => out,
        };
        match self.format {
            Output::Ndjson => {
                serde_json::to_writer(&mut *out, &key)?;
                writeln!(out)?;
            }
            Output::Json => write_json_element(out, &key, self.written == 0)?,
            Output::Table => {
                self.chunk.push(key);
                if self.chunk.len() == TABLE_CHUNK {
                    self.write_chunk()?;
                }
            }
            Output::Csv => {}
        }
        self.written += 1;
        Ok(())
    }

    fn write_chunk(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() && (self.widths.is_some() || !self.header) {
            return Ok(());
        }
        let Sink::Plain(out) = &mut self.out else {
            return Ok(());
        };
        let table = keys_table_after(&self.chunk, self.now, self.widths.as_deref(), self.header);
        writeln!(out, "{table}")?;
        if self.widths.is_none() {
            self.widths = Some(table.column_max_content_widths());
        }
        self.chunk.clear();
        Ok(())
    }

    /// Ends the output (the JSON array's end, the table's last chunk).
    pub fn finish(mut self) -> io::Result<()> {
        if self.format == Output::Table {
            self.write_chunk()?;
        }
        match self.out {
            Sink::Csv(csv) => csv.finish(),
            Sink::Plain(mut out) => {
                if self.format == Output::Json {
                    end_json_array(&mut out, self.written)?;
                }
                out.flush()
            }
        }
    }
}

impl<W: Write> KeyWriter<W> {
    /// Ends an output a failure cut short: the keys so far (a table's last
    /// chunk too), but no JSON array's end and no bare CSV header, so no
    /// reader takes it for a complete answer.
    pub fn abandon(mut self) -> io::Result<()> {
        if self.format == Output::Table && !self.chunk.is_empty() {
            self.write_chunk()?;
        }
        match self.out {
            Sink::Csv(csv) => csv.abandon(),
            Sink::Plain(mut out) => out.flush(),
        }
    }

    /// Keys written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

/// Where a [`KeyWriter`] writes: straight, or through a CSV writer.
enum Sink<W: Write> {
    Plain(W),
    Csv(Box<CsvWriter<W>>),
}

/// Writes one element of a JSON array written as its elements come,
/// indented as `to_writer_pretty` would; `first` opens the array.
pub fn write_json_element(
    out: &mut impl Write,
    item: &impl Serialize,
    first: bool,
) -> io::Result<()> {
    out.write_all(if first { b"[\n" } else { b",\n" })?;
    let text = serde_json::to_string_pretty(item)?;
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        write!(out, "  {line}")?;
    }
    Ok(())
}

/// Closes an array [`write_json_element`] wrote `written` elements of.
pub fn end_json_array(out: &mut impl Write, written: u64) -> io::Result<()> {
    if written == 0 {
        writeln!(out, "[]")
    } else {
        writeln!(out, "\n]")
    }
}

/// Prints a list of serialisable items in the chosen format.
pub fn print_items<T: Serialize>(
    items: &[T],
    format: Output,
    columns: &[&str],
    header: bool,
    table: impl FnOnce(&[T]) -> String,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Output::Csv => {
            let mut csv = CsvWriter::new(&mut out, columns, header, csv_out::Cells::for_stdout())?;
            for item in items {
                csv.push(item)?;
            }
            csv.finish()?;
        }
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

/// The table of batch outcomes.
pub fn outcomes_table(outcomes: &[Outcome], header: bool) -> String {
    let mut t = table();
    if header {
        t.set_header(["ID", "RESULT"]);
    }
    for o in outcomes {
        t.add_row([
            escape(&o.id),
            match (&o.error, o.note) {
                (Some(e), _) => format!("failed: {}", escape(e)),
                (None, Some(note)) => format!("ok ({note})"),
                (None, None) => "ok".to_owned(),
            },
        ]);
    }
    t.to_string()
}

/// A write's result with a closed output (`| head`) taken as the end of
/// the output, not of the command: `Ok(false)` then, so the command goes on
/// to the exit code of what it did or found.
pub fn unless_closed(result: io::Result<()>) -> io::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes one line to stdout; a closed reader is an error, not a panic.
pub fn line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}
