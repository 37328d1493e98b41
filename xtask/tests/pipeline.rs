//! The maintainer pipeline: import extracts exactly the API-key closure of
//! the recorded upstream and reproduces the committed spec, diff classifies
//! each kind of change for the wire and for Rust, lint catches each rule.
//! Facts about the spec are read from the spec and the record, never pinned.

use std::fs;

use serde_json::{Value, json};
use xtask::{
    compiled::Compiled,
    diff::{self, Impact},
    import, lint,
    semver::Level,
    spec, upstream,
    upstream::Selection,
    workspace,
};

fn read(path: &str) -> String {
    fs::read_to_string(workspace::root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The upstream the committed spec was imported from, as recorded.
fn upstream() -> Value {
    upstream::read()
        .and_then(|record| record.upstream())
        .expect("the recorded upstream reads and matches its digest")
}

/// Every component of a spec, as `section/name`, sorted.
fn components(spec: &Value) -> Vec<String> {
    let mut out: Vec<String> = spec
        .get("components")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .flat_map(|(section, entries)| {
            entries
                .as_object()
                .into_iter()
                .flatten()
                .map(move |(name, _)| format!("{section}/{name}"))
        })
        .collect();
    out.sort();
    out
}

/// Every operationId of a spec, sorted.
fn operation_ids(spec: &Value) -> Vec<String> {
    let mut ids: Vec<String> = spec::operations(spec)
        .into_iter()
        .filter_map(|(_, _, op)| op.get("operationId")?.as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

fn committed() -> Value {
    spec::parse(&read(spec::SPEC_PATH), spec::SPEC_PATH).expect("spec parses")
}

/// An error status the committed spec does not document for listing keys,
/// so a test can document it whatever the release.
fn undocumented_status() -> &'static str {
    let spec = committed();
    let responses = &spec["paths"]["/admin/api_keys"]["get"]["responses"];
    ["500", "503", "502", "504", "507", "418"]
        .into_iter()
        .find(|status| responses.get(status).is_none())
        .expect("an undocumented status")
}

/// The default selection: every operation tagged "API Keys".
fn api_keys_tag() -> Selection {
    Selection::default()
}

#[test]
fn import_from_the_full_upstream_reproduces_the_committed_spec() {
    let (doc, report) =
        import::extract(&upstream(), &api_keys_tag(), &read(spec::ADJUSTMENTS_PATH))
            .expect("imports");
    assert_eq!(
        spec::to_yaml(&doc).expect("yaml"),
        read(spec::SPEC_PATH),
        "byte for byte"
    );
    let ops = |v: &Value| -> Vec<(String, String, Value)> {
        spec::operations(v)
            .into_iter()
            .map(|(p, m, o)| (p, m, Value::Object(o.clone())))
            .collect()
    };
    assert_eq!(ops(&doc), ops(&committed()), "the operations exactly");

    let mut kept = report.kept_components.clone();
    kept.sort();
    assert_eq!(
        kept,
        components(&committed()),
        "what the spec holds, no more"
    );
    let mut dropped = report.dropped_components.clone();
    dropped.sort();
    let expected: Vec<String> = components(&upstream())
        .into_iter()
        .filter(|c| !kept.contains(c))
        .collect();
    assert_eq!(dropped, expected, "the rest of upstream");
    assert!(!dropped.is_empty(), "upstream has components of other tags");
    let mut kept_ops = report.kept_operations.clone();
    kept_ops.sort();
    assert_eq!(
        kept_ops,
        operation_ids(&committed()),
        "every operation tagged API Keys"
    );
    let mut dropped_ops = report.dropped_operations.clone();
    dropped_ops.sort();
    let others: Vec<String> = operation_ids(&upstream())
        .into_iter()
        .filter(|o| !kept_ops.contains(o))
        .collect();
    assert_eq!(dropped_ops, others);
    let adjustments: Vec<Value> =
        serde_yaml_ng::from_str(&read(spec::ADJUSTMENTS_PATH)).expect("adjustments parse");
    assert_eq!(report.adjustments.len(), adjustments.len());
    assert!(report.redundant.is_empty(), "{:?}", report.redundant);
    assert!(
        doc.get("tags")
            .and_then(Value::as_array)
            .is_some_and(|t| t.len() == 1),
        "only the used tag"
    );
}

#[test]
fn import_by_tag_and_of_the_committed_spec_are_the_same() {
    let adjustments = read(spec::ADJUSTMENTS_PATH);
    let (by_tag, _) = import::extract(
        &upstream(),
        &Selection::Tag("API Keys".into()),
        &adjustments,
    )
    .expect("by tag");
    let (again, _) =
        import::extract(&committed(), &api_keys_tag(), &adjustments).expect("re-import");
    assert_eq!(by_tag, committed());
    assert_eq!(
        again,
        committed(),
        "adjustments are idempotent: check relies on it"
    );
}

#[test]
fn import_refuses_what_it_cannot_use() {
    let mut v31 = upstream();
    v31["openapi"] = json!("3.1.0");
    let err = import::extract(&v31, &api_keys_tag(), "").expect_err("3.1");
    assert!(err.contains("3.0.x"), "{err}");
    let err = import::extract(&upstream(), &Selection::Ids(vec!["nope".into()]), "")
        .expect_err("missing op");
    assert!(err.contains("nope"), "{err}");
    let mut dangling = upstream();
    dangling["paths"]["/admin/api_keys"]["get"]["responses"]["401"] =
        json!({"$ref": "#/components/responses/Gone"});
    let err = import::extract(&dangling, &api_keys_tag(), "").expect_err("dangling");
    assert!(err.contains("#/components/responses/Gone"), "{err}");
    let bad_patch = "- why: test\n  op: add\n  path: /paths/~1nowhere/get/x\n  value: 1\n";
    let err = import::extract(&upstream(), &api_keys_tag(), bad_patch).expect_err("patch");
    assert!(err.contains("local adjustment \"test\""), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn import_from_a_url_serving_the_spec() {
    let server = h2ogpte_fake_server::FakeServer::start()
        .await
        .expect("server");
    let url = format!("{}/api-spec.yaml", server.url());
    let fetched = tokio::task::spawn_blocking(move || spec::load(&url))
        .await
        .expect("join")
        .expect("fetch");
    let (doc, _) =
        import::extract(&fetched, &api_keys_tag(), &read(spec::ADJUSTMENTS_PATH)).expect("import");
    assert_eq!(spec::to_yaml(&doc).expect("yaml"), read(spec::SPEC_PATH));
}

/// An edit of a spec, for the tables below.
type Edit<'a> = Box<dyn FnOnce(&mut Value) + 'a>;

/// Applies `edit` to the committed spec and classifies the change.
fn classify(edit: impl FnOnce(&mut Value)) -> Vec<diff::Change> {
    let base = committed();
    let mut new = base.clone();
    edit(&mut new);
    diff::classify(&base, &new)
}

#[test]
fn each_kind_of_change_gets_its_wire_and_rust_verdicts() {
    use Impact::{Additive, Behaviour, Breaking, None};
    const SCHEMAS: &str = "/components/schemas";
    let schemas = SCHEMAS;
    let cases: Vec<(&str, Edit, Impact, Impact, &str)> = vec![
        (
            // The response models are #[non_exhaustive]: a field added to
            // one breaks no Rust code.
            "optional response field added",
            Box::new(|s| {
                s.pointer_mut(&format!("{schemas}/APIKeyInfo/properties"))
                    .expect("props")["probe_field"] =
                    json!({"type": "string", "description": "Owner's e-mail."});
            }),
            Additive,
            Additive,
            "minor",
        ),
        (
            "operation removed",
            Box::new(|s| {
                s["paths"]["/admin/api_keys/{key_id}"]
                    .as_object_mut()
                    .expect("item")
                    .remove("delete");
            }),
            Breaking,
            Breaking,
            "major",
        ),
        (
            "operation added",
            Box::new(|s| {
                s["paths"]["/admin/api_keys/{key_id}"]["get"] = json!({
                    "operationId": "get_api_key",
                    "parameters": [{"$ref": "#/components/parameters/KeyId"}],
                    "responses": {"200": {"description": "The key.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/APIKeyInfo"}}}},
                                  "401": {"$ref": "#/components/responses/Unauthorized"}}
                });
            }),
            Additive,
            Additive,
            "minor",
        ),
        (
            "required request field added",
            Box::new(|s| {
                let schema = s
                    .pointer_mut(&format!("{schemas}/APIKeyCreateRequest"))
                    .expect("schema");
                schema["properties"]["probe_request_field"] =
                    json!({"type": "string", "description": "Team."});
                schema["required"]
                    .as_array_mut()
                    .expect("required")
                    .push(json!("probe_request_field"));
            }),
            Breaking,
            Breaking,
            "major",
        ),
        (
            "optional request field added",
            Box::new(|s| {
                s.pointer_mut(&format!("{schemas}/APIKeyCreateRequest/properties"))
                    .expect("props")["probe_request_field"] =
                    json!({"type": "string", "description": "Team."});
            }),
            Additive,
            Breaking,
            "major",
        ),
        (
            "response field removed",
            Box::new(|s| {
                s.pointer_mut(&format!("{schemas}/APIKeyInfo/properties"))
                    .expect("props")
                    .as_object_mut()
                    .expect("map")
                    .remove("last_used_at");
            }),
            Additive,
            Breaking,
            "major",
        ),
        (
            "field type changed",
            Box::new(|s| {
                if let Some(t) =
                    s.pointer_mut(&format!("{schemas}/APIKeyInfo/properties/total_calls/type"))
                {
                    *t = json!("string");
                }
            }),
            Breaking,
            Breaking,
            "major",
        ),
        (
            "format changed, JSON the same",
            Box::new(|s| {
                if let Some(p) = s.pointer_mut(&format!("{schemas}/APIKeyInfo/properties/hint")) {
                    p["format"] = json!("password");
                }
            }),
            Additive,
            Breaking,
            "major",
        ),
        (
            "optional query parameter added",
            Box::new(|s| {
                s["paths"]["/admin/api_keys"]["get"]["parameters"].as_array_mut().expect("params").push(json!({
                    "name": "probe_param", "in": "query", "required": false, "schema": {"type": "boolean"}
                }));
            }),
            Additive,
            Additive,
            "minor",
        ),
        (
            "error status documented",
            Box::new(|s| {
                s["paths"]["/admin/api_keys"]["get"]["responses"][undocumented_status()] =
                    json!({"$ref": "#/components/responses/InternalServerError"});
            }),
            Additive,
            Behaviour,
            "major",
        ),
        (
            "error status no longer documented",
            Box::new(|s| {
                s["paths"]["/admin/api_keys"]["get"]["responses"]
                    .as_object_mut()
                    .expect("responses")
                    .remove("400");
            }),
            Additive,
            Behaviour,
            "major",
        ),
        (
            "required response field added",
            Box::new(|s| {
                let schema = s
                    .pointer_mut(&format!("{schemas}/APIKeyInfo"))
                    .expect("schema");
                schema["properties"]["probe_field"] =
                    json!({"type": "string", "description": "Owner's e-mail."});
                schema["required"]
                    .as_array_mut()
                    .expect("required")
                    .push(json!("probe_field"));
            }),
            Additive,
            Additive,
            "minor",
        ),
        (
            "description reworded",
            Box::new(|s| {
                if let Some(d) =
                    s.pointer_mut(&format!("{schemas}/APIKeyInfo/properties/hint/description"))
                {
                    *d = json!("Last four characters of the secret.");
                }
            }),
            None,
            None,
            "patch",
        ),
    ];
    for (name, edit, wire, rust, semver) in cases {
        let changes = classify(edit);
        assert_eq!(changes.len(), 1, "{name}: {changes:#?}");
        assert_eq!(
            (changes[0].wire, changes[0].rust),
            (wire, rust),
            "{name}: {}",
            changes[0].what
        );
        assert_eq!(diff::verdict(&changes).as_str(), semver, "{name}");
        let report = diff::report(&changes, "0.1.0", &Compiled::NotInstalled);
        assert!(
            report.contains(&format!("semver: {semver} (from 0.1.0 to "))
                && report.contains("changelog draft:"),
            "{report}"
        );
    }
    assert!(classify(|_| {}).is_empty(), "no change, no rows");
}

#[test]
fn behaviour_changes_and_unreadable_old_servers_are_explained() {
    let documented = classify(|s| {
        s["paths"]["/admin/api_keys"]["get"]["responses"][undocumented_status()] =
            json!({"$ref": "#/components/responses/InternalServerError"});
    });
    let report = diff::report(&documented, "0.1.0", &Compiled::NotInstalled);
    assert!(report.contains("BEHAVIOUR CHANGE"), "{report}");
    assert!(
        report.contains("Error::Api instead of Error::UnexpectedStatus"),
        "{report}"
    );
    assert!(report.contains("### Changed behaviour"), "{report}");
    assert!(report.contains("## [0.2.0]"), "{report}");

    let required = classify(|s| {
        let schema = s
            .pointer_mut("/components/schemas/APIKeyInfo")
            .expect("schema");
        schema["properties"]["probe_field"] = json!({"type": "string", "description": "E-mail."});
        schema["required"]
            .as_array_mut()
            .expect("required")
            .push(json!("probe_field"));
    });
    let report = diff::report(&required, "0.1.0", &Compiled::NotInstalled);
    let row = report
        .lines()
        .find(|l| l.contains("probe_field"))
        .expect("a row");
    assert!(row.contains("older h2oGPTe releases"), "{row}");
    let changelog = report.split("changelog draft:").nth(1).expect("changelog");
    assert!(changelog.contains("older h2oGPTe releases"), "{changelog}");
}

#[test]
fn the_verdict_names_the_version_it_means() {
    for (current, verdict, next) in [
        ("0.1.0", Level::Major, "0.2.0"),
        ("0.1.0", Level::Minor, "0.1.1"),
        ("0.1.0", Level::Patch, "0.1.1"),
        ("1.4.2", Level::Major, "2.0.0"),
        ("1.4.2", Level::Minor, "1.5.0"),
        ("1.4.2", Level::Patch, "1.4.3"),
    ] {
        assert_eq!(
            diff::next_version(current, verdict).as_deref(),
            Some(next),
            "{current} {verdict}"
        );
    }
    assert_eq!(diff::next_version("x", Level::Major), None);
    let version = diff::crate_version().expect("the client crate's version");
    assert!(
        diff::next_version(&version, Level::Patch).is_some(),
        "{version} is a version"
    );
}

#[test]
fn the_committed_spec_lints_clean() {
    assert_eq!(lint::check(&committed()), Vec::<String>::new());
}

#[test]
fn lint_catches_each_rule_with_a_fix() {
    // The index a parameter added to the list operation gets.
    let index = committed()["paths"]["/admin/api_keys"]["get"]["parameters"]
        .as_array()
        .map_or(0, Vec::len);
    let enum_needle = format!(
        "the enum of parameter {index} of GET /admin/api_keys makes Rust variant names that read badly (created_at, -created_at all read CreatedAt"
    );
    let cases: Vec<(&str, Edit)> = vec![
        (
            "progenitor reads OpenAPI 3.0.x only",
            Box::new(|s| s["openapi"] = json!("3.1.0")),
        ),
        (
            "operationId list_all_api_keys is used by",
            Box::new(|s| {
                s["paths"]["/admin/api_keys"]["post"]["operationId"] = json!("list_all_api_keys")
            }),
        ),
        (
            "operation delete_api_key: its error responses have different bodies",
            Box::new(|s| {
                s["paths"]["/admin/api_keys/{key_id}"]["delete"]["responses"]["418"] = json!({
                    "description": "Teapot.",
                    "content": {"application/json": {"schema": {"type": "string"}}}
                });
            }),
        ),
        (
            // A newly documented status without an example: named by lint
            // (which regen runs first), not a panic in tests/responses.rs.
            "operation delete_api_key: response 403 has a JSON body but no example",
            Box::new(|s| {
                s["paths"]["/admin/api_keys/{key_id}"]["delete"]["responses"]["403"] = json!({
                    "description": "Forbidden.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EndpointError"}}}
                });
            }),
        ),
        (
            "operation deactivate_api_key does not document 401",
            Box::new(|s| {
                s["paths"]["/admin/api_keys/deactivate/{key_id}"]["post"]["responses"]
                    .as_object_mut()
                    .expect("responses")
                    .remove("401");
            }),
        ),
        (
            "schema EndpointError: property message has no description",
            Box::new(|s| {
                s["components"]["schemas"]["EndpointError"]["properties"]["message"]
                    .as_object_mut()
                    .expect("prop")
                    .remove("description");
            }),
        ),
        (
            "schema EndpointError: property code has no type",
            Box::new(|s| {
                s["components"]["schemas"]["EndpointError"]["properties"]["code"]
                    .as_object_mut()
                    .expect("prop")
                    .remove("type");
            }),
        ),
        (
            "$ref #/components/responses/Gone points nowhere",
            Box::new(|s| {
                s["paths"]["/admin/api_keys"]["get"]["responses"]["404"] =
                    json!({"$ref": "#/components/responses/Gone"});
            }),
        ),
        (
            &enum_needle,
            Box::new(|s| {
                s["paths"]["/admin/api_keys"]["get"]["parameters"]
                    .as_array_mut()
                    .expect("params")
                    .push(json!({"name": "probe_order", "in": "query", "required": false,
                                 "schema": {"type": "string", "enum": ["created_at", "-created_at"]}}));
            }),
        ),
        (
            "7d, 30d start(s) with no letter and get an X prefix",
            Box::new(|s| {
                s["paths"]["/admin/api_keys"]["get"]["parameters"]
                    .as_array_mut()
                    .expect("params")
                    .push(
                        json!({"name": "probe_window", "in": "query", "required": false,
                                 "schema": {"type": "string", "enum": ["7d", "30d"]}}),
                    );
            }),
        ),
        (
            "component schemas/Orphan is not used: remove it",
            Box::new(|s| {
                s["components"]["schemas"]["Orphan"] = json!({"type": "object", "properties": {}});
            }),
        ),
    ];
    for (needle, edit) in cases {
        let mut spec = committed();
        edit(&mut spec);
        let findings = lint::check(&spec);
        assert!(
            findings.iter().any(|f| f.contains(needle)),
            "{needle:?} not in {findings:#?}"
        );
    }
}

