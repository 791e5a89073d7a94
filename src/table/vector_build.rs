//! Vector index builds over a table's data files: sample training vectors
//! (`sampleRate` per partition), train on all cores, stream every data file
//! through the encoder, and store the segment's objects under
//! `_indices/<segment uuid>/`. `optimize()` extends an IVF index with the
//! rows no segment covers, using its trained model, and merges its
//! segments into one; it retrains when the unindexed rows outnumber the
//! indexed ones (docs/indexes.md).

use std::collections::{HashMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::compact_remap::RowRemap;
use super::indexing::{BuildContext, BuiltSegment, IndexConfig, VectorIndexOptions};
use super::txn::{Change, IndexChange};
use super::Table;
use crate::error::{Error, Result};
use crate::format::index::{
    segment_dir, FragmentSet, IndexEntry, IndexFile, IndexKind, IndexSegment,
};
use crate::format::manifest::Fragment;
use crate::format::Snapshot;
use crate::index::hnsw::DEFAULT_EF_CONSTRUCTION;
use crate::index::ivf_index::{default_num_partitions, default_num_sub_vectors};
use crate::index::kmeans::sample_indices;
use crate::index::trace;
use crate::index::{
    Codec, DistanceType, HnswBuildParams, HnswBuilder, HnswStorage, IvfBuildParams, IvfBuilder,
};
use crate::query::ann::{self, Allowed, Loaded, VectorSegmentDetails};
use crate::query::{read_slice, Slice};

/// An index's build options after defaults (the entry's `params`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VectorParams {
    pub distance_type: String,
    pub num_partitions: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_sub_vectors: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_bits: Option<u32>,
    pub max_iterations: usize,
    pub sample_rate: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ef_construction: Option<usize>,
    /// The options as given, to resolve the defaults again on a retrain.
    pub given: VectorIndexOptions,
}

fn kind_of(config: &IndexConfig) -> IndexKind {
    config.kind().unwrap_or(IndexKind::IvfPq)
}

fn resolve(
    kind: IndexKind,
    o: &VectorIndexOptions,
    dim: usize,
    rows: usize,
) -> Result<VectorParams> {
    let pq = matches!(kind, IndexKind::IvfPq | IndexKind::IvfHnswPq);
    let hnsw = matches!(kind, IndexKind::IvfHnswSq | IndexKind::IvfHnswPq);
    let num_bits = o.num_bits.unwrap_or(8);
    if pq && num_bits != 4 && num_bits != 8 {
        return Err(Error::invalid_argument(format!(
            "numBits must be 4 or 8; got {num_bits}"
        )));
    }
    let num_sub_vectors = o.num_sub_vectors.unwrap_or(default_num_sub_vectors(dim));
    if pq && (num_sub_vectors == 0 || !dim.is_multiple_of(num_sub_vectors)) {
        return Err(Error::invalid_argument(format!(
            "numSubVectors ({num_sub_vectors}) must divide the vector dimension ({dim})"
        )));
    }
    Ok(VectorParams {
        distance_type: o.distance_type.clone().unwrap_or_else(|| "l2".into()),
        // HNSW here is one graph per segment: numPartitions is kept for
        // the record and not used.
        num_partitions: o.num_partitions.unwrap_or(if hnsw {
            1
        } else {
            default_num_partitions(rows)
        }),
        num_sub_vectors: pq.then_some(num_sub_vectors),
        num_bits: pq.then_some(num_bits),
        max_iterations: o.max_iterations.unwrap_or(50),
        sample_rate: o.sample_rate.unwrap_or(256),
        m: hnsw.then_some(o.m.unwrap_or(20)),
        ef_construction: hnsw.then_some(o.ef_construction.unwrap_or(DEFAULT_EF_CONSTRUCTION)),
        given: o.clone(),
    })
}

/// The dimension of a vector column, or a clear error.
fn vector_dim(snap: &Snapshot, column: &str) -> Result<(usize, usize)> {
    let idx = snap.schema.index_of(column)?;
    match snap.schema.field(idx).data_type() {
        DataType::FixedSizeList(child, n) if child.data_type().is_floating() => {
            Ok((idx, *n as usize))
        }
        other => Err(Error::invalid_argument(format!(
            "createIndex: column '{column}' is {other}, not a vector column (a fixed-size list of floats); a vector index needs one"
        ))),
    }
}

