//! Code generation shared by the build scripts: reads the spec and runs
//! progenitor on it, turning spec errors and progenitor panics into one
//! message; for the client, points path encoding at the crate's wire rules
//! and builds each query once in the spec's order; emits each operation's
//! path template.

use std::{fs, path::Path};

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle};
use schemars08::schema::{InstanceType, SchemaObject};

/// What to generate from the spec.
#[allow(dead_code)]
pub enum Output<'a> {
    /// The client and its types.
    Client,
    /// progenitor's typed httpmock helpers for the client crate at this path.
    Httpmock(&'a str),
}

/// Generates formatted Rust source from the spec at `spec_path`.
pub fn generate(spec_path: &Path, output: Output<'_>) -> Result<String, String> {
    let spec = read_spec(spec_path)?;

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq")
        // Secrets (`format: password`) become `crate::Secret`, whose Debug
        // output is redacted; the JSON on the wire is the same string.
        .with_conversion(
            SchemaObject {
                instance_type: Some(InstanceType::String.into()),
                format: Some("password".to_owned()),
                ..SchemaObject::default()
            },
            "crate::Secret",
            std::iter::empty(),
        );
    if let Output::Client = output {
        // The hooks (auth header, tracing, wire fixes) keep their state in the
        // generated client's `inner` field.
        let inner: proc_macro2::TokenStream = "crate::hooks::Hooks"
            .parse()
            .map_err(|e| format!("inner type: {e}"))?;
        settings.with_inner_type(inner);
    }
    let mut generator = Generator::new(&settings);

    // progenitor reports most spec problems as errors but a few (an optional
    // path parameter, several media types) as panics; turn both into one
    // message without a backtrace.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let generated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match output {
        Output::Client => generator.generate_tokens(&spec),
        Output::Httpmock(crate_path) => generator.httpmock(&spec, crate_path),
    }));
    std::panic::set_hook(default_hook);
    let tokens = match generated {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) => return Err(format!("progenitor cannot generate code from it: {e}")),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown reason");
            return Err(format!("progenitor cannot generate code from it: {reason}"));
        }
    };
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("progenitor produced invalid Rust: {e}"))?;
    if let Output::Client = output {
        use_wire_encode_path(&mut file)?;
        use_wire_query(&mut file, &operations(&spec)?)?;
        let responses = response_models(&spec);
        let marked = mark_models(&mut file, &responses);
        if marked != responses.len() {
            return Err(format!(
                "found {marked} of the {} response models {responses:?} among progenitor's types: update build/generate.rs",
                responses.len()
            ));
        }
    }
    Ok(prettyplease::unparse(&file))
}

/// Reads the spec's JSON rendering (`cargo xtask copies` writes it from the
/// YAML spec, so the build needs no YAML parser). Where the YAML sits beside
/// it, as in the workspace, a rendering made from another version of it is
/// refused: the code would be generated from a spec nobody reads.
fn read_spec(spec_path: &Path) -> Result<openapiv3::OpenAPI, String> {
    let text = fs::read_to_string(spec_path).map_err(|e| format!("cannot read the spec: {e}"))?;
    let yaml_path = spec_path.with_extension("yaml");
    if let Ok(yaml) = fs::read(&yaml_path) {
        let hash = yaml.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        });
        let marker = format!("\"x-rendered-from-fnv1a64\": \"{hash:016x}\"");
        if !text.contains(&marker) {
            return Err(format!(
                "it was rendered from another version of {}: run `cargo xtask copies`",
                yaml_path.display()
            ));
        }
    }
    serde_json::from_str(&text).map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))
}

