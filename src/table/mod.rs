//! The table format: immutable Parquet data files plus one manifest per
//! version, committed through a [`CommitStore`]. A reader never sees a
//! partial write: data files are invisible until a manifest names them, and
//! a manifest appears whole or not at all.

pub mod database;
pub mod deletion;
pub mod manifest;
pub mod ops;
pub mod request;
pub mod vectors;
pub mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{new_null_array, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use tokio::sync::RwLock;

use crate::commit::{CommitError, CommitStore};
use crate::error::{Error, Result};
use crate::query::{self, ScanRequest};
use crate::storage::{EffectiveOption, StorageOptions, StoreHandle};
use manifest::{encode_schema, now_ms, Fragment, Manifest, Operation, FORMAT, FORMAT_VERSION};

pub use database::{CreateMode, CreateTableRequest, Database};

/// Suffix of a table's directory under the database prefix.
pub const TABLE_DIR_SUFFIX: &str = ".stowage";
const DATA_DIR: &str = "data";
/// Bounded: a writer that keeps losing races reports a conflict instead of
/// spinning forever.
const MAX_COMMIT_ATTEMPTS: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddMode {
    #[default]
    Append,
    Overwrite,
}

/// A table version as loaded: its manifest and decoded schema.
#[derive(Debug)]
struct Snapshot {
    manifest: Manifest,
    schema: SchemaRef,
}

#[derive(Debug)]
struct State {
    snap: Arc<Snapshot>,
    /// Checked out at a fixed version (time travel): reads only.
    pinned: bool,
    /// When the latest version was last looked up.
    checked: Instant,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct OptimizeStats {
    pub fragments_removed: u64,
    pub fragments_added: u64,
    pub old_versions_removed: u64,
    pub files_removed: u64,
    pub bytes_removed: u64,
}

impl State {
    /// Makes a version this handle just committed its latest, and leaves
    /// time travel.
    fn adopt(&mut self, manifest: Manifest, schema: SchemaRef) {
        self.snap = Arc::new(Snapshot { manifest, schema });
        self.pinned = false;
        self.checked = Instant::now();
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
    store: StoreHandle,
    commits: Arc<dyn CommitStore>,
    options: Arc<StorageOptions>,
    state: RwLock<State>,
    closed: AtomicBool,
    /// LanceDB's readConsistencyInterval: `None` never looks for other
    /// writers' versions, `Some(0)` looks on every read.
    consistency: Option<Duration>,
}

pub fn table_dir(root: &Path, name: &str) -> Path {
    root.clone().join(format!("{name}{TABLE_DIR_SUFFIX}"))
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
        // This handle's uploads end with the handle (and with its connection).
        let store = StoreHandle {
            scope: store.scope.child(),
            ..store
        };
        let Some(snapshot) = load_latest(name, &dir, commits.as_ref()).await? else {
            return Ok(None);
        };
        Ok(Some(Table {
            name: name.to_string(),
            dir,
            store,
            commits,
            options,
            state: RwLock::new(State {
                snap: Arc::new(snapshot),
                pinned: false,
                checked: Instant::now(),
            }),
            closed: AtomicBool::new(false),
            consistency,
        }))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }

    /// Closing is final for this handle; committed data is unaffected, and
    /// its uploads still in flight are aborted.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.store.scope.cancel();
    }

    fn check_open(&self) -> Result<()> {
        if self.is_open() {
            Ok(())
        } else {
            Err(Error::Closed {
                what: format!("Table '{}'", self.name),
            })
        }
    }

    pub fn display(&self) -> String {
        let state = if self.is_open() { "open" } else { "closed" };
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
            let due = match self.consistency {
                Some(interval) => !st.pinned && st.checked.elapsed() >= interval,
                None => false,
            };
            if !due {
                return Ok(st.snap.clone());
            }
        }
        let mut st = self.state.write().await;
        if !st.pinned {
            if let Some(latest) = load_latest_if_newer(
                &self.name,
                &self.dir,
                self.commits.as_ref(),
                st.snap.manifest.version,
            )
            .await?
            {
                st.snap = Arc::new(latest);
            }
            st.checked = Instant::now();
        }
        Ok(st.snap.clone())
    }

    async fn commit_manifest(&self, manifest: &Manifest) -> Result<(), CommitError> {
        self.commits
            .commit(&self.dir, manifest.version, manifest.to_bytes()?)
            .await
    }

    /// The latest committed version (after losing a commit race).
    async fn reload_latest(&self) -> Result<Snapshot> {
        load_latest(&self.name, &self.dir, self.commits.as_ref())
            .await?
            .ok_or_else(|| Error::TableNotFound {
                name: self.name.clone(),
                at: Some(self.store.display_uri.clone()),
            })
    }

    fn check_writable(&self, st: &State) -> Result<()> {
        if st.pinned {
            return Err(Error::invalid_argument(format!(
                "table '{}' is checked out at version {}; writes need the latest version: call checkoutLatest() (or restore() to make this version the latest)",
                self.name, st.snap.manifest.version
            )));
        }
        Ok(())
    }

    pub async fn list_versions(&self) -> Result<Vec<VersionInfo>> {
        self.check_open()?;
        let versions = self.commits.list_versions(&self.dir).await?;
        let mut out = Vec::with_capacity(versions.len());
        for v in versions {
            if let Some(bytes) = self.commits.load(&self.dir, v).await? {
                let m = Manifest::from_bytes(&self.name, &bytes)?;
                let op = serde_json::to_value(&m.operation)
                    .ok()
                    .and_then(|o| o.get("type").and_then(|t| t.as_str()).map(str::to_string))
                    .unwrap_or_default();
                out.push(VersionInfo {
                    version: v,
                    timestamp_ms: m.timestamp_ms,
                    operation: op,
                });
            }
        }
        Ok(out)
    }

    /// Pins reads to `version` (time travel); writes fail until checkoutLatest().
    pub async fn checkout(&self, version: u64) -> Result<()> {
        self.check_open()?;
        let bytes = self
            .commits
            .load(&self.dir, version)
            .await?
            .ok_or_else(|| Error::VersionNotFound {
                table: self.name.clone(),
                version,
            })?;
        let manifest = Manifest::from_bytes(&self.name, &bytes)?;
        let schema = manifest.schema(&self.name)?;
        let mut st = self.state.write().await;
        st.snap = Arc::new(Snapshot { manifest, schema });
        st.pinned = true;
        Ok(())
    }

    pub async fn checkout_latest(&self) -> Result<()> {
        self.check_open()?;
        let latest = self.reload_latest().await?;
        let mut st = self.state.write().await;
        st.snap = Arc::new(latest);
        st.pinned = false;
        st.checked = Instant::now();
        Ok(())
    }

    /// Makes the checked-out version (or `version`) the latest, as a new version.
    pub async fn restore(&self, version: Option<u64>) -> Result<u64> {
        if let Some(v) = version {
            self.checkout(v).await?;
        }
        let mut st = self.state.write().await;
        let source = st.snap.clone();
        let from = source.manifest.version;
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            let latest = self.reload_latest().await?;
            let manifest = Manifest {
                version: latest.manifest.version + 1,
                timestamp_ms: now_ms(),
                operation: Operation::Restore { from_version: from },
                next_fragment_id: latest
                    .manifest
                    .next_fragment_id
                    .max(source.manifest.next_fragment_id),
                ..source.manifest.clone()
            };
            let v = manifest.version;
            match self.commit_manifest(&manifest).await {
                Ok(()) => {
                    st.adopt(manifest, source.schema.clone());
                    return Ok(v);
                }
                Err(CommitError::Conflict { .. }) => tokio::time::sleep(backoff(attempt)).await,
                Err(CommitError::Failed(e)) => return Err(e),
            }
        }
        Err(Error::CommitConflict {
            table: self.name.clone(),
            version: from,
            reason: "restore kept losing races with other writers".into(),
        })
    }

    pub async fn delete(&self, predicate: &str) -> Result<u64> {
        let pred = predicate.to_string();
        self.run_rewrite(|store, dir, base| {
            let pred = pred.clone();
            async move {
                Ok((
                    ops::plan_delete(&store, &dir, &base.manifest, &base.schema, &pred).await?,
                    (),
                ))
            }
        })
        .await
        .map(|(v, _)| v)
    }

    /// Returns the new version and the number of rows updated.
    pub async fn update(
        &self,
        predicate: Option<&str>,
        assignments: Vec<(String, String)>,
    ) -> Result<(u64, u64)> {
        let pred = predicate.map(str::to_string);
        self.run_rewrite(|store, dir, base| {
            let (pred, assignments) = (pred.clone(), assignments.clone());
            async move {
                let rw = ops::plan_update(
                    &store,
                    &dir,
                    &base.manifest,
                    &base.schema,
                    pred.as_deref(),
                    &assignments,
                )
                .await?;
                let rows = match rw.operation {
                    Some(Operation::Update { rows }) => rows,
                    _ => 0,
                };
                Ok((rw, rows))
            }
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
        let batches = Arc::new(conform(&batches, &schema)?);
        self.run_rewrite(|store, dir, base| {
            let (on, batches, schema) = (on.clone(), batches.clone(), schema.clone());
            async move {
                if base.schema.fields() != schema.fields() {
                    return Err(Error::CommitConflict {
                        table: dir.to_string(),
                        version: base.manifest.version,
                        reason: "the table's schema changed while merging; read it again and retry"
                            .into(),
                    });
                }
                ops::plan_merge(
                    &store,
                    &dir,
                    &base.manifest,
                    &base.schema,
                    &on,
                    flags,
                    &batches,
                )
                .await
            }
        })
        .await
    }

    /// Compacts small files, then removes versions committed before
    /// `cutoff_ms` (never the latest) and files no retained version needs.
    /// Files younger than the cutoff are kept even when unreferenced: they
    /// may belong to a writer that has not committed yet.
    pub async fn optimize(&self, cutoff_ms: u64) -> Result<OptimizeStats> {
        let mut stats = OptimizeStats::default();
        let (_, compacted) = self
            .run_rewrite(|store, dir, base| async move {
                let rw = ops::plan_compact(&store, &dir, &base.manifest, &base.schema).await?;
                let counts = match rw.operation {
                    Some(Operation::Compact {
                        fragments_removed,
                        fragments_added,
                    }) => (fragments_removed, fragments_added),
                    _ => (0, 0),
                };
                Ok((rw, counts))
            })
            .await?;
        (stats.fragments_removed, stats.fragments_added) = compacted;

        let latest = self.snapshot().await?.manifest.version;
        let mut referenced = std::collections::HashSet::new();
        for v in self.commits.list_versions(&self.dir).await? {
            let Some(bytes) = self.commits.load(&self.dir, v).await? else {
                continue;
            };
            let m = Manifest::from_bytes(&self.name, &bytes)?;
            if v < latest && m.timestamp_ms < cutoff_ms {
                self.commits.delete_version(&self.dir, v).await?;
                stats.old_versions_removed += 1;
                continue;
            }
            for f in &m.fragments {
                referenced.insert(f.path.clone());
                if let Some(d) = &f.deletion {
                    referenced.insert(d.path.clone());
                }
            }
        }
        for sub in [DATA_DIR, deletion::DELETIONS_DIR] {
            let prefix = self.dir.clone().join(sub);
            let objects: Vec<object_store::ObjectMeta> = self
                .store
                .store
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|e| self.store.error(e, format!("Listing {prefix}")))?;
            for o in objects {
                let rel = format!("{sub}/{}", o.location.filename().unwrap_or_default());
                let old = (o.last_modified.timestamp_millis().max(0) as u64) < cutoff_ms;
                if !referenced.contains(&rel) && old {
                    match self.store.store.delete(&o.location).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                            stats.files_removed += 1;
                            stats.bytes_removed += o.size;
                        }
                        Err(e) => {
                            return Err(self.store.error(e, format!("Deleting {}", o.location)))
                        }
                    }
                }
            }
        }
        Ok(stats)
    }

    /// Plans a rewrite on the current version and commits it, re-applying
    /// it (or re-planning it) on conflicts. Returns the committed version.
    async fn run_rewrite<F, Fut, T>(&self, plan: F) -> Result<(u64, T)>
    where
        F: Fn(StoreHandle, Path, Arc<Snapshot>) -> Fut,
        Fut: std::future::Future<Output = Result<(ops::Rewrite, T)>>,
    {
        self.check_open()?;
        let mut st = self.state.write().await;
        self.check_writable(&st)?;
        let mut base = st.snap.clone();
        let (mut rw, mut out) = plan(self.store.clone(), self.dir.clone(), base.clone()).await?;
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            if rw.is_empty() {
                return Ok((base.manifest.version, out));
            }
            let Some(manifest) = rw.apply(&base.manifest, &base.schema)? else {
                // Another writer changed a file this change touched: run the
                // operation again on the new version.
                ops::discard(&self.store, &self.dir, &rw).await;
                (rw, out) = plan(self.store.clone(), self.dir.clone(), base.clone()).await?;
                continue;
            };
            let v = manifest.version;
            match self.commit_manifest(&manifest).await {
                Ok(()) => {
                    st.adopt(manifest, base.schema.clone());
                    return Ok((v, out));
                }
                Err(CommitError::Conflict { .. }) => {
                    base = Arc::new(self.reload_latest().await?);
                    tokio::time::sleep(backoff(attempt)).await;
                }
                // Outcome unknown: the files may be referenced; keep them
                // (optimize() removes unreferenced ones later).
                Err(CommitError::Failed(e)) => return Err(e),
            }
        }
        ops::discard(&self.store, &self.dir, &rw).await;
        Err(Error::CommitConflict {
            table: self.name.clone(),
            version: base.manifest.version + 1,
            reason: format!(
                "gave up after {MAX_COMMIT_ATTEMPTS} attempts; too many concurrent writers"
            ),
        })
    }

    pub async fn schema(&self) -> Result<SchemaRef> {
        Ok(self.snapshot().await?.schema.clone())
    }

    pub async fn version(&self) -> Result<u64> {
        Ok(self.snapshot().await?.manifest.version)
    }

    /// Counts rows; without a filter the manifest answers (no data read).
    pub async fn count_rows(&self, filter: Option<&str>) -> Result<u64> {
        let snap = self.snapshot().await?;
        match filter.filter(|f| !f.trim().is_empty()) {
            None => Ok(snap.manifest.rows()),
            Some(sql) => {
                query::count(&self.store, &self.dir, &snap.manifest, &snap.schema, sql).await
            }
        }
    }

    pub async fn scan(&self, req: &ScanRequest) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let snap = self.snapshot().await?;
        query::scan(&self.store, &self.dir, &snap.manifest, &snap.schema, req).await
    }

    pub async fn vector_search(
        &self,
        req: &query::vector::VectorRequest,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let snap = self.snapshot().await?;
        query::vector::search(&self.store, &self.dir, &snap.manifest, &snap.schema, req).await
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
        let batches = conform(&batches, &schema)?;
        let fragment = self.write_fragment(&schema, &batches).await?;
        let result = self.commit_loop(mode, &schema, fragment.clone()).await;
        // Only a commit known not to have happened (it lost every race)
        // leaves the file unreferenced for sure. After any other failure the
        // outcome may be unknown (an answer lost in flight), and deleting a
        // file a committed version names would corrupt the table: optimize()
        // removes truly unreferenced files later.
        if matches!(result, Err(Error::CommitConflict { .. })) {
            if let Some(f) = &fragment {
                let _ = self
                    .store
                    .store
                    .delete(&query::data_path(&self.dir, &f.path))
                    .await;
            }
        }
        result
    }

    async fn write_fragment(
        &self,
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<Option<Fragment>> {
        write_fragment(&self.store, &self.dir, schema, batches).await
    }

    async fn commit_loop(
        &self,
        mode: AddMode,
        schema: &SchemaRef,
        fragment: Option<Fragment>,
    ) -> Result<u64> {
        let mut state = self.state.write().await;
        self.check_writable(&state)?;
        let mut base = state.snap.clone();
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            if mode == AddMode::Append && base.schema.fields() != schema.fields() {
                return Err(Error::CommitConflict {
                    table: self.name.clone(),
                    version: base.manifest.version,
                    reason: "another writer replaced the table's schema while this append was in flight; read the new schema and retry".into(),
                });
            }
            let manifest = next_manifest(&base.manifest, mode, schema, fragment.clone())?;
            let version = manifest.version;
            match self.commit_manifest(&manifest).await {
                Ok(()) => {
                    state.adopt(manifest, schema.clone());
                    return Ok(version);
                }
                Err(CommitError::Conflict { .. }) => {
                    // Appends and overwrites rebase cleanly onto whatever won.
                    base = Arc::new(self.reload_latest().await?);
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(CommitError::Failed(e)) => return Err(e),
            }
        }
        Err(Error::CommitConflict {
            table: self.name.clone(),
            version: base.manifest.version + 1,
            reason: format!(
                "gave up after {MAX_COMMIT_ATTEMPTS} attempts; too many concurrent writers"
            ),
        })
    }
}

