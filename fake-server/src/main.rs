//! The `h2ogpte-fake-server` binary: serves the fake server until SIGINT or
//! SIGTERM, after printing its URL and admin key as the first two stdout lines.

use std::{io::Write, net::SocketAddr, process::ExitCode, time::Duration};

use clap::Parser;
use h2ogpte_fake_server::{ApiVersion, FakeServer, FakeServerBuilder, MAX_SEED_KEYS};
use tokio::net::TcpListener;

/// An in-memory h2oGPTe server for the API-key administration endpoints.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Secret of the bootstrap admin key; random when not given.
    #[arg(long, env = "H2OGPTE_FAKE_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// A non-admin user, as ID or ID:USERNAME (the username defaults to the id). Repeatable.
    /// `admin:NAME` renames the bootstrap administrator, who stays an administrator.
    #[arg(long = "user", value_name = "ID[:USERNAME]")]
    users: Vec<String>,
    /// A collection, as ID:NAME:OWNER_ID. Repeatable.
    #[arg(long = "collection", value_name = "ID:NAME:OWNER_ID")]
    collections: Vec<String>,
    /// Longest key lifetime in days (the server's global_api_key_expiry_days),
    /// between 1 and 36500.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36500))]
    max_expiry_days: Option<u32>,
    /// Refuse (409) to deactivate, delete or re-expire the bootstrap admin key,
    /// so a contract tester holding it cannot lock itself out.
    #[arg(long)]
    protect_admin_key: bool,
    /// Create N keys at start, over 25 service accounts, for demos, audits and load
    /// tests (at most 1000000): made over the last two years, some never
    /// used, some without expiry, some expired, deactivated or idle.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_SEED_KEYS)))]
    seed_keys: u32,
    /// The number that fixes the spread of --seed-keys: the same number
    /// gives the same keys.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Load keys from a JSON array of records in the API's APIKeyInfo shape
    /// plus user_id (and optionally secret_key); users and collections they
    /// name are created.
    #[arg(long, value_name = "FILE")]
    seed_file: Option<std::path::PathBuf>,
    /// The API release to play: 1.7 (all six operations), or 1.6 (before
    /// 1.7.0: no total_calls, last_used_at, inactivity_interval, or
    /// inactivity-interval route).
    #[arg(long, value_name = "VERSION", default_value = "1.7")]
    api_version: ApiVersion,
    /// Delay every response by this many milliseconds, to play a server far
    /// away (at most 60000).
    #[arg(long, value_name = "MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    latency_ms: u64,
    /// Seconds a client has to send a request head once the server waits for it.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    header_read_timeout: Duration,
    /// Seconds a connection may go without a byte either way before it is closed.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds)]
    idle_timeout: Duration,
    /// Seconds requests in flight may take to finish after SIGINT or SIGTERM.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    shutdown_grace: Duration,
}

/// Longest of the timeouts, in seconds: a day.
const MAX_SECONDS: f64 = 86_400.0;

/// A positive number of seconds, at most a day.
fn seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= MAX_SECONDS)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("expected a number of seconds above 0 and at most {MAX_SECONDS}"))
}

fn builder(args: &Args) -> Result<FakeServerBuilder, String> {
    let mut b = FakeServer::builder().addr(args.addr);
    if let Some(key) = &args.admin_key {
        b = b.admin_key(key);
    }
    for user in &args.users {
        let (id, name) = user.split_once(':').unwrap_or((user, user));
        if id.is_empty() || name.is_empty() {
            return Err(format!("--user {user:?}: use ID or ID:USERNAME"));
        }
        b = b.user(id, name);
    }
    for c in &args.collections {
        let parts: Vec<&str> = c.splitn(3, ':').collect();
        match parts.as_slice() {
            [id, name, owner] if !id.is_empty() && !name.is_empty() && !owner.is_empty() => {
                b = b.collection(*id, *name, *owner);
            }
            _ => return Err(format!("--collection {c:?}: use ID:NAME:OWNER_ID")),
        }
    }
    b = b
        .protect_admin_key(args.protect_admin_key)
        .realistic_keys(args.seed_keys)
        .seed(args.seed)
        .api_version(args.api_version)
        .latency(Duration::from_millis(args.latency_ms))
        .header_read_timeout(args.header_read_timeout)
        .idle_timeout(args.idle_timeout)
        .shutdown_grace(args.shutdown_grace);
    if let Some(days) = args.max_expiry_days {
        b = b.max_expiry_days(days);
    }
    if let Some(path) = &args.seed_file {
        b = b.seed_file(path);
    }
    Ok(b)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("h2ogpte-fake-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let builder = builder(&args)?;
    let timeouts = builder.timeouts();
    let (state, admin_key) = builder.into_state()?;
    let listener = TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Signals are handled before the ready lines announce the server.
    let shutdown = shutdown_signal()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "H2OGPTE_SERVER_URL=http://{addr}").map_err(|e| e.to_string())?;
        writeln!(out, "H2OGPTE_API_KEY={admin_key}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    tracing::info!(%addr, "serving the h2oGPTe API-key admin endpoints");
    let app = h2ogpte_fake_server::app(state).layer(axum::middleware::from_fn(log_request));
    h2ogpte_fake_server::serve(listener, app, timeouts, shutdown).await;
    tracing::info!("stopped");
    Ok(())
}

/// Logs method, path and status of each request; never headers or bodies,
/// which carry secrets.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(%method, %path, status = response.status().as_u16(), "request");
    response
}

/// Installs the SIGINT and SIGTERM handlers at once (so a supervisor that
/// signals right after the ready lines stops the server cleanly instead of
/// killing it) and returns a future that completes on the first of them.
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handler = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| format!("cannot handle {name}: {e}"))
        };
        let mut interrupt = handler(SignalKind::interrupt(), "SIGINT")?;
        let mut terminate = handler(SignalKind::terminate(), "SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
    }
}
