//! Where a new key's secret goes instead of standard output: a file created
//! `0600` and renamed into place, one such file per key in a private
//! directory, or a command that reads it on its standard input. Each either
//! delivers the secret or says why it did not; the caller undoes the key.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use h2ogpte_api_keys::{
    Secret,
    rotation::{Deliver, DeliveryError, Entry, Handover},
    types,
};

use crate::{
    args::{Global, SinkArgs},
    atomic,
    deliver::{Framing, print_created},
    failure::Failure,
    terminal::{MESSAGE_LIMIT, clip, escape},
};

/// Environment variables a `--secret-command` is told the key in (never
/// its secret, which is on its standard input).
pub const NEW_KEY_ID_ENV: &str = "H2OGPTE_NEW_KEY_ID";
/// The new key's name.
pub const KEY_NAME_ENV: &str = "H2OGPTE_KEY_NAME";
/// The username of the key's owner.
pub const KEY_USERNAME_ENV: &str = "H2OGPTE_KEY_USERNAME";
/// In a rotation, the id of the key it replaces.
pub const OLD_KEY_ID_ENV: &str = "H2OGPTE_OLD_KEY_ID";

/// Most bytes of a command's standard error kept to explain its failure.
const COMMAND_STDERR_LIMIT: usize = 4096;

/// Where a secret goes.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Standard output, as the command's result (the default).
    Stdout,
    /// This file.
    File { path: PathBuf, force: bool },
    /// A file named by the old key's id in this directory (bulk rotation).
    Dir { dir: PathBuf, force: bool },
    /// This program and arguments, the secret on its standard input.
    Command {
        argv: Vec<String>,
        timeout: Duration,
    },
}

/// What a sink is told of the key whose secret it receives.
#[derive(Debug, Clone, Copy)]
pub struct KeyFacts<'a> {
    pub new_id: &'a str,
    pub name: &'a str,
    pub username: &'a str,
    /// The key a rotation replaces.
    pub old_id: Option<&'a str>,
}

impl Sink {
    /// The sink the flags ask for; `--secret-dir` comes from a bulk
    /// rotation's own flag.
    pub fn from_args(args: &SinkArgs, dir: Option<&Path>) -> Result<Self, Failure> {
        let sink = match (&args.secret_file, &args.secret_command, dir) {
            (Some(path), None, None) => Sink::File {
                path: path.clone(),
                force: args.force,
            },
            (None, Some(command), None) => Sink::Command {
                argv: command_line("--secret-command", command)?,
                timeout: args.secret_command_timeout,
            },
            (None, None, Some(dir)) => Sink::Dir {
                dir: dir.to_owned(),
                force: args.force,
            },
            (None, None, None) => Sink::Stdout,
            _ => {
                return Err(Failure::usage(
                    "give one place for the secret: --secret-file, --secret-dir or --secret-command",
                ));
            }
        };
        if args.force && !matches!(sink, Sink::File { .. } | Sink::Dir { .. }) {
            return Err(Failure::usage(
                "--force replaces an existing secret file: it goes with --secret-file or --secret-dir",
            ));
        }
        Ok(sink)
    }

    /// Whether the secret goes to standard output.
    pub fn is_stdout(&self) -> bool {
        matches!(self, Sink::Stdout)
    }

    /// Checks, before anything is created, what can be checked: the file's
    /// directory exists and the file does not (unless `--force`); the
    /// directory is private; the command exists. For a directory, `old_id`
    /// names the file.
    pub fn check(&self, old_id: Option<&str>) -> Result<(), String> {
        match self {
            Sink::Stdout => Ok(()),
            Sink::File { path, force } => check_target(path, *force),
            Sink::Dir { dir, force } => {
                let name = old_id.ok_or("a secret directory needs the old key's id")?;
                check_target(&dir.join(file_name(name)?), *force)
            }
            Sink::Command { argv, .. } => {
                let program = Path::new(&argv[0]);
                if program.components().count() > 1 && !program.is_file() {
                    return Err(format!(
                        "--secret-command: {} does not exist",
                        escape(&program.display().to_string())
                    ));
                }
                Ok(())
            }
        }
    }

