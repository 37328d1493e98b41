//! One action per key: a [`Policy`]'s findings, what the rotation journal
//! remembers and the caller's own key, turned into the single call that
//! clears everything a call can clear, so that applying a plan and planning
//! again finds nothing more to do (only [`Action::Keep`], [`Action::Waived`],
//! [`Action::Retiring`], [`Action::NeedsHuman`] and [`Action::OwnKey`]).
//! A waiver that ended is a finding ([`FindingCode::WaiverExpired`]) beside
//! the one it waived, whose row decides the action.
//!
//! One table decides, first row first:
//!
//! | the key | its action |
//! |---|---|
//! | the caller's own key | [`Action::OwnKey`]: never acted on |
//! | an open rotation in the journal | [`Action::NeedsHuman`]: resume it |
//! | retiring (rotated, working out its overlap window) | [`Action::Retiring`] |
//! | no finding | [`Action::Keep`] |
//! | no finding but those a waiver lets stand | [`Action::Waived`] |
//! | inactive, kept too long | [`Action::Delete`] |
//! | active and unused | [`Action::Deactivate`] (never rotated) |
//! | active and global, the policy forbidding it | [`Action::NeedsHuman`]: no call changes a key's scope |
//! | active, too old, expiring soon, living too long, or missing an expiry and an inactivity interval at once | [`Action::Rotate`], the new key made to keep every rule |
//! | active, missing only an expiry | [`Action::Expire`], at a date that keeps every rule (else rotated) |
//! | active, missing only an inactivity interval | [`Action::Inactivity`], longer than the key has been idle |
//!
//! An expiry is never lengthened: a key that expires too late is rotated,
//! not re-expired. A policy no key can keep (a longest lifetime not longer
//! than its expiring-soon window) makes rotations [`Action::NeedsHuman`].

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::{
    Client, Error, KeyState,
    policy::{FindingCode, Policy},
    rotation::{
        Deliver, Journal, JournalError, Memory, Outcome, Retire, RotationPlan, Rotator, Stop,
    },
    types::ApiKeyInfo,
};

/// A new key's lifetime when the policy sets no longest one, in days.
pub const DEFAULT_LIFETIME_DAYS: u32 = 90;

/// An inactivity interval given when the policy asks for one, in days (or
/// longer, so that a key is never made idle by it).
pub const DEFAULT_INACTIVITY_DAYS: i64 = 90;

/// What a plan does to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Action {
    /// Nothing: the key keeps to the policy.
    Keep,
    /// Delete it: it stopped working long ago.
    Delete,
    /// Deactivate it: nobody uses it.
    Deactivate,
    /// Replace it with a key that keeps every rule, then deactivate it.
    Rotate {
        /// The new key's lifetime, in days.
        expires_in_days: u32,
        /// The new key's inactivity interval, in days, when the policy asks
        /// for one and the old key has none.
        inactivity_days: Option<i64>,
    },
    /// Give it this expiry (it has none).
    Expire {
        /// When it is to expire.
        at: DateTime<Utc>,
    },
    /// Give it this inactivity interval (it has none).
    Inactivity {
        /// The interval, in days.
        days: i64,
    },
    /// Nothing: it was rotated and stops working then, by itself.
    Retiring {
        /// When it stops working.
        stops_at: DateTime<Utc>,
    },
    /// Nothing a call can do: a human decides.
    NeedsHuman {
        /// What to decide, in words.
        why: String,
    },
    /// Nothing: it is the key this client authenticates with.
    OwnKey,
    /// Nothing: every finding is let stand by a waiver of the policy.
    Waived {
        /// The last day of the soonest-ending waiver.
        until: NaiveDate,
        /// Its reason.
        reason: String,
    },
}

impl Action {
    /// Whether the action changes anything on the server.
    pub fn changes(&self) -> bool {
        matches!(
            self,
            Action::Delete
                | Action::Deactivate
                | Action::Rotate { .. }
                | Action::Expire { .. }
                | Action::Inactivity { .. }
        )
    }

    /// The action's name, as a plan shows it: `keep`, `delete`, `rotate`…
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Delete => "delete",
            Action::Deactivate => "deactivate",
            Action::Rotate { .. } => "rotate",
            Action::Expire { .. } => "expire",
            Action::Inactivity { .. } => "inactivity",
            Action::Retiring { .. } => "retiring",
            Action::NeedsHuman { .. } => "needs-human",
            Action::OwnKey => "own-key",
            Action::Waived { .. } => "waived",
        }
    }
}

/// One key's row of a plan: the key as observed, its findings, its action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlanRow {
    /// The key as listed when the plan was made.
    pub key: ApiKeyInfo,
    /// The policy's findings for it.
    pub findings: Vec<FindingCode>,
    /// The one thing to do.
    pub action: Action,
}

