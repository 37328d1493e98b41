//! The command line: global options and one subcommand per task.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum, builder::BoolishValueParser};
use h2ogpte_api_keys::{
    API_KEY_ENV, DEFAULT_MAX_STREAM_KEYS, MAX_PREFETCH, SERVER_URL_ENV,
    policy::{Policy, Remedy, Rule, RuleKind, RuleValue},
};

/// Environment variable naming the context, as `--context` does.
pub const CONTEXT_ENV: &str = "H2OGPTE_CONTEXT";

/// Environment variable that allows plain http to a host that is not loopback.
pub const ALLOW_INSECURE_HTTP_ENV: &str = "H2OGPTE_ALLOW_INSECURE_HTTP";

/// Administer h2oGPTe API keys: create, list, expire, set inactivity,
/// deactivate, delete and rotate them, one at a time or in batches; audit
/// them against your rules; check any change first with --dry-run.
///
/// Exit codes: 0 success, 1 API or transport error, 2 usage or configuration
/// error, 3 partial failure (some ids of a batch failed, every result still
/// printed; a rotation made the new key but could not retire the old one; or
/// a key whose secret could not be delivered could not be deleted again),
/// 4 an audit found keys that break the policy, 5 an audit checked nothing
/// (no key matched, or no rule can be checked), 130 after SIGINT, 143 after
/// SIGTERM. Every command refuses to act on the key it authenticates with
/// unless --allow-self.
///
/// A command that creates a key (create, rotate) either delivers its secret
/// (on stdout, or with --secret-file, --secret-dir or --secret-command) or
/// deletes the key again; a signal during the create waits for it to finish
/// (a second one stops waiting). Rotations journal their steps in the state
/// directory, so `rotate --resume` finishes or undoes a run that was killed.
#[derive(Parser, Debug)]
#[command(name = "h2ogpte-keys", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The h2oGPTe server root, such as `https://h2ogpte.example.com` (/api/v1 is appended).
    #[arg(long, env = SERVER_URL_ENV, global = true, help_heading = "Connection")]
    pub server_url: Option<String>,
    /// The context (a server and where its key comes from) of the
    /// configuration file to use; without it, --server-url and --api-key,
    /// else the current context (`h2ogpte-keys context use NAME`).
    #[arg(long, value_name = "NAME", env = CONTEXT_ENV, global = true, help_heading = "Connection")]
    pub context: Option<String>,
    /// An administrator's API key. Prefer the environment variable: a flag can show in `ps`.
    #[arg(long, env = API_KEY_ENV, hide_env_values = true, global = true, help_heading = "Connection")]
    pub api_key: Option<String>,
    /// Send the API key over plain http to a host that is not loopback (only
    /// on a network you trust).
    #[arg(long, env = ALLOW_INSECURE_HTTP_ENV, action = clap::ArgAction::SetTrue, value_parser = BoolishValueParser::new(), global = true, help_heading = "Connection")]
    pub allow_insecure_http: bool,
    /// Trust the CA certificates in this PEM file too, for a server with a private CA.
    #[arg(long, value_name = "FILE", env = CA_CERT_ENV, global = true, help_heading = "Connection")]
    pub ca_cert: Option<PathBuf>,
    /// Output format of results.
    #[arg(long, short, value_enum, default_value_t = Output::Table, global = true, help_heading = "Output")]
    pub output: Output,
    /// Log this tool's and the client's events to stderr (-vv: the HTTP
    /// stack's too). `RUST_LOG` works alone, and overrides this.
    #[arg(long, short, action = clap::ArgAction::Count, global = true, help_heading = "Output")]
    pub verbose: u8,
    /// Say only what failed: no progress bar, no summary or notes on stderr.
    #[arg(long, short, global = true, help_heading = "Output")]
    pub quiet: bool,
    /// Tables without their header row, for scripts.
    #[arg(long, global = true, help_heading = "Output")]
    pub no_headers: bool,
    /// Pages of keys requested ahead at once when paging through every key
    /// (`list --all`, `show`, `rotate`), between 1 (one after the other) and 32.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = between(1u16, MAX_PREFETCH as u16), global = true, help_heading = "Connection")]
    pub prefetch: u16,
    /// Most keys read when paging through every key, so a server that always
    /// has another page cannot keep a command going for ever.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_STREAM_KEYS, value_parser = between(1u64, u64::MAX), global = true, help_heading = "Connection")]
    pub max_keys: u64,
    /// Seconds one HTTP request may take.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds, global = true, help_heading = "Connection")]
    pub timeout: Duration,
    /// Where rotations keep their journal (default
    /// `$XDG_STATE_HOME/h2ogpte-keys`, else `~/.local/state/h2ogpte-keys`).
    #[arg(long, value_name = "DIR", global = true, help_heading = "State")]
    pub state_dir: Option<PathBuf>,
    /// Act on the key this tool authenticates with too. Without it every
    /// command (expire, inactivity, deactivate, delete, rotate, apply)
    /// refuses a key whose hint is the caller's, and a plan gives it the
    /// action own-key.
    #[arg(long, global = true, help_heading = "Safety")]
    pub allow_self: bool,
}

