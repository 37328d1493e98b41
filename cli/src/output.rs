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

/// A key's row in the keys table.
fn key_row(k: &ApiKeyInfo, now: DateTime<Utc>) -> [String; 11] {
    [
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
    ]
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
/// whatever the number of rows.
pub const TABLE_CHUNK: usize = 1000;

/// A table printed a chunk of rows at a time, in memory bounded by the
/// chunk: the header on the first chunk only, and every chunk's first row
/// padded to `widths` so the columns line up from chunk to chunk. The
/// widths are given when known up front (the audit measures its rows as it
/// spills them), or else taken from the first chunk.
pub struct ChunkedTable<const N: usize> {
    header: Option<[&'static str; N]>,
    widths: Option<[usize; N]>,
    rows: Vec<[String; N]>,
}

impl<const N: usize> ChunkedTable<N> {
    /// A table with `header` (none: rows only), its columns at least
    /// `widths` wide when given.
    pub fn new(header: Option<[&'static str; N]>, widths: Option<[usize; N]>) -> Self {
        Self {
            header,
            widths,
            rows: Vec::new(),
        }
    }

    /// Queues a row; [`is_full`](Self::is_full) says when to write the chunk.
    pub fn push(&mut self, row: [String; N]) {
        self.rows.push(row);
    }

    /// Whether a chunk's worth of rows waits.
    pub fn is_full(&self) -> bool {
        self.rows.len() >= TABLE_CHUNK
    }

    /// Writes the rows queued so far as the next chunk. With none queued it
    /// writes nothing, or with `header_alone`, a header not yet written.
    pub fn write(&mut self, out: &mut impl Write, header_alone: bool) -> io::Result<()> {
        if self.rows.is_empty() && !(header_alone && self.header.is_some()) {
            return Ok(());
        }
        let mut t = table();
        if let Some(header) = self.header.take() {
            t.set_header(header);
        }
        if let (Some(widths), Some(first)) = (&self.widths, self.rows.first_mut()) {
            for (cell, width) in first.iter_mut().zip(widths) {
                let short = width.saturating_sub(cell.chars().count());
                cell.extend(std::iter::repeat_n(' ', short));
            }
        }
        for row in self.rows.drain(..) {
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
        if self.widths.is_none() {
            let widths = t.column_max_content_widths();
            self.widths = Some(std::array::from_fn(|i| {
                widths.get(i).map_or(0, |w| usize::from(*w))
            }));
        }
        Ok(())
    }
}

/// Writes keys as they arrive, in any format, in memory that does not grow
/// with their number: JSON as an array written element by element, NDJSON
/// a line each, a table in chunks whose columns line up with the first.
pub struct KeyWriter<W: Write> {
    out: Sink<W>,
    now: DateTime<Utc>,
    written: u64,
}

/// Where a [`KeyWriter`] writes, in its format.
enum Sink<W: Write> {
    Table(W, Box<ChunkedTable<11>>),
    Json(W),
    Ndjson(W),
    Csv(Box<CsvWriter<W>>),
}

impl<W: Write> KeyWriter<W> {
    /// A writer of keys in `format`; a table or CSV has a header row if
    /// `header`.
    pub fn new(out: W, format: Output, now: DateTime<Utc>, header: bool) -> io::Result<Self> {
        let out = match format {
            Output::Table | Output::Openmetrics => Sink::Table(
                out,
                Box::new(ChunkedTable::new(header.then_some(KEY_COLUMNS), None)),
            ),
            Output::Json => Sink::Json(out),
            Output::Ndjson => Sink::Ndjson(out),
            Output::Csv => Sink::Csv(Box::new(CsvWriter::new(
                out,
                &csv_out::KEY_COLUMNS,
                header,
                csv_out::Cells::for_stdout(),
            )?)),
        };
        Ok(Self {
            out,
            now,
            written: 0,
        })
    }

    /// Writes (or, for a table, queues) one key.
    pub fn push(&mut self, key: ApiKeyInfo) -> io::Result<()> {
        match &mut self.out {
            Sink::Table(out, table) => {
                table.push(key_row(&key, self.now));
                if table.is_full() {
                    table.write(out, false)?;
                }
            }
            Sink::Json(out) => write_json_element(out, &key, self.written == 0)?,
            Sink::Ndjson(out) => {
                serde_json::to_writer(&mut *out, &key)?;
                writeln!(out)?;
            }
            Sink::Csv(csv) => csv.push(&key)?,
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the output (the JSON array's end, the table's last chunk).
    pub fn finish(self) -> io::Result<()> {
        match self.out {
            // An empty listing still shows its header.
            Sink::Table(mut out, mut table) => {
                table.write(&mut out, true)?;
                out.flush()
            }
            Sink::Json(mut out) => {
                end_json_array(&mut out, self.written)?;
                out.flush()
            }
            Sink::Ndjson(mut out) => out.flush(),
            Sink::Csv(csv) => csv.finish(),
        }
    }

    /// Ends an output a failure cut short: the keys so far (a table's last
    /// chunk too), but no JSON array's end and no bare CSV header, so no
    /// reader takes it for a complete answer.
    pub fn abandon(self) -> io::Result<()> {
        match self.out {
            Sink::Table(mut out, mut table) => {
                table.write(&mut out, false)?;
                out.flush()
            }
            Sink::Json(mut out) | Sink::Ndjson(mut out) => out.flush(),
            Sink::Csv(csv) => csv.abandon(),
        }
    }

    /// Keys written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
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
        Output::Table | Output::Openmetrics => writeln!(out, "{}", table(items))?,
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

/// Prints a command's results at its end, in the chosen format, unless they
/// were streamed already (NDJSON, a line each as it was known). A reader
/// that went away ends the output, not the exit code.
pub fn print_results<T: Serialize>(
    items: &[T],
    g: &crate::args::Global,
    columns: &[&str],
    table: impl FnOnce(&[T]) -> String,
) -> io::Result<()> {
    if g.output != Output::Ndjson {
        unless_closed(print_items(items, g.output, columns, !g.no_headers, table))?;
    }
    Ok(())
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
    let rows = outcomes.iter().map(|o| {
        [
            escape(&o.id),
            match (&o.error, o.note) {
                (Some(e), _) => format!("failed: {}", escape(e)),
                (None, Some(note)) => format!("ok ({note})"),
                (None, None) => "ok".to_owned(),
            },
        ]
    });
    whole_table(["ID", "RESULT"], rows.collect(), header)
}

/// A table of rows all at hand: the whole table's widths are known, so its
/// chunks line up as one table. Cells are written as given (escape them).
pub fn whole_table<const N: usize>(
    columns: [&'static str; N],
    rows: Vec<[String; N]>,
    header: bool,
) -> String {
    let mut widths = columns.map(|h| if header { h.len() } else { 0 });
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = ChunkedTable::new(header.then_some(columns), Some(widths));
    let mut out = Vec::new();
    for row in rows {
        table.push(row);
        if table.is_full() {
            // Writing to memory cannot fail.
            let _ = table.write(&mut out, false);
        }
    }
    let _ = table.write(&mut out, false);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.truncate(text.trim_end_matches('\n').len());
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(i: usize) -> Outcome {
        // Ids of every length from 1 to 40, so later chunks hold both the
        // narrowest and the widest.
        let id = "k".repeat(1 + i % 40);
        if i.is_multiple_of(3) {
            Outcome::refused(id, "no such key".to_owned())
        } else {
            Outcome::done(id, "already inactive")
        }
    }

    #[test]
    fn a_short_outcome_table_is_one_plain_table() {
        let outcomes: Vec<Outcome> = (0..5).map(outcome).collect();
        let mut plain = table();
        plain.set_header(["ID", "RESULT"]);
        for o in &outcomes {
            plain.add_row([
                escape(&o.id),
                match (&o.error, o.note) {
                    (Some(e), _) => format!("failed: {}", escape(e)),
                    (None, Some(note)) => format!("ok ({note})"),
                    (None, None) => "ok".to_owned(),
                },
            ]);
        }
        assert_eq!(outcomes_table(&outcomes, true), plain.to_string());
    }

    #[test]
    fn a_long_outcome_table_lines_up_across_its_chunks() {
        let outcomes: Vec<Outcome> = (0..2 * TABLE_CHUNK + 17).map(outcome).collect();
        let text = outcomes_table(&outcomes, true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            outcomes.len() + 1,
            "one header and a line each"
        );
        let column = |line: &str| line.find(['o', 'f', 'R']);
        let first = column(lines[0]);
        for line in &lines {
            assert_eq!(column(line), first, "{line:?}");
        }
    }
}
