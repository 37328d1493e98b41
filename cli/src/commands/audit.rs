//! `audit`: every key (or those of `--filter`) judged against a policy from
//! a TOML file, flags or the recommended defaults; one row per finding,
//! exit 4 when there is any. The judging is the library's
//! [`Policy::evaluate`]; this module reads keys, writes rows and counts.

use std::{
    collections::BTreeMap,
    io::{self, BufRead, Seek, Write},
};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use h2ogpte_api_keys::{
    Client, KeyState,
    policy::{Finding, FindingCode, KeyAudit, Policy, Remedy, reports_last_use},
    rotation::Memory,
    types::ApiKeyInfo,
};
use serde::{Deserialize, Serialize};

use crate::{
    args::{Audit, Global, Output, Which},
    audit_state::{AuditMemory, Cleared, Standing},
    commands::unless_signalled,
    csv_out::{Cells, CsvWriter},
    failure::Failure,
    metrics::MetricsWriter,
    output::{ChunkedTable, end_json_array, unless_closed, write_json_element, write_ndjson},
    signals::{Signal, Signals},
    sink::{Input, command_line, run_with_input},
    state_dir::peek_journal,
    terminal::{clip, escape, note},
};

/// One finding about one key: what it is, what clears it, and the data it
/// was judged on.
#[derive(Debug, Clone, Serialize)]
struct Row {
    id: String,
    username: String,
    name: String,
    finding: FindingCode,
    remedy: Remedy,
    detail: String,
    days: Option<i64>,
    limit_days: Option<u32>,
    created_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    /// Against the last run, with `--state`: new, open, fixed or gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Standing>,
}

/// The columns of a finding, in CSV and in the order of [`Row`], but for
/// `status`, which follows them with `--state`.
const ROW_COLUMNS: [&str; 11] = [
    "id",
    "username",
    "name",
    "finding",
    "remedy",
    "detail",
    "days",
    "limit_days",
    "created_at",
    "expires_at",
    "last_used_at",
];