/// Where a new key's secret goes, when not to standard output.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Secret")]
pub struct SinkArgs {
    /// Write the secret alone to this file instead of standard output: made
    /// with mode 600 under a temporary name in the same directory (which must
    /// exist), synced, then renamed into place. An existing file is refused
    /// unless --force.
    #[arg(long, value_name = "PATH", conflicts_with = "secret_command")]
    pub secret_file: Option<PathBuf>,
    /// Run this command with the secret alone on its standard input (no
    /// shell: write `sh -c '...'` for one). Its environment names the key:
    /// H2OGPTE_NEW_KEY_ID, H2OGPTE_KEY_NAME, H2OGPTE_KEY_USERNAME and, in a
    /// rotation, H2OGPTE_OLD_KEY_ID; the secret is never in its arguments
    /// or environment, nor is H2OGPTE_API_KEY. Exit 0 in time is delivered;
    /// anything else is not, and the new key is deleted again.
    #[arg(long, value_name = "CMD")]
    pub secret_command: Option<String>,
    /// Seconds the --secret-command may take before it is killed and the
    /// secret counts as not delivered.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds)]
    pub secret_command_timeout: Duration,
    /// Replace an existing secret file.
    #[arg(long)]
    pub force: bool,
}

/// Environment variable naming a PEM file of extra CA certificates.
pub const CA_CERT_ENV: &str = "H2OGPTE_CA_CERT";

/// Largest `--limit`: the most keys the API returns in one page.
pub const MAX_LIMIT: u64 = 1000;

/// Longest inactivity interval, in days (100 years).
pub const MAX_DAYS: i64 = 36_500;

