//! Acting on many key ids: reading them, running the requests a few at a
//! time with a progress bar on a terminal, reporting each result as it is
//! known, and stopping cleanly on SIGINT or SIGTERM.

use std::{
    future::Future,
    io::{IsTerminal, Read},
    path::Path,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::Duration,
};

use futures::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::{
    args::Batch,
    failure::Failure,
    signals::{Signal, Signals},
};

/// Largest id list read from a file or standard input.
const MAX_INPUT_BYTES: u64 = 16 << 20;

/// The ids from the arguments, `--from-file` (`-` for standard input), or
/// standard input: one per line, a leading UTF-8 BOM and CRLF endings
/// accepted, blank lines and `#` comments skipped, duplicates dropped; an
/// input that holds none gives none.
pub fn read_ids(batch: &Batch) -> Result<Vec<String>, Failure> {
    let text = match (&batch.from_file, batch.ids.is_empty()) {
        (Some(_), false) => {
            return Err(Failure::usage(
                "give ids as arguments or with --from-file, not both",
            ));
        }
        (Some(path), true) if path == Path::new("-") => read_stdin()?,
        (Some(path), true) => {
            let file = std::fs::File::open(path)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
            read_bounded(file, &path.display().to_string())?
        }
        (None, false) => batch.ids.join("\n"),
        (None, true) => {
            if std::io::stdin().is_terminal() {
                return Err(Failure::usage(
                    "no key ids: pass them as arguments, with --from-file FILE, or on standard input",
                ));
            }
            read_stdin()?
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter(|line| seen.insert(*line))
        .map(str::to_owned)
        .collect();
    // An empty list (a clean night's audit, piped in) is nothing to do,
    // which the command says.
    Ok(ids)
}

fn read_stdin() -> Result<String, Failure> {
    read_bounded(std::io::stdin().lock(), "standard input")
}

/// Reads at most [`MAX_INPUT_BYTES`] of UTF-8 text.
fn read_bounded(source: impl Read, name: &str) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    source
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format!("cannot read {name}: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Failure::usage(format!(
            "{name} holds more than {} MiB of ids: split it into smaller batches",
            MAX_INPUT_BYTES >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| Failure::usage(format!("{name} is not UTF-8 text")))
}

/// How a batch runs.
#[derive(Debug, Clone, Copy)]
pub struct How<'a> {
    /// Calls at once.
    pub concurrency: usize,
    /// The progress bar's label.
    pub verb: &'a str,
    /// No progress bar.
    pub quiet: bool,
}

/// What a batch did.
pub struct Summary<O = Outcome> {
    /// Each item whose work finished, in input order.
    pub outcomes: Vec<O>,
    /// Items not attempted because a signal stopped the batch.
    pub not_attempted: usize,
    /// Items in flight when a second signal ended the batch at once: their
    /// outcome is unknown.
    pub abandoned: usize,
    /// The signal that stopped the batch, if one did.
    pub signal: Option<Signal>,
}

/// Runs `op` for every item, `how.concurrency` at a time, calling `report`
/// with each outcome as soon as it is known.
///
/// A first SIGINT or SIGTERM stops starting new work; the work in flight
/// finishes (each call bounded by the request timeout) and is reported. A
/// second one ends the batch at once: the outcomes known so far are
/// returned, and the work still in flight is counted as abandoned.
pub async fn run<I, O, F, Fut>(
    items: Vec<I>,
    how: How<'_>,
    op: F,
    mut report: impl FnMut(&O),
    signals: &mut Signals,
) -> Summary<O>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = O>,
{
    let total = items.len();
    let stop = AtomicBool::new(false);
    let started = AtomicUsize::new(0);
    let progress = progress_bar(total, how.verb, how.quiet);
    let (op, progress_ref) = (&op, &progress);
    let (stop_ref, started_ref) = (&stop, &started);
    let mut outcomes: Vec<(usize, O)> = Vec::with_capacity(total);
    let mut results = std::pin::pin!(
        stream::iter(items.into_iter().enumerate())
            .take_while(|_| std::future::ready(!stop_ref.load(Ordering::SeqCst)))
            .map(|(index, item)| async move {
                started_ref.fetch_add(1, Ordering::SeqCst);
                let outcome = op(item).await;
                progress_ref.inc(1);
                (index, outcome)
            })
            .buffer_unordered(how.concurrency.max(1))
    );
    let mut signal = None;
    loop {
        tokio::select! {
            next = results.next() => match next {
                Some((index, outcome)) => {
                    progress.suspend(|| report(&outcome));
                    outcomes.push((index, outcome));
                }
                None => break,
            },
            received = signals.next() => {
                if signal.is_some() {
                    // The second signal: stop waiting for the work in flight.
                    break;
                }
                signal = Some(received);
                stop.store(true, Ordering::SeqCst);
                progress.suspend(|| crate::terminal::note(&format!(
                    "{received}: finishing the calls in flight (signal again to stop at once)"
                )));
            }
        }
    }
    progress.finish_and_clear();
    outcomes.sort_by_key(|(index, _)| *index);
    let started = started.load(Ordering::SeqCst);
    Summary {
        not_attempted: total - started,
        abandoned: started - outcomes.len(),
        outcomes: outcomes.into_iter().map(|(_, o)| o).collect(),
        signal,
    }
}

/// A progress bar on a terminal, never with `--quiet`.
pub fn progress_bar(total: usize, verb: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({eta})") {
        bar.set_style(style);
    }
    bar.set_message(verb.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The columns of a batch outcome in CSV: the fields of [`Outcome`].
pub const OUTCOME_COLUMNS: [&str; 6] = ["id", "ok", "note", "error", "status", "code"];

/// One id's outcome in a batch.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The key id.
    pub id: String,
    /// Whether the key ended as asked.
    pub ok: bool,
    /// How a key that was already as asked ended, such as "already inactive".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
    /// What went wrong, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The HTTP status of the answer, when one came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The API's error code (`EndpointError.code`), when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

impl Outcome {
    /// An id that is as asked, with `note` saying how.
    pub fn done(id: String, note: &'static str) -> Self {
        Self {
            id,
            ok: true,
            note: Some(note),
            error: None,
            status: None,
            code: None,
        }
    }

    /// An id refused before any call, with why.
    pub fn refused(id: String, error: String) -> Self {
        Self {
            id,
            ok: false,
            note: None,
            error: Some(error),
            status: None,
            code: None,
        }
    }

    /// The outcome of one id's call: `settled` says which error still
    /// leaves the key as asked (a 409 "already inactive" to a deactivate),
    /// `describe` words the others.
    pub fn of(
        id: String,
        result: Result<(), h2ogpte_api_keys::Error>,
        settled: impl Fn(&h2ogpte_api_keys::Error) -> Option<&'static str>,
        describe: impl Fn(&h2ogpte_api_keys::Error) -> String,
    ) -> Self {
        let Err(e) = result else {
            return Outcome {
                id,
                ok: true,
                note: None,
                error: None,
                status: None,
                code: None,
            };
        };
        let (status, code) = (
            e.status().map(|s| s.as_u16()),
            e.endpoint_error().map(|err| err.code),
        );
        match settled(&e) {
            Some(note) => Outcome {
                id,
                ok: true,
                note: Some(note),
                error: None,
                status,
                code,
            },
            None => Outcome {
                id,
                ok: false,
                note: None,
                error: Some(describe(&e)),
                status,
                code,
            },
        }
    }
}
