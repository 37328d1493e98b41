//! `cargo xtask diff`: every change between two specs, classified for the wire
//! (as oasdiff would) and for Rust users of the generated crate, with a semver
//! verdict and a changelog draft.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::spec;

/// How a change affects one audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// Nothing a user sees changes (docs, examples).
    None,
    /// Something is added; existing users keep working.
    Additive,
    /// Existing users can break.
    Breaking,
}

impl Impact {
    fn label(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Additive => "compatible",
            Impact::Breaking => "BREAKING",
        }
    }
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed, in words.
    pub what: String,
    /// Its effect on clients on the wire (any language).
    pub wire: Impact,
    /// Its effect on Rust code using the generated crate.
    pub rust: Impact,
}

fn change(what: impl Into<String>, wire: Impact, rust: Impact) -> Change {
    Change {
        what: what.into(),
        wire,
        rust,
    }
}

/// The semver bump the Rust crate needs for these changes.
pub fn verdict(changes: &[Change]) -> &'static str {
    match changes.iter().map(|c| c.rust.max(c.wire_as_rust())).max() {
        Some(Impact::Breaking) => "major",
        Some(Impact::Additive) => "minor",
        _ => "patch",
    }
}

impl Change {
    /// A wire break is a break for the crate's users too, whatever its types do.
    fn wire_as_rust(&self) -> Impact {
        self.wire
    }
}

/// Operations by operationId: (method, path, operation).
fn ops(spec: &Value) -> BTreeMap<String, (String, String, Map<String, Value>)> {
    spec::operations(spec)
        .into_iter()
        .filter_map(|(path, method, op)| {
            let id = op.get("operationId")?.as_str()?.to_owned();
            Some((id, (method, path, op.clone())))
        })
        .collect()
}

/// Whether two schemas differ in `format` only: the JSON on the wire is the
/// same, but the generated Rust type is not (a string becomes a date-time).
fn format_only(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = shape(v);
        if let Some(map) = v.as_object_mut() {
            map.remove("format");
        }
        v
    };
    shape(a) != shape(b) && strip(a) == strip(b)
}

/// A schema without its documentation, to tell a real change from a reworded one.
fn shape(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "description" | "example" | "examples" | "title")
                })
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

fn resolve_param<'a>(spec: &'a Value, p: &'a Value) -> &'a Value {
    p.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| spec::resolve(spec, r))
        .unwrap_or(p)
}

fn params(spec: &Value, op: &Map<String, Value>) -> BTreeMap<String, Value> {
    op.get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| resolve_param(spec, p))
        .filter_map(|p| {
            let key = format!("{} {}", p.get("in")?.as_str()?, p.get("name")?.as_str()?);
            Some((key, p.clone()))
        })
        .collect()
}

fn responses(spec: &Value, op: &Map<String, Value>) -> BTreeMap<String, Value> {
    op.get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(status, r)| {
            let r = r
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|x| spec::resolve(spec, x))
                .unwrap_or(r);
            (
                status.clone(),
                shape(
                    r.pointer("/content/application~1json/schema")
                        .unwrap_or(&Value::Null),
                ),
            )
        })
        .collect()
}

