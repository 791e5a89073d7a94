//! Shallow clones (`cloneTable`): a new table whose first version is a copy
//! of another table's manifest, naming the source's data, deletion and
//! index files instead of copying them (docs/FORMAT.md, "Shallow clones").
//!
//! * The clone has its own identity, versions, tags and writes; its version
//!   numbers continue from the source version it was made of, as in
//!   @lancedb/lancedb. New files it writes go under its own directory.
//! * Cleanup of the clone lists only its own directory, so it never removes
//!   a file of the source.
//! * The clone pins the source version it was made of: a small object
//!   `_refs/clones/<clone table id>.json` under the source's directory,
//!   which the source's cleanup reads like a tag. Unlike @lancedb/lancedb,
//!   cleanup on the source therefore does not break the clone. The pin is
//!   written before the clone's first version and released by the source's
//!   cleanup once the clone is gone (dropped, or its name taken by another
//!   table).

use std::collections::HashSet;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::txn::{self, Change, TableRef};
use crate::commit::CommitStore;
use crate::error::{quote, Error, Result};
use crate::format::manifest::{now_ms, Operation};
use crate::format::{data_path, shared, table_dir, Snapshot, TABLE_DIR_SUFFIX};
use crate::storage::uri::check_table_name;
use crate::storage::{DbUri, Location, StoreHandle};

/// Where a table keeps the pins of its clones, relative to its directory.
pub const CLONES_DIR: &str = "_refs/clones";

/// How long a pin whose clone does not exist is kept: the clone's first
/// version is committed right after the pin is written, so a pin without a
/// clone this young may belong to a clone still being created.
const PIN_GRACE_MS: u64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Clone)]
pub struct CloneTableRequest {
    pub target: String,
    pub source_uri: String,
    pub source_version: Option<u64>,
    pub source_tag: Option<String>,
    pub shallow: bool,
}

/// A clone's pin on its source version.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClonePin {
    /// The source version the clone was made of.
    version: u64,
    /// The clone's directory, relative to the source's (`../<name>.stowage`).
    table: String,
    /// The clone's `table_id`.
    table_id: String,
    created_ms: u64,
}

/// The main version line of the table in `dir` (clones are made of, and
/// pins name, versions of `main`). The one place this module builds a
/// `TableRef`.
pub(crate) fn main_line<'a>(
    name: &'a str,
    store: &'a StoreHandle,
    dir: &'a Path,
    commits: &'a dyn CommitStore,
) -> TableRef<'a> {
    TableRef {
        name,
        store,
        dir,
        versions: dir,
        branch: None,
        commits,
    }
}

fn pins_prefix(dir: &Path) -> Path {
    data_path(dir, CLONES_DIR)
}

/// The name of the source table in this database that `source_uri` names
/// (`<db uri>/<name>.stowage`, or `<name>.lance` as @lancedb/lancedb names
/// the same table).
fn source_name(db: &DbUri, store: &StoreHandle, source_uri: &str) -> Result<String> {
    let src = DbUri::parse(source_uri)?;
    let elsewhere = || {
        Error::NotSupported(format!(
            "cloneTable: the source '{}' is not a table of this database ({}); a shallow clone shares its source's files by a path inside the database. Clone a table of this database ('{}/<name>{TABLE_DIR_SUFFIX}'), or copy a table from elsewhere by reading it through its own connection and calling createTable with its rows",
            quote(source_uri),
            quote(&db.raw),
            quote(db.raw.trim_end_matches('/'))
        ))
    };
    // (which store, the path of the source directory in it)
    let (same_store, path): (bool, String) = match (&db.location, &src.location) {
        (Location::Local { .. }, Location::Local { path }) => {
            let Some(db_dir) = &store.local_dir else {
                return Err(elsewhere());
            };
            let db_dir = std::fs::canonicalize(db_dir).unwrap_or_else(|_| db_dir.clone());
            let parent = path
                .parent()
                .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            (parent.as_deref() == Some(db_dir.as_path()), name)
        }
        (Location::Memory { root: a }, Location::Memory { root: b }) => {
            (parent_of(b) == a.trim_matches('/'), last_of(b))
        }
        (
            Location::S3 {
                bucket: a,
                prefix: pa,
                ..
            },
            Location::S3 {
                bucket: b,
                prefix: pb,
                ..
            },
        )
        | (
            Location::Gcs {
                bucket: a,
                prefix: pa,
            },
            Location::Gcs {
                bucket: b,
                prefix: pb,
            },
        )
        | (
            Location::Azure {
                container: a,
                prefix: pa,
            },
            Location::Azure {
                container: b,
                prefix: pb,
            },
        ) => (a == b && parent_of(pb) == pa.trim_matches('/'), last_of(pb)),
        _ => (false, String::new()),
    };
    if !same_store {
        return Err(elsewhere());
    }
    let name = path
        .strip_suffix(TABLE_DIR_SUFFIX)
        .or_else(|| path.strip_suffix(".lance"))
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "cloneTable: the source '{}' is not a table directory; give '<db uri>/<name>{TABLE_DIR_SUFFIX}'",
                quote(source_uri)
            ))
        })?;
    check_table_name(name)?;
    Ok(name.to_string())
}

