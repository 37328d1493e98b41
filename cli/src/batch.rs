//! Acting on many key ids: reading them, running the requests a few at a time
//! with a progress bar on a terminal, and keeping every result in input order.

use std::{future::Future, io::IsTerminal};

use futures::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::io::AsyncReadExt;

use crate::{Failure, args::Batch, output::Outcome};

/// The ids from the arguments, `--from-file`, or standard input: one per
/// line, blank lines and `#` comments skipped, duplicates dropped.
pub async fn read_ids(batch: &Batch) -> Result<Vec<String>, Failure> {
    let text = match (&batch.from_file, batch.ids.is_empty()) {
        (Some(_), false) => {
            return Err(Failure::usage(
                "give ids as arguments or with --from-file, not both",
            ));
        }
        (Some(path), true) => std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?,
        (None, false) => batch.ids.join("\n"),
        (None, true) => {
            if std::io::stdin().is_terminal() {
                return Err(Failure::usage(
                    "no key ids: pass them as arguments, with --from-file FILE, or on standard input",
                ));
            }
            let mut text = String::new();
            tokio::io::stdin()
                .read_to_string(&mut text)
                .await
                .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
            text
        }
    };
    let mut ids: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || ids.iter().any(|i| i == line) {
            continue;
        }
        ids.push(line.to_owned());
    }
    if ids.is_empty() {
        return Err(Failure::usage("no key ids in the input"));
    }
    Ok(ids)
}

/// Runs `op` for every id, `concurrency` at a time; outcomes in input order.
pub async fn run<F, Fut>(ids: Vec<String>, concurrency: usize, verb: &str, op: F) -> Vec<Outcome>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), h2ogpte_api_keys::Error>>,
{
    let progress = if std::io::stderr().is_terminal() {
        let bar =
            ProgressBar::with_draw_target(Some(ids.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({eta})") {
            bar.set_style(style);
        }
        bar.set_message(verb.to_owned());
        bar
    } else {
        ProgressBar::hidden()
    };
    let op = &op;
    let progress_ref = &progress;
    let mut outcomes: Vec<(usize, Outcome)> = stream::iter(ids.into_iter().enumerate())
        .map(|(index, id)| async move {
            let result = op(id.clone()).await;
            progress_ref.inc(1);
            let outcome = Outcome {
                ok: result.is_ok(),
                error: result.err().map(|e| e.to_string()),
                id,
            };
            (index, outcome)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    progress.finish_and_clear();
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, o)| o).collect()
}
