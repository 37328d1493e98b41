//! `--user-map`: the user id of each username, which the API does not list
//! but a create needs. CSV rows `username,user_id` (a header row of those
//! words is skipped) or, in a `.toml` file, `username = "user_id"`.

use std::{collections::HashMap, io::Read, path::Path};

use crate::{failure::Failure, terminal::escape};

/// Largest map read.
const MAX_BYTES: u64 = 16 << 20;

/// Usernames to user ids.
#[derive(Debug, Default)]
pub struct UserMap {
    ids: HashMap<String, String>,
}

impl UserMap {
    /// Reads a map file: TOML when its name ends in `.toml`, else CSV.
    pub fn read(path: &Path) -> Result<Self, Failure> {
        let shown = escape(&path.display().to_string());
        let mut bytes = Vec::new();
        crate::regular::open(path)
            .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| Failure::usage(format!("--user-map {shown}: {e}")))?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(Failure::usage(format!(
                "--user-map {shown} is larger than {} MiB",
                MAX_BYTES >> 20
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| Failure::usage(format!("--user-map {shown} is not UTF-8 text")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let toml = path.extension().is_some_and(|e| e == "toml");
        let pairs = if toml {
            from_toml(text)
        } else {
            from_csv(text)
        }
        .map_err(|e| Failure::usage(format!("--user-map {shown}: {e}")))?;
        let mut ids = HashMap::new();
        for (username, id) in pairs {
            if username.is_empty() || id.is_empty() {
                return Err(Failure::usage(format!(
                    "--user-map {shown}: an empty username or user id (for {:?})",
                    escape(&username)
                )));
            }
            if let Some(before) = ids.insert(username.clone(), id.clone())
                && before != id
            {
                return Err(Failure::usage(format!(
                    "--user-map {shown} gives user {} two ids ({} and {}): keep the right one",
                    escape(&username),
                    escape(&before),
                    escape(&id)
                )));
            }
        }
        Ok(Self { ids })
    }

    /// The id of `username`, if the map has it.
    pub fn get(&self, username: &str) -> Option<&str> {
        self.ids.get(username).map(String::as_str)
    }
}

fn from_toml(text: &str) -> Result<Vec<(String, String)>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not TOML: {}", escape(e.message())))?;
    table
        .into_iter()
        .map(|(username, id)| match id {
            toml::Value::String(id) => Ok((username, id)),
            _ => Err(format!(
                "the value of {} is not a string: write {} = \"USER_ID\"",
                escape(&username),
                escape(&username)
            )),
        })
        .collect()
}

fn from_csv(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut pairs = Vec::new();
    for (at, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("not CSV: {e}"))?;
        let line = row.position().map_or(at as u64 + 1, |p| p.line());
        match (row.get(0), row.get(1), row.len()) {
            (Some("username"), Some("user_id"), 2) if at == 0 => {}
            (Some(username), Some(id), 2) => pairs.push((username.to_owned(), id.to_owned())),
            _ => {
                return Err(format!(
                    "line {line} is not `username,user_id` ({} fields)",
                    row.len()
                ));
            }
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_toml_give_the_same_map() {
        let csv = from_csv("username,user_id\nalice, u-1\n# note\nbob,u-2\n").expect("csv");
        let toml = from_toml("alice = \"u-1\"\nbob = \"u-2\"\n").expect("toml");
        let sorted = |mut v: Vec<(String, String)>| {
            v.sort();
            v
        };
        assert_eq!(sorted(csv), sorted(toml));
        assert!(from_csv("alice,u-1,extra\n").is_err());
        assert!(from_toml("alice = 3\n").is_err());
    }
}
