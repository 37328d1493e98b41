//! The `h2ogpte-keys` binary's tests, one module per concern, in one test
//! binary.

mod admin;
mod admin_loop;
mod cli;
mod common;
mod delivery;
mod hardening;
mod hostile;
mod newcomer;
mod signals;
