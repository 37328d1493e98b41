//! One module per command; this one dispatches to them.

pub(crate) mod apply;
mod audit;
mod bulk;
mod context;
mod create;
mod list;
mod plan;
mod resume;
mod rotate;

use std::io::Write;

use clap::CommandFactory;

use crate::{
    args::{Cli, Command, Output},
    connect::client,
    failure::{EXIT_FINDINGS, EXIT_NOTHING_CHECKED, EXIT_PARTIAL, Failure},
    output_file::OutputFile,
    signals::Signals,
};

/// Runs the command the arguments name, with the SIGINT and SIGTERM caught
/// since the process started: each command says what they mean to it.
pub async fn run(mut cli: Cli, mut signals: Signals) -> Result<(), Failure> {
    if !matches!(
        cli.command,
        Command::Completions { .. } | Command::Man | Command::Context(_)
    ) {
        crate::context::resolve(&mut cli.global, &mut signals).await?;
    }
    let g = &cli.global;
    if g.output == Output::Openmetrics && !matches!(cli.command, Command::Audit(_)) {
        return Err(Failure::usage(
            "-o openmetrics is the audit's format for metrics: use table, json, ndjson or csv here",
        ));
    }
    let signals = &mut signals;
    match &cli.command {
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a failed write,
            // and a closed stdout must end quietly.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "h2ogpte-keys", &mut script);
            let mut out = std::io::stdout().lock();
            out.write_all(&script)?;
            out.flush()?;
            Ok(())
        }
        Command::Man => {
            let page = man_page()?;
            let mut out = std::io::stdout().lock();
            out.write_all(&page)?;
            out.flush()?;
            Ok(())
        }
        // A CA file may be a FIFO: building the client gives way to a signal.
        Command::Create(args) => create::create(&client(g, signals).await?, args, g, signals).await,
        Command::List(args) => {
            let client = client(g, signals).await?;
            let listed = interruptible(signals, list::list(&client, args, g));
            into_report(args.output_file.as_deref(), false, listed).await
        }
        Command::Context(action) => context::context(action, g),
        #[cfg(feature = "mcp")]
        Command::Mcp(args) => crate::mcp::serve(client(g, signals).await?, args, g).await,
        Command::Whoami => {
            let client = client(g, signals).await?;
            interruptible(signals, list::whoami(&client, g)).await
        }
        Command::Show { id } => {
            let client = client(g, signals).await?;
            interruptible(signals, list::show(&client, id, g)).await
        }
        Command::Expire(args) => bulk::expire(&client(g, signals).await?, args, g, signals).await,
        Command::Inactivity(args) => {
            bulk::inactivity(&client(g, signals).await?, args, g, signals).await
        }
        Command::Deactivate(args) => {
            bulk::deactivate(&client(g, signals).await?, args, g, signals).await
        }
        Command::Delete(args) => bulk::delete(&client(g, signals).await?, args, g, signals).await,
        Command::Audit(args) => {
            let client = client(g, signals).await?;
            let audited = audit::audit(&client, args, g, signals);
            let metrics = g.output == Output::Openmetrics;
            into_report(args.output_file.as_deref(), true, audited)
                .await
                .or_else(|f| failed_metrics(args.output_file.as_deref(), metrics, f))
        }
        Command::Plan(args) => plan::plan(&client(g, signals).await?, args, g, signals).await,
        Command::Apply(args) => apply::apply(&client(g, signals).await?, args, g, signals).await,
        Command::Rotate(args) if args.resume => {
            resume::resume(&client(g, signals).await?, g, signals).await
        }
        Command::Rotate(args) => rotate::rotate(&client(g, signals).await?, args, g, signals).await,
    }
}

/// Runs `work` (a lazy future: nothing runs before it is awaited) with
/// standard output in `--output-file`'s temporary file when one is given;
/// the report is renamed into place when the command read everything (for
/// an audit, findings and an empty fleet are complete answers too), else
/// dropped with the last report left as it was.
async fn into_report(
    file: Option<&std::path::Path>,
    audit: bool,
    work: impl Future<Output = Result<(), Failure>>,
) -> Result<(), Failure> {
    let Some(report) = file.map(OutputFile::begin).transpose()? else {
        return work.await;
    };
    let result = work.await;
    let complete = match &result {
        Ok(()) => true,
        Err(f) => f.whole || audit && placed(f),
    };
    match (report.finish(complete), result) {
        (Ok(()), result) => result,
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(mut f)) => {
            f.message += &format!("; {}", e.message);
            // A report that could not be written is the run's failure, not
            // its findings.
            if [EXIT_FINDINGS, EXIT_NOTHING_CHECKED, EXIT_PARTIAL].contains(&f.code) {
                f.code = e.code;
            }
            Err(f)
        }
    }
}

/// An audit's `-o openmetrics --output-file F` that failed before its
/// report was whole: F gets the failure document (the audit's time and
/// `success 0`), not yesterday's numbers. The failure stands.
fn failed_metrics(
    file: Option<&std::path::Path>,
    metrics: bool,
    failure: Failure,
) -> Result<(), Failure> {
    let Some(path) = file.filter(|_| metrics && !placed(&failure)) else {
        return Err(failure);
    };
    let written = crate::metrics::failed_document(chrono::Utc::now())
        .map_err(|e| Failure::api(e.to_string()))
        .and_then(|document| crate::output_file::replace_whole(path, &document));
    match written {
        Ok(()) => Err(failure),
        Err(e) => {
            let mut failure = failure;
            failure.message += &format!("; the failure was not written either: {}", e.message);
            Err(failure)
        }
    }
}

/// Whether an audit that ended in `f` placed its report: a whole one, or
/// a complete answer (findings, nothing checked, a partial notification).
fn placed(f: &Failure) -> bool {
    f.whole
        || !f.incomplete && [EXIT_FINDINGS, EXIT_NOTHING_CHECKED, EXIT_PARTIAL].contains(&f.code)
}

/// The manual page, one page for the tool and every command: the
/// commands' sections follow the tool's, so it names no page that nothing
/// installs, and the audit's finding codes and policy keys (its help) are
/// in it.
fn man_page() -> std::io::Result<Vec<u8>> {
    let mut cli = Cli::command();
    cli.build();
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(cli.clone());
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_extra_section(&mut page)?;
    // The commands as declared, before the global options propagate into
    // them: those are in the tool's section once.
    let declared = Cli::command();
    for sub in declared.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("h2ogpte-keys {}", sub.get_name());
        writeln!(page, ".SH \"{}\"", name.to_uppercase())?;
        let sub = sub.clone().bin_name(&name);
        let man = clap_mangen::Man::new(sub.clone());
        man.render_description_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_options_section(&mut page)?;
        if sub.get_after_help().is_some() || sub.get_after_long_help().is_some() {
            man.render_extra_section(&mut page)?;
        }
    }
    man.render_version_section(&mut page)?;
    Ok(page)
}

pub use crate::wait::{interruptible, unless_signalled};
