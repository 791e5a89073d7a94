//! Table handles and the operations on them. Every change is a [`Change`]
//! committed by the one transaction loop in [`txn`]; reads go to a
//! [`Snapshot`] of one version. The bytes (manifests, data and deletion
//! files) are the `format` layer's.

pub mod branches;
mod cleanup;
pub mod clone;
mod compact_remap;
pub mod database;
pub mod doctor;
pub mod evolve;
mod fts_build;
pub mod indexing;
mod lifecycle;
pub mod namespace;
pub mod ops;
mod prewarm;
pub mod request;
mod scalar_build;
pub mod stats;
pub mod tags;
#[cfg(test)]
mod tests;
pub(crate) mod txn;
mod vector_build;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{new_null_array, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use tokio::sync::RwLock;

use crate::commit::CommitStore;
use crate::error::{Error, Result, StorageErrorKind};
use crate::format::datafile::write_fragment;
use crate::format::manifest::{Fragment, ManifestSummary, Operation, SUMMARY_PREFIX_BYTES};
use crate::format::{table_dir, Snapshot};
use crate::query::{self, ScanRequest};
use crate::storage::{EffectiveOption, StorageOptions, StoreHandle};
use lifecycle::Lifecycle;
use txn::{Change, Newer, TableRef};

pub use cleanup::{OptimizeOptions, OptimizeStats};
pub use database::{CreateTableRequest, Database};
pub use txn::CreateMode;

/// How many times a read of the latest version starts again on a newer
/// version after a file of its version vanished (a concurrent cleanup).
const READ_RETRIES: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddMode {
    #[default]
    Append,
    Overwrite,
}

/// Which version a handle reads, as in LanceDB's read-consistency modes.
#[derive(Debug, Clone)]
enum HandleState {
    /// Follows the latest version; `checked` is when it last looked for
    /// other writers' versions (see `readConsistencyInterval`).
    Latest {
        snap: Arc<Snapshot>,
        checked: Instant,
    },
    /// Checked out at a fixed version (time travel): reads only.
    Pinned { snap: Arc<Snapshot> },
}

impl HandleState {
    fn latest(snap: Arc<Snapshot>) -> Self {
        HandleState::Latest {
            snap,
            checked: Instant::now(),
        }
    }

    fn snap(&self) -> &Arc<Snapshot> {
        match self {
            HandleState::Latest { snap, .. } | HandleState::Pinned { snap } => snap,
        }
    }
}

/// One entry of `listVersions()`.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    pub version: u64,
    pub timestamp_ms: u64,
    pub operation: String,
}

#[derive(Debug)]
pub struct Table {
    name: String,
    dir: Path,
    /// Where this handle's line of versions is committed: `dir` on main,
    /// the branch's directory on a branch (see [`branches`]).
    versions: Path,
    /// The branch this handle is on (`None`: main).
    branch: Option<branches::BranchRef>,
    /// The store as the connection gave it: handles on other branches
    /// take their upload scope from it, so closing one handle leaves them be.
    origin: StoreHandle,
    store: StoreHandle,
    commits: Arc<dyn CommitStore>,
    options: Arc<StorageOptions>,
    state: RwLock<HandleState>,
    lifecycle: Lifecycle,
    /// LanceDB's readConsistencyInterval: `None` never looks for other
    /// writers' versions, `Some(0)` looks on every read.
    consistency: Option<Duration>,
}

impl Table {
    /// Opens the latest version, or `None` when the table has no version.
    pub(crate) async fn open(
        name: &str,
        store: StoreHandle,
        commits: Arc<dyn CommitStore>,
        options: Arc<StorageOptions>,
        consistency: Option<Duration>,
    ) -> Result<Option<Table>> {
        let dir = table_dir(&store.root, name);
        let tref = TableRef {
            name,
            store: &store,
            dir: &dir,
            versions: &dir,
            branch: None,
            commits: commits.as_ref(),
        };
        let Some(snapshot) = tref.load_latest().await? else {
            return Ok(None);
        };
        Ok(Some(Table::with_snapshot(
            name,
            store,
            commits,
            options,
            consistency,
            Arc::new(snapshot),
        )))
    }

