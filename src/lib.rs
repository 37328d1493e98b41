//! A Rust client for the API-key administration endpoints of h2oGPTe.
//!
#![doc = include_str!("lib.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

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

#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod builder;
mod call;
mod call_options;
mod client;
mod create_key;
mod error;
mod hooks;
mod interval;
mod key_state;
mod paging;
pub mod plan;
pub mod policy;
mod query;
mod request_hook;
mod response;
mod retry;
pub mod rotation;
mod secret;
mod server_url;
mod settings;
mod transport;
mod wire;

/// The generated client and its request builders, as progenitor emits them.
pub mod raw {
    pub use crate::generated::{
        ByteStream, Client, ClientInfo, Error, ResponseValue, builder, prelude,
    };
    pub use crate::hooks::Hooks;
}

pub use builder::ClientBuilder;
pub use call_options::CallOptions;
/// The date and time crate whose types appear in this crate's API
/// (`DateTime<Utc>` in keys, `TimeDelta` in rotations).
pub use chrono;
pub use client::Client;
pub use create_key::CreateKey;
pub use error::{Error, ErrorKind, Setting};
pub use generated::types;
pub use interval::parse_interval;
pub use key_state::KeyState;
pub use query::ListQuery;
pub use request_hook::RequestInfo;
/// The HTTP client crate whose types appear in this crate's API.
pub use reqwest;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use settings::{
    API_KEY_ENV, API_PATH, BODY_SNIPPET_LIMIT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_STREAM_KEYS,
    DEFAULT_PAGE_SIZE, DEFAULT_PREFETCH, DEFAULT_SERVER_URL, MAX_PREFETCH, SERVER_URL_ENV,
};
#[cfg(feature = "rustls")]
pub use transport::install_crypto_provider;
