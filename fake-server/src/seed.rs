//! Seed keys: a population read from a JSON file in the API's own
//! `APIKeyInfo` shape (plus `user_id`, and optionally `secret_key`), or
//! made up with a realistic spread of ages, use, expiries and states that a
//! seed number fixes.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde::Deserialize;

use crate::error::quote;

/// Largest seed file read, in bytes.
pub const MAX_SEED_FILE_BYTES: u64 = 256 << 20;

/// One key of a seed population: the fields of the spec's `APIKeyInfo`
/// (the server's own view, so `is_active: false` of a key that has not
/// expired means deactivated), the id of its user, and optionally its
/// secret, so tests can call the API with it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedKey {
    /// The key's id.
    pub id: String,
    /// Id of the key's user; the user is created if the server does not know it.
    pub user_id: String,
    /// The user's username.
    pub username: String,
    /// The key's name.
    pub name: String,
    /// Last four characters of the secret; taken from `secret_key` when that
    /// is given, made up otherwise.
    #[serde(default)]
    pub hint: Option<String>,
    /// The secret, for a key a test wants to authenticate with; random otherwise.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// When it was made: in the past.
    pub created_at: DateTime<Utc>,
    /// When it expires, if it does: after `created_at`.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used, if it was: between `created_at` and now.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Days it may go unused, between 1 and 36500.
    #[serde(default)]
    pub inactivity_interval: Option<i64>,
    /// Calls made with it.
    #[serde(default)]
    pub total_calls: Option<i64>,
    /// False for a deactivated key.
    pub is_active: bool,
    /// The collection it is restricted to; created (owned by `user_id`) if unknown.
    #[serde(default)]
    pub collection_id: Option<String>,
    /// The collection's name; required with `collection_id`.
    #[serde(default)]
    pub collection_name: Option<String>,
    /// Whether it is a global key; when given, it must agree with `collection_id`.
    #[serde(default)]
    pub is_global_key: Option<bool>,
}

/// Reads a seed file: a JSON array of [`SeedKey`] objects, one record at a
/// time, so memory holds the keys read and one record, whatever the file
/// holds (a non-object record is refused at once, and more than `max`
/// records too). Every error names the record (its position and id) and
/// the field.
pub fn parse(source: impl std::io::Read, name: &str, max: usize) -> Result<Vec<SeedKey>, String> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(source));
    let mut refused = None;
    let visitor = Records {
        name,
        max,
        refused: &mut refused,
    };
    let read = serde::Deserializer::deserialize_seq(&mut de, visitor).and_then(|keys| {
        de.end()?;
        Ok(keys)
    });
    match (read, refused) {
        (Ok(keys), _) => Ok(keys),
        // A record's own error, said as such rather than as the parser's.
        (Err(_), Some(why)) => Err(why),
        (Err(e), None) => Err(format!(
            "{name}: not a JSON array of key records: {}",
            e.to_string().escape_debug()
        )),
    }
}

/// Takes in a seed file's array a record at a time.
struct Records<'a> {
    name: &'a str,
    max: usize,
    /// Why a record was refused, in full (the parser's error only stops it).
    refused: &'a mut Option<String>,
}

impl<'de> serde::de::Visitor<'de> for Records<'_> {
    type Value = Vec<SeedKey>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of key records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let name = self.name;
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        let mut refuse = |why: String| {
            *self.refused = Some(why);
            <A::Error as serde::de::Error>::custom("refused")
        };
        while let Some(record) = seq.next_element::<serde_json::Value>()? {
            let i = keys.len();
            if i == self.max {
                return Err(refuse(format!(
                    "{name}: more than {} records: this in-memory server holds at most that many keys",
                    self.max
                )));
            }
            if !record.is_object() {
                return Err(refuse(format!(
                    "{name}: record {i} is not an object: each record is a key in the API's APIKeyInfo shape, with user_id"
                )));
            }
            let id = record.get("id").and_then(|v| v.as_str()).map_or_else(
                || "without an id".to_owned(),
                |id| format!("id \"{}\"", quote(id)),
            );
            let at = |what: String| format!("{name}: record {i} ({id}): {what}");
            let key: SeedKey = match serde_path_to_error::deserialize(record) {
                Ok(key) => key,
                Err(e) => {
                    let path = e.path().to_string();
                    let field = if path == "." {
                        String::new()
                    } else {
                        format!("{path}: ")
                    };
                    // The path and the message may quote the file: escaped.
                    return Err(refuse(at(format!("{field}{}", e.inner())
                        .escape_debug()
                        .to_string())));
                }
            };
            if let Err(why) = key.check() {
                return Err(refuse(at(why)));
            }
            if !seen.insert(key.id.clone()) {
                return Err(refuse(at(
                    "a second key with this id: ids must be unique".to_owned()
                )));
            }
            keys.push(key);
        }
        Ok(keys)
    }
}

