//! Waivers: a finding a policy lets stand for one key, or for one user's
//! keys, until a date and for a reason; once the date has passed the
//! finding is back, with a finding of its own saying the waiver ended.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Finding, FindingCode, Remedy};
use crate::types::ApiKeyInfo;

/// One finding let stand, as a policy file's `[[waiver]]` gives it:
///
/// ```toml
/// [[waiver]]
/// username = "svc-legacy-etl"      # or key = "<key id>"
/// finding = "global-key"
/// until = 2027-03-31               # required: a waiver ends
/// reason = "vendor cannot take a scoped key before its Q1 release"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WaiverFields", deny_unknown_fields)]
#[non_exhaustive]
pub struct Waiver {
    /// The key's id, exactly; or `username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Every key of this user, exactly; or `key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The finding let stand.
    pub finding: FindingCode,
    /// The last day (UTC) it is let stand.
    pub until: NaiveDate,
    /// Why, for whoever reads the report.
    pub reason: String,
}

/// A waiver as written, before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFields {
    key: Option<String>,
    username: Option<String>,
    finding: FindingCode,
    #[serde(deserialize_with = "date")]
    until: NaiveDate,
    reason: String,
}

/// A date as JSON or YAML give it (`"2027-03-31"`) or as TOML does (a
/// bare `2027-03-31`, which its deserialiser hands over as a one-entry
/// map holding the text).
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    use serde::de::{self, MapAccess, Visitor};
    struct Date;
    impl<'de> Visitor<'de> for Date {
        type Value = NaiveDate;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a date, such as 2027-03-31")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<NaiveDate, E> {
            text.parse()
                .map_err(|_| E::custom(format!("{text:?} is not a date such as 2027-03-31")))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NaiveDate, A::Error> {
            match map.next_entry::<String, String>()? {
                Some((_, text)) => self.visit_str(&text),
                None => Err(de::Error::custom("expected a date, such as 2027-03-31")),
            }
        }
    }
    d.deserialize_any(Date)
}

impl TryFrom<WaiverFields> for Waiver {
    type Error = String;

    fn try_from(w: WaiverFields) -> Result<Self, String> {
        if w.key.is_some() == w.username.is_some() {
            return Err(format!(
                "a waiver of {} names either a key or a username, exactly one",
                w.finding
            ));
        }
        if w.reason.trim().is_empty() {
            return Err(format!("a waiver of {} needs a reason", w.finding));
        }
        Ok(Waiver {
            key: w.key,
            username: w.username,
            finding: w.finding,
            until: w.until,
            reason: w.reason,
        })
    }
}

impl Waiver {
    /// A waiver of `finding` for the key with id `key`, until `until`.
    pub fn for_key(key: &str, finding: FindingCode, until: NaiveDate, reason: &str) -> Self {
        Self {
            key: Some(key.to_owned()),
            username: None,
            finding,
            until,
            reason: reason.to_owned(),
        }
    }

    /// A waiver of `finding` for every key of `username`, until `until`.
    pub fn for_user(username: &str, finding: FindingCode, until: NaiveDate, reason: &str) -> Self {
        Self {
            key: None,
            username: Some(username.to_owned()),
            finding,
            until,
            reason: reason.to_owned(),
        }
    }

    /// Whether it speaks of `key`'s `finding`.
    pub fn covers(&self, key: &ApiKeyInfo, finding: FindingCode) -> bool {
        self.finding == finding
            && (self.key.as_deref() == Some(key.id.as_str())
                || self.username.as_deref() == Some(key.username.as_str()))
    }

    /// Whether it still holds at `now` (through its last day, UTC).
    pub fn holds(&self, now: DateTime<Utc>) -> bool {
        now.date_naive() <= self.until
    }
}

/// The waiver of `waivers` that speaks of `key`'s `finding` and lasts
/// longest.
pub(crate) fn waiver_for<'a>(
    waivers: &'a [Waiver],
    key: &ApiKeyInfo,
    finding: FindingCode,
) -> Option<&'a Waiver> {
    waivers
        .iter()
        .filter(|w| w.covers(key, finding))
        .max_by_key(|w| w.until)
}