pub async fn audit(
    client: &Client,
    args: &Audit,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let policy =
        crate::policy_file::load_unless_signalled(args.policy.as_deref(), &args.rules, signals)
            .await?;
    if policy.is_empty() {
        return Err(Failure::usage(
            "the policy sets no rule, so no key could break it: set one in the file or with a flag (see --help)",
        ));
    }
    if args.ids && g.output == Output::Openmetrics {
        return Err(Failure::usage(
            "--ids prints ids and -o openmetrics prints metrics: choose one",
        ));
    }
    for (flag, which) in [("--fail-on", args.fail_on), ("--notify-on", args.notify_on)] {
        if which == Which::New && args.state.is_none() {
            return Err(Failure::usage(format!(
                "{flag} new needs --state FILE: without a memory of the last run every finding is new"
            )));
        }
    }
    let notify = match &args.notify_command {
        Some(command) => Some(Notify::new(
            command_line("--notify-command", command)?,
            args,
        )),
        None => None,
    };
    let server = client.base_url().as_str().to_owned();
    let mut memory = match args.state.clone() {
        Some(path) => {
            let server = server.clone();
            Some(unless_signalled(signals, move || AuditMemory::load(&path, &server)).await?)
        }
        None => None,
    };
    let remembered = remembered_rotations(client, g);
    let now = Utc::now();
    let query = crate::lookup::query(args.filter.as_deref(), args.user.as_deref());
    let format = match (args.ids, g.output) {
        (true, _) => None,
        (false, format) => Some(format),
    };
    let mut rows = RowWriter::new(
        io::BufWriter::new(io::stdout().lock()),
        format,
        !g.no_headers,
        memory.is_some(),
    )?;
    let mut metrics = (g.output == Output::Openmetrics).then(|| {
        let on_terminal = io::IsTerminal::is_terminal(&io::stdout());
        MetricsWriter::new(io::BufWriter::new(io::stdout().lock()), on_terminal)
    });
    let mut notify = notify;
    let mut judged = std::pin::pin!(client.audit(&query, &policy, now));
    let mut tally = Tally::default();
    loop {
        let next = tokio::select! {
            biased;
            signal = signals.next() => {
                rows.abandon(None);
                return Err(Failure::signalled(
                    signal,
                    format!(
                        "{signal}: the audit stopped after {} key(s); the output is incomplete",
                        tally.keys
                    ),
                ));
            }
            next = judged.try_next() => next,
        };
        let KeyAudit { key, findings, .. } = match next {
            Ok(Some(judged)) => judged,
            Ok(None) => break,
            Err(e) => {
                // The findings so far are kept, and nothing that could pass
                // for a complete answer (a closed JSON array, a bare header).
                rows.abandon(Some(signals));
                if let Some(metrics) = metrics.take() {
                    let _ = metrics.fail(now);
                }
                let mut failure = Failure::from_error(&e, g.timeout);
                failure.message += &format!(
                    "; the output is incomplete: it holds the findings of the {} key(s) read before the failure",
                    tally.keys
                );
                if memory.is_some() {
                    failure.message += "; --state was left as it was";
                }
                return Err(failure);
            }
        };
        tally.keys += 1;
        if !reports_last_use(&key) {
            tally.unreported_use += 1;
        }
        let mut findings = findings;
        // A deactivated key's moment is not in the API: counted from when
        // the state first saw it inactive.
        if let Some(memory) = &memory
            && KeyState::of(&key, now) == KeyState::Deactivated
        {
            findings =
                policy.evaluate_seen_inactive(&key, now, Some(memory.first_inactive(&key.id, now)));
        }
        // The journal's knowledge: a rotation left open, a key retiring.
        let findings = remembered.judge(&key, findings, now);
        let codes: Vec<FindingCode> = findings.iter().map(|f| f.code).collect();
        let standings = memory.as_mut().map(|m| m.see(&key, now, &codes));
        if let Some(metrics) = metrics.as_mut()
            && let Err(e) = metrics.key(&key, now)
        {
            rows.stop_on(Err(e));
        }
        // With --remedy, a key counts when the plan's one action for it is
        // one of those remedies (the library's table), so that piping the
        // ids into the remedy's command converges: an unused key is listed
        // for deactivation, never for rotation too.
        // The tool's own key (by its hint) is never listed for a remedy.
        let own = crate::lookup::protected_ids(client, [&key], g);
        let planned = (!args.remedy.is_empty()).then(|| {
            policy
                .plan(std::slice::from_ref(&key), &remembered, &own, now)
                .pop()
                .map(|row| row.action)
        });
        // A review is no action: an ended waiver is listed for it as found.
        let chosen = |remedy: Remedy| match &planned {
            Some(Some(action)) => remedy == Remedy::Review || action.as_str() == remedy.as_str(),
            _ => true,
        };
        let mut flagged = false;
        for (at, finding) in findings.into_iter().enumerate() {
            let kept = args.remedy.is_empty()
                || args.remedy.contains(&finding.remedy)
                    && args
                        .remedy
                        .iter()
                        .any(|r| *r != Remedy::Review && chosen(*r))
                || finding.remedy == Remedy::Review && args.remedy.contains(&Remedy::Review);
            if !kept {
                continue;
            }
            flagged = true;
            *tally.by_code.entry(finding.code).or_default() += 1;
            let status = standings.as_ref().and_then(|s| s.get(at).copied());
            if let Some(s) = status {
                *tally.by_standing.entry(s).or_default() += 1;
            }
            let row = Row::of(&key, finding, status);
            if let Some(notify) = notify.as_mut()
                && (args.notify_on == Which::Any || status == Some(Standing::New))
            {
                notify.collect(&row);
            }
            rows.push(row);
        }
        if flagged {
            tally.flagged += 1;
        }
    }
    // The listing is complete: what was fixed since the last run, and the
    // state of this one.
    if let Some(memory) = memory.as_mut() {
        let (cleared, gone) = memory.cleared(args.filter.is_none() && args.user.is_none());
        tally.keys_gone = gone;
        for c in cleared {
            if !args.remedy.is_empty() && !args.remedy.contains(&c.code.remedy()) {
                continue;
            }
            *tally.by_standing.entry(c.standing).or_default() += 1;
            if !args.ids {
                rows.push(Row::cleared(&c, memory.last_run()));
            }
        }
    }
    // The state and the report are separate promises: a state that cannot
    // be written fails the run once the findings are printed whole.
    let unsaved = match memory {
        Some(memory) => {
            unless_signalled_now(signals)?;
            memory.save(now).err()
        }
        None => None,
    };
    // A reader that went away (`| head`) ends the output, not the audit:
    // the exit code still says what was found.
    let stopped = rows.finish(&tally, g, signals);
    if let Some(metrics) = metrics
        && let Err(e) = metrics.finish(&tally.by_code, now)
    {
        return Err(Failure::from(e));
    }
    if let Some(Stopped::Signalled(signal)) = stopped {
        return Err(Failure::signalled(
            signal,
            format!(
                "{signal}: the audit of {} key(s) stopped while its table was written; the output is incomplete",
                tally.keys
            ),
        ));
    }
    let cut = Stopped::said(stopped.as_ref());
    if !g.quiet && (!tally.by_standing.is_empty() || tally.keys_gone > 0) {
        note(&tally.standings());
    }
    let told = match notify {
        Some(notify) => Some(notify.run(g, signals).await?),
        None => None,
    };
    if tally.keys == 0 {
        let matched = args
            .filter
            .as_deref()
            .map(|f| format!(" for --filter {}", escape(f)))
            .or_else(|| {
                args.user
                    .as_deref()
                    .map(|u| format!(" for --user {}", escape(u)))
            })
            .unwrap_or_default();
        return Err(Failure::nothing_checked(format!(
            "0 keys checked: the server listed no key{matched}, so nothing was audited"
        )));
    }
    // What could not be checked is said even with --quiet: a cron job must
    // not take an unchecked rule for a clean one.
    if say_what_was_not_checked(&policy, &tally) == Checked::Nothing {
        return Err(Failure::nothing_checked(format!(
            "{} key(s) listed, but no rule asked for could be checked on them: the server reports no last use or inactivity interval (before h2oGPTe 1.7.0)",
            tally.keys
        )));
    }
    if let Some(failed) = unsaved {
        let findings = tally.by_code.values().sum::<u64>();
        return Err(Failure::api(format!(
            "{}; the report of {findings} finding(s) in {} key(s) is whole",
            failed.message, tally.keys
        ))
        .whole());
    }
    // Owners who were not told make the run partial, whatever it found.
    if let Some(Err(untold)) = told {
        return Err(Failure::partial(untold));
    }
    match tally.flagged {
        0 if matches!(stopped, Some(Stopped::Failed(_))) => Err(Failure::api(format!(
            "{} key(s) checked and none breaks the policy{cut}",
            tally.keys
        ))
        .incomplete()),
        0 => {
            if !g.quiet {
                note(&format!(
                    "{} key(s) checked: none breaks the policy",
                    tally.keys
                ));
            }
            Ok(())
        }
        flagged => {
            let said = format!(
                "{} finding(s) in {flagged} of {} key(s): {}{cut}",
                tally.by_code.values().sum::<u64>(),
                tally.keys,
                tally.summary()
            );
            let new = tally.by_standing.get(&Standing::New).copied().unwrap_or(0);
            if args.fail_on == Which::New && new == 0 && stopped.is_none() {
                if !g.quiet {
                    note(&format!("{said}; none new, and --fail-on new"));
                }
                return Ok(());
            }
            // The findings' code stands; a report that could not be
            // written whole is marked so, and no --output-file takes it.
            Err(match stopped {
                Some(Stopped::Failed(_)) => Failure::findings(said).incomplete(),
                _ => Failure::findings(said),
            })
        }
    }
}