/// The ids of the keys that may be the caller's own
/// ([`Client::may_be_own_key`]): those whose hint (the last four characters
/// of the secret) is the client's. Several keys may share a hint; none of
/// them is acted on.
pub fn own_keys<'a>(
    client: &Client,
    keys: impl IntoIterator<Item = &'a ApiKeyInfo>,
) -> Vec<String> {
    keys.into_iter()
        .filter(|k| client.may_be_own_key(k))
        .map(|k| k.id.clone())
        .collect()
}

impl Policy {
    /// The plan for `keys` at `now`: one row per key, its action decided
    /// by the table of [the plan module](crate::plan). `memory` is what the
    /// rotation journal remembers; `own` the ids of the caller's own keys
    /// ([`own_keys`]).
    pub fn plan<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a ApiKeyInfo>,
        memory: &Memory,
        own: &[String],
        now: DateTime<Utc>,
    ) -> Vec<PlanRow> {
        keys.into_iter()
            .map(|key| {
                let findings: Vec<FindingCode> = self
                    .evaluate(key, now)
                    .into_iter()
                    .map(|f| f.code)
                    .collect();
                let action = self.action(key, &findings, memory, own, now);
                PlanRow {
                    key: key.clone(),
                    findings,
                    action,
                }
            })
            .collect()
    }

    /// The one action for `key`, from its findings.
    fn action(
        &self,
        key: &ApiKeyInfo,
        findings: &[FindingCode],
        memory: &Memory,
        own: &[String],
        now: DateTime<Utc>,
    ) -> Action {
        use FindingCode as F;
        if own.contains(&key.id) {
            return Action::OwnKey;
        }
        if let Some(open) = memory.open(&key.id) {
            return Action::NeedsHuman {
                why: format!(
                    "a rotation stopped at step {}: resume it first",
                    open.step.as_str()
                ),
            };
        }
        if let Some((_, stops_at)) = memory.retiring(&key.id, now) {
            return Action::Retiring { stops_at };
        }
        let has = |code| findings.contains(&code);
        if findings.is_empty() && self.waivers.is_empty() {
            return Action::Keep;
        }
        if findings.is_empty() {
            // Clean only because waivers let findings stand, or clean.
            return self
                .unwaived(key, now, None)
                .iter()
                .filter_map(|f| self.waived(key, f.code, now))
                .min_by_key(|w| w.until)
                .map_or(Action::Keep, |w| Action::Waived {
                    until: w.until,
                    reason: w.reason.clone(),
                });
        }
        if !KeyState::of(key, now).is_active() {
            return if has(F::InactiveNotDeleted) {
                Action::Delete
            } else {
                Action::Keep
            };
        }
        if has(F::Unused) {
            return Action::Deactivate;
        }
        if has(F::GlobalKey) {
            return Action::NeedsHuman {
                why: "a global key: no call restricts a key to a collection; make a scoped key for its user and retire this one".to_owned(),
            };
        }
        let lifetime = self.max_lifetime_days.unwrap_or(DEFAULT_LIFETIME_DAYS);
        let rotate = || match self.expiring_within_days {
            Some(window) if window >= lifetime => Action::NeedsHuman {
                why: format!(
                    "the policy's longest lifetime ({lifetime} days) is not longer than its expiring-soon window ({window} days): no key can keep to both"
                ),
            },
            _ => Action::Rotate {
                expires_in_days: lifetime,
                inactivity_days: (self.require_inactivity_interval
                    && key.inactivity_interval.is_none())
                .then_some(DEFAULT_INACTIVITY_DAYS),
            },
        };
        let missing_expiry =
            has(F::NoExpiry) || has(F::LifetimeTooLong) && key.expires_at.is_none();
        if has(F::TooOld)
            || has(F::ExpiringSoon)
            || has(F::LifetimeTooLong) && key.expires_at.is_some()
        {
            return rotate();
        }
        if missing_expiry && has(F::NoInactivityInterval) {
            return rotate();
        }
        if missing_expiry {
            return match self.expiry_for(key, now) {
                Some(at) => Action::Expire { at },
                None => rotate(),
            };
        }
        if has(F::NoInactivityInterval) {
            return Action::Inactivity {
                days: inactivity_for(key, now),
            };
        }
        Action::Keep
    }

    /// An expiry for a key that has none, keeping every rule: within its
    /// longest lifetime from creation, past the expiring-soon window; none
    /// when no date does both.
    fn expiry_for(&self, key: &ApiKeyInfo, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let lifetime = TimeDelta::days(
            self.max_lifetime_days
                .unwrap_or(DEFAULT_LIFETIME_DAYS)
                .into(),
        );
        // A day inside the longest lifetime: the expiry is sent as an
        // interval from when the call reaches the server, and neither the
        // time in between nor a skew of the server's clock may push it over.
        let latest = match self.max_lifetime_days {
            Some(_) => key.created_at.checked_add_signed(lifetime)?,
            None => now.checked_add_signed(lifetime)?,
        } - EXPIRY_MARGIN;
        let soonest = now.checked_add_signed(TimeDelta::days(
            self.expiring_within_days.unwrap_or(0).into(),
        ))? + TimeDelta::days(1);
        (latest > soonest).then_some(latest)
    }
}

