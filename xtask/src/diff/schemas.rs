//! What changed in the component schemas: added, removed, and each field's
//! presence, type, format and requiredness, judged by where the schema is
//! used (request, response).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{Change, Impact::*, change, format_only, rust_type, shape};
use crate::spec;

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

/// For a field a response now requires: the note that the new client can
/// no longer read servers that leave it out, as older releases do.
fn older_servers(required_in_response: bool, prop: &str) -> String {
    if required_in_response {
        format!(
            "; harmless for old clients, but the new client can no longer read servers that leave {prop} out (older h2oGPTe releases): make it optional with a local adjustment if those servers matter"
        )
    } else {
        String::new()
    }
}

/// The changes to the component schemas from `base` to `new`.
pub(super) fn compare(base: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
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
    // Response models are `#[non_exhaustive]` (build/client.rs): a field
    // added to one that was already a response model breaks no Rust code.
    let (_, old_responses) = usage(base);
    for name in old_schemas.keys().filter(|n| !new_schemas.contains_key(*n)) {
        out.push(change(
            format!(
                "schema {name} removed (its Rust type {} is gone)",
                rust_type(name)
            ),
            Breaking,
            Breaking,
        ));
    }
    for (schema_name, schema) in new_schemas {
        let name = &format!("{schema_name} (Rust types::{})", rust_type(schema_name));
        let Some(old) = old_schemas.get(schema_name) else {
            out.push(change(format!("schema {name} added"), Additive, Additive));
            continue;
        };
        let in_request = requests.contains(schema_name);
        let in_response = responses.contains(schema_name);
        let non_exhaustive = in_response && old_responses.contains(schema_name);
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
        // A field removed while one of the same type is added is most
        // likely renamed: one row for the pair, none for each half.
        let mut renamed: Vec<(&String, &String)> = Vec::new();
        for (gone, def) in old_props
            .iter()
            .filter(|(p, _)| !new_props.contains_key(*p))
        {
            let to = new_props.iter().find(|(p, d)| {
                !old_props.contains_key(*p)
                    && shape(d) == shape(def)
                    && !renamed.iter().any(|(_, taken)| taken == p)
            });
            if let Some((to, _)) = to {
                renamed.push((gone, to));
                out.push(change(
                    format!(
                        "schema {name}: field {gone} probably renamed to {to} (one of the same type, {}, removed and one added): old clients miss {gone}, and Rust code naming it stops compiling",
                        type_name(def)
                    ),
                    Breaking,
                    Breaking,
                ));
            }
        }
        for (prop, def) in new_props {
            let is_required = new_req.contains(prop);
            match old_props.get(prop) {
                Option::None if renamed.iter().any(|(_, to)| *to == prop) => {}
                Option::None => {
                    let wire = if in_request && is_required {
                        Breaking
                    } else {
                        Additive
                    };
                    let kind = if is_required { "required" } else { "optional" };
                    let (rust, why) = if non_exhaustive {
                        (
                            Additive,
                            "its Rust type is #[non_exhaustive], so no code builds it with a struct literal",
                        )
                    } else {
                        (Breaking, "a new field breaks Rust struct literals")
                    };
                    out.push(change(
                        format!(
                            "schema {name}: {kind} field {prop} added ({why}){}",
                            older_servers(in_response && is_required, prop)
                        ),
                        wire,
                        rust,
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
                    out.push(
                        change(
                            format!(
                                "schema {name}: field {prop} changed type from {} to {}",
                                type_name(old_def),
                                type_name(def)
                            ),
                            Breaking,
                            Breaking,
                        )
                        .unseen(
                            "cargo-semver-checks has no lint for a field whose type changed, so it may call this a patch",
                        ),
                    );
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
                                "schema {name}: field {prop} became {now} (its Rust type changes){}",
                                older_servers(in_response && is_required, prop)
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
            if renamed.iter().any(|(gone, _)| *gone == prop) {
                continue;
            }
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
    out
}

/// A schema's type in words: `string (date-time)`, `integer (int64)`,
/// `array of string`, or the name of the schema it refers to.
fn type_name(schema: &Value) -> String {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return target.rsplit('/').next().unwrap_or(target).to_owned();
    }
    let base = match schema.get("type").and_then(Value::as_str) {
        Some("array") => format!(
            "array of {}",
            schema
                .get("items")
                .map_or_else(|| "anything".to_owned(), type_name)
        ),
        Some(t) => t.to_owned(),
        Option::None => "any type".to_owned(),
    };
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{base} ({format})"),
        Option::None => base,
    }
}