/// A signal that came meanwhile, as the audit's end: the state is not
/// written after one.
fn unless_signalled_now(signals: &mut Signals) -> Result<(), Failure> {
    match signals.pending() {
        Some(signal) => Err(Failure::signalled(
            signal,
            format!("{signal}: the audit stopped; --state was left as it was"),
        )),
        None => Ok(()),
    }
}

/// What the rotation journal remembers, read without its lock (a
/// rotation may be running); a journal that cannot be read is said, not
/// fatal to the audit.
fn remembered_rotations(client: &Client, g: &Global) -> Memory {
    peek_journal(client, g).unwrap_or_else(|e| {
        note(&format!(
            "rotations in progress and retiring keys were not checked: {}",
            e.message
        ));
        Memory::default()
    })
}

/// Most rows one user's `--notify-command` is given.
const MAX_NOTIFY_ROWS: usize = 10_000;

/// Most bytes of rows kept for all the `--notify-command` runs: a server's
/// names are its own to size.
const MAX_NOTIFY_BYTES: usize = 64 << 20;

/// `--notify-command`: each user's findings, gathered as the audit runs,
/// then handed to the command once per user.
struct Notify {
    argv: Vec<String>,
    timeout: std::time::Duration,
    max_users: usize,
    /// NDJSON lines per username, in username order.
    users: BTreeMap<String, Vec<String>>,
    /// Bytes of those lines, at most [`MAX_NOTIFY_BYTES`].
    bytes: usize,
    /// Rows of users past `max_users`, and rows past [`MAX_NOTIFY_ROWS`].
    users_left_out: u64,
    rows_left_out: u64,
}

