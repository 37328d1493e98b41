//! The rotation engine's promises, tested at every crash point: a run
//! stopped before or after any journal write, then resumed (with what a
//! human is asked to check done), then run again, leaves every key either
//! untouched or rotated once with its secret in the sink; no delivered key
//! is deleted, and no live key is left that nobody was told about. On a
//! fleet like a real one: a service account with hundreds of keys, a user
//! whose name contains another's, two keys sharing a name.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use chrono::{DateTime, TimeDelta, Utc};
use h2ogpte_api_keys::{
    Client, Secret,
    rotation::{
        Deliver, DeliveryError, End, Entry, Handover, HumanCheck, Journal, JournalError,
        MemoryJournal, OldKey, Refusal, Retire, RotationPlan, Rotator, Settlement,
    },
    types::ApiKeyInfo,
};
use h2ogpte_fake_server::{FakeServer, SeedKey};
use tokio::sync::Notify;

use crate::support::serve;

/// A secret store that remembers, per old key, every delivery: the new
/// key and its secret.
#[derive(Debug, Clone, Default)]
struct Vault(Arc<Mutex<HashMap<String, Vec<(String, String)>>>>);

impl Vault {
    /// The latest delivery for `old`.
    fn get(&self, old: &str) -> Option<(String, String)> {
        self.0.lock().expect("vault").get(old)?.last().cloned()
    }

    fn deliveries(&self, old: &str) -> usize {
        self.0.lock().expect("vault").get(old).map_or(0, Vec::len)
    }

    fn delivered(&self, key: &str) -> bool {
        let all = self.0.lock().expect("vault");
        all.values().flatten().any(|(id, _)| id == key)
    }

    /// Every delivered key is listed active: none was deleted.
    async fn all_alive(&self, client: &Client, when: &str) {
        let keys = all_keys(client).await;
        let delivered: Vec<String> = {
            let all = self.0.lock().expect("vault");
            all.values().flatten().map(|(id, _)| id.clone()).collect()
        };
        for id in delivered {
            assert!(
                keys.iter().any(|k| k.id == id && k.is_active),
                "{when}: the delivered key {id} no longer works"
            );
        }
    }
}

impl Deliver for Vault {
    async fn deliver(&self, secret: &Secret, key: Handover<'_>) -> Result<String, DeliveryError> {
        self.0
            .lock()
            .expect("vault")
            .entry(key.old_key.id.clone())
            .or_default()
            .push((key.new_key.id.clone(), secret.expose().to_owned()));
        Ok(self.target(key.old_key))
    }

    fn target(&self, old: &ApiKeyInfo) -> String {
        format!("vault/{}", old.id)
    }

    async fn holds(&self, entry: &Entry, new_key: &ApiKeyInfo) -> Option<bool> {
        Some(
            self.get(&entry.old_key_id)
                .is_some_and(|(id, secret)| id == new_key.id && secret.ends_with(&new_key.hint)),
        )
    }
}

/// How a trial's journal fails at its kill point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The process dies before the record is written.
    KillBefore,
    /// The process dies after the record is written.
    KillAfter,
    /// The disk is full: this record and every later one fail.
    DiskFull,
}

/// A journal that fails at its `kill_at`-th record as `fault` says; for a
/// kill, that record and every later one never return, and the run is
/// dropped.
#[derive(Debug)]
struct Crashing {
    inner: Arc<MemoryJournal>,
    seen: AtomicUsize,
    kill_at: usize,
    fault: Fault,
    crashed: Arc<Notify>,
}

impl Journal for Crashing {
    async fn record(&self, entry: &Entry) -> Result<(), JournalError> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if n >= self.kill_at {
            if self.fault == Fault::DiskFull {
                return Err(JournalError::Other("no space left on device".to_owned()));
            }
            if n == self.kill_at {
                if self.fault == Fault::KillAfter {
                    self.inner.record(entry).await?;
                }
                self.crashed.notify_one();
            }
            std::future::pending::<()>().await;
        }
        self.inner.record(entry).await
    }

    async fn entries(&self) -> Result<Vec<Entry>, JournalError> {
        self.inner.entries().await
    }
}