/// A parser of a whole number from `lo` to `hi`, whose error says the range
/// in words.
fn between<T>(lo: T, hi: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + 'static,
{
    move |text: &str| {
        let range = if hi_is_unbounded(&hi) {
            format!("a whole number of at least {lo}")
        } else {
            format!("a whole number between {lo} and {hi}")
        };
        match text.trim().parse::<T>() {
            Ok(value) if value >= lo && value <= hi => Ok(value),
            _ => Err(format!("use {range}")),
        }
    }
}

/// Whether `hi` is the largest value of its type (no upper bound to say).
fn hi_is_unbounded<T: std::fmt::Display>(hi: &T) -> bool {
    let text = hi.to_string();
    text == u64::MAX.to_string() || text == u32::MAX.to_string() || text == u16::MAX.to_string()
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
    /// Comma-separated values with a header row of the API's field names,
    /// for spreadsheets (cells that would run as a formula start with ').
    Csv,
    /// The OpenMetrics text format, for node_exporter's textfile collector
    /// (`audit` only).
    Openmetrics,
}

/// The tasks.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a key for a user; prints its secret once.
    Create(Create),
    /// List keys, one page or all of them, with filters.
    List(List),
    /// Show one key's details, one field per line.
    Show {
        /// Id of the key.
        id: String,
    },
    /// Set or remove the expiry of keys.
    #[command(after_help = BATCH_EXIT_CODES)]
    Expire(Expire),
    /// Set or remove how many days keys may go unused (servers since 1.7.0).
    #[command(after_help = BATCH_EXIT_CODES)]
    Inactivity(Inactivity),
    /// Deactivate keys for good. A key that is already deactivated counts as
    /// done; an expired or idle key, which the server does not deactivate
    /// and a new expiry or interval would revive, fails unless
    /// --allow-revivable.
    #[command(after_help = BATCH_EXIT_CODES)]
    Deactivate(Deactivate),
    /// Delete keys. On a terminal it lists them and asks first; elsewhere it
    /// needs --yes. Answering no exits 1 with nothing deleted.
    #[command(after_help = BATCH_EXIT_CODES)]
    Delete(Delete),
    /// Replace a key with a new one of the same user, name, collection and
    /// remaining expiry, deliver its secret, then retire the old one
    /// (deactivate it, by default; --delete-old deletes it; --overlap keeps
    /// it working for a window, then lets it expire). --from-file rotates
    /// many; --resume finishes or undoes what a killed run left.
    Rotate(Rotate),
    /// Report the keys that break your rules: no expiry, too old, unused,
    /// expiring soon, global, inactive but kept… one row per finding.
    #[command(after_help = audit_help())]
    Audit(Audit),
    /// One action per key from the policy (delete, deactivate, rotate,
    /// expire, inactivity; or keep, retiring, needs-human, own-key), such
    /// that applying it leaves nothing to do; --out saves it for `apply`.
    Plan(PlanArgs),
    /// Carry out a plan saved with `plan --out`: on the server it was made
    /// for, skipping every key changed since, rotations into a secret
    /// directory or command.
    Apply(ApplyArgs),
    /// Serve AI assistants over MCP (stdio): read tools (whoami, list_keys,
    /// show_key, audit, plan) and, with --allow-writes, apply_plan of a plan
    /// this server made, confirmed by the human; no secret ever reaches the
    /// model.
    #[cfg(feature = "mcp")]
    Mcp(McpArgs),
    /// The server and context in use, and the key this tool authenticates
    /// with as the server lists it (found by its hint).
    Whoami,
    /// The contexts of the configuration file
    /// ($XDG_CONFIG_HOME/h2ogpte-keys/config.toml): list them, show one,
    /// or make one current.
    #[command(subcommand, after_help = CONTEXT_HELP)]
    Context(ContextAction),
    /// Print a shell completion script.
    #[command(before_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `h2ogpte-keys man | man -l -`, or
    /// install it as h2ogpte-keys.1.
    Man,
}

/// Which findings count: any, or only new ones (first seen in this run).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Every finding.
    Any,
    /// Findings first seen in this run (needs --state).
    New,
}

/// What `context` does.
#[derive(Subcommand, Debug)]
pub enum ContextAction {
    /// Every context: name, server, where its key comes from; * marks the
    /// current one.
    List,
    /// One context (the current one without a name); never its key.
    Show {
        /// The context.
        name: Option<String>,
    },
    /// Make a context the current one.
    Use {
        /// The context.
        name: String,
    },
}

/// The configuration file's format, in `context`'s help.
const CONTEXT_HELP: &str = "The configuration file, one table per context:

  [context.prod]
  server_url = \"https://h2ogpte.example.com\"
  api_key_command = \"pass show h2ogpte/prod\"   # or api_key_env = \"VAR\", api_key_file = \"PATH\"

  [context.staging]
  server_url = \"https://h2ogpte-staging.example.com\"
  api_key_file = \"/home/me/.h2ogpte-staging-key\"   # mode 600

A key written in the file itself (api_key) needs the file at mode 600. --context NAME or \
H2OGPTE_CONTEXT picks one for a command; `context use NAME` makes it current. A server URL or key \
given directly (flags or H2OGPTE_SERVER_URL and H2OGPTE_API_KEY) is used instead of the current \
context, and refused beside --context.";

/// Exit codes of the batch commands, shown in their help.
const BATCH_EXIT_CODES: &str = "Exit codes: 0 when every id is done, 1 when every id failed, 3 when some \
failed (every result is still printed), 2 for a usage error, 130 or 143 after SIGINT or SIGTERM.";

