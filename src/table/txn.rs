//! The one transaction loop. Every change to a table (create, append,
//! overwrite, delete, update, merge, restore, compaction) is a [`Change`]
//! planned against a base version and committed by [`commit`]:
//!
//! ```text
//!            ┌──────────── Replan: a file the change touched changed ◄──┐
//!            ▼                                                          │
//!   plan(base) ──► Change ──rebase(base)──► manifest v+1 ──commit──► Ok │
//!                                ▲                          │           │
//!                                │                     Conflict: another writer
//!                                └── reload latest ◄───── won v+1 ──────┘
//! ```
//!
//! * Appends, overwrites and restores rebase onto any newer version; rewrites
//!   (delete, update, merge, compaction) only when every fragment they touched
//!   is unchanged there, otherwise the operation is planned again on the new
//!   version, which is what a serial execution would have done.
//! * A table has an identity (`table_id`, fixed at create). A base that is no
//!   longer the table's (dropped, or dropped and created again) ends the
//!   transaction with `TABLE_NOT_FOUND`; it never commits into the history of
//!   another table that took the name.
//! * Files a change wrote are deleted only when the change is known not to
//!   have been committed (it was re-planned, lost every race, or its rebase
//!   refused it). After any other failure the outcome may be unknown (an
//!   answer lost in flight), and a committed version may name those files:
//!   they stay, and cleanup removes them once unreferenced.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_schema::{DataType, SchemaRef};
use object_store::path::Path;
use object_store::ObjectStoreExt;

use super::ops::Rewrite;
use crate::commit::{CommitError, CommitStore};
use crate::error::{Error, Result};
use crate::format::index::{IndexEntry, IndexSegment};
use crate::format::manifest::{
    encode_schema, now_ms, Fragment, Manifest, Operation, ANCESTRY_LEN, FORMAT, FORMAT_VERSION,
};
use crate::format::{data_path, Snapshot};
use crate::storage::StoreHandle;

/// Bounded: a writer that keeps losing races reports a conflict instead of
/// spinning forever.
pub(crate) const MAX_COMMIT_ATTEMPTS: u32 = 200;

/// How long a base counts as confirmed before a put (see `commit`).
const CONFIRMED_FOR: Duration = Duration::from_millis(50);

/// How many times a listed latest version whose manifest has vanished (a
/// cleanup removed it after a newer one landed) is looked up again.
const RELIST_ATTEMPTS: u32 = 5;

/// What `createTable` does when the name is taken by the time it commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreateMode {
    #[default]
    Create,
    Overwrite,
}

/// A change planned against a base version.
#[derive(Debug)]
pub(crate) enum Change {
    /// Version 1 of a new table.
    Create {
        fragment: Option<Fragment>,
        schema: SchemaRef,
        mode: CreateMode,
        exist_ok: bool,
    },
    /// New rows after the base's.
    Append {
        fragment: Option<Fragment>,
        schema: SchemaRef,
    },
    /// The whole table replaced (the schema may change, as in LanceDB).
    Overwrite {
        fragment: Option<Fragment>,
        schema: SchemaRef,
    },
    /// Existing files rewritten: deletion files, replaced and added fragments.
    Rewrite(Rewrite),
    /// An older version's contents as the new latest.
    Restore { source: Arc<Manifest> },
    /// A schema change (see `evolve`).
    Evolve(super::evolve::Evolution),
    /// An index created, dropped or re-segmented (see [`IndexChange`]).
    Index(IndexChange),
    /// The first version of a shallow clone (see `table::clone`): this
    /// manifest, on a table that must not exist yet.
    Clone { manifest: Box<Manifest> },
}

