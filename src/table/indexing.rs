//! Indexes of a table, whatever their kind: create, list, stats, drop, wait
//! and prewarm. Each kind builds its segment in its own module (vector
//! indexes in [`super::vector_build`]); this module resolves the column and
//! the name, dispatches on [`IndexConfig`], and commits the result through
//! the one transaction loop as a [`Change::Index`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_schema::{DataType, Schema};
use serde::{Deserialize, Serialize};

use super::txn::{Change, IndexChange};
use super::Table;
use crate::error::{Error, Result};
use crate::format::index::{segment_dir, IndexEntry, IndexFile, IndexKind, IndexSegment};
use crate::format::manifest::{now_ms, Manifest};
use crate::format::Snapshot;

/// Options of the vector index factories (`Index.ivfPq()`, …), as given;
/// `None` is the default. The names are the reference's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VectorIndexOptions {
    pub num_partitions: Option<usize>,
    pub num_sub_vectors: Option<usize>,
    pub num_bits: Option<u32>,
    /// `l2`, `cosine` or `dot` (checked by the bindings).
    pub distance_type: Option<String>,
    pub max_iterations: Option<usize>,
    pub sample_rate: Option<usize>,
    pub m: Option<usize>,
    pub ef_construction: Option<usize>,
}

/// Options of `Index.fts()`, as given (the reference's names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FtsOptions {
    pub with_position: Option<bool>,
    pub base_tokenizer: Option<String>,
    pub language: Option<String>,
    pub max_token_length: Option<usize>,
    pub lowercase: Option<bool>,
    pub stem: Option<bool>,
    pub remove_stop_words: Option<bool>,
    pub ascii_folding: Option<bool>,
    pub ngram_min_length: Option<usize>,
    pub ngram_max_length: Option<usize>,
    pub prefix_only: Option<bool>,
}

/// What `createIndex` builds: one variant per `Index.*` factory.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexConfig {
    IvfFlat(VectorIndexOptions),
    IvfPq(VectorIndexOptions),
    IvfRq(VectorIndexOptions),
    HnswSq(VectorIndexOptions),
    HnswPq(VectorIndexOptions),
    BTree,
    Bitmap,
    LabelList,
    Fts(FtsOptions),
    Fm,
}

impl IndexConfig {
    /// The kind stored in the manifest; `None` for kinds that cannot be
    /// stored yet.
    pub fn kind(&self) -> Option<IndexKind> {
        Some(match self {
            IndexConfig::IvfFlat(_) => IndexKind::IvfFlat,
            IndexConfig::IvfPq(_) => IndexKind::IvfPq,
            IndexConfig::IvfRq(_) => IndexKind::IvfRq,
            IndexConfig::HnswSq(_) => IndexKind::IvfHnswSq,
            IndexConfig::HnswPq(_) => IndexKind::IvfHnswPq,
            IndexConfig::BTree => IndexKind::BTree,
            IndexConfig::Bitmap => IndexKind::Bitmap,
            IndexConfig::LabelList => IndexKind::LabelList,
            IndexConfig::Fts(_) => IndexKind::Fts,
            IndexConfig::Fm => return None,
        })
    }

    fn is_vector(&self) -> bool {
        self.kind().is_some_and(IndexKind::is_vector)
    }
}

/// Reports build progress: (phase, rows done, rows total).
pub type ProgressFn = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// For [`Table::create_index`].
#[derive(Clone, Default)]
pub struct CreateIndexRequest {
    /// `None` (or empty): the only column the kind can index (the only
    /// vector column, for vector kinds).
    pub column: Option<String>,
    /// `None`: the default for the kind (`Index.ivfPq()` for vectors, as
    /// the reference picks for a vector column).
    pub config: Option<IndexConfig>,
    pub replace: bool,
    /// `None`: `<column>_idx`, as in the reference.
    pub name: Option<String>,
    /// `false`: create the index without training (the reference's
    /// `train: false`): an empty scalar or FTS index that covers no rows
    /// until `optimize()`; `NOT_SUPPORTED` for vector kinds, as in the
    /// reference.
    pub train: bool,
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for CreateIndexRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateIndexRequest")
            .field("column", &self.column)
            .field("config", &self.config)
            .field("replace", &self.replace)
            .field("name", &self.name)
            .field("train", &self.train)
            .finish()
    }
}

/// What a kind's builder hands back: one segment, and the options it used
/// after defaults (stored as the entry's `params`).
#[derive(Debug)]
pub(crate) struct BuiltSegment {
    pub segment: IndexSegment,
    pub params: serde_json::Value,
}

