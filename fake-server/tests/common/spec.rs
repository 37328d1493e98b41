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
        let mut root = schema;
        root["components"] = json!({ "schemas": self.schemas });
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("{id} {status}: schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{id} {status}: body breaks the spec: {errors:?}\nbody: {instance}"
            ))
        }
    }
}