/// Makes the generated client encode path parameters with the crate's wire
/// rules (`crate::wire::encode_path`, as the official client encodes them)
/// instead of progenitor's `encode_path`, which leaves characters such as
/// `\` that a URL parser turns into a separator. Each path parameter is
/// then encoded exactly once, for the front door and `raw()` alike.
fn use_wire_encode_path(file: &mut syn::File) -> Result<(), String> {
    let mut replaced = false;
    for item in &mut file.items {
        let syn::Item::Use(item_use) = item else {
            continue;
        };
        let syn::UseTree::Path(path) = &mut item_use.tree else {
            continue;
        };
        if path.ident != "progenitor_client" {
            continue;
        }
        if let syn::UseTree::Group(group) = &mut *path.tree {
            let before = group.items.len();
            group.items = std::mem::take(&mut group.items)
                .into_iter()
                .filter(|tree| !matches!(tree, syn::UseTree::Name(n) if n.ident == "encode_path"))
                .collect();
            replaced |= group.items.len() < before;
        }
    }
    if !replaced {
        return Err(
            "progenitor no longer imports progenitor_client::encode_path at the top of its output: update build/generate.rs".to_owned(),
        );
    }
    let wire: syn::Item = syn::parse_quote! { use crate::wire::encode_path; };
    file.items.insert(0, wire);
    Ok(())
}

/// The names, lower-cased without punctuation as progenitor's type names
/// compare, of the schemas a response carries, and of those they refer to.
fn response_models(spec: &openapiv3::OpenAPI) -> std::collections::BTreeSet<String> {
    fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", serde_json::Value::String(r)) => {
                            out.extend(r.rsplit('/').next().map(str::to_owned));
                        }
                        _ => refs(value, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for (_, item) in spec.paths.iter() {
        if let openapiv3::ReferenceOr::Item(item) = item {
            for (_, op) in item.iter() {
                let responses = serde_json::to_value(&op.responses).unwrap_or_default();
                refs(&responses, &mut pending);
            }
        }
    }
    let components = spec.components.clone().unwrap_or_default();
    let mut found = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        let schema = components
            .schemas
            .get(&name)
            .map(serde_json::to_value)
            .or_else(|| components.responses.get(&name).map(serde_json::to_value));
        let Some(Ok(value)) = schema else { continue };
        if components.schemas.contains_key(&name) && !found.insert(type_key(&name)) {
            continue;
        }
        refs(&value, &mut pending);
    }
    found
}