impl Notify {
    fn new(argv: Vec<String>, args: &Audit) -> Self {
        Self {
            argv,
            timeout: args.notify_timeout,
            max_users: args.notify_max,
            users: BTreeMap::new(),
            bytes: 0,
            users_left_out: 0,
            rows_left_out: 0,
        }
    }

    fn collect(&mut self, row: &Row) {
        let full = self.users.len() >= self.max_users;
        let lines = match self.users.get_mut(&row.username) {
            Some(lines) => lines,
            None if full => {
                self.users_left_out += 1;
                return;
            }
            None => self.users.entry(row.username.clone()).or_default(),
        };
        if lines.len() >= MAX_NOTIFY_ROWS || self.bytes >= MAX_NOTIFY_BYTES {
            self.rows_left_out += 1;
            return;
        }
        if let Ok(line) = serde_json::to_string(row) {
            self.bytes += line.len();
            lines.push(line);
        }
    }

    /// Runs the command for each user, four at a time; Ok with how many
    /// were told, or Err naming who was not.
    async fn run(self, g: &Global, signals: &mut Signals) -> Result<Result<u64, String>, Failure> {
        let Notify {
            argv,
            timeout,
            users,
            users_left_out,
            rows_left_out,
            ..
        } = self;
        let total = users.len();
        let argv = &argv;
        let work = futures::stream::iter(users)
            .map(|(username, lines)| async move {
                let mut input = lines.join("\n");
                input.push('\n');
                let count = lines.len().to_string();
                let env = [
                    ("H2OGPTE_USERNAME", username.as_str()),
                    ("H2OGPTE_FINDINGS", count.as_str()),
                ];
                let result = run_with_input(
                    ("--notify-command", "--notify-timeout"),
                    argv,
                    timeout,
                    Input::Plain(input.as_bytes()),
                    &env,
                )
                .await;
                (username, result)
            })
            .buffer_unordered(4)
            .collect::<Vec<_>>();
        let results = crate::commands::interruptible(signals, async { Ok(work.await) }).await?;
        let failed: Vec<String> = results
            .iter()
            .filter_map(|(user, r)| r.as_ref().err().map(|e| format!("{}: {e}", escape(user))))
            .collect();
        let told = (total - failed.len()) as u64;
        if !g.quiet {
            let mut said =
                format!("--notify-command told {told} of {total} user(s) of their findings");
            if users_left_out > 0 {
                said += &format!(
                    "; {users_left_out} finding(s) of users beyond --notify-max were not sent"
                );
            }
            if rows_left_out > 0 {
                said += &format!(
                    "; {rows_left_out} finding(s) past {MAX_NOTIFY_ROWS} per user or {} MiB in all were left out",
                    MAX_NOTIFY_BYTES >> 20
                );
            }
            note(&said);
        }
        if failed.is_empty() {
            return Ok(Ok(told));
        }
        Ok(Err(format!(
            "{} of {total} user(s) were not told of their findings: {}",
            failed.len(),
            failed.join("; ")
        )))
    }
}