/// One call of a plan: `None` when a stop came before it started.
async fn single(
    client: &Client,
    stop: Stop,
    row: PlanRow,
    refused: Option<Error>,
) -> Option<Applied> {
    if stop.requested() {
        return None;
    }
    let id = &row.key.id;
    let result = match (refused, &row.action) {
        (Some(error), _) => Err(error),
        (None, Action::Delete) => client.delete_api_key(id).await,
        (None, Action::Deactivate) => client.deactivate_api_key(id).await,
        (None, Action::Expire { at }) => {
            // From now, not from when the run began: a long run would push
            // every later expiry past the plan's.
            let seconds = (*at - crate::rotation::now_utc()).num_seconds().max(1);
            client
                .set_api_key_expiry(id, &format!("{seconds} seconds"))
                .await
        }
        (None, Action::Inactivity { days }) => {
            client.set_api_key_inactivity_interval(id, *days).await
        }
        _ => Ok(()),
    };
    Some(match result {
        Ok(()) => Applied::Done {
            key_id: row.key.id,
            action: row.action,
        },
        Err(error) => Applied::Failed {
            key_id: row.key.id,
            action: row.action,
            error,
        },
    })
}

/// How far inside the longest lifetime an [`Action::Expire`] lands.
const EXPIRY_MARGIN: TimeDelta = TimeDelta::days(1);

/// An inactivity interval that does not make `key` idle at once: the
/// default, or a month beyond the time it has gone unused.
fn inactivity_for(key: &ApiKeyInfo, now: DateTime<Utc>) -> i64 {
    let idle = (now - key.last_used_at.unwrap_or(key.created_at)).num_days();
    DEFAULT_INACTIVITY_DAYS.max(idle + 30).min(36_500)
}

impl PlanRow {
    /// Whether the server's key `now` differs from the key this row was
    /// planned on in anything its action was decided on (its state, expiry,
    /// inactivity interval, collection or user): such a row is stale, and
    /// is not to be applied (as a stale Terraform plan is not).
    pub fn is_stale(&self, now: &ApiKeyInfo) -> bool {
        let k = &self.key;
        (
            k.is_active,
            k.expires_at,
            k.inactivity_interval,
            &k.collection_id,
            &k.username,
        ) != (
            now.is_active,
            now.expires_at,
            now.inactivity_interval,
            &now.collection_id,
            &now.username,
        )
    }
}

/// What applying one row did.
#[derive(Debug)]
#[non_exhaustive]
pub enum Applied {
    /// The call was made.
    Done {
        /// The key.
        key_id: String,
        /// What was done.
        action: Action,
    },
    /// The call failed; the key is as it was.
    Failed {
        /// The key.
        key_id: String,
        /// What was to be done.
        action: Action,
        /// Why it was not.
        error: Error,
    },
    /// A rotation, as the engine ended it.
    Rotated(Outcome),
}

/// Carries out the rows that change something: deletes, deactivations,
/// expiries and inactivity intervals by one call each, rotations through
/// `rotator` (each journalled, each secret to its sink, the old key
/// deactivated). `user_id` gives the id of a key's user (the API lists
/// usernames; a create takes the id). A journal that cannot be read fails
/// the rotations before any is made.
pub async fn apply<J: Journal, D: Deliver>(
    rotator: &Rotator<J, D>,
    rows: &[PlanRow],
    user_id: impl Fn(&ApiKeyInfo) -> String,
) -> Result<Vec<Applied>, JournalError> {
    let client = rotator.client();
    let now = crate::rotation::now_utc();
    let mut plans = Vec::new();
    let mut singles = Vec::new();
    for row in rows.iter().filter(|r| r.action.changes()) {
        match &row.action {
            Action::Rotate {
                expires_in_days,
                inactivity_days,
            } => {
                let planned = RotationPlan::new(row.key.clone(), Retire::Deactivate, now)
                    .and_then(|p| p.with_expires_in(&format!("{expires_in_days} days")))
                    .map(|p| p.for_user(user_id(&row.key)))
                    .map(|p| match inactivity_days {
                        Some(days) => p.with_inactivity_interval(*days),
                        None => p,
                    });
                match planned {
                    Ok(plan) => plans.push(plan),
                    Err(error) => singles.push((row.clone(), Some(error))),
                }
            }
            _ => singles.push((row.clone(), None)),
        }
    }
    // One call each, as many at once as the engine runs rotations, in the
    // plan's order; none started once a stop is asked. The futures come
    // from a named function over owned rows, so the whole is `Send`.
    let calls = singles
        .into_iter()
        .map(|(row, refused)| single(client, rotator.stop().clone(), row, refused));
    let mut applied: Vec<Applied> = stream::iter(calls)
        .buffered(rotator.concurrency())
        .filter_map(std::future::ready)
        .collect()
        .await;
    let run = rotator.run(plans, |_| {}).await?;
    applied.extend(run.outcomes.into_iter().map(Applied::Rotated));
    Ok(applied)
}
