//! `cargo xtask schema`: writes the JSON Schema of every generated model
//! (schemars) to `openapi/schemas/`, through the crate's schema test so this
//! tool does not have to build the client.

use std::process::Command;

use crate::spec;

/// Runs the task.
pub fn run() -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(spec::root())
        .args(["test", "-p", "h2ogpte-api-keys", "--test", "schemas"])
        .env("UPDATE_SCHEMAS", "1")
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        println!("schema: openapi/schemas/ is up to date");
        Ok(())
    } else {
        Err("the schema test failed".to_owned())
    }
}
