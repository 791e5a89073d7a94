//! Flat (exhaustive) vector search: distances over every row's vector,
//! top-k by (distance, row id), optional SQL pre- or post-filter.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::{StreamExt, TryStreamExt};

use super::{filter, project, read_slice, Slice, READ_AHEAD, ROW_ID};
use crate::error::{Error, Result};
use crate::format::Snapshot;

pub const DISTANCE: &str = "_distance";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DistanceType {
    /// Squared Euclidean distance.
    #[default]
    L2,
    /// 1 - cosine similarity.
    Cosine,
    /// 1 - dot product.
    Dot,
}

/// How many neighbours a search returns unless the caller says, as in
/// @lancedb/lancedb.
pub const DEFAULT_K: usize = 10;

impl DistanceType {
    pub fn as_str(self) -> &'static str {
        match self {
            DistanceType::L2 => "l2",
            DistanceType::Cosine => "cosine",
            DistanceType::Dot => "dot",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct VectorRequest {
    pub vector: Vec<f32>,
    pub column: Option<String>,
    /// `None`: the index's metric when the column has a vector index, else l2.
    pub distance: Option<DistanceType>,
    pub k: usize,
    pub filter: Option<String>,
    /// Filter before ranking (the default) or after.
    pub prefilter: bool,
    pub columns: Option<Vec<String>>,
    pub with_row_id: bool,
    /// Index search settings (see docs/indexes.md for the defaults).
    pub minimum_nprobes: Option<usize>,
    /// `Some(0)`: no maximum (every partition if need be).
    pub maximum_nprobes: Option<usize>,
    pub refine_factor: Option<u32>,
    pub ef: Option<usize>,
    /// Search exactly even when the column has an index.
    pub bypass_index: bool,
    /// Search only the indexed rows (skip rows added since the index was built).
    pub fast_search: bool,
    /// Only rows with `lower <= _distance < upper`.
    pub distance_range: (Option<f32>, Option<f32>),
}

impl VectorRequest {
    fn in_range(&self, d: f32) -> bool {
        self.distance_range.0.is_none_or(|l| d >= l) && self.distance_range.1.is_none_or(|u| d < u)
    }
}

/// Default probes: 20 partitions as @lancedb/lancedb (its `nprobes`
/// default), with sqrt(rows) partitions per index.
pub const DEFAULT_NPROBES: usize = 20;
/// Default re-ranking of IVF-PQ candidates (the reference: none, which
/// caps recall near the PQ's own, 0.1–0.5 on clustered data). 20 × k
/// candidates re-ranked with the index's 8-bit copy cost a few µs more
/// than 10 × k and lift recall where PQ is coarse (docs/indexes.md).
pub const DEFAULT_PQ_REFINE: u32 = 20;
/// Default probes of an IVF index of `P` partitions: at least
/// [`DEFAULT_NPROBES`] and at least `P / 25` (4% of the partitions), so
/// recall at the defaults holds as the table and its √rows partitions grow:
/// 20 of 1,000 partitions gave recall@10 0.88 on the 1M low-rank benchmark,
/// 40 give 0.96.
pub const DEFAULT_NPROBES_DIVISOR: usize = 25;

fn default_nprobes(e: &crate::format::index::IndexEntry) -> usize {
    let parts = e
        .params
        .get("numPartitions")
        .and_then(|p| p.as_u64())
        .unwrap_or(0) as usize;
    DEFAULT_NPROBES.max(parts.div_ceil(DEFAULT_NPROBES_DIVISOR))
}
/// Default HNSW candidates (`ef`) and re-ranking factor.
pub const DEFAULT_EF: usize = 64;
pub const DEFAULT_HNSW_REFINE: u32 = 4;

/// The vector index search uses for `column` unless bypassed.
fn usable_index<'a>(
    manifest: &'a crate::format::manifest::Manifest,
    column: &str,
    req: &VectorRequest,
) -> Option<&'a crate::format::index::IndexEntry> {
    if req.bypass_index {
        return None;
    }
    manifest
        .indices
        .iter()
        .find(|e| e.kind.is_vector() && e.columns.first().is_some_and(|c| c == column))
}

fn index_metric(e: &crate::format::index::IndexEntry) -> DistanceType {
    match e.params.get("distanceType").and_then(|d| d.as_str()) {
        Some("cosine") => DistanceType::Cosine,
        Some("dot") => DistanceType::Dot,
        _ => DistanceType::L2,
    }
}

