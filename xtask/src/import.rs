//! `cargo xtask import`: from the full upstream spec to the committed one, by
//! keeping the API-key operations and what they reference, applying the local
//! adjustments, and normalising.

use std::{collections::BTreeSet, fs};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    spec::{self, METHODS},
    upstream::{self, Selection},
    workspace,
};

/// One local adjustment: a JSON Patch operation and why it is needed.
#[derive(Debug, Deserialize)]
struct Adjustment {
    why: String,
    #[serde(flatten)]
    operation: json_patch::PatchOperation,
}

/// What `import` did, for the report.
#[derive(Debug, Default)]
pub struct Report {
    /// operationIds kept.
    pub kept_operations: Vec<String>,
    /// operationIds left out.
    pub dropped_operations: Vec<String>,
    /// Components kept, as `section/name`.
    pub kept_components: Vec<String>,
    /// Components left out, as `section/name`.
    pub dropped_components: Vec<String>,
    /// The reason of each local adjustment applied.
    pub adjustments: Vec<String>,
    /// The reason of each local adjustment that changed nothing: upstream
    /// now does the same itself.
    pub redundant: Vec<String>,
}

/// Extracts, adjusts and normalises; returns the new spec and a report.
pub fn extract(
    upstream: &Value,
    selection: &Selection,
    adjustments: &str,
) -> Result<(Value, Report), String> {
    let version = upstream
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !version.starts_with("3.0.") {
        return Err(format!(
            "the upstream spec is OpenAPI {version:?}; progenitor needs 3.0.x"
        ));
    }
    let mut report = Report::default();
    let mut paths = Map::new();
    let mut tags_used = BTreeSet::new();
    let upstream_paths = upstream
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("the upstream spec has no paths")?;
    for (path, item) in upstream_paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        let mut kept_item = Map::new();
        for (key, value) in item {
            if !METHODS.contains(&key.as_str()) {
                continue;
            }
            let id = value
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("(no operationId)")
                .to_owned();
            let tags: Vec<&str> = value
                .get("tags")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let keep = match selection {
                Selection::Ids(ids) => ids.contains(&id),
                Selection::Tag(tag) => tags.contains(&tag.as_str()),
            };
            if keep {
                tags_used.extend(tags.iter().map(|t| (*t).to_owned()));
                kept_item.insert(key.clone(), value.clone());
                report.kept_operations.push(id);
            } else {
                report.dropped_operations.push(id);
            }
        }
        if !kept_item.is_empty() {
            // Path-level fields (shared parameters, summary) go with their operations.
            for (key, value) in item {
                if !METHODS.contains(&key.as_str()) {
                    kept_item.insert(key.clone(), value.clone());
                }
            }
            paths.insert(path.clone(), Value::Object(kept_item));
        }
    }
    if let Selection::Ids(ids) = selection {
        let missing: Vec<&String> = ids
            .iter()
            .filter(|i| !report.kept_operations.contains(i))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the upstream spec lacks the operations {missing:?}"
            ));
        }
    }
    if report.kept_operations.is_empty() {
        return Err("no operation matched the selection".to_owned());
    }

    let mut out = Map::new();
    for key in ["openapi", "info", "servers", "externalDocs"] {
        if let Some(v) = upstream.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    out.insert("paths".to_owned(), Value::Object(paths));
    if let Some(tags) = upstream.get("tags").and_then(Value::as_array) {
        let kept: Vec<Value> = tags
            .iter()
            .filter(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| tags_used.contains(n))
            })
            .cloned()
            .collect();
        if !kept.is_empty() {
            out.insert("tags".to_owned(), Value::Array(kept));
        }
    }
    let security = upstream.get("security").cloned();
    if let Some(security) = &security {
        out.insert("security".to_owned(), security.clone());
    }
    let mut doc = Value::Object(out);
    copy_closure(upstream, &mut doc, &mut report)?;

    for adjustment in parse_adjustments(adjustments)? {
        let before = doc.clone();
        json_patch::patch(&mut doc, std::slice::from_ref(&adjustment.operation)).map_err(|e| {
            format!(
                "local adjustment \"{}\" does not apply: {e}",
                adjustment.why
            )
        })?;
        if doc == before {
            report.redundant.push(adjustment.why.clone());
        }
        report.adjustments.push(adjustment.why);
    }
    // An adjustment may reference a component the operations did not.
    copy_closure(upstream, &mut doc, &mut Report::default())?;
    Ok((doc, report))
}

fn parse_adjustments(text: &str) -> Result<Vec<Adjustment>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_yaml_ng::from_str(text).map_err(|e| format!("{}: {e}", spec::ADJUSTMENTS_PATH))
}