/// cargo-semver-checks' report as it prints it (0.51), for one failed lint.
const SEMVER_CHECKS_MAJOR: &str = "\
     Parsing h2ogpte-api-keys v0.1.0 (current)
     Checking h2ogpte-api-keys v0.1.0 -> v0.1.0 (no change; assume patch)
     Checked [   0.040s] 196 checks: 195 pass, 1 fail, 0 warn, 48 skip

--- failure constructible_struct_adds_field: externally-constructible struct adds field ---

Description:
A pub struct constructible with a struct literal has a new pub field.

Failed in:
  field ApiKeyInfo.rotated_from in src/lib.rs:12

     Summary semver requires new major version: 1 major and 0 minor checks failed
";

#[test]
fn the_compiled_verdict_is_read_and_set_beside_the_spec_level_one() {
    let compiled = xtask::compiled::parse(SEMVER_CHECKS_MAJOR);
    assert_eq!(
        compiled,
        Compiled::Verdict {
            level: Level::Major,
            lints: vec![
                "constructible_struct_adds_field: externally-constructible struct adds field: field ApiKeyInfo.rotated_from"
                    .to_owned()
            ],
        }
    );
    let none = xtask::compiled::parse("     Summary no semver update required\n");
    assert_eq!(none.level(), Some(Level::Patch));
    assert!(matches!(
        xtask::compiled::parse("error: could not build the baseline\n"),
        Compiled::Failed(_)
    ));

    // A request field: both say breaking (a struct literal of the request
    // model stops compiling), and they agree.
    let field = classify(|s| {
        s.pointer_mut("/components/schemas/APIKeyCreateRequest/properties")
            .expect("props")["rotated_from"] = json!({"type": "string", "description": "Old key."});
    });
    let report = diff::report(&field, "0.1.0", &compiled);
    assert!(report.contains("semver (spec): major"), "{report}");
    assert!(
        report.contains("compiled API (cargo-semver-checks): major"),
        "{report}"
    );
    assert!(report.contains("agree"), "{report}");

    // An optional response field: the model is #[non_exhaustive], so the
    // spec says minor and cargo-semver-checks finds nothing to fail.
    let field = classify(|s| {
        s.pointer_mut("/components/schemas/APIKeyInfo/properties")
            .expect("props")["rotated_from"] = json!({"type": "string", "description": "Old key."});
    });
    let report = diff::report(&field, "0.1.0", &none);
    assert!(report.contains("semver (spec): minor"), "{report}");
    assert!(
        report.contains("compiled API (cargo-semver-checks): patch"),
        "{report}"
    );
    assert!(
        report.contains("semver: minor (from 0.1.0 to 0.1.1)"),
        "{report}"
    );
    assert!(
        report.contains("the verdicts agree that nothing breaks"),
        "{report}"
    );

    // A documented error status: the spec sees a behaviour change, the
    // compiled API nothing; both are printed and the difference explained.
    let documented = classify(|s| {
        s["paths"]["/admin/api_keys"]["get"]["responses"][undocumented_status()] =
            json!({"$ref": "#/components/responses/InternalServerError"});
    });
    let report = diff::report(&documented, "0.1.0", &none);
    assert!(report.contains("semver (spec): major"), "{report}");
    assert!(
        report.contains("compiled API (cargo-semver-checks): patch"),
        "{report}"
    );
    assert!(
        report.contains("the spec-level one (major) is right here"),
        "{report}"
    );
    assert!(
        report.contains("semver: major (from 0.1.0 to 0.2.0)"),
        "{report}"
    );

    // A hand-written change the spec cannot see: the compiled verdict wins,
    // and its lint goes into the changelog draft.
    let report = diff::report(&[], "0.1.0", &compiled);
    assert!(
        report.contains("the compiled one (major) is right here"),
        "{report}"
    );
    assert!(
        report.contains("semver: major (from 0.1.0 to 0.2.0)"),
        "{report}"
    );
    let changelog = report.split("changelog draft:").nth(1).expect("changelog");
    assert!(
        changelog.contains("### Breaking") && changelog.contains("constructible_struct_adds_field"),
        "{changelog}"
    );

    // Not installed: say how to install it, and go on.
    let report = diff::report(&documented, "0.1.0", &Compiled::NotInstalled);
    assert!(
        report.contains("cargo install --locked cargo-semver-checks"),
        "{report}"
    );
    assert!(report.contains("semver: major"), "{report}");
}

