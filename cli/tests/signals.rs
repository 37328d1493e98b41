//! SIGINT and SIGTERM (issue 16, items 5 and 6): a create in flight is
//! finished and its secret delivered before the command stops; a second
//! signal stops waiting and says what may be left; a batch keeps its record
//! on either signal, and prints what it knows at once on a second one.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use h2ogpte_test_support::{
    http::json_response,
    scripted::{Scripted, Step, created_json, key_json},
};

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

#[test]
fn a_signal_during_rotate_delivers_the_new_key_and_keeps_the_old_one() {
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
    ]);
    let mut cli = Running::start(
        &server.url,
        &["rotate", "k-old", "--prefetch", "1", "-o", "json"],
    );
    assert!(server.next_request().starts_with("GET "));
    assert!(server.next_request().starts_with("POST "));
    cli.signal("INT");
    cli.wait_for("finishing the create in flight");
    server.release();
    let (exit, stdout, stderr) = cli.finish();
    assert_eq!(exit, Some(130), "{stderr}");
    assert!(stdout.contains(SECRET), "{stdout}");
    assert!(
        stderr.contains("k-old is still active"),
        "says what is left to do: {stderr}"
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        3,
        "the old key is not retired: {requests:?}"
    );
    assert!(requests[2].starts_with("GET "), "{requests:?}");
}

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
    let mut args = vec!["deactivate", "--concurrency", "2", "-o", output];
    args.extend(ids.iter().map(String::as_str));
    let cli = Running::start(&server.url, &args);
    // Three answered, then two held: the batch waits on those two.
    for _ in 0..5 {
        server.next_request();
    }
    (server, cli)
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