/// A type name as progenitor's names and the spec's compare.
fn type_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Marks the response models `#[non_exhaustive]`, so a field upstream adds
/// is not a breaking change for code that reads them (they are built with
/// their generated builders or `serde`), and moves every model's
/// `schemars::JsonSchema` derive behind the crate's `schemars` feature.
/// Returns how many response models it marked.
fn mark_models(file: &mut syn::File, responses: &std::collections::BTreeSet<String>) -> usize {
    let mut marked = 0;
    let mut items: Vec<&mut syn::Item> = Vec::new();
    fn collect<'a>(items: &'a mut [syn::Item], out: &mut Vec<&'a mut syn::Item>) {
        for item in items {
            if let syn::Item::Mod(module) = item {
                // The models' builders (`types::builder`) share their names.
                if module.ident == "builder" {
                    continue;
                }
                if let Some((_, inner)) = &mut module.content {
                    collect(inner, out);
                }
            } else {
                out.push(item);
            }
        }
    }
    collect(&mut file.items, &mut items);
    for item in items {
        let (ident, attrs, is_struct) = match item {
            syn::Item::Struct(s) => (s.ident.to_string(), &mut s.attrs, true),
            syn::Item::Enum(e) => (e.ident.to_string(), &mut e.attrs, false),
            _ => continue,
        };
        let mut derives_schema = false;
        for attr in attrs.iter_mut() {
            if !attr.path().is_ident("derive") {
                continue;
            }
            let Ok(paths) = attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            ) else {
                continue;
            };
            let kept: syn::punctuated::Punctuated<syn::Path, syn::Token![,]> = paths
                .into_iter()
                .filter(|p| {
                    let is_schema = quote::ToTokens::to_token_stream(p)
                        .to_string()
                        .replace(' ', "")
                        == "schemars::JsonSchema";
                    derives_schema |= is_schema;
                    !is_schema
                })
                .collect();
            *attr = syn::parse_quote! { #[derive(#kept)] };
        }
        if derives_schema {
            attrs.push(
                syn::parse_quote! { #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))] },
            );
        }
        if is_struct && responses.contains(&type_key(&ident)) {
            attrs.push(syn::parse_quote! { #[non_exhaustive] });
            marked += 1;
        }
    }
    marked
}

/// What the wire rules need of one operation of the spec.
pub struct Operation {
    pub id: String,
    /// The path template below the API base, such as `/admin/api_keys/{key_id}`.
    pub path: String,
    /// Its query parameters in the spec's order (the order the official
    /// client sends), each with whether it is required.
    pub query: Vec<(String, bool)>,
}

/// Every operation of the spec with an operationId.
pub fn operations(spec: &openapiv3::OpenAPI) -> Result<Vec<Operation>, String> {
    let mut operations = Vec::new();
    for (path, item) in spec.paths.iter() {
        let openapiv3::ReferenceOr::Item(item) = item else {
            return Err("a path item is a $ref, which progenitor does not read either".to_owned());
        };
        for (_, op) in item.iter() {
            let Some(id) = &op.operation_id else { continue };
            let mut query = Vec::new();
            for parameter in item.parameters.iter().chain(&op.parameters) {
                let parameter = match parameter {
                    openapiv3::ReferenceOr::Item(p) => p,
                    openapiv3::ReferenceOr::Reference { reference } => {
                        let name = reference
                            .strip_prefix("#/components/parameters/")
                            .ok_or_else(|| format!("parameter {reference} is not a local one"))?;
                        match spec
                            .components
                            .as_ref()
                            .and_then(|c| c.parameters.get(name))
                        {
                            Some(openapiv3::ReferenceOr::Item(p)) => p,
                            _ => return Err(format!("parameter {reference} is not defined")),
                        }
                    }
                };
                if let openapiv3::Parameter::Query { parameter_data, .. } = parameter {
                    query.push((parameter_data.name.clone(), parameter_data.required));
                }
            }
            operations.push(Operation {
                id: id.clone(),
                path: path.clone(),
                query,
            });
        }
    }
    Ok(operations)
}

/// Every function of every `impl` block in `items`, nested modules included.
fn collect_impl_fns<'a>(items: &'a mut [syn::Item], out: &mut Vec<&'a mut syn::ImplItemFn>) {
    for item in items {
        match item {
            syn::Item::Impl(block) => out.extend(block.items.iter_mut().filter_map(|i| match i {
                syn::ImplItem::Fn(f) => Some(f),
                _ => None,
            })),
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &mut module.content {
                    collect_impl_fns(items, out);
                }
            }
            _ => {}
        }
    }
}

/// Rust source of `PATH_TEMPLATES`: each operation's path template, which
/// the request hook checks every request's path against.
pub fn wire_tables(spec_path: &Path) -> Result<String, String> {
    let rows: String = operations(&read_spec(spec_path)?)?
        .iter()
        .map(|op| format!("    ({:?}, {:?}),\n", op.id, op.path))
        .collect();
    Ok(format!(
        "/// Each operation's path template, below the API base.\npub(crate) const PATH_TEMPLATES: &[(&str, &str)] = &[\n{rows}];\n"
    ))
}