impl SeedKey {
    /// What the record itself contradicts, before it meets the server's
    /// users, collections and clock.
    fn check(&self) -> Result<(), String> {
        for (field, value) in [
            ("id", &self.id),
            ("user_id", &self.user_id),
            ("username", &self.username),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{field} must not be empty"));
            }
        }
        if self.expires_at.is_some_and(|at| at <= self.created_at) {
            return Err("expires_at must be after created_at".to_owned());
        }
        if self.last_used_at.is_some_and(|at| at < self.created_at) {
            return Err("last_used_at must not be before created_at".to_owned());
        }
        if let Some(days) = self.inactivity_interval
            && !(1..=crate::model::MAX_INACTIVITY_DAYS).contains(&days)
        {
            return Err(format!(
                "inactivity_interval must be between 1 and {} days, not {days}",
                crate::model::MAX_INACTIVITY_DAYS
            ));
        }
        if self.total_calls.is_some_and(|n| n < 0) {
            return Err("total_calls must not be negative".to_owned());
        }
        if self.collection_id.is_some() != self.collection_name.is_some() {
            return Err("collection_id and collection_name come together".to_owned());
        }
        if self
            .is_global_key
            .is_some_and(|global| global == self.collection_id.is_some())
        {
            return Err(
                "is_global_key must be true exactly when there is no collection_id".to_owned(),
            );
        }
        if let Some(secret) = &self.secret_key {
            if secret.trim().is_empty() || secret.chars().any(char::is_whitespace) {
                return Err("secret_key must be non-empty and hold no whitespace".to_owned());
            }
            let tail = crate::secret::hint(secret);
            if self.hint.as_deref().is_some_and(|hint| hint != tail) {
                return Err("hint must be the last four characters of secret_key".to_owned());
            }
        }
        Ok(())
    }

    /// Times that must be in the past at `now`.
    pub(crate) fn check_past(&self, now: DateTime<Utc>) -> Result<(), String> {
        if self.created_at > now {
            return Err("created_at is in the future".to_owned());
        }
        if self.last_used_at.is_some_and(|at| at > now) {
            return Err("last_used_at is in the future".to_owned());
        }
        Ok(())
    }
}

/// The share of a spread population with each trait, in percent.
const NEVER_USED: u32 = 20;
const NO_EXPIRY: u32 = 30;
const DEACTIVATED: u32 = 10;
const WITH_INACTIVITY: u32 = 40;
/// Lifetimes of the keys that expire, in days.
const LIFETIMES: [i64; 5] = [30, 90, 180, 365, 730];
/// How far back the oldest key was made.
const SPAN_DAYS: i64 = 730;

/// How many service accounts a spread population's keys belong to.
const SPREAD_USERS: u32 = 25;
/// The share of a spread population restricted to a collection, in percent.
const IN_COLLECTION: u32 = 30;

