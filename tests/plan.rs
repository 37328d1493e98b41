//! The plan converges by construction: over generated fleets (every state,
//! age and rule; a service account holding most keys; a key mid-rotation;
//! the caller's own key), one plan applied to the fake server leaves a fleet
//! whose next plan changes nothing, no key rotated twice, no more active
//! keys than before, and the caller's key untouched.

use std::sync::{Arc, Mutex};

use chrono::{TimeDelta, Utc};
use h2ogpte_api_keys::{
    Client, ListQuery, Secret,
    plan::{Action, Applied, apply, own_keys},
    policy::{FindingCode, Policy, Waiver},
    rotation::{Deliver, DeliveryError, Handover, MemoryJournal, Retire, RotationPlan, Rotator},
    types::ApiKeyInfo,
};
use h2ogpte_fake_server::{FakeServer, SeedKey};
use proptest::prelude::*;

/// A sink that keeps every delivery, by old key.
#[derive(Debug, Clone, Default)]
struct Vault(Arc<Mutex<Vec<(String, String)>>>);

impl Deliver for Vault {
    async fn deliver(&self, _secret: &Secret, key: Handover<'_>) -> Result<String, DeliveryError> {
        self.0
            .lock()
            .expect("vault")
            .push((key.old_key.id.clone(), key.new_key.id.clone()));
        Ok("vault".to_owned())
    }

    fn target(&self, _old: &ApiKeyInfo) -> String {
        "vault".to_owned()
    }
}

/// One generated key.
#[derive(Debug, Clone)]
struct Spec {
    user: usize,
    age_days: i64,
    expires_in_days: Option<i64>,
    used_days_ago: Option<i64>,
    inactivity: Option<i64>,
    global: bool,
    active: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        // Most keys are the service account's (user 0).
        prop_oneof![3 => Just(0usize), 1 => 1usize..6],
        0i64..400,
        prop_oneof![Just(None), (-40i64..400).prop_map(Some)],
        prop_oneof![Just(None), (0i64..400).prop_map(Some)],
        prop_oneof![Just(None), (1i64..200).prop_map(Some)],
        any::<bool>(),
        prop_oneof![4 => Just(true), 1 => Just(false)],
    )
        .prop_map(
            |(user, age_days, expires_in_days, used, inactivity, global, active)| Spec {
                user,
                age_days,
                expires_in_days,
                used_days_ago: used.map(|u| u.min(age_days)),
                inactivity,
                global,
                active,
            },
        )
}

fn seed(i: usize, s: &Spec) -> SeedKey {
    let now = Utc::now();
    let user = if s.user == 0 {
        "svc-etl".to_owned()
    } else {
        format!("person-{}", s.user)
    };
    let created = now - TimeDelta::days(s.age_days) - TimeDelta::hours(1);
    let expires = s
        .expires_in_days
        .map(|d| (now + TimeDelta::days(d)).max(created + TimeDelta::hours(1)));
    SeedKey {
        id: format!("k-{i:03}"),
        user_id: user.clone(),
        username: user.clone(),
        name: format!("key {}", i % 7),
        hint: None,
        secret_key: None,
        created_at: created,
        expires_at: expires,
        last_used_at: s.used_days_ago.map(|d| now - TimeDelta::days(d)),
        inactivity_interval: s.inactivity,
        total_calls: Some(i64::from(s.used_days_ago.is_some())),
        is_active: s.active,
        collection_id: (!s.global).then(|| format!("c-{user}")),
        collection_name: (!s.global).then(|| format!("Reports of {user}")),
        is_global_key: Some(s.global),
    }
}

async fn keys(client: &Client) -> Vec<ApiKeyInfo> {
    client
        .collect_all_api_keys(&ListQuery::new().with_limit(500))
        .await
        .expect("listing")
}

fn policy(forbid_global: bool) -> Policy {
    let mut p = Policy::default()
        .with_max_lifetime_days(Some(180))
        .with_max_age_days(Some(90))
        .with_unused_for_days(Some(60))
        .with_expiring_within_days(Some(14))
        .with_inactive_for_days(Some(30));
    p.require_expiry = true;
    p.require_inactivity_interval = true;
    p.forbid_global_keys = forbid_global;
    // A waiver that holds (person-1's old keys may stay) and one that
    // ended (person-2's unused keys are found again, and said so).
    let today = Utc::now().date_naive();
    p.with_waiver(Waiver::for_user(
        "person-1",
        FindingCode::TooOld,
        today + TimeDelta::days(30),
        "migration in progress",
    ))
    .with_waiver(Waiver::for_user(
        "person-2",
        FindingCode::Unused,
        today - TimeDelta::days(1),
        "seasonal job",
    ))
}

