//! Contexts: named servers, each with where its admin key comes from (the
//! environment, a file, a command), in `config.toml` of the configuration
//! directory; the one in use is named in `current-context` beside it.

use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::{args::Global, failure::Failure, signals::Signals, terminal::escape};

/// Largest configuration file, current-context file or key file read.
const MAX_FILE_BYTES: u64 = 64 << 10;

/// How long an `api_key_command` may take.
const KEY_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The configuration: contexts by name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub context: BTreeMap<String, Context>,
}

/// One server and how to reach it. Exactly one of the `api_key*` fields
/// says where its key comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    pub server_url: String,
    /// The key itself: the file must then be private (mode 600).
    pub api_key: Option<String>,
    /// The environment variable holding the key.
    pub api_key_env: Option<String>,
    /// A file holding the key alone (mode 600).
    pub api_key_file: Option<PathBuf>,
    /// A shell command printing the key on stdout, as AWS's
    /// `credential_process` does: bounded to 64 KiB and 30 s; its stderr is
    /// the terminal's.
    pub api_key_command: Option<String>,
    pub ca_cert: Option<PathBuf>,
    #[serde(default)]
    pub allow_insecure_http: bool,
}

impl Context {
    /// Where the key comes from, in words that never hold the key.
    pub fn key_source(&self) -> Result<String, String> {
        let sources: Vec<String> = [
            self.api_key
                .as_ref()
                .map(|_| "in the configuration file".to_owned()),
            self.api_key_env
                .as_ref()
                .map(|v| format!("environment variable {v}")),
            self.api_key_file
                .as_ref()
                .map(|f| format!("file {}", f.display())),
            self.api_key_command
                .as_ref()
                .map(|c| format!("command `{c}`")),
        ]
        .into_iter()
        .flatten()
        .collect();
        match sources.len() {
            1 => Ok(sources.into_iter().next().unwrap_or_default()),
            0 => Err("names no API key: give one of api_key_env, api_key_file, api_key_command or api_key".to_owned()),
            _ => Err(format!("names {} API keys ({}): keep one", sources.len(), sources.join(", "))),
        }
    }
}

/// The configuration directory: `$XDG_CONFIG_HOME/h2ogpte-keys`, else
/// `~/.config/h2ogpte-keys`.
pub fn config_dir() -> Option<PathBuf> {
    crate::state_dir::xdg_base("XDG_CONFIG_HOME", ".config").map(|base| base.join("h2ogpte-keys"))
}

/// The configuration file's path.
pub fn config_path() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join("config.toml"))
}

/// The configuration (empty when there is no file).
pub fn load() -> Result<Config, Failure> {
    let Some(path) = config_path() else {
        return Ok(Config::default());
    };
    let Some(text) = read_small(&path, "the configuration file")? else {
        return Ok(Config::default());
    };
    let name = path.display().to_string();
    let config: Config = toml::from_str(&text).map_err(|e| {
        Failure::usage(format!(
            "the configuration file {} is not valid: {}",
            escape(&name),
            e.message()
        ))
    })?;
    for (context, c) in &config.context {
        c.key_source().map_err(|why| {
            Failure::usage(format!(
                "context {} in {}: {why}",
                escape(context),
                escape(&name)
            ))
        })?;
        if c.api_key.is_some() && readable_by_others(&path) {
            return Err(Failure::usage(format!(
                "the configuration file {} holds an API key (context {}) and others may read it: chmod 600 it, or take the key from api_key_env, api_key_file or api_key_command",
                escape(&name),
                escape(context)
            )));
        }
    }
    Ok(config)
}

/// The context named in `current-context`, if any.
pub fn current() -> Result<Option<String>, Failure> {
    let Some(dir) = config_dir() else {
        return Ok(None);
    };
    Ok(
        read_small(&dir.join("current-context"), "the current-context file")?
            .map(|text| text.trim().to_owned())
            .filter(|name| !name.is_empty()),
    )
}

/// Makes `name` the current context.
pub fn set_current(name: &str) -> Result<(), Failure> {
    let dir = config_dir()
        .ok_or_else(|| Failure::usage("no configuration directory: set XDG_CONFIG_HOME or HOME"))?;
    let path = dir.join("current-context");
    crate::atomic::write_with(&path, true, |out| {
        use std::io::Write;
        writeln!(out, "{name}")
    })
    .map_err(|e| {
        Failure::usage(format!(
            "cannot write {}: {e}",
            escape(&path.display().to_string())
        ))
    })
}