fn vector_dim(dt: &DataType) -> Option<usize> {
    match dt {
        DataType::FixedSizeList(child, n) if child.data_type().is_floating() => Some(*n as usize),
        _ => None,
    }
}

/// The column to search: the named one, or the only vector column whose
/// dimension matches the query.
pub fn vector_column(schema: &Schema, column: Option<&str>, dim: usize) -> Result<String> {
    if let Some(c) = column {
        let f = schema
            .field_with_name(c)
            .map_err(|_| Error::invalid_argument(format!("vector column '{c}' does not exist")))?;
        return match vector_dim(f.data_type()) {
            Some(d) if d == dim => Ok(c.to_string()),
            Some(d) => Err(Error::invalid_argument(format!(
                "the query vector has {dim} dimensions but column '{c}' holds vectors of {d}"
            ))),
            None => Err(Error::invalid_argument(format!(
                "column '{c}' is not a vector column (a fixed-size list of floats); it is {}",
                f.data_type()
            ))),
        };
    }
    let candidates: Vec<&str> = schema
        .fields()
        .iter()
        .filter(|f| vector_dim(f.data_type()) == Some(dim))
        .map(|f| f.name().as_str())
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(Error::invalid_argument(format!(
            "No vector column found to match with the query vector dimension: {dim}"
        ))),
        many => Err(Error::invalid_argument(format!(
            "several vector columns have dimension {dim} ({}); choose one with .column(name)",
            many.join(", ")
        ))),
    }
}

fn distances(list: &FixedSizeListArray, q: &[f32], dist: DistanceType) -> Result<Float32Array> {
    let values = match list.values().data_type() {
        DataType::Float32 => list.values().clone(),
        _ => arrow_cast::cast(list.values().as_ref(), &DataType::Float32)?,
    };
    let values = values.as_primitive::<Float32Type>().values();
    let dim = q.len();
    let q_norm = q.iter().map(|x| x * x).sum::<f32>().sqrt();
    let out: Float32Array = (0..list.len())
        .map(|i| {
            if list.is_null(i) {
                return None;
            }
            let start = list.value_offset_at(i);
            let v = &values[start..start + dim];
            Some(match dist {
                DistanceType::L2 => v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(),
                DistanceType::Dot => 1.0 - v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>(),
                DistanceType::Cosine => {
                    let (mut dot, mut norm) = (0f32, 0f32);
                    for (a, b) in v.iter().zip(q) {
                        dot += a * b;
                        norm += a * a;
                    }
                    let denom = norm.sqrt() * q_norm;
                    if denom == 0.0 {
                        1.0
                    } else {
                        1.0 - dot / denom
                    }
                }
            })
        })
        .collect();
    Ok(out)
}

/// The `k` smallest (distance, row) pairs, ties by row offset.
fn top_k(mut cands: Vec<(f32, u32)>, k: usize) -> Vec<(f32, u32)> {
    let cmp = |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if cands.len() > k {
        cands.select_nth_unstable_by(k, cmp);
        cands.truncate(k);
    }
    cands.sort_unstable_by(cmp);
    cands
}

/// Distances of every live row of one file, computed on all cores, and
/// its best `k` rows as (distance, row offset).
fn file_top_k(
    list: &FixedSizeListArray,
    offsets: &[u32],
    allowed: Option<&arrow_array::BooleanArray>,
    req: &VectorRequest,
) -> Result<Vec<(f32, u32)>> {
    let n = list.len();
    let threads = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1)
        .min(8);
    let chunk = n.div_ceil(threads.max(1)).max(4096);
    let results: Vec<Result<Vec<(f32, u32)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk.max(1))
            .map(|start| {
                let len = chunk.min(n - start);
                scope.spawn(move || -> Result<Vec<(f32, u32)>> {
                    let part = list.slice(start, len);
                    let d = distances(&part, &req.vector, req.distance.unwrap_or_default())?;
                    let mut cands = Vec::with_capacity(len);
                    for (i, dist) in d.iter().enumerate() {
                        let row = start + i;
                        let ok = allowed.is_none_or(|m| m.value(row));
                        if let (Some(dist), true) = (dist, ok) {
                            if !req.in_range(dist) {
                                continue;
                            }
                            cands.push((dist, offsets[row]));
                        }
                    }
                    Ok(top_k(cands, req.k))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::internal("distance worker panicked")))
            })
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(top_k(all, req.k))
}