/// Plans, applies and plans again; the promises checked.
async fn converge(specs: Vec<Spec>, forbid_global: bool) -> (usize, usize) {
    let records: Vec<SeedKey> = specs.iter().enumerate().map(|(i, s)| seed(i, s)).collect();
    let server = FakeServer::builder()
        .seed_records(records)
        .start()
        .await
        .expect("server");
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key(server.admin_key())
        .build()
        .expect("client");
    let vault = Vault::default();
    let rotator =
        Rotator::new(client.clone(), MemoryJournal::new(), vault.clone()).with_concurrency(4);
    // A key mid-rotation: the first active key, rotated with an overlap,
    // works out its window.
    let before = keys(&client).await;
    let now = Utc::now();
    if let Some(first) = before
        .iter()
        .find(|k| k.id.starts_with("k-") && h2ogpte_api_keys::KeyState::of(k, now).is_active())
    {
        let plan = RotationPlan::new(first.clone(), Retire::After(TimeDelta::days(7)), now)
            .expect("plannable")
            .with_expires_in("30 days")
            .expect("interval");
        let run = rotator.run(vec![plan], |_| {}).await.expect("run");
        assert!(
            run.outcomes.iter().all(|o| o.is_done()),
            "{:?}",
            run.outcomes
        );
    }
    let before = keys(&client).await;
    let own = own_keys(&client, &before);
    assert_eq!(own.len(), 1, "the caller's key is found by its hint");
    let policy = policy(forbid_global);
    let memory = rotator.memory().await.expect("memory");
    let plan = policy.plan(&before, &memory, &own, Utc::now());
    let changes = plan.iter().filter(|r| r.action.changes()).count();
    if std::env::var_os("PLAN_HISTOGRAM").is_some() {
        let mut seen: Vec<&str> = plan.iter().map(|r| r.action.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        eprintln!("{} keys: {seen:?}", plan.len());
    }
    let applied = apply(&rotator, &plan, |k| k.username.clone())
        .await
        .expect("applied");
    for a in &applied {
        match a {
            Applied::Done { .. } => {}
            Applied::Rotated(o) => assert!(o.is_done(), "{o:?}"),
            other => panic!("{other:?}"),
        }
    }
    let after = keys(&client).await;
    let memory = rotator.memory().await.expect("memory");
    let again = policy.plan(&after, &memory, &own, Utc::now());
    let left: Vec<_> = again
        .iter()
        .filter(|r| {
            !matches!(
                r.action,
                Action::Keep
                    | Action::Waived { .. }
                    | Action::Retiring { .. }
                    | Action::NeedsHuman { .. }
                    | Action::OwnKey
            )
        })
        .map(|r| (&r.key.id, &r.findings, &r.action))
        .collect();
    assert!(left.is_empty(), "a second plan still acts: {left:?}");
    let active = |keys: &[ApiKeyInfo]| {
        let now = Utc::now();
        keys.iter()
            .filter(|k| h2ogpte_api_keys::KeyState::of(k, now).is_active())
            .count()
    };
    assert!(active(&after) <= active(&before), "the active keys grew");
    let deliveries = vault.0.lock().expect("vault").clone();
    let mut olds: Vec<&String> = deliveries.iter().map(|(old, _)| old).collect();
    olds.sort();
    olds.dedup();
    assert_eq!(olds.len(), deliveries.len(), "a key was rotated twice");
    let mine = |keys: &[ApiKeyInfo]| keys.iter().find(|k| own.contains(&k.id)).cloned();
    let (was, is) = (mine(&before).expect("own"), mine(&after).expect("own"));
    assert_eq!(
        (was.is_active, was.expires_at, was.inactivity_interval),
        (is.is_active, is.expires_at, is.inactivity_interval),
        "the caller's key was touched"
    );
    (changes, specs.len())
}

/// [`converge`] on a runtime of its own, as each property case runs.
fn converge_now(specs: Vec<Spec>, forbid_global: bool) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(converge(specs, forbid_global));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_plan_applied_leaves_nothing_to_plan(
        specs in prop::collection::vec(spec(), 10..60),
        forbid_global in any::<bool>(),
    ) {
        converge_now(specs, forbid_global);
    }
}

proptest! {
    // Fewer and larger: the service account holds hundreds of keys, as on
    // a real fleet, and a plan's single calls and rotations run in phases.
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    #[test]
    fn a_large_fleets_plan_applied_leaves_nothing_to_plan(
        specs in prop::collection::vec(spec(), 400..600),
        forbid_global in any::<bool>(),
    ) {
        converge_now(specs, forbid_global);
    }
}
