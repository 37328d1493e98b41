//! Snapshots of the generated client: its whole source, and a compact summary of
//! its public surface (operations and models) that reviewers can read as a diff.

use std::collections::BTreeMap;

use quote::ToTokens;
use serde::Serialize;
use syn::{Fields, FnArg, ImplItem, Item, ReturnType, Type};

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/codegen.rs"));

#[test]
fn generated_source() {
    insta::assert_snapshot!("generated_source", GENERATED);
}

#[test]
fn generated_surface() {
    let file = syn::parse_file(GENERATED).expect("generated code parses");
    let surface = Surface::of(&file);
    assert_eq!(surface.operations.len(), 6, "one builder per operation");
    insta::assert_yaml_snapshot!("generated_surface", surface);
}

#[derive(Serialize)]
struct Surface {
    operations: BTreeMap<String, Operation>,
    models: BTreeMap<String, BTreeMap<String, Field>>,
}

#[derive(Serialize)]
struct Operation {
    builder: String,
    method: String,
    path: String,
    parameters: BTreeMap<String, Field>,
    success: String,
    error: String,
}

#[derive(Serialize)]
struct Field {
    #[serde(rename = "type")]
    ty: String,
    required: bool,
}

impl Surface {
    fn of(file: &syn::File) -> Self {
        let types = module(&file.items, "types");
        let builder = module(&file.items, "builder");
        let mut models = BTreeMap::new();
        for item in types {
            if let Item::Struct(s) = item {
                let fields = named_fields(&s.fields)
                    .map(|(name, ty)| {
                        let (ty, required) = optional(ty);
                        (name, Field { ty, required })
                    })
                    .collect();
                models.insert(s.ident.to_string(), fields);
            }
        }

        // The client's methods name the operations; their builders hold the
        // parameters, and each builder's `send` the method, path and types.
        let mut operations = BTreeMap::new();
        for item in builder {
            let Item::Struct(s) = item else { continue };
            let parameters = named_fields(&s.fields)
                .filter(|(name, _)| name != "client")
                .map(|(name, ty)| {
                    // Builder fields are `Result<T, String>` holding the value.
                    let inner = strip_wrapper(&ty, "Result<").unwrap_or(ty.clone());
                    let inner = inner
                        .rsplit_once(",String")
                        .map_or(inner.clone(), |(t, _)| t.to_owned());
                    let (ty, required) = optional(inner);
                    (name, Field { ty, required })
                })
                .collect();
            let send = builder
                .iter()
                .filter_map(|i| match i {
                    Item::Impl(imp) if s.ident == type_name(&imp.self_ty) => Some(imp),
                    _ => None,
                })
                .flat_map(|imp| &imp.items)
                .find_map(|i| match i {
                    ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
                    _ => None,
                })
                .expect("each builder has send");
            assert!(matches!(send.sig.inputs.first(), Some(FnArg::Receiver(_))));
            let doc = doc_of(&send.attrs);
            let (method, path) = parse_sends_doc(&doc);
            let ReturnType::Type(_, ret) = &send.sig.output else {
                panic!("send returns a Result")
            };
            let ret = render(ret);
            let (success, error) = split_result(&ret);
            let operation_id = snake_case(&s.ident.to_string());
            operations.insert(
                operation_id,
                Operation {
                    builder: s.ident.to_string(),
                    method,
                    path,
                    parameters,
                    success,
                    error,
                },
            );
        }
        Surface { operations, models }
    }
}

fn module<'a>(items: &'a [Item], name: &str) -> &'a [Item] {
    items
        .iter()
        .find_map(|i| match i {
            Item::Mod(m) if m.ident == name => {
                m.content.as_ref().map(|(_, items)| items.as_slice())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("generated code has a `{name}` module"))
}

fn named_fields(fields: &Fields) -> impl Iterator<Item = (String, String)> + '_ {
    fields
        .iter()
        .filter_map(|f| Some((f.ident.as_ref()?.to_string(), render(&f.ty))))
}

/// A type as compact text without the generator's absolute paths.
fn render(ty: &Type) -> String {
    let mut text: String = ty
        .to_token_stream()
        .to_string()
        .split_whitespace()
        .collect();
    for prefix in [
        "::std::option::",
        "::std::string::",
        "::std::vec::",
        "::chrono::offset::",
        "::chrono::",
        "types::",
    ] {
        text = text.replace(prefix, "");
    }
    // The formatter leaves trailing commas in wrapped generic lists.
    text.replace(",>", ">")
}

fn optional(ty: String) -> (String, bool) {
    match strip_wrapper(&ty, "Option<") {
        Some(inner) => (inner, false),
        None => (ty, true),
    }
}

fn strip_wrapper(ty: &str, open: &str) -> Option<String> {
    ty.strip_prefix(open)?.strip_suffix('>').map(str::to_owned)
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn doc_of(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// progenitor documents each `send` as "Sends a `METHOD` request to `PATH`".
fn parse_sends_doc(doc: &str) -> (String, String) {
    let parts: Vec<&str> = doc.split('`').collect();
    assert!(
        doc.starts_with("Sends a `") && parts.len() >= 4,
        "unexpected send doc: {doc}"
    );
    (parts[1].to_owned(), parts[3].to_owned())
}

/// `Result<ResponseValue<T>,Error<E>>` into `T` and `E`.
fn split_result(ret: &str) -> (String, String) {
    let inner = strip_wrapper(ret, "Result<").expect("send returns a Result");
    let (ok, err) = inner.split_once(",Error<").expect("error type is Error<E>");
    let ok = strip_wrapper(ok, "ResponseValue<").unwrap_or(ok.to_owned());
    (ok, err.trim_end_matches('>').to_owned())
}

fn snake_case(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
