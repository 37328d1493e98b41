//! Generates the API client from `openapi/h2ogpte-api-keys.yaml` with progenitor
//! and writes it, formatted, to `$OUT_DIR/codegen.rs`.

use std::{env, fs, path::Path, process::ExitCode};

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle};

const SPEC: &str = "openapi/h2ogpte-api-keys.yaml";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    match generate() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Cargo shows a build script's stderr when it fails; one clear line
            // naming the file beats a panic backtrace.
            eprintln!("error: {SPEC}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn generate() -> Result<(), String> {
    let text = fs::read_to_string(SPEC).map_err(|e| format!("cannot read the spec: {e}"))?;
    let spec: openapiv3::OpenAPI = serde_yaml_ng::from_str(&text)
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq");
    let mut generator = Generator::new(&settings);

    // progenitor reports most spec problems as errors but a few (an optional
    // path parameter, several media types) as panics; turn both into one
    // message without a backtrace.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let generated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generator.generate_tokens(&spec)
    }));
    std::panic::set_hook(default_hook);
    let tokens = match generated {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) => return Err(format!("progenitor cannot generate a client from it: {e}")),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown reason");
            return Err(format!(
                "progenitor cannot generate a client from it: {reason}"
            ));
        }
    };

    let file = syn::parse2(tokens).map_err(|e| format!("progenitor produced invalid Rust: {e}"))?;
    let code = prettyplease::unparse(&file);
    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set; run through cargo")?;
    let out = Path::new(&out_dir).join("codegen.rs");
    fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))
}