/// A change to the table's index list. Rebase rules (one place, in
/// [`IndexChange::apply`]):
///
/// * `Create` rebases onto any newer version whose indexed columns still
///   exist with the types the build read; coverage of fragments that no
///   longer exist there is dropped (their entries in the index objects are
///   filtered at read time). A name taken meanwhile by another index: with
///   `replace` this one wins (last writer wins), without it `INDEX_EXISTS`.
/// * `Drop` removes the index of that name if it is still there.
/// * `ReplaceSegments` (optimize) applies only while the index is the same
///   (same uuid) and still has every segment it replaces; otherwise it is
///   planned again on the new version.
///
/// Every other change carries the base's indexes unchanged (coverage is by
/// fragment id, so appends, deletes, updates, merges and compaction need no
/// index work), except an overwrite, which drops them as @lancedb/lancedb
/// does, and a restore, which brings back the restored version's indexes.
#[derive(Debug)]
pub(crate) enum IndexChange {
    Create {
        entry: IndexEntry,
        replace: bool,
        /// The indexed columns' types as the build read them.
        column_types: Vec<DataType>,
    },
    Drop {
        name: String,
    },
    ReplaceSegments {
        name: String,
        index_uuid: String,
        /// Uuids of the segments replaced.
        replaced: Vec<String>,
        added: Vec<IndexSegment>,
    },
}

impl IndexChange {
    /// The index list after this change on `base`; `Ok(None)`: stale, plan
    /// again; `Err` with `INDEX_EXISTS` or a schema change.
    fn apply(&self, base: &Snapshot, table: &str) -> Result<Option<Vec<IndexEntry>>> {
        let mut indices = base.manifest.indices.clone();
        match self {
            IndexChange::Create {
                entry,
                replace,
                column_types,
            } => {
                for (c, t) in entry.columns.iter().zip(column_types) {
                    match base.schema.field_with_name(c) {
                        Ok(f) if f.data_type() == t => {}
                        _ => {
                            return Err(Error::SchemaMismatch(format!(
                                "column '{c}' of index '{}' was dropped or changed type while the index was built; build it again",
                                entry.name
                            )))
                        }
                    }
                }
                match indices.iter().position(|i| i.name == entry.name) {
                    Some(at) if *replace => indices[at] = entry.clone(),
                    Some(_) => {
                        return Err(Error::IndexExists {
                            table: table.to_string(),
                            name: entry.name.clone(),
                        })
                    }
                    None => indices.push(entry.clone()),
                }
            }
            IndexChange::Drop { name } => indices.retain(|i| &i.name != name),
            IndexChange::ReplaceSegments {
                name,
                index_uuid,
                replaced,
                added,
            } => {
                let Some(i) = indices
                    .iter_mut()
                    .find(|i| &i.name == name && &i.uuid == index_uuid)
                else {
                    return Ok(None);
                };
                if !replaced
                    .iter()
                    .all(|r| i.segments.iter().any(|s| &s.uuid == r))
                {
                    return Ok(None);
                }
                i.segments.retain(|s| !replaced.contains(&s.uuid));
                i.segments.extend(added.iter().cloned());
            }
        }
        Ok(Some(indices))
    }

    /// Whether `base` already holds this change (its answer was lost and
    /// the loop met its own commit): committing again would be wrong, and
    /// its files are referenced.
    fn already_in(&self, base: &Manifest) -> bool {
        match self {
            IndexChange::Create { entry, .. } => base.indices.iter().any(|i| i.uuid == entry.uuid),
            IndexChange::ReplaceSegments { added, .. } => base
                .indices
                .iter()
                .flat_map(|i| &i.segments)
                .any(|s| added.iter().any(|a| a.uuid == s.uuid)),
            IndexChange::Drop { .. } => false,
        }
    }

    fn operation(&self) -> Operation {
        match self {
            IndexChange::Create { entry, .. } => Operation::CreateIndex {
                name: entry.name.clone(),
            },
            IndexChange::Drop { name } => Operation::DropIndex { name: name.clone() },
            IndexChange::ReplaceSegments { name, .. } => {
                Operation::OptimizeIndex { name: name.clone() }
            }
        }
    }

