//! Full-text search over a table version: the query's columns resolved to
//! their FTS indexes, index segments opened (metadata cached), the posting
//! lists the query needs read by range, rows no segment covers indexed in
//! memory (unless `fast_search`), BM25 evaluation ([`crate::index::fts`]),
//! then deleted rows dropped, the SQL filter applied, the top `limit` rows
//! kept and their columns read, with `_score` (Float32) after them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::segments::{object_path, read_object, SegmentCache};
use super::{filter, project, read_rows, read_slice, Slice, ROW_ID};
use crate::error::{Error, Result};
use crate::format::index::{IndexEntry, IndexKind, IndexSegment};
use crate::format::manifest::Fragment;
use crate::format::Snapshot;
use crate::index::fts::inverted::{DOCS, META, POSTINGS};
use crate::index::fts::{
    Analyzer, ColumnView, FtsParams, FtsQuery, MemIndex, PostingList, Segment,
};

pub const SCORE: &str = "_score";

/// Rows a full-text search returns unless the caller says, as in the reference.
pub const DEFAULT_LIMIT: u64 = 10;

#[derive(Debug, Clone)]
pub struct FtsRequest {
    pub query: FtsQuery,
    pub limit: Option<u64>,
    pub offset: u64,
    pub filter: Option<String>,
    pub columns: Option<Vec<String>>,
    pub with_row_id: bool,
    /// Search only what the index covers (rows added since are skipped).
    pub fast_search: bool,
}

