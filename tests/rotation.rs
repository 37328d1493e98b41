//! Rotation as a library composite over the six calls, against
//! the fake server: at once or with an overlap window, never extending the
//! old key's life, refusing a window the server would not allow before
//! anything is created, and keeping one replacement when two race.

use crate::support::serve;
use chrono::{TimeDelta, Utc};
use h2ogpte_api_keys::{
    Client, CreateKey, Error, ErrorKind,
    rotation::{OldExpiry, OldKey, Retire, RotationPlan, RotationStop},
};
use h2ogpte_fake_server::{FakeServer, FakeServerBuilder};

async fn start(builder: FakeServerBuilder) -> (FakeServer, Client) {
    serve(builder.user("alice", "alice")).await
}

async fn key(client: &Client, expires_in: Option<&str>) -> String {
    let mut request = CreateKey::for_user("alice").name("ingest");
    if let Some(interval) = expires_in {
        request = request.expires_in(interval);
    }
    let created = client
        .create_api_key_for_user(request)
        .await
        .expect("a key");
    created.api_key.id
}

async fn find(client: &Client, id: &str) -> h2ogpte_api_keys::types::ApiKeyInfo {
    client
        .find_api_key(id)
        .await
        .expect("listing")
        .expect("the key exists")
}

fn close(a: chrono::DateTime<Utc>, b: chrono::DateTime<Utc>) -> bool {
    (a - b).abs() < TimeDelta::seconds(30)
}

#[tokio::test]
async fn a_rotation_at_once_deactivates_the_old_key() {
    let (_server, client) = start(FakeServer::builder()).await;
    let old = key(&client, Some("30 days")).await;
    let rotated = client
        .rotate_api_key(&old, "alice", Retire::Deactivate)
        .await
        .expect("rotated");
    assert!(
        matches!(rotated.old_key, OldKey::Deactivated),
        "{:?}",
        rotated.old_key
    );
    let new = find(&client, &rotated.created.api_key.id).await;
    assert_eq!(
        (new.username.as_str(), new.name.as_str()),
        ("alice", "ingest")
    );
    let remaining = new.expires_at.expect("the remaining expiry carries over") - Utc::now();
    assert!(remaining > TimeDelta::days(29), "{remaining}");
    assert!(!find(&client, &old).await.is_active);
    // A revoked key is not rotated: that would hand its access back.
    let err = client
        .rotate_api_key(&old, "alice", Retire::Deactivate)
        .await
        .expect_err("inactive");
    assert!(err.to_string().contains("grants no access"), "{err}");
    assert!(
        matches!(&err, Error::Rotation(f) if f.stop == RotationStop::Deactivated),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::RefusedBeforeSending);
}

