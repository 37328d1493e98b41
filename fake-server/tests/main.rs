//! The fake server's tests, one module per concern, in one test binary.

mod binary;
mod common;
mod conformance;
mod semantics;