/// How much of the policy a server let the audit check.
#[derive(Debug, PartialEq, Eq)]
enum Checked {
    /// Every rule, on every key.
    All,
    /// Some rules were not checked on some keys (said on stderr).
    Part,
    /// No rule asked for was checked on any key.
    Nothing,
}

/// Says once what a server before 1.7.0 kept from being checked.
fn say_what_was_not_checked(policy: &Policy, tally: &Tally) -> Checked {
    let use_rules = policy.unused_for_days.is_some() || policy.require_inactivity_interval;
    if !use_rules || tally.unreported_use == 0 {
        return Checked::All;
    }
    let only_use_rules = policy
        .clone()
        .with_unused_for_days(None)
        .with_require_inactivity_interval(false)
        .is_empty();
    if only_use_rules && tally.unreported_use == tally.keys {
        return Checked::Nothing;
    }
    note(&format!(
        "the server does not report last use or inactivity intervals (a server before h2oGPTe 1.7.0): unused and no-inactivity-interval were not checked for {} of the {} key(s)",
        tally.unreported_use, tally.keys
    ));
    Checked::Part
}

/// What the audit saw.
#[derive(Default)]
struct Tally {
    keys: u64,
    flagged: u64,
    by_code: BTreeMap<FindingCode, u64>,
    /// Keys whose server reports neither last use nor inactivity intervals.
    unreported_use: u64,
    /// With `--state`: findings by standing, and keys gone since.
    by_standing: BTreeMap<Standing, u64>,
    keys_gone: u64,
}

impl Tally {
    /// "no-expiry 3, too-old 1", in report order.
    fn summary(&self) -> String {
        self.by_code
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// "2 new, 5 open, 1 fixed, 1 gone finding(s); 1 key gone since …".
    fn standings(&self) -> String {
        let mut said: Vec<String> = [
            Standing::New,
            Standing::Open,
            Standing::Fixed,
            Standing::Gone,
        ]
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                self.by_standing.get(s).copied().unwrap_or(0),
                s.as_str()
            )
        })
        .collect();
        said.push(format!("{} key(s) gone", self.keys_gone));
        format!("against the last audit: {}", said.join(", "))
    }
}

/// Writes findings as they come, except a table, whose rows go to one
/// anonymous temporary file per finding (deleted when closed), to be read
/// back grouped: memory stays flat however many keys break the policy.
struct RowWriter<W: Write> {
    out: Option<W>,
    csv: Option<CsvWriter<W>>,
    /// `None` prints only ids.
    format: Option<Output>,
    header: bool,
    written: u64,
    last_id: Option<String>,
    groups: BTreeMap<FindingCode, io::BufWriter<std::fs::File>>,
    /// Bytes the table's rows take in their files, at most `spill_limit`.
    spilled: u64,
    /// The widest cell of each table column, as shown: every chunk is
    /// padded to them, so columns never jump between chunks.
    widths: [usize; 6],
    spill_limit: u64,
    /// Why the output stopped before its end (the reader closed it, the
    /// disk is full, the table's files): nothing more is written, and the
    /// audit goes on to its exit code.
    stopped: Option<Stopped>,
}