    /// A handle on a version this process just committed or loaded.
    pub(crate) fn with_snapshot(
        name: &str,
        store: StoreHandle,
        commits: Arc<dyn CommitStore>,
        options: Arc<StorageOptions>,
        consistency: Option<Duration>,
        snapshot: Arc<Snapshot>,
    ) -> Table {
        Table {
            name: name.to_string(),
            dir: snapshot.dir.clone(),
            versions: snapshot.dir.clone(),
            branch: None,
            origin: store.clone(),
            // This handle's uploads end with the handle (and with its
            // connection).
            store: StoreHandle {
                scope: store.scope.child(),
                ..store
            },
            commits,
            options,
            state: RwLock::new(HandleState::latest(snapshot)),
            lifecycle: Lifecycle::default(),
            consistency,
        }
    }

    fn tref(&self) -> TableRef<'_> {
        TableRef {
            name: &self.name,
            store: &self.store,
            dir: &self.dir,
            versions: &self.versions,
            branch: self.branch.as_ref().map(|b| b.name.as_str()),
            commits: self.commits.as_ref(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_open(&self) -> bool {
        self.lifecycle.is_open()
    }

    /// Closing is final for this handle; committed data is unaffected, and
    /// its uploads still in flight are aborted.
    pub fn close(&self) {
        self.lifecycle.close(&self.store.scope);
    }

    fn check_open(&self) -> Result<()> {
        self.lifecycle.check(|| format!("Table '{}'", self.name))
    }

    pub fn display(&self) -> String {
        let state = self.lifecycle.describe();
        format!("Table({}, {state}, {})", self.name, self.store.display_uri)
    }

    pub fn effective_storage_options(&self) -> Vec<EffectiveOption> {
        self.options.effective()
    }

    /// The version reads see: the pinned one, or the latest as of the
    /// consistency interval.
    async fn snapshot(&self) -> Result<Arc<Snapshot>> {
        self.check_open()?;
        {
            let st = self.state.read().await;
            let due = match (&*st, self.consistency) {
                (HandleState::Latest { checked, .. }, Some(interval)) => {
                    checked.elapsed() >= interval
                }
                _ => false,
            };
            if !due {
                return Ok(st.snap().clone());
            }
        }
        // A version check is a read (see query::fast).
        crate::query::fast::io_gate().await;
        self.refresh(false).await
    }

    /// Whether the table lives in a local directory or in memory, where a
    /// synchronous search attempt is made (`query::fast`; on object stores
    /// searches always run asynchronously).
    pub(crate) fn in_process_store(&self) -> bool {
        self.store.backend.is_in_process()
    }

    /// Looks for a newer latest version (unless pinned) and adopts it.
    /// `force`: look even when the last look is recent.
    async fn refresh(&self, force: bool) -> Result<Arc<Snapshot>> {
        let mut st = self.state.write().await;
        let HandleState::Latest { snap, checked } = &*st else {
            return Ok(st.snap().clone());
        };
        // Another reader may have refreshed while this one waited.
        let fresh = self.consistency.is_some_and(|i| checked.elapsed() < i);
        if fresh && !force {
            return Ok(snap.clone());
        }
        let dropped = || self.tref().dropped();
        let snap = match self.tref().load_latest_if_newer(snap.version()).await? {
            Newer::Version(latest) if latest.manifest.table_id != snap.manifest.table_id => {
                return Err(dropped())
            }
            Newer::Version(latest) => latest,
            Newer::Unchanged => snap.clone(),
            Newer::NoVersions => return Err(dropped()),
        };
        *st = HandleState::latest(snap.clone());
        Ok(snap)
    }

    /// Runs a read on the current snapshot. A reader on the latest version
    /// whose files vanish under it (a concurrent cleanup removed its version
    /// after a newer one landed) starts again on the newer version; a reader
    /// pinned to a removed version gets one clear error.
    async fn read<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn(Arc<Snapshot>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut snap = self.snapshot().await?;
        let mut attempt = 0;
        loop {
            let err = match f(snap.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) if is_not_found(&e) => e,
                Err(e) => return Err(e),
            };
            let pinned = matches!(&*self.state.read().await, HandleState::Pinned { .. });
            if pinned || attempt >= READ_RETRIES {
                return Err(self.vanished(&snap, err).await);
            }
            let next = self.refresh(true).await?;
            if next.version() == snap.version() {
                // No newer version: the file is missing for another reason.
                return Err(self.vanished(&snap, err).await);
            }
            snap = next;
            attempt += 1;
        }
    }

    /// The error for a read whose file vanished: a removed version says so
    /// (and what to do); anything else keeps the storage error.
    async fn vanished(&self, snap: &Snapshot, err: Error) -> Error {
        match self.tref().load_version(snap.version()).await {
            Ok(None) => Error::VersionRemoved {
                table: self.name.clone(),
                version: snap.version(),
            },
            // The same version number in a table created again under the
            // name (a refresh compares numbers only, to stay one request).
            Ok(Some(now)) if now.manifest.table_id != snap.manifest.table_id => {
                self.tref().dropped()
            }
            _ => err,
        }
    }

    /// Commits a change planned on the handle's latest version, and makes
    /// the committed version the handle's latest.
    async fn commit<F, Fut, T>(&self, plan: F) -> Result<(u64, T)>
    where
        F: FnMut(Option<Arc<Snapshot>>) -> Fut,
        Fut: std::future::Future<Output = Result<(Change, T)>>,
    {
        let (version, output, _) = self.commit_counted(plan).await?;
        Ok((version, output))
    }

    /// [`Self::commit`], also returning how many commit attempts the
    /// transaction loop made (mergeInsert's `numAttempts`).
    async fn commit_counted<F, Fut, T>(&self, plan: F) -> Result<(u64, T, u32)>
    where
        F: FnMut(Option<Arc<Snapshot>>) -> Fut,
        Fut: std::future::Future<Output = Result<(Change, T)>>,
    {
        self.check_open()?;
        let mut st = self.state.write().await;
        let base = match &*st {
            HandleState::Latest { snap, .. } => snap.clone(),
            HandleState::Pinned { snap } => {
                return Err(Error::invalid_argument(format!(
                    "table '{}' is checked out at version {}; writes need the latest version: call checkoutLatest() (or restore() to make this version the latest)",
                    self.name,
                    snap.version()
                )))
            }
        };
        let done = txn::commit(self.tref(), Some(base), plan).await?;
        // A branch deleted while this commit ran: its versions are gone
        // with it, so the write must not be reported as kept.
        self.check_branch_kept().await?;
        let version = done.snapshot.version();
        *st = HandleState::latest(done.snapshot);
        Ok((version, done.output, done.attempts))
    }

    pub async fn list_versions(&self) -> Result<Vec<VersionInfo>> {
        self.check_open()?;
        let versions = self.commits.list_versions(&self.versions).await?;
        // Summaries only: a short prefix of each manifest, many at a time.
        let summaries: Vec<Option<ManifestSummary>> = futures::stream::iter(versions)
            .map(|v| self.summary(v))
            .buffered(16)
            .try_collect()
            .await?;
        Ok(summaries
            .into_iter()
            .flatten()
            .map(|s| VersionInfo {
                version: s.version,
                timestamp_ms: s.timestamp_ms,
                operation: s.operation.name().to_string(),
            })
            .collect())
    }

    /// The summary of one version; `None` when a cleanup removed it meanwhile.
    async fn summary(&self, version: u64) -> Result<Option<ManifestSummary>> {
        let Some(head) = self
            .commits
            .load_prefix(&self.versions, version, SUMMARY_PREFIX_BYTES)
            .await?
        else {
            return Ok(None);
        };
        if let Some(s) = ManifestSummary::from_prefix(&self.name, &head)? {
            return Ok(Some(s));
        }
        match self.commits.load(&self.versions, version).await? {
            Some(bytes) => ManifestSummary::from_prefix(&self.name, &bytes),
            None => Ok(None),
        }
    }

    /// Pins reads to `version` (time travel); writes fail until checkoutLatest().
    pub async fn checkout(&self, version: u64) -> Result<()> {
        self.check_open()?;
        let snap = self
            .tref()
            .load_version(version)
            .await?
            .ok_or_else(|| self.no_version(version))?;
        *self.state.write().await = HandleState::Pinned {
            snap: Arc::new(snap),
        };
        Ok(())
    }

    pub async fn checkout_latest(&self) -> Result<()> {
        self.check_open()?;
        let latest = self
            .tref()
            .load_latest()
            .await?
            .ok_or_else(|| self.tref().dropped())?;
        let mut st = self.state.write().await;
        if latest.manifest.table_id != st.snap().manifest.table_id {
            return Err(self.tref().dropped());
        }
        *st = HandleState::latest(Arc::new(latest));
        Ok(())
    }

    /// Makes the checked-out version (or `version`) the latest, as a new version.
    pub async fn restore(&self, version: Option<u64>) -> Result<u64> {
        if let Some(v) = version {
            self.checkout(v).await?;
        }
        self.check_open()?;
        let source = self.state.read().await.snap().clone();
        // Back to following the latest: the restore commits on top of it.
        self.checkout_latest().await?;
        let (v, ()) = self
            .commit(|_| {
                let source = source.manifest.clone();
                async move { Ok((Change::Restore { source }, ())) }
            })
            .await?;
        Ok(v)
    }

    pub async fn delete(&self, predicate: &str) -> Result<u64> {
        self.delete_counted(predicate).await.map(|(v, _)| v)
    }

    /// Returns the new version and the number of rows deleted (counted on
    /// the version the delete was finally committed on).
    pub async fn delete_counted(&self, predicate: &str) -> Result<(u64, u64)> {
        self.commit(|base| async move {
            let base = txn_base(base)?;
            let rw = ops::plan_delete(&base, predicate).await?;
            let rows = match rw.operation {
                Some(Operation::Delete { rows }) => rows,
                _ => 0,
            };
            Ok((Change::Rewrite(rw), rows))
        })
        .await
    }

    /// Returns the new version and the number of rows updated.
    pub async fn update(
        &self,
        predicate: Option<&str>,
        assignments: Vec<(String, String)>,
    ) -> Result<(u64, u64)> {
        self.update_values(predicate, assignments, None).await
    }

    /// As [`Table::update`], with typed values (a one-row batch) set as
    /// they are, for lists, binary and other values SQL cannot write.
    pub async fn update_values(
        &self,
        predicate: Option<&str>,
        assignments: Vec<(String, String)>,
        values: Option<RecordBatch>,
    ) -> Result<(u64, u64)> {
        let (assignments, values) = (&assignments, values.as_ref());
        self.commit(|base| async move {
            let base = txn_base(base)?;
            let rw = ops::plan_update(&base, predicate, assignments, values).await?;
            let rows = match rw.operation {
                Some(Operation::Update { rows }) => rows,
                _ => 0,
            };
            Ok((Change::Rewrite(rw), rows))
        })
        .await
    }

    pub async fn merge_insert(
        &self,
        on: Vec<String>,
        flags: ops::MergeFlags,
        batches: Vec<RecordBatch>,
    ) -> Result<(u64, ops::MergeStats)> {
        let schema = self.schema().await?;
        let batches = &conform(&batches, &schema)?;
        let (on, schema, flags) = (&on, &schema, &flags);
        self.commit_counted(|base| async move {
            let base = txn_base(base)?;
            if base.schema.fields() != schema.fields() {
                return Err(Error::CommitConflict {
                    table: base.dir.to_string(),
                    version: base.version(),
                    reason: "the table's schema changed while merging; read it again and retry"
                        .into(),
                });
            }
            let (rw, stats) = ops::plan_merge(&base, on, flags, batches).await?;
            Ok((Change::Rewrite(rw), stats))
        })
        .await
        .map(|(version, stats, attempts)| (version, ops::MergeStats { attempts, ..stats }))
    }

    /// Compacts small files, then removes old versions and the files no
    /// remaining version needs (see [`cleanup`] for what is kept).
    pub async fn optimize(&self, opts: OptimizeOptions) -> Result<OptimizeStats> {
        let (version, compacted) = self
            .commit(|base| async move {
                let base = txn_base(base)?;
                let rw = ops::plan_compact(&base).await?;
                let counts = match rw.operation {
                    Some(Operation::Compact {
                        fragments_removed,
                        fragments_added,
                    }) => (fragments_removed, fragments_added),
                    _ => (0, 0),
                };
                Ok((Change::Rewrite(rw), counts))
            })
            .await?;
        // Indexes take in the rows compaction and writes left unindexed;
        // rows the compaction moved keep their IVF entries.
        let moved = (compacted.1 > 0).then_some(version);
        self.optimize_indices(moved).await?;
        self.optimize_fts_indices().await?;
        let latest = self.snapshot().await?.version();
        let mut stats = cleanup::run(self.tref(), latest, &opts).await?;
        (stats.fragments_removed, stats.fragments_added) = compacted;
        Ok(stats)
    }

    pub async fn schema(&self) -> Result<SchemaRef> {
        Ok(self.snapshot().await?.schema.clone())
    }

    pub async fn version(&self) -> Result<u64> {
        Ok(self.snapshot().await?.version())
    }

    /// Counts rows; without a filter the manifest answers (no data read).
    pub async fn count_rows(&self, filter: Option<&str>) -> Result<u64> {
        match filter.filter(|f| !f.trim().is_empty()) {
            None => Ok(self.snapshot().await?.manifest.rows()),
            Some(sql) => {
                self.read(|s| async move { query::count(&s, sql).await })
                    .await
            }
        }
    }

    pub async fn scan(&self, req: &ScanRequest) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        self.read(|s| async move { query::scan(&s, req).await })
            .await
    }

