//! Key policy: which keys break an organisation's rules (no expiry, too old,
//! unused, …), judged from one key and a reference time alone, with no I/O,
//! so an audit costs what listing the keys costs.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::types::ApiKeyInfo;
mod waiver;
pub use waiver::Waiver;

/// The rules a key is held to. Each rule is off unless set; a policy read
/// from a file (TOML, JSON, …) names only the rules it wants, and an unknown
/// name is an error. [`Policy::recommended`] is a sensible start.
///
/// The struct is `#[non_exhaustive]`, so a new rule is not a breaking
/// change: build one from [`Policy::recommended`] or [`Policy::default`]
/// with the `with_*` methods.
///
/// ```
/// use h2ogpte_api_keys::chrono::Utc;
/// use h2ogpte_api_keys::policy::{FindingCode, Policy};
/// # fn demo(key: &h2ogpte_api_keys::types::ApiKeyInfo) {
/// let policy = Policy::recommended().with_max_age_days(Some(30));
/// for finding in policy.evaluate(key, Utc::now()) {
///     if finding.code == FindingCode::TooOld {
///         println!("{}: {}", key.id, finding.detail);
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// Active keys must expire ([`FindingCode::NoExpiry`]).
    pub require_expiry: bool,
    /// Active keys may live at most this many days from creation to expiry;
    /// a key without expiry lives too long ([`FindingCode::LifetimeTooLong`]).
    pub max_lifetime_days: Option<u32>,
    /// Active keys created more than this many days ago are due for rotation
    /// ([`FindingCode::TooOld`]).
    pub max_age_days: Option<u32>,
    /// Active keys not used for more than this many days, or never used and
    /// created more than this many days ago ([`FindingCode::Unused`]).
    pub unused_for_days: Option<u32>,
    /// Active keys that expire within this many days
    /// ([`FindingCode::ExpiringSoon`]).
    pub expiring_within_days: Option<u32>,
    /// Active keys must have an inactivity interval
    /// ([`FindingCode::NoInactivityInterval`]).
    pub require_inactivity_interval: bool,
    /// Active keys must be restricted to a collection
    /// ([`FindingCode::GlobalKey`]).
    pub forbid_global_keys: bool,
    /// Inactive or expired keys created more than this many days ago should
    /// be deleted ([`FindingCode::InactiveNotDeleted`]).
    pub inactive_for_days: Option<u32>,
    /// Findings let stand, each for a key or a user's keys, until a date
    /// (`[[waiver]]` in a policy file). An ended waiver is a finding of its
    /// own ([`FindingCode::WaiverExpired`]).
    #[serde(rename = "waiver", skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<Waiver>,
}

/// One rule of a [`Policy`], as tools name, describe and set it: the key a
/// policy file gives it (the field's name), what it asks, and what it
/// takes. [`Policy::RULES`] lists them all, in the order tools show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rule {
    /// The rule's key in a policy file, such as `max_age_days`.
    pub key: &'static str,
    /// What it asks of a key, with the finding code it raises, as one
    /// sentence without its final period (as help lines are); a rule of
    /// days says `DAYS`.
    pub help: &'static str,
    /// Whether it is on or off, or a number of days.
    pub kind: RuleKind,
}

/// What a [`Rule`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleKind {
    /// On or off.
    Switch,
    /// A number of days, or off.
    Days,
}

/// The value of one rule in a policy: on or off, or a number of days (off
/// when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleValue {
    /// A [`RuleKind::Switch`] rule's value.
    Switch(bool),
    /// A [`RuleKind::Days`] rule's value.
    Days(Option<u32>),
}

impl RuleValue {
    /// Whether the rule is on.
    pub fn is_on(self) -> bool {
        matches!(self, RuleValue::Switch(true) | RuleValue::Days(Some(_)))
    }
}

impl std::fmt::Display for RuleValue {
    /// As a policy file writes it: `true`, `90`; `false` or `off` when off.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleValue::Switch(on) => write!(f, "{on}"),
            RuleValue::Days(Some(days)) => write!(f, "{days}"),
            RuleValue::Days(None) => f.write_str("off"),
        }
    }
}