/// Whether a column type can hold text for a full-text index.
pub fn is_text(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The FTS indexes of a version, by column.
pub fn fts_indexes(snap: &Snapshot) -> BTreeMap<String, &IndexEntry> {
    snap.manifest
        .indices
        .iter()
        .filter(|e| e.kind == IndexKind::Fts)
        .filter_map(|e| e.columns.first().map(|c| (c.clone(), e)))
        .collect()
}

/// The params an FTS entry was built with.
pub fn entry_params(e: &IndexEntry) -> Result<FtsParams> {
    serde_json::from_value(e.params.clone()).map_err(|err| Error::Corrupt {
        table: "(index entry)".into(),
        reason: format!("full-text index '{}' has unreadable params: {err}", e.name),
    })
}

/// Adds one fragment's values of `column` to `m`, in row order.
pub(crate) async fn index_fragment(
    snap: &Snapshot,
    frag: &Fragment,
    column: usize,
    analyzer: &mut Analyzer,
    m: &mut MemIndex,
) -> Result<()> {
    for b in read_slice(snap, &Slice::whole(frag), &[column], true).await? {
        let rows = b
            .column_by_name(ROW_ID)
            .ok_or_else(|| Error::internal("row ids missing"))?
            .as_primitive::<arrow_array::types::UInt64Type>()
            .clone();
        let text = arrow_cast::cast(b.column(0), &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        for i in 0..b.num_rows() {
            let v = (!text.is_null(i)).then(|| text.value(i));
            m.add(analyzer, rows.value(i), v);
        }
    }
    Ok(())
}

static OPENED: SegmentCache<Segment> = SegmentCache::new();

/// A segment's dictionary and document lengths: read once per process
/// (segments are immutable, so the cache never goes stale).
pub(crate) async fn open_segment(snap: &Snapshot, seg: &IndexSegment) -> Result<Arc<Segment>> {
    OPENED
        .get_or_open(snap, seg, async {
            let (meta, docs) = futures::try_join!(
                read_object(snap, seg, META, "full-text"),
                read_object(snap, seg, DOCS, "full-text")
            )?;
            Segment::open(&meta, &docs)
        })
        .await
}

/// The posting lists of `terms` in one segment: one ranged GET per term
/// (object_store coalesces adjacent ranges); empty for absent terms.
async fn read_postings(
    snap: &Snapshot,
    seg: &IndexSegment,
    opened: &Segment,
    terms: &[String],
) -> Result<Vec<PostingList>> {
    let mut ranges = Vec::new();
    let mut at = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        if let Some(e) = opened.terms.get(t) {
            ranges.push(e.offset..e.offset + e.len as u64);
            at.push(i);
        }
    }
    let mut out = vec![PostingList::default(); terms.len()];
    if ranges.is_empty() {
        return Ok(out);
    }
    let p = snap.path(object_path(seg, POSTINGS, "full-text")?);
    let blocks = snap
        .store
        .store
        .get_ranges(&p, &ranges)
        .await
        .map_err(|e| snap.store.error(e, format!("Reading posting lists of {p}")))?;
    for (i, b) in at.into_iter().zip(blocks) {
        out[i] = PostingList::decode(&b, opened.with_position())?;
    }
    Ok(out)
}

/// Row id → score of every live row the query matches.
async fn score_rows(snap: &Snapshot, req: &FtsRequest) -> Result<HashMap<u64, f32>> {
    let schema = &snap.schema;
    let indexes = fts_indexes(snap);
    for c in req.query.columns() {
        if schema.field_with_name(&c).is_err() {
            return Err(Error::invalid_argument(format!(
                "full-text search: column '{}' does not exist; the table has: {}",
                crate::error::quote(&c),
                super::column_names(schema)
            )));
        }
    }
    let query = req
        .query
        .clone()
        .resolve(&indexes.keys().cloned().collect::<Vec<_>>())?;
    let mut views: HashMap<String, ColumnView> = HashMap::new();
    let mut segs: HashMap<String, Vec<&IndexSegment>> = HashMap::new();
    for col in query.columns() {
        let Some(entry) = indexes.get(&col) else {
            return Err(Error::invalid_argument(format!(
                "column '{col}' has no full-text index; create one with createIndex(\"{col}\", {{ config: Index.fts() }})"
            )));
        };
        let params = entry_params(entry)?;
        let mut analyzer = Analyzer::new(&params)?;
        let live: Vec<&IndexSegment> = entry
            .segments
            .iter()
            .filter(|s| !s.fragments.is_empty())
            .collect();
        let mut opened = Vec::with_capacity(live.len());
        for s in &live {
            opened.push(open_segment(snap, s).await?);
        }
        let unindexed = if req.fast_search {
            None
        } else {
            let idx = schema.index_of(&col)?;
            let mut m = MemIndex::new(params.with_position);
            for f in snap
                .manifest
                .fragments
                .iter()
                .filter(|f| !entry.covers(f.id))
            {
                index_fragment(snap, f, idx, &mut analyzer, &mut m).await?;
            }
            Some(m)
        };
        segs.insert(col.clone(), live);
        views.insert(
            col.clone(),
            ColumnView {
                analyzer,
                with_position: params.with_position,
                segments: opened,
                postings: HashMap::new(),
                unindexed,
            },
        );
    }
    let terms = query.terms(&mut views)?;
    let mut by_col: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (c, t) in &terms {
        by_col.entry(c.as_str()).or_default().push(t.clone());
    }
    for (col, ts) in by_col {
        let (Some(v), Some(ss)) = (views.get_mut(col), segs.get(col)) else {
            continue;
        };
        let mut per_seg = Vec::with_capacity(ss.len());
        for (s, o) in ss.iter().zip(v.segments.clone()) {
            per_seg.push(read_postings(snap, s, &o, &ts).await?);
        }
        for (k, t) in ts.iter().enumerate() {
            v.postings
                .insert(t.clone(), per_seg.iter().map(|p| p[k].clone()).collect());
        }
    }
    let mut scores = query.evaluate(&mut views)?;
    // Rows of fragments no longer in this version (compacted away, or a
    // segment's coverage of a data file that was rewritten) and deleted
    // rows are never returned.
    let frags: HashMap<u64, &Fragment> =
        snap.manifest.fragments.iter().map(|f| (f.id, f)).collect();
    let mut deleted: HashMap<u64, Vec<u32>> = HashMap::new();
    for f in snap
        .manifest
        .fragments
        .iter()
        .filter(|f| f.deletion.is_some())
    {
        if let Some(d) = &f.deletion {
            deleted.insert(
                f.id,
                crate::format::deletion::read(&snap.store, &snap.dir, d).await?,
            );
        }
    }
    scores.retain(|row, _| {
        let (fid, off) = (row >> 32, (row & 0xffff_ffff) as u32);
        frags.get(&fid).is_some_and(|f| (off as u64) < f.rows)
            && deleted
                .get(&fid)
                .is_none_or(|d| d.binary_search(&off).is_err())
    });
    Ok(scores)
}

/// Rows grouped by fragment (offsets ascending), in manifest order.
fn by_fragment<'a>(snap: &'a Snapshot, rows: &[u64]) -> Vec<(&'a Fragment, Vec<u32>)> {
    let mut m: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    for r in rows {
        m.entry(r >> 32).or_default().push((r & 0xffff_ffff) as u32);
    }
    snap.manifest
        .fragments
        .iter()
        .filter_map(|f| {
            m.remove(&f.id).map(|mut o| {
                o.sort_unstable();
                (f, o)
            })
        })
        .collect()
}

