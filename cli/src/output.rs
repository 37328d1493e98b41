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
    let mut t = table();
    t.set_header([
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
    ]);
    for k in keys {
        t.add_row([
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
        ]);
    }
    t.to_string()
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
