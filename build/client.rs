//! The client's rewrites of the generated code: path parameters encoded by
//! the crate's wire rules, each query built once in the spec's order, the
//! response models `#[non_exhaustive]` and their schema derive behind the
//! `schemars` feature; and each operation's path template for the hooks.

/// Every rewrite of the client, for `generate::run`: returns
/// `wire_tables.rs` to write beside the code.
pub fn rewrite(
    file: &mut syn::File,
    spec: &openapiv3::OpenAPI,
) -> Result<Vec<(&'static str, String)>, String> {
    use_wire_encode_path(file)?;
    let operations = operations(spec)?;
    use_wire_query(file, &operations)?;
    let responses = response_models(spec);
    let marked = mark_models(file, &responses);
    if marked != responses.len() {
        return Err(format!(
            "found {marked} of the {} response models {responses:?} among progenitor's types: update build/client.rs",
            responses.len()
        ));
    }
    Ok(vec![("wire_tables.rs", wire_tables(&operations))])
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
            "progenitor no longer imports progenitor_client::encode_path at the top of its output: update build/client.rs".to_owned(),
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
struct Operation {
    id: String,
    /// The path template below the API base, such as `/admin/api_keys/{key_id}`.
    path: String,
    /// Its query parameters in the spec's order (the order the official
    /// client sends), each with whether it is required.
    query: Vec<(String, bool)>,
}

/// Every operation of the spec with an operationId.
fn operations(spec: &openapiv3::OpenAPI) -> Result<Vec<Operation>, String> {
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
fn wire_tables(operations: &[Operation]) -> String {
    let rows: String = operations
        .iter()
        .map(|op| format!("    ({:?}, {:?}),\n", op.id, op.path))
        .collect();
    format!(
        "/// Each operation's path template, below the API base.\npub(crate) const PATH_TEMPLATES: &[(&str, &str)] = &[\n{rows}];\n"
    )
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
                "{}: progenitor's query parameters {found:?} are not the spec's {expected:?}: update build/client.rs",
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
                "{}: progenitor no longer builds a `let url = …` for the request: update build/client.rs",
                op.id
            ));
        }
        rewritten += 1;
    }
    let with_query = operations.iter().filter(|op| !op.query.is_empty()).count();
    if rewritten != with_query {
        return Err(format!(
            "rewrote the query of {rewritten} send functions, but {with_query} operations have query parameters: update build/client.rs"
        ));
    }
    Ok(())
}