/// The audit's finding codes, pipes, policy file and exit codes, in its
/// help; the policy keys and the recommended values come from the library.
fn audit_help() -> String {
    let keys: Vec<&str> = Policy::RULES.iter().map(|rule| rule.key).collect();
    let recommended = Policy::recommended();
    let on: Vec<String> = Policy::RULES
        .iter()
        .filter_map(|rule| {
            let value = recommended.rule(rule.key)?;
            value.is_on().then(|| format!("{} = {value}", rule.key))
        })
        .collect();
    format!(
        "{AUDIT_HELP_CODES}A policy file (--policy) is TOML with any of: {}; flags override it. With \
neither a file nor a rule flag, the recommended policy applies: {}.{AUDIT_HELP_EXIT}",
        keys.join(", "),
        on.join(", ")
    )
}

/// The first part of the audit's help: finding codes and pipes.
const AUDIT_HELP_CODES: &str = "Finding codes (stable; scripts may match on them) and the remedy that clears \
each: no-expiry and lifetime-too-long (expire), too-old, expiring-soon and global-key (rotate), \
unused (deactivate), no-inactivity-interval (inactivity), inactive-not-deleted (delete; counted from \
when the key stopped working, so a key deactivated by hand, whose moment the API does not give, is \
judged only with --state, from when it was first seen so), rotation-in-progress (rotate --resume; \
from the rotation journal), waiver-expired (review: a [[waiver]] of the policy file ended; the \
finding it let stand is reported again beside it).

A policy file may let a finding stand for a key or a user's keys, until a date:
  [[waiver]]
  username = \"svc-legacy\"    # or key = \"KEY_ID\"
  finding = \"global-key\"
  until = 2027-03-31
  reason = \"vendor cannot use a scoped key before its Q1 release\"

With --state FILE each finding is new or open, and the report ends with the findings fixed since \
the last run (or gone, with their key). -o openmetrics writes metrics for node_exporter's textfile \
collector; --output-file FILE replaces FILE only once the audit is complete.

Pipe ids into the command that clears them, picked by remedy:
  h2ogpte-keys audit --ids --remedy deactivate | h2ogpte-keys deactivate --from-file -
Under `set -o pipefail` the audit's exit 4 fails the pipeline: write \
`{ h2ogpte-keys audit --ids --remedy deactivate || [ $? -eq 4 ]; } | ...`.

";

/// The last part of the audit's help: exit codes.
const AUDIT_HELP_EXIT: &str = "

Exit codes: 0 when no key breaks the policy, 4 when some do (every finding is printed, and the \
code stands when the reader closes the output early, as `| head` does), 5 when nothing was checked \
(no key matched, or no rule asked for can be checked on the server's keys), 3 when \
--notify-command could not tell some owners (whatever was found), 1 for an API or transport \
error, 2 for a usage error (such as a bad policy file), 130 or 143 after SIGINT or SIGTERM.";

/// A remedy's name, as `Remedy::as_str` spells it.
fn remedy(text: &str) -> Result<Remedy, String> {
    Remedy::ALL
        .into_iter()
        .find(|r| r.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = Remedy::ALL.iter().map(|r| r.as_str()).collect();
            format!("not a remedy: use one of {}", names.join(", "))
        })
}

/// How to install a completion script, shown in the help of `completions`.
const COMPLETIONS_HELP: &str = "Install the script where your shell looks for completions:
  bash:       h2ogpte-keys completions bash > ~/.local/share/bash-completion/completions/h2ogpte-keys
  zsh:        h2ogpte-keys completions zsh > ~/.zfunc/_h2ogpte-keys   (with fpath+=~/.zfunc before compinit)
  fish:       h2ogpte-keys completions fish > ~/.config/fish/completions/h2ogpte-keys.fish
  elvish:     h2ogpte-keys completions elvish >> ~/.config/elvish/rc.elv
  powershell: h2ogpte-keys completions powershell >> $PROFILE
then start a new shell.";

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
    /// Days the key may go unused before it becomes invalid, between 1 and 36500.
    #[arg(long, value_name = "DAYS", value_parser = between(1i64, MAX_DAYS))]
    pub inactivity_days: Option<i64>,
    /// Say what would be created, and create nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub sink: SinkArgs,
}