    fn written_files(&self) -> Vec<String> {
        let segments: Vec<&IndexSegment> = match self {
            IndexChange::Create { entry, .. } => entry.segments.iter().collect(),
            IndexChange::ReplaceSegments { added, .. } => added.iter().collect(),
            IndexChange::Drop { .. } => Vec::new(),
        };
        segments
            .into_iter()
            .flat_map(|s| s.files.iter().map(|f| f.path.clone()))
            .collect()
    }
}

/// A change lined up with a base.
// One is made per commit attempt and consumed at once: boxing the manifest
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Rebased {
    Commit(Manifest),
    /// The change is stale on this base: plan it again.
    Replan,
    /// Nothing to commit (an empty rewrite; `existOk` found the table).
    Nothing,
}

impl Change {
    fn rebase(&self, base: Option<&Snapshot>, table: &str) -> Result<Rebased> {
        let mut out = self.rebase_inner(base, table)?;
        if let Rebased::Commit(m) = &mut out {
            // Field ids (and files of another table) make a table
            // unreadable to a Stowage that predates them, which then says
            // "upgrade" instead of misreading it.
            m.format_version = m.required_format_version();
        }
        Ok(out)
    }

    fn rebase_inner(&self, base: Option<&Snapshot>, table: &str) -> Result<Rebased> {
        let Some(base) = base else {
            return match self {
                Change::Create {
                    fragment, schema, ..
                } => {
                    let id = uuid::Uuid::new_v4().to_string();
                    Ok(Rebased::Commit(first_manifest(
                        schema,
                        fragment.clone(),
                        id,
                    )?))
                }
                Change::Clone { manifest } => Ok(Rebased::Commit((**manifest).clone())),
                _ => Err(Error::TableDropped {
                    name: table.to_string(),
                }),
            };
        };
        let m = &base.manifest;
        Ok(match self {
            Change::Create {
                fragment,
                schema,
                mode,
                exist_ok,
            } => match (mode, exist_ok) {
                (CreateMode::Overwrite, _) => Rebased::Commit(overwrite(m, schema, fragment)?),
                (CreateMode::Create, true) => Rebased::Nothing,
                (CreateMode::Create, false) => {
                    return Err(Error::TableExists {
                        name: table.to_string(),
                    })
                }
            },
            Change::Append { fragment, schema } => {
                // Rows written on an older schema still fit when every
                // current column is one they hold (by field id, types equal
                // or widened) or an all-null column added since: a rename
                // or drop racing an append leaves both applied.
                let fragment = super::evolve::fit_append(base, schema, fragment).ok_or_else(|| {
                    Error::CommitConflict {
                        table: table.to_string(),
                        version: m.version,
                        reason: "another writer changed the table's schema while this append was in flight, and the new rows do not fit it; read the new schema and retry".into(),
                    }
                })?;
                let mut fragments = m.fragments.clone();
                let mut next_id = m.next_fragment_id;
                let rows = push_fragment(&mut fragments, &mut next_id, &fragment);
                Rebased::Commit(next_manifest(
                    m,
                    Operation::Append { rows },
                    &base.schema,
                    fragments,
                    next_id,
                    &m.indices,
                )?)
            }
            Change::Overwrite { fragment, schema } => {
                Rebased::Commit(overwrite(m, schema, fragment)?)
            }
            Change::Rewrite(rw) if rw.is_empty() => Rebased::Nothing,
            Change::Rewrite(rw) if rw.planned.as_ref().is_some_and(|p| !p.matches(base)) => {
                Rebased::Replan
            }
            Change::Rewrite(rw) => match rw.apply(m) {
                Some((mut fragments, next_id)) => Rebased::Commit(next_manifest(
                    m,
                    rw.operation
                        .clone()
                        .unwrap_or(Operation::Update { rows: 0 }),
                    &base.schema,
                    {
                        // New files were written in the base's schema.
                        super::evolve::stamp_new(&mut fragments, &rw.added, m);
                        fragments
                    },
                    next_id,
                    &m.indices,
                )?),
                None => Rebased::Replan,
            },
            Change::Index(ic) if ic.already_in(m) => Rebased::Nothing,
            Change::Index(ic) => match ic.apply(base, table)? {
                Some(indices) => Rebased::Commit(next_manifest(
                    m,
                    ic.operation(),
                    &base.schema,
                    m.fragments.clone(),
                    m.next_fragment_id,
                    &indices,
                )?),
                None => Rebased::Replan,
            },
            Change::Evolve(ev) => match ev.apply(base) {
                Some(mut next) => {
                    let mut out = next_manifest(
                        m,
                        ev.operation.clone(),
                        &ev.schema,
                        std::mem::take(&mut next.fragments),
                        m.next_fragment_id,
                        &ev.indices(&m.indices),
                    )?;
                    out.field_ids = Some(ev.ids.clone());
                    out.next_field_id = Some(ev.next_field_id);
                    Rebased::Commit(out)
                }
                None => Rebased::Replan,
            },
            Change::Clone { .. } => {
                return Err(Error::TableExists {
                    name: table.to_string(),
                })
            }
            Change::Restore { source } => {
                let schema = source.schema(table)?;
                let mut out = next_manifest(
                    m,
                    Operation::Restore {
                        from_version: source.version,
                    },
                    &schema,
                    source.fragments.clone(),
                    m.next_fragment_id.max(source.next_fragment_id),
                    &source.indices,
                )?;
                // The old schema's ids; new ids keep counting up.
                out.field_ids = source.field_ids.clone();
                out.next_field_id = m.next_field_id.max(source.next_field_id);
                Rebased::Commit(out)
            }
        })
    }

