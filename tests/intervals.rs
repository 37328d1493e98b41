//! The client's interval parser (`parse_interval`) and the fake server's own
//! reading of `expires_in` (written apart, as the real server's is apart from
//! any client) agree on the same inputs: what one refuses the other
//! refuses, and what both read comes to the same expiry.

use crate::support::serve;
use chrono::{TimeDelta, Utc};
use h2ogpte_api_keys::{CreateKey, ErrorKind, parse_interval};
use h2ogpte_fake_server::FakeServer;

/// Counts and units around every edge of the grammar: signs, zero, case,
/// plurals, unknown units, counts past what a date can hold.
fn inputs() -> Vec<String> {
    let counts = [
        "-1",
        "0",
        "1",
        "7",
        "+3",
        "1.5",
        "36500",
        "9223372036854775807",
        "x",
    ];
    let units = [
        "second",
        "seconds",
        "minute",
        "minutes",
        "hour",
        "hours",
        "Day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "fortnight",
        "",
    ];
    let mut inputs: Vec<String> = counts
        .iter()
        .flat_map(|count| units.iter().map(move |unit| format!("{count} {unit}")))
        .collect();
    inputs.extend(
        [
            "",
            "   ",
            "days",
            "1 day 12 hours",
            "2 weeks -1 day",
            "1 day -1 day",
            "30\tdays",
            " 30 days ",
            "30 days 1",
            "1 year 1 year 1 year",
        ]
        .map(str::to_owned),
    );
    inputs
}

#[tokio::test]
async fn the_client_and_the_fake_server_read_intervals_alike() {
    let (_server, client) = serve(FakeServer::builder().user("u-alice", "alice")).await;
    let key = client
        .create_api_key_for_user(CreateKey::for_user("u-alice"))
        .await
        .expect("a key")
        .api_key
        .id;
    let mut disagreements = Vec::new();
    for text in inputs() {
        let before = Utc::now();
        let served = client.set_api_key_expiry(&key, &text).await;
        let parsed = parse_interval(&text);
        match (&parsed, served) {
            (Ok(delta), Ok(())) => {
                let listed = client
                    .find_api_key(&key)
                    .await
                    .expect("the key lists")
                    .and_then(|k| k.expires_at)
                    .expect("an expiry");
                let expected = before + *delta;
                if (listed - expected).abs() > TimeDelta::seconds(5) {
                    disagreements.push(format!(
                        "{text:?}: the client reads {delta}, the server set {listed} (expected about {expected})"
                    ));
                }
            }
            (Err(_), Err(e)) if e.kind() == ErrorKind::BadRequest => {}
            // A reading both accept that ends past the year 9999 is the
            // server's to refuse: no date on the wire could carry it.
            (Ok(delta), Err(e))
                if e.kind() == ErrorKind::BadRequest
                    && before
                        .checked_add_signed(*delta)
                        .is_none_or(|at| chrono::Datelike::year(&at) > 9999) => {}
            (parsed, served) => disagreements.push(format!(
                "{text:?}: the client says {:?}, the server {served:?}",
                parsed
                    .as_ref()
                    .map(ToString::to_string)
                    .map_err(ToString::to_string)
            )),
        }
    }
    assert!(
        disagreements.is_empty(),
        "the two readings of an interval differ:\n{}",
        disagreements.join("\n")
    );
}