    /// Checks a `--secret-dir` once: a directory that only its owner can
    /// read, write or enter.
    pub fn check_dir(&self) -> Result<(), Failure> {
        let Sink::Dir { dir, .. } = self else {
            return Ok(());
        };
        let shown = escape(&dir.display().to_string());
        let meta = std::fs::metadata(dir)
            .map_err(|e| Failure::usage(format!("--secret-dir {shown}: {e}")))?;
        if !meta.is_dir() {
            return Err(Failure::usage(format!(
                "--secret-dir {shown} is not a directory"
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let mode = meta.permissions().mode() & 0o777;
            if mode != 0o700 {
                return Err(Failure::usage(format!(
                    "--secret-dir {shown} has mode {mode:o}: secrets go only into a directory of mode 700 (`chmod 700 {shown}`)"
                )));
            }
            let me = rustix::process::geteuid().as_raw();
            if meta.uid() != me {
                return Err(Failure::usage(format!(
                    "--secret-dir {shown} belongs to user {}, not to this one ({me}): secrets go only into a directory of your own",
                    meta.uid()
                )));
            }
        }
        Ok(())
    }

    /// The file the secret of the key replacing `old_id` goes to, for a
    /// file or directory sink.
    pub fn file(&self, old_id: Option<&str>) -> Option<PathBuf> {
        match self {
            Sink::File { path, .. } => Some(path.clone()),
            Sink::Dir { dir, .. } => Some(dir.join(file_name(old_id?).ok()?)),
            _ => None,
        }
    }

    /// Where the secret of the key replacing `old_id` goes, in words.
    pub fn target(&self, old_id: Option<&str>) -> String {
        match self {
            Sink::Stdout => "standard output".to_owned(),
            Sink::File { path, .. } => format!("file {}", path.display()),
            Sink::Dir { dir, .. } => {
                let name = old_id.and_then(|id| file_name(id).ok()).unwrap_or("?");
                format!("file {}", dir.join(name).display())
            }
            Sink::Command { argv, .. } => format!("command {}", argv[0]),
        }
    }

    /// Delivers `secret`: Ok with where it went, or Err with why not.
    /// Never for [`Sink::Stdout`], which the caller prints.
    pub async fn deliver(&self, secret: &str, key: KeyFacts<'_>) -> Result<String, String> {
        let target = self.target(key.old_id);
        match self {
            Sink::Stdout => Err("standard output is printed by the command itself".to_owned()),
            Sink::File { path, force } => {
                write_file(path.clone(), secret.to_owned(), *force).await?;
                Ok(target)
            }
            Sink::Dir { dir, force } => {
                let old = key
                    .old_id
                    .ok_or("a secret directory needs the old key's id")?;
                write_file(dir.join(file_name(old)?), secret.to_owned(), *force).await?;
                Ok(target)
            }
            Sink::Command { argv, timeout } => {
                let mut env = vec![
                    (NEW_KEY_ID_ENV, key.new_id),
                    (KEY_NAME_ENV, key.name),
                    (KEY_USERNAME_ENV, key.username),
                ];
                if let Some(old) = key.old_id {
                    env.push((OLD_KEY_ID_ENV, old));
                }
                let what = "--secret-command";
                run_with_input(what, argv, *timeout, Input::Secret(secret), &env).await?;
                Ok(target)
            }
        }
    }
}

/// A key id as a file name: letters, digits, `.`, `_` and `-`, not
/// starting with a dot, at most 200 bytes, so a server's id can neither
/// climb out of the directory nor hide.
pub fn file_name(id: &str) -> Result<&str, String> {
    let fine = !id.is_empty()
        && id.len() <= 200
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if fine {
        Ok(id)
    } else {
        Err(format!(
            "key id {} cannot name a file (only letters, digits, '.', '_' and '-'): use --secret-command for it",
            escape(&clip(id, 80))
        ))
    }
}

/// A secret file's directory exists, and the file does not unless `force`.
fn check_target(path: &Path, force: bool) -> Result<(), String> {
    let shown = escape(&path.display().to_string());
    let parent = atomic::parent_of(path);
    if !parent.is_dir() {
        return Err(format!(
            "the directory of {shown} does not exist (it is not created): create it first"
        ));
    }
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(format!(
            "{shown} exists already: choose another path, or pass --force to replace it"
        ));
    }
    Ok(())
}

/// Writes `secret` alone to `path`: a temporary file of mode 0600 in the
/// same directory, flushed and synced, renamed into place (never over a
/// file unless `force`), then the directory synced.
async fn write_file(path: PathBuf, secret: String, force: bool) -> Result<(), String> {
    let secret = zeroize::Zeroizing::new(secret);
    tokio::task::spawn_blocking(move || {
        let shown = escape(&path.display().to_string());
        atomic::write_with(&path, force, |out| out.write_all(secret.as_bytes())).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!("{shown} appeared meanwhile: it was left as it is")
            } else {
                format!("cannot write the secret to {shown}: {e}")
            }
        })
    })
    .await
    .map_err(|e| format!("the file writer stopped: {e}"))?
}