/// Makes the generated client build each query once, as the official
/// client sends it: the parameters that are set, in the spec's order, each
/// value encoded by `crate::wire::with_query`. progenitor would add them
/// one `.query()` call each, in alphabetical order and form-encoded (a
/// space as `+`); those calls are removed and the query is put on the URL
/// the request is built from.
fn use_wire_query(file: &mut syn::File, operations: &[Operation]) -> Result<(), String> {
    use syn::visit_mut::VisitMut;

    /// Removes `.query(&progenitor_client::QueryParam::new("name", &value))`
    /// calls, keeping their names.
    struct Strip(Vec<String>);
    impl VisitMut for Strip {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            let syn::Expr::MethodCall(call) = expr else {
                return;
            };
            if call.method != "query" {
                return;
            }
            let text = quote::ToTokens::to_token_stream(&call.args).to_string();
            let Some(name) = text
                .split_once("QueryParam :: new (\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(name, _)| name.to_owned())
            else {
                return;
            };
            self.0.push(name);
            *expr = (*call.receiver).clone();
        }
    }

    let mut rewritten = 0;
    let mut functions = Vec::new();
    collect_impl_fns(&mut file.items, &mut functions);
    for function in functions {
        let body = quote::ToTokens::to_token_stream(&function.block).to_string();
        let Some(op) = operations.iter().find(|op| {
            !op.query.is_empty() && body.contains(&format!("operation_id : {:?}", op.id))
        }) else {
            continue;
        };
        let mut strip = Strip(Vec::new());
        strip.visit_block_mut(&mut function.block);
        let mut found = strip.0.clone();
        found.sort();
        let mut expected: Vec<String> = op.query.iter().map(|(n, _)| n.clone()).collect();
        expected.sort();
        if found != expected {
            return Err(format!(
                "{}: progenitor's query parameters {found:?} are not the spec's {expected:?}: update build/generate.rs",
                op.id
            ));
        }
        let pairs = op.query.iter().map(|(name, required)| {
            let value = syn::Ident::new(name, proc_macro2::Span::call_site());
            if *required {
                quote::quote! { (#name, Some(&#value as &dyn ::std::fmt::Display)) }
            } else {
                quote::quote! { (#name, #value.as_ref().map(|v| v as &dyn ::std::fmt::Display)) }
            }
        });
        let mut url_found = false;
        for stmt in &mut function.block.stmts {
            let syn::Stmt::Local(local) = stmt else {
                continue;
            };
            let syn::Pat::Ident(pat) = &local.pat else {
                continue;
            };
            if pat.ident != "url" {
                continue;
            }
            let Some(init) = &mut local.init else {
                continue;
            };
            let url = &init.expr;
            let pairs = pairs.clone();
            *init.expr = syn::parse_quote! {
                crate::wire::with_query(#url, &[#(#pairs),*])
            };
            url_found = true;
        }
        if !url_found {
            return Err(format!(
                "{}: progenitor no longer builds a `let url = …` for the request: update build/generate.rs",
                op.id
            ));
        }
        rewritten += 1;
    }
    let with_query = operations.iter().filter(|op| !op.query.is_empty()).count();
    if rewritten != with_query {
        return Err(format!(
            "rewrote the query of {rewritten} send functions, but {with_query} operations have query parameters: update build/generate.rs"
        ));
    }
    Ok(())
}

/// Runs `generate` for a build script: declares the reruns, writes
/// `$OUT_DIR/<file_name>`, and on failure prints one line naming the spec.
pub fn run(spec_path: &str, output: Output<'_>, file_name: &str) -> std::process::ExitCode {
    println!("cargo:rerun-if-changed={spec_path}");
    // The YAML the rendering comes from, where it is beside it.
    let yaml = Path::new(spec_path).with_extension("yaml");
    if yaml.exists() {
        println!("cargo:rerun-if-changed={}", yaml.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    let is_client = matches!(output, Output::Client);
    let result = generate(Path::new(spec_path), output).and_then(|code| {
        let out_dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set; run through cargo")?;
        let write = |name: &str, text: String| {
            let out = Path::new(&out_dir).join(name);
            fs::write(&out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))
        };
        write(file_name, code)?;
        if is_client {
            write("wire_tables.rs", wire_tables(Path::new(spec_path))?)?;
        }
        Ok(())
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            // Cargo shows a build script's stderr when it fails; one clear line
            // naming the file beats a panic backtrace.
            eprintln!("error: {spec_path}: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