fn seed(id: &str, user: &str, name: &str, expires: Option<DateTime<Utc>>) -> SeedKey {
    let now = Utc::now();
    SeedKey {
        id: id.to_owned(),
        user_id: user.to_owned(),
        username: user.to_owned(),
        name: name.to_owned(),
        hint: None,
        secret_key: None,
        created_at: now - TimeDelta::days(200),
        expires_at: expires,
        last_used_at: None,
        inactivity_interval: None,
        total_calls: None,
        is_active: true,
        collection_id: None,
        collection_name: None,
        is_global_key: None,
    }
}

/// The keys rotated in every trial: two of the service account sharing a
/// name, one more of it, one of a person, one of a user whose name
/// contains the service account's.
const TARGETS: [(&str, &str, &str); 5] = [
    ("t-etl-1", "svc-etl", "ingest"),
    ("t-etl-2", "svc-etl", "ingest"),
    ("t-etl-3", "svc-etl", "export"),
    ("t-alice", "alice", "laptop"),
    ("t-stage", "svc-etl-staging", "ingest"),
];

/// A fleet: the targets, 240 more keys of the service account (some
/// deactivated), and a few of each person.
fn fleet() -> Vec<SeedKey> {
    let later = Some(Utc::now() + TimeDelta::days(60));
    let mut keys: Vec<SeedKey> = TARGETS
        .iter()
        .map(|(id, user, name)| seed(id, user, name, later))
        .collect();
    for i in 0..240 {
        let mut k = seed(&format!("etl-{i}"), "svc-etl", &format!("job-{}", i % 40), later);
        k.is_active = i % 7 != 0;
        keys.push(k);
    }
    for i in 0..12 {
        keys.push(seed(&format!("stage-{i}"), "svc-etl-staging", "ingest", None));
        keys.push(seed(&format!("alice-{i}"), "alice", "laptop", later));
    }
    keys
}

async fn start() -> (FakeServer, Client, usize) {
    let keys = fleet();
    let n = keys.len();
    let (server, client) = serve(FakeServer::builder().seed_records(keys)).await;
    (server, client, n)
}

async fn all_keys(client: &Client) -> Vec<ApiKeyInfo> {
    client
        .collect_all_api_keys(&h2ogpte_api_keys::ListQuery::new().with_limit(500))
        .await
        .expect("listing")
}

async fn plans(client: &Client, retire: Retire) -> Vec<RotationPlan> {
    let keys = all_keys(client).await;
    TARGETS
        .iter()
        .filter_map(|(id, _, _)| keys.iter().find(|k| k.id == *id))
        .filter_map(|k| RotationPlan::new(k.clone(), retire, Utc::now()).ok())
        .collect()
}

/// What one trial saw, for the totals.
#[derive(Debug, Default)]
struct Tally {
    trials: usize,
    finished: usize,
    undone: usize,
    strays: usize,
    refused_again: usize,
}

/// Runs until the kill point, resumes, does what resume asks a human to,
/// runs again, and checks every promise.
async fn trial(retire: Retire, kill_at: usize, fault: Fault, tally: &mut Tally) -> bool {
    let (_server, client, seeded) = start().await;
    let journal = Arc::new(MemoryJournal::new());
    let vault = Vault::default();
    let crashed = Arc::new(Notify::new());
    let crashing = Crashing {
        inner: journal.clone(),
        seen: AtomicUsize::new(0),
        kill_at,
        fault,
        crashed: crashed.clone(),
    };
    let rotator = Rotator::new(client.clone(), crashing, vault.clone()).with_concurrency(2);
    let plans_now = plans(&client, retire).await;
    let killed = tokio::select! {
        run = rotator.run(plans_now, |_| {}) => {
            let run = run.expect("the journal reads");
            // Nothing is reported done that the journal could not record.
            assert!(fault == Fault::DiskFull || run.outcomes.iter().all(|o| o.is_done()));
            false
        }
        () = crashed.notified() => true,
    };
    drop(rotator);
    // The next process: resume, then what it names for a human.
    let again = Rotator::new(client.clone(), journal.clone(), vault.clone()).with_concurrency(2);
    let settled = again.resume(|_| {}).await.expect("resume");
    // Two interrupted creates of one user and name both name each key.
    let mut deleted = HashSet::new();
    for s in &settled {
        match &s.how {
            Settlement::Finished(_) => tally.finished += 1,
            Settlement::Undone => tally.undone += 1,
            Settlement::NeedsHuman {
                check: HumanCheck::StrayKeys,
                keys,
            } => {
                tally.strays += 1;
                for key in keys.iter().filter(|k| deleted.insert(k.to_string())) {
                    // Nobody was told about it: no sink holds its secret.
                    assert!(
                        !vault.delivered(key),
                        "a stray key {key} named for deletion was delivered (kill {kill_at}, {fault:?})"
                    );
                    client.delete_api_key(key).await.expect("the human deletes it");
                }
            }
            other => panic!("kill {kill_at} ({fault:?}): {other:?} for {:?}", s.entry),
        }
    }
    vault.all_alive(&client, "after resume").await;
    assert!(
        again.resume(|_| {}).await.expect("resume").is_empty(),
        "a second resume has nothing to do"
    );
    // A plain re-run of the same keys rotates only what is not rotated.
    let run = again
        .run(plans(&client, retire).await, |_| {})
        .await
        .expect("run");
    for o in &run.outcomes {
        match &o.end {
            End::Refused(Refusal::AlreadyRotated { .. }) => tally.refused_again += 1,
            End::Rotated(old) if !matches!(old, OldKey::StillActive(_)) => {}
            other => panic!("re-run after kill {kill_at} ({fault:?}): {other:?}"),
        }
    }
    check(&client, &vault, seeded, retire).await;
    tally.trials += 1;
    killed
}

