//! The binary's contract: the URL and admin key as its first two stdout lines,
//! a working API on that URL, and a clean exit on SIGTERM and SIGINT.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use h2ogpte_test_support::http::exchange as http;

struct Running {
    child: Child,
    url: String,
    key: String,
}

fn start(args: &[&str]) -> Running {
    start_command(Command::new(env!("CARGO_BIN_EXE_h2ogpte-fake-server")).args(args))
}

/// Starts the binary with at most `fds` open file descriptors.
fn start_with_fd_limit(fds: u32, args: &[&str]) -> Running {
    start_command(
        Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {fds} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_h2ogpte-fake-server"))
            .args(args),
    )
}

fn start_command(command: &mut Command) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line").expect("utf-8 line");
    let first = next();
    let second = next();
    let url = first
        .strip_prefix("H2OGPTE_SERVER_URL=")
        .expect("first line is the URL")
        .to_owned();
    let key = second
        .strip_prefix("H2OGPTE_API_KEY=")
        .expect("second line is the key")
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    Running { child, url, key }
}

fn stop(mut running: Running, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), running.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(exit) = running.child.try_wait().expect("wait") {
            assert!(exit.success(), "clean exit on {signal}: {exit:?}");
            return;
        }
        if Instant::now() > deadline {
            let _ = running.child.kill();
            panic!("no exit within 10 s of {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn prints_url_and_key_then_serves_until_sigterm() {
    let server = start(&[
        "--user",
        "u1:alice",
        "--collection",
        "c1:Reports:u1",
        "--seed-keys",
        "3",
    ]);
    let keys = list_keys(&server);
    assert_eq!(
        keys.as_array().expect("array").len(),
        4,
        "admin key and three seeded: {keys}"
    );
    let (status, body) = http(
        &server.url,
        "POST",
        "/api/v1/admin/api_keys",
        Some(&server.key),
        Some(r#"{"user_id":"u1","collection_id":"c1"}"#),
    );
    assert!(status.contains("201"), "{status} {body}");
    assert!(body.contains("\"collection_name\":\"Reports\""), "{body}");
    let (status, _) = http(&server.url, "GET", "/api/v1/admin/api_keys", None, None);
    assert!(status.contains("401"), "{status}");
    let (status, spec) = http(&server.url, "GET", "/api-spec.yaml", None, None);
    assert!(status.contains("200") && spec.contains("operationId: list_all_api_keys"));
    stop(server, "TERM");
}

#[test]
fn uses_the_given_admin_key_and_stops_on_sigint() {
    let server = start(&[
        "--admin-key",
        "sk-given-admin-key",
        "--max-expiry-days",
        "7",
    ]);
    assert_eq!(server.key, "sk-given-admin-key");
    let (status, body) = http(
        &server.url,
        "POST",
        "/api/v1/admin/api_keys",
        Some("sk-given-admin-key"),
        Some(r#"{"user_id":"admin","expires_in":"8 days"}"#),
    );
    assert!(
        status.contains("400") && body.contains("7 days"),
        "{status} {body}"
    );
    stop(server, "INT");
}

#[test]
fn bad_arguments_fail_with_a_message() {
    for args in [
        &["--user", ":x"][..],
        &["--collection", "c1:Reports"],
        &["--collection", "c1:R:nobody"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_h2ogpte-fake-server"))
            .args(args)
            .output()
            .expect("runs");
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "nothing on stdout for {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("h2ogpte-fake-server:"), "{args:?}: {err}");
    }
}

// The ready lines come after the signal handlers, so a
// supervisor that signals right after them stops the server cleanly.
#[test]
fn a_signal_right_after_the_ready_lines_stops_it_cleanly() {
    for signal in ["INT", "TERM", "INT", "TERM"] {
        stop(start(&[]), signal);
    }
}

#[test]
fn counts_beyond_their_bounds_are_usage_errors() {
    for args in [
        &["--seed-keys", "4294967295"][..],
        &["--seed-keys", "1000001"],
        &["--latency-ms", "99999999999"],
        &["--max-expiry-days", "0"],
        &["--idle-timeout", "1e30"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_h2ogpte-fake-server"))
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "no ready lines for {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(args[0]), "{args:?}: {err}");
    }
}

/// A connection holding a create whose head is whole and whose body is cut
/// off after a few of its 100 declared bytes.
fn half_sent_create(server: &Running) -> TcpStream {
    let addr = server.url.strip_prefix("http://").expect("http url");
    let mut stream = TcpStream::connect(addr).expect("connects");
    let request = format!(
        "POST /api/v1/admin/api_keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user",
        server.key
    );
    stream.write_all(request.as_bytes()).expect("sends");
    stream
}

/// Whether the server closes `stream` (end of stream or reset) within 15 s.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or similar before the close is fine.
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// Polls a list until it answers 200, for at most 20 s.
fn serves_again(server: &Running) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let ok = std::panic::catch_unwind(|| {
            http(
                &server.url,
                "GET",
                "/api/v1/admin/api_keys",
                Some(&server.key),
                None,
            )
            .0
        })
        .is_ok_and(|status| status.contains("200"));
        if ok {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

// Idle and half-sent connections time out, and the
// server recovers from running out of file descriptors.
#[test]
fn idle_connections_time_out_and_the_server_recovers_from_fd_exhaustion() {
    let server = start_with_fd_limit(64, &["--header-read-timeout", "1", "--idle-timeout", "2"]);
    let addr = server
        .url
        .strip_prefix("http://")
        .expect("http url")
        .to_owned();
    // More silent connections than the server has descriptors for.
    let mut idle: Vec<TcpStream> = (0..120)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    // Half a request head, and a whole head with half its body.
    let mut half_head = TcpStream::connect(&addr).expect("connects");
    half_head
        .write_all(b"GET /api/v1/admin/api_keys HTTP/1.1\r\nHost: x\r\n")
        .expect("sends");
    let mut half_body = half_sent_create(&server);
    assert!(
        serves_again(&server),
        "the server serves again once idle connections are closed"
    );
    assert!(closed_by_server(&mut half_head), "half a head is closed");
    assert!(closed_by_server(&mut half_body), "half a body is closed");
    assert!(
        closed_by_server(&mut idle[0]),
        "a silent connection is closed"
    );
    idle.clear();
    stop(server, "TERM");
}

// Shutdown has a deadline, even with a request half sent.
#[test]
fn shutdown_completes_while_a_client_holds_a_half_sent_request() {
    let server = start(&["--shutdown-grace", "1"]);
    let stream = half_sent_create(&server);
    // A whole request on a later connection answered: the server has
    // accepted the half-sent one (accepted first) and is serving.
    list_keys(&server);
    stop(server, "TERM");
    drop(stream);
}

/// This crate's README's seed file example loads, and a bad seed file stops
/// the binary before its ready lines with a message naming the record.
#[test]
fn a_seed_file_loads_or_names_its_bad_record() {
    let readme = include_str!("../README.md");
    let example = readme
        .split("```json\n")
        .skip(1)
        .find_map(|block| block.split("```").next().filter(|b| b.contains("user_id")))
        .expect("the README shows a seed file");
    let dir = std::env::temp_dir().join(format!("fake-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("seed.json");
    std::fs::write(&path, example).expect("write");
    let server = start(&["--seed-file", path.to_str().expect("utf-8")]);
    let keys = list_keys(&server);
    assert_eq!(
        keys.as_array().map(Vec::len),
        Some(3),
        "two seeded and the admin key"
    );
    stop(server, "TERM");
    std::fs::write(
        &path,
        example.replacen(
            "\"created_at\": \"2024",
            "\"created_at\": \"yesterday 2024",
            1,
        ),
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_h2ogpte-fake-server"))
        .args(["--seed-file", path.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no ready lines");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("record 0 (id \"k-forever\")") && err.contains("created_at"),
        "{err}"
    );
    // Records are read one at a time, so an array of a
    // million non-objects is refused at its first, not parsed whole.
    let zeros = format!("[{}0]", "0,".repeat(1_000_000));
    std::fs::write(&path, zeros).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_h2ogpte-fake-server"))
        .args(["--seed-file", path.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no ready lines");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("record 0 is not an object"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The first page of keys the running binary lists.
fn list_keys(server: &Running) -> serde_json::Value {
    let (status, body) = http(
        &server.url,
        "GET",
        "/api/v1/admin/api_keys",
        Some(&server.key),
        None,
    );
    assert!(status.contains("200"), "{status}");
    serde_json::from_str(&body).expect("JSON")
}
