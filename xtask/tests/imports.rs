//! Files import in one direction: in every crate of the workspace, no two
//! files reach each other through `crate::`, `super::` or `self::` paths,
//! directly or round a longer loop. A shared item belongs to a third module, or to the one that
//! owns the concept.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The crates' source folders, from the workspace root.
const CRATES: &[&str] = &[
    "src",
    "cli/src",
    "fake-server/src",
    "xtask/src",
    "test-support/src",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("a source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file is: `diff/schemas.rs` is `diff::schemas`,
/// `diff/mod.rs` is `diff`, `lib.rs` and `main.rs` the crate root (`""`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("inside the crate");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_owned();
        if !matches!(stem.as_str(), "mod" | "lib" | "main") {
            parts.push(stem);
        }
    }
    parts.join("::")
}

/// The code of a file without its comments (line comments and doc
/// comments; the tree has no block comments).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn skip_ws(s: &[u8], i: &mut usize) {
    while *i < s.len() && s[*i].is_ascii_whitespace() {
        *i += 1;
    }
}

/// Parses the use tree at `s[*i..]` under `prefix` into `out`.
fn parse_tree(s: &[u8], i: &mut usize, prefix: &str, out: &mut Vec<String>) {
    let mut path = prefix.to_owned();
    loop {
        skip_ws(s, i);
        if s.get(*i) == Some(&b'{') {
            *i += 1;
            loop {
                skip_ws(s, i);
                match s.get(*i) {
                    None => return,
                    Some(b'}') => {
                        *i += 1;
                        return;
                    }
                    _ => parse_tree(s, i, &path, out),
                }
                // Past an `as` rename, to the next item or the close.
                let mut depth = 0usize;
                while let Some(&c) = s.get(*i) {
                    match c {
                        b'{' => depth += 1,
                        b'}' if depth == 0 => break,
                        b'}' => depth -= 1,
                        b',' if depth == 0 => {
                            *i += 1;
                            break;
                        }
                        _ => {}
                    }
                    *i += 1;
                }
            }
        }
        let start = *i;
        while *i < s.len() && (s[*i].is_ascii_alphanumeric() || s[*i] == b'_') {
            *i += 1;
        }
        let ident = String::from_utf8_lossy(&s[start..*i]).into_owned();
        if ident.is_empty() {
            out.push(path);
            return;
        }
        path = if path.is_empty() {
            ident
        } else {
            format!("{path}::{ident}")
        };
        if s[*i..].starts_with(b"::") {
            *i += 2;
        } else {
            out.push(path);
            return;
        }
    }
}

/// Every path a file names through `crate::`, `super::` or `self::`, as a
/// path from the crate root; `module` is the file's own module:
/// `crate::{a::{b, c as d}}` gives `a::b` and `a::c`.
fn named_paths(code: &str, module: &str) -> Vec<String> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let word_start = at == 0
            || !(bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'_' | b':'));
        let rest = &bytes[at..];
        let base = if !word_start {
            None
        } else if rest.starts_with(b"crate::") {
            Some((String::new(), "crate::".len()))
        } else if rest.starts_with(b"super::") || rest.starts_with(b"self::") {
            let mut base: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
            let mut skip = if rest.starts_with(b"self::") {
                "self::".len()
            } else {
                0
            };
            while bytes[at + skip..].starts_with(b"super::") {
                base.pop();
                skip += "super::".len();
            }
            Some((base.join("::"), skip))
        } else {
            None
        };
        match base {
            Some((base, skip)) => {
                let mut i = at + skip;
                parse_tree(bytes, &mut i, &base, &mut found);
                at = i.max(at + 1);
            }
            None => at += 1,
        }
    }
    found
}

/// The module a path reaches: the longest prefix of it that is one.
fn target(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains(m))
}

/// Each file's imports of the crate's other files (the crate root, which
/// declares and re-exports them all, aside).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(src, f))
        .filter(|m| !m.is_empty())
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        if from.is_empty() {
            continue;
        }
        let text = fs::read_to_string(file).expect("a source file");
        let to = edges.entry(from.clone()).or_default();
        for path in named_paths(&code(&text), &from) {
            if let Some(t) = target(&path, &modules)
                && t != from
            {
                to.insert(t);
            }
        }
    }
    edges
}

/// A loop of imports, if there is one: the modules along it.
fn a_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_two_modules_import_each_other() {
    let mut loops = Vec::new();
    for krate in CRATES {
        let edges = graph(&root().join(krate));
        assert!(edges.len() > 3, "{krate}: modules found");
        if let Some(cycle) = a_cycle(&edges) {
            loops.push(format!("{krate}: {}", cycle.join(" -> ")));
        }
    }
    assert!(
        loops.is_empty(),
        "modules that import each other (give the shared item a module of its own, or to its owner):\n{}",
        loops.join("\n")
    );
}

#[test]
fn the_check_sees_a_loop() {
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert_eq!(
        a_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        named_paths(
            "use crate::{x::{y, z as q}, w, Error};\nlet _ = crate::v::f();",
            "a::b"
        ),
        ["x::y", "x::z", "w", "Error", "v::f"]
    );
    // `super::` and `self::` from the file's own module.
    assert_eq!(
        named_paths("use super::{c, d};\nself::e::f();", "a::b"),
        ["a::c", "a::d", "a::b::e::f"]
    );
    let modules = BTreeSet::from(["a".to_owned(), "a::b".to_owned()]);
    assert_eq!(target("a::b::Item", &modules).as_deref(), Some("a::b"));
    assert_eq!(target("a::Other", &modules).as_deref(), Some("a"));
    assert_eq!(target("Client", &modules), None);
}