impl Policy {
    /// Every rule, in the order tools show them.
    pub const RULES: &'static [Rule] = &[
        Rule {
            key: "require_expiry",
            help: "Active keys must expire (no-expiry)",
            kind: RuleKind::Switch,
        },
        Rule {
            key: "max_lifetime_days",
            help: "Active keys may live at most DAYS from creation to expiry (lifetime-too-long)",
            kind: RuleKind::Days,
        },
        Rule {
            key: "max_age_days",
            help: "Active keys created more than DAYS ago are due for rotation (too-old)",
            kind: RuleKind::Days,
        },
        Rule {
            key: "unused_for_days",
            help: "Active keys not used for more than DAYS, or never used and created more than DAYS ago (unused; servers since 1.7.0)",
            kind: RuleKind::Days,
        },
        Rule {
            key: "expiring_within_days",
            help: "Active keys that expire within DAYS (expiring-soon)",
            kind: RuleKind::Days,
        },
        Rule {
            key: "require_inactivity_interval",
            help: "Active keys must have an inactivity interval (no-inactivity-interval)",
            kind: RuleKind::Switch,
        },
        Rule {
            key: "forbid_global_keys",
            help: "Active keys must be restricted to a collection (global-key)",
            kind: RuleKind::Switch,
        },
        Rule {
            key: "inactive_for_days",
            help: "Inactive or expired keys created more than DAYS ago should be deleted (inactive-not-deleted)",
            kind: RuleKind::Days,
        },
    ];

    /// The value of the rule named `key` ([`Rule::key`]) in this policy, or
    /// `None` for a name that is no rule.
    pub fn rule(&self, key: &str) -> Option<RuleValue> {
        use RuleValue::{Days, Switch};
        Some(match key {
            "require_expiry" => Switch(self.require_expiry),
            "max_lifetime_days" => Days(self.max_lifetime_days),
            "max_age_days" => Days(self.max_age_days),
            "unused_for_days" => Days(self.unused_for_days),
            "expiring_within_days" => Days(self.expiring_within_days),
            "require_inactivity_interval" => Switch(self.require_inactivity_interval),
            "forbid_global_keys" => Switch(self.forbid_global_keys),
            "inactive_for_days" => Days(self.inactive_for_days),
            _ => return None,
        })
    }

    /// This policy with the rule named `key` set to `value`; `None` when
    /// `key` is no rule or `value` is of the other kind.
    pub fn with_rule(mut self, key: &str, value: RuleValue) -> Option<Self> {
        use RuleValue::{Days, Switch};
        match (key, value) {
            ("require_expiry", Switch(on)) => self.require_expiry = on,
            ("max_lifetime_days", Days(days)) => self.max_lifetime_days = days,
            ("max_age_days", Days(days)) => self.max_age_days = days,
            ("unused_for_days", Days(days)) => self.unused_for_days = days,
            ("expiring_within_days", Days(days)) => self.expiring_within_days = days,
            ("require_inactivity_interval", Switch(on)) => self.require_inactivity_interval = on,
            ("forbid_global_keys", Switch(on)) => self.forbid_global_keys = on,
            ("inactive_for_days", Days(days)) => self.inactive_for_days = days,
            _ => return None,
        }
        Some(self)
    }

    /// The policy `h2ogpte-keys audit` applies when given no rules: keys
    /// expire, live at most a year, are rotated within 90 days (as the CIS
    /// benchmark asks of cloud credentials), are not left unused for 90
    /// days, and are deleted 30 days after they stopped working; a key
    /// expiring within 7 days is reported so it can be rotated in time.
    pub fn recommended() -> Self {
        Self {
            require_expiry: true,
            max_lifetime_days: Some(365),
            max_age_days: Some(90),
            unused_for_days: Some(90),
            expiring_within_days: Some(7),
            require_inactivity_interval: false,
            forbid_global_keys: false,
            inactive_for_days: Some(30),
            waivers: Vec::new(),
        }
    }

    /// This policy with [`require_expiry`](Self::require_expiry) set.
    pub fn with_require_expiry(mut self, on: bool) -> Self {
        self.require_expiry = on;
        self
    }

    /// This policy with [`max_lifetime_days`](Self::max_lifetime_days) set.
    pub fn with_max_lifetime_days(mut self, days: Option<u32>) -> Self {
        self.max_lifetime_days = days;
        self
    }

    /// This policy with [`max_age_days`](Self::max_age_days) set.
    pub fn with_max_age_days(mut self, days: Option<u32>) -> Self {
        self.max_age_days = days;
        self
    }

    /// This policy with [`unused_for_days`](Self::unused_for_days) set.
    pub fn with_unused_for_days(mut self, days: Option<u32>) -> Self {
        self.unused_for_days = days;
        self
    }

    /// This policy with [`expiring_within_days`](Self::expiring_within_days) set.
    pub fn with_expiring_within_days(mut self, days: Option<u32>) -> Self {
        self.expiring_within_days = days;
        self
    }

    /// This policy with
    /// [`require_inactivity_interval`](Self::require_inactivity_interval) set.
    pub fn with_require_inactivity_interval(mut self, on: bool) -> Self {
        self.require_inactivity_interval = on;
        self
    }

    /// This policy with [`forbid_global_keys`](Self::forbid_global_keys) set.
    pub fn with_forbid_global_keys(mut self, on: bool) -> Self {
        self.forbid_global_keys = on;
        self
    }

    /// This policy with [`inactive_for_days`](Self::inactive_for_days) set.
    pub fn with_inactive_for_days(mut self, days: Option<u32>) -> Self {
        self.inactive_for_days = days;
        self
    }

    /// Whether no rule is set, so no key can break it.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Every rule `key` breaks at `now`, in the order of [`FindingCode::ALL`].
    ///
    /// A server before h2oGPTe 1.7.0 reports neither last use nor
    /// inactivity intervals (its keys have no `total_calls`): then
    /// [`FindingCode::Unused`] and [`FindingCode::NoInactivityInterval`]
    /// are not guessed, and [`reports_last_use`] says so.
    pub fn evaluate(&self, key: &ApiKeyInfo, now: DateTime<Utc>) -> Vec<Finding> {
        self.evaluate_seen_inactive(key, now, None)
    }

    /// [`evaluate`](Self::evaluate), for a caller that remembers when it
    /// first saw `key` inactive (an audit that keeps state between runs, as
    /// Kubernetes' token cleaner labels a token `invalid-since`): a
    /// deactivated key, whose moment the API does not give, is judged by
    /// [`FindingCode::InactiveNotDeleted`] from `first_seen_inactive`. Keys
    /// whose moment the API gives (expired, idle) are judged by it alone.
    pub fn evaluate_seen_inactive(
        &self,
        key: &ApiKeyInfo,
        now: DateTime<Utc>,
        first_seen_inactive: Option<DateTime<Utc>>,
    ) -> Vec<Finding> {
        let found = self.unwaived(key, now, first_seen_inactive);
        waiver::waive(&self.waivers, key, found, now)
    }

    /// Adds a waiver ([`Policy::waivers`]).
    pub fn with_waiver(mut self, waiver: Waiver) -> Self {
        self.waivers.push(waiver);
        self
    }

    /// The waiver that lets `key`'s `finding` stand at `now`, if one does.
    pub fn waived(
        &self,
        key: &ApiKeyInfo,
        finding: FindingCode,
        now: DateTime<Utc>,
    ) -> Option<&Waiver> {
        waiver::waiver_for(&self.waivers, key, finding).filter(|w| w.holds(now))
    }

    /// The findings before any waiver.
    pub(crate) fn unwaived(
        &self,
        key: &ApiKeyInfo,
        now: DateTime<Utc>,
        first_seen_inactive: Option<DateTime<Utc>>,
    ) -> Vec<Finding> {
        let mut found = Vec::new();
        let mut add = |code: FindingCode, detail: String, days: Option<i64>, limit: Option<u32>| {
            found.push(Finding {
                code,
                remedy: code.remedy(),
                detail,
                days,
                limit_days: limit,
            })
        };
        let age = now - key.created_at;
        let state = crate::KeyState::of(key, now);
        if !state.is_active() {
            // Counted from when it stopped working; a deactivated key's
            // moment is not in the API, so it is judged only from when the
            // caller first saw it inactive.
            let (since, seen) = match (state.since(), first_seen_inactive) {
                (Some(since), _) => (Some(since), ""),
                (None, Some(seen)) => (Some(seen), " (counted from when it was first seen so)"),
                (None, None) => (None, ""),
            };
            if let (Some(days), Some(since)) = (self.inactive_for_days, since)
                && now - since > TimeDelta::days(days.into())
            {
                add(
                    FindingCode::InactiveNotDeleted,
                    format!(
                        "{state} for {}{seen} (more than {days} days): delete it",
                        beyond(now - since, days)
                    ),
                    Some((now - since).num_days()),
                    Some(days),
                );
            }
            return found;
        }
        let known_use = reports_last_use(key);
        if self.require_expiry && key.expires_at.is_none() {
            add(
                FindingCode::NoExpiry,
                "never expires".to_owned(),
                None,
                None,
            );
        }
        if let Some(days) = self.max_lifetime_days {
            let limit = TimeDelta::days(days.into());
            match key.expires_at {
                // Said once, as no-expiry, when that rule is on.
                None if self.require_expiry => {}
                None => add(
                    FindingCode::LifetimeTooLong,
                    format!("never expires (the limit is {days} days)"),
                    None,
                    Some(days),
                ),
                Some(at) if at - key.created_at > limit => add(
                    FindingCode::LifetimeTooLong,
                    format!(
                        "lives {} from creation to expiry (the limit is {days} days)",
                        beyond(at - key.created_at, days)
                    ),
                    Some((at - key.created_at).num_days()),
                    Some(days),
                ),
                Some(_) => {}
            }
        }
        if let Some(days) = self.max_age_days
            && age > TimeDelta::days(days.into())
        {
            add(
                FindingCode::TooOld,
                format!(
                    "created {} ago: rotate it (the limit is {days} days)",
                    beyond(age, days)
                ),
                Some(age.num_days()),
                Some(days),
            );
        }
        if let Some(days) = self.unused_for_days
            && known_use
        {
            let limit = TimeDelta::days(days.into());
            match key.last_used_at {
                Some(at) if now - at > limit => add(
                    FindingCode::Unused,
                    format!(
                        "last used {} ago (the limit is {days} days)",
                        beyond(now - at, days)
                    ),
                    Some((now - at).num_days()),
                    Some(days),
                ),
                None if age > limit => add(
                    FindingCode::Unused,
                    format!(
                        "never used, created {} ago (the limit is {days} days)",
                        beyond(age, days)
                    ),
                    Some(age.num_days()),
                    Some(days),
                ),
                _ => {}
            }
        }
        if let (Some(days), Some(at)) = (self.expiring_within_days, key.expires_at)
            && at - now <= TimeDelta::days(days.into())
        {
            add(
                FindingCode::ExpiringSoon,
                format!(
                    "expires in {} ({}): rotate it before then",
                    days_text(at - now),
                    at.format("%Y-%m-%d %H:%M UTC")
                ),
                Some((at - now).num_days()),
                Some(days),
            );
        }
        if self.require_inactivity_interval && known_use && key.inactivity_interval.is_none() {
            add(
                FindingCode::NoInactivityInterval,
                "no inactivity interval: it stays valid however long it goes unused".to_owned(),
                None,
                None,
            );
        }
        if self.forbid_global_keys && key.is_global_key {
            add(
                FindingCode::GlobalKey,
                "a global key: it reaches every collection of its user".to_owned(),
                None,
                None,
            );
        }
        found
    }
}