/// Jittered exponential backoff, so racing writers spread out.
fn backoff(attempt: u32) -> Duration {
    // Full jitter up to a cap that grows with the losses, so a writer that
    // keeps losing spreads out further instead of starving (8 writers on a
    // slow DynamoDB commit path lost 40 races in a row with a 500 ms cap).
    let cap_ms = (5u64 << attempt.min(8)).min(1000);
    Duration::from_millis(rand::random_range(1..=cap_ms))
}

pub(crate) async fn write_fragment(
    store: &StoreHandle,
    dir: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Option<Fragment>> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows == 0 {
        return Ok(None);
    }
    let rel = format!("{DATA_DIR}/{}.parquet", uuid::Uuid::new_v4());
    let path = query::data_path(dir, &rel);
    let size = writer::write_data_file(store, &path, schema.clone(), batches).await?;
    Ok(Some(Fragment {
        id: 0,
        path: rel,
        rows: rows as u64,
        size_bytes: size,
        deletion: None,
    }))
}

fn next_manifest(
    base: &Manifest,
    mode: AddMode,
    schema: &SchemaRef,
    fragment: Option<Fragment>,
) -> Result<Manifest> {
    let mut next_id = base.next_fragment_id;
    let mut fragments = match mode {
        AddMode::Append => base.fragments.clone(),
        AddMode::Overwrite => Vec::new(),
    };
    let mut rows = 0;
    if let Some(mut f) = fragment {
        f.id = next_id;
        next_id += 1;
        rows = f.rows;
        fragments.push(f);
    }
    Ok(Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        version: base.version + 1,
        timestamp_ms: now_ms(),
        operation: match mode {
            AddMode::Append => Operation::Append { rows },
            AddMode::Overwrite => Operation::Overwrite { rows },
        },
        schema: encode_schema(schema)?,
        fragments,
        next_fragment_id: next_id,
    })
}

