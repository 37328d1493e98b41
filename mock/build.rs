//! Generates progenitor's typed httpmock helpers for `h2ogpte-api-keys` from the
//! same spec, into `$OUT_DIR/httpmock.rs`.

// A copy of the workspace's build/generate.rs, kept equal by `cargo xtask
// check`, so the published package builds from what it ships.
#[path = "build/generate.rs"]
mod generate;

fn main() -> std::process::ExitCode {
    // The mocks name the client's types and need none of its rewrites.
    generate::run(
        "openapi/h2ogpte-api-keys.json",
        Some("h2ogpte_api_keys"),
        &|_, _| Ok(Vec::new()),
        "httpmock.rs",
    )
}