/// Whether a key can authenticate at `now` ([`KeyState::of`](crate::KeyState::of)).
pub fn is_active(key: &ApiKeyInfo, now: DateTime<Utc>) -> bool {
    crate::KeyState::of(key, now).is_active()
}

/// Whether the server that sent `key` reports last use and inactivity
/// intervals: servers since h2oGPTe 1.7.0 do (their keys carry
/// `total_calls`); older ones do not, and a missing `last_used_at` there
/// says nothing.
pub fn reports_last_use(key: &ApiKeyInfo) -> bool {
    key.total_calls.is_some()
}

/// A span past a limit of `days` days, said so that it reads as past it:
/// "31 days", or "30 days 5 hours" where whole days alone would say 30.
fn beyond(span: TimeDelta, days: u32) -> String {
    let whole = span.num_days();
    let hours = (span - TimeDelta::days(whole)).num_hours();
    if whole <= i64::from(days) && hours > 0 {
        format!(
            "{} {}",
            days_text(TimeDelta::days(whole)),
            days_text(TimeDelta::hours(hours))
        )
    } else {
        days_text(span)
    }
}

/// "3 days", "1 day", or hours below a day.
fn days_text(span: TimeDelta) -> String {
    match span.num_days() {
        0 => match span.num_hours() {
            1 => "1 hour".to_owned(),
            h => format!("{h} hours"),
        },
        1 => "1 day".to_owned(),
        d => format!("{d} days"),
    }
}

