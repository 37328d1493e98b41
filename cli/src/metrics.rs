//! `audit -o openmetrics`: the audit as the OpenMetrics text format, for
//! node_exporter's textfile collector or any scraper. Gauges only: key
//! counts by state, findings by code and remedy, one expiry timestamp per
//! key (as x509-certificate-exporter gives one per certificate), and the
//! audit's own timestamp, duration and success. The per-key family is
//! written as keys arrive, the totals once the listing ends.

use std::{collections::BTreeMap, io::Write};

use chrono::{DateTime, Utc};
use h2ogpte_api_keys::{KeyState, policy::FindingCode, types::ApiKeyInfo};

use crate::terminal::escape;

/// Metric names, each with its help.
const KEYS: &str = "h2ogpte_api_keys";
const FINDINGS: &str = "h2ogpte_api_key_findings";
const EXPIRY: &str = "h2ogpte_api_key_expiry_timestamp_seconds";
const AUDIT_TIME: &str = "h2ogpte_api_key_audit_timestamp_seconds";
const AUDIT_DURATION: &str = "h2ogpte_api_key_audit_duration_seconds";
const AUDIT_SUCCESS: &str = "h2ogpte_api_key_audit_success";

/// The states keys are counted in.
const STATES: [&str; 4] = ["active", "expired", "idle", "deactivated"];

/// Most characters of a label value: a key's name is the server's to
/// choose, and a scrape should not carry a megabyte of it.
const MAX_LABEL_CHARS: usize = 200;

/// Writes an audit's metrics.
pub struct MetricsWriter<W: Write> {
    out: W,
    /// Label values shown escaped ([`escape`]): a terminal would run the
    /// control sequences a server put in a key's name.
    on_terminal: bool,
    started: std::time::Instant,
    expiry_header: bool,
    states: BTreeMap<&'static str, u64>,
}

impl<W: Write> MetricsWriter<W> {
    /// A writer to `out`; `on_terminal` when that is a terminal.
    pub fn new(out: W, on_terminal: bool) -> Self {
        Self {
            out,
            on_terminal,
            started: std::time::Instant::now(),
            expiry_header: false,
            states: STATES.iter().map(|s| (*s, 0)).collect(),
        }
    }

    /// Counts a key, and writes its expiry (keys that have one).
    pub fn key(&mut self, key: &ApiKeyInfo, now: DateTime<Utc>) -> std::io::Result<()> {
        let state = KeyState::of(key, now).as_str();
        *self.states.entry(state).or_default() += 1;
        let Some(at) = key.expires_at else {
            return Ok(());
        };
        if !self.expiry_header {
            self.expiry_header = true;
            family(
                &mut self.out,
                EXPIRY,
                "When each key expires, as a Unix time, with its state (alert on state=\"active\"; keys without an expiry have none).",
                Some("seconds"),
            )?;
        }
        let shown = |value: &str| {
            let value = label(value);
            if self.on_terminal {
                escape(&value)
            } else {
                value
            }
        };
        writeln!(
            self.out,
            "{EXPIRY}{{id=\"{}\",username=\"{}\",name=\"{}\",state=\"{state}\"}} {}",
            shown(&key.id),
            shown(&key.username),
            shown(&key.name),
            seconds(at)
        )
    }

    /// Ends a complete audit: the totals, its time and success, `# EOF`.
    pub fn finish(
        mut self,
        findings: &BTreeMap<FindingCode, u64>,
        audited_at: DateTime<Utc>,
    ) -> std::io::Result<()> {
        family(
            &mut self.out,
            KEYS,
            "Keys the audit listed, by state.",
            None,
        )?;
        for (state, n) in &self.states {
            writeln!(self.out, "{KEYS}{{state=\"{state}\"}} {n}")?;
        }
        family(
            &mut self.out,
            FINDINGS,
            "Findings of the audit, by code and the remedy that clears them.",
            None,
        )?;
        for code in FindingCode::ALL {
            let n = findings.get(&code).copied().unwrap_or(0);
            writeln!(
                self.out,
                "{FINDINGS}{{code=\"{code}\",remedy=\"{}\"}} {n}",
                code.remedy()
            )?;
        }
        self.end(true, audited_at)
    }

    /// Ends an audit that failed: only its time and failure, no totals
    /// that could pass for the fleet's.
    pub fn fail(self, audited_at: DateTime<Utc>) -> std::io::Result<()> {
        self.end(false, audited_at)
    }

    fn end(mut self, success: bool, audited_at: DateTime<Utc>) -> std::io::Result<()> {
        let out = &mut self.out;
        family(
            out,
            AUDIT_TIME,
            "When the audit ran, as a Unix time.",
            Some("seconds"),
        )?;
        writeln!(out, "{AUDIT_TIME} {}", seconds(audited_at))?;
        family(
            out,
            AUDIT_DURATION,
            "How long the audit took.",
            Some("seconds"),
        )?;
        writeln!(
            out,
            "{AUDIT_DURATION} {:.3}",
            self.started.elapsed().as_secs_f64()
        )?;
        family(
            out,
            AUDIT_SUCCESS,
            "1 when the audit read every key, 0 when it failed.",
            None,
        )?;
        writeln!(out, "{AUDIT_SUCCESS} {}", u8::from(success))?;
        writeln!(out, "# EOF")?;
        out.flush()
    }
}

/// A metric family's `TYPE`, `UNIT` and `HELP` lines (all gauges).
fn family(out: &mut impl Write, name: &str, help: &str, unit: Option<&str>) -> std::io::Result<()> {
    writeln!(out, "# TYPE {name} gauge")?;
    if let Some(unit) = unit {
        writeln!(out, "# UNIT {name} {unit}")?;
    }
    writeln!(out, "# HELP {name} {help}")
}

/// A time as Unix seconds, to the millisecond.
fn seconds(at: DateTime<Utc>) -> String {
    format!("{:.3}", at.timestamp_millis() as f64 / 1000.0)
}

/// A label value escaped as the format requires (`\\`, `\"`, `\n`), cut at
/// [`MAX_LABEL_CHARS`].
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars().take(MAX_LABEL_CHARS) {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The whole document of an audit that failed: its time and failure alone.
/// An `--output-file` gets this in place of the last good report, so a
/// collector never serves yesterday's numbers as fresh and `success 0`
/// reaches the alert.
pub fn failed_document(audited_at: DateTime<Utc>) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    MetricsWriter::new(&mut out, false).fail(audited_at)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_cut() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label(&"x".repeat(500)).len(), MAX_LABEL_CHARS);
    }
}