    /// Files this change wrote (relative to the table directory).
    fn written_files(&self) -> Vec<String> {
        match self {
            Change::Create { fragment, .. }
            | Change::Append { fragment, .. }
            | Change::Overwrite { fragment, .. } => {
                fragment.iter().map(|f| f.path.clone()).collect()
            }
            Change::Rewrite(rw) => rw.written_files(),
            Change::Restore { .. } | Change::Clone { .. } => Vec::new(),
            Change::Evolve(ev) => ev.written_files(),
            Change::Index(ic) => ic.written_files(),
        }
    }

    /// Whether `base` already holds this change (see `IndexChange::already_in`).
    fn already_in(&self, base: Option<&Snapshot>) -> bool {
        match (self, base) {
            (Change::Index(ic), Some(b)) => ic.already_in(&b.manifest),
            _ => false,
        }
    }
}

fn push_fragment(fragments: &mut Vec<Fragment>, next_id: &mut u64, f: &Option<Fragment>) -> u64 {
    let Some(f) = f else { return 0 };
    let mut f = f.clone();
    f.id = *next_id;
    *next_id += 1;
    let rows = f.rows;
    fragments.push(f);
    rows
}

fn overwrite(base: &Manifest, schema: &SchemaRef, fragment: &Option<Fragment>) -> Result<Manifest> {
    let mut fragments = Vec::new();
    let mut next_id = base.next_fragment_id;
    let rows = push_fragment(&mut fragments, &mut next_id, fragment);
    // The indexes go with the rows they indexed, as in @lancedb/lancedb.
    let mut m = next_manifest(
        base,
        Operation::Overwrite { rows },
        schema,
        fragments,
        next_id,
        &[],
    )?;
    // A new schema: its files number their fields 0, 1, 2, ... again.
    m.field_ids = None;
    m.next_field_id = None;
    Ok(m)
}

