//! What an async service relies on: every future and stream of the async
//! client is `Send`, so it can be awaited in an axum handler or passed to
//! `tokio::spawn`. The first half fails to compile when one stops being
//! `Send`; the second runs each through `tokio::spawn` on a multi-thread
//! runtime against the fake server.

use crate::support::serve;
use chrono::{TimeDelta, Utc};
use futures::TryStreamExt;
use h2ogpte_api_keys::{
    CallOptions, Client, CreateKey, ListQuery,
    policy::{FindingCode, Policy},
    rotation::Retire,
    types,
};
use h2ogpte_fake_server::FakeServer;

fn send<T: Send>(value: T) -> T {
    value
}

fn shared<T: Clone + Send + Sync + 'static>() {}

fn sendable<T: Send + Sync + 'static>() {}

/// The streams own what they need: they outlive the client's borrow and
/// the query's, so a handler can return one (axum's `Body::from_stream`)
/// or move it into a task.
fn owned<T: Send + 'static>(value: T) -> T {
    value
}

/// Never run: it only has to compile.
#[allow(dead_code)]
fn streams_are_static(client: &Client) -> impl Send + 'static {
    let query = ListQuery::new().with_filter("alice");
    let keys = owned(client.stream_all_api_keys(&query));
    let audit = owned(client.audit(&query, &Policy::recommended(), Utc::now()));
    drop(query);
    (keys, audit)
}

/// Never run: it only has to compile. Every public future and stream of
/// the async client, and of a view with per-call options.
#[allow(dead_code, clippy::let_underscore_future)]
fn every_future_is_send(client: &Client, plan: h2ogpte_api_keys::rotation::RotationPlan) {
    shared::<Client>();
    sendable::<h2ogpte_api_keys::Error>();
    sendable::<h2ogpte_api_keys::rotation::Rotation>();
    let view = client.with_options(CallOptions::new());
    for c in [client, &view] {
        let query = ListQuery::new();
        let _ = send(c.create_api_key_for_user(CreateKey::for_user("u")));
        let _ = send(c.create_api_key_for_user(types::ApiKeyCreateRequest::builder().user_id("u")));
        let _ = send(c.list_all_api_keys(&query));
        let _ = send(c.stream_all_api_keys(&query));
        let _ = send(c.collect_all_api_keys(&query));
        let _ = send(c.deactivate_api_key("k"));
        let _ = send(c.delete_api_key("k"));
        let _ = send(c.update_api_key_expiry("k", types::ApiKeyUpdateExpiryRequest::builder()));
        let _ = send(c.set_api_key_expiry("k", "1 day"));
        let _ = send(c.remove_api_key_expiry("k"));
        let _ = send(c.update_api_key_inactivity_interval(
            "k",
            types::ApiKeyUpdateInactivityIntervalRequest::builder(),
        ));
        let _ = send(c.set_api_key_inactivity_interval("k", 30));
        let _ = send(c.remove_api_key_inactivity_interval("k"));
        let _ = send(c.find_api_key("k"));
        let _ = send(c.plan_rotation("k", Retire::Deactivate));
        let _ = send(c.rotate_api_key("k", "u", Retire::Deactivate));
        let _ = send(c.audit(&query, &Policy::recommended(), Utc::now()));
    }
    let _ = send(plan.clone().create(client));
    let _ = send(async move {
        let rotation = plan.create(client).await?;
        let _ = send(rotation.retire_old(client)).await;
        let _ = send(rotation.undo(client));
        let _ = send(rotation.restore_old_expiry(client));
        send(rotation.withdraw(client)).await
    });
}

/// A sink that delivers nowhere: for the engine's futures' types.
struct Nowhere;

impl h2ogpte_api_keys::rotation::Deliver for Nowhere {
    async fn deliver(
        &self,
        _secret: &h2ogpte_api_keys::Secret,
        _key: h2ogpte_api_keys::rotation::Handover<'_>,
    ) -> Result<String, h2ogpte_api_keys::rotation::DeliveryError> {
        Ok("nowhere".to_owned())
    }

    fn target(&self, _old: &types::ApiKeyInfo) -> String {
        "nowhere".to_owned()
    }
}