/// A key and every rule it breaks: an item of [`Client::audit`](crate::Client::audit).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeyAudit {
    /// The key, as listed.
    pub key: ApiKeyInfo,
    /// The rules it breaks, in the order of [`FindingCode::ALL`]; empty when
    /// it breaks none.
    pub findings: Vec<Finding>,
}

impl KeyAudit {
    /// Whether the key breaks no rule.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// One rule a key breaks, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// Which rule.
    pub code: FindingCode,
    /// What clears it ([`FindingCode::remedy`]).
    pub remedy: Remedy,
    /// What about the key breaks it, in words.
    pub detail: String,
    /// The whole days the rule measured (age, days unused, lifetime, days
    /// left or stopped), where it measures days.
    pub days: Option<i64>,
    /// The rule's limit in days, where it has one.
    pub limit_days: Option<u32>,
}

impl Finding {
    /// A finding of `code` that no rule of [`Policy`] measures, such as
    /// [`FindingCode::RotationInProgress`] from a tool's journal.
    pub fn new(code: FindingCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            remedy: code.remedy(),
            detail: detail.into(),
            days: None,
            limit_days: None,
        }
    }
}

/// What clears a finding, named for the `h2ogpte-keys` command that does
/// it: so an audit's ids can be piped into the act that suits them, and
/// no live key is deactivated because it is due for rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Remedy {
    /// `rotate`: replace it (with `--expires-in`, to fix its lifetime too).
    Rotate,
    /// `expire`: give it an expiry (or a shorter one).
    Expire,
    /// `inactivity`: give it an inactivity interval.
    Inactivity,
    /// `deactivate`: nobody uses it.
    Deactivate,
    /// `delete`: it stopped working long ago.
    Delete,
    /// `review`: no call clears it; a human renews or drops a waiver.
    Review,
}