pub async fn search(snap: &Snapshot, req: &VectorRequest) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let mut t = super::ann::trace_start();
    let (_, _, manifest, schema) = snap.parts();
    if req.vector.is_empty() {
        return Err(Error::invalid_argument("the query vector is empty"));
    }
    if req.vector.iter().any(|x| !x.is_finite()) {
        return Err(Error::invalid_argument(
            "the query vector holds NaN or infinite values",
        ));
    }
    let column = vector_column(schema, req.column.as_deref(), req.vector.len())?;
    let vec_idx = schema.index_of(&column)?;
    let (out_schema, out_idx) = project(schema, &req.columns)?;
    let filter = filter::CompiledFilter::optional(req.filter.as_deref(), schema)?;
    let filter_idx = filter.as_ref().map(|f| f.indices()).unwrap_or_default();
    // Phase 1: distances over the vector column (and the pre-filter's
    // columns) only; other columns are never read for losing rows.
    let mut scan_idx = vec![vec_idx];
    if req.prefilter {
        scan_idx.extend(filter_idx.iter().copied());
    }
    // The index answers for the fragments its segments cover (a metric
    // other than the index's searches exactly, as the reference does); the
    // other fragments are searched exactly, unless fastSearch.
    let index = usable_index(manifest, &column, req);
    let dist = req.distance.or(index.map(index_metric)).unwrap_or_default();
    let index = index.filter(|e| index_metric(e) == dist);
    let req = &VectorRequest {
        distance: Some(dist),
        ..req.clone()
    };
    let position: std::collections::HashMap<u64, usize> = manifest
        .fragments
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id, i))
        .collect();
    let mut exact: Vec<(usize, crate::format::manifest::Fragment)> = Vec::new();
    let mut covered = Vec::new();
    for (fi, f) in manifest.fragments.iter().enumerate() {
        match index {
            Some(e) if e.covers(f.id) => covered.push(f.clone()),
            _ if req.fast_search && index.is_some() => {}
            _ => exact.push((fi, f.clone())),
        }
    }
    let mut ann: Vec<(f32, usize, u32)> = Vec::new();
    // Phase 2's columns: read with the re-ranking vectors (see
    // TableVectors::extra).
    let mut fetch_idx = out_idx.clone();
    if !req.prefilter {
        fetch_idx.extend(filter_idx.iter().copied());
    }
    let vectors = super::ann::TableVectors::new(snap, vec_idx, fetch_idx.clone());
    if let (Some(e), false) = (index, covered.is_empty()) {
        let pre = if req.prefilter { filter.as_ref() } else { None };
        let allowed = super::ann::Allowed::build(snap, &covered, pre).await?;
        super::ann::trace("allowed", &mut t);
        let live: u64 = covered.iter().map(|f| f.live_rows()).sum();
        if pre.is_some() && allowed.count.saturating_mul(10) <= live {
            // A selective prefilter: the rows it passes are few, and an
            // exact search over them finds the true top-k where probing a
            // few partitions would find few of them.
            exact.extend(covered.iter().map(|f| (position[&f.id], f.clone())));
        } else {
            for (d, row) in ann_search(snap, e, req, &vectors, &allowed).await? {
                if let Some(fi) = position.get(&(row >> 32)) {
                    ann.push((d, *fi, (row & 0xffff_ffff) as u32));
                }
            }
        }
    }
    if !exact.is_empty() {
        // Reads and a worker thread: not for a synchronous attempt.
        super::fast::io_gate().await;
    }
    // A prefilter's scalar indexes narrow the rows whose distances are
    // computed; the filter is still evaluated on them.
    let cands = match (&filter, req.prefilter, exact.is_empty()) {
        (Some(f), true, false) => super::scalar::candidates(snap, f).await?,
        _ => None,
    };
    let cands = &cands;
    let per_file: Vec<(usize, Vec<(f32, u32)>)> = futures::stream::iter(exact)
        .map(|(fi, frag)| {
            let (scan_idx, column, filter) = (scan_idx.clone(), column.clone(), filter.clone());
            async move {
                let batches = match cands.as_ref().and_then(|c| c.get(&frag.id)) {
                    Some(c) => super::scalar::read_live_rows(snap, &frag, &scan_idx, c)
                        .await?
                        .into_iter()
                        .collect(),
                    None => read_slice(snap, &Slice::whole(&frag), &scan_idx, true).await?,
                };
                let mut best = Vec::new();
                for b in batches {
                    let allowed = match (req.prefilter, &filter) {
                        (true, Some(f)) => Some(f.evaluate(&b)?),
                        _ => None,
                    };
                    let offsets = super::row_offsets(&b)?;
                    let list = b
                        .column_by_name(&column)
                        .cloned()
                        .ok_or_else(|| Error::internal("vector column"))?;
                    let req = req.clone();
                    // CPU-bound: off the async workers.
                    let found = tokio::task::spawn_blocking(move || {
                        let list = list
                            .as_fixed_size_list_opt()
                            .ok_or_else(|| Error::internal("vector column type"))?;
                        file_top_k(list, &offsets, allowed.as_ref(), &req)
                    })
                    .await
                    .map_err(|e| Error::internal(format!("distance task: {e}")))??;
                    best.extend(found);
                }
                Ok::<_, Error>((fi, top_k(best, req.k)))
            }
        })
        .buffered(READ_AHEAD)
        .try_collect()
        .await?;
    let mut winners: Vec<(f32, usize, u32)> = per_file
        .into_iter()
        .flat_map(|(fi, v)| v.into_iter().map(move |(d, o)| (d, fi, o)))
        .chain(ann)
        .collect();
    winners.sort_unstable_by(|a, b| {
        let ra = (manifest.fragments[a.1].id << 32) | a.2 as u64;
        let rb = (manifest.fragments[b.1].id << 32) | b.2 as u64;
        a.0.total_cmp(&b.0).then(ra.cmp(&rb))
    });
    winners.truncate(req.k);
    super::ann::trace("ann+exact", &mut t);

    // Phase 2: the winners' output (and post-filter) columns.
    let mut dist_fields: Vec<Arc<Field>> = out_schema.fields().iter().cloned().collect();
    dist_fields.push(Arc::new(Field::new(DISTANCE, DataType::Float32, true)));
    if req.with_row_id {
        dist_fields.push(Arc::new(Field::new(ROW_ID, DataType::UInt64, true)));
    }
    let result_schema: SchemaRef = Arc::new(Schema::new_with_metadata(
        dist_fields,
        out_schema.metadata().clone(),
    ));
    let mut parts: Vec<RecordBatch> = Vec::new();
    let mut files: Vec<usize> = winners.iter().map(|w| w.1).collect();
    files.sort_unstable();
    files.dedup();
    for fi in files {
        let frag = &manifest.fragments[fi];
        let mut rows: Vec<(u32, f32)> = winners
            .iter()
            .filter(|w| w.1 == fi)
            .map(|w| (w.2, w.0))
            .collect();
        rows.sort_unstable_by_key(|r| r.0);
        let offsets: Vec<u32> = rows.iter().map(|r| r.0).collect();
        let b = match vectors.take(frag.id, &fetch_idx, &offsets)? {
            Some(b) => b,
            None => super::ann::read_rows_cached(snap, frag, &fetch_idx, &offsets, true).await?,
        };
        parts.push(with_distance(
            &b,
            Float32Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()),
        )?);
    }
    if parts.is_empty() {
        return Ok((result_schema, vec![]));
    }
    let merged = arrow_select::concat::concat_batches(&parts[0].schema(), &parts)?;
    // Back into (distance, row id) order.
    let d = merged
        .column_by_name(DISTANCE)
        .and_then(|c| c.as_primitive_opt::<Float32Type>())
        .ok_or_else(|| Error::internal("distance"))?;
    let r = merged
        .column_by_name(ROW_ID)
        .and_then(|c| c.as_primitive_opt::<arrow_array::types::UInt64Type>())
        .ok_or_else(|| Error::internal("row id"))?;
    let mut order: Vec<u32> = (0..merged.num_rows() as u32).collect();
    order.sort_unstable_by(|a, b| {
        d.value(*a as usize)
            .total_cmp(&d.value(*b as usize))
            .then(r.value(*a as usize).cmp(&r.value(*b as usize)))
    });
    let order = UInt32Array::from(order);
    let mut best = RecordBatch::try_new(
        merged.schema(),
        merged
            .columns()
            .iter()
            .map(|c| arrow_select::take::take(c.as_ref(), &order, None))
            .collect::<std::result::Result<Vec<_>, _>>()?,
    )?;
    if let (false, Some(f)) = (req.prefilter, &filter) {
        let mask = f.evaluate(&best)?;
        best = arrow_select::filter::filter_record_batch(&best, &mask)?;
    }
    let cols = result_schema
        .fields()
        .iter()
        .map(|f| {
            best.column_by_name(f.name())
                .cloned()
                .ok_or_else(|| Error::internal(format!("missing {}", f.name())))
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let out = RecordBatch::try_new_with_options(
        result_schema.clone(),
        cols,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(best.num_rows())),
    )?;
    super::ann::trace("result rows", &mut t);
    Ok((result_schema, vec![out]))
}

