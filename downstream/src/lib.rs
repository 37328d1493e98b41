//! Nothing but a home for the tests, which use the packaged crates.
