//! Every response example in the spec decodes into the generated types; extra
//! fields are tolerated and a missing required field is an error naming it.

use h2ogpte_api_keys::types::{ApiKeyInfo, ApiKeyResult, EndpointError};
use openapiv3::{OpenAPI, ReferenceOr, Response, Schema, SchemaKind, Type};
use serde_json::{Value, json};

const SPEC: &str = include_str!("../openapi/h2ogpte-api-keys.yaml");

fn spec() -> OpenAPI {
    serde_yaml_ng::from_str(SPEC).expect("spec parses")
}

fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// Decodes `example` as the generated type named by the schema.
fn decode(schema: &ReferenceOr<Schema>, example: &Value) -> Result<(), String> {
    match schema {
        ReferenceOr::Reference { reference } => decode_named(ref_name(reference), example),
        ReferenceOr::Item(Schema {
            schema_kind: SchemaKind::Type(Type::Array(array)),
            ..
        }) => {
            let items = array.items.as_ref().ok_or("array without items")?;
            let ReferenceOr::Reference { reference } = items else {
                return Err("inline array items".into());
            };
            let values = example.as_array().ok_or("example is not an array")?;
            assert!(
                !values.is_empty(),
                "an array example should show an element"
            );
            values
                .iter()
                .try_for_each(|v| decode_named(ref_name(reference), v))
        }
        ReferenceOr::Item(other) => Err(format!("no decoder for inline schema {other:?}")),
    }
}

fn decode_named(name: &str, value: &Value) -> Result<(), String> {
    let v = value.clone();
    let result = match name {
        "APIKeyResult" => serde_json::from_value::<ApiKeyResult>(v).map(drop),
        "APIKeyInfo" => serde_json::from_value::<ApiKeyInfo>(v).map(drop),
        "EndpointError" => serde_json::from_value::<EndpointError>(v).map(drop),
        other => return Err(format!("no generated type mapped for schema {other}")),
    };
    result.map_err(|e| format!("{name}: {e}"))
}

#[test]
fn every_response_example_decodes() {
    let spec = spec();
    let components = spec.components.as_ref().expect("components");
    let mut decoded = Vec::new();
    for (path, item) in spec.paths.iter() {
        let item = item.as_item().expect("inline path item");
        for (method, op) in item.iter() {
            let id = op.operation_id.as_deref().expect("operationId");
            for (status, response) in &op.responses.responses {
                let response: &Response = match response {
                    ReferenceOr::Item(r) => r,
                    ReferenceOr::Reference { reference } => components
                        .responses
                        .get(ref_name(reference))
                        .and_then(ReferenceOr::as_item)
                        .expect("response reference resolves"),
                };
                for media in response.content.values() {
                    let schema = media.schema.as_ref().expect("schema");
                    let example = media
                        .example
                        .as_ref()
                        .unwrap_or_else(|| panic!("{method} {path} {status}: no example"));
                    decode(schema, example)
                        .unwrap_or_else(|e| panic!("{id} {status} example does not decode: {e}"));
                    decoded.push(format!("{id} {status}"));
                }
            }
        }
    }
    // As many as the spec documents response bodies, counted from the raw
    // document (not pinned: a newly documented status changes both), and
    // never none.
    let expected = documented_bodies();
    assert!(expected > 0, "the spec documents no response body");
    assert_eq!(decoded.len(), expected, "decoded: {decoded:#?}");
}

/// The response bodies the spec documents: every media type of every
/// response of every operation, `$ref`s followed, read from the YAML as
/// plain data.
fn documented_bodies() -> usize {
    let raw: Value = serde_yaml_ng::from_str(SPEC).expect("spec parses");
    let resolve = |r: &Value| -> Value {
        match r.get("$ref").and_then(Value::as_str) {
            Some(reference) => raw
                .pointer(reference.trim_start_matches('#'))
                .cloned()
                .unwrap_or(Value::Null),
            None => r.clone(),
        }
    };
    let paths = raw["paths"].as_object().expect("paths");
    paths
        .values()
        .flat_map(|item| item.as_object().into_iter().flatten())
        .filter_map(|(_, op)| op.get("responses")?.as_object())
        .flat_map(|responses| responses.values())
        .map(|response| {
            resolve(response)
                .get("content")
                .and_then(Value::as_object)
                .map_or(0, |content| content.len())
        })
        .sum()
}

fn key_info() -> Value {
    json!({
        "id": "k1", "username": "alice", "name": "n", "hint": "abcd",
        "created_at": "2026-11-02T09:14:07Z", "total_calls": 3,
        "is_active": true, "is_global_key": true
    })
}

#[test]
fn unknown_fields_are_tolerated() {
    let mut value = key_info();
    value["future_field"] = json!({"nested": [1, 2]});
    value["another"] = json!(null);
    let info: ApiKeyInfo = serde_json::from_value(value).expect("extra fields are ignored");
    assert_eq!(info.total_calls, Some(3));

    let error: EndpointError =
        serde_json::from_value(json!({"code": 409, "message": "m", "trace_id": "t"}))
            .expect("extra fields are ignored");
    assert_eq!(error.code, 409);
}

#[test]
fn missing_required_field_is_an_error_naming_it() {
    for field in [
        "id",
        "username",
        "name",
        "hint",
        "created_at",
        "is_active",
        "is_global_key",
    ] {
        let mut value = key_info();
        value.as_object_mut().expect("object").remove(field);
        let err = serde_json::from_value::<ApiKeyInfo>(value)
            .expect_err(field)
            .to_string();
        assert!(
            err.contains(&format!("missing field `{field}`")),
            "{field}: {err}"
        );
    }
    let err = serde_json::from_value::<ApiKeyResult>(json!({"api_key": key_info()}))
        .expect_err("secret_key is required")
        .to_string();
    assert!(err.contains("missing field `secret_key`"), "{err}");
}

#[test]
fn optional_fields_are_left_out_when_serialising() {
    let info: ApiKeyInfo = serde_json::from_value(key_info()).expect("decodes");
    let out = serde_json::to_value(&info).expect("encodes");
    assert_eq!(out, key_info(), "no null for unset optional fields");
}

/// A list as a server before h2oGPTe 1.7.0 sends it: no `total_calls`,
/// `last_used_at` or `inactivity_interval` (the 1.6 client's `APIKeyInfo`),
/// and `null` for an absent collection, as its serialiser writes.
#[test]
fn a_list_from_a_server_before_1_7_decodes() {
    let body = include_str!("fixtures/list-h2ogpte-1.6.json");
    let keys: Vec<ApiKeyInfo> = serde_json::from_str(body).expect("a 1.6 list decodes");
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k.total_calls.is_none() && k.last_used_at.is_none()),
        "{keys:?}"
    );
    assert_eq!(
        keys[1].collection_name.as_deref(),
        Some("Quarterly reports")
    );
}
