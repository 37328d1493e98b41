//! `cargo xtask lint`: the checks progenitor and this project need of the
//! spec, each finding naming the operation or schema and the fix.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::{spec, workspace};

/// Every finding in `doc`; empty when the spec passes.
pub fn check(doc: &Value) -> Vec<String> {
    let mut findings = Vec::new();
    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("3.0.") {
        findings.push(format!(
            "openapi is {version:?}: progenitor reads OpenAPI 3.0.x only; set `openapi: 3.0.3`"
        ));
    }
    if let Err(e) = serde_json::from_value::<openapiv3::OpenAPI>(doc.clone()) {
        findings.push(format!("not a valid OpenAPI 3.0 document: {e}"));
    }

    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, method, op) in spec::operations(doc) {
        let at = format!("{} {path}", method.to_uppercase());
        let Some(id) = op.get("operationId").and_then(Value::as_str) else {
            findings.push(format!(
                "{at} has no operationId: add one (it names the Rust method)"
            ));
            continue;
        };
        ids.entry(id.to_owned()).or_default().push(at.clone());
        let responses = op
            .get("responses")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut success = BTreeSet::new();
        let mut errors = BTreeSet::new();
        for (status, response) in &responses {
            let body = body_type(doc, response);
            if status.starts_with('2') {
                success.insert(body);
            } else {
                errors.insert(body);
            }
        }
        if success.len() > 1 {
            findings.push(format!(
                "operation {id}: its success responses have different bodies {success:?}; progenitor needs one success type: make them share one schema"
            ));
        }
        if errors.len() > 1 {
            findings.push(format!(
                "operation {id}: its error responses have different bodies {errors:?}; progenitor needs one error type: give every error status the EndpointError body"
            ));
        }
        for (status, response) in &responses {
            let resolved = match response.get("$ref").and_then(Value::as_str) {
                Some(r) => spec::resolve(doc, r).unwrap_or(response),
                None => response,
            };
            if let Some(media) = resolved.pointer("/content/application~1json")
                && media.get("example").is_none()
            {
                findings.push(format!(
                    "operation {id}: response {status} has a JSON body but no example (tests/responses.rs decodes every documented response's example): add one with a local adjustment in openapi/local-adjustments.yaml, `op: add`, path {}/example",
                    match response.get("$ref").and_then(Value::as_str) {
                        Some(r) => format!("{}/content/application~1json", r.trim_start_matches('#')),
                        None => format!(
                            "/paths/{}/{method}/responses/{status}/content/application~1json",
                            spec::pointer_token(&path)
                        ),
                    }
                ));
            }
        }
        if !responses.contains_key("401") {
            findings.push(format!(
                "operation {id} does not document 401: add `'401': {{$ref: '#/components/responses/Unauthorized'}}`"
            ));
        }
    }
    for (id, places) in ids {
        if places.len() > 1 {
            findings.push(format!(
                "operationId {id} is used by {}: make each operationId unique",
                places.join(" and ")
            ));
        }
    }

    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            for (prop, def) in schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if def.get("$ref").is_some() {
                    continue;
                }
                if def.get("type").is_none()
                    && def.get("allOf").is_none()
                    && def.get("oneOf").is_none()
                {
                    findings.push(format!(
                        "schema {name}: property {prop} has no type: add `type:`"
                    ));
                }
                if def
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    findings.push(format!(
                        "schema {name}: property {prop} has no description: add `description:` (it becomes the Rust field's doc)"
                    ));
                }
            }
        }
    }

    enum_names(doc, "", &mut findings);

    let mut references = Vec::new();
    spec::refs(doc, &mut references);
    let referenced: BTreeSet<String> = references.iter().cloned().collect();
    for reference in &referenced {
        if spec::resolve(doc, reference).is_none() {
            findings.push(format!(
                "$ref {reference} points nowhere: add the component or fix the reference"
            ));
        }
    }
    let used_schemes = spec::used_security_schemes(doc);
    if let Some(components) = doc.get("components").and_then(Value::as_object) {
        for (section, entries) in components {
            for name in entries.as_object().into_iter().flatten().map(|(n, _)| n) {
                let used = if section == "securitySchemes" {
                    used_schemes.contains(name)
                } else {
                    referenced.contains(&format!(
                        "#/components/{section}/{}",
                        spec::pointer_token(name)
                    ))
                };
                if !used {
                    findings.push(format!(
                        "component {section}/{name} is not used: remove it (cargo xtask import drops unused components)"
                    ));
                }
            }
        }
    }
    findings
}