/// The index's best rows (row id, distance) for `req`: every segment,
/// probing `minimumNprobes` partitions first and up to `maximumNprobes`
/// when that finds fewer than `k` rows.
async fn ann_search(
    snap: &Snapshot,
    e: &crate::format::index::IndexEntry,
    req: &VectorRequest,
    vectors: &super::ann::TableVectors<'_>,
    allowed: &super::ann::Allowed,
) -> Result<Vec<(f32, u64)>> {
    use crate::format::index::IndexKind;
    let hnsw = matches!(e.kind, IndexKind::IvfHnswSq | IndexKind::IvfHnswPq);
    let min = req
        .minimum_nprobes
        .unwrap_or_else(|| default_nprobes(e))
        .max(1);
    let max = match req.maximum_nprobes {
        Some(0) => usize::MAX,
        Some(m) => m.max(min),
        None => min,
    };
    let refine = req.refine_factor.or(match e.kind {
        IndexKind::IvfPq => Some(DEFAULT_PQ_REFINE),
        _ if hnsw => Some(DEFAULT_HNSW_REFINE),
        _ => None,
    });
    let mut nprobes = min;
    loop {
        let params = super::ann::AnnParams {
            k: req.k,
            nprobes,
            refine_factor: refine,
            ef: req.ef.unwrap_or(DEFAULT_EF).max(req.k),
        };
        let mut found = Vec::new();
        for seg in &e.segments {
            if seg.fragments.is_empty() {
                continue;
            }
            for (row, d) in
                super::ann::search_segment(snap, seg, &req.vector, &params, allowed, vectors)
                    .await?
            {
                if req.in_range(d) {
                    found.push((d, row));
                }
            }
        }
        if found.len() >= req.k || nprobes >= max || hnsw {
            return Ok(found);
        }
        nprobes = max;
    }
}

