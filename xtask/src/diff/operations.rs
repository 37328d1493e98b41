//! What changed in the operations: added, removed or moved, and in each its
//! parameters, request body and documented responses.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Change, Impact::*, change, shape};
use crate::spec;

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

fn params(spec: &Value, op: &Map<String, Value>) -> BTreeMap<String, Value> {
    op.get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| spec::deref(spec, p))
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
        .map(|(status, r)| (status.clone(), shape(spec::json_schema(spec, r))))
        .collect()
}

/// The changes to the operations from `base` to `new`.
pub(super) fn compare(base: &Value, new: &Value) -> Vec<Change> {
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
        parameters(id, (base, old_op), (new, op), &mut out);
        let body = |op: &Map<String, Value>, s: &Value| {
            op.get("requestBody")
                .map(|b| shape(spec::json_schema(s, b)))
        };
        if body(old_op, base) != body(op, new) {
            out.push(change(
                format!("{id}: request body type changed"),
                Breaking,
                Breaking,
            ));
        }
        responses_documented(id, (base, old_op), (new, op), &mut out);
    }

    out
}

/// An operation within its spec, for resolving its `$ref`s.
type InSpec<'a> = (&'a Value, &'a Map<String, Value>);

/// Parameters added, removed, retyped or made required.
fn parameters(id: &str, (base, old_op): InSpec<'_>, (new, op): InSpec<'_>, out: &mut Vec<Change>) {
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
}

/// Documented statuses added or dropped, and response bodies retyped.
fn responses_documented(
    id: &str,
    (base, old_op): InSpec<'_>,
    (new, op): InSpec<'_>,
    out: &mut Vec<Change>,
) {
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
                format!(
                    "{id}: error status {status} documented: such a response now arrives as Error::Api instead of Error::UnexpectedStatus or Error::Decode, so code that matched one changes meaning"
                ),
                Additive,
                Behaviour,
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
        if status.starts_with('2') {
            out.push(change(
                format!("{id}: success status {status} no longer documented"),
                Breaking,
                Breaking,
            ));
        } else {
            out.push(change(
                format!(
                    "{id}: error status {status} no longer documented: such a response now arrives as Error::UnexpectedStatus instead of Error::Api, so code that matched one changes meaning"
                ),
                Additive,
                Behaviour,
            ));
        }
    }
}
