//! MAINTAINING.md's worked release, walked for real in a scratch clone of
//! this repository: a hand edit of the spec is caught; import of the
//! "next release" fixture, diff's verdict, a half-finished state caught by
//! check, regen naming exactly the hand-written places it reaches, the
//! hand edits the guide shows (`fixtures/next-release.patch`), then check
//! and the whole test suite green. So the guide and the pipeline cannot
//! drift apart.
//!
//! It builds the workspace twice over (about ten minutes on two cores), so
//! it is a test target of its own that `cargo test --workspace` leaves out
//! (`test = false` in xtask/Cargo.toml) and `.ci/run` runs by name:
//! `cargo test -p xtask --test release_walk`. It walks the committed HEAD:
//! commit first.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use xtask::{diff, workspace};

/// A command's exit status and everything it printed.
struct Ran {
    ok: bool,
    out: String,
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Ran {
    let output = Command::new(program)
        .current_dir(dir)
        .args(args)
        // Shared between runs, apart from the outer cargo's target dir.
        .env(
            "CARGO_TARGET_DIR",
            workspace::root().join("target/release-walk"),
        )
        .env_remove("XTASK_WORKSPACE")
        .env("INSTA_UPDATE", "no")
        .output()
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("$ {program} {}\n{}", args.join(" "), tail(&out));
    Ran {
        ok: output.status.success(),
        out,
    }
}

fn tail(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn cargo(dir: &Path, args: &[&str]) -> Ran {
    run(
        dir,
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()),
        args,
    )
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("h2ogpte-release-walk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let root = workspace::root().to_str().expect("a UTF-8 path").to_owned();
    let cloned = run(
        Path::new("."),
        "git",
        &[
            "clone",
            "--quiet",
            &root,
            dir.to_str().expect("a UTF-8 path"),
        ],
    );
    assert!(cloned.ok, "{}", cloned.out);
    dir
}

#[test]
fn the_worked_release_ends_green() {
    let dir = scratch();
    let spec_path = dir.join("openapi/h2ogpte-api-keys.yaml");

    // A hand edit of the spec is caught, and never laundered by re-importing it.
    let original = std::fs::read_to_string(&spec_path).expect("spec");
    std::fs::write(&spec_path, original.replacen("minimum: 1", "minimum: 2", 1)).expect("edit");
    let check = cargo(&dir, &["xtask", "check"]);
    assert!(!check.ok);
    assert!(check.out.contains("it was edited by hand"), "{}", check.out);
    assert!(
        check.out.contains("openapi/local-adjustments.yaml"),
        "{}",
        check.out
    );
    assert!(
        !check
            .out
            .contains("import --from openapi/h2ogpte-api-keys.yaml"),
        "{}",
        check.out
    );
    std::fs::write(&spec_path, original).expect("restore");

    // 1. Import.
    let import = cargo(
        &dir,
        &[
            "xtask",
            "import",
            "--from",
            "xtask/tests/fixtures/next-release.yaml",
        ],
    );
    assert!(import.ok, "{}", import.out);
    assert!(import.out.contains("(h2oGPTe 1.7.6"), "{}", import.out);
    assert!(
        import
            .out
            .contains("cargo xtask diff, then cargo xtask regen")
    );

    // 2. The verdict.
    let version = diff::crate_version().expect("the crate's version");
    let next = diff::next_version(&version, xtask::semver::Level::Major).expect("a next version");
    let verdict = cargo(&dir, &["xtask", "diff"]);
    assert!(verdict.ok, "{}", verdict.out);
    for row in [
        "list_all_api_keys: optional parameter query sort added",
        "list_all_api_keys: error status 500 documented",
        "schema APIKeyInfo (Rust types::ApiKeyInfo): optional field owner_email added",
        "info.version 1.7.5 → 1.7.6",
        &format!("semver: major (from {version} to {next})"),
    ] {
        assert!(verdict.out.contains(row), "{row:?} in {}", verdict.out);
    }

    // A spec imported but not regenerated is not a finished state.
    let check = cargo(&dir, &["xtask", "check"]);
    assert!(!check.ok);
    assert!(check.out.contains("were not regenerated"), "{}", check.out);

    // 3 and 4. Regenerate: the generated part is done, and the hand-written
    // places the change reaches are named, nothing else.
    let regen = cargo(&dir, &["xtask", "regen"]);
    assert!(!regen.ok, "two hand-written places are left: {}", regen.out);
    let places: Vec<&str> = regen
        .out
        .lines()
        .skip_while(|l| !l.contains("hand-written places this spec change reaches"))
        .skip(1)
        .take_while(|l| l.starts_with("  - "))
        .collect();
    assert_eq!(places.len(), 2, "{}", regen.out);
    assert!(
        places[0].contains("the fake server")
            && places[0].contains("sort")
            && places[0].contains("APIKeyInfo.owner_email"),
        "{places:?}"
    );
    assert!(
        places[1].contains("ListQuery") && places[1].contains("sort"),
        "{places:?}"
    );

    // The hand edits MAINTAINING.md shows, then 5: check and the suite.
    let patched = run(
        &dir,
        "git",
        &["apply", "xtask/tests/fixtures/next-release.patch"],
    );
    assert!(
        patched.ok,
        "the guide's hand edits no longer apply: {}",
        patched.out
    );
    let check = cargo(&dir, &["xtask", "check"]);
    assert!(check.ok, "{}", check.out);
    let tests = cargo(&dir, &["test", "--workspace", "--quiet"]);
    assert!(tests.ok, "{}", tail(&tests.out));
    let _ = std::fs::remove_dir_all(&dir);
}