pub(crate) async fn build(
    config: &IndexConfig,
    options: &VectorIndexOptions,
    ctx: &BuildContext<'_>,
) -> Result<BuiltSegment> {
    let kind = kind_of(config);
    let (col, dim) = vector_dim(ctx.snap, ctx.column)?;
    let rows = ctx.snap.manifest.rows() as usize;
    let params = resolve(kind, options, dim, rows)?;
    let frags = ctx.snap.manifest.fragments.clone();
    let segment = build_segment(ctx, kind, &params, col, dim, &frags, None).await?;
    Ok(BuiltSegment {
        segment,
        params: serde_json::to_value(&params)
            .map_err(|e| Error::internal(format!("index params: {e}")))?,
    })
}

/// The vectors (row-major) and row ids of a batch's non-null rows.
fn vectors_of(b: &RecordBatch, dim: usize) -> Result<(Vec<u64>, Vec<f32>)> {
    let list = b
        .column(0)
        .as_fixed_size_list_opt()
        .ok_or_else(|| Error::internal("vector column type"))?;
    let values = arrow_cast::cast(list.values().as_ref(), &DataType::Float32)?;
    let values = values.as_primitive::<Float32Type>().values();
    let ids = b
        .column_by_name(crate::format::ROW_ID)
        .and_then(|c| c.as_primitive_opt::<arrow_array::types::UInt64Type>())
        .ok_or_else(|| Error::internal("row ids missing"))?;
    let mut out_ids = Vec::with_capacity(b.num_rows());
    let mut out = Vec::with_capacity(b.num_rows() * dim);
    for i in 0..b.num_rows() {
        if list.is_null(i) {
            continue;
        }
        let start = list.value_offset_at(i);
        let v = &values[start..start + dim];
        if v.iter().all(|x| x.is_finite()) {
            out_ids.push(ids.value(i));
            out.extend_from_slice(v);
        }
    }
    Ok((out_ids, out))
}

/// Reads `want` vectors spread evenly over `frags` (a seeded sample).
async fn sample(
    snap: &Snapshot,
    frags: &[Fragment],
    col: usize,
    dim: usize,
    want: usize,
) -> Result<Vec<f32>> {
    let total: usize = frags.iter().map(|f| f.live_rows() as usize).sum();
    let mut picks = sample_indices(total, want.min(total), 42);
    picks.sort_unstable();
    let mut out = Vec::with_capacity(picks.len() * dim);
    let (mut seen, mut next) = (0usize, 0usize);
    for f in frags {
        let n = f.live_rows() as usize;
        if next >= picks.len() {
            break;
        }
        if picks[next] >= seen + n {
            seen += n;
            continue;
        }
        for b in read_slice(snap, &Slice::whole(f), &[col], true).await? {
            let list = b
                .column(0)
                .as_fixed_size_list_opt()
                .ok_or_else(|| Error::internal("vector column type"))?;
            let values = arrow_cast::cast(list.values().as_ref(), &DataType::Float32)?;
            let values = values.as_primitive::<Float32Type>().values();
            while next < picks.len() && picks[next] < seen + b.num_rows() {
                let i = picks[next] - seen;
                if !list.is_null(i) {
                    let s = list.value_offset_at(i);
                    let v = &values[s..s + dim];
                    if v.iter().all(|x| x.is_finite()) {
                        out.extend_from_slice(v);
                    }
                }
                next += 1;
            }
            seen += b.num_rows();
        }
    }
    Ok(out)
}

fn distance_of(p: &VectorParams) -> Result<DistanceType> {
    DistanceType::parse(&p.distance_type)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("index build task: {e}")))?
}

/// Per fragment, the row offset ranges (first, rows) to encode; a fragment
/// not listed is encoded whole.
pub(crate) type EncodeOnly = HashMap<u64, Vec<(u64, u64)>>;

/// Keeps the rows of (`ids`, `vectors`) whose offsets `ranges` lists.
fn keep_ranges(
    ids: Vec<u64>,
    vectors: Vec<f32>,
    dim: usize,
    ranges: &[(u64, u64)],
) -> (Vec<u64>, Vec<f32>) {
    let inside = |id: u64| {
        let o = id & 0xffff_ffff;
        ranges.iter().any(|&(s, n)| o >= s && o < s + n)
    };
    let mut out_ids = Vec::new();
    let mut out = Vec::new();
    for (id, v) in ids.into_iter().zip(vectors.chunks_exact(dim)) {
        if inside(id) {
            out_ids.push(id);
            out.extend_from_slice(v);
        }
    }
    (out_ids, out)
}

