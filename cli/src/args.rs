//! The command line: global options and one subcommand per task.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum, builder::BoolishValueParser};
use h2ogpte_api_keys::{API_KEY_ENV, DEFAULT_MAX_STREAM_KEYS, MAX_PREFETCH, SERVER_URL_ENV};

/// Environment variable that allows plain http to a host that is not loopback.
pub const ALLOW_INSECURE_HTTP_ENV: &str = "H2OGPTE_ALLOW_INSECURE_HTTP";

/// Administer h2oGPTe API keys: create, list, expire, set inactivity,
/// deactivate, delete and rotate them, one at a time or in batches.
///
/// Exit codes: 0 success, 1 API or transport error, 2 usage or configuration
/// error, 3 partial failure (some ids of a batch failed, every result still
/// printed; a rotation made the new key but could not retire the old one; or
/// a key whose secret could not be delivered could not be deleted again),
/// 130 after SIGINT, 143 after SIGTERM.
///
/// A command that creates a key (create, rotate) either delivers its secret
/// on stdout or deletes the key again; a signal during the create waits for
/// it to finish (a second one stops waiting).
#[derive(Parser, Debug)]
#[command(name = "h2ogpte-keys", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Args, Debug)]
pub struct Global {
    /// The h2oGPTe server root, such as `https://h2ogpte.example.com` (/api/v1 is appended).
    #[arg(long, env = SERVER_URL_ENV, global = true, help_heading = "Connection")]
    pub server_url: Option<String>,
    /// An administrator's API key. Prefer the environment variable: a flag can show in `ps`.
    #[arg(long, env = API_KEY_ENV, hide_env_values = true, global = true, help_heading = "Connection")]
    pub api_key: Option<String>,
    /// Send the API key over plain http to a host that is not loopback (only
    /// on a network you trust).
    #[arg(long, env = ALLOW_INSECURE_HTTP_ENV, action = clap::ArgAction::SetTrue, value_parser = BoolishValueParser::new(), global = true, help_heading = "Connection")]
    pub allow_insecure_http: bool,
    /// Trust the CA certificates in this PEM file too, for a server with a private CA.
    #[arg(long, value_name = "FILE", global = true, help_heading = "Connection")]
    pub ca_cert: Option<PathBuf>,
    /// Output format of results.
    #[arg(long, short, value_enum, default_value_t = Output::Table, global = true, help_heading = "Output")]
    pub output: Output,
    /// Log HTTP attempts and retries to stderr (repeat for more detail).
    #[arg(long, short, action = clap::ArgAction::Count, global = true, help_heading = "Output")]
    pub verbose: u8,
    /// Pages of keys requested ahead at once when paging through every key
    /// (`list --all`, `show`, `rotate`), between 1 (one after the other) and 32.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=MAX_PREFETCH as i64), global = true, help_heading = "Connection")]
    pub prefetch: u16,
    /// Most keys read when paging through every key, so a server that always
    /// has another page cannot keep a command going for ever.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_STREAM_KEYS, value_parser = clap::value_parser!(u64).range(1..), global = true, help_heading = "Connection")]
    pub max_keys: u64,
    /// Seconds one HTTP request may take.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds, global = true, help_heading = "Connection")]
    pub timeout: Duration,
}

/// Longest `--timeout` accepted: a day.
const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;
/// Shortest `--timeout` accepted: a millisecond.
const MIN_TIMEOUT_SECONDS: f64 = 0.001;

/// A finite number of seconds from a millisecond up to a day.
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(MIN_TIMEOUT_SECONDS..=MAX_TIMEOUT_SECONDS).contains(&value) {
        return Err(format!(
            "{text:?} is out of range: use a number of seconds from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS}"
        ));
    }
    Duration::try_from_secs_f64(value).map_err(|e| format!("{text:?}: {e}"))
}