/// What a kind's builder gets.
pub(crate) struct BuildContext<'a> {
    pub snap: &'a Snapshot,
    pub column: &'a str,
    /// The index's name (for messages).
    pub name: &'a str,
    /// The new segment's id: its objects go under `_indices/<uuid>/`.
    pub segment_uuid: String,
    pub progress: Option<ProgressFn>,
}

impl BuildContext<'_> {
    pub fn report(&self, phase: &str, done: u64, total: u64) {
        if let Some(p) = &self.progress {
            p(phase, done, total);
        }
    }
}

/// Writes a new segment's objects (one put each, under `_indices/<uuid>/`) and
/// returns them as the manifest lists them; `what` names the index kind in a
/// storage error ("full-text", "scalar").
pub(crate) async fn put_segment_objects(
    snap: &Snapshot,
    segment_uuid: &str,
    objects: Vec<(&'static str, Vec<u8>)>,
    what: &str,
) -> Result<Vec<IndexFile>> {
    use object_store::ObjectStoreExt;
    let dir = segment_dir(segment_uuid);
    let mut files = Vec::with_capacity(objects.len());
    for (name, bytes) in objects {
        let rel = format!("{dir}/{name}");
        let size_bytes = bytes.len() as u64;
        let path = snap.path(&rel);
        snap.store
            .store
            .put(
                &path,
                object_store::PutPayload::from(bytes::Bytes::from(bytes)),
            )
            .await
            .map_err(|e| {
                snap.store
                    .error(e, format!("Writing {what} index object {path}"))
            })?;
        files.push(IndexFile {
            path: rel,
            size_bytes,
        });
    }
    Ok(files)
}

/// One entry of `listIndices()`.
#[derive(Debug, Clone)]
pub struct IndexInfo {
    pub name: String,
    /// As `listIndices()` of the reference shows it (`IvfPq`, `BTree`, `FTS`).
    pub index_type: String,
    pub columns: Vec<String>,
    pub index_uuid: String,
    pub created_at_ms: u64,
    pub num_indexed_rows: u64,
    pub num_unindexed_rows: u64,
    pub size_bytes: u64,
    pub num_segments: usize,
    /// The build options after defaults and the segments' details, as JSON.
    pub details: serde_json::Value,
}

/// `indexStats(name)`.
#[derive(Debug, Clone)]
pub struct IndexStats {
    pub num_indexed_rows: u64,
    pub num_unindexed_rows: u64,
    /// As `indexStats()` of the reference shows it (`IVF_PQ`, `BTREE`).
    pub index_type: String,
    pub distance_type: Option<String>,
    pub num_indices: usize,
    /// IVF kinds: the k-means loss of the partitions' training (see
    /// `IvfBuilder::loss`); `None` otherwise and for older indexes.
    pub loss: Option<f64>,
}

fn not_yet(what: &str) -> Error {
    Error::NotSupported(format!(
        "{what} indexes are not available yet; vector indexes (Index.ivfPq(), Index.ivfFlat(), Index.hnswSq()) are"
    ))
}

/// Builds one segment of `config` over every fragment of `ctx.snap`; with
/// `train` false (scalar and FTS kinds), an empty segment covering none.
async fn build(config: &IndexConfig, ctx: &BuildContext<'_>, train: bool) -> Result<BuiltSegment> {
    if !train && config.is_vector() {
        // As the reference: "Creating empty vector indices with train=False
        // is not yet implemented".
        return Err(Error::NotSupported(format!(
            "createIndex with train: false creates an empty index, which only scalar and full-text indexes (Index.btree(), bitmap(), labelList(), fts()) support; vector indexes always train: leave train at its default (true) to build index '{}' on column '{}'",
            crate::error::quote(ctx.name),
            crate::error::quote(ctx.column)
        )));
    }
    match config {
        IndexConfig::IvfFlat(o)
        | IndexConfig::IvfPq(o)
        | IndexConfig::HnswSq(o)
        | IndexConfig::HnswPq(o) => super::vector_build::build(config, o, ctx).await,
        IndexConfig::IvfRq(_) => Err(Error::NotSupported(
            "Index.ivfRq() (RaBitQ) is not available; use Index.ivfPq(), Index.ivfFlat(), Index.hnswSq() or Index.hnswPq()".into(),
        )),
        IndexConfig::BTree => super::scalar_build::build("BTREE", ctx, train).await,
        IndexConfig::Bitmap => super::scalar_build::build("BITMAP", ctx, train).await,
        IndexConfig::LabelList => super::scalar_build::build("LABEL_LIST", ctx, train).await,
        IndexConfig::Fts(o) => super::fts_build::build(o, ctx, train).await,
        IndexConfig::Fm => Err(not_yet("FM (Index.fm())")),
    }
}

/// Whether `dt` is a vector column (a fixed-size list of floats).
pub(crate) fn is_vector_type(dt: &DataType) -> bool {
    matches!(dt, DataType::FixedSizeList(child, _) if child.data_type().is_floating())
}

/// The column to index: the named one (which must exist), or the only
/// vector column for a vector kind.
fn resolve_column(schema: &Schema, column: Option<&str>, config: &IndexConfig) -> Result<String> {
    if let Some(c) = column.filter(|c| !c.is_empty()) {
        schema.field_with_name(c).map_err(|_| {
            Error::invalid_argument(format!(
                "createIndex: column '{}' does not exist (columns: {})",
                crate::error::quote(c),
                crate::query::column_names(&Arc::new(schema.clone()))
            ))
        })?;
        return Ok(c.to_string());
    }
    if !config.is_vector() {
        return Err(Error::invalid_argument(
            "createIndex: name the column to index (only a vector column is found by itself)",
        ));
    }
    let vectors: Vec<&str> = schema
        .fields()
        .iter()
        .filter(|f| is_vector_type(f.data_type()))
        .map(|f| f.name().as_str())
        .collect();
    match vectors.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(Error::invalid_argument(
            "createIndex: the table has no vector column (a fixed-size list of floats) to index",
        )),
        many => Err(Error::invalid_argument(format!(
            "createIndex: the table has several vector columns ({}); name the one to index",
            many.join(", ")
        ))),
    }
}

