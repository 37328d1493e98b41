//! `context list|show|use`: the configuration file's contexts, never a key.

use std::io::Write;

use crate::{
    args::{ContextAction, Global, Output},
    context::{self, Context},
    failure::Failure,
    terminal::escape,
};

pub fn context(action: &ContextAction, g: &Global) -> Result<(), Failure> {
    let config = context::load()?;
    let current = context::current()?;
    let known = |name: &str| -> Result<&Context, Failure> {
        config.context.get(name).ok_or_else(|| {
            Failure::usage(format!(
                "no context {} in {}: `h2ogpte-keys context list` shows them",
                escape(name),
                file()
            ))
        })
    };
    let mut out = std::io::stdout().lock();
    match action {
        ContextAction::List => {
            if config.context.is_empty() && !g.quiet {
                crate::terminal::note(&format!("no contexts in {}", file()));
            }
            for (name, c) in &config.context {
                let mark = if current.as_deref() == Some(name) {
                    "*"
                } else {
                    " "
                };
                let row = describe(name, c);
                match g.output {
                    Output::Json | Output::Ndjson => writeln!(
                        out,
                        "{}",
                        serde_json::json!({"current": mark == "*", "name": name, "server_url": c.server_url, "api_key_from": row.2})
                    )?,
                    _ => writeln!(out, "{mark} {}  {}  {}", row.0, row.1, row.2)?,
                }
            }
        }
        ContextAction::Show { name } => {
            let name = match name
                .as_deref()
                .or(g.context.as_deref())
                .or(current.as_deref())
            {
                Some(name) => name.to_owned(),
                None => {
                    return Err(Failure::usage(
                        "no current context: name one, or `h2ogpte-keys context use NAME`",
                    ));
                }
            };
            let c = known(&name)?;
            let (name, server, from) = describe(&name, c);
            writeln!(out, "Context:  {name}")?;
            writeln!(out, "Server:   {server}")?;
            writeln!(out, "Key from: {from}")?;
            if let Some(ca) = &c.ca_cert {
                writeln!(out, "CA file:  {}", escape(&ca.display().to_string()))?;
            }
        }
        ContextAction::Use { name } => {
            known(name)?;
            context::set_current(name)?;
            if !g.quiet {
                crate::terminal::note(&format!("the current context is {}", escape(name)));
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Name, server and key source, escaped for a terminal.
fn describe(name: &str, c: &Context) -> (String, String, String) {
    (
        escape(name),
        escape(&c.server_url),
        escape(&c.key_source().unwrap_or_else(|why| why)),
    )
}

fn file() -> String {
    context::config_path().map_or_else(
        || "the configuration file (no XDG_CONFIG_HOME or HOME)".to_owned(),
        |p| escape(&p.display().to_string()),
    )
}
