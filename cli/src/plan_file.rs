//! A plan saved by `plan --out` for `apply`: the library's rows with the
//! server they were made for and when, a versioned JSON file written whole
//! and read back only as a regular file within a size bound.

use std::{io::Read, path::Path};

use chrono::{DateTime, Utc};
use h2ogpte_api_keys::{
    plan::{Action, PlanRow},
    rotation::normalised_server,
};
use serde::{Deserialize, Serialize};

use crate::{atomic, failure::Failure, terminal::escape};

/// The file's format; another is refused.
const FORMAT: u32 = 1;

/// Largest plan read.
const MAX_BYTES: u64 = 256 << 20;

/// A saved plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    format: u32,
    /// The normalised server URL it was made for.
    pub server: String,
    /// When it was made.
    pub made_at: DateTime<Utc>,
    /// One row per key.
    pub rows: Vec<PlanRow>,
}

impl PlanFile {
    /// A plan of `rows` for `server` (an API base URL), made `now`.
    pub fn new(server: &str, made_at: DateTime<Utc>, rows: Vec<PlanRow>) -> Self {
        Self {
            format: FORMAT,
            server: normalised_server(server),
            made_at,
            rows,
        }
    }

    /// Writes the plan to `path` whole (temporary file, sync, rename).
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        let shown = escape(&path.display().to_string());
        atomic::write_with(path, true, |out| {
            serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::from)
        })
        .map_err(|e| Failure::api(format!("cannot write the plan to {shown}: {e}")))
    }

    /// Reads a plan, refusing one of another format, one for another
    /// server than `server`, and anything but a regular file.
    pub fn load(path: &Path, server: &str) -> Result<Self, Failure> {
        let shown = escape(&path.display().to_string());
        let mut bytes = Vec::new();
        crate::regular::open(path)
            .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| Failure::usage(format!("cannot read the plan {shown}: {e}")))?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(Failure::usage(format!(
                "the plan {shown} is larger than {} MiB",
                MAX_BYTES >> 20
            )));
        }
        let plan: PlanFile = serde_json::from_slice(&bytes).map_err(|e| {
            Failure::usage(format!(
                "{shown} is not a plan `h2ogpte-keys plan --out` wrote ({}): make it again",
                escape(&e.to_string())
            ))
        })?;
        if plan.format != FORMAT {
            return Err(Failure::usage(format!(
                "the plan {shown} is of format {}, not {FORMAT}: make it again with this version",
                plan.format
            )));
        }
        let here = normalised_server(server);
        if plan.server != here {
            return Err(Failure::usage(format!(
                "the plan {shown} was made for {}, not {}: apply it there, or make one for this server",
                escape(&plan.server),
                escape(&here)
            )));
        }
        Ok(plan)
    }
}

/// An action's particulars, in words.
pub fn detail(action: &Action) -> String {
    match action {
        Action::Rotate {
            expires_in_days,
            inactivity_days,
        } => match inactivity_days {
            Some(days) => format!(
                "a new key for {expires_in_days} days, inactivity {days} days; the old one deactivated"
            ),
            None => format!("a new key for {expires_in_days} days; the old one deactivated"),
        },
        Action::Expire { at } => format!("expires at {}", at.format("%Y-%m-%d %H:%M UTC")),
        Action::Inactivity { days } => format!("inactivity interval {days} days"),
        Action::Retiring { stops_at } => {
            format!(
                "rotated; stops working at {}",
                stops_at.format("%Y-%m-%d %H:%M UTC")
            )
        }
        Action::NeedsHuman { why } => why.clone(),
        Action::OwnKey => "the key this tool authenticates with: never acted on".to_owned(),
        Action::Waived { until, reason } => format!("waived until {until}: {reason}"),
        _ => String::new(),
    }
}
