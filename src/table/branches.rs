//! Branches: writable lines of versions forked from a version of `main` or
//! of another branch (`table.branches()`), sharing the table's data files.
//!
//! Layout (docs/FORMAT.md, *Branches*):
//!
//! * `_refs/branches/<name>.json` names a branch: its parent line and
//!   version, the size of the manifest it forked from, and the branch's
//!   `id`. Creating one is a create-only put, as for tags, so creating a
//!   branch never races a commit and two creators of one name never both win.
//! * `_branches/<id>/_versions/` holds the branch's manifests, committed
//!   through the same commit store and transaction loop as `main`'s (on
//!   `s3+ddb://` the branch's `base_uri` is `s3://<bucket>/<table dir>/_branches/<id>`:
//!   its own key space). The first version is a byte copy of the parent's
//!   manifest, under the parent's version number; commits continue from it.
//! * Manifests of every line name files relative to the table directory:
//!   data files are shared, never copied.
//!
//! The id makes a branch deleted and created again under the same name a
//! new line: a handle of the deleted one can never commit into the new one.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::txn::TableRef;
use super::{HandleState, Table};
use crate::commit::{CommitError, CommitStore};
use crate::error::{quote, Error, Result};
use crate::format::manifest::{now_ms, Manifest};
use crate::format::Snapshot;
use crate::storage::StoreHandle;

/// The name of the line every table has; it is not a branch object.
pub const MAIN: &str = "main";

/// A branch a handle is on.
#[derive(Debug, Clone)]
pub(crate) struct BranchRef {
    pub name: String,
    pub id: String,
}

/// What `_refs/branches/<name>.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchContents {
    /// The line it forked from; `None` for main.
    pub parent_branch: Option<String>,
    pub parent_version: u64,
    /// Size in bytes of the manifest it forked from (its first version).
    pub manifest_size: u64,
    /// Names the branch's directory `_branches/<id>/`.
    pub id: String,
    pub created_at_ms: u64,
}

fn refs_prefix(dir: &Path) -> Path {
    dir.clone().join("_refs").join("branches")
}

/// `_refs/branches/a/b.json` for branch `a/b` (one path part per segment).
fn ref_path(dir: &Path, name: &str) -> Path {
    let mut parts: Vec<&str> = name.split('/').collect();
    let last = parts.pop().unwrap_or_default();
    parts
        .into_iter()
        .fold(refs_prefix(dir), |p, s| p.join(s))
        .join(format!("{last}.json"))
}

/// The directory whose `_versions/` holds a branch's manifests.
pub fn branch_dir(dir: &Path, id: &str) -> Path {
    dir.clone().join("_branches").join(id)
}

/// Branch names: 1-200 characters; `/`-separated segments of
/// `[A-Za-z0-9._-]`, no empty segment, no `..`, not ending in `.lock`,
/// not `main` (the reference's rules, ASCII only: names are object paths).
pub(crate) fn check_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid_argument(format!(
            "invalid branch name '{}': {why}",
            quote(name)
        )))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 200 {
        return bad("use at most 200 characters");
    }
    if name == MAIN {
        return bad("'main' is the table's own line, not a branch");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return bad("'/' separates segments: no empty segment, none at the start or end");
    }
    if name.contains("..") {
        return bad("it cannot contain '..'");
    }
    if name.ends_with(".lock") {
        return bad("it cannot end with '.lock'");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/".contains(*c)))
    {
        return bad(&format!(
            "'{c}' is not allowed; use letters, digits, '.', '_', '-' and '/' between segments"
        ));
    }
    Ok(())
}

fn no_branch(name: &str) -> Error {
    Error::invalid_argument(format!(
        "Ref not found error: branch '{}' does not exist; branches().list() shows the branches",
        quote(name)
    ))
}

fn decode(table: &str, name: &str, bytes: &[u8]) -> Result<BranchContents> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        table: table.to_string(),
        reason: format!("unreadable branch '{}': {e}", quote(name)),
    })
}

/// One branch's contents, if it exists.
pub(crate) async fn get(
    store: &StoreHandle,
    table: &str,
    dir: &Path,
    name: &str,
) -> Result<Option<BranchContents>> {
    let path = ref_path(dir, name);
    match store.store.get(&path).await {
        Ok(r) => {
            let bytes = r
                .bytes()
                .await
                .map_err(|e| store.error(e, format!("Reading branch {path}")))?;
            Ok(Some(decode(table, name, &bytes)?))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store.error(e, format!("Reading branch {path}"))),
    }
}

