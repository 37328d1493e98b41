//! `plan`: the library's plan ([`Policy::plan`](h2ogpte_api_keys::policy::Policy))
//! of every key (or those of `--filter`), printed, and saved with `--out`
//! for `apply`; it changes nothing.

use chrono::Utc;
use h2ogpte_api_keys::Client;
use serde::Serialize;

use crate::{
    args::{Global, Output, PlanArgs},
    failure::Failure,
    output::{print_results, whole_table, write_ndjson},
    plan_file::{PlanFile, detail},
    signals::Signals,
    state_dir::peek_journal,
    terminal::{escape, note},
    wait::interruptible,
};

/// One key's row, as printed.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    username: String,
    name: String,
    findings: String,
    action: &'static str,
    detail: String,
}

const COLUMNS: [&str; 6] = ["id", "username", "name", "findings", "action", "detail"];

pub async fn plan(
    client: &Client,
    args: &PlanArgs,
    g: &Global,
    signals: &mut Signals,
) -> Result<(), Failure> {
    let policy =
        crate::policy_file::load_unless_signalled(args.policy.as_deref(), &args.rules, signals)
            .await?;
    let query = crate::lookup::query(args.filter.as_deref(), args.user.as_deref());
    let keys = interruptible(signals, async {
        client
            .collect_all_api_keys(&query)
            .await
            .map_err(|e| Failure::from_error(&e, g.timeout))
    })
    .await?;
    let memory = peek_journal(client, g).unwrap_or_else(|e| {
        note(&format!(
            "the rotation journal was not read ({}): rotations in progress and retiring keys are not known",
            e.message
        ));
        Default::default()
    });
    let own = crate::lookup::protected_ids(client, &keys, g);
    let now = Utc::now();
    let rows = policy.plan(&keys, &memory, &own, now);
    let printed: Vec<Row> = rows
        .iter()
        .map(|r| Row {
            id: r.key.id.clone(),
            username: r.key.username.clone(),
            name: r.key.name.clone(),
            findings: r
                .findings
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            action: r.action.as_str(),
            detail: detail(&r.action),
        })
        .collect();
    let server = client.base_url().as_str();
    if let Some(out) = &args.out {
        PlanFile::new(server, now, rows.clone()).save(out)?;
    }
    if g.output == Output::Ndjson {
        let mut out = std::io::stdout().lock();
        for row in &printed {
            write_ndjson(&mut out, row)?;
        }
    }
    print_results(&printed, g, &COLUMNS, |rows| {
        let cells = rows
            .iter()
            .map(|r| {
                [
                    escape(&r.id),
                    escape(&r.username),
                    escape(&r.name),
                    r.findings.clone(),
                    r.action.to_owned(),
                    escape(&r.detail),
                ]
            })
            .collect();
        whole_table(
            ["ID", "USERNAME", "NAME", "FINDINGS", "ACTION", "DETAIL"],
            cells,
            !g.no_headers,
        )
    })?;
    if !g.quiet {
        let changes = rows.iter().filter(|r| r.action.changes()).count();
        note(&format!(
            "plan for {}: {} key(s), {changes} to change{}",
            escape(server),
            rows.len(),
            match &args.out {
                Some(out) => format!(
                    "; saved to {} (apply it with `h2ogpte-keys apply {}`)",
                    escape(&out.display().to_string()),
                    escape(&out.display().to_string())
                ),
                None => String::new(),
            }
        ));
    }
    Ok(())
}