fn index_info(m: &Manifest, e: &IndexEntry) -> IndexInfo {
    let (indexed, unindexed) = coverage_rows(m, e);
    IndexInfo {
        name: e.name.clone(),
        index_type: e.kind.list_name().to_string(),
        columns: e.columns.clone(),
        index_uuid: e.uuid.clone(),
        created_at_ms: e.created_at_ms,
        num_indexed_rows: indexed,
        num_unindexed_rows: unindexed,
        size_bytes: e.files().map(|f| f.size_bytes).sum(),
        num_segments: e.segments.len(),
        details: serde_json::json!({
            "params": e.params,
            "segments": e.segments.iter().map(|s| &s.details).collect::<Vec<_>>(),
        }),
    }
}

/// Live rows of the fragments the index covers, and of the others (as the
/// reference counts them: deleted rows are neither).
pub(crate) fn coverage_rows(m: &Manifest, e: &IndexEntry) -> (u64, u64) {
    m.fragments.iter().fold((0, 0), |(i, u), f| {
        if e.covers(f.id) {
            (i + f.live_rows(), u)
        } else {
            (i, u + f.live_rows())
        }
    })
}

/// The index of that name in `m`.
pub(crate) fn find<'a>(m: &'a Manifest, name: &str) -> Option<&'a IndexEntry> {
    m.indices.iter().find(|i| i.name == name)
}

impl Table {
    fn index_not_found(&self, m: &Manifest, name: &str) -> Error {
        Error::IndexNotFound {
            table: self.name.clone(),
            name: crate::error::quote(name),
            known: m.indices.iter().map(|i| i.name.clone()).collect(),
        }
    }

    /// Builds an index over the rows of the latest version and commits it.
    /// Rows added while it builds are left unindexed (searched exactly),
    /// never lost.
    pub async fn create_index(&self, req: CreateIndexRequest) -> Result<()> {
        let snap = self.latest_for_write().await?;
        let config = match &req.config {
            Some(c) => c.clone(),
            None => IndexConfig::IvfPq(VectorIndexOptions::default()),
        };
        let column = resolve_column(&snap.schema, req.column.as_deref(), &config)?;
        let name = match &req.name {
            Some(n) if n.trim().is_empty() => {
                return Err(Error::invalid_argument(
                    "createIndex: name must not be empty",
                ))
            }
            Some(n) => n.clone(),
            None => format!("{column}_idx"),
        };
        if !req.replace && find(&snap.manifest, &name).is_some() {
            return Err(Error::IndexExists {
                table: self.name.clone(),
                name,
            });
        }
        let column_type = snap.schema.field_with_name(&column)?.data_type().clone();
        let ctx = BuildContext {
            snap: &snap,
            column: &column,
            name: &name,
            segment_uuid: uuid::Uuid::new_v4().to_string(),
            progress: req.progress.clone(),
        };
        let kind = config.kind().ok_or_else(|| not_yet("FM (Index.fm())"))?;
        let built = build(&config, &ctx, req.train).await?;
        let entry = IndexEntry {
            name: name.clone(),
            uuid: uuid::Uuid::new_v4().to_string(),
            kind,
            columns: vec![column.clone()],
            params: built.params,
            created_at_ms: now_ms(),
            segments: vec![built.segment],
        };
        let (entry, column_types, replace) = (&entry, &vec![column_type], req.replace);
        self.commit(|_| async move {
            Ok((
                Change::Index(IndexChange::Create {
                    entry: entry.clone(),
                    replace,
                    column_types: column_types.clone(),
                }),
                (),
            ))
        })
        .await?;
        ctx.report("done", 1, 1);
        Ok(())
    }

