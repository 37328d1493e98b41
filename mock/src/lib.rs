#![doc = include_str!("../README.md")]

pub use httpmock;

/// The generated `operations` module and `MockServerExt` trait.
#[allow(missing_docs, unused_qualifications, clippy::all, clippy::unwrap_used)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/httpmock.rs"));
}

pub use generated::*;
