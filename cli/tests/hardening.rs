//! `h2ogpte-keys` after the third hostile round (issue 27): windows past
//! any date refused without a panic, findings that a closed pipe cannot
//! hide, an audit that checked nothing said so, CSV escaped on a terminal
//! and defused against every formula trigger.

mod common;

use common::{cli, create, id_of, run, server};

// Item 1.
#[test]
fn an_overlap_past_any_date_is_a_usage_error_not_a_panic() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    for window in ["300000 years", "290000000 years", "9223372036854 seconds"] {
        for dry_run in [false, true] {
            let mut cmd = cli(&server);
            cmd.args(["rotate", &id, "--user", "u-alice", "--overlap", window]);
            if dry_run {
                cmd.arg("--dry-run");
            }
            let r = run(&mut cmd);
            assert_eq!(r.code, 2, "{window} (dry run: {dry_run}): {}", r.stderr);
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
            assert!(r.stderr.contains("--overlap"), "{}", r.stderr);
            assert!(r.stdout.is_empty(), "{}", r.stdout);
        }
    }
    assert_eq!(server.key_count(), 2, "nothing was created");
}