    /// The batches of a scan, one data file at a time (see
    /// [`query::stream`]), over the version current when it starts.
    pub async fn scan_stream(
        &self,
        req: query::ScanRequest,
    ) -> Result<impl futures::Stream<Item = Result<RecordBatch>> + Send + 'static> {
        let snap = self.snapshot().await?;
        Ok(query::stream::scan_stream(snap, req))
    }

    /// A readable plan of a scan over the current version (see
    /// [`query::explain`]); reads no data.
    pub async fn explain_scan(
        &self,
        req: &query::ScanRequest,
        verbose: bool,
    ) -> Result<Vec<String>> {
        let snap = self.snapshot().await?;
        query::explain::explain_scan(&snap, req, verbose)
    }

    /// Rows by row id or position (see [`query::take`]).
    pub async fn take(
        &self,
        req: &query::take::TakeRequest,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        self.read(|s| async move { query::take::take(&s, req).await })
            .await
    }

    pub async fn vector_search(
        &self,
        req: &query::vector::VectorRequest,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        self.read(|s| async move { query::vector::search(&s, req).await })
            .await
    }

    /// Full-text search (issue 12): BM25-ranked rows with `_score`.
    pub async fn fts_search(
        &self,
        req: &query::fts::FtsRequest,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        self.read(|s| async move { query::fts::search(&s, req).await })
            .await
    }

    /// Appends or overwrites; returns the committed version.
    pub async fn add(
        &self,
        incoming: SchemaRef,
        batches: Vec<RecordBatch>,
        mode: AddMode,
    ) -> Result<u64> {
        let snap = self.snapshot().await?;
        let schema = match mode {
            AddMode::Append => snap.schema.clone(),
            // An overwrite may change the schema, as in LanceDB.
            AddMode::Overwrite => incoming,
        };
        let batches = &conform(&batches, &schema)?;
        let schema = &schema;
        // The field ids the new file's columns have (an overwrite starts
        // the numbering again).
        let ids = &match mode {
            AddMode::Append => snap.explicit_ids(),
            AddMode::Overwrite => None,
        };
        // An append or overwrite rebases onto any version, so this plan runs
        // once; it runs after the base was confirmed, so a handle whose table
        // was dropped writes nothing.
        let result = self
            .commit(|_| async move {
                let fragment = write_fragment(&self.store, &self.dir, schema, batches)
                    .await?
                    .map(|f| Fragment {
                        fields: ids.clone(),
                        ..f
                    });
                let schema = schema.clone();
                let change = match mode {
                    AddMode::Append => Change::Append { fragment, schema },
                    AddMode::Overwrite => Change::Overwrite { fragment, schema },
                };
                Ok((change, ()))
            })
            .await;
        if let Err(Error::CommitConflict { .. }) = &result {
            // The rows did not fit a schema another writer committed: adopt
            // it, so that a retry conforms to it instead of failing again.
            let _ = self.refresh(true).await;
        }
        Ok(result?.0)
    }
}

