//! `FakeServer`: a one-line fake server for tests (`FakeServer::start().await`
//! serves on 127.0.0.1 with a random port and gives back its URL and admin
//! key), and the builder of its users, collections, settings and timeouts.

use std::{io::Read, net::SocketAddr, path::PathBuf, time::Duration};

use chrono::TimeDelta;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    model::CreateRequest,
    routes::app,
    secret::{NewKey, new_secret},
    seed::{self, MAX_SEED_FILE_BYTES, SeedKey},
    serve::{Timeouts, serve},
    state::AppState,
    store::Store,
    world::{ApiVersion, Collection, Settings, User},
};

/// The most keys a fake server is seeded with: ten times a large
/// deployment, about 1 GiB of memory.
pub const MAX_SEED_KEYS: u32 = 1_000_000;

/// Id of the administrator that every server starts with unless told otherwise.
pub const DEFAULT_ADMIN_ID: &str = "admin";

/// Builds a fake server: users, collections, settings, and the admin key.
#[derive(Debug, Clone)]
pub struct FakeServerBuilder {
    addr: SocketAddr,
    admin_key: Option<String>,
    admin_id: String,
    users: Vec<User>,
    collections: Vec<Collection>,
    settings: Settings,
    protect_admin_key: bool,
    plain_keys: u32,
    realistic_keys: u32,
    seed: u64,
    seed_file: Option<PathBuf>,
    seed_records: Vec<SeedKey>,
    timeouts: Timeouts,
    latency: Duration,
}

impl Default for FakeServerBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_key: None,
            admin_id: DEFAULT_ADMIN_ID.to_owned(),
            users: Vec::new(),
            collections: Vec::new(),
            settings: Settings::default(),
            protect_admin_key: false,
            plain_keys: 0,
            realistic_keys: 0,
            seed: 0,
            seed_file: None,
            seed_records: Vec::new(),
            timeouts: Timeouts::default(),
            latency: Duration::ZERO,
        }
    }
}

impl FakeServerBuilder {
    /// The address to bind; defaults to `127.0.0.1:0` (a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The bootstrap admin key's secret; random when not set.
    pub fn admin_key(mut self, secret: impl Into<String>) -> Self {
        self.admin_key = Some(secret.into());
        self
    }

    /// A user who is not an administrator.
    pub fn user(mut self, id: impl Into<String>, username: impl Into<String>) -> Self {
        self.users.push(User {
            id: id.into(),
            username: username.into(),
            is_admin: false,
        });
        self
    }

    /// Another administrator.
    pub fn admin_user(mut self, id: impl Into<String>, username: impl Into<String>) -> Self {
        self.users.push(User {
            id: id.into(),
            username: username.into(),
            is_admin: true,
        });
        self
    }

    /// A collection owned by `owner_id`.
    pub fn collection(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        owner_id: impl Into<String>,
    ) -> Self {
        self.collections.push(Collection {
            id: id.into(),
            name: name.into(),
            owner_id: owner_id.into(),
        });
        self
    }

    /// `global_api_key_expiry_days`: the longest lifetime a key may have.
    pub fn max_expiry_days(mut self, days: u32) -> Self {
        self.settings.max_expiry_days = Some(days);
        self
    }