/// How results are printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Aligned columns for people.
    Table,
    /// One JSON document, with the API's own field names.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// The tasks.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a key for a user; prints its secret once.
    Create(Create),
    /// List keys, one page or all of them, with filters.
    List(List),
    /// Show one key's details.
    Show {
        /// Id of the key.
        id: String,
    },
    /// Set or remove the expiry of keys.
    Expire(Expire),
    /// Set or remove how many days keys may go unused (servers since 1.7.0).
    Inactivity(Inactivity),
    /// Deactivate keys for good.
    Deactivate(Batch),
    /// Delete keys (asks first on a terminal unless --yes).
    Delete(Delete),
    /// Replace a key with a new one of the same user, name, collection and
    /// remaining expiry, then retire the old one.
    Rotate(Rotate),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `create`.
#[derive(Args, Debug)]
pub struct Create {
    /// Id of the user the key is for.
    #[arg(long = "user", value_name = "ID")]
    pub user: String,
    /// Name of the key.
    #[arg(long)]
    pub name: Option<String>,
    /// Restrict the key to this collection of the user.
    #[arg(long = "collection", value_name = "ID")]
    pub collection: Option<String>,
    /// Expire the key after this interval, such as "30 days".
    #[arg(long, value_name = "INTERVAL")]
    pub expires_in: Option<String>,
    /// Days the key may go unused before it becomes invalid.
    #[arg(long, value_name = "DAYS")]
    pub inactivity_days: Option<i64>,
}

/// `list`.
#[derive(Args, Debug)]
pub struct List {
    /// Only keys of users whose username matches this.
    #[arg(long)]
    pub filter: Option<String>,
    /// Every key, fetched page by page.
    #[arg(long, conflicts_with_all = ["offset", "limit"])]
    pub all: bool,
    /// Keys to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Keys to fetch.
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
    /// Only active keys.
    #[arg(long, group = "state")]
    pub active: bool,
    /// Only inactive keys (deactivated, expired or idle too long).
    #[arg(long, group = "state")]
    pub inactive: bool,
    /// Only keys whose expiry has passed.
    #[arg(long, group = "state")]
    pub expired: bool,
    /// Only keys not used for at least this many days (never-used keys count from creation).
    #[arg(long, value_name = "DAYS")]
    pub unused_for: Option<u32>,
}

/// Ids to act on, and how.
#[derive(Args, Debug)]
pub struct Batch {
    /// Key ids; with none, ids are read from --from-file or standard input.
    pub ids: Vec<String>,
    /// Read ids from this file (`-` for standard input), one per line; blank
    /// lines and # comments are skipped.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// How many requests run at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

/// `expire`.
#[derive(Args, Debug)]
pub struct Expire {
    #[command(flatten)]
    pub batch: Batch,
    /// Expire this long from now, such as "30 days".
    #[arg(
        long = "in",
        value_name = "INTERVAL",
        required_unless_present = "never",
        conflicts_with = "never"
    )]
    pub expires_in: Option<String>,
    /// Remove the expiry.
    #[arg(long)]
    pub never: bool,
}

/// `inactivity`.
#[derive(Args, Debug)]
pub struct Inactivity {
    #[command(flatten)]
    pub batch: Batch,
    /// Make the keys invalid after this many days without use.
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "never",
        conflicts_with = "never",
        value_parser = clap::value_parser!(i64).range(1..)
    )]
    pub days: Option<i64>,
    /// Remove the inactivity interval.
    #[arg(long)]
    pub never: bool,
}

/// `delete`.
#[derive(Args, Debug)]
pub struct Delete {
    #[command(flatten)]
    pub batch: Batch,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

/// `rotate`.
#[derive(Args, Debug)]
pub struct Rotate {
    /// Id of the key to replace.
    pub id: String,
    /// Id of the key's user, when it differs from the username (the API lists
    /// keys by username only).
    #[arg(long = "user", value_name = "ID")]
    pub user: Option<String>,
    /// Deactivate the old key once the new one exists.
    #[arg(long, conflicts_with = "delete_old")]
    pub deactivate_old: bool,
    /// Delete the old key once the new one exists.
    #[arg(long)]
    pub delete_old: bool,
}
