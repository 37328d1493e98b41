//! SIGINT and SIGTERM: a create in flight finishes and delivers its secret;
//! a second signal stops waiting and names what may be left; a batch keeps
//! its record; a blocking read (ids, the delete prompt, a policy file) ends
//! the command before it changes anything.

use crate::common::*;
use h2ogpte_test_support::http::json_response;
use h2ogpte_test_support::scripted::Scripted;
use h2ogpte_test_support::scripted::Step;
use h2ogpte_test_support::scripted::created_json;
use h2ogpte_test_support::scripted::key_json;
use serde_json::Value;
use std::io::BufRead;
use std::io::BufReader;
use std::io::Read;
use std::io::Write;
use std::net::TcpListener;
use std::process::Child;
use std::process::Command;
use std::process::Command as StdCommand;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;
use std::time::Instant;

/// Waits (20 s at most) until process `pid` has its input-reading thread,
/// which it starts only once its signal handlers are in place.
#[cfg(target_os = "linux")]
fn wait_for_reader_thread(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process runs");
        let reading = tasks.filter_map(Result::ok).any(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with("h2ogpte-keys-re"))
        });
        if reading {
            return;
        }
        assert!(Instant::now() < deadline, "no reader thread");
        // Polling /proc for the thread: an observable event, not a guess of time.
        thread::sleep(Duration::from_millis(2));
    }
}

/// Sends `signal` (such as "INT") to `pid`.
fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// The binary running against `url`, its stderr read line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Running {
    fn start(url: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_h2ogpte-keys"))
            .args(args)
            .env("H2OGPTE_SERVER_URL", url)
            .env("H2OGPTE_API_KEY", "sk-admin")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits (20 s at most) for a stderr line holding `needle`.
    fn wait_for(&mut self, needle: &str) {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no {needle:?} on stderr: {:?}", self.stderr));
            let found = line.contains(needle);
            self.stderr.push(line);
            if found {
                return;
            }
        }
    }

    /// Waits for the exit; its code, stdout and the whole stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut stdout)
            .expect("stdout");
        let code = self.child.wait().expect("exits").code();
        self.stderr.extend(self.lines.iter());
        (code, stdout, self.stderr.join("\n"))
    }
}

const SECRET: &str = "sk-deliveredafterthesignal";

/// A batch of 50 whose first three calls succeed and the rest are held.
fn held_batch(output: &str) -> (Scripted, Running) {
    let ok = "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_owned();
    let server = Scripted::start(vec![
        Step::Respond(ok.clone()),
        Step::Respond(ok.clone()),
        Step::Respond(ok),
        Step::Hold,
    ]);
    let ids: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
    // --allow-self: the script answers the deactivations alone.
    let mut args = vec![
        "deactivate",
        "--allow-self",
        "--concurrency",
        "2",
        "-o",
        output,
    ];
    args.extend(ids.iter().map(String::as_str));
    let cli = Running::start(&server.url, &args);
    // Three answered, then two held: the batch waits on those two.
    for _ in 0..5 {
        server.next_request();
    }
    (server, cli)
}

// A signal while ids are still coming in ends the batch before it
// starts.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_while_reading_ids_ends_the_batch_before_it_starts() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    for signal in ["INT", "TERM"] {
        let mut child = binary(&server)
            .args(["deactivate", "--from-file", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut stdin = child.stdin.take().expect("stdin");
        // One id typed, the input still open.
        Write::write_all(&mut stdin, format!("{id}\n").as_bytes()).expect("typed");
        wait_for_reader_thread(child.id());
        kill(signal, child.id());
        let out = child.wait_with_output().expect("ends");
        drop(stdin);
        let expected = if signal == "INT" { 130 } else { 143 };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(expected), "{stderr}");
        assert!(stderr.contains("nothing was changed"), "{stderr}");
    }
    let keys = run(cli(&server).args(["show", &id, "-o", "json"]));
    assert!(
        keys.stdout.contains("\"is_active\": true"),
        "{}",
        keys.stdout
    );
}