/// Puts the chosen context's server and key into `g`: `--context` or
/// `H2OGPTE_CONTEXT` when given (and then no server URL or key of its
/// own), else the server URL and key given directly, else the current
/// context. The key comes from where the context says.
pub async fn resolve(g: &mut Global, signals: &mut Signals) -> Result<(), Failure> {
    let named = match &g.context {
        Some(name) => {
            if g.server_url.is_some() || g.api_key.is_some() {
                return Err(Failure::usage(format!(
                    "--context {} and a server URL or API key (--server-url, --api-key, H2OGPTE_SERVER_URL or H2OGPTE_API_KEY) are both given: which server is changed must be plain; unset the variables or drop --context",
                    escape(name)
                )));
            }
            name.clone()
        }
        None if g.server_url.is_some() || g.api_key.is_some() => return Ok(()),
        None => match current()? {
            Some(name) => name,
            None => return Ok(()),
        },
    };
    let config = load()?;
    let context = config.context.get(&named).cloned().ok_or_else(|| {
        let known: Vec<&str> = config.context.keys().map(String::as_str).collect();
        Failure::usage(format!(
            "no context {} in the configuration ({}): its contexts are {}",
            escape(&named),
            config_path().map_or_else(String::new, |p| escape(&p.display().to_string())),
            if known.is_empty() {
                "none".to_owned()
            } else {
                escape(&known.join(", "))
            }
        ))
    })?;
    let key = key_of(&named, &context, signals).await?;
    g.server_url = Some(context.server_url.clone());
    g.api_key = Some(key);
    if g.ca_cert.is_none() {
        g.ca_cert = context.ca_cert.clone();
    }
    g.allow_insecure_http |= context.allow_insecure_http;
    g.context = Some(named);
    Ok(())
}

/// The context's API key, from where it says.
async fn key_of(name: &str, c: &Context, signals: &mut Signals) -> Result<String, Failure> {
    let fail = |why: String| Failure::usage(format!("context {}: {why}", escape(name)));
    let key = if let Some(key) = &c.api_key {
        key.clone()
    } else if let Some(var) = &c.api_key_env {
        std::env::var(var).map_err(|_| {
            fail(format!(
                "the environment variable {} is not set",
                escape(var)
            ))
        })?
    } else if let Some(path) = &c.api_key_file {
        if readable_by_others(path) {
            return Err(fail(format!(
                "the key file {} may be read by others: chmod 600 it",
                escape(&path.display().to_string())
            )));
        }
        read_small(path, "the key file")?.ok_or_else(|| {
            fail(format!(
                "the key file {} does not exist",
                escape(&path.display().to_string())
            ))
        })?
    } else if let Some(command) = &c.api_key_command {
        let run = run_key_command(command);
        crate::wait::interruptible(signals, async { run.await.map_err(fail) }).await?
    } else {
        return Err(fail("names no API key".to_owned()));
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(fail(format!(
            "its API key ({}) is empty",
            c.key_source().unwrap_or_default()
        )));
    }
    Ok(key)
}

/// Runs `command` with `sh -c`: its stdout (at most 64 KiB, within 30 s)
/// is the key. A command that fails is named, never its output.
async fn run_key_command(command: &str) -> Result<String, String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run its api_key_command: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let read = async {
        let mut out = Vec::new();
        (&mut stdout)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut out)
            .await
            .map_err(|e| format!("cannot read its api_key_command's output: {e}"))?;
        let status = child
            .wait()
            .await
            .map_err(|e| format!("cannot wait for its api_key_command: {e}"))?;
        Ok::<_, String>((out, status))
    };
    let (out, status) = tokio::time::timeout(KEY_COMMAND_TIMEOUT, read)
        .await
        .map_err(|_| {
            format!(
                "its api_key_command took longer than {} s: stopped",
                KEY_COMMAND_TIMEOUT.as_secs()
            )
        })??;
    if !status.success() {
        return Err(format!(
            "its api_key_command failed ({status}): see its message above"
        ));
    }
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err("its api_key_command printed more than 64 KiB: a key is one line".to_owned());
    }
    String::from_utf8(out)
        .map_err(|_| "its api_key_command printed something that is not UTF-8".to_owned())
}

/// A small text file, or `None` when it does not exist.
fn read_small(path: &Path, what: &str) -> Result<Option<String>, Failure> {
    let shown = || escape(&path.display().to_string());
    let file = match crate::regular::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read {what} {}: {e}",
                shown()
            )));
        }
    };
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| Failure::usage(format!("cannot read {what} {}: {e}", shown())))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(Failure::usage(format!(
            "{what} {} is larger than 64 KiB",
            shown()
        )));
    }
    Ok(Some(text))
}

/// Whether users other than the owner may read `path`.
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

/// The server a command acts on, for prompts, dry runs and plans: its URL
/// and, when one was used, the context.
pub fn target(server: &str, g: &Global) -> String {
    match &g.context {
        Some(name) => format!("{} (context {})", escape(server), escape(name)),
        None => escape(server),
    }
}