/// Streams every fragment of `frags` through `add` (only the ranges `only`
/// lists, for the fragments it lists).
async fn stream<F>(
    ctx: &BuildContext<'_>,
    frags: &[Fragment],
    col: usize,
    dim: usize,
    mut state: F::State,
    add: F,
    only: Option<&EncodeOnly>,
) -> Result<F::State>
where
    F: Adder,
{
    let total: u64 = frags.iter().map(|f| f.live_rows()).sum();
    let mut done = 0u64;
    for f in frags {
        let ranges = only.and_then(|o| o.get(&f.id));
        for b in read_slice(ctx.snap, &Slice::whole(f), &[col], true).await? {
            let (ids, vectors) = vectors_of(&b, dim)?;
            let (ids, vectors) = match ranges {
                Some(r) => keep_ranges(ids, vectors, dim, r),
                None => (ids, vectors),
            };
            done += b.num_rows() as u64;
            let a = add.clone();
            state = blocking(move || {
                a.add(&mut state, &ids, &vectors)?;
                Ok(state)
            })
            .await?;
        }
        ctx.report("encode", done, total);
    }
    Ok(state)
}

/// Adds a batch to a builder (off the async threads).
trait Adder: Clone + Send + 'static {
    type State: Send + 'static;
    fn add(&self, s: &mut Self::State, ids: &[u64], vectors: &[f32]) -> Result<()>;
}

#[derive(Clone)]
struct IvfAdd;
impl Adder for IvfAdd {
    type State = IvfBuilder;
    fn add(&self, s: &mut IvfBuilder, ids: &[u64], v: &[f32]) -> Result<()> {
        s.add(ids, v)
    }
}

#[derive(Clone)]
struct HnswAdd;
impl Adder for HnswAdd {
    type State = HnswBuilder;
    fn add(&self, s: &mut HnswBuilder, ids: &[u64], v: &[f32]) -> Result<()> {
        s.add(ids, v)
    }
}

/// Puts one index object (multipart above 64 MiB).
async fn put(snap: &Snapshot, rel: String, bytes: Vec<u8>) -> Result<IndexFile> {
    let path = snap.path(&rel);
    let size = bytes.len() as u64;
    let store = &snap.store.store;
    let err = |e: object_store::Error| snap.store.error(e, format!("Writing index object {path}"));
    if size <= 64 << 20 {
        store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(err)?;
    } else {
        let upload = store.put_multipart(&path).await.map_err(err)?;
        let mut w = object_store::WriteMultipart::new_with_chunk_size(upload, 16 << 20);
        w.write(&bytes);
        w.finish().await.map_err(err)?;
    }
    Ok(IndexFile {
        path: rel,
        size_bytes: size,
    })
}