/// The manifest of the version after `base`; it keeps the table's identity.
/// `indices` lose their coverage of fragments that are not in `fragments`.
fn next_manifest(
    base: &Manifest,
    operation: Operation,
    schema: &SchemaRef,
    fragments: Vec<Fragment>,
    next_fragment_id: u64,
    indices: &[IndexEntry],
) -> Result<Manifest> {
    let ids: std::collections::HashSet<u64> = fragments.iter().map(|f| f.id).collect();
    let exists = |id: u64| ids.contains(&id);
    let indices = indices.iter().map(|i| i.pruned(&exists)).collect();
    Ok(Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        version: base.version + 1,
        timestamp_ms: now_ms(),
        operation,
        table_id: base.table_id.clone(),
        commit_id: Some(uuid::Uuid::new_v4().to_string()),
        schema: encode_schema(schema)?,
        fragments,
        next_fragment_id,
        field_ids: base.field_ids.clone(),
        next_field_id: base.next_field_id,
        indices,
        ancestry: base
            .commit_id
            .iter()
            .chain(&base.ancestry)
            .take(ANCESTRY_LEN)
            .cloned()
            .collect(),
    })
}

fn first_manifest(
    schema: &SchemaRef,
    fragment: Option<Fragment>,
    table_id: String,
) -> Result<Manifest> {
    let mut fragments = Vec::new();
    let mut next_id = 0;
    let rows = push_fragment(&mut fragments, &mut next_id, &fragment);
    Ok(Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        version: 1,
        timestamp_ms: now_ms(),
        operation: Operation::Create { rows },
        table_id: Some(table_id),
        commit_id: Some(uuid::Uuid::new_v4().to_string()),
        schema: encode_schema(schema)?,
        fragments,
        next_fragment_id: next_id,
        field_ids: None,
        next_field_id: None,
        indices: Vec::new(),
        ancestry: Vec::new(),
    })
}

/// Where a table's versions are, for the loop and for loading versions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableRef<'a> {
    pub name: &'a str,
    pub store: &'a StoreHandle,
    /// The table directory: data, deletion and index files, refs.
    pub dir: &'a Path,
    /// Where this line of versions is committed: `dir` for `main`, the
    /// branch's own directory for a branch (see `branches`).
    pub versions: &'a Path,
    /// The branch this line is (`None`: main).
    pub branch: Option<&'a str>,
    pub commits: &'a dyn CommitStore,
}

/// What a look for a newer version found.
#[derive(Debug)]
pub(crate) enum Newer {
    Version(Arc<Snapshot>),
    Unchanged,
    /// The table has no versions at all: it was dropped.
    NoVersions,
}

/// What a committed transaction returns.
#[derive(Debug)]
pub(crate) struct Committed<T> {
    /// The version now latest for this writer: the one it committed, or its
    /// base when there was nothing to commit.
    pub snapshot: Arc<Snapshot>,
    pub output: T,
    /// Commit attempts made (manifest puts tried, at least 1): 1 when no
    /// other writer got in the way, one more for each race lost to one.
    pub attempts: u32,
}