/// A command line split as a shell would, without running one: `flag`
/// names it in the error.
pub fn command_line(flag: &str, command: &str) -> Result<Vec<String>, Failure> {
    shlex::split(command)
        .filter(|argv| !argv.is_empty())
        .ok_or_else(|| {
            Failure::usage(format!(
                "{flag}: not a command line (an unclosed quote, or empty); quote it as a shell would, such as {flag} 'sh -c \"...\"'"
            ))
        })
}

/// What a command reads on its standard input.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A secret: never shown, even when the command echoes it.
    Secret(&'a str),
    /// Anything else.
    Plain(&'a [u8]),
}

/// Runs `argv` (the command of flag `what`) with `input` on its standard
/// input and `env` added to its environment, without the administrator's
/// key; exit 0 within `timeout` is success. Its output is kept out of the
/// tool's: standard output is discarded, standard error kept (bounded, and
/// with a secret input cut out) to say why it failed.
pub async fn run_with_input(
    what: &str,
    argv: &[String],
    timeout: Duration,
    input: Input<'_>,
    env: &[(&str, &str)],
) -> Result<(), String> {
    let (bytes, secret) = match input {
        Input::Secret(secret) => (secret.as_bytes(), Some(secret)),
        Input::Plain(bytes) => (bytes, None),
    };
    let program = escape(&argv[0]);
    let mut command = tokio::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .env_remove(h2ogpte_api_keys::API_KEY_ENV)
        .env_remove(OLD_KEY_ID_ENV)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group: a ^C meant for this tool lets the commands in
    // flight finish instead of killing them halfway.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("{what} {program} could not start: {e}"))?;
    let mut stdin = child.stdin.take();
    let mut stderr = child.stderr.take();
    let work = async {
        if let Some(mut pipe) = stdin.take() {
            // A command that exits without reading is judged by its status.
            let _ = pipe.write_all(bytes).await;
            let _ = pipe.shutdown().await;
        }
        let mut said = Vec::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err
                .take(COMMAND_STDERR_LIMIT as u64)
                .read_to_end(&mut said)
                .await;
            // The rest is read and dropped, so a chatty command never
            // blocks on a full pipe.
            let _ = tokio::io::copy(err, &mut tokio::io::sink()).await;
        }
        (child.wait().await, said)
    };
    let (status, said) = match tokio::time::timeout(timeout, work).await {
        Ok(done) => done,
        Err(_) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(format!(
                "{what} {program} did not finish within {} s (raise {what}-timeout); it was killed",
                timeout.as_secs_f64()
            ));
        }
    };
    let status = status.map_err(|e| format!("{what} {program}: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&said);
    let said = match secret {
        Some(secret) => redact(&said, secret),
        None => said.into_owned(),
    };
    let said = said.trim();
    let tail = if said.is_empty() {
        String::new()
    } else {
        format!(": {}", escape(&clip(said, MESSAGE_LIMIT)))
    };
    Err(format!("{what} {program} failed ({status}){tail}"))
}

/// `text` with `secret` cut out wherever it appears, and a start of it that
/// the 4 KiB cut of standard error left at the end.
fn redact(text: &str, secret: &str) -> String {
    const SHOWN: &str = "[the secret]";
    if secret.is_empty() {
        return text.to_owned();
    }
    let mut out = text.replace(secret, SHOWN);
    for len in (4..secret.len()).rev() {
        if let Some(start) = secret.get(..len)
            && out.ends_with(start)
        {
            out.truncate(out.len() - len);
            out.push_str(SHOWN);
            break;
        }
    }
    out
}

/// Whether `path` holds the secret whose hint (its last four characters)
/// is `hint`: how a resumed rotation learns that a secret file was written
/// before the run was killed. Reads at most 4 KiB.
pub fn holds_secret(path: &Path, hint: &str) -> bool {
    use std::io::Read;
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_string(&mut text));
    read.is_ok() && text.starts_with("sk-") && hint.len() == 4 && text.ends_with(hint)
}