/// Builds one segment over `frags`: trained afresh, or (`merge`) with an
/// existing IVF model, carrying the rows of the segments it replaces and
/// encoding only the rows its [`EncodeOnly`] names.
async fn build_segment(
    ctx: &BuildContext<'_>,
    kind: IndexKind,
    params: &VectorParams,
    col: usize,
    dim: usize,
    frags: &[Fragment],
    merge: Option<(IvfBuilder, &EncodeOnly)>,
) -> Result<IndexSegment> {
    let (merge, only) = match merge {
        Some((builder, only)) => (Some(builder), Some(only)),
        None => (None, None),
    };
    let dt = distance_of(params)?;
    let dir = segment_dir(&ctx.segment_uuid);
    let total: u64 = frags.iter().map(|f| f.live_rows()).sum();
    let hnsw = matches!(kind, IndexKind::IvfHnswSq | IndexKind::IvfHnswPq);
    let mut details = VectorSegmentDetails {
        format: if hnsw { "hnsw" } else { "ivf" }.into(),
        meta: String::new(),
        partitions: None,
        distance_type: params.distance_type.clone(),
        dim,
    };
    let mut files = Vec::new();
    let rows;
    let mut loss = None;
    if hnsw {
        let storage = match kind {
            IndexKind::IvfHnswPq => HnswStorage::Pq {
                num_sub_vectors: params
                    .num_sub_vectors
                    .unwrap_or(default_num_sub_vectors(dim)),
                num_bits: params.num_bits.unwrap_or(8),
            },
            _ => HnswStorage::Sq,
        };
        let mut hp = HnswBuildParams::new(storage);
        hp.m = params.m.unwrap_or(20);
        hp.ef_construction = params.ef_construction.unwrap_or(DEFAULT_EF_CONSTRUCTION);
        hp.distance_type = dt;
        hp.max_iterations = params.max_iterations;
        ctx.report("sample", 0, total);
        let s = sample(ctx.snap, frags, col, dim, 65536).await?;
        if s.is_empty() {
            return Err(empty_table());
        }
        ctx.report("train", 0, total);
        let builder = blocking(move || HnswBuilder::train(&hp, dim, &s)).await?;
        let builder = stream(ctx, frags, col, dim, builder, HnswAdd, only).await?;
        ctx.report("graph", 0, total);
        let bytes = blocking(move || Ok(builder.finish()?.to_bytes())).await?;
        ctx.report("write", 0, total);
        let f = put(ctx.snap, format!("{dir}/graph.hnsw"), bytes).await?;
        details.meta = f.path.clone();
        files.push(f);
        rows = total;
    } else {
        let builder = match merge {
            Some(b) => b,
            None => {
                let codec = match kind {
                    IndexKind::IvfPq => Codec::Pq {
                        num_sub_vectors: params
                            .num_sub_vectors
                            .unwrap_or(default_num_sub_vectors(dim)),
                        num_bits: params.num_bits.unwrap_or(8),
                        residual: true,
                    },
                    _ => Codec::Flat,
                };
                let mut ip = IvfBuildParams::new(total as usize, codec);
                ip.num_partitions = params.num_partitions;
                ip.distance_type = dt;
                ip.max_iterations = params.max_iterations;
                ip.sample_rate = params.sample_rate;
                let want = ip.training_sample_size(total as usize);
                ctx.report("sample", 0, total);
                let s = {
                    let _span = trace::span("sample");
                    sample(ctx.snap, frags, col, dim, want).await?
                };
                if s.is_empty() {
                    return Err(empty_table());
                }
                ctx.report("train", 0, total);
                let _span = trace::span("train (k-means + pq)");
                blocking(move || IvfBuilder::train(&ip, dim, &s)).await?
            }
        };
        loss = builder.loss();
        let span = trace::span("assign + encode (read included)");
        let builder = stream(ctx, frags, col, dim, builder, IvfAdd, only).await?;
        drop(span);
        ctx.report("write", 0, total);
        let _span = trace::span("write");
        let (meta, parts, n) = blocking(move || {
            let mut parts = Vec::new();
            let index = builder.finish(&mut parts)?;
            Ok((index.to_bytes(), parts, index.num_rows))
        })
        .await?;
        let p = put(ctx.snap, format!("{dir}/partitions.bin"), parts).await?;
        let m = put(ctx.snap, format!("{dir}/index.meta"), meta).await?;
        details.meta = m.path.clone();
        details.partitions = Some(p.path.clone());
        files.push(m);
        files.push(p);
        rows = n;
    }
    Ok(IndexSegment {
        uuid: ctx.segment_uuid.clone(),
        files,
        fragments: FragmentSet::from_ids(frags.iter().map(|f| f.id)),
        rows,
        details: with_loss(
            serde_json::to_value(&details)
                .map_err(|e| Error::internal(format!("segment details: {e}")))?,
            loss,
        ),
    })
}

/// Segment details with the IVF k-means loss (`indexStats().loss`), when
/// known (docs/FORMAT.md).
fn with_loss(mut details: serde_json::Value, loss: Option<f64>) -> serde_json::Value {
    if let (Some(l), Some(obj)) = (loss.filter(|l| l.is_finite()), details.as_object_mut()) {
        obj.insert("loss".into(), serde_json::json!(l));
    }
    details
}

/// The k-means loss an index's segments record (the newest that has one);
/// `None` for HNSW and for indexes built before it was recorded.
pub(crate) fn loss_of(e: &IndexEntry) -> Option<f64> {
    e.segments
        .iter()
        .rev()
        .find_map(|s| s.details.get("loss").and_then(|l| l.as_f64()))
}

fn empty_table() -> Error {
    Error::invalid_argument(
        "createIndex: the table has no non-null vectors to train a vector index on; add rows first",
    )
}

pub(crate) async fn prewarm(snap: &Snapshot, entry: &IndexEntry) -> Result<()> {
    ann::prewarm(snap, entry).await
}