/// Every change but a create is planned on an existing version.
fn txn_base(base: Option<Arc<Snapshot>>) -> Result<Arc<Snapshot>> {
    base.ok_or_else(|| {
        Error::internal("a change to an existing table was planned without a base version")
    })
}

fn is_not_found(e: &Error) -> bool {
    matches!(
        e,
        Error::Storage {
            kind: StorageErrorKind::NotFound,
            ..
        }
    )
}

impl Operation {
    /// The operation's name as `listVersions()` shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Create { .. } => "create",
            Operation::Overwrite { .. } => "overwrite",
            Operation::Append { .. } => "append",
            Operation::Delete { .. } => "delete",
            Operation::Update { .. } => "update",
            Operation::Merge { .. } => "merge",
            Operation::Restore { .. } => "restore",
            Operation::Compact { .. } => "compact",
            Operation::AddColumns { .. } => "add_columns",
            Operation::AlterColumns { .. } => "alter_columns",
            Operation::DropColumns { .. } => "drop_columns",
            Operation::UpdateFieldMetadata { .. } => "update_field_metadata",
            Operation::CreateIndex { .. } => "create_index",
            Operation::DropIndex { .. } => "drop_index",
            Operation::OptimizeIndex { .. } => "optimize_index",
            Operation::Clone { .. } => "clone",
        }
    }
}