/// String enums whose values progenitor cannot turn into readable Rust
/// variant names: two values with the same name once punctuation and case
/// are dropped (`created_at` and `-created_at` both read `CreatedAt`, so
/// typify falls back to names like `CreatedXat` and `XcreatedXat`), or a
/// value that does not start with a letter (it gets an `X` prefix).
fn enum_names(value: &Value, pointer: &str, findings: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(values) = map.get("enum").and_then(Value::as_array) {
                let texts: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
                let mut by_name: BTreeMap<String, Vec<&str>> = BTreeMap::new();
                for text in &texts {
                    by_name.entry(variant(text)).or_default().push(text);
                }
                let clashes: Vec<String> = by_name
                    .iter()
                    .filter(|(_, v)| v.len() > 1)
                    .map(|(name, v)| format!("{} all read {name}", v.join(", ")))
                    .collect();
                let unlettered: Vec<&str> = texts
                    .iter()
                    .filter(|t| {
                        !t.chars()
                            .find(|c| c.is_alphanumeric())
                            .is_some_and(char::is_alphabetic)
                    })
                    .copied()
                    .collect();
                if !clashes.is_empty() || !unlettered.is_empty() {
                    let mut why = clashes;
                    if !unlettered.is_empty() {
                        why.push(format!(
                            "{} start(s) with no letter and get an X prefix",
                            unlettered.join(", ")
                        ));
                    }
                    findings.push(format!(
                        "the enum of {} makes Rust variant names that read badly ({}; progenitor then generates names such as CreatedXat): add a local adjustment that makes it a plain string, `op: remove` at `{pointer}/enum`, and list the values in its description",
                        place(pointer),
                        why.join("; ")
                    ));
                }
            }
            for (key, child) in map {
                enum_names(
                    child,
                    &format!("{pointer}/{}", spec::pointer_token(key)),
                    findings,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                enum_names(child, &format!("{pointer}/{i}"), findings);
            }
        }
        _ => {}
    }
}

/// The Rust variant name of an enum value, punctuation and case dropped.
fn variant(text: &str) -> String {
    crate::diff::rust_type(&text.replace(|c: char| !c.is_alphanumeric(), " "))
}

/// Where a JSON pointer is, in words: a parameter, a schema's field.
fn place(pointer: &str) -> String {
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    match parts
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["paths", path, method, "parameters", index, ..] => {
            format!("parameter {index} of {} {path}", method.to_uppercase())
        }
        ["components", "parameters", name, ..] => format!("parameter {name}"),
        ["components", "schemas", name, "properties", prop, ..] => {
            format!("schema {name} field {prop}")
        }
        _ => pointer.to_owned(),
    }
}

/// The body schema of a response, as text to compare: its `$ref`, its inline
/// schema, or `none`.
fn body_type(doc: &Value, response: &Value) -> String {
    let response = match response.get("$ref").and_then(Value::as_str) {
        Some(r) => spec::resolve(doc, r).unwrap_or(response),
        None => response,
    };
    match response.pointer("/content/application~1json/schema") {
        Some(schema) => schema
            .get("$ref")
            .and_then(Value::as_str)
            .map_or_else(|| schema.to_string(), str::to_owned),
        None => "none".to_owned(),
    }
}

/// Runs the task on the committed spec.
pub fn run() -> Result<(), String> {
    let text = workspace::read(spec::SPEC_PATH)?;
    let doc = spec::parse(&text, spec::SPEC_PATH)?;
    let findings = check(&doc);
    if findings.is_empty() {
        println!("lint: {} passes every check", spec::SPEC_PATH);
        Ok(())
    } else {
        for f in &findings {
            println!("lint: {f}");
        }
        Err(format!(
            "{} lint finding(s) in {}",
            findings.len(),
            spec::SPEC_PATH
        ))
    }
}
