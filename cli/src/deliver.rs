//! Making a key whose secret someone must receive: the create waits out a
//! first signal, and the secret is either delivered (written and flushed)
//! or the key is deleted again; what cannot be undone is named loudly.

use std::io::Write;

use chrono::{DateTime, Utc};

use h2ogpte_api_keys::{Client, Error, types};

use crate::{
    args::{Global, Output},
    failure::{Failure, describe},
    signals::{Signal, Signals},
    terminal::{STDOUT_DISCARDS, deliver, escape, note, stdout_discards},
};

/// A create's own result, and a signal that came while it was in flight.
pub type Created<T = types::ApiKeyResult> = (Result<T, Error>, Option<Signal>);

/// Refuses to make a key whose secret would be thrown away: standard output
/// closed or sent to /dev/null, or a format that cannot carry it. Nothing
/// is created then.
pub fn check_output_keeps_secrets(g: &Global) -> Result<(), Failure> {
    if g.output == Output::Csv {
        return Err(Failure::usage(
            "-o csv is for listings and batch results; a new key's secret is printed as a table, json or ndjson: nothing was created",
        ));
    }
    if stdout_discards() {
        return Err(Failure::usage(format!(
            "{STDOUT_DISCARDS}, so a new key's secret would be lost: nothing was created; send the output to a file or a pipe"
        )));
    }
    Ok(())
}

/// Sends a create (`call`, which makes a key for `user`; `also` ends the
/// message of a second signal with what else may be left). A first SIGINT or
/// SIGTERM is deferred while it is in flight (each call is bounded by
/// `--timeout`) and returned beside the result; a second one stops waiting
/// at once, the only failure here.
pub async fn create_key<T>(
    call: impl Future<Output = Result<T, Error>>,
    user: &str,
    also: &str,
    g: &Global,
    signals: &mut Signals,
) -> Result<Created<T>, Failure> {
    let user = escape(user);
    let mut call = std::pin::pin!(call);
    let mut deferred = None;
    let result = loop {
        tokio::select! {
            result = &mut call => break result,
            signal = signals.next() => {
                if deferred.is_none() {
                    deferred = Some(signal);
                    note(&format!(
                        "{signal}: finishing the create in flight first, so its secret is not lost (at most {} s); signal again to stop waiting",
                        g.timeout.as_secs_f64()
                    ));
                    continue;
                }
                return Err(Failure::signalled(
                    signal,
                    format!(
                        "DANGER: stopped waiting for the create of a key for user {user}: if the server made it, nobody has its secret; find it with `h2ogpte-keys list --all` (the newest key of that user) and delete it{also}"
                    ),
                ));
            }
        }
    };
    Ok((result, deferred))
}

/// Prints a new key's secret so it cannot be lost; when that fails, deletes
/// the key again (exit 1), or names it as an orphan when that fails too
/// (exit 3).
pub async fn deliver_or_undo(
    client: &Client,
    created: &types::ApiKeyResult,
    g: &Global,
    framing: Framing,
) -> Result<(), Failure> {
    match print_created(created, g, framing) {
        Ok(()) => Ok(()),
        Err(e) => Err(undo(
            client,
            created,
            &format!("the secret could not be written to standard output ({e})"),
            g,
        )
        .await),
    }
}

/// Deletes a key made by this command that must not stay, and says why.
pub async fn undo(
    client: &Client,
    created: &types::ApiKeyResult,
    why: &str,
    g: &Global,
) -> Failure {
    undone(
        client.delete_api_key(&created.api_key.id).await,
        created,
        why,
        g,
    )
}

/// Says how the removal of a key that must not stay went: `deleted` is the
/// delete's result.
pub fn undone(
    deleted: Result<(), Error>,
    created: &types::ApiKeyResult,
    why: &str,
    g: &Global,
) -> Failure {
    let key = &created.api_key;
    let id = escape(&key.id);
    match deleted {
        Ok(()) => Failure::api(format!(
            "{why}; key {id} was deleted again, so no key is left that nobody holds"
        )),
        Err(e) => Failure::partial(format!(
            "DANGER: {why}, and deleting key {id} of {} failed too ({}): it exists but nobody holds its secret; delete it with `h2ogpte-keys delete {id}`",
            escape(&key.username),
            describe(&e, g.timeout)
        )),
    }
}