impl TableRef<'_> {
    fn snapshot(&self, manifest: Manifest) -> Result<Snapshot> {
        Snapshot::new(self.store.clone(), self.dir.clone(), manifest, self.name)
    }

    /// The manifest of `version`, if it exists.
    pub async fn load_version(&self, version: u64) -> Result<Option<Snapshot>> {
        match self.commits.load(self.versions, version).await? {
            Some(bytes) => Ok(Some(
                self.snapshot(Manifest::from_bytes(self.name, &bytes)?)?,
            )),
            None => Ok(None),
        }
    }

    /// The latest version, or `None` for a table with none.
    pub async fn load_latest(&self) -> Result<Option<Snapshot>> {
        for _ in 0..RELIST_ATTEMPTS {
            let Some(version) = self.commits.latest_version(self.versions).await? else {
                return Ok(None);
            };
            // A listed version whose manifest is gone was removed by a
            // cleanup after a newer version landed (cleanup never removes
            // the latest): look again.
            if let Some(s) = self.load_version(version).await? {
                return Ok(Some(s));
            }
        }
        Err(Error::Storage {
            kind: crate::error::StorageErrorKind::NotFound,
            context: format!("Finding the latest version of table '{}'", self.name),
            message: format!(
                "the latest version's manifest vanished {RELIST_ATTEMPTS} times in a row while a cleanup was removing versions; retry"
            ),
        })
    }

    /// The latest version when it is newer than `known`.
    pub async fn load_latest_if_newer(&self, known: u64) -> Result<Newer> {
        match self.commits.latest_version(self.versions).await? {
            Some(v) if v > known => match self.load_version(v).await? {
                Some(s) => Ok(Newer::Version(Arc::new(s))),
                None => Ok(self
                    .load_latest()
                    .await?
                    .map_or(Newer::NoVersions, |s| Newer::Version(Arc::new(s)))),
            },
            Some(_) => Ok(Newer::Unchanged),
            None => Ok(Newer::NoVersions),
        }
    }

    /// The error for a line whose versions are gone: the table was
    /// dropped, or the branch deleted.
    pub(crate) fn dropped(&self) -> Error {
        match self.branch {
            Some(b) => Error::BranchDeleted {
                table: self.name.to_string(),
                branch: b.to_string(),
            },
            None => Error::TableDropped {
                name: self.name.to_string(),
            },
        }
    }

    /// The latest version of the same table as `base`; `TABLE_NOT_FOUND`
    /// when the table was dropped (or dropped and created again).
    async fn latest_of(&self, base_id: &Option<String>) -> Result<Snapshot> {
        match self.load_latest().await? {
            Some(l) if &l.manifest.table_id == base_id => Ok(l),
            _ => Err(self.dropped()),
        }
    }

    /// The latest version to commit on after `base` went stale: of the same
    /// table (`TABLE_NOT_FOUND` once it was dropped), or, when creating,
    /// whatever table won version 1 (the change decides then: exists,
    /// existOk or overwrite).
    async fn reload(&self, base: &Option<Arc<Snapshot>>) -> Result<Option<Arc<Snapshot>>> {
        match base {
            Some(b) => Ok(Some(Arc::new(self.latest_of(&b.manifest.table_id).await?))),
            None => Ok(self.load_latest().await?.map(Arc::new)),
        }
    }

    /// Checks that `base`, which this writer has not just loaded, is still a
    /// version of its table; returns the version to rebase onto when cleanup
    /// removed it meanwhile. A stale handle of a dropped table must not
    /// create "version 2" inside a table that took its name.
    async fn verify_base(&self, base: &Snapshot) -> Result<Option<Snapshot>> {
        match self.commits.load(self.versions, base.version()).await? {
            Some(bytes) => {
                let m = Manifest::from_bytes(self.name, &bytes)?;
                if m.table_id == base.manifest.table_id {
                    Ok(None)
                } else {
                    Err(self.dropped())
                }
            }
            None => self.latest_of(&base.manifest.table_id).await.map(Some),
        }
    }

    /// Whether `committed`, just put as version `base + 1`, is beside the
    /// table's chain: a cleanup removed `base` and `base + 1` after the
    /// writer confirmed `base`, and the create-only put then succeeded on the
    /// freed number while newer versions already existed. Cleanup removes
    /// versions in ascending order, so while `base` exists, `base + 1` was
    /// not freed before the put (one request). Once `base` is gone, the
    /// latest version tells (two more): built on ours, it names our
    /// `commit_id` among its ancestors. A latest version more than
    /// [`ANCESTRY_LEN`] versions ahead, or one written before ancestry
    /// existed, cannot tell and the commit is taken as on the chain.
    async fn committed_off_chain(&self, base: &Snapshot, committed: &Manifest) -> Result<bool> {
        if self
            .commits
            .load(self.versions, base.version())
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let Some(latest) = self.load_latest().await? else {
            return Ok(false);
        };
        let latest = &latest.manifest;
        if latest.version <= committed.version || committed.commit_id.is_none() {
            return Ok(false);
        }
        let ahead = (latest.version - committed.version) as usize;
        let on_chain = latest
            .ancestry
            .iter()
            .any(|a| Some(a) == committed.commit_id.as_ref());
        Ok(!on_chain && ahead <= latest.ancestry.len())
    }

    /// Whether `created`, the first version of a new table, landed beside
    /// another table's versions: a clone's first version is not 1 (it
    /// keeps its source's number), so a `createTable` and a `cloneTable` of
    /// one name put different objects and both succeed. A first version
    /// with a lower version beside it (a table already there), or whose
    /// latest version is another table's, is taken back and its writer
    /// reloads, as after a lost race. When both writers look before either
    /// takes back, both retry; neither is acknowledged beside the other.
    async fn created_beside(&self, created: &Manifest) -> Result<bool> {
        let versions = self.commits.list_versions(self.versions).await?;
        if versions.iter().any(|v| *v < created.version) {
            return Ok(true);
        }
        match versions.iter().max() {
            Some(&latest) if latest > created.version => Ok(self
                .load_version(latest)
                .await?
                .is_some_and(|l| l.manifest.table_id != created.table_id)),
            _ => Ok(false),
        }
    }

    /// Deletes what an uncommitted change wrote. Best effort: a leftover is
    /// an unreferenced file that cleanup removes.
    async fn discard(&self, change: &Change) {
        for f in change.written_files() {
            let _ = self.store.store.delete(&data_path(self.dir, &f)).await;
        }
    }
}