/// Why an audit's output stopped before its end.
enum Stopped {
    /// The reader closed it (`| head`).
    Closed,
    /// Writing failed.
    Failed(io::Error),
    /// A signal came while the table was written.
    Signalled(Signal),
}

impl Stopped {
    /// What to add to the audit's closing line.
    fn said(stopped: Option<&Stopped>) -> String {
        match stopped {
            None => String::new(),
            Some(Stopped::Closed) => {
                "; the output was cut short when its reader closed it".to_owned()
            }
            Some(Stopped::Failed(e)) => format!("; the output is incomplete: {e}"),
            Some(Stopped::Signalled(signal)) => format!("; {signal}: the output is incomplete"),
        }
    }
}

/// The most the findings table keeps in its temporary files: some million
/// rows of real keys. An endless or hostile listing stops there with an
/// error, instead of filling the disk.
const MAX_SPILL_BYTES: u64 = 256 << 20;

/// A table cell's most characters: past it a cell is cut (with how much
/// more there was) before it is spilled, so a key's fat name costs the
/// disk what it costs the screen.
const MAX_CELL_CHARS: usize = 120;

/// The findings table's columns.
const TABLE_HEADER: [&str; 6] = ["FINDING", "REMEDY", "ID", "USER", "NAME", "DETAIL"];

/// A table row kept in a finding's temporary file.
#[derive(Serialize, Deserialize)]
struct Spilled {
    id: String,
    username: String,
    name: String,
    detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

impl Spilled {
    /// The row's cells as the table shows them, escaped.
    fn cells(&self, code: FindingCode) -> [String; 6] {
        [
            match &self.status {
                Some(status) => format!("{code} ({status})"),
                None => code.as_str().to_owned(),
            },
            code.remedy().as_str().to_owned(),
            escape(&self.id),
            escape(&self.username),
            escape(&self.name),
            escape(&self.detail),
        ]
    }
}

impl Row {
    /// A finding of a key as listed now.
    fn of(key: &ApiKeyInfo, finding: Finding, status: Option<Standing>) -> Self {
        Row {
            id: key.id.clone(),
            username: key.username.clone(),
            name: key.name.clone(),
            finding: finding.code,
            remedy: finding.remedy,
            detail: finding.detail,
            days: finding.days,
            limit_days: finding.limit_days,
            created_at: Some(key.created_at),
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            status,
        }
    }

    /// A finding of the last run that is no more, as remembered.
    fn cleared(c: &Cleared, last_run: Option<DateTime<Utc>>) -> Self {
        let since = last_run.map_or_else(String::new, |at| {
            format!(" since the audit of {}", at.format("%Y-%m-%d %H:%M UTC"))
        });
        Row {
            id: c.id.clone(),
            username: c.username.clone(),
            name: c.name.clone(),
            finding: c.code,
            remedy: c.code.remedy(),
            detail: match c.standing {
                Standing::Gone => format!("the key is gone{since}"),
                _ => format!("cleared{since}"),
            },
            days: None,
            limit_days: None,
            created_at: None,
            expires_at: None,
            last_used_at: None,
            status: Some(c.standing),
        }
    }
}

impl<W: Write> RowWriter<W> {
    fn new(out: W, format: Option<Output>, header: bool, status: bool) -> io::Result<Self> {
        let mut columns = ROW_COLUMNS.to_vec();
        if status {
            columns.push("status");
        }
        let (out, csv) = match format {
            Some(Output::Csv) => (
                None,
                Some(CsvWriter::new(out, &columns, header, Cells::for_stdout())?),
            ),
            _ => (Some(out), None),
        };
        Ok(Self {
            out,
            csv,
            format,
            header,
            written: 0,
            last_id: None,
            groups: BTreeMap::new(),
            spilled: 0,
            widths: TABLE_HEADER.map(str::len),
            spill_limit: MAX_SPILL_BYTES,
            stopped: None,
        })
    }