#[tokio::test]
async fn one_call_rotates_for_a_user_whose_id_is_not_the_username() {
    let (server, client) = start(FakeServer::builder().user("6f3c1f0e-uuid", "carol")).await;
    let old = client
        .create_api_key_for_user(
            CreateKey::for_user("6f3c1f0e-uuid")
                .name("grafana")
                .expires_in("30 days"),
        )
        .await
        .expect("a key")
        .api_key;
    let window = Retire::After(TimeDelta::days(7));
    // The username is not the id: the create fails, and nothing changed.
    let keys = server.key_count();
    let err = client
        .rotate_api_key(&old.id, &old.username, window)
        .await
        .expect_err("carol is a username, not an id");
    let Error::Rotation(failure) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(failure.stop, RotationStop::Create);
    assert!(
        matches!(failure.old_expiry, OldExpiry::PutBack),
        "{failure:?}"
    );
    assert_eq!(failure.orphan, None);
    assert_eq!(failure.user_id.as_deref(), Some("carol"));
    assert_eq!(err.kind(), ErrorKind::NotFound, "the create's 404");
    let message = err.to_string();
    for part in [
        "rotating key",
        "user id carol",
        "nothing was created",
        "put back",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    assert_eq!(server.key_count(), keys);
    let unchanged = find(&client, &old.id).await;
    assert!(close(
        unchanged.expires_at.expect("an expiry"),
        old.expires_at.expect("an expiry")
    ));
    // With the id, one call does it.
    let rotated = client
        .rotate_api_key(&old.id, "6f3c1f0e-uuid", window)
        .await
        .expect("rotated");
    assert_eq!(rotated.created.api_key.username, "carol");
    assert!(matches!(rotated.old_key, OldKey::ExpiresAt(_)));
}

#[tokio::test]
async fn an_overlap_shortens_the_old_key_and_never_extends_it() {
    let (_server, client) = start(FakeServer::builder()).await;
    let old = key(&client, None).await;
    let rotated = client
        .rotate_api_key(&old, "alice", Retire::After(TimeDelta::days(7)))
        .await
        .expect("rotated");
    let OldKey::ExpiresAt(stops) = rotated.old_key else {
        panic!("{:?}", rotated.old_key);
    };
    assert!(close(stops, Utc::now() + TimeDelta::days(7)), "{stops}");
    let old_now = find(&client, &old).await;
    assert!(old_now.is_active, "it keeps working in the window");
    assert!(close(old_now.expires_at.expect("an expiry now"), stops));
    // A key that expires within the window keeps its own, earlier expiry.
    let short = key(&client, Some("2 days")).await;
    let before = find(&client, &short).await.expires_at;
    let rotated = client
        .rotate_api_key(&short, "alice", Retire::After(TimeDelta::days(30)))
        .await
        .expect("rotated");
    assert!(matches!(rotated.old_key, OldKey::ExpiresAt(at) if Some(at) == before));
    assert_eq!(
        find(&client, &short).await.expires_at,
        before,
        "never extended"
    );
}

#[tokio::test]
async fn a_window_the_server_refuses_changes_and_creates_nothing() {
    let (server, client) = start(FakeServer::builder().max_expiry_days(5)).await;
    let old = key(&client, None).await;
    let keys = server.key_count();
    let err = client
        .rotate_api_key(&old, "alice", Retire::After(TimeDelta::days(10)))
        .await
        .expect_err("beyond the server's longest expiry");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert!(
        matches!(&err, Error::Rotation(f)
            if f.stop == RotationStop::Shorten && matches!(f.old_expiry, OldExpiry::Unchanged)),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(server.key_count(), keys, "nothing was created");
    assert_eq!(find(&client, &old).await.expires_at, None, "unchanged");
}

#[tokio::test]
async fn a_key_for_another_user_is_deleted_again_and_the_old_expiry_restored() {
    let (server, client) = start(FakeServer::builder().user("u-bob", "bob")).await;
    let old = key(&client, None).await;
    let keys = server.key_count();
    let plan = client
        .plan_rotation(&old, Retire::After(TimeDelta::days(3)))
        .await
        .expect("plan")
        .for_user("u-bob");
    let err = plan.create(&client).await.expect_err("another user");
    assert!(
        matches!(&err, Error::Rotation(f)
            if matches!(f.stop, RotationStop::WrongUser { .. })
                && matches!(f.old_expiry, OldExpiry::PutBack)
                && f.orphan.is_none()),
        "{err:?}"
    );
    assert!(err.to_string().contains("deleted again"), "{err}");
    assert_eq!(server.key_count(), keys);
    assert_eq!(find(&client, &old).await.expires_at, None, "restored");
}

/// Two keys of one service account with the same name
/// and collection are rotated one after the other: neither rotation takes
/// the other's key for a rival, and each keeps its own replacement.
#[tokio::test]
async fn same_named_keys_are_not_rivals() {
    let (_server, client) = start(FakeServer::builder()).await;
    let (a, b) = (key(&client, None).await, key(&client, None).await);
    let window = Retire::After(TimeDelta::days(7));
    let rotated_a = client.rotate_api_key(&a, "alice", window).await.expect("a");
    let rotated_b = client.rotate_api_key(&b, "alice", window).await.expect("b");
    for rotated in [&rotated_a, &rotated_b] {
        let OldKey::ExpiresAt(at) = rotated.old_key else {
            panic!("{:?}", rotated.old_key);
        };
        assert!(close(at, Utc::now() + TimeDelta::days(7)), "{at}");
        assert!(find(&client, &rotated.created.api_key.id).await.is_active);
    }
    // Rotating a replacement again minutes later is no race either.
    let again = client
        .rotate_api_key(&rotated_a.created.api_key.id, "alice", window)
        .await
        .expect("again");
    assert!(find(&client, &again.created.api_key.id).await.is_active);
}

/// A key deactivated between the plan and the create's
/// check gets no replacement. (With an overlap the server refuses to
/// shorten a deactivated key first, so nothing is created at all.)
#[tokio::test]
async fn a_key_revoked_while_it_is_rotated_gets_no_replacement() {
    let (server, client) = start(FakeServer::builder()).await;
    let old = key(&client, None).await;
    let plan = client
        .plan_rotation(&old, Retire::Delete)
        .await
        .expect("plan");
    client
        .deactivate_api_key(&old)
        .await
        .expect("revoked meanwhile");
    let keys = server.key_count();
    let err = plan.create(&client).await.expect_err("revoked");
    assert!(
        matches!(&err, Error::Rotation(f) if f.stop == RotationStop::RevokedMeanwhile && f.orphan.is_none()),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        server.key_count(),
        keys,
        "the replacement was deleted again"
    );
}

/// The overlap's end is the server's: the old key's expiry as listed once
/// the replacement exists.
#[tokio::test]
async fn an_overlap_reports_the_end_the_server_has() {
    let (_server, client) = start(FakeServer::builder()).await;
    let old = key(&client, None).await;
    let rotation = client
        .plan_rotation(&old, Retire::After(TimeDelta::days(3)))
        .await
        .expect("plan")
        .create(&client)
        .await
        .expect("created");
    let listed = find(&client, &old).await.expires_at.expect("an expiry");
    assert_eq!(rotation.old_key_stops_at(), listed);
    assert!(matches!(rotation.retire_old(&client).await, OldKey::ExpiresAt(at) if at == listed));
}

#[test]
fn a_plan_is_pure_and_says_when_the_old_key_stops() {
    let now = Utc::now();
    // From JSON, so a field a new release adds does not break this test.
    let old: h2ogpte_api_keys::types::ApiKeyInfo = serde_json::from_value(serde_json::json!({
        "id": "k-1", "username": "svc", "name": "ingest", "hint": "abcd",
        "created_at": now - TimeDelta::days(100),
        "expires_at": now + TimeDelta::days(3),
        "inactivity_interval": 30, "total_calls": 1, "is_active": true,
        "collection_id": "c-1", "collection_name": "Reports", "is_global_key": false
    }))
    .expect("a key");
    let plan =
        RotationPlan::new(old.clone(), Retire::After(TimeDelta::days(7)), now).expect("plan");
    assert_eq!(
        plan.old_key_stops_at(),
        old.expires_at,
        "the earlier of the two"
    );
    assert_eq!(plan.request().collection_id.as_deref(), Some("c-1"));
    assert_eq!(plan.request().inactivity_interval, Some(30));
    assert_eq!(plan.request().expires_in.as_deref(), Some("259200 seconds"));
    let plan =
        RotationPlan::new(old.clone(), Retire::After(TimeDelta::days(1)), now).expect("plan");
    assert_eq!(plan.old_key_stops_at(), Some(now + TimeDelta::days(1)));
    assert!(RotationPlan::new(old.clone(), Retire::After(TimeDelta::zero()), now).is_err());
    let mut expired = old;
    expired.expires_at = Some(now);
    assert!(RotationPlan::new(expired, Retire::Delete, now).is_err());
}

#[test]
fn a_window_past_any_date_is_refused_not_a_panic() {
    let now = Utc::now();
    let old: h2ogpte_api_keys::types::ApiKeyInfo = serde_json::from_value(serde_json::json!({
        "id": "k-1", "username": "svc", "name": "ingest", "hint": "abcd",
        "created_at": now - TimeDelta::days(1), "expires_at": null,
        "inactivity_interval": null, "total_calls": 0, "is_active": true,
        "collection_id": null, "collection_name": null, "is_global_key": false
    }))
    .expect("a key");
    for window in [
        TimeDelta::MAX,
        TimeDelta::MIN,
        TimeDelta::days(300_000 * 366),
    ] {
        let err = RotationPlan::new(old.clone(), Retire::After(window), now)
            .expect_err("no date that far");
        assert!(
            matches!(&err, Error::Rotation(f) if f.stop == RotationStop::Window),
            "{err:?}"
        );
    }
}