/// Schemas reachable from request bodies, and from responses.
fn usage(spec: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let closure = |roots: Vec<&Value>| {
        let mut seen = BTreeSet::new();
        let mut queue = Vec::new();
        roots.iter().for_each(|r| spec::refs(r, &mut queue));
        while let Some(r) = queue.pop() {
            if seen.insert(r.clone())
                && let Some(target) = spec::resolve(spec, &r)
            {
                spec::refs(target, &mut queue);
            }
        }
        seen.into_iter()
            .filter_map(|r| r.strip_prefix("#/components/schemas/").map(str::to_owned))
            .collect::<BTreeSet<_>>()
    };
    let ops = spec::operations(spec);
    let requests = closure(
        ops.iter()
            .filter_map(|(_, _, op)| op.get("requestBody"))
            .collect(),
    );
    let responses = closure(
        ops.iter()
            .filter_map(|(_, _, op)| op.get("responses"))
            .collect(),
    );
    (requests, responses)
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Classifies every change from `base` to `new`.
pub fn classify(base: &Value, new: &Value) -> Vec<Change> {
    use Impact::*;
    let mut out = Vec::new();
    let (old_ops, new_ops) = (ops(base), ops(new));
    for (id, (method, path, _)) in &old_ops {
        if !new_ops.contains_key(id) {
            out.push(change(
                format!("operation {id} ({} {path}) removed", method.to_uppercase()),
                Breaking,
                Breaking,
            ));
        }
    }
    for (id, (method, path, op)) in &new_ops {
        let Some((old_method, old_path, old_op)) = old_ops.get(id) else {
            out.push(change(
                format!("operation {id} ({} {path}) added", method.to_uppercase()),
                Additive,
                Additive,
            ));
            continue;
        };
        if old_method != method || old_path != path {
            out.push(change(
                format!(
                    "operation {id} moved from {} {old_path} to {} {path}",
                    old_method.to_uppercase(),
                    method.to_uppercase()
                ),
                Breaking,
                None,
            ));
        }
        let (old_params, new_params) = (params(base, old_op), params(new, op));
        for (key, p) in &new_params {
            let is_required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            match old_params.get(key) {
                Option::None if is_required => out.push(change(
                    format!("{id}: required parameter {key} added"),
                    Breaking,
                    Breaking,
                )),
                Option::None => out.push(change(
                    format!("{id}: optional parameter {key} added"),
                    Additive,
                    Additive,
                )),
                Some(old)
                    if shape(old.get("schema").unwrap_or(&Value::Null))
                        != shape(p.get("schema").unwrap_or(&Value::Null)) =>
                {
                    out.push(change(
                        format!("{id}: parameter {key} changed its schema"),
                        Breaking,
                        Breaking,
                    ));
                }
                Some(old)
                    if !old
                        .get("required")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                        && is_required =>
                {
                    out.push(change(
                        format!("{id}: parameter {key} became required"),
                        Breaking,
                        Breaking,
                    ));
                }
                _ => {}
            }
        }
        for key in old_params.keys().filter(|k| !new_params.contains_key(*k)) {
            out.push(change(
                format!("{id}: parameter {key} removed"),
                Breaking,
                Breaking,
            ));
        }
        let body = |op: &Map<String, Value>, s: &Value| {
            op.get("requestBody").map(|b| {
                let b = b
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| spec::resolve(s, r))
                    .unwrap_or(b);
                shape(
                    b.pointer("/content/application~1json/schema")
                        .unwrap_or(&Value::Null),
                )
            })
        };
        if body(old_op, base) != body(op, new) {
            out.push(change(
                format!("{id}: request body type changed"),
                Breaking,
                Breaking,
            ));
        }
        let (old_resp, new_resp) = (responses(base, old_op), responses(new, op));
        for (status, schema) in &new_resp {
            match old_resp.get(status) {
                Option::None if status.starts_with('2') => {
                    out.push(change(
                        format!("{id}: success status {status} added"),
                        Breaking,
                        Breaking,
                    ));
                }
                Option::None => out.push(change(
                    format!("{id}: error status {status} documented"),
                    Additive,
                    None,
                )),
                Some(old) if old != schema => {
                    out.push(change(
                        format!("{id}: response {status} body type changed"),
                        Breaking,
                        Breaking,
                    ));
                }
                _ => {}
            }
        }
        for status in old_resp.keys().filter(|s| !new_resp.contains_key(*s)) {
            let wire = if status.starts_with('2') {
                Breaking
            } else {
                Additive
            };
            out.push(change(
                format!("{id}: status {status} no longer documented"),
                wire,
                if wire == Breaking { Breaking } else { None },
            ));
        }
    }

    let empty = Map::new();
    let old_schemas = base
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let new_schemas = new
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let (requests, responses) = usage(new);
    for name in old_schemas.keys().filter(|n| !new_schemas.contains_key(*n)) {
        out.push(change(
            format!("schema {name} removed (its Rust type is gone)"),
            Breaking,
            Breaking,
        ));
    }
    for (name, schema) in new_schemas {
        let Some(old) = old_schemas.get(name) else {
            out.push(change(format!("schema {name} added"), Additive, Additive));
            continue;
        };
        let in_request = requests.contains(name);
        let in_response = responses.contains(name);
        let empty_props = Map::new();
        let old_props = old
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty_props);
        let new_props = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty_props);
        let (old_req, new_req) = (required(old), required(schema));
        for (prop, def) in new_props {
            let is_required = new_req.contains(prop);
            match old_props.get(prop) {
                Option::None => {
                    let wire = if in_request && is_required {
                        Breaking
                    } else {
                        Additive
                    };
                    let kind = if is_required { "required" } else { "optional" };
                    out.push(change(
                        format!("schema {name}: {kind} field {prop} added (a new field breaks Rust struct literals)"),
                        wire,
                        Breaking,
                    ));
                }
                Some(old_def) if format_only(old_def, def) => {
                    out.push(change(
                        format!(
                            "schema {name}: field {prop} changed format (same JSON, another Rust type)"
                        ),
                        Additive,
                        Breaking,
                    ));
                }
                Some(old_def) if shape(old_def) != shape(def) => {
                    out.push(change(
                        format!("schema {name}: field {prop} changed type"),
                        Breaking,
                        Breaking,
                    ));
                }
                Some(_) => {
                    let was_required = old_req.contains(prop);
                    if was_required != is_required {
                        let wire = match (is_required, in_request, in_response) {
                            (true, true, _) => Breaking,
                            (false, _, true) => Breaking,
                            _ => Additive,
                        };
                        let now = if is_required { "required" } else { "optional" };
                        out.push(change(
                            format!(
                                "schema {name}: field {prop} became {now} (its Rust type changes)"
                            ),
                            wire,
                            Breaking,
                        ));
                    }
                }
            }
        }
        for prop in old_props.keys().filter(|p| !new_props.contains_key(*p)) {
            let wire = if in_request || old_req.contains(prop) {
                Breaking
            } else {
                Additive
            };
            out.push(change(
                format!("schema {name}: field {prop} removed"),
                wire,
                Breaking,
            ));
        }
        if shape(old) != shape(schema) && old_props == new_props && old_req == new_req {
            out.push(change(
                format!("schema {name}: constraints changed"),
                Breaking,
                Breaking,
            ));
        }
    }
    if out.is_empty() && shape(base) != shape(new) {
        out.push(change(
            "other structural changes (servers, security, tags)",
            Additive,
            None,
        ));
    }
    if out.is_empty() && base != new {
        out.push(change(
            "documentation only (descriptions, examples)",
            None,
            None,
        ));
    }
    out
}

