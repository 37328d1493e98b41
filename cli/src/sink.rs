//! Where a new key's secret goes instead of standard output: a file created
//! `0600` and renamed into place, one such file per key in a private
//! directory, or a command that reads it on its standard input. Each either
//! delivers the secret or says why it did not; the caller undoes the key.

use std::{
    io::Write,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use tokio::io::AsyncReadExt;

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

/// The variables that name the key to a `--secret-command`.
const KEY_VARIABLES: [&str; 4] = [
    KEY_USERNAME_ENV,
    KEY_NAME_ENV,
    NEW_KEY_ID_ENV,
    OLD_KEY_ID_ENV,
];

/// Where a secret goes.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Standard output, as the command's result (the default).
    Stdout,
    /// This file.
    File { path: PathBuf, force: bool },
    /// A file named by the old key's id in this directory (bulk rotation),
    /// opened once: every file is made relative to `handle`, so a directory
    /// swapped in at the path after it was checked gets nothing.
    Dir {
        dir: PathBuf,
        handle: Arc<OwnedFd>,
        force: bool,
    },
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
                handle: Arc::new(open_private_dir(dir)?),
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
            Sink::Dir {
                dir, handle, force, ..
            } => {
                let name = file_name(old_id.ok_or("a secret directory needs the old key's id")?)?;
                let taken =
                    rustix::fs::statat(&**handle, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW);
                if !*force && taken.is_ok() {
                    return Err(format!(
                        "{} exists already: choose another path, or pass --force to replace it",
                        escape(&dir.join(name).display().to_string())
                    ));
                }
                Ok(())
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

    /// A warning for a rotation of `count` keys into a command that names
    /// no key: run after run, such a command likely writes one place (one
    /// Vault path, one Secret), where only the last secret stays.
    pub fn same_place_warning(&self, count: usize) -> Option<String> {
        let Sink::Command { argv, .. } = self else {
            return None;
        };
        let names_a_key = argv.iter().any(|arg| {
            KEY_VARIABLES
                .iter()
                .any(|var| arg.contains(&format!("${var}")) || arg.contains(&format!("${{{var}}}")))
        });
        (count > 1 && !names_a_key).then(|| {
            format!(
                "warning: --secret-command names none of ${}: unless it picks a place per key itself, all {count} secrets go to one place and only the last one stays there; name the key in it, such as .../$H2OGPTE_KEY_USERNAME/$H2OGPTE_KEY_NAME",
                KEY_VARIABLES.join(", $")
            )
        })
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
            Sink::Dir {
                dir, handle, force, ..
            } => {
                let old = key
                    .old_id
                    .ok_or("a secret directory needs the old key's id")?;
                let name = file_name(old)?.to_owned();
                let (handle, force, secret) = (
                    handle.clone(),
                    *force,
                    zeroize::Zeroizing::new(secret.to_owned()),
                );
                let shown = escape(&dir.join(&name).display().to_string());
                tokio::task::spawn_blocking(move || {
                    write_in_dir(&handle, &name, secret.as_bytes(), force)
                })
                .await
                .map_err(|e| format!("the file writer stopped: {e}"))?
                .map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        format!("{shown} appeared meanwhile: it was left as it is")
                    } else {
                        format!("cannot write the secret to {shown}: {e}")
                    }
                })?;
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
                let flags = (what, "--secret-command-timeout");
                run_with_input(flags, argv, *timeout, Input::Secret(secret), &env).await?;
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

/// Opens a `--secret-dir` once, not following a link, and checks it
/// through the handle: a directory that only its owner, this user, can
/// read, write or enter.
fn open_private_dir(dir: &Path) -> Result<OwnedFd, Failure> {
    use rustix::fs::{Mode, OFlags};
    let shown = escape(&dir.display().to_string());
    let handle = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        let e = std::io::Error::from(e);
        match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => Failure::usage(
                format!("--secret-dir {shown} is a symbolic link: give the directory it points to"),
            ),
            Some(code) if code == rustix::io::Errno::NOTDIR.raw_os_error() => {
                Failure::usage(format!("--secret-dir {shown} is not a directory"))
            }
            _ => Failure::usage(format!("--secret-dir {shown}: {e}")),
        }
    })?;
    let stat = rustix::fs::fstat(&handle).map_err(|e| {
        Failure::usage(format!("--secret-dir {shown}: {}", std::io::Error::from(e)))
    })?;
    let mode = stat.st_mode & 0o777;
    if mode != 0o700 {
        return Err(Failure::usage(format!(
            "--secret-dir {shown} has mode {mode:o}: secrets go only into a directory of mode 700 (`chmod 700 {shown}`)"
        )));
    }
    let me = rustix::process::geteuid().as_raw();
    if stat.st_uid != me {
        return Err(Failure::usage(format!(
            "--secret-dir {shown} belongs to user {}, not to this one ({me}): secrets go only into a directory of your own",
            stat.st_uid
        )));
    }
    Ok(handle)
}