/// Copies into `doc.components` every component reachable by `$ref` from
/// `doc`, and the security schemes its security requirements name.
fn copy_closure(upstream: &Value, doc: &mut Value, report: &mut Report) -> Result<(), String> {
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut queue = Vec::new();
    spec::refs(doc, &mut queue);
    while let Some(reference) = queue.pop() {
        if !wanted.insert(reference.clone()) {
            continue;
        }
        let target = spec::resolve(upstream, &reference)
            .or_else(|| spec::resolve(doc, &reference))
            .ok_or_else(|| format!("$ref {reference} does not resolve in the upstream spec"))?;
        spec::refs(target, &mut queue);
    }
    let schemes = spec::used_security_schemes(doc);
    for scheme in schemes {
        wanted.insert(format!("#/components/securitySchemes/{scheme}"));
    }

    let mut components = doc
        .get("components")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for reference in &wanted {
        let Some(rest) = reference.strip_prefix("#/components/") else {
            return Err(format!(
                "$ref {reference} is not a component; only #/components/… is supported"
            ));
        };
        let (section, name) = rest
            .split_once('/')
            .ok_or_else(|| format!("$ref {reference} names no component"))?;
        let name = name.replace("~1", "/").replace("~0", "~");
        let value = spec::resolve(upstream, reference)
            .or_else(|| spec::resolve(doc, reference))
            .cloned()
            .ok_or_else(|| format!("component {reference} is missing"))?;
        let section = components
            .entry(section.to_owned())
            .or_insert_with(|| json!({}));
        if let Some(section) = section.as_object_mut() {
            section.entry(name).or_insert(value);
        }
    }
    if let Some(all) = upstream.get("components").and_then(Value::as_object) {
        for (section, entries) in all {
            for name in entries.as_object().into_iter().flatten().map(|(n, _)| n) {
                let id = format!("{section}/{name}");
                let kept = components.get(section).and_then(|s| s.get(name)).is_some();
                if kept {
                    report.kept_components.push(id);
                } else {
                    report.dropped_components.push(id);
                }
            }
        }
    }
    if !components.is_empty() {
        doc.as_object_mut()
            .ok_or("the spec is not a mapping")?
            .insert("components".to_owned(), Value::Object(components));
    }
    Ok(())
}

/// Runs the task: reads `from`, writes the committed spec, prints the report.
pub fn run(from: &str, selection: &Selection, dry_run: bool) -> Result<(), String> {
    let upstream_text = spec::load_text(from)?;
    let upstream = spec::parse(&upstream_text, from)?;
    let adjustments = workspace::read(spec::ADJUSTMENTS_PATH)?;
    let (doc, report) = extract(&upstream, selection, &adjustments)?;
    let text = spec::to_yaml(&doc)?;
    for (verb, what, items) in [
        ("kept", "operations", &report.kept_operations),
        ("dropped", "operations", &report.dropped_operations),
        ("kept", "components", &report.kept_components),
        ("dropped", "components", &report.dropped_components),
    ] {
        println!("{verb} {} {what}{}", items.len(), list_suffix(items));
    }
    println!("applied {} local adjustments:", report.adjustments.len());
    for why in &report.adjustments {
        println!("  - {why}");
    }
    for why in &report.redundant {
        println!(
            "REDUNDANT adjustment (upstream now does the same itself; delete it from {}): {why}",
            spec::ADJUSTMENTS_PATH
        );
    }
    let target = workspace::root().join(spec::SPEC_PATH);
    let current = fs::read_to_string(&target).unwrap_or_default();
    if !dry_run {
        let record = upstream::record(&upstream_text, from, &upstream, selection)?;
        println!(
            "recorded the upstream in {} (h2oGPTe {}, sha256 {}) and {}",
            record.file,
            record.version,
            &record.sha256[..12],
            upstream::RECORD_PATH
        );
    }
    if current == text {
        println!("{} is unchanged", spec::SPEC_PATH);
    } else if dry_run {
        println!(
            "{} would change (dry run: nothing written)",
            spec::SPEC_PATH
        );
    } else {
        let findings = spec::parse(&text, spec::SPEC_PATH)
            .map(|doc| crate::lint::check(&doc))
            .unwrap_or_default();
        fs::write(&target, text).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        crate::copies::run()?;
        println!(
            "wrote {}; next (MAINTAINING.md steps 2 and 3): cargo xtask diff, then cargo xtask regen",
            spec::SPEC_PATH
        );
        // What regen would stop on, said now, while the local adjustments
        // are the place to mend it.
        for finding in &findings {
            println!("import: before regen, mend: {finding}");
        }
    }
    Ok(())
}

fn list_suffix(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(": {}", items.join(", "))
    }
}
