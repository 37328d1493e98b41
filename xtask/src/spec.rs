//! Reading and writing specs: YAML or JSON from a file, a URL or a git
//! revision, and the one normalised YAML form the committed spec is kept in.

use std::{fs, path::Path, process::Command};

use serde_json::{Map, Value};
use serde_yaml_ng::{Mapping, Value as Yaml};

use crate::workspace;

/// The committed spec, relative to the workspace root.
pub const SPEC_PATH: &str = "openapi/h2ogpte-api-keys.yaml";
/// The local adjustments `import` applies, relative to the workspace root.
pub const ADJUSTMENTS_PATH: &str = "openapi/local-adjustments.yaml";

/// The header every normalised spec starts with.
pub const HEADER: &str = "\
# The API-key administration endpoints of the h2oGPTe REST API.
#
# Written by `cargo xtask import` from the upstream spec: the operations
# tagged API Keys and every component they reference, keys sorted, plus the
# local adjustments listed with their reasons in openapi/local-adjustments.yaml. Do
# not edit by hand: change the upstream input or the adjustments and re-import
# (MAINTAINING.md walks through it).
#
# progenitor generates one Rust type for all successful responses of an
# operation and one for all error responses, so each operation has a single
# success response and every error status carries the same EndpointError body;
# `cargo xtask lint` enforces this.
";

/// Parses YAML or JSON text (JSON is YAML) into a JSON value.
pub fn parse(text: &str, origin: &str) -> Result<Value, String> {
    serde_yaml_ng::from_str(text).map_err(|e| format!("{origin}: not YAML or JSON: {e}"))
}

/// Loads a spec from a file path or an `http(s)` URL; for a URL the API key in
/// `H2OGPTE_API_KEY` is sent as a bearer token when set.
pub fn load(source: &str) -> Result<Value, String> {
    parse(&load_text(source)?, source)
}

/// The text of a spec from a file path or an `http(s)` URL, as [`load`]
/// reads it.
pub fn load_text(source: &str) -> Result<String, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        fetch(source)
    } else {
        fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))
    }
}

fn fetch(url: &str) -> Result<String, String> {
    let mut request = ureq::get(url);
    if let Ok(key) = std::env::var("H2OGPTE_API_KEY")
        && !key.trim().is_empty()
    {
        request = request.header("Authorization", &format!("Bearer {}", key.trim()));
    }
    let mut response = request
        .call()
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("cannot read the body of {url}: {e}"))
}

/// The spec at a git revision (`HEAD`, a branch, a commit), or from a file
/// when `base` names one.
pub fn load_base(base: &str) -> Result<Value, String> {
    if Path::new(base).is_file() {
        return load(base);
    }
    let output = Command::new("git")
        .current_dir(workspace::root())
        .args(["show", &format!("{base}:{SPEC_PATH}")])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git cannot show {SPEC_PATH} at {base}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse(
        &String::from_utf8_lossy(&output.stdout),
        &format!("{base}:{SPEC_PATH}"),
    )
}

/// Top-level keys in the order OpenAPI documents usually take; the rest of
/// the document is sorted by key.
const TOP_LEVEL: [&str; 8] = [
    "openapi",
    "info",
    "servers",
    "security",
    "tags",
    "paths",
    "components",
    "externalDocs",
];

/// The normalised YAML text of a spec: the header, then the document with
/// top-level keys in the usual order and every other mapping sorted.
pub fn to_yaml(spec: &Value) -> Result<String, String> {
    let Value::Object(top) = spec else {
        return Err("a spec must be a mapping at the top".to_owned());
    };
    let mut out = Mapping::new();
    let mut keys: Vec<&String> = top.keys().collect();
    keys.sort_by_key(|k| {
        (
            TOP_LEVEL
                .iter()
                .position(|t| t == k)
                .unwrap_or(TOP_LEVEL.len()),
            (*k).clone(),
        )
    });
    for key in keys {
        out.insert(Yaml::String(key.clone()), sorted(&top[key])?);
    }
    let body = serde_yaml_ng::to_string(&out).map_err(|e| format!("cannot write YAML: {e}"))?;
    Ok(format!("{HEADER}{body}"))
}

fn sorted(value: &Value) -> Result<Yaml, String> {
    // serde_json's map is ordered by key, so converting is sorting.
    serde_yaml_ng::to_value(value).map_err(|e| format!("cannot convert to YAML: {e}"))
}

/// A JSON pointer token for a key (`/` and `~` escaped).
pub fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every `$ref` string anywhere below `value`.
pub fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The HTTP methods an OpenAPI path item may hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation: (path, method, operation object).
pub fn operations(spec: &Value) -> Vec<(String, String, &Map<String, Value>)> {
    let mut ops = Vec::new();
    if let Some(paths) = spec.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method).and_then(Value::as_object) {
                    ops.push((path.clone(), method.to_owned(), op));
                }
            }
        }
    }
    ops
}

/// The names of the security schemes the document's requirements use, at the
/// top level and on operations.
pub fn used_security_schemes(spec: &Value) -> std::collections::BTreeSet<String> {
    let top = spec
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let ops = operations(spec);
    let per_op = ops.iter().flat_map(|(_, _, op)| {
        op.get("security")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    });
    top.chain(per_op)
        .filter_map(Value::as_object)
        .flat_map(|r| r.keys().cloned())
        .collect()
}

/// Resolves a local `$ref` such as `#/components/schemas/X`.
pub fn resolve<'a>(spec: &'a Value, reference: &str) -> Option<&'a Value> {
    spec.pointer(reference.strip_prefix('#')?)
}

/// `value` itself, or what its `$ref` points to when it is a reference.
pub fn deref<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(spec, r))
        .unwrap_or(value)
}

/// The JSON schema of a request body or response (following its `$ref`), or
/// `null` when it has no JSON content.
pub fn json_schema<'a>(spec: &'a Value, body: &'a Value) -> &'a Value {
    deref(spec, body)
        .pointer("/content/application~1json/schema")
        .unwrap_or(&Value::Null)
}