/// `list`.
#[derive(Args, Debug)]
pub struct List {
    /// Only keys of users whose username matches this.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only the keys of the user named exactly this (the API's filter is
    /// a substring: `svc-etl` also matches `svc-etl-staging`).
    #[arg(long, value_name = "NAME", conflicts_with = "filter")]
    pub user: Option<String>,
    /// Every key, fetched page by page.
    #[arg(long, conflicts_with_all = ["offset", "limit"])]
    pub all: bool,
    /// Keys to skip (with a filter below, matching keys to skip).
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Keys to show, between 1 and 1000 (with a filter below, matching keys).
    #[arg(long, default_value_t = 100, value_parser = between(1u64, MAX_LIMIT))]
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
    #[arg(long, value_name = "DAYS", value_parser = between(0u32, 36_500))]
    pub unused_for: Option<u32>,
    /// Write the listing to this file instead of standard output: to a
    /// temporary file beside it, renamed over it only when the listing is
    /// complete.
    #[arg(long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

impl List {
    /// Whether a filter the server cannot apply is set: then every key is
    /// read, and the filter sees them all.
    pub fn filters_on_the_client(&self) -> bool {
        self.active
            || self.inactive
            || self.expired
            || self.unused_for.is_some()
            || self.user.is_some()
    }
}

/// Ids to act on, and how.
#[derive(Args, Debug, Clone)]
pub struct Batch {
    /// Key ids; with none, ids are read from --from-file or standard input.
    pub ids: Vec<String>,
    /// Read ids from this file (`-` for standard input), one per line; blank
    /// lines and # comments are skipped.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// How many requests run at once, between 1 and 256.
    #[arg(long, default_value_t = 8, value_parser = between(1u16, 256))]
    pub concurrency: u16,
    /// Read the keys and say per id what would be done (which exist, which
    /// are already inactive); change nothing. Exit codes as for a real run.
    #[arg(long)]
    pub dry_run: bool,
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
    /// Change the expiry of expired keys too, which makes them authenticate
    /// again; without it they are refused.
    #[arg(long)]
    pub revive: bool,
}

/// `deactivate`.
#[derive(Args, Debug)]
pub struct Deactivate {
    #[command(flatten)]
    pub batch: Batch,
    /// Count an expired or idle key as done (the server does not deactivate
    /// it, so it stays revivable by a new expiry or interval).
    #[arg(long)]
    pub allow_revivable: bool,
}

/// `inactivity`.
#[derive(Args, Debug)]
pub struct Inactivity {
    #[command(flatten)]
    pub batch: Batch,
    /// Make the keys invalid after this many days without use, between 1 and 36500.
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "never",
        conflicts_with = "never",
        value_parser = between(1i64, MAX_DAYS)
    )]
    pub days: Option<i64>,
    /// Remove the inactivity interval.
    #[arg(long)]
    pub never: bool,
    /// Change the interval of keys idle past their interval too, which
    /// makes them authenticate again; without it they are refused.
    #[arg(long)]
    pub revive: bool,
}

/// `delete`.
#[derive(Args, Debug)]
pub struct Delete {
    #[command(flatten)]
    pub batch: Batch,
    /// Do not ask for confirmation (required when standard input is not a
    /// terminal).
    #[arg(long, short)]
    pub yes: bool,
    /// Count an id that does not exist as done ("already gone") instead of
    /// failed.
    #[arg(long)]
    pub ignore_missing: bool,
}