/// The rows among `rows` that pass `sql`.
async fn apply_filter(snap: &Snapshot, sql: &str, rows: Vec<u64>) -> Result<Vec<u64>> {
    let pred = filter::CompiledFilter::new(sql, &snap.schema)?;
    let groups = by_fragment(snap, &rows);
    let mut passed = Vec::new();
    for (f, offs) in groups {
        let b = read_rows(snap, f, pred.indices(), &offs, true).await?;
        let mask = pred.evaluate(&b)?;
        let b = arrow_select::filter::filter_record_batch(&b, &mask)?;
        passed.extend_from_slice(
            b.column_by_name(ROW_ID)
                .ok_or_else(|| Error::internal("row ids missing"))?
                .as_primitive::<arrow_array::types::UInt64Type>()
                .values(),
        );
    }
    Ok(passed)
}

/// Ranked row ids with their scores: filtered, best first (ties by row id),
/// `offset` skipped and the next `limit` kept (the reference 0.31's
/// `search(text).limit(5).offset(2)` returns ranks 2..6).
pub async fn ranked(snap: &Snapshot, req: &FtsRequest) -> Result<Vec<(u64, f32)>> {
    let scores = score_rows(snap, req).await?;
    let mut rows: Vec<(u64, f32)> = match &req.filter {
        Some(sql) if !sql.trim().is_empty() => {
            let keep = apply_filter(snap, sql, scores.keys().copied().collect()).await?;
            keep.into_iter().map(|r| (r, scores[&r])).collect()
        }
        _ => scores.into_iter().collect(),
    };
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let skip = (req.offset as usize).min(rows.len());
    let mut rows = rows.split_off(skip);
    rows.truncate(req.limit.unwrap_or(DEFAULT_LIMIT) as usize);
    Ok(rows)
}

/// Reads `columns` (plus `_score`, plus `_rowid` if asked) of ranked rows,
/// in rank order.
pub async fn materialize(
    snap: &Snapshot,
    columns: &Option<Vec<String>>,
    with_row_id: bool,
    ranked: &[(u64, f32)],
    score_field: Field,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (proj, idx) = project(&snap.schema, columns)?;
    let mut fields: Vec<Arc<Field>> = proj.fields().iter().cloned().collect();
    fields.push(Arc::new(score_field));
    if with_row_id {
        fields.push(Arc::new(Field::new(ROW_ID, DataType::UInt64, true)));
    }
    let out_schema = Arc::new(Schema::new(fields));
    if ranked.is_empty() {
        return Ok((out_schema.clone(), vec![RecordBatch::new_empty(out_schema)]));
    }
    let rows: Vec<u64> = ranked.iter().map(|r| r.0).collect();
    let groups = by_fragment(snap, &rows);
    let batches: Vec<RecordBatch> = futures::future::try_join_all(
        groups
            .iter()
            .map(|(f, offs)| read_rows(snap, f, &idx, offs, true)),
    )
    .await?;
    // Where each row landed, then one `take` into rank order.
    let mut pos: HashMap<u64, u32> = HashMap::new();
    let mut k = 0u32;
    for b in &batches {
        let ids = b
            .column_by_name(ROW_ID)
            .ok_or_else(|| Error::internal("row ids missing"))?
            .as_primitive::<arrow_array::types::UInt64Type>();
        for r in ids.values() {
            pos.insert(*r, k);
            k += 1;
        }
    }
    let all = arrow_select::concat::concat_batches(&batches[0].schema(), &batches)?;
    let take = arrow_array::UInt32Array::from(
        rows.iter()
            .map(|r| {
                pos.get(r)
                    .copied()
                    .ok_or_else(|| Error::internal("ranked row not read"))
            })
            .collect::<Result<Vec<_>>>()?,
    );
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(out_schema.fields().len());
    for f in proj.fields() {
        let c = all
            .column_by_name(f.name())
            .ok_or_else(|| Error::internal(format!("column {} missing", f.name())))?;
        cols.push(arrow_select::take::take(c.as_ref(), &take, None)?);
    }
    cols.push(Arc::new(Float32Array::from(
        ranked.iter().map(|r| r.1).collect::<Vec<_>>(),
    )));
    if with_row_id {
        cols.push(Arc::new(arrow_array::UInt64Array::from(rows)));
    }
    Ok((
        out_schema.clone(),
        vec![RecordBatch::try_new(out_schema, cols)?],
    ))
}

