//! What the crate reads from the environment, where it points, and the
//! limits it holds every server to: the constants a reader of the
//! configuration looks for, in one place.

/// Environment variable holding the server root, such as `https://h2ogpte.example.com`.
pub const SERVER_URL_ENV: &str = "H2OGPTE_SERVER_URL";

/// Environment variable holding an administrator's API key.
pub const API_KEY_ENV: &str = "H2OGPTE_API_KEY";

/// The hosted h2oGPTe service. Never used unless named: a client without a
/// server URL is a configuration error, so pass this to `with_server_url`
/// on purpose.
pub const DEFAULT_SERVER_URL: &str = "https://h2ogpte.genai.h2o.ai";

/// Path of the REST API below the server root.
pub const API_PATH: &str = "/api/v1";

/// The spec's default `limit`, and the page size of a default
/// [`ListQuery`](crate::ListQuery).
pub const DEFAULT_PAGE_SIZE: u64 = 100;

/// Pages a stream requests ahead by default.
pub const DEFAULT_PREFETCH: usize = 4;

/// The most pages a stream requests ahead at once: beyond a few, overlap
/// gains nothing and a server far away only sees a burst.
pub const MAX_PREFETCH: usize = 32;

/// Keys a stream yields at most by default: a hundred times the largest
/// deployments, so only a server that pages forever reaches it.
pub const DEFAULT_MAX_STREAM_KEYS: u64 = 1_000_000;

/// Default limit on one response body: far above the largest legitimate
/// page (1000 keys are about 500 KiB), far below what would hurt a process.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 << 20;

/// Most bytes of a response body kept in an error or a log line.
pub const BODY_SNIPPET_LIMIT: usize = 512;