// Ctrl-C at the delete prompt is a no, whatever is typed after it.
#[test]
fn ctrl_c_at_the_delete_prompt_deletes_nothing() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    let bin = assert_cmd::cargo::cargo_bin("h2ogpte-keys");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!(
            "{} delete {id}",
            bin.to_str().expect("a UTF-8 path")
        ))
        .arg("/dev/null")
        .env_remove("RUST_LOG")
        .env("H2OGPTE_SERVER_URL", server.url())
        .env("H2OGPTE_API_KEY", server.admin_key())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script runs (util-linux)");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    // Wait for the prompt on the terminal.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("[y/N]") {
        let n = Read::read(&mut stdout, &mut buf).expect("the terminal's output");
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // The prompt says which keys still work.
    assert!(
        String::from_utf8_lossy(&seen).contains("(active)"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    // ^C on the terminal, then a `y` typed after it.
    Write::write_all(&mut stdin, b"\x03").expect("typed");
    Write::write_all(&mut stdin, b"y\n").expect("typed");
    drop(stdin);
    let mut rest = Vec::new();
    let _ = Read::read_to_end(&mut stdout, &mut rest);
    let status = child.wait().expect("ends");
    seen.extend_from_slice(&rest);
    assert_eq!(
        status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    let show = run(cli(&server).args(["show", &id]));
    assert_eq!(show.code, 0, "the key is still there: {}", show.stderr);
}

// A policy file that is a FIFO nobody writes to gives way to a
// signal.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_while_the_policy_file_blocks_ends_the_audit() {
    let server = server();
    let dir = tempfile::tempdir().expect("a directory");
    let fifo = dir.path().join("policy.toml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let child = binary(&server)
        .args(["audit", "--policy"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    wait_for_reader_thread(child.id());
    kill("INT", child.id());
    let out = child.wait_with_output().expect("ends");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ctrl_c_stops_a_batch_reports_it_and_exits_130() {
    // A server that takes requests and never answers them.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64).flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let ids: String = (0..50).map(|i| format!("k{i}\n")).collect();
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_h2ogpte-keys"))
        .args([
            "deactivate",
            "--allow-self",
            "--from-file",
            "-",
            "--concurrency",
            "2",
            "--timeout",
            "1",
        ])
        .args(["-o", "ndjson"])
        .env("H2OGPTE_SERVER_URL", &url)
        .env("H2OGPTE_API_KEY", "sk-admin")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ids.as_bytes())
        .expect("ids");
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "no request reached the server");
        thread::sleep(Duration::from_millis(20));
    }
    let status = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("exits");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect();
    assert!(
        (1..50).contains(&lines.len()),
        "the calls in flight are reported, no new ones started: {stdout}"
    );
    let not_attempted = 50 - lines.len();
    assert!(
        stderr.contains(&format!("{not_attempted} not attempted")),
        "{stderr}"
    );
}

#[test]
fn a_signal_during_create_waits_for_the_key_and_delivers_it() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let server = Scripted::start(vec![Step::Gated(json_response(
            201,
            &created_json("k-new", "alice", SECRET),
        ))]);
        let mut cli = Running::start(&server.url, &["create", "--user", "u-alice", "-o", "json"]);
        assert!(server.next_request().starts_with("POST "));
        cli.signal(signal);
        cli.wait_for("finishing the create in flight");
        server.release();
        let (exit, stdout, stderr) = cli.finish();
        assert_eq!(exit, Some(code), "{signal}: {stderr}");
        assert!(stdout.contains(SECRET), "{signal}: delivered: {stdout}");
        assert_eq!(server.requests().len(), 1, "nothing undone: {stderr}");
    }
}

#[test]
fn a_second_signal_stops_waiting_and_names_what_may_be_left() {
    let server = Scripted::start(vec![Step::Gated(json_response(
        201,
        &created_json("k-new", "alice", SECRET),
    ))]);
    let mut cli = Running::start(&server.url, &["create", "--user", "u-alice"]);
    server.next_request();
    cli.signal("TERM");
    cli.wait_for("finishing the create in flight");
    cli.signal("TERM");
    let (exit, stdout, stderr) = cli.finish();
    assert_eq!(exit, Some(143), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("DANGER") && stderr.contains("u-alice"),
        "{stderr}"
    );
}

