//! No input date or interval makes the library panic.
//! The interval parser, a rotation's window and the policy's day counts are
//! fed the extremes (the largest counts, the earliest and latest dates
//! chrono holds) and either answer or refuse with an error.

use chrono::{DateTime, TimeDelta, Utc};
use h2ogpte_api_keys::{
    Error, parse_interval,
    policy::Policy,
    rotation::{Retire, RotationPlan, RotationStop},
    types::ApiKeyInfo,
};
use proptest::prelude::*;

const UNITS: &[&str] = &[
    "second", "seconds", "minute", "hours", "day", "days", "week", "months", "year", "years",
];

fn key(created_at: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> ApiKeyInfo {
    serde_json::from_value(serde_json::json!({
        "id": "k-1", "username": "svc", "name": "ingest", "hint": "abcd",
        "created_at": created_at, "expires_at": expires_at,
        "last_used_at": created_at, "inactivity_interval": 30,
        "total_calls": 1, "is_active": true, "is_global_key": true
    }))
    .expect("a key")
}

/// A date anywhere chrono can hold one, the extremes included.
fn any_date() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp())
            .prop_map(|s| DateTime::from_timestamp(s, 0).expect("in range")),
    ]
}

fn any_window() -> impl Strategy<Value = TimeDelta> {
    prop_oneof![
        Just(TimeDelta::MAX),
        Just(TimeDelta::MIN),
        Just(TimeDelta::zero()),
        (i64::MIN / 1000..=i64::MAX / 1000).prop_map(|ms| TimeDelta::milliseconds(ms)),
    ]
}

proptest! {
    // A fixed seed: the same cases every run, so a failure reproduces.
    #![proptest_config(ProptestConfig {
        cases: 512,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6578_7472_656d_6573),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_interval_parser_answers_or_refuses(
        count in prop_oneof![Just(i64::MAX), Just(i64::MIN), any::<i64>()],
        unit in proptest::sample::select(UNITS),
        pairs in 1usize..4,
    ) {
        let text = vec![format!("{count} {unit}"); pairs].join(" ");
        match parse_interval(&text) {
            Ok(d) => prop_assert!(d > TimeDelta::zero()),
            Err(e) => prop_assert!(e.to_string().contains("not an interval"), "{e}"),
        }
    }

    #[test]
    fn a_rotation_plan_never_panics_on_a_window_or_a_date(
        window in any_window(),
        now in any_date(),
        created in any_date(),
        expires in proptest::option::of(any_date()),
    ) {
        let old = key(created.min(now), expires);
        match RotationPlan::new(old, Retire::After(window), now) {
            Ok(plan) => {
                let stops = plan.old_key_stops_at().expect("an overlap has an end");
                prop_assert!(stops >= now || expires.is_some_and(|at| stops == at));
                prop_assert!(window > TimeDelta::zero());
            }
            Err(Error::Rotation(f)) => {
                let refused = matches!(
                    f.stop,
                    RotationStop::Window
                        | RotationStop::Expired { .. }
                        | RotationStop::Idle { .. }
                        | RotationStop::Deactivated
                );
                prop_assert!(refused, "unexpected {f:?}");
            }
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    #[test]
    fn the_policy_judges_any_dates_with_any_limits(
        days in prop_oneof![Just(u32::MAX), Just(0u32), any::<u32>()],
        now in any_date(),
        created in any_date(),
        expires in proptest::option::of(any_date()),
    ) {
        let policy = Policy::default()
            .with_require_expiry(true)
            .with_max_lifetime_days(Some(days))
            .with_max_age_days(Some(days))
            .with_unused_for_days(Some(days))
            .with_expiring_within_days(Some(days))
            .with_inactive_for_days(Some(days));
        let _ = policy.evaluate(&key(created, expires), now);
    }
}
