//! Generates the API client from `openapi/h2ogpte-api-keys.yaml` (through its
//! JSON rendering beside it) with progenitor, applies the client's rewrites
//! (`build/client.rs`) and writes it, formatted, to `$OUT_DIR/codegen.rs`.

#[path = "build/client.rs"]
mod client;
#[path = "build/generate.rs"]
mod generate;

fn main() -> std::process::ExitCode {
    generate::run(
        "openapi/h2ogpte-api-keys.json",
        None,
        &client::rewrite,
        "codegen.rs",
    )
}
