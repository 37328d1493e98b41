//! Code generation shared by the build scripts: reads the spec (its JSON
//! rendering) and runs progenitor on it, turning spec errors and progenitor
//! panics into one message, then hands the code to the caller's rewrite (the
//! client's wire rules live in `client.rs`, which the mock crate does not
//! ship) and writes it formatted.

use std::{fs, path::Path};

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle};
use schemars08::schema::{InstanceType, SchemaObject};

/// Files to write beside the generated code, as (name, text).
pub type Files = Vec<(&'static str, String)>;

/// A rewrite of the generated code, given the spec; it returns further
/// [`Files`] to write beside it.
pub type Rewrite = dyn Fn(&mut syn::File, &openapiv3::OpenAPI) -> Result<Files, String>;

/// Generates formatted Rust source from the spec at `spec_path`: the client
/// and its types, or with `httpmock`, progenitor's typed httpmock helpers
/// for the client crate at that path; `rewrite` edits it first.
pub fn generate(
    spec_path: &Path,
    httpmock: Option<&str>,
    rewrite: &Rewrite,
) -> Result<(String, Files), String> {
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
    if httpmock.is_none() {
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
    let generated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match httpmock {
        None => generator.generate_tokens(&spec),
        Some(crate_path) => generator.httpmock(&spec, crate_path),
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
    let more = rewrite(&mut file, &spec)?;
    Ok((prettyplease::unparse(&file), more))
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

/// Runs `generate` for a build script: declares the reruns, writes
/// `$OUT_DIR/<file_name>` and the rewrite's files beside it, and on failure
/// prints one line naming the spec.
pub fn run(
    spec_path: &str,
    httpmock: Option<&str>,
    rewrite: &Rewrite,
    file_name: &str,
) -> std::process::ExitCode {
    println!("cargo:rerun-if-changed={spec_path}");
    // The YAML the rendering comes from, where it is beside it.
    let yaml = Path::new(spec_path).with_extension("yaml");
    if yaml.exists() {
        println!("cargo:rerun-if-changed={}", yaml.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    let result = generate(Path::new(spec_path), httpmock, rewrite).and_then(|(code, more)| {
        let out_dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set; run through cargo")?;
        let write = |name: &str, text: String| {
            let out = Path::new(&out_dir).join(name);
            fs::write(&out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))
        };
        write(file_name, code)?;
        for (name, text) in more {
            write(name, text)?;
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
