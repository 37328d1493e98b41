//! The maintainer's pipeline from an updated upstream spec to a reviewed
//! regeneration: one module per `cargo xtask` task, plus spec and workspace
//! helpers.

pub mod changelog;
pub mod check;
pub mod compiled;
pub mod copies;
pub mod diff;
pub mod import;
pub mod lint;
pub mod readme;
pub mod regen;
pub mod schema;
pub mod semver;
pub mod spec;
pub mod upstream;
pub mod workspace;