/// Writes `secret` alone to `name` in the directory `dir`: a hidden
/// temporary file of mode 0600 made there, synced, renamed to `name`
/// (never over a file unless `force`), then the directory synced; every
/// step relative to the handle, and the temporary file removed on every
/// failure.
fn write_in_dir(dir: &OwnedFd, name: &str, secret: &[u8], force: bool) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = format!(
        "{}{}-{n}{}",
        atomic::TEMP_PREFIX,
        std::process::id(),
        atomic::TEMP_SUFFIX
    );
    let fd = rustix::fs::openat(
        dir,
        &temp,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let written = (|| {
        let mut file = std::fs::File::from(fd);
        file.write_all(secret)?;
        file.sync_all()?;
        let flags = if force {
            RenameFlags::empty()
        } else {
            RenameFlags::NOREPLACE
        };
        rustix::fs::renameat_with(dir, &temp, dir, name, flags)?;
        rustix::fs::fsync(dir)?;
        Ok(())
    })();
    if written.is_err() {
        let _ = rustix::fs::unlinkat(dir, &temp, AtFlags::empty());
    }
    written
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

/// How long a command's standard error is still read once it exited: a
/// background child it left may hold the pipe open for ever.
const STDERR_GRACE: Duration = Duration::from_millis(200);

/// Runs `argv` (the command of flag `what`, whose timeout flag is
/// `timeout_flag`) with `input` on its standard input and `env` added to
/// its environment, without the administrator's key; success is exit 0
/// within `timeout`.
///
/// The command runs in a process group of its own (a ^C meant for this
/// tool lets it finish), killed as a group at the timeout and whenever the
/// wait is dropped, and it is killed if this process dies (Linux). Its
/// input is written while its standard error is read, so neither can block
/// the other; standard output is discarded, standard error kept (bounded,
/// and with a secret input cut out) to say why it failed. A command that
/// exits 0 without reading all of a secret has not received it.
pub async fn run_with_input(
    (what, timeout_flag): (&str, &str),
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
    let failed = |e: std::io::Error| format!("{what} {program} could not start: {e}");
    // The input's pipe is this process's own: the read end it keeps tells,
    // once the command exited, how much it left unread.
    let (read_end, write_end) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| failed(e.into()))?;
    let unread_probe =
        rustix::io::fcntl_dupfd_cloexec(&read_end, 0).map_err(|e| failed(e.into()))?;
    let mut command = tokio::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .env_remove(h2ogpte_api_keys::API_KEY_ENV)
        .env_remove(OLD_KEY_ID_ENV)
        .envs(env.iter().copied())
        .stdin(Stdio::from(read_end))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    dies_with_this_process(&mut command);
    let mut child = command.spawn().map_err(failed)?;
    // Dropped on every way out (a timeout, an error, the future dropped
    // by a second signal): the whole group is killed.
    let _group = Group(child.id());
    let mut stderr = child.stderr.take();
    let input = bytes.to_vec();
    let feed = tokio::task::spawn_blocking(move || {
        let mut pipe = std::fs::File::from(write_end);
        pipe.write_all(&input).is_ok()
    });
    let mut said = Vec::new();
    let work = async {
        let mut reading = std::pin::pin!(read_stderr(stderr.as_mut(), &mut said));
        let mut read_all = false;
        let status = loop {
            tokio::select! {
                status = child.wait() => break status,
                () = &mut reading, if !read_all => read_all = true,
            }
        };
        if !read_all {
            let _ = tokio::time::timeout(STDERR_GRACE, &mut reading).await;
        }
        status
    };
    let status = match tokio::time::timeout(timeout, work).await {
        Ok(status) => status.map_err(|e| format!("{what} {program}: {e}"))?,
        Err(_) => {
            drop(_group);
            let _ = child.wait().await;
            return Err(format!(
                "{what} {program} did not finish within {} s (raise {timeout_flag}); it and every process it started were killed",
                timeout.as_secs_f64()
            ));
        }
    };
    let fed = feed.await.unwrap_or(false);
    let unread = rustix::io::ioctl_fionread(&unread_probe).unwrap_or(0);
    if status.success() {
        // A secret left unread was not received; other input is the
        // command's to skip.
        if secret.is_none() || fed && unread == 0 {
            return Ok(());
        }
        return Err(format!(
            "{what} {program} exited without reading all of its standard input ({} of {} bytes left unread), so it did not receive it",
            if fed { unread } else { bytes.len() as u64 },
            bytes.len()
        ));
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

/// Keeps the first [`COMMAND_STDERR_LIMIT`] bytes of a command's standard
/// error in `said` and drops the rest, to its end.
async fn read_stderr(stderr: Option<&mut tokio::process::ChildStderr>, said: &mut Vec<u8>) {
    let Some(err) = stderr else { return };
    let _ = err
        .take(COMMAND_STDERR_LIMIT as u64)
        .read_to_end(said)
        .await;
    let _ = tokio::io::copy(err, &mut tokio::io::sink()).await;
}

/// A command's process group, killed whole when dropped.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self
            .0
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        {
            // The group may be gone already: nothing to report then.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// Asks the kernel to kill the command when this process dies, even by
/// SIGKILL, so a sink never stores a secret after its run was killed.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn dies_with_this_process(command: &mut tokio::process::Command) {
    // SAFETY: the hook runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: it makes one prctl system call
    // and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn dies_with_this_process(_command: &mut tokio::process::Command) {}

/// The shortest piece of a secret that is cut out of a command's words: a
/// secret is 44 or more characters, and this many already narrow it.
const SECRET_PIECE: usize = 12;

/// `text` with every piece of `secret` cut out: any run of at least
/// [`SECRET_PIECE`] of its characters in order (white space between them
/// skipped, so a secret folded into lines is one run; a secret cut by a
/// stray character is two), and a start of it that the 4 KiB cut of
/// standard error left at the end.
fn redact(text: &str, secret: &str) -> String {
    const SHOWN: &str = "[the secret]";
    if secret.is_empty() {
        return text.to_owned();
    }
    if !secret.is_ascii() || secret.len() < SECRET_PIECE {
        return text.replace(secret, SHOWN);
    }
    let (t, s) = (text.as_bytes(), secret.as_bytes());
    let mut out = String::with_capacity(text.len());
    let (mut i, mut plain) = (0, 0);
    while i < t.len() {
        // The longest run of the secret starting here, in text bytes.
        let run = (0..s.len())
            .map(|j| secret_run(&t[i..], &s[j..]))
            .max_by_key(|(matched, _)| *matched)
            .unwrap_or((0, 0));
        if run.0 >= SECRET_PIECE {
            // Matched bytes are ASCII: `i` and `i + run.1` are char
            // boundaries.
            out.push_str(&text[plain..i]);
            out.push_str(SHOWN);
            i += run.1;
            plain = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[plain..]);
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

/// How many of `secret`'s characters `text` holds from its start, in
/// order, white space between them skipped; and the text bytes that run
/// takes (ending on a matched character).
fn secret_run(text: &[u8], secret: &[u8]) -> (usize, usize) {
    let (mut matched, mut at, mut end) = (0, 0, 0);
    while matched < secret.len() && at < text.len() {
        if text[at] == secret[matched] {
            matched += 1;
            at += 1;
            end = at;
        } else if matched > 0 && text[at].is_ascii_whitespace() {
            at += 1;
        } else {
            break;
        }
    }
    (matched, end)
}

/// Whether `path` holds the secret whose hint (its last four characters)
/// is `hint`: how a resumed rotation learns that a secret file was written
/// before the run was killed. Reads at most 4 KiB.
pub fn holds_secret(path: &Path, hint: &str) -> bool {
    use std::io::Read;
    let mut text = String::new();
    let read = crate::regular::open(path).and_then(|f| f.take(4096).read_to_string(&mut text));
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
    fn a_secret_folded_cut_or_in_pieces_is_cut_out() {
        let secret = "sk-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";
        // Folded into lines of 10.
        let folded: String = secret
            .as_bytes()
            .chunks(10)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            redact(&format!("got:\n{folded}\nend"), secret),
            "got:\n[the secret]\nend"
        );
        // Cut by a stray character: two pieces, each cut out.
        let cut = format!("{}#{}", &secret[..20], &secret[20..]);
        assert_eq!(redact(&cut, secret), "[the secret]#[the secret]");
        // A 16-character piece from its middle.
        assert_eq!(
            redact(&format!("x {} y", &secret[10..26]), secret),
            "x [the secret] y"
        );
        // Too short to tell anything: kept.
        assert_eq!(redact("id abcdefg ok", secret), "id abcdefg ok");
    }

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