/// How a new key's output stands in the command's whole output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The result alone (`create`).
    Alone,
    /// The first part of a rotation's output, whose end
    /// ([`finish_rotation`]) says what became of the old key.
    Rotation,
}

/// Writes a new key: in a table, only the secret on stdout (so it can be
/// captured), the rest on stderr once it was delivered; in JSON, the whole
/// result (for a rotation, as `{"created": …,` left open for
/// [`finish_rotation`]).
pub fn print_created(
    created: &types::ApiKeyResult,
    g: &Global,
    framing: Framing,
) -> std::io::Result<()> {
    let quiet = g.quiet;
    if framing == Framing::Rotation
        && !matches!(g.output, Output::Table | Output::Csv | Output::Openmetrics)
    {
        let wrapped = serde_json::json!({ "created": created });
        return match g.output {
            Output::Json => {
                let text = serde_json::to_string_pretty(&wrapped)?;
                // `{ "created": … }` without its closing brace.
                let open = text
                    .trim_end()
                    .strip_suffix('}')
                    .unwrap_or(&text)
                    .trim_end();
                deliver(&format!("{open},"))
            }
            _ => deliver(&serde_json::to_string(&wrapped)?),
        };
    }
    match g.output {
        Output::Table | Output::Csv | Output::Openmetrics => {
            // Exact for a real secret (`sk-` and alphanumerics); a server's
            // control characters are escaped, as no header could carry them.
            deliver(&escape(created.secret_key.expose()))?;
            let k = &created.api_key;
            if quiet {
                return Ok(());
            }
            note(&format!(
                "created key {} for {} (hint …{}, expires {}); store the secret above now: it will not be shown again",
                k.id,
                k.username,
                k.hint,
                k.expires_at
                    .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
            ));
        }
        Output::Json => deliver(&serde_json::to_string_pretty(created)?)?,
        Output::Ndjson => deliver(&serde_json::to_string(created)?)?,
    }
    if !quiet && !matches!(g.output, Output::Table | Output::Csv | Output::Openmetrics) {
        note("the secret_key above will not be shown again: store it now");
    }
    Ok(())
}

/// What became of a rotation's old key, for the end of its output.
#[derive(Debug, Clone, Copy)]
pub enum OldKeyEnd {
    /// Still active: retiring it failed or was not tried.
    Active,
    /// Retired so ("deactivated", "deleted").
    Retired(&'static str),
    /// Working until then, the end of the overlap window.
    Until(DateTime<Utc>),
}

/// Ends a rotation's output with what became of the old key. In a table
/// that is a note on stderr; in JSON it closes the object [`print_created`]
/// opened; in NDJSON it is a second line. JSON's `old_key` holds `id`,
/// `retired` ("deactivated", "deleted", "expires" or null) and, with an
/// overlap, `expires_at`.
pub fn finish_rotation(g: &Global, old_id: &str, end: OldKeyEnd) -> std::io::Result<()> {
    let old_key = match end {
        OldKeyEnd::Active => serde_json::json!({ "id": old_id, "retired": null }),
        OldKeyEnd::Retired(how) => serde_json::json!({ "id": old_id, "retired": how }),
        OldKeyEnd::Until(at) => {
            serde_json::json!({ "id": old_id, "retired": "expires", "expires_at": at })
        }
    };
    match g.output {
        Output::Table | Output::Csv | Output::Openmetrics => {
            if !g.quiet {
                let id = escape(old_id);
                match end {
                    OldKeyEnd::Retired(how) => note(&format!("old key {id} {how}")),
                    OldKeyEnd::Active => note(&format!("old key {id} is still active")),
                    OldKeyEnd::Until(at) => note(&format!(
                        "old key {id} keeps working until {} (UTC), then expires: move every user of it to the new key before then",
                        at.format("%Y-%m-%d %H:%M:%S")
                    )),
                }
            }
            Ok(())
        }
        Output::Json => {
            let text = serde_json::to_string_pretty(&old_key)?.replace('\n', "\n  ");
            let mut out = std::io::stdout().lock();
            writeln!(out, "  \"old_key\": {text}\n}}")?;
            out.flush()
        }
        Output::Ndjson => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", serde_json::json!({ "old_key": old_key }))?;
            out.flush()
        }
    }
}