/// Every target rotated once, its secret in the vault; nothing else made.
async fn check(client: &Client, vault: &Vault, seeded: usize, retire: Retire) {
    let keys = all_keys(client).await;
    let by_id: HashMap<&str, &ApiKeyInfo> = keys.iter().map(|k| (k.id.as_str(), k)).collect();
    let seeded_ids: HashSet<String> = fleet().into_iter().map(|k| k.id).collect();
    // The admin's own key is the server's, not the fleet's.
    let made: Vec<&ApiKeyInfo> = keys
        .iter()
        .filter(|k| !seeded_ids.contains(&k.id) && k.username != "admin")
        .collect();
    assert_eq!(
        made.len(),
        TARGETS.len(),
        "one new key per target, no orphan: {:?}",
        made.iter().map(|k| (&k.id, &k.username, &k.name)).collect::<Vec<_>>()
    );
    assert_eq!(keys.len(), seeded + 1 + TARGETS.len());
    for (id, user, name) in TARGETS {
        assert_eq!(vault.deliveries(id), 1, "{id}: rotated more than once");
        let (new_id, secret) = vault.get(id).unwrap_or_else(|| panic!("{id}: no secret"));
        let new = by_id
            .get(new_id.as_str())
            .unwrap_or_else(|| panic!("{id}: its delivered key {new_id} was deleted"));
        assert!(new.is_active, "{id}: the delivered key is not active");
        assert!(secret.ends_with(&new.hint), "{id}: the vault holds another secret");
        assert_eq!((new.username.as_str(), new.name.as_str()), (user, name));
        let old = by_id[id];
        match retire {
            Retire::Deactivate => assert!(!old.is_active, "{id}: the old key still works"),
            _ => assert!(
                old.expires_at
                    .is_some_and(|at| at <= Utc::now() + TimeDelta::days(8)),
                "{id}: the old key's end was not brought forward"
            ),
        }
    }
}

#[tokio::test]
async fn a_run_killed_at_any_step_resumes_to_every_key_rotated_once() {
    let mut tally = Tally::default();
    for retire in [Retire::Deactivate, Retire::After(TimeDelta::days(7))] {
        // A clean run records five steps per key.
        let points = TARGETS.len() * 5;
        let mut kills = 0;
        for kill_at in 0..=points {
            for fault in [Fault::KillBefore, Fault::KillAfter, Fault::DiskFull] {
                if trial(retire, kill_at, fault, &mut tally).await {
                    kills += 1;
                }
            }
        }
        // The last points are past the run's records: no kill, and the
        // promises hold all the same.
        assert!(kills >= 2 * points - 2, "{kills} kills of {points} points");
    }
    eprintln!("crash trials: {tally:?}");
    assert!(tally.finished > 0 && tally.undone > 0 && tally.strays > 0, "{tally:?}");
    assert!(tally.refused_again > 0, "{tally:?}");
}
