//! `list` and `show`: formats and filters, a detail view, a server before
//! 1.7, paging through a long or endless listing, a fat page refused.

use crate::common::*;
use h2ogpte_fake_server::FakeServer;
use h2ogpte_test_support::http::json_response;
use h2ogpte_test_support::scripted::key_json;
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::thread;

/// A server whose every page of the listing is full, with ids that follow
/// the offset asked for: an endless listing.
fn endless_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { return };
            let Some(line) =
                h2ogpte_test_support::http::read_request(&mut stream).map(|head| head.first_line)
            else {
                continue;
            };
            let number = |name: &str| -> u64 {
                line.split(['?', '&', ' '])
                    .find_map(|p| p.strip_prefix(name)?.parse().ok())
                    .unwrap_or(0)
            };
            let (offset, limit) = (number("offset="), number("limit="));
            let keys: Vec<String> = (offset..offset + limit)
                .map(|i| key_json(&format!("k-{i}"), "alice"))
                .collect();
            let body = format!("[{}]", keys.join(","));
            let _ = stream.write_all(json_response(200, &body).as_bytes());
        }
    });
    url
}

#[test]
fn list_formats_and_filters() {
    let server = server();
    create(
        &server,
        &[
            "--user",
            "u-alice",
            "--name",
            "ingest",
            "--collection",
            "c-1",
            "--expires-in",
            "1 year",
        ],
    );
    let bob = create(&server, &["--user", "u-bob", "--name", "reports"]);
    let r = run(cli(&server).args(["deactivate", &id_of(&bob)]));
    assert_eq!(r.code, 0, "{}", r.stderr);

    let table = run(cli(&server).args(["list", "--filter", "ALI"]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    redacted().bind(|| insta::assert_snapshot!("list_table", table.stdout));

    let json = run(cli(&server).args(["list", "--all", "-o", "json"]));
    let keys: Vec<Value> = serde_json::from_str(&json.stdout).expect("JSON array");
    assert_eq!(keys.len(), 3, "admin, alice, bob");
    assert!(
        keys.iter().all(|k| k.get("is_global_key").is_some()),
        "the API's own field names"
    );
    let inactive = run(cli(&server).args(["list", "--inactive", "-o", "json"]));
    redacted().bind(|| insta::assert_snapshot!("list_json_inactive", inactive.stdout));

    let ndjson = run(cli(&server).args(["list", "--all", "-o", "ndjson"]));
    assert_eq!(ndjson.stdout.lines().count(), 3);
    for line in ndjson.stdout.lines() {
        serde_json::from_str::<Value>(line).expect("one JSON object per line");
    }
    let active = run(cli(&server).args(["list", "--active", "-o", "ndjson"]));
    assert_eq!(active.stdout.lines().count(), 2);
    let unused = run(cli(&server).args(["list", "--unused-for", "1", "-o", "ndjson"]));
    assert_eq!(
        unused.stdout.lines().count(),
        0,
        "every key is younger than a day"
    );
    let page = run(cli(&server).args(["list", "--offset", "1", "--limit", "1", "-o", "ndjson"]));
    assert_eq!(page.stdout.lines().count(), 1);
}

#[test]
fn show_finds_a_key_by_paging() {
    let server = server();
    let key = create(&server, &["--user", "u-bob", "--name", "one"]);
    let r = run(cli(&server).args(["show", &id_of(&key), "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // One object, not an array.
    let shown: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(shown["name"], "one");
    let missing = run(cli(&server).args(["show", "no-such-key"]));
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no key with id no-such-key"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_server_before_1_7_is_listed_and_its_missing_operation_named() {
    let server = RUNTIME
        .block_on(
            FakeServer::builder()
                .api_version(h2ogpte_fake_server::ApiVersion::V1_6)
                .plain_keys(2)
                .start(),
        )
        .expect("server");
    let r = run(cli(&server).args(["list"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row = r.stdout.lines().nth(1).expect("a key row");
    assert!(row.contains(" - "), "missing values show as -: {row}");
    let json = run(cli(&server).args(["list", "-o", "json"]));
    let keys: Vec<Value> = serde_json::from_str(&json.stdout).expect("JSON");
    assert!(
        keys.iter().all(|k| k.get("total_calls").is_none()),
        "{keys:?}"
    );
    let admin = server.admin_key();
    let plain = keys
        .iter()
        .find(|k| k["hint"] != admin[admin.len() - 4..])
        .expect("a key other than the tool's own");
    let id = plain["id"].as_str().expect("id").to_owned();
    let r = run(cli(&server).args(["inactivity", &id, "--days", "3"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("before h2oGPTe 1.7.0"), "{}", r.stdout);
}

// A listing that never ends stops at --max-keys, and
// JSON and NDJSON are written as keys arrive.
#[test]
fn an_endless_listing_stops_at_max_keys() {
    let server = endless_server();
    for output in ["table", "json", "ndjson"] {
        let r = run(bare()
            .args(["list", "--all", "--max-keys", "1200", "--prefetch", "1"])
            .args(["-o", output, "--server-url", &server])
            .env("H2OGPTE_API_KEY", "sk-admin"));
        assert_eq!(r.code, 1, "{output}: {}", r.stderr);
        assert!(r.stderr.contains("--max-keys"), "{output}: {}", r.stderr);
        assert!(
            r.stdout.contains("k-1199"),
            "written as they came: {output}"
        );
    }
}

// A page with more keys than asked is refused.
#[test]
fn a_fat_page_is_refused() {
    let keys: Vec<String> = (0..10)
        .map(|i| key_json(&format!("k{i}"), "alice"))
        .collect();
    let (url, _) = scripted_server(vec![json_response(200, &format!("[{}]", keys.join(",")))]);
    let r = run(bare()
        .args(["list", "--limit", "5", "--server-url", &url])
        .env("H2OGPTE_API_KEY", "sk-admin"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("ignores `limit`"), "{}", r.stderr);
}

// Prefetch is bounded.
#[test]
fn prefetch_beyond_its_bound_is_a_usage_error() {
    let r = run(bare().args(["list", "--all", "--prefetch", "20000"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("between 1 and 32"), "{}", r.stderr);
}

// A table of many keys is written in chunks whose
// columns continue the first.
#[test]
fn a_long_table_has_one_header_and_every_row() {
    let server = RUNTIME
        .block_on(FakeServer::builder().plain_keys(2_100).start())
        .expect("server");
    let r = run(cli(&server).args(["list", "--all"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2_102, "a header and 2 101 rows");
    assert_eq!(lines.iter().filter(|l| l.contains("STATUS")).count(), 1);
    // Columns by characters: the hint's ellipsis is one character, three bytes.
    let column = |line: &str, word: &str| line.find(word).map(|at| line[..at].chars().count());
    let status_at = column(lines[0], "STATUS");
    for line in &lines[1..] {
        assert_eq!(
            column(line, "active"),
            status_at,
            "the STATUS column lines up: {line:?}"
        );
    }
}

#[test]
fn client_side_filters_see_every_key() {
    let server = RUNTIME
        .block_on(
            FakeServer::builder()
                .user("u-alice", "alice")
                .plain_keys(250)
                .start(),
        )
        .expect("server");
    let last = id_of(&create(&server, &["--user", "u-alice"]));
    assert_eq!(run(cli(&server).args(["deactivate", &last])).code, 0);
    let r = run(cli(&server).args(["list", "--inactive", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let keys: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["id"], last.as_str());
    // --limit counts matches, and more matches are said on stderr.
    let r = run(cli(&server).args(["list", "--active", "--limit", "5", "-o", "ndjson"]));
    assert_eq!(r.stdout.lines().count(), 5, "{}", r.stdout);
    assert!(r.stderr.contains("more keys match"), "{}", r.stderr);
}

#[test]
fn show_is_a_detail_view_and_one_json_object() {
    let server = server();
    let id = id_of(&create(
        &server,
        &[
            "--user",
            "u-alice",
            "--name",
            "svc",
            "--inactivity-days",
            "30",
        ],
    ));
    let r = run(cli(&server).args(["show", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "id:".to_owned(),
        "username:            alice".to_owned(),
        "inactivity_interval: 30 days".to_owned(),
        "expires_at:          never".to_owned(),
    ] {
        assert!(r.stdout.contains(&line), "{line} in {}", r.stdout);
    }
    assert!(
        r.stdout.contains(" UTC"),
        "times name their zone: {}",
        r.stdout
    );
    let r = run(cli(&server).args(["show", &id, "-o", "json"]));
    let shown: Value = serde_json::from_str(&r.stdout).expect("one object");
    assert_eq!(shown["inactivity_interval"], 30);
    let table = run(cli(&server).args(["list"]));
    assert!(table.stdout.contains("INACTIVITY") && table.stdout.contains("30 days"));
    assert!(table.stdout.contains("CREATED (UTC)"), "{}", table.stdout);
}

#[test]
fn output_file_is_replaced_only_by_a_complete_listing() {
    let server = with_findings(3);
    let dir = fleet::scratch("list-output-file").join(format!("{:?}", thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("keys.csv");
    let r = run(cli(&server)
        .args(["list", "--all", "-o", "csv", "--output-file"])
        .arg(&file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "", "the listing went to the file");
    let complete = std::fs::read_to_string(&file).expect("report");
    assert_eq!(complete.lines().count(), 1 + 4, "a header and four keys");
    // A listing that stops early leaves yesterday's file whole, and no
    // temporary file beside it.
    let r = run(cli(&server)
        .args([
            "list",
            "--all",
            "-o",
            "csv",
            "--max-keys",
            "2",
            "--output-file",
        ])
        .arg(&file));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), complete);
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 1);
    // Only the audit speaks OpenMetrics.
    let r = run(cli(&server).args(["list", "-o", "openmetrics"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A report cut short by a full disk (a file size limit here, with the
/// signal it raises ignored, so every write past it fails) never replaces
/// the last good one, and no byte meant for it reaches standard output.
/// The same for the audit's findings in every format; metrics are replaced
/// by the document that says the run failed.
#[test]
fn a_report_cut_short_by_a_full_disk_is_never_taken_for_a_whole_one() {
    // Half with an expiry (each an OpenMetrics series), half without (each
    // a finding).
    let records: Vec<Value> = (0..300)
        .map(|i| {
            let mut key = serde_json::json!({"id": format!("k-{i}"), "user_id": "svc",
                "username": "svc-etl", "name": format!("job {i}"), "created_at": fleet::days(-1),
                "total_calls": 1, "is_active": true});
            if i % 2 == 0 {
                key["expires_at"] = fleet::days(300).into();
            }
            key
        })
        .collect();
    let server = states::seeded_records(Value::Array(records));
    let dir = fleet::scratch("full-disk").join(format!("{:?}", thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("report");
    for (what, args) in [
        ("list", &["list", "--all", "-o", "csv"][..]),
        ("audit table", &["audit", "--require-expiry"][..]),
        (
            "audit ndjson",
            &["audit", "--require-expiry", "-o", "ndjson"][..],
        ),
        (
            "audit openmetrics",
            &["audit", "--require-expiry", "-o", "openmetrics"][..],
        ),
    ] {
        std::fs::write(&file, "yesterday's report\n").expect("write");
        // 16 blocks of 512 bytes: the report is larger.
        let mut argv: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        argv.extend([std::ffi::OsStr::new("--output-file"), file.as_os_str()]);
        let out = run_with_full_disk(&server, 16, &argv);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The audit's code still says what it found; the report is not it.
        let expected = if what == "list" { 1 } else { 4 };
        assert!(
            out.status.code() == Some(expected) || out.status.code() == Some(1),
            "{what}: {stderr}"
        );
        assert!(
            stderr.contains("could not be written whole")
                || stderr.contains("output is incomplete"),
            "{what}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{what}: {} bytes leaked",
            out.stdout.len()
        );
        let kept = std::fs::read_to_string(&file).expect("kept");
        if what == "audit openmetrics" {
            // Metrics say the run failed, rather than serve yesterday's
            // numbers as fresh: the failure document alone, small enough
            // to be written.
            assert!(
                kept.contains("h2ogpte_api_key_audit_success 0\n")
                    && kept.ends_with("# EOF\n")
                    && !kept.contains("h2ogpte_api_keys{"),
                "{what}: {kept}"
            );
        } else {
            assert_eq!(kept, "yesterday's report\n", "{what}");
        }
        assert_eq!(
            std::fs::read_dir(&dir).expect("dir").count(),
            1,
            "{what}: no temporary file left"
        );
    }
}

/// A device or a FIFO given as `--output-file` is refused, never replaced
/// by a regular file (as root, `/dev/null` would be).
#[test]
fn output_file_never_replaces_a_device_or_a_fifo() {
    let server = with_findings(1);
    let dir = fleet::scratch("output-node").join(format!("{:?}", thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let fifo = dir.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let null = dir.join("null");
    std::os::unix::fs::symlink("/dev/null", &null).expect("link");
    for target in [
        fifo.as_path(),
        null.as_path(),
        std::path::Path::new("/dev/null"),
    ] {
        let r = run(cli(&server).args(["list", "--output-file"]).arg(target));
        assert_eq!(r.code, 2, "{}: {}", target.display(), r.stderr);
        assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
        // Nor by the failure document of metrics that were not written.
        let r = run(cli(&server)
            .args([
                "audit",
                "--require-expiry",
                "-o",
                "openmetrics",
                "--output-file",
            ])
            .arg(target));
        assert_eq!(r.code, 2, "{}: {}", target.display(), r.stderr);
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .expect("fifo")
            .file_type()
            .is_fifo()
    );
    assert!(
        std::fs::metadata("/dev/null")
            .expect("null")
            .file_type()
            .is_char_device()
    );
}

/// `--user NAME` is exact on `list`, `audit` and `plan`: the API's filter
/// is a substring, and `svc-etl` must not act on `svc-etl-staging`.
#[test]
fn an_exact_user_leaves_a_user_whose_name_contains_it() {
    let key = |id: &str, user: &str| {
        json!({"id": id, "user_id": user, "username": user, "name": "job",
            "created_at": fleet::days(-1), "total_calls": 1, "is_active": true})
    };
    let server = states::seeded_records(Value::Array(vec![
        key("e-1", "svc-etl"),
        key("e-2", "svc-etl"),
        key("s-1", "svc-etl-staging"),
    ]));
    let ids = |args: &[&str]| -> Vec<String> {
        let r = run(cli(&server).args(args).args(["-o", "json"]));
        assert!(matches!(r.code, 0 | 4), "{args:?}: {}", r.stderr);
        let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
        let mut ids: Vec<String> = rows
            .iter()
            .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    assert_eq!(ids(&["list", "--user", "svc-etl"]), ["e-1", "e-2"]);
    assert_eq!(
        ids(&["list", "--filter", "svc-etl"]).len(),
        3,
        "the filter is a substring"
    );
    assert_eq!(
        ids(&["audit", "--require-expiry", "--user", "svc-etl"]),
        ["e-1", "e-2"]
    );
    assert_eq!(
        ids(&["plan", "--require-expiry", "--user", "svc-etl"]),
        ["e-1", "e-2"]
    );
    let r = run(cli(&server).args(["list", "--user", "a", "--filter", "b"]));
    assert_eq!(r.code, 2, "one or the other: {}", r.stderr);
}
