#![doc = include_str!("../README.md")]

/// The client and types progenitor generates from the spec at build time.
#[allow(
    missing_docs,
    unused_qualifications,
    clippy::all,
    clippy::unwrap_used,
    rustdoc::all
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
}

mod client;
mod config;
mod error;
mod hooks;
mod paging;
mod retry;
mod secret;

/// The generated client and its request builders, as progenitor emits them.
pub mod raw {
    pub use crate::generated::{
        ByteStream, Client, ClientInfo, Error, ResponseValue, builder, prelude,
    };
    pub use crate::hooks::Hooks;
}

pub use client::Client;
pub use config::{
    API_KEY_ENV, API_PATH, ClientBuilder, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_SERVER_URL,
    SERVER_URL_ENV, install_crypto_provider,
};
pub use error::{BODY_SNIPPET_LIMIT, Error};
pub use generated::types;
pub use paging::DEFAULT_PAGE_SIZE;
/// The HTTP client crate whose types appear in this crate's API.
pub use reqwest;
pub use retry::RetryPolicy;
pub use secret::Secret;