impl Remedy {
    /// Every remedy.
    pub const ALL: [Remedy; 6] = [
        Remedy::Rotate,
        Remedy::Expire,
        Remedy::Inactivity,
        Remedy::Deactivate,
        Remedy::Delete,
        Remedy::Review,
    ];

    /// The command's name, such as `rotate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Remedy::Rotate => "rotate",
            Remedy::Expire => "expire",
            Remedy::Inactivity => "inactivity",
            Remedy::Deactivate => "deactivate",
            Remedy::Delete => "delete",
            Remedy::Review => "review",
        }
    }
}

impl std::fmt::Display for Remedy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rules, by the stable codes scripts match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingCode {
    /// `no-expiry`: an active key without `expires_at`.
    NoExpiry,
    /// `lifetime-too-long`: an active key living longer than allowed.
    LifetimeTooLong,
    /// `too-old`: an active key due for rotation.
    TooOld,
    /// `unused`: an active key nobody has used for too long.
    Unused,
    /// `expiring-soon`: an active key about to expire.
    ExpiringSoon,
    /// `no-inactivity-interval`: an active key without an inactivity interval.
    NoInactivityInterval,
    /// `global-key`: an active key not restricted to a collection.
    GlobalKey,
    /// `inactive-not-deleted`: a key that stopped working long ago and is
    /// still kept.
    InactiveNotDeleted,
    /// `rotation-in-progress`: a rotation of the key was left unfinished
    /// (killed between its steps). [`Policy::evaluate`] never finds it: a
    /// tool that journals its rotations reports it from its journal, and
    /// its remedy is to finish or undo that rotation.
    RotationInProgress,
    /// `waiver-expired`: a waiver of one of the key's findings ended; the
    /// finding is reported again beside it.
    WaiverExpired,
}

