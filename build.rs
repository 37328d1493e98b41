//! Generates the API client from `openapi/h2ogpte-api-keys.yaml` (through its
//! JSON rendering beside it) with progenitor and writes it, formatted, to
//! `$OUT_DIR/codegen.rs`.

#[path = "build/generate.rs"]
mod generate;

fn main() -> std::process::ExitCode {
    generate::run(
        "openapi/h2ogpte-api-keys.json",
        generate::Output::Client,
        "codegen.rs",
    )
}