/// Every branch of a table, by name.
pub(crate) async fn list(
    store: &StoreHandle,
    table: &str,
    dir: &Path,
) -> Result<Vec<(String, BranchContents)>> {
    let prefix = refs_prefix(dir);
    let objects: Vec<object_store::ObjectMeta> =
        match store.store.list(Some(&prefix)).try_collect().await {
            Ok(o) => o,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(store.error(e, format!("Listing branches under {prefix}"))),
        };
    let names: Vec<String> = objects
        .iter()
        .filter_map(|o| {
            let parts: Vec<String> = o
                .location
                .prefix_match(&prefix)?
                .map(|p| p.as_ref().to_string())
                .collect();
            parts.join("/").strip_suffix(".json").map(str::to_string)
        })
        .collect();
    let got: Vec<Option<(String, BranchContents)>> = futures::stream::iter(names)
        .map(|n| async move { Ok::<_, Error>(get(store, table, dir, &n).await?.map(|c| (n, c))) })
        .buffered(16)
        .try_collect()
        .await?;
    let mut out: Vec<_> = got.into_iter().flatten().collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Removes every branch's versions (dropping the table; the caller removes
/// the objects). Returns how many objects or items went.
pub(crate) async fn drop_all(
    store: &StoreHandle,
    commits: &dyn CommitStore,
    dir: &Path,
) -> Result<u64> {
    let mut n = 0;
    for (_, c) in list(store, "", dir).await? {
        n += commits.drop_table(&branch_dir(dir, &c.id)).await?;
    }
    Ok(n)
}

/// For cleanup of the line `t`: the versions of `t` that branches forked
/// from (kept like tagged versions), and the files every *other* line's
/// versions name (kept whatever their age).
pub(crate) async fn other_lines(
    t: &TableRef<'_>,
    files_of: impl Fn(&Manifest, &mut HashSet<String>),
    into: &mut HashSet<String>,
) -> Result<HashSet<u64>> {
    let branches = list(t.store, t.name, t.dir).await?;
    let forks = branches
        .iter()
        .filter(|(_, c)| c.parent_branch.as_deref() == t.branch)
        .map(|(_, c)| c.parent_version)
        .collect();
    let mut lines: Vec<(Option<&str>, Path)> = branches
        .iter()
        .map(|(n, c)| (Some(n.as_str()), branch_dir(t.dir, &c.id)))
        .collect();
    lines.push((None, t.dir.clone()));
    for (name, versions) in lines {
        if name == t.branch {
            continue;
        }
        for v in t.commits.list_versions(&versions).await? {
            if let Some(bytes) = t.commits.load(&versions, v).await? {
                files_of(&Manifest::from_bytes(t.name, &bytes)?, into);
            }
        }
    }
    Ok(forks)
}

impl Table {
    /// The branch this handle is on; `None` on main.
    pub fn current_branch(&self) -> Option<&str> {
        self.branch.as_ref().map(|b| b.name.as_str())
    }

    pub async fn list_branches(&self) -> Result<Vec<(String, BranchContents)>> {
        self.check_open()?;
        list(&self.store, &self.name, &self.dir).await
    }

    /// The error for a version this line does not have.
    pub(crate) fn no_version(&self, version: u64) -> Error {
        match &self.branch {
            None => Error::VersionNotFound {
                table: self.name.clone(),
                version,
            },
            Some(b) => Error::VersionNotFound {
                table: format!("{}' branch '{}", self.name, b.name),
                version,
            },
        }
    }

    /// After a commit on a branch: the branch still exists as this handle's
    /// (one GET). A branch deleted meanwhile takes its versions with it.
    pub(crate) async fn check_branch_kept(&self) -> Result<()> {
        let Some(b) = &self.branch else {
            return Ok(());
        };
        match get(&self.store, &self.name, &self.dir, &b.name).await? {
            Some(c) if c.id == b.id => Ok(()),
            _ => Err(self.tref().dropped()),
        }
    }

    /// A handle on `line` (`None`: main) following its latest version.
    async fn line_handle(&self, line: Option<BranchRef>) -> Result<Table> {
        let versions = match &line {
            Some(b) => branch_dir(&self.dir, &b.id),
            None => self.dir.clone(),
        };
        let t = TableRef {
            name: &self.name,
            store: &self.store,
            dir: &self.dir,
            versions: &versions,
            branch: line.as_ref().map(|b| b.name.as_str()),
            commits: self.commits.as_ref(),
        };
        let snap = t.load_latest().await?.ok_or_else(|| t.dropped())?;
        Ok(self.handle_on(line, versions, Arc::new(snap)))
    }

    fn handle_on(&self, line: Option<BranchRef>, versions: Path, snap: Arc<Snapshot>) -> Table {
        let mut t = Table::with_snapshot(
            &self.name,
            self.origin.clone(),
            self.commits.clone(),
            self.options.clone(),
            self.consistency,
            snap,
        );
        t.versions = versions;
        t.branch = line;
        t
    }

    /// The line a `fromRef` names: main, a branch, or (beyond the reference)
    /// a tag, which names a version of main.
    async fn resolve_from(
        &self,
        from_ref: Option<&str>,
        from_version: Option<u64>,
    ) -> Result<(Option<BranchRef>, Option<u64>)> {
        let name = match from_ref {
            None | Some(MAIN) => return Ok((None, from_version)),
            Some(n) => n,
        };
        if check_name(name).is_ok() {
            if let Some(c) = get(&self.store, &self.name, &self.dir, name).await? {
                let b = BranchRef {
                    name: name.to_string(),
                    id: c.id,
                };
                return Ok((Some(b), from_version));
            }
        }
        if let Ok(v) = self.tag_version(name).await {
            if from_version.is_some_and(|fv| fv != v) {
                return Err(Error::invalid_argument(format!(
                    "fromRef '{}' is a tag (version {v} of main); pass no fromVersion with a tag",
                    quote(name)
                )));
            }
            return Ok((None, Some(v)));
        }
        Err(Error::invalid_argument(format!(
            "Ref not found error: fromRef '{}' is neither 'main', a branch nor a tag; branches().list() and tags().list() show what exists",
            quote(name)
        )))
    }

    /// Creates branch `name` from `from_ref` (default main) at `from_version`
    /// (default its latest) and returns a handle on it.
    pub async fn create_branch(
        &self,
        name: &str,
        from_ref: Option<&str>,
        from_version: Option<u64>,
    ) -> Result<Table> {
        self.check_open()?;
        check_name(name)?;
        let (parent, version) = self.resolve_from(from_ref, from_version).await?;
        let parent_dir = match &parent {
            Some(b) => branch_dir(&self.dir, &b.id),
            None => self.dir.clone(),
        };
        let parent_label = parent
            .as_ref()
            .map_or(MAIN, |b| b.name.as_str())
            .to_string();
        let version = match version {
            Some(v) => v,
            None => self
                .commits
                .latest_version(&parent_dir)
                .await?
                .ok_or_else(|| no_branch(&parent_label))?,
        };
        let missing = || {
            Error::invalid_argument(format!(
                "cannot create branch '{}': '{}' has no version {version}; listVersions() on it shows the versions that exist",
                quote(name),
                quote(&parent_label)
            ))
        };
        let bytes: Bytes = self
            .commits
            .load(&parent_dir, version)
            .await?
            .ok_or_else(missing)?;
        let contents = BranchContents {
            parent_branch: parent.as_ref().map(|b| b.name.clone()),
            parent_version: version,
            manifest_size: bytes.len() as u64,
            id: uuid::Uuid::new_v4().simple().to_string(),
            created_at_ms: now_ms(),
        };
        let path = ref_path(&self.dir, name);
        let body = serde_json::to_vec(&contents)
            .map(PutPayload::from)
            .map_err(|e| Error::internal(format!("encoding a branch: {e}")))?;
        let exists = || {
            Error::invalid_argument(format!(
                "Ref conflict error: branch '{}' already exists; check it out with branches().checkout('{}') or delete it first",
                quote(name),
                quote(name)
            ))
        };
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self.store.store.put_opts(&path, body.clone(), opts).await {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => return Err(exists()),
            // A store without conditional puts: look first (racing creators
            // of one name: last wins there).
            Err(object_store::Error::NotImplemented { .. }) => {
                if get(&self.store, &self.name, &self.dir, name)
                    .await?
                    .is_some()
                {
                    return Err(exists());
                }
                self.store
                    .store
                    .put(&path, body)
                    .await
                    .map_err(|e| self.store.error(e, format!("Writing branch {path}")))?;
            }
            Err(e) => return Err(self.store.error(e, format!("Writing branch {path}"))),
        }
        let versions = branch_dir(&self.dir, &contents.id);
        let undo = || async {
            let _ = self.commits.drop_table(&versions).await;
            let _ = self.store.remove_local_dir(&versions).await;
            let _ = self.store.store.delete(&path).await;
        };
        // The branch's first version: the parent's manifest, as it is.
        match self.commits.commit(&versions, version, bytes.clone()).await {
            Ok(()) => {}
            Err(e) => {
                undo().await;
                return Err(match e {
                    CommitError::Failed(e) => e,
                    CommitError::Conflict { version } => Error::CommitConflict {
                        table: self.name.clone(),
                        version,
                        reason: format!("branch '{}' was created meanwhile", quote(name)),
                    },
                });
            }
        }
        // A cleanup may have removed the parent version between the read and
        // the ref's put (it reads the branches first, so from then on it
        // keeps the version): a branch must never start on removed files.
        if self.commits.load(&parent_dir, version).await?.is_none() {
            undo().await;
            return Err(Error::VersionRemoved {
                table: format!("{}' branch '{}", self.name, parent_label),
                version,
            });
        }
        let manifest = Manifest::from_bytes(&self.name, &bytes)?;
        let snap = Snapshot::new(self.store.clone(), self.dir.clone(), manifest, &self.name)?;
        let line = BranchRef {
            name: name.to_string(),
            id: contents.id,
        };
        Ok(self.handle_on(Some(line), versions, Arc::new(snap)))
    }

    /// A handle on branch `name` (`main`: the main line) following its
    /// latest version, or pinned at `version` (reads only).
    pub async fn checkout_branch(&self, name: &str, version: Option<u64>) -> Result<Table> {
        self.check_open()?;
        let line = if name == MAIN {
            None
        } else {
            check_name(name)?;
            let c = get(&self.store, &self.name, &self.dir, name)
                .await?
                .ok_or_else(|| no_branch(name))?;
            Some(BranchRef {
                name: name.to_string(),
                id: c.id,
            })
        };
        let t = self.line_handle(line).await?;
        if let Some(v) = version {
            let snap = t.tref().load_version(v).await?.ok_or_else(|| {
                let e = t.no_version(v);
                match &t.branch {
                    Some(b) => Error::invalid_argument(format!(
                        "{e} (a branch's versions start at the version it forked from; branch '{}')",
                        b.name
                    )),
                    None => e,
                }
            })?;
            *t.state.write().await = HandleState::Pinned {
                snap: Arc::new(snap),
            };
        }
        Ok(t)
    }

    /// Deletes branch `name` and its versions. Files only it named become
    /// unreferenced: `optimize({ cleanupOlderThan })` removes them after the
    /// unverified grace period (7 days) or with `deleteUnverified`.
    pub async fn delete_branch(&self, name: &str) -> Result<()> {
        self.check_open()?;
        if name == MAIN {
            return Err(Error::invalid_argument(
                "the main line cannot be deleted; drop the table with dropTable() instead",
            ));
        }
        check_name(name)?;
        let all = list(&self.store, &self.name, &self.dir).await?;
        let Some((_, c)) = all.iter().find(|(n, _)| n == name) else {
            return Err(no_branch(name));
        };
        let children: Vec<String> = all
            .iter()
            .filter(|(_, k)| k.parent_branch.as_deref() == Some(name))
            .map(|(n, k)| format!("'{n}' (from version {})", k.parent_version))
            .collect();
        if !children.is_empty() {
            return Err(Error::invalid_argument(format!(
                "Ref conflict error: branch '{}' cannot be deleted: branches forked from it: {}; delete those first",
                quote(name),
                children.join(", ")
            )));
        }
        // The ref first: from then on no one opens the branch, and a handle
        // still on it fails its next commit (`check_branch_kept`).
        let path = ref_path(&self.dir, name);
        match self.store.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.store.error(e, format!("Deleting branch {path}"))),
        }
        let dir = branch_dir(&self.dir, &c.id);
        self.commits.drop_table(&dir).await?;
        // A file system keeps the emptied directories.
        self.store.remove_local_dir(&dir).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names() {
        for ok in ["b1", "feature/x", "v1.0-rc_2", ".x", "-a", "HEAD", "a/b/c"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(201);
        for bad in [
            "", "main", "a b", "a..b", "x.lock", "/a", "a/", "a//b", "a:b", "ü", &long,
        ] {
            assert_eq!(
                check_name(bad).unwrap_err().code(),
                "INVALID_ARGUMENT",
                "{bad}"
            );
        }
    }

    #[test]
    fn ref_paths() {
        let dir = Path::from("db/t.stowage");
        assert_eq!(
            ref_path(&dir, "a/b").as_ref(),
            "db/t.stowage/_refs/branches/a/b.json"
        );
        assert_eq!(
            ref_path(&dir, "b1").as_ref(),
            "db/t.stowage/_refs/branches/b1.json"
        );
    }
}