/// `rotate`.
#[derive(Args, Debug)]
pub struct Rotate {
    /// Id of the key to replace.
    #[arg(required_unless_present_any = ["from_file", "resume"], conflicts_with_all = ["from_file", "resume"])]
    pub id: Option<String>,
    /// Rotate every key whose id is in this file (`-` for standard input),
    /// one per line, as `audit --ids --remedy rotate` prints them; each
    /// secret goes to --secret-dir or --secret-command.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub from_file: Option<PathBuf>,
    /// With --from-file: write each new secret to a file named by the old
    /// key's id in this directory, which must have mode 700.
    #[arg(long, value_name = "DIR", requires = "from_file", conflicts_with_all = ["secret_file", "secret_command"])]
    pub secret_dir: Option<PathBuf>,
    /// With --from-file: the user id of each username, as CSV lines
    /// `username,user_id` or TOML `username = "user_id"`; a key whose user
    /// is not in it is refused before anything is made for it.
    #[arg(
        long,
        value_name = "FILE",
        requires = "from_file",
        conflicts_with = "user"
    )]
    pub user_map: Option<PathBuf>,
    /// With --from-file: rotations run at once, between 1 and 64.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = between(1u16, 64))]
    pub concurrency: u16,
    /// Finish or undo the rotations an earlier run left unfinished (killed,
    /// or the machine rebooted), as its journal in the state directory
    /// records them, and say which.
    #[arg(long, conflicts_with_all = ["user", "delete_old", "overlap", "expires_in", "dry_run", "secret_file", "secret_command", "force"])]
    pub resume: bool,
    /// Id of the key's user, when it differs from the username (the API lists
    /// keys by username only).
    #[arg(long = "user", value_name = "ID")]
    pub user: Option<String>,
    /// Deactivate the old key once the new secret is delivered (the default).
    #[arg(long, conflicts_with_all = ["delete_old", "overlap"])]
    pub deactivate_old: bool,
    /// Delete the old key instead of deactivating it.
    #[arg(long, conflicts_with = "overlap")]
    pub delete_old: bool,
    /// Keep the old key working for this long, such as "7 days", so its
    /// users can move to the new one: its expiry becomes the earlier of its
    /// own and now plus this (never later). A window the server's longest
    /// expiry does not allow is refused before anything is created.
    #[arg(long, value_name = "INTERVAL")]
    pub overlap: Option<String>,
    /// The new key expires this long from now, such as "90 days", instead
    /// of when the old one would have (so rotating a key that never expires
    /// or lives too long clears that finding).
    #[arg(long, value_name = "INTERVAL")]
    pub expires_in: Option<String>,
    /// Read the key and say what would be done; create and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Rotate a key even though the journal says it was rotated already
    /// into a key that still works (it is retiring, and would get a second
    /// live replacement). A key with an unfinished rotation is never
    /// rotated: resume it.
    #[arg(long, conflicts_with = "resume")]
    pub again: bool,
    #[command(flatten)]
    pub sink: SinkArgs,
}

/// `plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Only keys of users whose username matches this.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only the keys of the user named exactly this (the API's filter is
    /// a substring: `svc-etl` also matches `svc-etl-staging`).
    #[arg(long, value_name = "NAME", conflicts_with = "filter")]
    pub user: Option<String>,
    /// Read the rules from this TOML file (flags override it).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Save the plan to this file (JSON) for `h2ogpte-keys apply`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub rules: Rules,
}

/// `mcp`.
#[cfg(feature = "mcp")]
#[derive(Args, Debug)]
pub struct McpArgs {
    /// Offer apply_plan: a plan this server made, named by its digest and
    /// confirmed by the human (or by repeating the digest), carried out as
    /// `apply` does. Without it every tool only reads.
    #[arg(long)]
    pub allow_writes: bool,
    /// Read the rules of audit and plan from this TOML file (flags override it).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    pub rules: Rules,
    #[command(flatten)]
    pub delivery: Delivery,
}

/// `apply`.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The plan, as `plan --out` saved it.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    #[command(flatten)]
    pub delivery: Delivery,
    /// Apply without asking (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Say what would be done, key by key; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Where a plan's rotations put their secrets, and how many at once
/// (`apply`, `mcp`).
#[derive(Args, Debug)]
pub struct Delivery {
    /// Rotations: write each new secret to a file named by the old key's
    /// id in this directory, which must have mode 700.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["secret_file", "secret_command"])]
    pub secret_dir: Option<PathBuf>,
    /// Rotations: the user id of each username, as CSV lines
    /// `username,user_id` or TOML `username = "user_id"`.
    #[arg(long, value_name = "FILE")]
    pub user_map: Option<PathBuf>,
    /// Rotations run at once, between 1 and 64.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = between(1u16, 64))]
    pub concurrency: u16,
    #[command(flatten)]
    pub sink: SinkArgs,
}

