//! Files shared with another table (shallow clones): a manifest may name a
//! file of a sibling table of the same database by a path that starts with
//! `../`, relative to its own table directory. See docs/FORMAT.md,
//! "Shallow clones".
//!
//! A table never writes, and cleanup never removes, a file outside its own
//! directory: cleanup lists only the table's own directories, so a path
//! that leaves it can be kept alive by a manifest but never becomes a
//! removal candidate.

use super::manifest::Manifest;

/// The prefix of a path that leaves the table directory.
pub const PARENT: &str = "../";

/// Whether `rel` names a file outside the table directory.
pub fn is_foreign(rel: &str) -> bool {
    rel.starts_with(PARENT)
}

/// `rel` with `x/..` pairs folded (`../c.stowage/../s.stowage/data/a` is
/// `../s.stowage/data/a`); leading `..` segments stay.
pub fn normalize(rel: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => match out.last() {
                Some(&last) if last != ".." => {
                    out.pop();
                }
                _ => out.push(".."),
            },
            p => out.push(p),
        }
    }
    out.join("/")
}

/// How many leading `..` segments `rel` has, and the rest.
pub fn split_parents(rel: &str) -> (usize, &str) {
    let mut rest = rel;
    let mut n = 0;
    while let Some(r) = rest.strip_prefix(PARENT) {
        rest = r;
        n += 1;
    }
    (n, rest)
}

/// Applies `fix` to every path of `m` (data, column, deletion and index
/// files).
pub fn map_paths(m: &mut Manifest, mut fix: impl FnMut(&mut String)) {
    for f in &mut m.fragments {
        fix(&mut f.path);
        for c in &mut f.columns {
            fix(&mut c.path);
        }
        if let Some(d) = &mut f.deletion {
            fix(&mut d.path);
        }
    }
    for i in &mut m.indices {
        for s in &mut i.segments {
            for f in &mut s.files {
                fix(&mut f.path);
            }
        }
    }
}

/// Every path of `m` with `prefix` put in front: `prefix` leads from the
/// manifest's new table directory to the one the paths were relative to
/// (`../<source>.stowage`).
pub fn rebase_paths(m: &mut Manifest, prefix: &str) {
    map_paths(m, |p| *p = normalize(&format!("{prefix}/{p}")));
}

/// The path a file gets when it is copied into a table directory: its own
/// path, or, for a file of another table (`../<table>.stowage/data/a`), the
/// same path inside that table (`data/a`; file names are UUIDs).
pub fn localize(rel: &str) -> String {
    let (up, rest) = split_parents(rel);
    if up == 0 {
        return rel.to_string();
    }
    rest.split_once('/')
        .map(|(_, r)| r)
        .unwrap_or(rest)
        .to_string()
}

impl Manifest {
    /// Whether this version names a file of another table (a shallow
    /// clone that has not rewritten all of its source's files yet).
    pub fn names_foreign_files(&self) -> bool {
        self.fragments.iter().any(|f| {
            f.files().any(is_foreign) || f.deletion.as_ref().is_some_and(|d| is_foreign(&d.path))
        }) || self
            .indices
            .iter()
            .flat_map(|i| &i.segments)
            .flat_map(|s| &s.files)
            .any(|f| is_foreign(&f.path))
    }

    /// The lowest format version that describes this manifest.
    pub fn required_format_version(&self) -> u32 {
        use super::manifest::{
            FORMAT_VERSION_BASE, FORMAT_VERSION_FIELD_IDS, FORMAT_VERSION_SHARED,
        };
        if self.names_foreign_files() {
            FORMAT_VERSION_SHARED
        } else if self.field_ids.is_some() {
            FORMAT_VERSION_FIELD_IDS
        } else {
            FORMAT_VERSION_BASE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_splits() {
        assert_eq!(
            normalize("../c.stowage/../s.stowage/data/a"),
            "../s.stowage/data/a"
        );
        assert_eq!(normalize("../s.stowage/data/a"), "../s.stowage/data/a");
        assert_eq!(normalize("data/a"), "data/a");
        assert_eq!(normalize("../x/../../y/a"), "../../y/a");
        assert_eq!(split_parents("../../y/a"), (2, "y/a"));
        assert_eq!(split_parents("data/a"), (0, "data/a"));
        assert!(is_foreign("../s.stowage/data/a"));
        assert!(!is_foreign("data/a"));
        assert_eq!(localize("../s.stowage/data/a"), "data/a");
        assert_eq!(localize("_indices/u/f"), "_indices/u/f");
    }
}
