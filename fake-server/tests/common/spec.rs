//! Validates response bodies against the spec itself: the documented statuses
//! of each operation and the JSON Schema of each body, with undocumented
//! fields rejected and `date-time` formats checked.

use openapiv3::{OpenAPI, ReferenceOr};
use serde_json::{Value, json};

pub struct SpecValidator {
    spec: OpenAPI,
    /// `components.schemas` as JSON, each closed to undocumented fields.
    schemas: Value,
}

impl SpecValidator {
    pub fn load() -> Self {
        let spec: OpenAPI =
            serde_yaml_ng::from_str(h2ogpte_fake_server::SPEC_YAML).expect("spec parses");
        let mut raw: Value =
            serde_yaml_ng::from_str(h2ogpte_fake_server::SPEC_YAML).expect("spec parses as JSON");
        let mut schemas = raw["components"]["schemas"].take();
        for schema in schemas.as_object_mut().expect("schemas").values_mut() {
            schema["additionalProperties"] = json!(false);
        }
        Self { spec, schemas }
    }

    /// Checks that `status` is documented for the operation at `method` and
    /// `path_template` and that `body` matches its schema (or is empty when
    /// the spec documents no body).
    pub fn check(
        &self,
        method: &str,
        path_template: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), String> {
        let item = self
            .spec
            .paths
            .paths
            .get(path_template)
            .and_then(ReferenceOr::as_item)
            .ok_or_else(|| format!("{path_template} is not in the spec"))?;
        let op = item
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(method))
            .map(|(_, op)| op)
            .ok_or_else(|| format!("{method} {path_template} is not in the spec"))?;
        let id = op.operation_id.as_deref().unwrap_or("?");
        let response = op
            .responses
            .responses
            .get(&openapiv3::StatusCode::Code(status))
            .ok_or_else(|| format!("{id}: status {status} is not documented"))?;
        let response = match response {
            ReferenceOr::Item(r) => r.clone(),
            ReferenceOr::Reference { reference } => {
                let name = reference.rsplit('/').next().unwrap_or_default();
                self.spec
                    .components
                    .as_ref()
                    .and_then(|c| c.responses.get(name))
                    .and_then(ReferenceOr::as_item)
                    .cloned()
                    .ok_or_else(|| format!("{reference} does not resolve"))?
            }
        };
        let Some(media) = response.content.get("application/json") else {
            return if body.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{id} {status}: the spec documents no body, got {}",
                    String::from_utf8_lossy(body)
                ))
            };
        };
        let instance: Value = serde_json::from_slice(body).map_err(|e| {
            format!(
                "{id} {status}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(body)
            )
        })?;
        let schema =
            serde_json::to_value(media.schema.as_ref().expect("schema")).expect("schema as JSON");
        let mut errors = Vec::new();
        self.validate(&schema, &instance, "", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{id} {status}: body breaks the spec: {errors:?}\nbody: {instance}"
            ))
        }
    }

    /// Checks `instance` against `schema`, noting every violation with its
    /// place. It reads the keywords this spec's schemas use and refuses any
    /// other, so a new construct upstream fails here instead of passing
    /// unchecked.
    fn validate(&self, schema: &Value, instance: &Value, at: &str, errors: &mut Vec<String>) {
        const KNOWN: [&str; 10] = [
            "$ref",
            "type",
            "properties",
            "required",
            "items",
            "format",
            "description",
            "example",
            "additionalProperties",
            "title",
        ];
        let Some(keywords) = schema.as_object() else {
            errors.push(format!("{at}: the schema is not an object: {schema}"));
            return;
        };
        for keyword in keywords.keys() {
            if !KNOWN.contains(&keyword.as_str()) {
                errors.push(format!(
                    "{at}: schema keyword `{keyword}` is not read by fake-server/tests/common/spec.rs: teach it"
                ));
            }
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            match reference
                .strip_prefix("#/components/schemas/")
                .and_then(|name| self.schemas.get(name))
            {
                Some(target) => self.validate(target, instance, at, errors),
                None => errors.push(format!("{at}: {reference} does not resolve")),
            }
            return;
        }
        if let Some(kind) = schema.get("type").and_then(Value::as_str) {
            let fits = match kind {
                "object" => instance.is_object(),
                "array" => instance.is_array(),
                "string" => instance.is_string(),
                "integer" => instance.is_i64() || instance.is_u64(),
                "number" => instance.is_number(),
                "boolean" => instance.is_boolean(),
                other => {
                    errors.push(format!("{at}: unknown type `{other}` in the schema"));
                    return;
                }
            };
            if !fits {
                errors.push(format!("{at}: {instance} is not of type {kind}"));
                return;
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time")
            && let Some(text) = instance.as_str()
            && chrono::DateTime::parse_from_rfc3339(text).is_err()
        {
            errors.push(format!("{at}: {text:?} is not a date-time"));
        }
        if let Some(fields) = instance.as_object() {
            let properties = schema.get("properties").and_then(Value::as_object);
            for (name, value) in fields {
                match properties.and_then(|p| p.get(name)) {
                    Some(property) => {
                        self.validate(property, value, &format!("{at}/{name}"), errors)
                    }
                    None if schema.get("additionalProperties") == Some(&json!(false)) => {
                        errors.push(format!("{at}: undocumented field `{name}`"));
                    }
                    None => {}
                }
            }
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !fields.contains_key(name) {
                    errors.push(format!("{at}: required field `{name}` is missing"));
                }
            }
        }
        if let (Some(items), Some(elements)) = (schema.get("items"), instance.as_array()) {
            for (i, element) in elements.iter().enumerate() {
                self.validate(items, element, &format!("{at}/{i}"), errors);
            }
        }
    }
}

#[test]
fn the_validator_refuses_what_the_spec_does_not_allow() {
    let spec = SpecValidator::load();
    let list = |body: Value| spec.check("get", "/admin/api_keys", 200, body.to_string().as_bytes());
    let key = json!({
        "id": "k", "name": "n", "hint": "sk-...cdef", "username": "u", "created_at": "2026-01-02T03:04:05Z",
        "is_active": true, "is_global_key": false,
    });
    assert!(
        list(json!([key])).is_ok(),
        "a valid key: {:?}",
        list(json!([key]))
    );
    let mut extra = key.clone();
    // A name no release will document (the worked release adds owner_email).
    extra["undocumented_probe_field"] = json!("x");
    let mut wrong_type = key.clone();
    wrong_type["is_active"] = json!("yes");
    let mut bad_date = key.clone();
    bad_date["created_at"] = json!("yesterday");
    let mut null_name = key.clone();
    null_name["name"] = Value::Null;
    for (what, body) in [
        ("an undocumented field", json!([extra])),
        ("a wrong type", json!([wrong_type])),
        ("a date that is not one", json!([bad_date])),
        ("null where the spec says string", json!([null_name])),
        ("an object where the spec says array", key.clone()),
    ] {
        assert!(list(body).is_err(), "{what} passed");
    }
    for field in spec.schemas["APIKeyInfo"]["required"]
        .as_array()
        .expect("APIKeyInfo lists its required fields")
        .iter()
        .filter_map(Value::as_str)
    {
        let mut without = key.clone();
        without.as_object_mut().expect("an object").remove(field);
        assert!(
            list(json!([without])).is_err(),
            "a key without {field} passed"
        );
    }
    assert!(
        spec.check("delete", "/admin/api_keys/{key_id}", 204, b"{}")
            .is_err(),
        "a body where the spec documents none passed"
    );
}