/// `audit`.
#[derive(Args, Debug)]
pub struct Audit {
    /// Only keys of users whose username matches this.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only the keys of the user named exactly this (the API's filter is
    /// a substring: `svc-etl` also matches `svc-etl-staging`).
    #[arg(long, value_name = "NAME", conflicts_with = "filter")]
    pub user: Option<String>,
    /// Read the rules from this TOML file (flags override it).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Print only the ids of keys with findings, one per line, to pipe into
    /// the command that clears them: pick the findings with --remedy.
    #[arg(long)]
    pub ids: bool,
    /// Only the findings this clears: rotate, expire, inactivity,
    /// deactivate or delete (repeatable). `audit --ids --remedy deactivate`
    /// lists only unused keys, safe to pipe into `deactivate --from-file -`.
    #[arg(long, value_name = "REMEDY", value_parser = remedy)]
    pub remedy: Vec<Remedy>,
    /// Remember the keys and their findings in this file between runs:
    /// each finding is then new or open, the findings cleared since are
    /// listed as fixed (or gone, with their key), and a deactivated key
    /// counts as inactive from when it was first seen so. Written only
    /// after a complete listing.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Which findings make the audit exit 4: any, or (with --state) only
    /// those first seen in this run, so a nightly job fails once per new
    /// finding instead of every night.
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = Which::Any)]
    pub fail_on: Which,
    /// Which findings --notify-command is given: all, or (with --state)
    /// only those first seen in this run.
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = Which::Any, requires = "notify_command")]
    pub notify_on: Which,
    /// Run this command once per user with findings (no shell: write
    /// `sh -c '...'` for one), that user's findings on its standard input as
    /// NDJSON and H2OGPTE_USERNAME and H2OGPTE_FINDINGS (their count) in its
    /// environment: mail each key's owner, as GitLab does. The username is
    /// the server's: quote it, and check it before it names a file.
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
    /// Seconds each --notify-command may take before it is killed.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds)]
    pub notify_timeout: Duration,
    /// Most users --notify-command is run for; the rest are counted, not told.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = between(1usize, 100_000))]
    pub notify_max: usize,
    /// Write the report to this file instead of standard output: to a
    /// temporary file beside it, renamed over it only when the audit read
    /// every key, so a collector never reads half a report and a failed run
    /// leaves the last one.
    #[arg(long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    #[command(flatten)]
    pub rules: Rules,
}

/// The audit's rules as flags, one per [`Policy::RULES`] entry: its key
/// without `_days`, dashed (`max_age_days` is `--max-age DAYS`), with the
/// library's help, so a rule the library adds is a flag here unedited.
#[derive(Debug, Default, Clone)]
pub struct Rules {
    /// The rules given on the command line, in the library's order.
    pub set: Vec<(&'static str, RuleValue)>,
}

impl Rules {
    /// Whether any rule flag was given.
    pub fn any(&self) -> bool {
        !self.set.is_empty()
    }

    /// The flag that sets `rule`.
    pub fn flag(rule: &Rule) -> String {
        rule.key
            .strip_suffix("_days")
            .unwrap_or(rule.key)
            .replace('_', "-")
    }
}

impl clap::FromArgMatches for Rules {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut rules = Self::default();
        rules.update_from_arg_matches(matches)?;
        Ok(rules)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for rule in Policy::RULES {
            let value = match rule.kind {
                RuleKind::Switch => matches
                    .get_one::<bool>(rule.key)
                    .copied()
                    .map(RuleValue::Switch),
                RuleKind::Days => matches
                    .get_one::<u32>(rule.key)
                    .map(|days| RuleValue::Days(Some(*days))),
                _ => None,
            };
            if let Some(value) = value {
                self.set.retain(|(key, _)| *key != rule.key);
                self.set.push((rule.key, value));
            }
        }
        Ok(())
    }
}

impl Args for Rules {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        // The heading in force before, put back after the rules.
        let heading: Option<clap::builder::Str> =
            cmd.get_next_help_heading().map(|h| h.to_owned().into());
        let mut cmd = cmd.next_help_heading("Rules");
        for rule in Policy::RULES {
            let arg = clap::Arg::new(rule.key)
                .long(Self::flag(rule))
                .help(rule.help)
                .action(clap::ArgAction::Set);
            cmd = cmd.arg(match rule.kind {
                RuleKind::Switch => arg
                    .value_name("BOOL")
                    .value_parser(clap::value_parser!(bool))
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true"),
                _ => arg
                    .value_name("DAYS")
                    .value_parser(between(1u32, MAX_DAYS as u32)),
            });
        }
        match heading {
            Some(heading) => cmd.next_help_heading(heading),
            None => cmd.next_help_heading(None::<&'static str>),
        }
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}