impl FindingCode {
    /// Every code, in report order.
    pub const ALL: [FindingCode; 10] = [
        FindingCode::NoExpiry,
        FindingCode::LifetimeTooLong,
        FindingCode::TooOld,
        FindingCode::Unused,
        FindingCode::ExpiringSoon,
        FindingCode::NoInactivityInterval,
        FindingCode::GlobalKey,
        FindingCode::InactiveNotDeleted,
        FindingCode::RotationInProgress,
        FindingCode::WaiverExpired,
    ];

    /// What clears a finding of this code.
    pub fn remedy(self) -> Remedy {
        match self {
            FindingCode::NoExpiry | FindingCode::LifetimeTooLong => Remedy::Expire,
            FindingCode::TooOld
            | FindingCode::ExpiringSoon
            | FindingCode::GlobalKey
            | FindingCode::RotationInProgress => Remedy::Rotate,
            FindingCode::Unused => Remedy::Deactivate,
            FindingCode::NoInactivityInterval => Remedy::Inactivity,
            FindingCode::InactiveNotDeleted => Remedy::Delete,
            FindingCode::WaiverExpired => Remedy::Review,
        }
    }

    /// The stable code, such as `no-expiry`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::NoExpiry => "no-expiry",
            FindingCode::LifetimeTooLong => "lifetime-too-long",
            FindingCode::TooOld => "too-old",
            FindingCode::Unused => "unused",
            FindingCode::ExpiringSoon => "expiring-soon",
            FindingCode::NoInactivityInterval => "no-inactivity-interval",
            FindingCode::GlobalKey => "global-key",
            FindingCode::InactiveNotDeleted => "inactive-not-deleted",
            FindingCode::RotationInProgress => "rotation-in-progress",
            FindingCode::WaiverExpired => "waiver-expired",
        }
    }
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_a_rule_that_reads_and_sets() {
        let fields: Vec<String> = serde_json::to_value(Policy::default())
            .expect("a policy serialises")
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        let mut keys: Vec<String> = Policy::RULES.iter().map(|r| r.key.to_owned()).collect();
        keys.sort();
        assert_eq!(
            keys, fields,
            "Policy::RULES lists every field of Policy, once"
        );
        for rule in Policy::RULES {
            let value = match rule.kind {
                RuleKind::Switch => RuleValue::Switch(true),
                _ => RuleValue::Days(Some(3)),
            };
            let set = Policy::default()
                .with_rule(rule.key, value)
                .expect("settable");
            assert_eq!(set.rule(rule.key), Some(value), "{}", rule.key);
            assert_ne!(set, Policy::default(), "{} changes the policy", rule.key);
            let other = match value {
                RuleValue::Switch(_) => RuleValue::Days(Some(3)),
                RuleValue::Days(_) => RuleValue::Switch(true),
            };
            assert_eq!(
                Policy::default().with_rule(rule.key, other),
                None,
                "{}",
                rule.key
            );
        }
        assert_eq!(Policy::default().rule("no_such_rule"), None);
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .expect("a time")
            .to_utc()
    }

    /// An active global key created `age_days` ago, never used, no expiry,
    /// on a 1.7 server.
    fn key(age_days: i64) -> ApiKeyInfo {
        // From JSON, so a field a new release adds does not break this test.
        serde_json::from_value(serde_json::json!({
            "id": "k-1", "username": "svc", "name": "ingest", "hint": "abcd",
            "created_at": now() - TimeDelta::days(age_days),
            "total_calls": 0, "is_active": true, "is_global_key": true
        }))
        .expect("a key")
    }

    fn codes(policy: &Policy, key: &ApiKeyInfo) -> Vec<FindingCode> {
        policy
            .evaluate(key, now())
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    fn only(rule: impl FnOnce(&mut Policy)) -> Policy {
        let mut p = Policy::default();
        rule(&mut p);
        p
    }

    const DAY: TimeDelta = TimeDelta::days(1);
    const SECOND: TimeDelta = TimeDelta::seconds(1);

    #[test]
    fn an_empty_policy_finds_nothing() {
        assert!(Policy::default().is_empty());
        assert!(Policy::default().evaluate(&key(10_000), now()).is_empty());
    }

    #[test]
    fn no_expiry() {
        let p = only(|p| p.require_expiry = true);
        assert_eq!(codes(&p, &key(1)), [FindingCode::NoExpiry]);
        let mut k = key(1);
        k.expires_at = Some(now() + DAY);
        assert!(codes(&p, &k).is_empty());
    }

    #[test]
    fn lifetime_too_long_at_its_boundary() {
        let p = only(|p| p.max_lifetime_days = Some(30));
        let mut k = key(1);
        assert_eq!(codes(&p, &k), [FindingCode::LifetimeTooLong], "no expiry");
        k.expires_at = Some(k.created_at + TimeDelta::days(30));
        assert!(codes(&p, &k).is_empty(), "exactly the limit");
        k.expires_at = Some(k.created_at + TimeDelta::days(30) + SECOND);
        assert_eq!(codes(&p, &k), [FindingCode::LifetimeTooLong]);
    }

    #[test]
    fn too_old_at_its_boundary() {
        let p = only(|p| p.max_age_days = Some(90));
        assert!(codes(&p, &key(90)).is_empty(), "exactly the limit");
        let mut k = key(90);
        k.created_at -= SECOND;
        assert_eq!(codes(&p, &k), [FindingCode::TooOld]);
    }

    #[test]
    fn unused_counts_from_last_use_or_from_creation() {
        let p = only(|p| p.unused_for_days = Some(30));
        assert!(
            codes(&p, &key(30)).is_empty(),
            "never used, exactly 30 days"
        );
        let mut k = key(31);
        assert_eq!(codes(&p, &k), [FindingCode::Unused], "never used");
        k.last_used_at = Some(now() - TimeDelta::days(30));
        assert!(codes(&p, &k).is_empty(), "used exactly 30 days ago");
        k.last_used_at = Some(now() - TimeDelta::days(30) - SECOND);
        assert_eq!(codes(&p, &k), [FindingCode::Unused]);
        assert!(
            p.evaluate(&k, now())[0]
                .detail
                .starts_with("last used 30 days ago"),
            "{:?}",
            p.evaluate(&k, now())
        );
    }

    #[test]
    fn a_server_before_1_7_is_not_guessed_at() {
        let p = only(|p| {
            p.unused_for_days = Some(1);
            p.require_inactivity_interval = true;
        });
        let mut k = key(400);
        k.total_calls = None;
        assert!(!reports_last_use(&k));
        assert!(codes(&p, &k).is_empty());
        k.total_calls = Some(3);
        assert_eq!(
            codes(&p, &k),
            [FindingCode::Unused, FindingCode::NoInactivityInterval]
        );
    }

    #[test]
    fn expiring_soon_at_its_boundary() {
        let p = only(|p| p.expiring_within_days = Some(7));
        let mut k = key(1);
        assert!(codes(&p, &k).is_empty(), "no expiry");
        k.expires_at = Some(now() + TimeDelta::days(7));
        assert_eq!(codes(&p, &k), [FindingCode::ExpiringSoon], "exactly 7 days");
        k.expires_at = Some(now() + TimeDelta::days(7) + SECOND);
        assert!(codes(&p, &k).is_empty());
        k.expires_at = Some(now());
        assert!(codes(&p, &k).is_empty(), "expired: no longer active");
    }

    #[test]
    fn inactivity_interval_and_global_keys() {
        let p = only(|p| {
            p.require_inactivity_interval = true;
            p.forbid_global_keys = true;
        });
        let mut k = key(1);
        assert_eq!(
            codes(&p, &k),
            [FindingCode::NoInactivityInterval, FindingCode::GlobalKey]
        );
        k.inactivity_interval = Some(30);
        k.is_global_key = false;
        k.collection_id = Some("c-1".into());
        assert!(codes(&p, &k).is_empty());
    }

    #[test]
    fn inactive_keys_break_only_the_deletion_rule_counted_from_when_they_stopped() {
        let p = Policy {
            inactive_for_days: Some(30),
            ..Policy::recommended()
        };
        // Deactivated: the API does not say when, so it is not judged.
        let mut k = key(400);
        k.is_active = false;
        assert!(codes(&p, &k).is_empty(), "deactivated, moment unknown");
        // Unless the caller remembers when it first saw it inactive.
        let seen = |days| p.evaluate_seen_inactive(&k, now(), Some(now() - TimeDelta::days(days)));
        assert!(seen(29).is_empty(), "seen inactive 29 days ago");
        let found = seen(31);
        assert_eq!(found[0].code, FindingCode::InactiveNotDeleted);
        assert!(
            found[0].detail.contains("first seen so"),
            "{}",
            found[0].detail
        );
        // Expired: from its expiry, not its creation.
        let mut expired = key(400);
        expired.expires_at = Some(now() - TimeDelta::days(30));
        assert!(codes(&p, &expired).is_empty(), "exactly 30 days");
        expired.expires_at = Some(now() - TimeDelta::days(30) - SECOND);
        let found = p.evaluate(&expired, now());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, FindingCode::InactiveNotDeleted);
        assert_eq!(found[0].remedy, Remedy::Delete);
        assert_eq!((found[0].days, found[0].limit_days), (Some(30), Some(30)));
        assert!(
            found[0]
                .detail
                .starts_with("expired for 30 days (more than 30 days)"),
            "{}",
            found[0].detail
        );
        // Idle: from its last use plus its interval.
        let mut idle = key(400);
        idle.is_active = false;
        idle.inactivity_interval = Some(10);
        idle.last_used_at = Some(now() - TimeDelta::days(45));
        assert_eq!(codes(&p, &idle), [FindingCode::InactiveNotDeleted]);
        idle.last_used_at = Some(now() - TimeDelta::days(39));
        assert!(codes(&p, &idle).is_empty(), "idle for 29 days");
    }

    #[test]
    fn a_key_without_expiry_is_no_expiry_once_and_spans_read_past_their_limit() {
        let p = Policy::default().with_max_lifetime_days(Some(365));
        assert_eq!(codes(&p, &key(1)), [FindingCode::LifetimeTooLong]);
        let p = p.with_require_expiry(true);
        assert_eq!(codes(&p, &key(1)), [FindingCode::NoExpiry]);
        let p = Policy::default().with_max_age_days(Some(30));
        let mut k = key(30);
        k.created_at -= TimeDelta::hours(5);
        let found = p.evaluate(&k, now());
        assert!(
            found[0].detail.starts_with("created 30 days 5 hours ago"),
            "{}",
            found[0].detail
        );
        assert_eq!(found[0].remedy, Remedy::Rotate);
    }

    #[test]
    fn findings_come_in_report_order_with_stable_codes() {
        let p = Policy {
            require_inactivity_interval: true,
            forbid_global_keys: true,
            ..Policy::recommended()
        };
        let found = codes(&p, &key(400));
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(found, sorted);
        assert_eq!(
            found.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            [
                "no-expiry",
                "too-old",
                "unused",
                "no-inactivity-interval",
                "global-key"
            ]
        );
        assert_eq!(
            serde_json::to_value(FindingCode::InactiveNotDeleted).expect("json"),
            "inactive-not-deleted"
        );
    }

    #[test]
    fn a_policy_names_only_known_rules() {
        let p: Policy = serde_json::from_str(r#"{"max_age_days": 90}"#).expect("policy");
        assert_eq!(p.max_age_days, Some(90));
        assert!(!p.require_expiry);
        let e = serde_json::from_str::<Policy>(r#"{"max_agedays": 90}"#).expect_err("unknown");
        assert!(e.to_string().contains("max_agedays"), "{e}");
    }
}