fn parent_of(p: &str) -> &str {
    let p = p.trim_matches('/');
    p.rsplit_once('/').map(|(a, _)| a).unwrap_or("")
}

fn last_of(p: &str) -> String {
    let p = p.trim_matches('/');
    p.rsplit_once('/').map(|(_, b)| b).unwrap_or(p).to_string()
}

/// Creates the clone `req.target` of a table of this database and returns
/// its first version.
pub(crate) async fn clone_table(
    db: &DbUri,
    store: &StoreHandle,
    commits: &dyn CommitStore,
    req: &CloneTableRequest,
) -> Result<Arc<Snapshot>> {
    check_table_name(&req.target)?;
    if req.source_version.is_some() && req.source_tag.is_some() {
        return Err(Error::invalid_argument(
            "cloneTable: give sourceVersion or sourceTag, not both",
        ));
    }
    let source = source_name(db, store, &req.source_uri)?;
    let src_dir = table_dir(&store.root, &source);
    let src = main_line(&source, store, &src_dir, commits);
    let not_found = || Error::TableNotFound {
        name: source.clone(),
        at: Some(db.raw.clone()),
    };
    let version = match &req.source_tag {
        Some(tag) => Some(
            super::tags::get(&src, tag)
                .await?
                .map(|c| c.version)
                .ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "cloneTable: tag '{}' does not exist on table '{source}'",
                        quote(tag)
                    ))
                })?,
        ),
        None => req.source_version,
    };
    let base = match version {
        Some(v) => match src.load_version(v).await? {
            Some(s) => s,
            None if src.load_latest().await?.is_none() => return Err(not_found()),
            None => {
                return Err(Error::VersionNotFound {
                    table: source.clone(),
                    version: v,
                })
            }
        },
        None => src.load_latest().await?.ok_or_else(not_found)?,
    };
    let target_dir = table_dir(&store.root, &req.target);
    let target = main_line(&req.target, store, &target_dir, commits);
    if req.target == source || target.load_latest().await?.is_some() {
        return Err(Error::TableExists {
            name: req.target.clone(),
        });
    }

    let mut m = (*base.manifest).clone();
    let table_id = uuid::Uuid::new_v4().to_string();
    // (source file, the clone's path for it) of a deep clone's copies.
    let mut copies: Vec<(Path, String)> = Vec::new();
    if req.shallow {
        shared::rebase_paths(&mut m, &format!("../{source}{TABLE_DIR_SUFFIX}"));
    } else {
        // Names of this clone's own (`data/<clone id>-<name>`,
        // `_indices/<clone id>-<segment>/<file>`): a failed clone removes
        // exactly its copies, never those of another clone racing it.
        shared::map_paths(&mut m, |p| {
            let local = shared::localize(p);
            let local = match local.split_once('/') {
                Some((dir, rest)) => format!("{dir}/{table_id}-{rest}"),
                None => format!("{table_id}-{local}"),
            };
            copies.push((data_path(&src_dir, p), local.clone()));
            *p = local;
        });
    }
    m.timestamp_ms = now_ms();
    m.operation = Operation::Clone {
        from_version: m.version,
    };
    m.table_id = Some(table_id.clone());
    m.commit_id = Some(uuid::Uuid::new_v4().to_string());
    m.ancestry = Vec::new();

    // Pin first: from here on the source's cleanup keeps the version.
    let pin = ClonePin {
        version: m.version,
        table: format!("../{}{TABLE_DIR_SUFFIX}", req.target),
        table_id: table_id.clone(),
        created_ms: now_ms(),
    };
    let pin_path = pins_prefix(&src_dir).join(format!("{table_id}.json"));
    let body = serde_json::to_vec(&pin)
        .map_err(|e| Error::internal(format!("encoding a clone pin: {e}")))?;
    store
        .store
        .put(&pin_path, PutPayload::from(body))
        .await
        .map_err(|e| store.error(e, format!("Writing clone pin {pin_path}")))?;
    let unpin = || async {
        let _ = store.store.delete(&pin_path).await;
    };
    // A cleanup may have removed the version before the pin landed.
    if commits.load(&src_dir, m.version).await?.is_none() {
        unpin().await;
        return Err(Error::VersionRemoved {
            table: source.clone(),
            version: m.version,
        });
    }
    if !req.shallow {
        // The pin keeps the files while they are copied.
        if let Err(e) = copy_files(store, &target_dir, &copies).await {
            for (_, to) in &copies {
                let _ = store.store.delete(&data_path(&target_dir, to)).await;
            }
            store.remove_empty_local_dirs(&target_dir).await;
            unpin().await;
            return Err(e);
        }
    }
    let manifest = Box::new(m);
    let done = txn::commit(target, None, |_| {
        let change = Change::Clone {
            manifest: manifest.clone(),
        };
        async move { Ok((change, ())) }
    })
    .await;
    let snapshot = match done {
        Ok(c) => c.snapshot,
        Err(e) => {
            // The outcome of a failed put may be unknown (an answer lost in
            // flight): look. When the look fails too, keep the pin and the
            // copies (a committed clone may need them; cleanup and the pin's
            // grace take care of them otherwise).
            match target.load_latest().await {
                Ok(Some(s)) if s.manifest.table_id.as_deref() == Some(table_id.as_str()) => {
                    Arc::new(s)
                }
                Ok(_) => {
                    for (_, to) in &copies {
                        let _ = store.store.delete(&data_path(&target_dir, to)).await;
                    }
                    unpin().await;
                    return Err(e);
                }
                Err(_) => return Err(e),
            }
        }
    };
    if !req.shallow {
        // A deep clone names none of the source's files.
        unpin().await;
    }
    Ok(snapshot)
}

