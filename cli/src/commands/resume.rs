//! `rotate --resume`: the library's resume ([`Rotator::resume`]) settles
//! every rotation the journal holds open (finished where the secret was
//! delivered, undone where it reached nobody, named for a human where it
//! cannot tell); this module removes the secret sinks' temporary files a
//! killed run left, and prints what was done and the counts.

use std::path::Path;

use h2ogpte_api_keys::{
    Client,
    rotation::{Journal, Rotator, Settled, Settlement, Stop},
};
use serde::Serialize;

use crate::{
    args::{Global, Output},
    batch::Summary,
    failure::Failure,
    output::{print_results, whole_table, write_ndjson},
    signals::Signals,
    sink::{Outlet, Sink, remove_stale_temporaries},
    state_dir::{journal_failure, open_journal},
    terminal::{escape, note},
    wait::until_second_signal,
};

/// What became of one unfinished rotation.
#[derive(Debug, Serialize)]
pub struct ResumeRow {
    pub old_id: String,
    /// The step the journal had recorded.
    pub step: &'static str,
    /// The new key, when the journal knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// Whether it is settled.
    pub ok: bool,
    /// "finished", "undone", "needs a hand" or "run again".
    pub settled: &'static str,
    /// What was done, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// What is left to do by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

const COLUMNS: [&str; 7] = [
    "old_id", "step", "new_id", "ok", "settled", "result", "error",
];

impl ResumeRow {
    fn of(s: &Settled, g: &Global) -> Self {
        let words = crate::rotation_words::settled(s, g);
        Self {
            old_id: s.entry.old_key_id.clone(),
            step: s.entry.step.as_str(),
            new_id: s.entry.new_key_id.clone(),
            ok: words.is_ok(),
            settled: match &s.how {
                Settlement::Finished(_) => "finished",
                Settlement::Undone => "undone",
                Settlement::NeedsHuman { .. } => "needs a hand",
                _ => "run again",
            },
            result: words.as_ref().ok().cloned(),
            error: words.err(),
        }
    }
}

pub async fn resume(client: &Client, g: &Global, signals: &mut Signals) -> Result<(), Failure> {
    let journal = open_journal(client, g)?;
    let entries = journal.entries().await.map_err(journal_failure)?;
    let open: Vec<_> = entries.iter().filter(|e| !e.step.is_settled()).collect();
    // A killed run's half-written secret files, wherever its secrets went.
    let mut dirs: Vec<&Path> = open
        .iter()
        .filter_map(|e| Path::new(e.secret_at.as_deref()?).parent())
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        remove_stale_temporaries(dir);
    }
    if open.is_empty() {
        return Err(Failure::nothing_to_do(
            "nothing to resume: the journal holds no unfinished rotation",
        ));
    }
    let sink = Sink::Stdout;
    let stop = Stop::new();
    let rotator = Rotator::new(client.clone(), journal, Outlet { sink: &sink, g })
        .with_concurrency(4)
        .with_stop(stop.clone());
    let mut rows = Vec::new();
    let mut stdout_gone = false;
    let each = |s: &Settled| {
        let row = ResumeRow::of(s, g);
        if g.output == Output::Ndjson && !stdout_gone {
            stdout_gone = write_ndjson(&mut std::io::stdout().lock(), &row).is_err();
        }
        rows.push(row);
    };
    let total = open.len();
    let (done, signal) = until_second_signal(signals, &stop, rotator.resume(each)).await;
    if let Some(done) = done {
        done.map_err(journal_failure)?;
    }
    let summary = Summary {
        not_attempted: total - rows.len(),
        outcomes: rows,
        abandoned: 0,
        signal,
    };
    report(&summary, g)
}

/// Prints every row, then the counts; exit 0 when every rotation is
/// settled, 3 when some need a hand or another resume.
fn report(summary: &Summary<ResumeRow>, g: &Global) -> Result<(), Failure> {
    let rows = &summary.outcomes;
    print_results(rows, g, &COLUMNS, |rows| {
        let cells = rows
            .iter()
            .map(|r| {
                [
                    escape(&r.old_id),
                    r.step.to_owned(),
                    r.new_id.as_deref().map(escape).unwrap_or_default(),
                    match (&r.result, &r.error) {
                        (_, Some(e)) => format!("not settled: {}", escape(e)),
                        (Some(done), None) => escape(done),
                        (None, None) => String::new(),
                    },
                ]
            })
            .collect();
        whole_table(["OLD ID", "STEP", "NEW ID", "RESULT"], cells, !g.no_headers)
    })?;
    let count = |word: &str| rows.iter().filter(|r| r.settled == word).count();
    let unsettled = rows.iter().filter(|r| !r.ok).count();
    let mut counts = format!(
        "{} finished, {} undone, {unsettled} need a hand",
        count("finished"),
        count("undone"),
    );
    if summary.not_attempted > 0 {
        counts += &format!(
            ", {} left in the journal for the next `rotate --resume`",
            summary.not_attempted
        );
    }
    if !g.quiet {
        note(&counts);
    }
    if let Some(signal) = summary.signal {
        return Err(Failure::signalled(signal, format!("{signal}: {counts}")));
    }
    match unsettled {
        0 => Ok(()),
        n => Err(Failure::partial(format!(
            "{n} of {} unfinished rotation(s) need a hand; see the results above",
            rows.len()
        ))),
    }
}