    /// Writes a finding's row, unless the output stopped.
    fn push(&mut self, row: Row) {
        if self.stopped.is_none() {
            let written = self.write_row(row);
            self.stop_on(written);
        }
    }

    fn stop_on(&mut self, written: io::Result<()>) {
        self.stopped = match unless_closed(written) {
            Ok(true) => None,
            Ok(false) => Some(Stopped::Closed),
            Err(e) => Some(Stopped::Failed(e)),
        };
    }

    fn write_row(&mut self, row: Row) -> io::Result<()> {
        let code = row.finding;
        if let Some(csv) = &mut self.csv {
            return csv.push(&row);
        }
        let Some(out) = &mut self.out else {
            return Ok(());
        };
        match self.format {
            None => {
                // Findings of a key come together: its id once.
                if self.last_id.as_deref() != Some(row.id.as_str()) {
                    writeln!(out, "{}", escape(&row.id))?;
                    self.last_id = Some(row.id.clone());
                }
            }
            Some(Output::Ndjson) => write_ndjson(out, &row)?,
            Some(Output::Json) => write_json_element(out, &row, self.written == 0)?,
            Some(Output::Table) => {
                let Row {
                    id,
                    username,
                    name,
                    detail,
                    status,
                    ..
                } = row;
                let spilled = Spilled {
                    id: clip(&id, MAX_CELL_CHARS),
                    username: clip(&username, MAX_CELL_CHARS),
                    name: clip(&name, MAX_CELL_CHARS),
                    detail: clip(&detail, 2 * MAX_CELL_CHARS),
                    status: status.map(|s| s.as_str().to_owned()),
                };
                for (width, cell) in self.widths.iter_mut().zip(spilled.cells(code)) {
                    *width = (*width).max(cell.chars().count());
                }
                let mut line = serde_json::to_vec(&spilled)?;
                line.push(b'\n');
                self.spilled += line.len() as u64;
                if self.spilled > self.spill_limit {
                    return Err(io::Error::other(format!(
                        "the findings table would hold more than {} MiB: use -o ndjson, -o csv or --ids, which stream",
                        self.spill_limit >> 20
                    )));
                }
                let file = match self.groups.entry(code) {
                    std::collections::btree_map::Entry::Occupied(file) => file.into_mut(),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        let file = tempfile::tempfile().map_err(|e| {
                            io::Error::new(
                                e.kind(),
                                format!(
                                    "cannot make a temporary file for the findings table in {} ({e}): set TMPDIR to a writable directory, or use -o ndjson, -o csv or --ids, which stream",
                                    std::env::temp_dir().display()
                                ),
                            )
                        })?;
                        slot.insert(io::BufWriter::new(file))
                    }
                };
                file.write_all(&line)?;
            }
            Some(Output::Csv | Output::Openmetrics) => {}
        }
        self.written += 1;
        Ok(())
    }

    /// Ends an output that a failure cut short: what was written is
    /// flushed, and the table's rows so far are printed (unless a signal
    /// stopped it: `signals` is then `None`), but no JSON array is closed and
    /// no table gets its counts, so no reader takes it for a complete answer.
    fn abandon(mut self, signals: Option<&mut Signals>) {
        if self.stopped.is_some() {
            return;
        }
        if let Some(csv) = self.csv.take() {
            let _ = csv.abandon();
        } else if let Some(out) = &mut self.out {
            if let (Some(Output::Table), Some(signals)) = (self.format, signals)
                && !self.groups.is_empty()
            {
                let groups = std::mem::take(&mut self.groups);
                let _ = write_grouped(out, groups, self.header, self.widths, signals);
            }
            let _ = out.flush();
        }
    }

    /// Ends the output; why it stopped before its end, if it did.
    fn finish(mut self, tally: &Tally, g: &Global, signals: &mut Signals) -> Option<Stopped> {
        if self.stopped.is_none() {
            match self.end(tally, g, signals) {
                Ok(Some(signal)) => self.stopped = Some(Stopped::Signalled(signal)),
                Ok(None) => {}
                Err(e) => self.stop_on(Err(e)),
            }
        }
        self.stopped
    }