/// Rows a compaction moved out of files an index segment covered, which the
/// index step carries over (entries remapped to the new row ids) instead of
/// encoding again.
#[derive(Default)]
struct Moved {
    /// Per segment uuid (of the index now): the compaction inputs whose
    /// rows its objects hold (it covered them just before the compaction).
    held: HashMap<String, HashSet<u64>>,
    /// The uncovered outputs that receive carried rows.
    outputs: Vec<Fragment>,
    /// Per such output: the ranges that came from inputs no segment held
    /// (encoded, as new rows); an output not listed is carried whole.
    encode: EncodeOnly,
    /// Rows carried (the retrain rule counts them as indexed).
    rows: u64,
}

impl Moved {
    fn plan(remap: &RowRemap, e: &IndexEntry, uncovered: &[Fragment]) -> Moved {
        let mut moved = Moved::default();
        // The same index (same uuid), and its segments still there.
        let Some(before) = remap.before.iter().find(|b| b.uuid == e.uuid) else {
            return moved;
        };
        let mut claimed: HashSet<u64> = HashSet::new();
        for s in &before.segments {
            if !e.segments.iter().any(|now| now.uuid == s.uuid) {
                continue;
            }
            let ids: HashSet<u64> = remap
                .inputs()
                .into_iter()
                .filter(|id| s.fragments.contains(*id) && claimed.insert(*id))
                .collect();
            if !ids.is_empty() {
                moved.held.insert(s.uuid.clone(), ids);
            }
        }
        for f in uncovered {
            let Some(runs) = remap.runs_of(f.id) else {
                continue;
            };
            let (carried, fresh): (Vec<&(u64, u64, u64)>, Vec<_>) =
                runs.iter().partition(|(src, _, _)| claimed.contains(src));
            if carried.is_empty() {
                continue;
            }
            moved.rows += carried.iter().map(|r| r.2).sum::<u64>().min(f.live_rows());
            if !fresh.is_empty() {
                moved
                    .encode
                    .insert(f.id, fresh.iter().map(|r| (r.1, r.2)).collect());
            }
            moved.outputs.push(f.clone());
        }
        moved
    }

    fn is_output(&self, id: u64) -> bool {
        self.outputs.iter().any(|f| f.id == id)
    }
}

