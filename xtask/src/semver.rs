//! Semver levels: how far a change moves the crate's version, and the
//! version a level means for a crate at a given one.

use std::fmt;

/// A semver bump, from the least to the most (so `max` is the stricter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing a user's code can notice.
    Patch,
    /// Something added.
    Minor,
    /// Something that breaks code or behaviour users rely on.
    Major,
}

impl Level {
    /// The level's name, as reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The version `level` means for a crate now at `current`: under Cargo's
/// rules a 0.x crate bumps its minor for a breaking change and its patch for
/// anything else (0.1.0 becomes 0.2.0 or 0.1.1).
pub fn next_version(current: &str, level: Level) -> Option<String> {
    let mut parts = current.split('.').map(|p| p.parse::<u64>().ok());
    let (major, minor, patch) = (parts.next()??, parts.next()??, parts.next()??);
    let next = match (major, level) {
        (_, Level::Patch) | (0, Level::Minor) => (major, minor, patch + 1),
        (0, Level::Major) => (0, minor + 1, 0),
        (_, Level::Minor) => (major, minor + 1, 0),
        (_, Level::Major) => (major + 1, 0, 0),
    };
    Some(format!("{}.{}.{}", next.0, next.1, next.2))
}
