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
struct Vault(Arc<Mutex<Deliveries>>);

/// Per old key, each delivery's new key id and secret.
type Deliveries = HashMap<String, Vec<(String, String)>>;

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
        let mut k = seed(
            &format!("etl-{i}"),
            "svc-etl",
            &format!("job-{}", i % 40),
            later,
        );
        k.is_active = i % 7 != 0;
        keys.push(k);
    }
    for i in 0..12 {
        keys.push(seed(
            &format!("stage-{i}"),
            "svc-etl-staging",
            "ingest",
            None,
        ));
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
                    client
                        .delete_api_key(key)
                        .await
                        .expect("the human deletes it");
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
        made.iter()
            .map(|k| (&k.id, &k.username, &k.name))
            .collect::<Vec<_>>()
    );
    assert_eq!(keys.len(), seeded + 1 + TARGETS.len());
    for (id, user, name) in TARGETS {
        assert_eq!(vault.deliveries(id), 1, "{id}: rotated more than once");
        let (new_id, secret) = vault.get(id).unwrap_or_else(|| panic!("{id}: no secret"));
        let new = by_id
            .get(new_id.as_str())
            .unwrap_or_else(|| panic!("{id}: its delivered key {new_id} was deleted"));
        assert!(new.is_active, "{id}: the delivered key is not active");
        assert!(
            secret.ends_with(&new.hint),
            "{id}: the vault holds another secret"
        );
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

/// The engine's client authenticates with a key the server lists: a run
/// that holds it refuses it before anything is made, and rotates it only
/// when told, keeping it working for its overlap so the run can finish.
#[tokio::test]
async fn the_engine_leaves_its_own_key_alone_unless_allowed() {
    let (_server, client, _) = start().await;
    let before = all_keys(&client).await;
    let own: Vec<&ApiKeyInfo> = before.iter().filter(|k| client.may_be_own_key(k)).collect();
    assert_eq!(own.len(), 1, "the client's key is found by its hint");
    let overlap = Retire::After(TimeDelta::days(1));
    let mut plans = plans(&client, overlap).await;
    let own_plan = RotationPlan::new(own[0].clone(), overlap, Utc::now()).expect("plan");
    plans.insert(0, own_plan.clone());
    let vault = Vault::default();
    let rotator = Rotator::new(
        client.clone(),
        Arc::new(MemoryJournal::new()),
        vault.clone(),
    );
    let run = rotator.run(plans, |_| {}).await.expect("run");
    assert!(
        matches!(run.outcomes[0].end, End::Refused(Refusal::OwnKey)),
        "{:?}",
        run.outcomes[0]
    );
    assert!(run.outcomes[1..].iter().all(|o| o.is_done()), "{run:?}");
    assert_eq!(vault.deliveries(&own[0].id), 0, "nothing was made for it");

    let rotator = rotator.with_allow_self(true);
    let run = rotator.run(vec![own_plan], |_| {}).await.expect("run");
    assert!(run.outcomes[0].is_done(), "{:?}", run.outcomes[0]);
    assert_eq!(vault.deliveries(&own[0].id), 1);
    assert!(
        all_keys(&client)
            .await
            .iter()
            .any(|k| k.id == own[0].id && k.is_active),
        "the old key works through its overlap"
    );
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
    assert!(
        tally.finished > 0 && tally.undone > 0 && tally.strays > 0,
        "{tally:?}"
    );
    assert!(tally.refused_again > 0, "{tally:?}");
}

mod file_journal {
    //! The journal in a file: what survives a process, what is refused.

    use std::os::unix::fs::PermissionsExt;

    use chrono::{TimeDelta, Utc};
    use h2ogpte_api_keys::rotation::{FileJournal, Journal, JournalError, Step};

    use super::*;

    const SERVER: &str = "http://localhost:8080/api/v1";

    fn private_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        dir
    }

    /// An entry as a run records it, by way of a real rotation's plan.
    async fn entries_of_a_run(journal: &FileJournal) -> Vec<Entry> {
        let (_server, client, _) = start().await;
        let plans = plans(&client, Retire::After(TimeDelta::days(7))).await;
        let rotator = Rotator::new(client, journal.clone(), Vault::default());
        let run = rotator.run(plans, |_| {}).await.expect("run");
        assert!(run.outcomes.iter().all(|o| o.is_done()));
        journal.entries().await.expect("entries")
    }

    #[tokio::test]
    async fn finished_rotations_outlive_the_process_and_a_second_run_is_kept_out() {
        let dir = private_dir();
        let journal = FileJournal::open(dir.path(), SERVER).expect("open");
        let first = entries_of_a_run(&journal).await;
        assert_eq!(first.len(), TARGETS.len());
        assert!(
            first
                .iter()
                .all(|e| e.step == Step::Finished && e.old_stops_at.is_some())
        );
        // The same server spelled otherwise is the same journal, locked.
        let locked = FileJournal::open(dir.path(), "http://127.0.0.1:8080/api/v1/");
        assert!(
            matches!(locked, Err(JournalError::Locked { .. })),
            "{locked:?}"
        );
        drop(journal);
        let again = FileJournal::open(dir.path(), SERVER).expect("reopen");
        assert_eq!(again.entries().await.expect("entries"), first);
        assert_eq!(
            FileJournal::peek(dir.path(), SERVER).expect("peek"),
            first,
            "read without the lock"
        );
        // Never a secret in the file.
        let text = std::fs::read_to_string(again.path()).expect("read");
        assert!(!text.contains("sk-"), "{text}");
    }

    #[tokio::test]
    async fn a_torn_last_line_is_dropped_and_a_corrupt_one_refused_and_kept() {
        let dir = private_dir();
        let journal = FileJournal::open(dir.path(), SERVER).expect("open");
        let entries = entries_of_a_run(&journal).await;
        let path = journal.path().to_owned();
        drop(journal);
        // A crash in the middle of an append: no newline.
        let mut text = std::fs::read(&path).expect("read");
        text.extend_from_slice(br#"{"old_key_id":"t-etl-1","user"#);
        std::fs::write(&path, &text).expect("write");
        let reopened = FileJournal::open(dir.path(), SERVER).expect("a torn line is dropped");
        assert_eq!(reopened.entries().await.expect("entries"), entries);
        drop(reopened);
        // A bad line in the middle is no crash's doing.
        let mut lines: Vec<String> = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .map(str::to_owned)
            .collect();
        lines.insert(2, "{not json".to_owned());
        let corrupt = lines.join("\n") + "\n";
        std::fs::write(&path, &corrupt).expect("write");
        let e = FileJournal::open(dir.path(), SERVER).expect_err("corrupt");
        assert!(matches!(e, JournalError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("line 3"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), corrupt);
        // A newer format is named as such.
        std::fs::write(&path, "{\"format\":9,\"server\":\"x\"}\n").expect("write");
        let e = FileJournal::open(dir.path(), SERVER).expect_err("newer");
        assert!(matches!(e, JournalError::Newer { format: 9, .. }), "{e}");
    }

    #[tokio::test]
    async fn another_servers_journal_is_refused() {
        let dir = private_dir();
        let journal = FileJournal::open(dir.path(), SERVER).expect("open");
        entries_of_a_run(&journal).await;
        let path = journal.path().to_owned();
        drop(journal);
        let other = dir.path().join("rotations-other.example_443_api_v1.jsonl");
        std::fs::copy(&path, &other).expect("copy");
        let e = FileJournal::open(dir.path(), "https://other.example/api/v1").expect_err("other");
        assert!(
            e.to_string().contains("http://127.0.0.1:8080/api/v1"),
            "names the server it holds rotations of: {e}"
        );
    }

    #[tokio::test]
    async fn settled_rotations_are_forgotten_thirty_days_after_the_old_key_stops() {
        let dir = private_dir();
        let journal = FileJournal::open(dir.path(), SERVER).expect("open");
        let entries = entries_of_a_run(&journal).await;
        // An earlier rotation of the same key, finished long ago.
        let mut old = entries[0].clone();
        old.started_at -= TimeDelta::days(90);
        old.updated_at -= TimeDelta::days(90);
        old.old_stops_at = Some(Utc::now() - TimeDelta::days(31));
        journal.record(&old).await.expect("record");
        drop(journal);
        let reopened = FileJournal::open(dir.path(), SERVER).expect("reopen");
        let kept = reopened.entries().await.expect("entries");
        assert_eq!(kept, entries, "the old one is compacted away");
        let lines = std::fs::read_to_string(reopened.path())
            .expect("read")
            .lines()
            .count();
        assert_eq!(
            lines,
            1 + entries.len(),
            "one line per entry after compaction"
        );
    }

    #[test]
    fn an_unsafe_state_directory_or_file_is_refused_without_blocking() {
        // Open to others.
        let dir = tempfile::tempdir().expect("dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let e = FileJournal::open(dir.path(), SERVER).expect_err("mode 777");
        assert!(e.to_string().contains("mode 777"), "{e}");
        // A link to a private directory.
        let real = private_dir();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(real.path(), &link).expect("symlink");
        let e = FileJournal::open(&link, SERVER).expect_err("a link");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // A FIFO where the journal should be: refused at once.
        let journal = FileJournal::open(real.path(), SERVER).expect("open");
        let path = journal.path().to_owned();
        drop(journal);
        std::fs::remove_file(&path).expect("rm");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let e = FileJournal::open(real.path(), SERVER).expect_err("a fifo");
        assert!(e.to_string().contains("regular file"), "{e}");
        let e = FileJournal::peek(real.path(), SERVER).expect_err("a fifo, peeked");
        assert!(e.to_string().contains("regular file"), "{e}");
        // A link where the lock should be.
        std::fs::remove_file(&path).expect("rm");
        let lock = path.with_extension("lock");
        std::fs::remove_file(&lock).expect("rm");
        std::os::unix::fs::symlink("/etc/passwd", &lock).expect("symlink");
        let e = FileJournal::open(real.path(), SERVER).expect_err("a linked lock");
        assert!(matches!(e, JournalError::Unsafe { .. }), "{e}");
    }

    /// A sink that never returns for one key: the process is killed while
    /// the secret is on its way.
    #[derive(Debug, Clone, Default)]
    struct Hangs(Vault);

    impl Deliver for Hangs {
        async fn deliver(
            &self,
            secret: &Secret,
            key: Handover<'_>,
        ) -> Result<String, DeliveryError> {
            if key.old_key.id == "t-alice" {
                std::future::pending::<()>().await;
            }
            self.0.deliver(secret, key).await
        }

        fn target(&self, old: &ApiKeyInfo) -> String {
            self.0.target(old)
        }

        async fn holds(&self, entry: &Entry, new_key: &ApiKeyInfo) -> Option<bool> {
            self.0.holds(entry, new_key).await
        }
    }

    #[tokio::test]
    async fn a_service_resumes_a_killed_rotation_from_its_file() {
        let (_server, client, _) = start().await;
        let dir = private_dir();
        let sink = Hangs::default();
        let journal = FileJournal::open(dir.path(), client.base_url().as_str()).expect("open");
        let rotator = Rotator::new(client.clone(), journal, sink.clone()).with_concurrency(4);
        let plans = plans(&client, Retire::Deactivate).await;
        let run = rotator.run(plans, |_| {});
        // Killed once the others are done.
        let killed = tokio::time::timeout(std::time::Duration::from_secs(3), run).await;
        assert!(killed.is_err(), "the hanging delivery holds the run");
        drop(rotator);
        let journal = FileJournal::open(dir.path(), client.base_url().as_str()).expect("reopen");
        let open: Vec<Entry> = journal
            .entries()
            .await
            .expect("entries")
            .into_iter()
            .filter(|e| !e.step.is_settled())
            .collect();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].step, Step::Delivering);
        let resumed = Rotator::new(client.clone(), journal, sink.0.clone());
        let settled = resumed.resume(|_| {}).await.expect("resume");
        assert!(matches!(settled[0].how, Settlement::Undone), "{settled:?}");
        let keys = all_keys(&client).await;
        let alice = keys.iter().find(|k| k.id == "t-alice").expect("listed");
        assert!(alice.is_active, "the old key works as before");
        assert_eq!(
            keys.iter()
                .filter(|k| k.username == "alice" && k.name == "laptop")
                .count(),
            13,
            "the undelivered key is gone"
        );
    }
}