/// `found` with the findings a waiver holds for dropped, and each finding
/// whose waiver ended joined by a [`FindingCode::WaiverExpired`].
pub(crate) fn waive(
    waivers: &[Waiver],
    key: &ApiKeyInfo,
    found: Vec<Finding>,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    if waivers.is_empty() {
        return found;
    }
    let mut kept = Vec::with_capacity(found.len());
    let mut ended = Vec::new();
    for finding in found {
        match waiver_for(waivers, key, finding.code) {
            Some(w) if w.holds(now) => {}
            Some(w) => {
                ended.push(Finding {
                    code: FindingCode::WaiverExpired,
                    remedy: Remedy::Review,
                    detail: format!(
                        "the waiver of {} ended on {} ({}): renew it in the policy, or clear the finding",
                        finding.code, w.until, w.reason
                    ),
                    days: Some((now.date_naive() - w.until).num_days()),
                    limit_days: None,
                });
                kept.push(finding);
            }
            None => kept.push(finding),
        }
    }
    kept.extend(ended);
    kept
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::super::{FindingCode, Policy};

    fn policy(text: &str) -> Result<Policy, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    const RULES: &str = "max_age_days = 90\nforbid_global_keys = true\n";

    fn key(username: &str) -> crate::types::ApiKeyInfo {
        let created = chrono::Utc::now() - TimeDelta::days(200);
        serde_json::from_value(serde_json::json!({
            "id": "k-1", "username": username, "name": "n", "hint": "abcd",
            "created_at": created, "total_calls": 1, "last_used_at": created,
            "is_active": true, "is_global_key": false, "collection_id": "c"
        }))
        .expect("a key")
    }

    #[test]
    fn a_waiver_lets_a_finding_stand_until_its_day_then_says_it_ended() {
        let now = chrono::Utc::now();
        let today = now.date_naive();
        let holding = policy(&format!(
            "{RULES}[[waiver]]\nusername = \"svc\"\nfinding = \"too-old\"\nuntil = {today}\nreason = \"migration\"\n"
        ))
        .expect("a policy");
        assert!(holding.evaluate(&key("svc"), now).is_empty(), "waived");
        assert_eq!(
            holding.evaluate(&key("svc-2"), now).len(),
            1,
            "the exact user only"
        );
        let waived = holding.waived(&key("svc"), FindingCode::TooOld, now);
        assert_eq!(waived.map(|w| w.until), Some(today));

        let ended = policy(&format!(
            "{RULES}[[waiver]]\nkey = \"k-1\"\nfinding = \"too-old\"\nuntil = {}\nreason = \"migration\"\n",
            today - TimeDelta::days(1)
        ))
        .expect("a policy");
        let codes: Vec<FindingCode> = ended
            .evaluate(&key("svc"), now)
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, [FindingCode::TooOld, FindingCode::WaiverExpired]);
        assert!(
            ended
                .waived(&key("svc"), FindingCode::TooOld, now)
                .is_none()
        );
    }

    #[test]
    fn a_waiver_must_say_whom_until_when_and_why() {
        let base = "[[waiver]]\nfinding = \"too-old\"\n";
        for (text, expected) in [
            (format!("{base}until = 2027-01-01\nreason = \"r\"\n"), "exactly one"),
            (
                format!("{base}key = \"k\"\nusername = \"u\"\nuntil = 2027-01-01\nreason = \"r\"\n"),
                "exactly one",
            ),
            (format!("{base}key = \"k\"\nreason = \"r\"\n"), "until"),
            (format!("{base}key = \"k\"\nuntil = 2027-01-01\nreason = \" \"\n"), "reason"),
            (format!("{base}key = \"k\"\nuntil = 2027-01-01\n"), "reason"),
            (
                "[[waiver]]\nkey = \"k\"\nfinding = \"too-late\"\nuntil = 2027-01-01\nreason = \"r\"\n"
                    .to_owned(),
                "too-late",
            ),
        ] {
            let err = policy(&text).expect_err(&text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
