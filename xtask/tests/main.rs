//! The maintainer pipeline's tests, in one test binary; the release walk
//! is a target of its own (`release_walk`) that `cargo test` does not run.

mod imports;
mod map;
mod pipeline;