fn with_distance(b: &RecordBatch, d: Float32Array) -> Result<RecordBatch> {
    let mut fields: Vec<Arc<Field>> = b.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(DISTANCE, DataType::Float32, true)));
    let mut cols = b.columns().to_vec();
    cols.push(Arc::new(d));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rows: &[[f32; 2]]) -> FixedSizeListArray {
        let values = Float32Array::from(rows.iter().flatten().copied().collect::<Vec<_>>());
        FixedSizeListArray::new(
            Arc::new(Field::new("item", DataType::Float32, true)),
            2,
            Arc::new(values),
            None,
        )
    }

    #[test]
    fn distances_match_lancedb_definitions() {
        // Reference values from @lancedb/lancedb 0.31.0 for query [1, 1].
        let l = list(&[[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]]);
        let q = [1.0, 1.0];
        let l2: Vec<f32> = distances(&l, &q, DistanceType::L2)
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(l2, [1.0, 2.0, 13.0]);
        let dot: Vec<f32> = distances(&l, &q, DistanceType::Dot)
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(dot, [0.0, -1.0, -6.0]);
        let cos = distances(&l, &q, DistanceType::Cosine).unwrap();
        assert!((cos.value(0) - 0.29289323).abs() < 1e-6);
        assert!((cos.value(2) - 0.010050476).abs() < 1e-6);
    }

    #[test]
    fn column_detection() {
        let s = Schema::new(vec![
            Field::new(
                "v",
                DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), 2),
                true,
            ),
            Field::new("id", DataType::Float64, true),
        ]);
        assert_eq!(vector_column(&s, None, 2).unwrap(), "v");
        assert!(vector_column(&s, None, 3)
            .unwrap_err()
            .to_string()
            .contains("dimension: 3"));
        assert!(vector_column(&s, Some("id"), 2)
            .unwrap_err()
            .to_string()
            .contains("not a vector column"));
    }
}
