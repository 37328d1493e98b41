//! The `h2ogpte-keys` binary's tests, in one test binary: a module per
//! command, one for the journeys across them, and two for the promises
//! every command keeps (`promises`, `signals`).

mod common;

mod audit;
mod audit_memory;
mod batches;
mod bulk_rotate;
mod contexts;
mod create;
mod help;
mod journeys;
mod list;
mod plan;
mod promises;
mod rotate;
mod secrets;
mod signals;