    /// The handle's latest version, refreshed: a build reads what is there.
    async fn latest_for_write(&self) -> Result<Arc<Snapshot>> {
        self.check_open()?;
        if let super::HandleState::Pinned { snap } = &*self.state.read().await {
            return Err(Error::invalid_argument(format!(
                "table '{}' is checked out at version {}; index changes need the latest version: call checkoutLatest()",
                self.name,
                snap.version()
            )));
        }
        self.refresh(true).await
    }

    pub async fn list_indices(&self) -> Result<Vec<IndexInfo>> {
        let snap = self.snapshot().await?;
        let m = &snap.manifest;
        Ok(m.indices.iter().map(|e| index_info(m, e)).collect())
    }

    /// `None` for an unknown name, as in the reference.
    pub async fn index_stats(&self, name: &str) -> Result<Option<IndexStats>> {
        let snap = self.snapshot().await?;
        let m = &snap.manifest;
        Ok(find(m, name).map(|e| {
            let (indexed, unindexed) = coverage_rows(m, e);
            IndexStats {
                num_indexed_rows: indexed,
                num_unindexed_rows: unindexed,
                index_type: e.kind.as_str().to_string(),
                distance_type: e
                    .params
                    .get("distanceType")
                    .and_then(|d| d.as_str())
                    .map(String::from),
                num_indices: e.segments.len(),
                loss: if e.kind.is_vector() {
                    super::vector_build::loss_of(e)
                } else {
                    None
                },
            }
        }))
    }

    pub async fn drop_index(&self, name: &str) -> Result<()> {
        let snap = self.latest_for_write().await?;
        if find(&snap.manifest, name).is_none() {
            return Err(self.index_not_found(&snap.manifest, name));
        }
        let name = name.to_string();
        let name = &name;
        self.commit(|_| async move {
            Ok((Change::Index(IndexChange::Drop { name: name.clone() }), ()))
        })
        .await?;
        Ok(())
    }

    /// Waits until every named index exists in the latest version. Builds
    /// here are synchronous, so this only waits for indexes another process
    /// or handle is creating; `INDEX_NOT_FOUND` after the timeout.
    pub async fn wait_for_index(&self, names: &[String], timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            let snap = self.refresh(true).await?;
            let missing: Vec<&String> = names
                .iter()
                .filter(|n| find(&snap.manifest, n).is_none())
                .collect();
            let Some(first) = missing.first() else {
                return Ok(());
            };
            if start.elapsed() >= timeout {
                return Err(self.index_not_found(&snap.manifest, first));
            }
            tokio::time::sleep(Duration::from_millis(100).min(timeout)).await;
        }
    }

    /// `optimize()`'s index step: each vector index takes in the rows no
    /// segment covers and merges its segments (see `vector_build::optimize`);
    /// `compacted`: the version of the compaction just committed, whose
    /// moved rows keep their IVF entries (see `compact_remap`).
    pub(crate) async fn optimize_indices(&self, compacted: Option<u64>) -> Result<()> {
        let snap = self.snapshot().await?;
        let remap = match compacted {
            Some(v) if snap.manifest.indices.iter().any(|e| e.kind.is_vector()) => {
                // Without a mapping (a cleanup elsewhere removed the parent
                // version or an input's deletion file meanwhile) the moved
                // rows are encoded again: slower, never wrong.
                super::compact_remap::RowRemap::of_compaction(self, v)
                    .await
                    .unwrap_or(None)
            }
            _ => None,
        };
        for e in &snap.manifest.indices {
            if e.kind.is_vector() {
                super::vector_build::optimize(self, &snap, e, remap.as_ref()).await?;
            }
        }
        Ok(())
    }

    /// Loads the index's metadata (and, for HNSW, its graph) into the
    /// process-wide cache, so the first search does not pay for it.
    pub async fn prewarm_index(&self, name: &str) -> Result<()> {
        let snap = self.snapshot().await?;
        let Some(e) = find(&snap.manifest, name) else {
            return Err(self.index_not_found(&snap.manifest, name));
        };
        if e.kind.is_vector() {
            super::vector_build::prewarm(&snap, e).await
        } else if e.kind == IndexKind::Fts {
            super::fts_build::prewarm(&snap, e).await
        } else if matches!(
            e.kind,
            IndexKind::BTree | IndexKind::Bitmap | IndexKind::LabelList
        ) {
            for s in &e.segments {
                crate::query::scalar::open(&snap, s).await?;
            }
            Ok(())
        } else {
            Err(not_yet(e.kind.as_str()))
        }
    }
}