/// A deep clone's copies: each file of the source version under the
/// clone's directory (a server-side copy on object stores, a hard link on
/// a local file system), 8 at a time.
async fn copy_files(
    store: &StoreHandle,
    target_dir: &Path,
    copies: &[(Path, String)],
) -> Result<()> {
    // Owned futures: a stream of closures borrowing the store is not
    // `Send` for every lifetime napi's future needs.
    let futs: Vec<_> = copies
        .iter()
        .map(|(from, to)| {
            let (store, from, to) = (store.clone(), from.clone(), data_path(target_dir, to));
            async move {
                store
                    .store
                    .copy(&from, &to)
                    .await
                    .map_err(|e| store.error(e, format!("Copying {from} to {to}")))
            }
        })
        .collect();
    futures::stream::iter(futs)
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await
        .map(|_| ())
}

/// The versions of table `t` that clones still need (see the module doc);
/// releases the pins of clones that are gone.
pub(crate) async fn pinned_versions(t: &TableRef<'_>) -> Result<HashSet<u64>> {
    let prefix = pins_prefix(t.dir);
    let objects: Vec<object_store::ObjectMeta> =
        match t.store.store.list(Some(&prefix)).try_collect().await {
            Ok(o) => o,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => {
                return Err(t
                    .store
                    .error(e, format!("Listing clone pins under {prefix}")))
            }
        };
    let mut out = HashSet::new();
    for o in objects {
        let bytes = match t.store.store.get(&o.location).await {
            Ok(r) => r.bytes().await.map_err(|e| {
                t.store
                    .error(e, format!("Reading clone pin {}", o.location))
            })?,
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => {
                return Err(t
                    .store
                    .error(e, format!("Reading clone pin {}", o.location)))
            }
        };
        let pin: ClonePin = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            table: t.name.to_string(),
            reason: format!("unreadable clone pin {}: {e}", o.location),
        })?;
        let clone_dir = data_path(t.dir, &pin.table);
        let clone = main_line(t.name, t.store, &clone_dir, t.commits);
        let gone = match clone.load_latest().await? {
            Some(s) => s.manifest.table_id.as_deref() != Some(pin.table_id.as_str()),
            None => now_ms().saturating_sub(pin.created_ms) >= PIN_GRACE_MS,
        };
        if gone {
            let _ = t.store.store.delete(&o.location).await;
        } else {
            out.insert(pin.version);
        }
    }
    Ok(out)
}
