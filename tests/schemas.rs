//! The JSON Schema of every generated model (from schemars) agrees with its
//! component in the spec: same properties, types and required set. With
//! `UPDATE_SCHEMAS=1` (what `cargo xtask schema` sets) the schemas are written
//! to `openapi/schemas/`; otherwise a stale file there fails the test.

use std::{collections::BTreeMap, fs, path::Path};

use h2ogpte_api_keys::types;
use serde_json::Value;

const SPEC: &str = include_str!("../openapi/h2ogpte-api-keys.yaml");

/// (component name in the spec, schema generated from the Rust type)
fn models() -> Vec<(&'static str, Value)> {
    fn of<T: schemars::JsonSchema>() -> Value {
        schemars::schema_for!(T).to_value()
    }
    vec![
        ("APIKeyCreateRequest", of::<types::ApiKeyCreateRequest>()),
        ("APIKeyInfo", of::<types::ApiKeyInfo>()),
        ("APIKeyResult", of::<types::ApiKeyResult>()),
        (
            "APIKeyUpdateExpiryRequest",
            of::<types::ApiKeyUpdateExpiryRequest>(),
        ),
        (
            "APIKeyUpdateInactivityIntervalRequest",
            of::<types::ApiKeyUpdateInactivityIntervalRequest>(),
        ),
        ("EndpointError", of::<types::EndpointError>()),
    ]
}

/// A property's type as comparable text: the JSON type without `null`, the
/// format where it names a Rust type (date-time, password), or the referenced
/// model's name in lower case.
fn type_of(property: &Value) -> String {
    if let Some(r) = property.get("$ref").and_then(Value::as_str) {
        return format!("ref {}", r.rsplit('/').next().unwrap_or(r).to_lowercase());
    }
    if let Some(any) = property.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = any
            .iter()
            .filter(|v| v.get("type") != Some(&Value::from("null")))
            .collect();
        if let [only] = non_null.as_slice() {
            return type_of(only);
        }
    }
    let base = match property.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join("|"),
        _ => "any".to_owned(),
    };
    match property.get("format").and_then(Value::as_str) {
        Some(f @ ("date-time" | "password")) => format!("{base} {f}"),
        _ => base,
    }
}

fn shape(schema: &Value) -> (BTreeMap<String, String>, Vec<String>) {
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), type_of(v))).collect())
        .unwrap_or_default();
    let mut required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    required.sort();
    (props, required)
}

#[test]
fn generated_schemas_agree_with_the_spec_and_are_written() {
    let spec: Value = serde_yaml_ng::from_str(SPEC).expect("spec parses");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/schemas");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    for (name, generated) in models() {
        let component = &spec["components"]["schemas"][name];
        assert!(component.is_object(), "{name} is not in the spec");
        assert_eq!(
            shape(&generated),
            shape(component),
            "{name}: the Rust type and the spec disagree"
        );

        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&generated).expect("JSON") + "\n";
        if update {
            fs::create_dir_all(&dir).expect("create openapi/schemas");
            fs::write(&path, &text).expect("write schema");
        } else {
            let on_disk = fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == text,
                "{} is stale: run `cargo xtask schema`",
                path.display()
            );
        }
    }
    let in_spec = spec["components"]["schemas"]
        .as_object()
        .map_or(0, serde_json::Map::len);
    assert_eq!(
        in_spec,
        models().len(),
        "every model of the spec is checked"
    );
    if !update {
        let files = fs::read_dir(&dir).expect("openapi/schemas exists").count();
        assert_eq!(
            files,
            models().len(),
            "openapi/schemas holds a schema per model, no more"
        );
    }
}