/// Never run: it only has to compile. The engine and a plan's carrying
/// out, moved into a task as a service would (an MCP tool's future, a
/// spawned job): `Send + 'static` with everything they borrow owned.
#[allow(dead_code, clippy::let_underscore_future)]
fn the_engine_runs_in_a_task(client: Client, rows: Vec<h2ogpte_api_keys::plan::PlanRow>) {
    use h2ogpte_api_keys::rotation::{MemoryJournal, Rotator};
    let rotator = Rotator::new(client, MemoryJournal::new(), Nowhere);
    let _ = owned(async move {
        let _ = rotator.run(Vec::new(), |_| {}).await;
        let _ = rotator.resume(|_| {}).await;
        h2ogpte_api_keys::plan::apply(&rotator, &rows, |k| k.username.clone()).await
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_runs_in_a_spawned_task() {
    let (_server, client) = serve(FakeServer::builder().user("u-1", "alice")).await;
    let c = client.clone();
    let created = tokio::spawn(async move {
        c.create_api_key_for_user(CreateKey::for_user("u-1").name("ingest"))
            .await
    })
    .await
    .expect("the task ends")
    .expect("created");
    let id = created.api_key.id.clone();

    let mut tasks = tokio::task::JoinSet::new();
    {
        let (c, id) = (client.clone(), id.clone());
        tasks.spawn(async move { c.set_api_key_expiry(&id, "30 days").await.map(|_| "expiry") });
    }
    {
        let (c, id) = (client.clone(), id.clone());
        tasks.spawn(async move {
            c.set_api_key_inactivity_interval(&id, 30)
                .await
                .map(|_| "interval")
        });
    }
    {
        let c = client.clone();
        tasks.spawn(async move {
            let query = ListQuery::new().with_filter("alice");
            let page = c.list_all_api_keys(&query).await?;
            let streamed: Vec<_> = c.stream_all_api_keys(&query).try_collect().await?;
            assert_eq!(page.len(), streamed.len());
            Ok("list")
        });
    }
    {
        let c =
            client.with_options(CallOptions::new().with_timeout(std::time::Duration::from_secs(5)));
        let id = id.clone();
        tasks.spawn(async move {
            c.find_api_key(&id)
                .await
                .map(|k| k.map_or("none", |_| "find"))
        });
    }
    let mut done: Vec<&str> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        done.push(joined.expect("the task ends").expect("the call succeeds"));
    }
    done.sort_unstable();
    assert_eq!(done, ["expiry", "find", "interval", "list"]);

    // The composites and the audit stream, each in a task of its own.
    let c = client.clone();
    let rotated = tokio::spawn(async move {
        c.rotate_api_key(&id, "u-1", Retire::After(TimeDelta::days(7)))
            .await
    })
    .await
    .expect("the task ends")
    .expect("rotated");
    // Made here, from borrows, and moved into the task whole.
    let audit = {
        let query = ListQuery::new().with_filter("alice");
        client.audit(&query, &Policy::recommended(), Utc::now())
    };
    let audited = tokio::spawn(async move {
        audit
            .map_ok(|judged| {
                let codes: Vec<_> = judged.findings.iter().map(|f| f.code).collect();
                (judged.key.id, codes)
            })
            .try_collect::<Vec<_>>()
            .await
    })
    .await
    .expect("the task ends")
    .expect("audited");
    // The old key expires at the end of its 7-day overlap; the new one is clean.
    let old_findings = audited.iter().find(|(k, _)| *k == rotated.old.id);
    assert_eq!(
        old_findings.map(|(_, codes)| codes.as_slice()),
        Some([FindingCode::ExpiringSoon].as_slice()),
        "{audited:?}"
    );
    let new_findings = audited
        .iter()
        .find(|(k, _)| *k == rotated.created.api_key.id);
    assert_eq!(new_findings.map(|(_, c)| c.len()), Some(0), "{audited:?}");
    let c = client.clone();
    let new = rotated.created.api_key.id.clone();
    tokio::spawn(async move {
        c.deactivate_api_key(&new).await?;
        c.delete_api_key(&new).await?;
        c.remove_api_key_expiry(&rotated.old.id).await?;
        c.remove_api_key_inactivity_interval(&rotated.old.id).await
    })
    .await
    .expect("the task ends")
    .expect("cleaned up");
}