/// Removes the temporary secret files a killed run left in `dir` (hidden,
/// named as [`atomic::temp_beside`] names them, regular files of this
/// user): one may hold a whole secret nobody is told about.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten().take(100_000) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(atomic::TEMP_PREFIX) && name.ends_with(atomic::TEMP_SUFFIX)) {
            continue;
        }
        let mine = std::fs::symlink_metadata(entry.path()).is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.is_file() && m.uid() == rustix::process::geteuid().as_raw()
        });
        if mine {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A [`Sink`] as the rotation engine's place for secrets: standard output
/// printed as the command's result, the others as [`Sink::deliver`] does.
#[derive(Debug, Clone, Copy)]
pub struct Outlet<'a> {
    /// Where secrets go.
    pub sink: &'a Sink,
    /// How standard output is written.
    pub g: &'a Global,
}

impl Deliver for Outlet<'_> {
    async fn deliver(&self, secret: &Secret, key: Handover<'_>) -> Result<String, DeliveryError> {
        if self.sink.is_stdout() {
            let created: types::ApiKeyResult = types::ApiKeyResult::builder()
                .api_key(key.new_key.clone())
                .secret_key(secret.clone())
                .try_into()
                .map_err(|e| format!("the new key could not be shown: {e}"))?;
            print_created(&created, self.g, Framing::Rotation)
                .map_err(|e| format!("the secret could not be written to standard output ({e})"))?;
            return Ok(self.sink.target(None));
        }
        let facts = KeyFacts {
            new_id: &key.new_key.id,
            name: &key.new_key.name,
            username: &key.new_key.username,
            old_id: Some(&key.old_key.id),
        };
        Ok(self.sink.deliver(secret.expose(), facts).await?)
    }

    fn target(&self, old: &types::ApiKeyInfo) -> String {
        self.sink.target(Some(&old.id))
    }

    fn locator(&self, old: &types::ApiKeyInfo) -> Option<String> {
        self.sink
            .file(Some(&old.id))
            .and_then(|p| p.to_str().map(str::to_owned))
    }

    /// A file sink holds the new key's secret when its file does; a command
    /// or standard output cannot say.
    async fn holds(&self, entry: &Entry, new_key: &types::ApiKeyInfo) -> Option<bool> {
        let path = PathBuf::from(entry.secret_at.as_deref()?);
        let hint = new_key.hint.clone();
        tokio::task::spawn_blocking(move || holds_secret(&path, &hint))
            .await
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_a_command_echoes_is_cut_out_whole_or_in_part() {
        let secret = "sk-abcdefghijklmnop";
        assert_eq!(
            redact(
                "denied: sk-abcdefghijklmnop twice sk-abcdefghijklmnop",
                secret
            ),
            "denied: [the secret] twice [the secret]"
        );
        assert_eq!(redact("cut at sk-abcdefg", secret), "cut at [the secret]");
        assert_eq!(redact("no secret here", secret), "no secret here");
    }

    #[test]
    fn ids_that_would_leave_the_directory_name_no_file() {
        for id in ["../x", "a/b", ".hidden", "", "a\nb", "é"] {
            assert!(file_name(id).is_err(), "{id:?}");
        }
        assert_eq!(file_name("k-1.a_B"), Ok("k-1.a_B"));
    }
}