    /// The release of the API to play: [`ApiVersion::V1_6`] answers as a
    /// server before 1.7.0 (no `total_calls`, `last_used_at` or
    /// `inactivity_interval` in keys, no inactivity-interval route), so a
    /// downstream crate can test against old servers too.
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.settings.api_version = version;
        self
    }

    /// Answer 409 to any attempt to deactivate, delete or re-expire the
    /// bootstrap admin key, so a fuzzer holding it cannot lock itself out.
    pub fn protect_admin_key(mut self, protect: bool) -> Self {
        self.protect_admin_key = protect;
        self
    }

    /// Start with `n` plain extra keys of the admin user, alike but for their
    /// names, `seed 0`, `seed 1`, … (for demos, paging tests and load tests);
    /// at most [`MAX_SEED_KEYS`], or starting fails with an error that says
    /// so. For a population with ages, users and states, see
    /// [`realistic_keys`](Self::realistic_keys) (what the binary's
    /// `--seed-keys` makes).
    pub fn plain_keys(mut self, n: u32) -> Self {
        self.plain_keys = n;
        self
    }

    /// Start with `n` keys named `seed 0`, `seed 1`, … made over the last
    /// two years with a realistic spread, fixed by [`seed`](Self::seed):
    /// over 25 service accounts (`u-seed-01`/`svc-01` …) and, three in ten,
    /// their collections; some never used, some without expiry, some
    /// expired, deactivated or idle too long (what `--seed-keys` makes). At
    /// most [`MAX_SEED_KEYS`] with the other seeds.
    pub fn realistic_keys(mut self, n: u32) -> Self {
        self.realistic_keys = n;
        self
    }

    /// The number that fixes the spread of [`realistic_keys`](Self::realistic_keys)
    /// (default 0): the same seed gives the same keys.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Start with the keys of a seed file: a JSON array of records in the
    /// API's `APIKeyInfo` shape plus `user_id` (and optionally `secret_key`),
    /// as [`SeedKey`] documents. Users and collections the records name are
    /// created. An unknown field, a bad timestamp or a duplicate id fails
    /// the start with an error that names the record.
    pub fn seed_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.seed_file = Some(path.into());
        self
    }

    /// Start with these keys, as [`seed_file`](Self::seed_file) would.
    pub fn seed_records(mut self, keys: impl IntoIterator<Item = SeedKey>) -> Self {
        self.seed_records.extend(keys);
        self
    }

    /// Time a client has to send a request head once the server waits for
    /// it (default 10 s): a connection that sends nothing, or half a head,
    /// is closed then.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.header_read = timeout;
        self
    }

    /// Time a connection may go without a byte either way, such as one stuck
    /// halfway through a body (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.idle = timeout;
        self
    }

    /// How long requests in flight may finish after a shutdown (default 5 s)
    /// before their connections are dropped.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.timeouts.shutdown_grace = grace;
        self
    }

    /// Delay every response by `latency`, to play a server far away (say
    /// 20 ms) in tests and benchmarks. No lock is held while waiting, so
    /// concurrent requests overlap as they would against a remote server.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The timeouts the server will apply.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The state the server will run on, with the admin user and key in it.
    /// Returns the state and the admin key's secret.
    pub fn into_state(self) -> Result<(AppState, String), String> {
        let mut seeds = self.seed_records;
        if let Some(path) = &self.seed_file {
            seeds.extend(read_seed_file(path)?);
        }
        let planned =
            u64::from(self.plain_keys) + u64::from(self.realistic_keys) + seeds.len() as u64;
        if planned > u64::from(MAX_SEED_KEYS) {
            return Err(format!(
                "{planned} seed keys is more than this in-memory server holds: give at most {MAX_SEED_KEYS}"
            ));
        }
        let mut users = self.users;
        // The bootstrap key must work: a user given with the admin's id (say
        // `--user admin:root`) only renames the administrator.
        for user in users.iter_mut().filter(|u| u.id == self.admin_id) {
            user.is_admin = true;
        }
        if !users.iter().any(|u| u.id == self.admin_id) {
            users.push(User {
                id: self.admin_id.clone(),
                username: self.admin_id.clone(),
                is_admin: true,
            });
        }
        if let Some(c) = self
            .collections
            .iter()
            .find(|c| !users.iter().any(|u| u.id == c.owner_id))
        {
            return Err(format!(
                "collection {} is owned by unknown user {}: add the user first",
                c.id, c.owner_id
            ));
        }
        let secret = self.admin_key.unwrap_or_else(new_secret);
        if secret.trim().is_empty() || secret.chars().any(char::is_whitespace) {
            return Err("the admin key must be non-empty and hold no whitespace".to_owned());
        }
        let mut store = Store::new(users, self.collections, self.settings);
        let now = chrono::Utc::now();
        seeds.extend(seed::spread(self.realistic_keys, self.seed, now));
        for key in &seeds {
            store.add_seed_owners(key);
        }
        let state = AppState::with_latency(store, self.latency);
        let now = state.now();
        let admin_key = state
            .store()
            .insert_key_with_secret(&self.admin_id, "bootstrap admin key", &secret, now)
            .map_err(|e| e.message)?;
        if self.protect_admin_key {
            state.store().protect(&admin_key.id);
        }
        for i in 0..self.plain_keys {
            let now = state.now();
            let req = CreateRequest::named(&self.admin_id, format!("seed {i}"));
            state
                .store()
                .create(req, NewKey::generate(), now)
                .map_err(|e| e.message)?;
        }
        for (i, key) in seeds.iter().enumerate() {
            state.store().insert_seed(key, now).map_err(|e| {
                format!(
                    "seed key {i} (id \"{}\"): {e}",
                    crate::error::quote(&key.id)
                )
            })?;
        }
        Ok((state, secret))
    }

    /// Binds and serves in the background until the returned server is dropped
    /// or [`FakeServer::shutdown`] is called.
    pub async fn start(self) -> std::io::Result<FakeServer> {
        let addr = self.addr;
        let timeouts = self.timeouts;
        let (state, admin_key) = self.into_state().map_err(std::io::Error::other)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = app(state.clone());
        let task = tokio::spawn(serve(listener, router, timeouts, async {
            let _ = stopped.await;
        }));
        Ok(FakeServer {
            addr,
            admin_key,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running fake server. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    admin_key: String,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// A builder for a server with custom users, collections and settings.
    pub fn builder() -> FakeServerBuilder {
        FakeServerBuilder::default()
    }

    /// Starts a server with the defaults: one administrator (`admin`) and a
    /// random admin key, on 127.0.0.1 with a free port.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// The server root, such as `http://127.0.0.1:41234`: the value for `H2OGPTE_SERVER_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bootstrap admin key: the value for `H2OGPTE_API_KEY`.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// Moves the server's clock forward, so keys expire without waiting.
    pub fn advance_clock(&self, by: TimeDelta) {
        self.state.advance_clock(by);
    }

    /// Number of keys the server holds, the admin key included.
    pub fn key_count(&self) -> usize {
        self.state.store().len()
    }

    /// Stops accepting connections, finishes requests in flight, and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The keys of a seed file, read a record at a time within
/// [`MAX_SEED_FILE_BYTES`] and [`MAX_SEED_KEYS`].
fn read_seed_file(path: &std::path::Path) -> Result<Vec<SeedKey>, String> {
    let name = path.display().to_string();
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read seed file {name}: {e}"))?;
    let too_large = || {
        format!(
            "seed file {name} is larger than {} MiB: split it, or seed fewer keys",
            MAX_SEED_FILE_BYTES >> 20
        )
    };
    if file.metadata().is_ok_and(|m| m.len() > MAX_SEED_FILE_BYTES) {
        return Err(too_large());
    }
    // A FIFO or a growing file has no length to check first: the read
    // stops at the limit, and a file cut there does not parse.
    let mut bounded = file.take(MAX_SEED_FILE_BYTES + 1);
    let keys = seed::parse(&mut bounded, &name, MAX_SEED_KEYS as usize);
    if bounded.limit() == 0 {
        return Err(too_large());
    }
    keys
}