/// `n` keys named `seed 0`, `seed 1`, … made over the two years before
/// `now`, in that order, fixed by `seed`, spread over 25 users
/// (`u-seed-01` … `u-seed-25`, named `svc-01` …), three in ten restricted
/// to one of their user's two collections: a fifth never used, the others
/// last used between their creation and now, never after they expired;
/// three in ten without expiry, the others living 30 days to two years (so
/// some have expired); one in ten deactivated; four in ten with an
/// inactivity interval of 30, 60 or 90 days (so some went idle).
pub fn spread(n: u32, seed: u64, now: DateTime<Utc>) -> Vec<SeedKey> {
    let mut rng = StdRng::seed_from_u64(seed);
    let span = TimeDelta::days(SPAN_DAYS).num_seconds();
    let step = (span / i64::from(n.max(1))).max(1);
    let start = now - TimeDelta::days(SPAN_DAYS);
    (0..n)
        .map(|i| {
            // In index order: list order is creation order, so `seed 0`
            // still comes first.
            let offset = i64::from(i) * step + rng.random_range(0..step);
            let created_at = (start + TimeDelta::seconds(offset)).min(now);
            let used = !rng.random_ratio(NEVER_USED, 100);
            let expires_at = (!rng.random_ratio(NO_EXPIRY, 100)).then(|| {
                created_at + TimeDelta::days(LIFETIMES[rng.random_range(0..LIFETIMES.len())])
            });
            // Used only while it worked: before its expiry, if that passed.
            let used_until = expires_at.map_or(now, |at| at.min(now));
            let last_used_at = used.then(|| {
                let since = (used_until - created_at).num_seconds().max(0);
                created_at + TimeDelta::seconds(rng.random_range(0..=since))
            });
            let inactivity_interval = rng
                .random_ratio(WITH_INACTIVITY, 100)
                .then(|| [30, 60, 90][rng.random_range(0..3)]);
            let total_calls = last_used_at.map_or(0, |_| rng.random_range(1..100_000));
            let is_active = !rng.random_ratio(DEACTIVATED, 100);
            let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
            let user = i % SPREAD_USERS + 1;
            let collection = rng.random_ratio(IN_COLLECTION, 100).then(|| {
                let k = rng.random_range(1..=2);
                (
                    format!("c-seed-{user:02}-{k}"),
                    format!("svc-{user:02} collection {k}"),
                )
            });
            let (collection_id, collection_name) = collection.unzip();
            SeedKey {
                id: id.to_string(),
                user_id: format!("u-seed-{user:02}"),
                username: format!("svc-{user:02}"),
                name: format!("seed {i}"),
                hint: None,
                secret_key: None,
                created_at,
                expires_at,
                last_used_at,
                inactivity_interval,
                total_calls: Some(total_calls),
                is_active,
                collection_id,
                collection_name,
                is_global_key: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(extra: &str) -> String {
        format!(
            r#"[{{"id": "k-1", "user_id": "u-1", "username": "alice", "name": "svc",
                 "created_at": "2025-01-01T00:00:00Z", "is_active": true{extra}}}]"#
        )
    }

    #[test]
    fn a_minimal_record_reads() {
        let keys = parse(record("").as_bytes(), "seed.json", 10).expect("a record");
        assert_eq!(keys[0].username, "alice");
    }

    #[test]
    fn errors_name_the_record_and_the_field() {
        for (extra, says) in [
            (r#", "colour": "red""#, "unknown field `colour`"),
            (r#", "expires_at": "tomorrow""#, "expires_at"),
            (
                r#", "expires_at": "2024-01-01T00:00:00Z""#,
                "after created_at",
            ),
            (r#", "collection_id": "c-1""#, "come together"),
            (r#", "inactivity_interval": 0"#, "between 1 and"),
            (
                r#", "secret_key": "sk-abcdef", "hint": "zzzz""#,
                "last four",
            ),
        ] {
            let e = parse(record(extra).as_bytes(), "seed.json", 10).expect_err(extra);
            assert!(e.starts_with("seed.json: record 0 (id \"k-1\")"), "{e}");
            assert!(e.contains(says), "{extra}: {e}");
        }
        let twice = r#"[{"id": "k-1", "user_id": "u", "username": "a", "name": "", "created_at": "2025-01-01T00:00:00Z", "is_active": true},
                        {"id": "k-1", "user_id": "u", "username": "a", "name": "", "created_at": "2025-01-01T00:00:00Z", "is_active": true}]"#;
        let e = parse(twice.as_bytes(), "f", 10).expect_err("duplicate id");
        assert!(e.contains("record 1") && e.contains("unique"), "{e}");
    }

    #[test]
    fn a_record_that_is_not_an_object_or_one_too_many_stops_the_read_at_once() {
        let e = parse(&b"[0,0,0]"[..], "f", 10).expect_err("not objects");
        assert!(e.contains("record 0 is not an object"), "{e}");
        let three = format!(
            "[{},{},{}]",
            &record("")[1..record("").len() - 1],
            "{}",
            "{}"
        );
        let e = parse(three.as_bytes(), "f", 1).expect_err("too many");
        assert!(e.contains("more than 1 records"), "{e}");
        let e = parse(&b"[] trailing"[..], "f", 1).expect_err("not JSON after the array");
        assert!(e.contains("not a JSON array"), "{e}");
        assert_eq!(parse(&b" [ ] "[..], "f", 1), Ok(Vec::new()));
    }

    #[test]
    fn a_value_quoted_in_an_error_is_escaped() {
        let text = r#"[{"id": "k-1", "user_id": "u", "username": "a", "name": "",
                       "created_at": "2025-01-01T00:00:00Z", "is_active": true, "\u001b[31m": 1}]"#;
        let e = parse(text.as_bytes(), "f", 10).expect_err("an unknown field");
        assert!(!e.contains('\u{1b}') && e.contains("\\u{1b}"), "{e}");
    }

    #[test]
    fn a_spread_is_fixed_by_its_seed_and_has_every_kind_of_key() {
        let now = Utc::now();
        let a = spread(2000, 7, now);
        assert_eq!(a, spread(2000, 7, now));
        assert_ne!(a, spread(2000, 8, now));
        let users: HashSet<&str> = a.iter().map(|k| k.user_id.as_str()).collect();
        assert_eq!(users.len(), 25, "several users");
        let in_collection = a.iter().filter(|k| k.collection_id.is_some()).count();
        assert!(
            (400..800).contains(&in_collection),
            "{in_collection} in a collection"
        );
        assert!(
            a.iter().all(|k| k
                .last_used_at
                .is_none_or(|used| k.expires_at.is_none_or(|at| used <= at))),
            "never used after it expired"
        );
        assert!(a.windows(2).all(|w| w[0].created_at <= w[1].created_at));
        assert!(
            a.iter()
                .all(|k| k.check().is_ok() && k.check_past(now).is_ok())
        );
        let count = |f: &dyn Fn(&SeedKey) -> bool| a.iter().filter(|k| f(k)).count();
        assert!(count(&|k| k.last_used_at.is_none()) > 200);
        assert!(count(&|k| k.expires_at.is_none()) > 400);
        assert!(count(&|k| k.expires_at.is_some_and(|at| at <= now)) > 200);
        assert!(count(&|k| !k.is_active) > 100);
        assert!(count(&|k| now - k.created_at > TimeDelta::days(365)) > 800);
    }
}