pub(crate) fn first_manifest(schema: &SchemaRef, fragment: Option<Fragment>) -> Result<Manifest> {
    let rows = fragment.as_ref().map(|f| f.rows).unwrap_or(0);
    let fragments: Vec<Fragment> = fragment.into_iter().collect();
    Ok(Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        version: 1,
        timestamp_ms: now_ms(),
        operation: Operation::Create { rows },
        schema: encode_schema(schema)?,
        next_fragment_id: fragments.len() as u64,
        fragments,
    })
}

/// The latest version, loaded only when it is newer than `known`.
async fn load_latest_if_newer(
    name: &str,
    dir: &Path,
    commits: &dyn CommitStore,
    known: u64,
) -> Result<Option<Snapshot>> {
    match commits.latest_version(dir).await? {
        Some(v) if v > known => load_version(name, dir, commits, v).await,
        _ => Ok(None),
    }
}

async fn load_latest(
    name: &str,
    dir: &Path,
    commits: &dyn CommitStore,
) -> Result<Option<Snapshot>> {
    let Some(version) = commits.latest_version(dir).await? else {
        return Ok(None);
    };
    load_version(name, dir, commits, version).await
}

async fn load_version(
    name: &str,
    dir: &Path,
    commits: &dyn CommitStore,
    version: u64,
) -> Result<Option<Snapshot>> {
    let bytes = commits
        .load(dir, version)
        .await?
        .ok_or_else(|| Error::Corrupt {
            table: name.to_string(),
            reason: format!("version {version} was listed but its manifest cannot be read"),
        })?;
    let manifest = Manifest::from_bytes(name, &bytes)?;
    let schema = manifest.schema(name)?;
    Ok(Some(Snapshot { manifest, schema }))
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