/// Lines incoming batches up with the table schema: columns by name, types
/// cast where Arrow can do so without loss, missing nullable columns filled
/// with nulls. Anything else is a schema mismatch naming the column.
pub(crate) fn conform(batches: &[RecordBatch], schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let incoming = batch.schema();
        for f in incoming.fields() {
            if schema.field_with_name(f.name()).is_err() {
                return Err(Error::SchemaMismatch(format!(
                    "column '{}' is not in the table schema (columns: {})",
                    f.name(),
                    query::column_names(schema)
                )));
            }
        }
        let mut columns = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let col = match incoming.index_of(field.name()) {
                Ok(i) => {
                    let col = batch.column(i).clone();
                    if col.data_type() == field.data_type() {
                        col
                    } else {
                        let opts = arrow_cast::CastOptions {
                            safe: false,
                            ..Default::default()
                        };
                        arrow_cast::cast_with_options(&col, field.data_type(), &opts).map_err(
                            |e| {
                                Error::SchemaMismatch(format!(
                                    "column '{}' has type {} but the table has {}: {e}",
                                    field.name(),
                                    col.data_type(),
                                    field.data_type()
                                ))
                            },
                        )?
                    }
                }
                Err(_) if field.is_nullable() => {
                    new_null_array(field.data_type(), batch.num_rows())
                }
                Err(_) => {
                    return Err(Error::SchemaMismatch(format!(
                        "column '{}' is missing and the table does not allow nulls in it",
                        field.name()
                    )))
                }
            };
            if !field.is_nullable() && col.null_count() > 0 {
                return Err(Error::SchemaMismatch(format!(
                    "column '{}' does not allow nulls but {} of the new rows are null",
                    field.name(),
                    col.null_count()
                )));
            }
            columns.push(col);
        }
        out.push(RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )?);
    }
    Ok(out)
}

/// Whether two schemas describe the same columns (names, types, nullability).
pub fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields() == b.fields()
}