/// Plans a change on `base` (`None`: the table does not exist yet) and
/// commits it, rebasing or re-planning it when other writers win versions
/// first. See the module doc for the guarantees.
pub(crate) async fn commit<F, Fut, T>(
    table: TableRef<'_>,
    base: Option<Arc<Snapshot>>,
    mut plan: F,
) -> Result<Committed<T>>
where
    F: FnMut(Option<Arc<Snapshot>>) -> Fut,
    Fut: std::future::Future<Output = Result<(Change, T)>>,
{
    let mut base = base;
    // When the base was last confirmed to be a version of this table: a
    // base handed in by the caller may be old (`None`: not confirmed).
    let mut confirmed: Option<Instant> = base.is_none().then(Instant::now);
    let mut planned: Option<(Change, T)> = None;
    let mut lost_races = false;
    let mut attempt = 0;
    // Manifest puts tried: the attempts a caller is told about.
    let mut puts: u32 = 0;
    while attempt < MAX_COMMIT_ATTEMPTS {
        // Never put version v+1 on a base v that was not confirmed moments
        // ago: a cleanup removes versions that are no longer the latest, and
        // a create-only put of a number it freed would succeed, committing a
        // version on a stale base that no reader would ever see as latest
        // (its rows lost). Confirming v right before the put leaves a window
        // of one request in which a cleanup would have to remove both v and
        // v + 1, which it does one after the other, in that order.
        if confirmed.is_none_or(|t| t.elapsed() > CONFIRMED_FOR) {
            if let Some(b) = &base {
                match table.verify_base(b).await {
                    Ok(None) => {}
                    Ok(Some(newer)) => base = Some(Arc::new(newer)),
                    Err(e) => {
                        if let Some((change, _)) = &planned {
                            // Not committed: leave nothing behind in a
                            // directory that is no longer this table's.
                            table.discard(change).await;
                        }
                        if matches!(e, Error::TableDropped { .. }) {
                            table.store.remove_empty_local_dirs(table.versions).await;
                        }
                        return Err(e);
                    }
                }
            }
            confirmed = Some(Instant::now());
        }
        let (change, output) = match planned.take() {
            Some(p) => p,
            None => match plan(base.clone()).await {
                Ok(p) => p,
                // The base's files vanished under the plan (a cleanup after
                // a newer version landed): plan again on the latest.
                Err(e) if is_not_found(&e) && base.is_some() => {
                    base = table.reload(&base).await?;
                    confirmed = Some(Instant::now());
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        let rebased = match change.rebase(base.as_deref(), table.name) {
            Ok(r) => r,
            Err(e) => {
                if lost_races {
                    // Never committed: the rebase refused it.
                    table.discard(&change).await;
                }
                return Err(e);
            }
        };
        let manifest = match rebased {
            Rebased::Nothing => {
                if lost_races && !change.already_in(base.as_deref()) {
                    table.discard(&change).await;
                }
                let snapshot = base.ok_or_else(|| {
                    Error::internal("nothing to commit on a table without versions")
                })?;
                return Ok(Committed {
                    snapshot,
                    output,
                    attempts: puts.max(1),
                });
            }
            Rebased::Replan => {
                table.discard(&change).await;
                attempt += 1;
                continue;
            }
            Rebased::Commit(m) => m,
        };
        if confirmed.is_none_or(|t| t.elapsed() > CONFIRMED_FOR) {
            // Planning took a while: confirm the base again first.
            planned = Some((change, output));
            continue;
        }
        puts += 1;
        match table
            .commits
            .commit(table.versions, manifest.version, manifest.to_bytes()?)
            .await
        {
            Ok(()) => {
                let off_chain = match &base {
                    Some(b) => table.committed_off_chain(b, &manifest).await?,
                    None => table.created_beside(&manifest).await?,
                };
                if !off_chain {
                    let snapshot = Arc::new(table.snapshot(manifest)?);
                    return Ok(Committed {
                        snapshot,
                        output,
                        attempts: puts.max(1),
                    });
                }
                // Our number had been freed by a cleanup and our manifest
                // sits beside the table's chain, where no reader will look
                // for it: take it back and commit on the latest version, as
                // after a lost race. Nothing was built on it (the version
                // after it already existed).
                table
                    .commits
                    .delete_version(table.versions, manifest.version)
                    .await?;
                lost_races = true;
                tokio::time::sleep(backoff(attempt)).await;
                base = table.reload(&base).await?;
                confirmed = Some(Instant::now());
                planned = Some((change, output));
                attempt += 1;
            }
            Err(CommitError::Conflict { .. }) => {
                lost_races = true;
                // Back off first, then look: the base must be as fresh as
                // possible when the next put goes out.
                tokio::time::sleep(backoff(attempt)).await;
                base = match table.reload(&base).await {
                    Ok(b) => b,
                    Err(e) => {
                        table.discard(&change).await;
                        return Err(e);
                    }
                };
                confirmed = Some(Instant::now());
                planned = Some((change, output));
                attempt += 1;
            }
            Err(CommitError::Failed(e)) => return Err(e),
        }
    }
    if let Some((change, _)) = &planned {
        table.discard(change).await;
    }
    Err(Error::CommitConflict {
        table: table.name.to_string(),
        version: base.map(|b| b.version() + 1).unwrap_or(1),
        reason: format!(
            "gave up after {MAX_COMMIT_ATTEMPTS} attempts; too many concurrent writers"
        ),
    })
}

fn is_not_found(e: &Error) -> bool {
    matches!(
        e,
        Error::Storage {
            kind: crate::error::StorageErrorKind::NotFound,
            ..
        }
    )
}

/// Jittered exponential backoff, so racing writers spread out.
fn backoff(attempt: u32) -> Duration {
    // Full jitter up to a cap that grows with the losses, so a writer that
    // keeps losing spreads out further instead of starving (8 writers on a
    // slow DynamoDB commit path lost 40 races in a row with a 500 ms cap).
    let cap_ms = (5u64 << attempt.min(8)).min(1000);
    Duration::from_millis(rand::random_range(1..=cap_ms))
}