pub async fn search(snap: &Snapshot, req: &FtsRequest) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let ranked = ranked(snap, req).await?;
    materialize(
        snap,
        &req.columns,
        req.with_row_id,
        &ranked,
        Field::new(SCORE, DataType::Float32, true),
    )
    .await
}

pub const RELEVANCE: &str = "_relevance_score";

/// Reciprocal rank fusion of a vector search's and a full-text search's
/// results (both with `_rowid`, best first): a row scores the sum of
/// `1 / (k + rank)` (rank from 0) over the lists it is in. Rows come out
/// best first, ties in the order vector results then full-text-only
/// results, as the reference orders them; the columns are the full-text
/// batch's (its `_score` null for rows only the vector search found),
/// then `_relevance_score` (Float32).
pub fn rrf(k: f32, vec: &RecordBatch, fts: &RecordBatch) -> Result<RecordBatch> {
    let ids = |b: &RecordBatch, which: &str| -> Result<Vec<u64>> {
        let c = b.column_by_name(ROW_ID).ok_or_else(|| {
            Error::invalid_argument(format!(
                "rerankHybrid: the {which} results have no _rowid column"
            ))
        })?;
        let c = arrow_cast::cast(c, &DataType::UInt64)?;
        Ok(c.as_primitive::<arrow_array::types::UInt64Type>()
            .values()
            .to_vec())
    };
    let (vi, fi) = (ids(vec, "vector")?, ids(fts, "full-text")?);
    let mut score: HashMap<u64, f32> = HashMap::new();
    for list in [&vi, &fi] {
        for (rank, r) in list.iter().enumerate() {
            *score.entry(*r).or_insert(0.0) += 1.0 / (k + rank as f32);
        }
    }
    // Candidates: (source, index) in the order vector rows, then
    // full-text rows not already seen.
    let mut seen = std::collections::HashSet::new();
    let mut cand: Vec<(bool, usize, u64)> = Vec::new();
    for (i, r) in vi.iter().enumerate() {
        if seen.insert(*r) {
            cand.push((true, i, *r));
        }
    }
    for (i, r) in fi.iter().enumerate() {
        if seen.insert(*r) {
            cand.push((false, i, *r));
        }
    }
    cand.sort_by(|a, b| score[&b.2].total_cmp(&score[&a.2]));
    let schema = fts.schema();
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len() + 1);
    for f in schema.fields() {
        let from_fts = fts.column_by_name(f.name()).cloned();
        let from_vec = vec
            .column_by_name(f.name())
            .cloned()
            .filter(|_| f.name() != SCORE);
        let null = arrow_array::new_null_array(f.data_type(), 1);
        // Pick each row's value from its source, else null, via interleave.
        let fts_col =
            from_fts.unwrap_or_else(|| arrow_array::new_null_array(f.data_type(), fts.num_rows()));
        let vec_col = match from_vec {
            Some(c) if c.data_type() == f.data_type() => c,
            Some(c) => arrow_cast::cast(&c, f.data_type())?,
            None => arrow_array::new_null_array(f.data_type(), vec.num_rows()),
        };
        // Prefer the full-text row's values for rows both found (it has
        // `_score`); the vector row's otherwise.
        let fpos: HashMap<u64, usize> = fi.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        let picks: Vec<(usize, usize)> = cand
            .iter()
            .map(|(from_vec, i, r)| match fpos.get(r) {
                Some(j) => (0, *j),
                None if *from_vec => (1, *i),
                None => (2, 0),
            })
            .collect();
        cols.push(arrow_select::interleave::interleave(
            &[fts_col.as_ref(), vec_col.as_ref(), null.as_ref()],
            &picks,
        )?);
    }
    cols.push(Arc::new(Float32Array::from(
        cand.iter().map(|c| score[&c.2]).collect::<Vec<_>>(),
    )));
    let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(RELEVANCE, DataType::Float32, true)));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        cols,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(cand.len())),
    )?)
}
