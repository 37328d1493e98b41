//! Code generation shared by the build scripts: reads the spec and runs
//! progenitor on it, turning spec errors and progenitor panics into one message.

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
    let text = fs::read_to_string(spec_path).map_err(|e| format!("cannot read the spec: {e}"))?;
    let spec: openapiv3::OpenAPI = serde_yaml_ng::from_str(&text)
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;

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
    let file = syn::parse2(tokens).map_err(|e| format!("progenitor produced invalid Rust: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

/// Runs `generate` for a build script: declares the reruns, writes
/// `$OUT_DIR/<file_name>`, and on failure prints one line naming the spec.
pub fn run(spec_path: &str, output: Output<'_>, file_name: &str) -> std::process::ExitCode {
    println!("cargo:rerun-if-changed={spec_path}");
    println!("cargo:rerun-if-changed=build.rs");
    let result = generate(Path::new(spec_path), output).and_then(|code| {
        let out_dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set; run through cargo")?;
        let out = Path::new(&out_dir).join(file_name);
        fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))
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
