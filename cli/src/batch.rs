//! Acting on many key ids: reading them, running the requests a few at a
//! time with a progress bar on a terminal, reporting each result as it is
//! known, and stopping cleanly on Ctrl-C.

use std::{
    future::Future,
    io::{IsTerminal, Read},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{args::Batch, failure::Failure, output::Outcome};

/// Largest id list read from a file or standard input.
const MAX_INPUT_BYTES: u64 = 16 << 20;

/// The ids from the arguments, `--from-file` (`-` for standard input), or
/// standard input: one per line, a leading UTF-8 BOM and CRLF endings
/// accepted, blank lines and `#` comments skipped, duplicates dropped.
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
    if ids.is_empty() {
        return Err(Failure::usage("no key ids in the input"));
    }
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

/// What a batch did.
pub struct Summary {
    /// Each id that was attempted, in input order.
    pub outcomes: Vec<Outcome>,
    /// Ids not attempted because Ctrl-C stopped the batch.
    pub not_attempted: usize,
}

impl Summary {
    /// Whether Ctrl-C stopped the batch before every id was attempted.
    pub fn interrupted(&self) -> bool {
        self.not_attempted > 0
    }
}

/// Runs `op` for every id, `concurrency` at a time, calling `report` with
/// each outcome as soon as it is known.
///
/// Ctrl-C stops starting new calls; the calls in flight finish (each bounded
/// by the request timeout) and are reported. A second Ctrl-C exits at once
/// with status 130.
pub async fn run<F, Fut>(
    ids: Vec<String>,
    concurrency: usize,
    verb: &str,
    op: F,
    mut report: impl FnMut(&Outcome),
    describe: impl Fn(&h2ogpte_api_keys::Error) -> String,
) -> Summary
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), h2ogpte_api_keys::Error>>,
{
    let total = ids.len();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_ctrl_c(Interrupts::listen(), stop.clone()));
    let progress = progress_bar(total, verb);
    let (op, progress_ref, describe) = (&op, &progress, &describe);
    let stop_ref = &stop;
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(total);
    let mut results = std::pin::pin!(
        stream::iter(ids.into_iter().enumerate())
            .take_while(|_| std::future::ready(!stop_ref.load(Ordering::SeqCst)))
            .map(|(index, id)| async move {
                let result = op(id.clone()).await;
                progress_ref.inc(1);
                let outcome = Outcome {
                    ok: result.is_ok(),
                    error: result.err().map(|e| describe(&e)),
                    id,
                };
                (index, outcome)
            })
            .buffer_unordered(concurrency.max(1))
    );
    while let Some((index, outcome)) = results.next().await {
        progress.suspend(|| report(&outcome));
        outcomes.push((index, outcome));
    }
    watcher.abort();
    progress.finish_and_clear();
    outcomes.sort_by_key(|(index, _)| *index);
    Summary {
        not_attempted: total - outcomes.len(),
        outcomes: outcomes.into_iter().map(|(_, o)| o).collect(),
    }
}

/// SIGINT, listened for from the moment this is made (not from a first
/// poll), so a Ctrl-C right after the batch starts is not missed.
struct Interrupts {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    fn listen() -> Self {
        Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        return match &mut self.signal {
            Some(signal) => signal.recv().await.is_some(),
            None => std::future::pending().await,
        };
        #[cfg(not(unix))]
        return tokio::signal::ctrl_c().await.is_ok();
    }
}

/// Sets `stop` on the first Ctrl-C and exits with 130 on the second.
async fn watch_ctrl_c(mut interrupts: Interrupts, stop: Arc<AtomicBool>) {
    if !interrupts.next().await {
        return;
    }
    stop.store(true, Ordering::SeqCst);
    crate::terminal::note(
        "interrupted: finishing the calls in flight (Ctrl-C again to quit at once)",
    );
    if interrupts.next().await {
        std::process::exit(crate::failure::EXIT_INTERRUPTED.into());
    }
}

fn progress_bar(total: usize, verb: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
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
