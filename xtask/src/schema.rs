//! `cargo xtask schema`: writes the JSON Schema of every generated model
//! (schemars) to `openapi/schemas/`, through the crate's schema test so this
//! tool does not have to build the client.

use crate::workspace;

/// Runs the task.
pub fn run() -> Result<(), String> {
    workspace::cargo(
        &[
            "test",
            "-p",
            "h2ogpte-api-keys",
            "--test",
            "main",
            "--",
            "schemas::",
        ],
        &[("UPDATE_SCHEMAS", "1")],
    )?;
    println!("schema: openapi/schemas/ written from the generated models");
    Ok(())
}