    /// Ends the output; a signal that came while the table was written, if
    /// one did (the table stops at the chunk it came in).
    fn end(
        &mut self,
        tally: &Tally,
        g: &Global,
        signals: &mut Signals,
    ) -> io::Result<Option<Signal>> {
        if let Some(csv) = self.csv.take() {
            return csv.finish().map(|()| None);
        }
        let Some(mut out) = self.out.take() else {
            return Ok(None);
        };
        match self.format {
            Some(Output::Json) => end_json_array(&mut out, self.written)?,
            Some(Output::Table) if !self.groups.is_empty() => {
                let groups = std::mem::take(&mut self.groups);
                let widths = self.widths;
                if let Some(signal) = write_grouped(&mut out, groups, self.header, widths, signals)?
                {
                    out.flush()?;
                    return Ok(Some(signal));
                }
                if !g.quiet && self.header {
                    writeln!(out)?;
                    for (code, n) in &tally.by_code {
                        writeln!(out, "{code}: {n}")?;
                    }
                }
            }
            _ => {}
        }
        out.flush().map(|()| None)
    }
}

/// The findings table, grouped by finding in report order and as listed
/// within each, read back from the groups' files a chunk at a time; every
/// chunk's columns are padded to the widest cells of the whole table.
/// A signal stops it between chunks: that signal.
fn write_grouped(
    out: &mut impl Write,
    groups: BTreeMap<FindingCode, io::BufWriter<std::fs::File>>,
    header: bool,
    widths: [usize; 6],
    signals: &mut Signals,
) -> io::Result<Option<Signal>> {
    let mut table = ChunkedTable::new(header.then_some(TABLE_HEADER), Some(widths));
    for (code, file) in groups {
        let mut file = file.into_inner().map_err(|e| e.into_error())?;
        file.seek(io::SeekFrom::Start(0))?;
        for line in io::BufReader::new(file).lines() {
            let r: Spilled = serde_json::from_str(&line?)?;
            table.push(r.cells(code));
            if table.is_full() {
                if let Some(signal) = signals.pending() {
                    return Ok(Some(signal));
                }
                table.write(out, false)?;
            }
        }
    }
    if let Some(signal) = signals.pending() {
        return Ok(Some(signal));
    }
    table.write(out, false).map(|()| None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fat_key(i: u32) -> ApiKeyInfo {
        serde_json::from_value(serde_json::json!({
            "id": format!("k-{i}"), "username": "u".repeat(10_000),
            "name": "n".repeat(100_000), "hint": "abcd",
            "created_at": "2026-01-01T00:00:00Z", "total_calls": 0,
            "is_active": true, "is_global_key": true
        }))
        .expect("a key")
    }

    #[test]
    fn the_table_spill_is_bounded_in_bytes_per_row_and_in_all() {
        let mut rows =
            RowWriter::new(io::sink(), Some(Output::Table), true, false).expect("a writer");
        rows.spill_limit = 1 << 20;
        let mut pushed = 0u32;
        while rows.stopped.is_none() && pushed < 100_000 {
            let mut finding = Policy::default()
                .with_require_expiry(true)
                .evaluate(&fat_key(pushed), Utc::now())
                .remove(0);
            finding.detail = "d".repeat(50_000);
            rows.push(Row::of(&fat_key(pushed), finding, None));
            pushed += 1;
        }
        // A row of some 110 KiB of text is cut to under 1 KiB before it
        // reaches the disk, so about a thousand fit in 1 MiB.
        assert!(pushed > 1_000, "{pushed} rows");
        assert!(rows.spilled <= (1 << 20) + 1024, "{}", rows.spilled);
        match &rows.stopped {
            Some(Stopped::Failed(e)) => {
                assert!(e.to_string().contains("-o ndjson"), "{e}");
            }
            _ => panic!("the cap stops the table"),
        }
    }
}