/// `optimize()` for one vector index: the fragments no segment covers are
/// added, and the segments merged into one. IVF reuses the trained model
/// (new rows are assigned to the existing partitions; old rows keep their
/// codes, and rows a compaction (`remap`) moved out of covered files keep
/// theirs under their new row ids) unless the genuinely new rows outnumber
/// the indexed ones, which retrains; HNSW graphs are rebuilt. Returns
/// whether it committed.
pub(crate) async fn optimize(
    table: &Table,
    snap: &Snapshot,
    e: &IndexEntry,
    remap: Option<&RowRemap>,
) -> Result<bool> {
    let m = &snap.manifest;
    let uncovered: Vec<Fragment> = m
        .fragments
        .iter()
        .filter(|f| !e.covers(f.id) && f.live_rows() > 0)
        .cloned()
        .collect();
    let live_segments = e
        .segments
        .iter()
        .filter(|s| !s.fragments.is_empty())
        .count();
    if uncovered.is_empty() && live_segments <= 1 && e.segments.len() <= 1 {
        return Ok(false);
    }
    let column = e
        .columns
        .first()
        .ok_or_else(|| Error::internal("index without a column"))?;
    let (col, dim) = vector_dim(snap, column)?;
    let params: VectorParams =
        serde_json::from_value(e.params.clone()).map_err(|err| Error::Corrupt {
            table: table.name.clone(),
            reason: format!("index '{}' has unreadable params: {err}", e.name),
        })?;
    let (indexed, unindexed) = super::indexing::coverage_rows(m, e);
    let hnsw = matches!(e.kind, IndexKind::IvfHnswSq | IndexKind::IvfHnswPq);
    let moved = match remap {
        Some(r) if !hnsw => Moved::plan(r, e, &uncovered),
        _ => Moved::default(),
    };
    // Moved rows are not new: only the rows no segment ever held count
    // towards a retrain.
    let (indexed, unindexed) = (indexed + moved.rows, unindexed.saturating_sub(moved.rows));
    let ctx = BuildContext {
        snap,
        column,
        name: &e.name,
        segment_uuid: uuid::Uuid::new_v4().to_string(),
        progress: None,
    };
    let segment = if hnsw || unindexed > indexed {
        let params = resolve(e.kind, &params.given, dim, m.rows() as usize)?;
        build_segment(&ctx, e.kind, &params, col, dim, &m.fragments, None).await?
    } else {
        // Merge: the old segments' live rows keep their codes.
        let covered: Vec<Fragment> = m
            .fragments
            .iter()
            .filter(|f| e.covers(f.id))
            .cloned()
            .collect();
        let allowed = Allowed::build(snap, &covered, None).await?;
        // Live rows (now) of the outputs receiving moved rows.
        let allowed_moved = Allowed::build(snap, &moved.outputs, None).await?;
        let mut builder: Option<IvfBuilder> = None;
        let mut model: Option<Vec<f32>> = None;
        for seg in &e.segments {
            let (Loaded::Ivf(index), d) = ann::load(snap, seg).await? else {
                return Err(Error::internal("IVF index with a graph segment"));
            };
            if model.as_ref().is_some_and(|c| c != &index.ivf.centroids) {
                return Err(Error::internal("IVF segments trained apart"));
            }
            model = Some(index.ivf.centroids.clone());
            let b = builder.get_or_insert_with(|| IvfBuilder::from_index(&index, 256 << 20));
            let held = moved.held.get(&seg.uuid);
            if seg.fragments.is_empty() && held.is_none() {
                continue;
            }
            let rel = d
                .partitions
                .ok_or_else(|| Error::internal("IVF segment without partitions"))?;
            let path = snap.path(&rel);
            let bytes = snap
                .store
                .store
                .get(&path)
                .await
                .map_err(|err| snap.store.error(err, format!("Reading {path}")))?
                .bytes()
                .await
                .map_err(|err| snap.store.error(err, format!("Reading {path}")))?;
            let (cs, ks) = (index.code_size(), index.copy_size());
            // A row id the segment's entry stands for now: itself (a file
            // still covered), its new id (moved by the compaction out of a
            // file this segment held), or none (deleted, or not this
            // segment's to carry).
            let now = |id: u64| -> Option<u64> {
                if allowed.allows(id) {
                    return Some(id);
                }
                let r = remap?;
                if !held?.contains(&(id >> 32)) {
                    return None;
                }
                r.new_id(id).filter(|n| allowed_moved.allows(*n))
            };
            for p in 0..index.partitions.len() {
                let r = index.partition_range(p);
                let (ids, codes, copies) =
                    index.split_partition(p, &bytes[r.start as usize..r.end as usize])?;
                let (mut keep_ids, mut keep_codes, mut keep_copies) =
                    (Vec::new(), Vec::new(), Vec::new());
                for (i, id) in ids.iter().enumerate() {
                    if let Some(n) = now(*id) {
                        keep_ids.push(n);
                        keep_codes.extend_from_slice(&codes[i * cs..(i + 1) * cs]);
                        // The re-ranking copy travels with its code.
                        keep_copies.extend_from_slice(&copies[i * ks..(i + 1) * ks]);
                    }
                }
                b.add_encoded(p, &keep_ids, &keep_codes, &keep_copies)?;
            }
        }
        let builder = builder.ok_or_else(|| Error::internal("index without segments"))?;
        // Encoded: the uncovered files no segment held rows of, and the
        // parts of outputs that came from such files.
        let encode: Vec<Fragment> = uncovered
            .iter()
            .filter(|f| !moved.is_output(f.id) || moved.encode.contains_key(&f.id))
            .cloned()
            .collect();
        let mut seg = build_segment(
            &ctx,
            e.kind,
            &params,
            col,
            dim,
            &encode,
            Some((builder, &moved.encode)),
        )
        .await?;
        let all: HashSet<u64> = covered.iter().chain(&uncovered).map(|f| f.id).collect();
        seg.fragments = FragmentSet::from_ids(all);
        // Same model, same training: the merged segment keeps its loss.
        seg.details = with_loss(seg.details, loss_of(e));
        seg
    };
    let replaced: Vec<String> = e.segments.iter().map(|s| s.uuid.clone()).collect();
    let (name, uuid) = (e.name.clone(), e.uuid.clone());
    let (segment, replaced, name, uuid) = (&segment, &replaced, &name, &uuid);
    table
        .commit(|_| async move {
            Ok((
                Change::Index(IndexChange::ReplaceSegments {
                    name: name.clone(),
                    index_uuid: uuid.clone(),
                    replaced: replaced.clone(),
                    added: vec![segment.clone()],
                }),
                (),
            ))
        })
        .await?;
    Ok(true)
}
