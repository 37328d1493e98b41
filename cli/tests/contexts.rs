//! Contexts and credentials: two servers in one configuration file, keys
//! from a file, a command and the environment, `whoami`, and every way a
//! configuration can be wrong refused with what to do.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;

/// A configuration directory holding `config`, the file at `mode`.
fn config(config: &str, mode: u32) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("dir");
    let dir = home.path().join("h2ogpte-keys");
    std::fs::create_dir(&dir).expect("mkdir");
    let file = dir.join("config.toml");
    std::fs::write(&file, config).expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
    home
}

/// The binary with no server or key of its own, reading contexts from `home`.
fn with_config(home: &tempfile::TempDir) -> assert_cmd::Command {
    let mut cmd = bare();
    cmd.env("XDG_CONFIG_HOME", home.path());
    cmd
}

fn whoami(cmd: &mut assert_cmd::Command) -> Value {
    let r = run(cmd.args(["whoami", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("JSON")
}

#[test]
fn two_servers_one_file_keys_from_a_file_a_command_and_the_environment() {
    let (prod, staging) = (server(), server());
    let keys = tempfile::tempdir().expect("dir");
    let key_file = keys.path().join("staging-key");
    std::fs::write(&key_file, format!("{}\n", staging.admin_key())).expect("write");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let home = config(
        &format!(
            r#"
[context.prod]
server_url = "{}"
api_key_command = "printf %s \"$PROD_KEY_FOR_TEST\""

[context.staging]
server_url = "{}"
api_key_file = "{}"

[context.env]
server_url = "{}"
api_key_env = "SOME_KEY"
"#,
            prod.url(),
            staging.url(),
            key_file.display(),
            prod.url()
        ),
        0o644,
    );
    let prod_key = prod.admin_key().to_owned();
    // No current context yet: nothing names a server.
    let r = run(with_config(&home).args(["list"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("context"), "{}", r.stderr);

    let r = run(with_config(&home).args(["context", "list"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("prod") && r.stdout.contains("file "),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(staging.admin_key()), "never a key");

    let r = run(with_config(&home).args(["context", "use", "staging"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let me = whoami(&mut with_config(&home));
    assert_eq!(me["context"], "staging");
    assert_eq!(me["keys"].as_array().expect("keys").len(), 1);
    assert!(
        me["server"]
            .as_str()
            .expect("server")
            .starts_with(&staging.url())
    );

    let me = whoami(
        with_config(&home)
            .args(["--context", "prod"])
            .env("PROD_KEY_FOR_TEST", &prod_key),
    );
    assert_eq!(me["context"], "prod");
    assert!(
        me["server"]
            .as_str()
            .expect("server")
            .starts_with(&prod.url())
    );
    let me = whoami(
        with_config(&home)
            .env("H2OGPTE_CONTEXT", "env")
            .env("SOME_KEY", &prod_key),
    );
    assert_eq!(me["context"], "env");

    // A server given directly wins over the current context...
    let r = run(with_config(&home)
        .args(["whoami", "-o", "json"])
        .env("H2OGPTE_SERVER_URL", prod.url())
        .env("H2OGPTE_API_KEY", &prod_key));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&prod.url()[..20]), "{}", r.stdout);
    // ...and beside --context it is refused: which server changes is plain.
    let r = run(with_config(&home)
        .args(["--context", "staging", "list"])
        .env("H2OGPTE_SERVER_URL", prod.url()));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("both given"), "{}", r.stderr);

    // A dry run names the server and context it would change.
    let id = id_of(&create(&staging, &["--user", "u-alice"]));
    let r = run(with_config(&home).args(["delete", &id, "--yes", "--dry-run"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("(context staging)"), "{}", r.stderr);
}

#[test]
fn a_wrong_configuration_is_refused_with_what_to_do() {
    let fake: FakeServer = server();
    let cases: [(&str, u32, &str); 7] = [
        (
            "[context.a]\nserver_url = \"{URL}\"\napi_key = \"{KEY}\"\n",
            0o644,
            "chmod 600",
        ),
        (
            "[context.a]\nserver_url = \"{URL}\"\n",
            0o600,
            "names no API key",
        ),
        (
            "[context.a]\nserver_url = \"{URL}\"\napi_key_env = \"A\"\napi_key_file = \"/x\"\n",
            0o600,
            "keep one",
        ),
        (
            "[context.a]\nserver_url = \"{URL}\"\nhost = \"x\"\n",
            0o600,
            "unknown field",
        ),
        (
            "[context.a]\nserver_url = \"{URL}\"\napi_key_command = \"echo oops >&2; exit 3\"\n",
            0o600,
            "failed",
        ),
        (
            "[context.a]\nserver_url = \"{URL}\"\napi_key_env = \"UNSET_FOR_TEST\"\n",
            0o600,
            "is not set",
        ),
        (
            "[context.a]\nserver_url = \"{URL}\"\napi_key_command = \"true\"\n",
            0o600,
            "is empty",
        ),
    ];
    for (text, mode, expected) in cases {
        let text = text
            .replace("{URL}", &fake.url())
            .replace("{KEY}", fake.admin_key());
        let home = config(&text, mode);
        let r = run(with_config(&home)
            .args(["--context", "a", "list"])
            .env_remove("UNSET_FOR_TEST"));
        assert_eq!(r.code, 2, "{text}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{text}: {}", r.stderr);
        assert!(
            !r.stderr.contains(fake.admin_key()),
            "never the key: {}",
            r.stderr
        );
    }
    // An unknown context names the known ones.
    let home = config(
        "[context.prod]\nserver_url = \"https://x\"\napi_key_env = \"K\"\n",
        0o600,
    );
    let r = run(with_config(&home).args(["--context", "prdo", "list"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("prod"), "{}", r.stderr);
    let r = run(with_config(&home).args(["context", "use", "prdo"]));
    assert_eq!(r.code, 2);
    // A key file others may read is refused.
    let keys = tempfile::tempdir().expect("dir");
    let key_file = keys.path().join("key");
    std::fs::write(&key_file, fake.admin_key()).expect("write");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let home = config(
        &format!(
            "[context.a]\nserver_url = \"{}\"\napi_key_file = \"{}\"\n",
            fake.url(),
            key_file.display()
        ),
        0o600,
    );
    let r = run(with_config(&home).args(["--context", "a", "list"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
}

#[test]
fn whoami_without_its_key_on_the_server_says_so() {
    let (a, b) = (server(), server());
    let r = run(bare()
        .args(["whoami"])
        .env("H2OGPTE_SERVER_URL", a.url())
        .env("H2OGPTE_API_KEY", b.admin_key()));
    // b's key does not authenticate on a: a clear error, exit 1.
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = run(cli(&a).args(["whoami"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Server:"), "{}", r.stdout);
    assert!(r.stdout.contains("bootstrap admin key"), "{}", r.stdout);
}
