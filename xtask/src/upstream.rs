//! The record of the upstream spec the committed one is made from: the file
//! exactly as imported, its h2oGPTe version and SHA-256, and how operations
//! were selected; and the spec a regeneration last finished for. `check`
//! proves from it that the committed spec is that upstream plus the local
//! adjustments, and tests read it instead of a fixture someone must copy.

use std::fs;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{spec, workspace};

/// The tag of the operations this crate covers. Selecting by tag, not by a
/// list of ids, means an operation upstream adds to it is imported (and
/// shows in `cargo xtask diff`) rather than silently dropped.
pub const DEFAULT_TAG: &str = "API Keys";

/// Which operations to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// By operationId.
    Ids(Vec<String>),
    /// Every operation with this tag.
    Tag(String),
}

impl Default for Selection {
    /// Every operation tagged [`DEFAULT_TAG`].
    fn default() -> Self {
        Selection::Tag(DEFAULT_TAG.to_owned())
    }
}

/// The record, relative to the workspace root.
pub const RECORD_PATH: &str = "openapi/upstream.yaml";
/// Where the imported upstream file is kept.
pub const FILE_PATH: &str = "openapi/upstream/api-spec.yaml";

const HEADER: &str = "\
# Written by `cargo xtask import`: the upstream h2oGPTe spec that
# openapi/h2ogpte-api-keys.yaml is made from (kept in `file`, exactly as
# imported), and by `cargo xtask regen`: the spec the snapshots and schemas
# were last regenerated for. `cargo xtask check` proves the committed spec is
# this upstream plus openapi/local-adjustments.yaml. Do not edit by hand.
";

/// What the record holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The upstream file, relative to the workspace root.
    pub file: String,
    /// Where `import` read it: a path or a URL without query or user info.
    pub source: String,
    /// Its `info.version`, the h2oGPTe release.
    pub version: String,
    /// The SHA-256 of the file, in hex.
    pub sha256: String,
    /// The tag whose operations were kept, when selected by tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The operationIds kept, when selected by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// The SHA-256 of the committed spec when `regen` last finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regenerated_for: Option<String>,
}

impl Record {
    /// How operations were selected.
    pub fn selection(&self) -> Selection {
        match &self.tag {
            Some(tag) => Selection::Tag(tag.clone()),
            None => Selection::Ids(self.operations.clone()),
        }
    }

    /// The recorded upstream spec, after checking its digest.
    pub fn upstream(&self) -> Result<Value, String> {
        let text = workspace::read(&self.file)?;
        let digest = sha256_hex(text.as_bytes());
        if digest != self.sha256 {
            return Err(format!(
                "{} does not match its SHA-256 in {RECORD_PATH} (it was changed after import): restore it with `git checkout -- {}`, or import the new upstream with `cargo xtask import --from FILE`",
                self.file, self.file
            ));
        }
        spec::parse(&text, &self.file)
    }
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The record, or an error that says how to make one.
pub fn read() -> Result<Record, String> {
    let text = workspace::read(RECORD_PATH).map_err(|e| {
        format!("{e}: import an upstream spec first (`cargo xtask import --from FILE`)")
    })?;
    serde_yaml_ng::from_str(&text).map_err(|e| format!("{RECORD_PATH}: {e}"))
}

/// Writes the record.
pub fn write(record: &Record) -> Result<(), String> {
    let body = serde_yaml_ng::to_string(record).map_err(|e| format!("cannot write YAML: {e}"))?;
    let path = workspace::root().join(RECORD_PATH);
    fs::write(&path, format!("{HEADER}{body}"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Keeps `text` (the upstream as read from `source`) as the recorded
/// upstream, selected with `selection`. What `regen` noted stays, so a spec
/// that changed is not taken as regenerated.
pub fn record(
    text: &str,
    source: &str,
    upstream: &Value,
    selection: &Selection,
) -> Result<Record, String> {
    let path = workspace::root().join(FILE_PATH);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let (tag, operations) = match selection {
        Selection::Tag(tag) => (Some(tag.clone()), Vec::new()),
        Selection::Ids(ids) => (None, ids.clone()),
    };
    let record = Record {
        file: FILE_PATH.to_owned(),
        source: shown_source(source),
        version: upstream
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        sha256: sha256_hex(text.as_bytes()),
        tag,
        operations,
        regenerated_for: read().ok().and_then(|r| r.regenerated_for),
    };
    write(&record)?;
    Ok(record)
}

/// Notes that the snapshots and schemas are regenerated for the committed spec.
pub fn note_regenerated() -> Result<(), String> {
    let mut record = read()?;
    let spec = workspace::read(spec::SPEC_PATH)?;
    record.regenerated_for = Some(sha256_hex(spec.as_bytes()));
    write(&record)
}

/// A source as it may be recorded: a URL without user info or query (they
/// can hold credentials), a path relative to the workspace when inside it.
fn shown_source(source: &str) -> String {
    if let Some((scheme, rest)) = source.split_once("://") {
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let rest = match rest.split_once('/') {
            Some((authority, path)) => {
                let host = authority.rsplit('@').next().unwrap_or(authority);
                format!("{host}/{path}")
            }
            None => rest.rsplit('@').next().unwrap_or(rest).to_owned(),
        };
        return format!("{scheme}://{rest}");
    }
    let path = std::path::Path::new(source);
    let absolute = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let root =
        fs::canonicalize(workspace::root()).unwrap_or_else(|_| workspace::root().to_path_buf());
    absolute
        .strip_prefix(&root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| {
            path.file_name()
                .map_or_else(|| source.to_owned(), |n| n.to_string_lossy().into_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::shown_source;

    #[test]
    fn a_recorded_url_holds_no_credentials() {
        assert_eq!(
            shown_source("https://user:pw@h.example/api-spec.yaml?token=x#y"),
            "https://h.example/api-spec.yaml"
        );
        assert_eq!(
            shown_source("/tmp/elsewhere/api-spec.yaml"),
            "api-spec.yaml"
        );
    }
}
