//! The policy a command judges by: a TOML file naming only known rules,
//! the rule flags over it, or the recommended defaults.

use std::{io::Read, path::Path};

use h2ogpte_api_keys::policy::Policy;

use crate::{args::Rules, failure::Failure, signals::Signals, wait::unless_signalled};

/// Largest policy file read.
const MAX_POLICY_BYTES: u64 = 64 << 10;

/// [`load`] on a thread of its own: a FIFO or a slow disk may hold the
/// read, and a signal ends the wait.
pub async fn load_unless_signalled(
    file: Option<&Path>,
    rules: &Rules,
    signals: &mut Signals,
) -> Result<Policy, Failure> {
    let (file, rules) = (file.map(Path::to_owned), rules.clone());
    unless_signalled(signals, move || load(file.as_deref(), &rules)).await
}

/// The policy: the file's rules (or none), with the flags over them; the
/// recommended policy when neither says anything.
pub fn load(file: Option<&Path>, rules: &Rules) -> Result<Policy, Failure> {
    let mut policy = match file {
        Some(path) => read_policy(path)?,
        None if !rules.any() => return Ok(Policy::recommended()),
        None => Policy::default(),
    };
    for (key, value) in &rules.set {
        policy = policy.with_rule(key, *value).ok_or_else(|| {
            Failure::usage(format!(
                "--{}: not a rule of this version of the library",
                key
            ))
        })?;
    }
    Ok(policy)
}

/// The policy file's keys, as a sentence lists them: `a, b and c`.
fn policy_keys() -> String {
    let keys: Vec<&str> = Policy::RULES.iter().map(|rule| rule.key).collect();
    match keys.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// A policy file: TOML naming only known rules, each of its type.
fn read_policy(path: &Path) -> Result<Policy, Failure> {
    let name = path.display().to_string();
    let cannot = |e: &dyn std::fmt::Display| {
        Failure::usage(format!("cannot read the policy file {name}: {e}"))
    };
    let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
    let mut text = String::new();
    file.take(MAX_POLICY_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| cannot(&e))?;
    if text.len() as u64 > MAX_POLICY_BYTES {
        return Err(cannot(&format!(
            "it is larger than {} KiB",
            MAX_POLICY_BYTES >> 10
        )));
    }
    let invalid = |what: String| {
        Failure::usage(format!(
            "the policy file {name} is not a valid policy: {what}; its keys are {} and [[waiver]] tables (key or username, finding, until, reason)",
            policy_keys()
        ))
    };
    let document =
        toml::de::Deserializer::parse(&text).map_err(|e| invalid(e.message().to_owned()))?;
    // The path names the key whose value has the wrong type.
    serde_path_to_error::deserialize(document).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().message().to_owned();
        invalid(if path == "." || message.contains("unknown field") {
            message
        } else {
            format!("{path}: {message}")
        })
    })
}