/// Diff names what changed precisely.
#[test]
fn diff_says_version_renames_and_types_precisely() {
    let current = committed()["info"]["version"]
        .as_str()
        .expect("a version")
        .to_owned();
    let next = diff::next_version(&current, Level::Minor).expect("a next version");
    let version_only = classify(|s| s["info"]["version"] = json!(next));
    assert_eq!(version_only.len(), 1, "{version_only:#?}");
    assert!(
        version_only[0]
            .what
            .starts_with(&format!("info.version {current} → {next}"))
            && version_only[0].what.contains("api-version header"),
        "{}",
        version_only[0].what
    );
    assert_eq!(
        diff::verdict(&version_only).as_str(),
        "minor",
        "a wire change of every request"
    );

    let retyped = classify(|s| {
        s["components"]["schemas"]["APIKeyInfo"]["properties"]["total_calls"] =
            json!({"type": "string", "description": "Calls."});
    });
    assert_eq!(retyped.len(), 1, "{retyped:#?}");
    assert!(
        retyped[0]
            .what
            .contains("APIKeyInfo (Rust types::ApiKeyInfo)")
            && retyped[0].what.contains("from integer to string"),
        "{}",
        retyped[0].what
    );
    // cargo-semver-checks has no lint for it: the explanation says so.
    let report = diff::report(
        &retyped,
        "0.1.0",
        &Compiled::Verdict {
            level: Level::Patch,
            lints: Vec::new(),
        },
    );
    assert!(
        report.contains("has no lint for a field whose type changed"),
        "{report}"
    );

    let renamed = classify(|s| {
        let props = s["components"]["schemas"]["APIKeyInfo"]["properties"]
            .as_object_mut()
            .expect("props");
        let hint = props.remove("hint").expect("hint");
        props.insert("last_four".to_owned(), hint);
    });
    assert_eq!(
        renamed.len(),
        1,
        "one probable rename, not a removal and an addition: {renamed:#?}"
    );
    assert!(
        renamed[0]
            .what
            .contains("hint probably renamed to last_four"),
        "{}",
        renamed[0].what
    );
}

/// The Rust names the changelog gives are the types progenitor generates.
#[test]
fn schemas_are_named_by_their_rust_types() {
    let surface = read("tests/snapshots/main__surface__generated_surface.snap");
    let schemas = committed()["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert!(!schemas.is_empty());
    for schema in schemas {
        let rust = diff::rust_type(&schema);
        assert!(
            surface.contains(&format!("\n  {rust}:\n")),
            "{schema} → {rust} is not a generated type"
        );
    }
    assert_eq!(diff::rust_type("APIKeyInfo"), "ApiKeyInfo");
    assert_eq!(diff::rust_type("EndpointError"), "EndpointError");
}
