//! An in-memory h2oGPTe server for the API-key administration endpoints of
//! the spec (and, playing a server before 1.7.0, those it had), with the
//! real semantics: for tests, demos, and downstream crates' CI.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = h2ogpte_fake_server::FakeServer::builder()
//!     .user("u-1", "alice")
//!     .collection("c-1", "Reports", "u-1")
//!     .max_expiry_days(365)
//!     .start()
//!     .await?;
//! // Point a client at it:
//! println!("H2OGPTE_SERVER_URL={}", server.url());
//! println!("H2OGPTE_API_KEY={}", server.admin_key());
//! # Ok(()) }
//! ```
//!
//! It shares no code with the client crate on purpose: it is a second, independent
//! reading of the spec, so a mistake in one shows up as a failure against the other.

mod error;
mod fake_server;
mod interval;
mod model;
mod routes;
mod secret;
mod seed;
mod serve;
mod state;
mod store;
mod world;

pub use error::ApiError;
pub use fake_server::{DEFAULT_ADMIN_ID, FakeServer, FakeServerBuilder, MAX_SEED_KEYS};
pub use model::{
    CreateRequest, Created, KeyInfo, MAX_INACTIVITY_DAYS, UpdateExpiryRequest,
    UpdateInactivityIntervalRequest,
};
pub use routes::{HONOURED_QUERY_PARAMETERS, IGNORED_QUERY_PARAMETERS, MAX_LIMIT, SPEC_YAML, app};
pub use secret::{NewKey, sha256};
pub use seed::{MAX_SEED_FILE_BYTES, SeedKey};
pub use serve::{Timeouts, serve};
pub use state::{AppState, MAX_CLOCK_OFFSET};
pub use store::Store;
pub use world::{ApiVersion, Collection, Settings, User};