/// The report: a table, the verdict and a changelog draft.
pub fn report(changes: &[Change]) -> String {
    let mut s = String::new();
    if changes.is_empty() {
        s.push_str("no changes\nsemver: none\n");
        return s;
    }
    s.push_str("| change | wire | Rust |\n|---|---|---|\n");
    for c in changes {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            c.what,
            c.wire.label(),
            c.rust.label()
        ));
    }
    let verdict = verdict(changes);
    s.push_str(&format!(
        "\nsemver: {verdict}\n\nchangelog draft:\n\n## [Unreleased]\n"
    ));
    let sections = [
        (
            "Breaking",
            changes
                .iter()
                .filter(|c| c.rust == Impact::Breaking || c.wire == Impact::Breaking)
                .collect::<Vec<_>>(),
        ),
        (
            "Added",
            changes
                .iter()
                .filter(|c| c.rust == Impact::Additive && c.wire != Impact::Breaking)
                .collect(),
        ),
        (
            "Changed",
            changes
                .iter()
                .filter(|c| c.rust == Impact::None && c.wire != Impact::Breaking)
                .collect(),
        ),
    ];
    for (title, items) in sections {
        if !items.is_empty() {
            s.push_str(&format!("\n### {title}\n\n"));
            for c in items {
                s.push_str(&format!("- {}\n", c.what));
            }
        }
    }
    s
}

/// Runs the task: the committed spec against `base` (a git revision or a file).
pub fn run(base: &str) -> Result<(), String> {
    let old = spec::load_base(base)?;
    let text = spec::read(spec::SPEC_PATH)?;
    let new = spec::parse(&text, spec::SPEC_PATH)?;
    print!("{}", report(&classify(&old, &new)));
    Ok(())
}
