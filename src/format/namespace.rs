//! Namespaces: object paths and the marker object (docs/FORMAT.md,
//! *Namespaces*).
//!
//! A namespace `[a, b]` of the database at `<db>` is the prefix
//! `<db>/a.ns/b.ns/`, holding tables (`<name>.stowage/`) and child
//! namespaces exactly as the database root does. It exists while its marker
//! object `<db>/a.ns/b.ns.json` (beside the prefix, in the parent) exists:
//! one delimiter listing of the parent then yields the child namespaces as
//! objects, with no request per child.

use std::collections::BTreeMap;

use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Suffix of a namespace's prefix under its parent.
pub const NAMESPACE_DIR_SUFFIX: &str = ".ns";
/// Suffix of a namespace's marker object, beside its prefix.
pub const NAMESPACE_MARKER_SUFFIX: &str = ".ns.json";
/// `format` of a marker object.
pub const NAMESPACE_FORMAT: &str = "stowage-namespace";

/// The prefix under which the tables and children of `ns` live (`root`
/// itself for the root namespace `[]`).
pub fn namespace_root(root: &Path, ns: &[String]) -> Path {
    ns.iter().fold(root.clone(), |p, n| {
        p.join(format!("{n}{NAMESPACE_DIR_SUFFIX}"))
    })
}

/// The marker object of `ns` (not the root: the root has none).
pub fn namespace_marker(root: &Path, ns: &[String]) -> Option<Path> {
    let (last, parent) = ns.split_last()?;
    Some(namespace_root(root, parent).join(format!("{last}{NAMESPACE_MARKER_SUFFIX}")))
}

/// The child namespace a marker's file name names, if it is one.
pub fn namespace_of_marker(file_name: &str) -> Option<&str> {
    file_name
        .strip_suffix(NAMESPACE_MARKER_SUFFIX)
        .filter(|n| !n.is_empty())
}

/// The content of a marker object (JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NamespaceMarker {
    /// Always [`NAMESPACE_FORMAT`].
    pub format: String,
    /// Random, new each time the namespace is created: a writer that
    /// created a table inside compares it after its commit, so a namespace
    /// dropped and created again in between is told apart.
    pub id: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// The user's properties (`createNamespace({ properties })`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl NamespaceMarker {
    pub fn new(properties: BTreeMap<String, String>) -> Self {
        let created_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        NamespaceMarker {
            format: NAMESPACE_FORMAT.to_string(),
            id: uuid::Uuid::new_v4().to_string(),
            created_at,
            properties,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal(format!("encoding a namespace marker: {e}")))
    }

    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        let m: NamespaceMarker = serde_json::from_slice(bytes).map_err(|e| {
            Error::internal(format!(
                "the namespace marker {path} is not valid JSON: {e}"
            ))
        })?;
        if m.format != NAMESPACE_FORMAT {
            return Err(Error::internal(format!(
                "the namespace marker {path} has format '{}', expected '{NAMESPACE_FORMAT}'",
                m.format
            )));
        }
        Ok(m)
    }
}

/// `["a", "b"]`, as error messages name a namespace.
pub fn display_namespace(ns: &[String]) -> String {
    let parts: Vec<String> = ns.iter().map(|n| format!("{n:?}")).collect();
    format!("[{}]", parts.join(", "))
}

/// Checks one namespace name: the rules of table names, so that every name
/// is one path segment on every store.
pub fn check_namespace_name(ns: &[String], name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Error::invalid_argument(format!(
            "Invalid namespace name '{}' in namespace {}: {reason}",
            crate::error::quote(name),
            display_namespace(ns)
        ))
    };
    match crate::storage::uri::segment_name_problem(name, "namespace") {
        Some(reason) => Err(bad(&reason)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths() {
        let root = Path::from("db");
        assert_eq!(namespace_root(&root, &[]).as_ref(), "db");
        assert_eq!(
            namespace_root(&root, &ns(&["a", "b"])).as_ref(),
            "db/a.ns/b.ns"
        );
        assert_eq!(namespace_marker(&root, &[]), None);
        assert_eq!(
            namespace_marker(&root, &ns(&["a", "b"])).unwrap().as_ref(),
            "db/a.ns/b.ns.json"
        );
        assert_eq!(namespace_of_marker("b.ns.json"), Some("b"));
        assert_eq!(namespace_of_marker(".ns.json"), None);
        assert_eq!(namespace_of_marker("t.stowage"), None);
    }

    #[test]
    fn names() {
        assert!(check_namespace_name(&[], "a-1_b.c").is_ok());
        for bad in ["", ".a", "a/b", "a$b", &"x".repeat(201)] {
            let e = check_namespace_name(&ns(&["p"]), bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT");
        }
    }

    #[test]
    fn marker_round_trip() {
        let m = NamespaceMarker::new(BTreeMap::from([("k".into(), "v".into())]));
        let p = Path::from("a.ns.json");
        assert_eq!(
            NamespaceMarker::decode(&m.encode().unwrap(), &p).unwrap(),
            m
        );
        assert!(
            NamespaceMarker::decode(b"{\"format\":\"x\",\"id\":\"i\",\"created_at\":1}", &p)
                .is_err()
        );
    }
}