/// A signal while a rotation's create is in flight lets that rotation
/// finish whole (delivered, the old key retired), then exits 130.
#[test]
fn a_signal_during_rotate_finishes_the_rotation_in_flight() {
    let server = Scripted::start(vec![
        Step::Respond(json_response(
            200,
            &format!("[{}]", key_json("k-old", "alice")),
        )),
        Step::Gated(json_response(201, &created_json("k-new", "alice", SECRET))),
        // The old key read again before the secret is delivered.
        Step::Respond(json_response(
            200,
            &format!("[{}]", key_json("k-old", "alice")),
        )),
        Step::Respond("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_owned()),
    ]);
    let mut cli = Running::start(
        &server.url,
        &["rotate", "k-old", "--prefetch", "1", "-o", "json"],
    );
    assert!(server.next_request().starts_with("GET "));
    assert!(server.next_request().starts_with("POST "));
    cli.signal("INT");
    cli.wait_for("finishing the rotations in flight");
    server.release();
    let (exit, stdout, stderr) = cli.finish();
    assert_eq!(exit, Some(130), "{stderr}");
    assert!(stdout.contains(SECRET), "{stdout}");
    let out: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(
        out["old_key"]["retired"], "deactivated",
        "says what became of the old key: {stdout}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "the old key is retired: {requests:?}");
    assert!(requests[3].starts_with("POST "), "{requests:?}");
}

#[test]
fn sigterm_stops_a_batch_and_keeps_its_record() {
    let (_server, mut cli) = held_batch("ndjson");
    cli.signal("TERM");
    cli.wait_for("finishing the calls in flight");
    cli.signal("TERM");
    let (exit, stdout, stderr) = cli.finish();
    assert_eq!(exit, Some(143), "{stderr}");
    let done = stdout
        .lines()
        .filter(|l| l.contains(r#""ok":true"#))
        .count();
    assert_eq!(done, 3, "{stdout}");
    assert!(
        stderr.contains("3 deactivated, 0 failed, 45 not attempted, 2 abandoned in flight"),
        "{stderr}"
    );
}

#[test]
fn a_second_signal_prints_the_table_known_so_far() {
    let (_server, mut cli) = held_batch("table");
    cli.signal("INT");
    cli.wait_for("finishing the calls in flight");
    cli.signal("INT");
    let (exit, stdout, stderr) = cli.finish();
    assert_eq!(exit, Some(130), "{stderr}");
    assert_eq!(stdout.matches(" ok").count(), 3, "{stdout}");
    assert!(stderr.contains("45 not attempted"), "{stderr}");
}

/// A signal while `create` delivers its secret to a slow command stops the
/// delivery at once: the command (and all it started) is killed, the key
/// deleted again, exit 143; never waiting out the command's timeout.
#[test]
fn a_signal_during_create_delivery_kills_the_command_and_undoes_the_key() {
    let server = Scripted::start(vec![
        Step::Respond(json_response(201, &created_json("k-new", "alice", SECRET))),
        Step::Respond("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_owned()),
    ]);
    let dir = std::env::temp_dir().join(format!("h2ogpte-keys-slow-sink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let started = dir.join("started");
    let command = format!(
        "sh -c 'cat > /dev/null; touch \"{}\"; sleep 60'",
        started.display()
    );
    let cli = Running::start(
        &server.url,
        &[
            "create",
            "--user",
            "u-alice",
            "--secret-command",
            &command,
            "--secret-command-timeout",
            "120",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the command did not start");
        thread::sleep(Duration::from_millis(5));
    }
    cli.signal("TERM");
    let (exit, _, stderr) = cli.finish();
    assert_eq!(exit, Some(143), "{stderr}");
    assert!(stderr.contains("deleted again"), "{stderr}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[1].starts_with("DELETE "), "{requests:?}");
}
