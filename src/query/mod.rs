//! Reading a table version: projection, offset and limit over the data
//! files of a manifest, in manifest order.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::format::datafile::{read_column_batches, read_columns, RowSpec};
use crate::format::manifest::Fragment;
use crate::format::Snapshot;
pub use crate::format::{data_path, row_offsets, ROW_ID};
use crate::storage::StoreHandle;

pub mod ann;
pub mod cache;
pub mod explain;
pub(crate) mod fast;
pub mod filter;
pub mod fts;
pub mod prewarm;
pub mod prune;
pub mod scalar;
pub(crate) mod segments;
pub mod stream;
pub mod take;
pub mod vector;

/// What a query asks for.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Column names, in the order the caller wants them; `None` = all.
    pub columns: Option<Vec<String>>,
    pub limit: Option<u64>,
    pub offset: u64,
    /// A SQL filter (see [`filter`]).
    pub filter: Option<String>,
    /// Append a `_rowid` column: fragment id in the high 32 bits, row
    /// position within the fragment in the low 32.
    pub with_row_id: bool,
    /// `select({ alias: "sql expression" })`: computed output columns, in
    /// order (replaces `columns`).
    pub expressions: Option<Vec<(String, String)>>,
}

/// Timing spans on stderr when `STOWAGE_PROFILE_SPANS` is set (for
/// profiling a read path; off otherwise, one relaxed load per span).
pub(crate) fn span(label: &str, since: std::time::Instant) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("STOWAGE_PROFILE_SPANS").is_some()) {
        eprintln!(
            "[span] {label}: {:.3} ms",
            since.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// Data files read at once; enough to hide object-store latency.
pub(crate) const READ_AHEAD: usize = 4;

/// The projected schema and column indices for `columns`.
pub fn project(
    schema: &SchemaRef,
    columns: &Option<Vec<String>>,
) -> Result<(SchemaRef, Vec<usize>)> {
    let Some(cols) = columns else {
        return Ok((schema.clone(), (0..schema.fields().len()).collect()));
    };
    let mut idx = Vec::with_capacity(cols.len());
    for c in cols {
        let i = schema.index_of(c).map_err(|_| {
            Error::invalid_argument(format!(
                "Column '{c}' does not exist; the table has: {}",
                column_names(schema)
            ))
        })?;
        idx.push(i);
    }
    Ok((Arc::new(schema.project(&idx)?), idx))
}

/// The table's column names, for error messages.
pub fn column_names(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn with_row_id_field(schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(ROW_ID, DataType::UInt64, true)));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Rows of one fragment to read: `offset` rows skipped, at most `limit`.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    pub fragment: Fragment,
    pub offset: u64,
    pub limit: Option<u64>,
}

impl Slice {
    /// Every row of a data file.
    pub fn whole(fragment: &Fragment) -> Self {
        Slice {
            fragment: fragment.clone(),
            offset: 0,
            limit: None,
        }
    }
}

pub async fn scan(snap: &Snapshot, req: &ScanRequest) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let Some(exprs) = &req.expressions else {
        return scan_columns(snap, req).await;
    };
    // Computed columns: read the columns the expressions use, then evaluate.
    let (parsed, needed) = parse_expressions(&snap.schema, exprs)?;
    let inner = ScanRequest {
        columns: Some(needed),
        expressions: None,
        ..req.clone()
    };
    let (_, batches) = scan_columns(snap, &inner).await?;
    evaluate_expressions(&snap.schema, &parsed, batches, req.with_row_id)
}

/// Computed output columns: (alias, compiled expression), in order.
pub(crate) type Computed = Vec<(String, filter::CompiledFilter)>;

/// `select({ alias: "sql expression" })`: the expressions compiled against
/// the table schema, and the columns they read (at least one, so constant
/// expressions still see the row count).
pub(crate) fn parse_expressions(
    schema: &SchemaRef,
    exprs: &[(String, String)],
) -> Result<(Computed, Vec<String>)> {
    let mut parsed = Vec::with_capacity(exprs.len());
    let mut needed: Vec<String> = Vec::new();
    for (alias, sql) in exprs {
        let f = filter::CompiledFilter::new(sql, schema)?;
        for c in f.columns() {
            if !needed.contains(c) {
                needed.push(c.clone());
            }
        }
        parsed.push((alias.clone(), f));
    }
    if needed.is_empty() {
        if let Some(f) = schema.fields().first() {
            needed.push(f.name().clone());
        }
    }
    Ok((parsed, needed))
}

/// The computed columns of `batches` (read with the columns the
/// expressions need), plus `_rowid` when asked.
pub(crate) fn evaluate_expressions(
    schema: &SchemaRef,
    parsed: &[(String, filter::CompiledFilter)],
    batches: Vec<RecordBatch>,
    with_row_id: bool,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let mut out_schema: Option<SchemaRef> = None;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let mut fields = Vec::with_capacity(parsed.len() + 1);
        let mut cols = Vec::with_capacity(parsed.len() + 1);
        for (alias, f) in parsed {
            let v = f.evaluate_value(&b)?;
            fields.push(Field::new(alias, v.data_type().clone(), true));
            cols.push(v);
        }
        if with_row_id {
            if let Some(r) = b.column_by_name(ROW_ID) {
                fields.push(Field::new(ROW_ID, DataType::UInt64, true));
                cols.push(r.clone());
            }
        }
        let sch = out_schema
            .get_or_insert_with(|| Arc::new(Schema::new(fields)))
            .clone();
        out.push(RecordBatch::try_new_with_options(
            sch,
            cols,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
        )?);
    }
    let schema_out = match out_schema {
        Some(s) => s,
        None => {
            // No rows: types from evaluating on an empty batch.
            let empty = RecordBatch::new_empty(schema.clone());
            let mut fields = parsed
                .iter()
                .map(|(alias, f)| {
                    Ok(Field::new(
                        alias,
                        f.evaluate_value(&empty)?.data_type().clone(),
                        true,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            if with_row_id {
                fields.push(Field::new(ROW_ID, DataType::UInt64, true));
            }
            Arc::new(Schema::new(fields))
        }
    };
    Ok((schema_out, out))
}

async fn scan_columns(snap: &Snapshot, req: &ScanRequest) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (manifest, schema) = (&snap.manifest, &snap.schema);
    let (out_schema, out_idx) = project(schema, &req.columns)?;
    let out_schema = if req.with_row_id {
        with_row_id_field(&out_schema)
    } else {
        out_schema
    };
    let Some(pred) = filter::CompiledFilter::optional(req.filter.as_deref(), schema)? else {
        return scan_plain(snap, req, &out_schema, &out_idx).await;
    };
    // Filtered: evaluate the filter on its own columns first, then fetch the
    // output columns of the passing rows only (late materialization), and
    // stop once the limit is reached.
    let t0 = std::time::Instant::now();
    let cands = scalar::candidates(snap, &pred).await?;
    span("filter: candidates", t0);
    let cands = &cands;
    // No fragment needs to give more passing rows than offset + limit.
    let need = req.limit.map(|l| l.saturating_add(req.offset));
    let mut stream = futures::stream::iter(manifest.fragments.iter().cloned())
        .map(|frag| {
            let pred = pred.clone();
            async move {
                let offsets = match cands.as_ref().and_then(|c| c.get(&frag.id)) {
                    Some(c) => passing_offsets(snap, &frag, &pred, Some(c)).await?,
                    None => passing_offsets_upto(snap, &frag, &pred, need).await?,
                };
                Ok::<_, Error>((frag, offsets))
            }
        })
        .buffered(READ_AHEAD);
    let (mut skip, mut remaining) = (req.offset, req.limit.unwrap_or(u64::MAX));
    let mut out = Vec::new();
    while remaining > 0 {
        let Some(next) = stream.next().await else {
            break;
        };
        let (frag, offsets) = next?;
        let n = offsets.len() as u64;
        if skip >= n {
            skip -= n;
            continue;
        }
        let take = (n - skip).min(remaining);
        let chosen = &offsets[skip as usize..(skip + take) as usize];
        skip = 0;
        remaining -= take;
        let t1 = std::time::Instant::now();
        let batch = read_rows(snap, &frag, &out_idx, chosen, req.with_row_id).await?;
        span("filter: read chosen rows", t1);
        out.push(reorder(&batch, &out_schema)?);
    }
    Ok((out_schema, out))
}

/// An unfiltered scan: planned from the manifest's row counts when no file
/// has deletions, so files wholly outside offset/limit are never opened.
async fn scan_plain(
    snap: &Snapshot,
    req: &ScanRequest,
    out_schema: &SchemaRef,
    out_idx: &[usize],
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let manifest = &snap.manifest;
    let planned = manifest.fragments.iter().all(|f| f.deletion.is_none());
    let slices = if planned {
        plan_slices(&manifest.fragments, req.offset, req.limit)
    } else {
        manifest.fragments.iter().map(Slice::whole).collect()
    };
    let mut stream = futures::stream::iter(slices)
        .map(|slice| async move { read_slice(snap, &slice, out_idx, req.with_row_id).await })
        .buffered(READ_AHEAD);
    let (mut skip, mut remaining) = if planned {
        (0, u64::MAX)
    } else {
        (req.offset, req.limit.unwrap_or(u64::MAX))
    };
    let mut out = Vec::new();
    while let Some(batches) = stream.next().await {
        for batch in batches? {
            if remaining == 0 {
                break;
            }
            let n = batch.num_rows() as u64;
            if skip >= n {
                skip -= n;
                continue;
            }
            let take = (n - skip).min(remaining);
            let batch = batch.slice(skip as usize, take as usize);
            skip = 0;
            remaining -= take;
            out.push(reorder(&batch, out_schema)?);
        }
        if remaining == 0 {
            break;
        }
    }
    Ok((out_schema.clone(), out))
}

/// Counts the rows a filter passes, reading only the filter's columns.
pub async fn count(snap: &Snapshot, sql: &str) -> Result<u64> {
    let (manifest, schema) = (&snap.manifest, &snap.schema);
    let pred = filter::CompiledFilter::new(sql, schema)?;
    let slices: Vec<Slice> = manifest
        .fragments
        .iter()
        .map(|f| Slice {
            fragment: f.clone(),
            offset: 0,
            limit: None,
        })
        .collect();
    let cands = scalar::candidates(snap, &pred).await?;
    let cands = &cands;
    let counts: Vec<u64> = futures::stream::iter(slices)
        .map(|slice| {
            let pred = pred.clone();
            async move {
                if let Some(c) = cands.as_ref().and_then(|c| c.get(&slice.fragment.id)) {
                    return Ok(passing_offsets(snap, &slice.fragment, &pred, Some(c))
                        .await?
                        .len() as u64);
                }
                let mut n = 0u64;
                for b in read_slice(snap, &slice, pred.indices(), false).await? {
                    n += pred.evaluate(&b)?.true_count() as u64;
                }
                Ok::<u64, Error>(n)
            }
        })
        .buffered(READ_AHEAD)
        .try_collect()
        .await?;
    Ok(counts.into_iter().sum())
}

/// Offsets of the live rows of `frag` that pass `pred`: among `candidates`
/// (a scalar index's answer for one AND term) when given, else all rows.
pub(crate) async fn passing_offsets(
    snap: &Snapshot,
    frag: &Fragment,
    pred: &filter::CompiledFilter,
    candidates: Option<&Vec<u32>>,
) -> Result<Vec<u32>> {
    let mut offsets = Vec::new();
    match candidates {
        Some(c) => {
            let live: Vec<u32> = match deleted_offsets(snap, frag).await? {
                Some(del) => c
                    .iter()
                    .copied()
                    .filter(|o| del.binary_search(o).is_err())
                    .collect(),
                None => c.clone(),
            };
            if live.is_empty() {
                return Ok(offsets);
            }
            let b = read_rows(snap, frag, pred.indices(), &live, true).await?;
            let mask = pred.evaluate(&b)?;
            offsets.extend(row_offsets(&arrow_select::filter::filter_record_batch(
                &b, &mask,
            )?)?);
        }
        None => {
            for b in read_slice(snap, &Slice::whole(frag), pred.indices(), true).await? {
                let mask = pred.evaluate(&b)?;
                offsets.extend(row_offsets(&arrow_select::filter::filter_record_batch(
                    &b, &mask,
                )?)?);
            }
        }
    }
    Ok(offsets)
}

/// Offsets of the live rows of `frag` that pass `pred`, the first `need`
/// of them at most (all when `None`), in row order. With the column cache
/// on, the filter's columns are read whole (and cached: a repeated query
/// does not read them again) and evaluated slice by slice until `need` rows
/// passed. With it off (`columnCacheSize: 0`), row groups are read one
/// after another, those whose statistics rule the filter out skipped (see
/// [`prune`]), stopping once `need` rows passed: a `where(..).limit(n)`
/// decodes the filter's columns of the first row groups only.
pub(crate) async fn passing_offsets_upto(
    snap: &Snapshot,
    frag: &Fragment,
    pred: &filter::CompiledFilter,
    need: Option<u64>,
) -> Result<Vec<u32>> {
    if cache::for_store(&snap.store).enabled() {
        return match need {
            Some(need) => cached_passing_upto(snap, frag, pred, need).await,
            None => passing_offsets(snap, frag, pred, None).await,
        };
    }
    let t0 = std::time::Instant::now();
    let groups = prune::row_groups(snap, frag, pred).await?;
    span("filter: row groups", t0);
    let Some(groups) = groups else {
        return passing_offsets(snap, frag, pred, None).await;
    };
    if need.is_none() && groups.iter().all(|g| g.keep) {
        // Every row group is read anyway: whole columns, decoded in parallel.
        return passing_offsets(snap, frag, pred, None).await;
    }
    let need = need.unwrap_or(u64::MAX);
    let mut offsets = Vec::new();
    for g in groups.iter().filter(|g| g.keep) {
        if offsets.len() as u64 >= need {
            break;
        }
        let slice = Slice {
            fragment: frag.clone(),
            offset: g.start,
            limit: Some(g.rows),
        };
        let t1 = std::time::Instant::now();
        let batches = read_slice(snap, &slice, pred.indices(), true).await?;
        span("filter: read group", t1);
        let t1 = std::time::Instant::now();
        for b in batches {
            let mask = pred.evaluate(&b)?;
            offsets.extend(row_offsets(&arrow_select::filter::filter_record_batch(
                &b, &mask,
            )?)?);
        }
        span("filter: evaluate group", t1);
    }
    offsets.truncate(need.min(offsets.len() as u64) as usize);
    Ok(offsets)
}

/// [`passing_offsets_upto`] with the column cache on: the filter's whole
/// columns (from the cache, or read and cached) evaluated slice by slice
/// until `need` rows passed.
async fn cached_passing_upto(
    snap: &Snapshot,
    frag: &Fragment,
    pred: &filter::CompiledFilter,
    need: u64,
) -> Result<Vec<u32>> {
    const STEP: usize = 16 * 1024;
    let mut offsets = Vec::new();
    for b in read_slice(snap, &Slice::whole(frag), pred.indices(), true).await? {
        let mut start = 0;
        while start < b.num_rows() && (offsets.len() as u64) < need {
            let part = b.slice(start, STEP.min(b.num_rows() - start));
            let mask = pred.evaluate(&part)?;
            offsets.extend(row_offsets(&arrow_select::filter::filter_record_batch(
                &part, &mask,
            )?)?);
            start += STEP;
        }
    }
    offsets.truncate(need.min(offsets.len() as u64) as usize);
    Ok(offsets)
}

fn plan_slices(fragments: &[Fragment], offset: u64, limit: Option<u64>) -> Vec<Slice> {
    let mut skip = offset;
    let mut remaining = limit.unwrap_or(u64::MAX);
    let mut plan = Vec::new();
    for f in fragments {
        if remaining == 0 {
            break;
        }
        if skip >= f.rows {
            skip -= f.rows;
            continue;
        }
        let take = (f.rows - skip).min(remaining);
        let limit = (take < f.rows - skip).then_some(take);
        plan.push(Slice {
            fragment: f.clone(),
            offset: skip,
            limit,
        });
        remaining -= take;
        skip = 0;
    }
    plan
}

/// Picks the output columns by name, in the output's order.
fn reorder(batch: &RecordBatch, out: &SchemaRef) -> Result<RecordBatch> {
    let cols = out
        .fields()
        .iter()
        .map(|f| {
            batch
                .column_by_name(f.name())
                .cloned()
                .ok_or_else(|| Error::internal(format!("column {} missing", f.name())))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new_with_options(
        out.clone(),
        cols,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

fn cache_key(store: &StoreHandle, table_dir: &Path, frag: &Fragment) -> String {
    format!("{}|{}|{}", store.display_uri, table_dir, frag.path)
}

/// The cache key of a data file's columns, the cached columns among `idx`
/// (in `idx` order) and the indices that are not cached. Columns are cached
/// by field id, which survives renames and drops (a position would shift),
/// and used only when of the type the version reads (`alterColumns` may
/// have changed it, or a nested field's name).
fn cached_columns(
    snap: &Snapshot,
    frag: &Fragment,
    idx: &[usize],
) -> (String, Vec<Option<ArrayRef>>, Vec<usize>) {
    let cache = cache::for_store(&snap.store);
    let key = cache_key(&snap.store, &snap.dir, frag);
    let cols: Vec<Option<ArrayRef>> = idx
        .iter()
        .map(|i| {
            cache
                .get(&key, snap.column_id(*i) as usize)
                .filter(|c| c.data_type() == snap.schema.field(*i).data_type())
        })
        .collect();
    let missing = idx
        .iter()
        .zip(&cols)
        .filter(|(_, c)| c.is_none())
        .map(|(i, _)| *i)
        .collect();
    (key, cols, missing)
}

tokio::task_local! {
    /// Set (true) around a streamed scan: it reads what the column cache
    /// holds but does not fill it. A pass over a whole table would
    /// otherwise evict every other table's columns and hold hundreds of MB
    /// the caller iterated to avoid (see bench/README.md, streaming).
    pub(crate) static SCAN_RESISTANT: bool;
}

/// Whole-file columns, from the column cache or decoded (and cached,
/// unless [`SCAN_RESISTANT`]).
pub(crate) async fn whole_columns(
    snap: &Snapshot,
    frag: &Fragment,
    idx: &[usize],
) -> Result<Vec<ArrayRef>> {
    let (store, table_dir, _, schema) = snap.parts();
    let (key, mut cols, mut missing) = cached_columns(snap, frag, idx);
    let cache = cache::for_store(&snap.store);
    let fill = !SCAN_RESISTANT.try_with(|v| *v).unwrap_or(false);
    if fill && !missing.is_empty() {
        missing.extend(free_columns(snap, frag, &missing).await?);
    }
    if !missing.is_empty() {
        let batches = read_columns(
            store,
            table_dir,
            schema,
            &snap.field_ids,
            frag,
            &missing,
            RowSpec::default(),
        )
        .await?;
        for (k, i) in missing.iter().enumerate() {
            let parts: Vec<ArrayRef> = batches.iter().map(|b| b[k].clone()).collect();
            let col = crate::format::datafile::concat_parts(&parts, schema.field(*i).data_type())?;
            if fill {
                cache.put(&key, snap.column_id(*i) as usize, col.clone());
            }
            // Free columns (not asked for) only go to the cache.
            if let Some(pos) = idx.iter().position(|x| x == i) {
                cols[pos] = Some(col);
            }
        }
    }
    cols.into_iter()
        .map(|c| c.ok_or_else(|| Error::internal("column missing after read")))
        .collect()
}

/// Columns of `frag` (table-schema indices, not in `missing` and not
/// cached) that a whole-column read of `missing` fetches for nothing from
/// an object store: their chunks lie next to the ones read (see
/// [`crate::format::reader::free_roots`]). Decoded too, they answer the
/// next step of the query (a search's result columns, a filter's output)
/// from the column cache instead of another request. Only for object
/// stores (a local read of extra bytes is not free of decoding time) and
/// data files holding every column (no column files).
async fn free_columns(snap: &Snapshot, frag: &Fragment, missing: &[usize]) -> Result<Vec<usize>> {
    if snap.store.local_dir.is_some() {
        return Ok(Vec::new());
    }
    let Some((meta, root_of)) = file_roots(snap, frag).await else {
        return Ok(Vec::new());
    };
    let roots: Vec<usize> = missing.iter().filter_map(|i| root_of[*i]).collect();
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    let free = crate::format::reader::free_roots(meta.metadata(), &roots);
    let cache = cache::for_store(&snap.store);
    let key = cache_key(&snap.store, &snap.dir, frag);
    // Converted to the table's type by the read like any other column.
    Ok((0..snap.schema.fields().len())
        .filter(|i| !missing.contains(i))
        .filter(|i| root_of[*i].is_some_and(|r| free.contains(&r)))
        .filter(|i| !cache.contains(&key, snap.column_id(*i) as usize))
        .collect())
}

/// The footer of a data file holding every column of `frag` (no column
/// files) and, per table column, its root column in the file (`None`:
/// not stored). `None` when that does not apply or the footer can't be
/// read (the read proper then reports the error).
async fn file_roots(
    snap: &Snapshot,
    frag: &Fragment,
) -> Option<(
    parquet::arrow::arrow_reader::ArrowReaderMetadata,
    Vec<Option<usize>>,
)> {
    use crate::format::{fields, reader};
    if !frag.columns.is_empty() {
        return None;
    }
    let path = snap.path(&frag.path);
    let meta = reader::metadata(&snap.store, &path, frag.size_bytes)
        .await
        .ok()?;
    let file_schema = meta.schema().clone();
    let file_ids = match frag.fields.as_deref() {
        Some(l) => l.to_vec(),
        None => fields::default_ids(&file_schema),
    };
    let stored = fields::tree(&file_schema, &file_ids).ok()?;
    let table = fields::tree(&snap.schema, &snap.field_ids).ok()?;
    let roots = table
        .iter()
        .map(|t| stored.iter().position(|s| s.id == t.id))
        .collect();
    Some((meta, roots))
}

/// Columns among `missing` of which the rows `offsets` would need most of
/// the bytes anyway (their pages cover half the column or more, as the
/// re-ranking of an index's candidates does): read whole into the column
/// cache instead, for the same bytes, so the next rows of them (the
/// search's winners, another query) need no request.
async fn mostly_whole(
    snap: &Snapshot,
    frag: &Fragment,
    missing: &[usize],
    offsets: &[u32],
) -> Vec<usize> {
    let Some((meta, root_of)) = file_roots(snap, frag).await else {
        return Vec::new();
    };
    let sel = row_selection(offsets, frag.rows);
    missing
        .iter()
        .copied()
        .filter(|i| {
            root_of[*i].is_some_and(|r| {
                crate::format::reader::selected_share(meta.metadata(), r, &sel) >= 0.5
            })
        })
        .collect()
}

fn sorted_unique(idx: &[usize]) -> Vec<usize> {
    let mut sorted = idx.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

async fn deleted_offsets(snap: &Snapshot, frag: &Fragment) -> Result<Option<Vec<u32>>> {
    let (store, table_dir, _, _) = snap.parts();
    match &frag.deletion {
        Some(d) => Ok(Some(
            crate::format::deletion::read(store, table_dir, d).await?,
        )),
        None => Ok(None),
    }
}

/// Reads columns `idx` (table-schema indices) of a slice of one data file:
/// one batch with the table's field definitions (in table order), plus
/// `_rowid` if asked, without the rows deleted since the file was written.
pub(crate) async fn read_slice(
    snap: &Snapshot,
    slice: &Slice,
    idx: &[usize],
    with_row_id: bool,
) -> Result<Vec<RecordBatch>> {
    let (store, table_dir, _, schema) = snap.parts();
    let frag = &slice.fragment;
    let sorted = sorted_unique(idx);
    let read_schema = Arc::new(schema.project(&sorted)?);
    let read_schema = if with_row_id {
        with_row_id_field(&read_schema)
    } else {
        read_schema
    };
    let whole = slice.offset == 0 && slice.limit.is_none();
    let len = slice
        .limit
        .unwrap_or(frag.rows - slice.offset.min(frag.rows))
        .min(frag.rows - slice.offset.min(frag.rows));
    // One batch per decoded row group when the column cache is not used
    // (no concatenation: one copy of every value fewer).
    let parts: Vec<Vec<ArrayRef>> = if whole && cache::for_store(&snap.store).enabled() {
        vec![whole_columns(snap, frag, &sorted).await?]
    } else {
        read_column_batches(
            store,
            table_dir,
            schema,
            &snap.field_ids,
            frag,
            &sorted,
            RowSpec {
                selection: None,
                offset: slice.offset,
                limit: slice.limit,
            },
        )
        .await?
    };
    let deleted = deleted_offsets(snap, frag).await?;
    let mut out = Vec::with_capacity(parts.len());
    let mut first = slice.offset;
    for mut cols in parts {
        let n = cols.first().map_or(len as usize, |c| c.len()) as u64;
        if with_row_id {
            let base = frag.id << 32;
            cols.push(Arc::new(arrow_array::UInt64Array::from_iter_values(
                (first..first + n).map(|r| base | r),
            )));
        }
        let batch = RecordBatch::try_new_with_options(
            read_schema.clone(),
            cols,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(n as usize)),
        )?;
        // Rows deleted since the file was written are dropped here, so every
        // reader above sees only live rows.
        out.push(match &deleted {
            Some(del) => {
                let keep: arrow_array::BooleanArray = (first..first + n)
                    .map(|r| Some(del.binary_search(&(r as u32)).is_err()))
                    .collect();
                arrow_select::filter::filter_record_batch(&batch, &keep)?
            }
            None => batch,
        });
        first += n;
    }
    Ok(out)
}

/// Reads columns `idx` of the rows at `offsets` (sorted) of one data file:
/// from the column cache when it has them, otherwise decoding only those
/// rows. The batch carries the table's field definitions (in table order).
pub(crate) async fn read_rows(
    snap: &Snapshot,
    frag: &Fragment,
    idx: &[usize],
    offsets: &[u32],
    with_row_id: bool,
) -> Result<RecordBatch> {
    let (store, table_dir, _, schema) = snap.parts();
    let sorted = sorted_unique(idx);
    let read_schema = Arc::new(schema.project(&sorted)?);
    let read_schema = if with_row_id {
        with_row_id_field(&read_schema)
    } else {
        read_schema
    };
    let (key, cached, missing) = cached_columns(snap, frag, &sorted);
    let take = arrow_array::UInt32Array::from(offsets.to_vec());
    // Columns not cached whole: the rows cache (the same rows read before),
    // else decoded, and kept there for a repeat of the query.
    let cache = cache::for_store(&snap.store);
    let by_rows = cache.enabled() && !offsets.is_empty() && !missing.is_empty();
    let fill = by_rows && !SCAN_RESISTANT.try_with(|v| *v).unwrap_or(false);
    let offs: Arc<[u32]> = if by_rows {
        Arc::from(offsets)
    } else {
        Arc::from(Vec::new())
    };
    let mut got: std::collections::HashMap<usize, ArrayRef> = std::collections::HashMap::new();
    if by_rows {
        for i in &missing {
            let hit = cache
                .get_rows(&key, snap.column_id(*i) as usize, &offs)
                .filter(|c| c.data_type() == schema.field(*i).data_type());
            if let Some(c) = hit {
                got.insert(*i, c);
            }
        }
    }
    let mut to_read: Vec<usize> = missing
        .iter()
        .copied()
        .filter(|i| !got.contains_key(i))
        .collect();
    if fill && !to_read.is_empty() {
        let whole = mostly_whole(snap, frag, &to_read, offsets).await;
        if !whole.is_empty() {
            let cols = whole_columns(snap, frag, &whole).await?;
            for (i, col) in whole.iter().zip(cols) {
                got.insert(*i, arrow_select::take::take(col.as_ref(), &take, None)?);
            }
            to_read.retain(|i| !whole.contains(i));
        }
    }
    if !to_read.is_empty() && !offsets.is_empty() {
        let sel = row_selection(offsets, frag.rows);
        let batches = read_columns(
            store,
            table_dir,
            schema,
            &snap.field_ids,
            frag,
            &to_read,
            RowSpec {
                selection: Some(sel),
                ..Default::default()
            },
        )
        .await?;
        for (k, i) in to_read.iter().enumerate() {
            let col = crate::format::datafile::concat_parts(
                &batches.iter().map(|b| b[k].clone()).collect::<Vec<_>>(),
                schema.field(*i).data_type(),
            )?;
            if fill {
                cache.put_rows(&key, snap.column_id(*i) as usize, &offs, col.clone());
            }
            got.insert(*i, col);
        }
    }
    let mut cols = Vec::with_capacity(sorted.len() + 1);
    for (k, c) in cached.into_iter().enumerate() {
        cols.push(match c {
            Some(full) => arrow_select::take::take(full.as_ref(), &take, None)?,
            None if offsets.is_empty() => {
                arrow_array::new_empty_array(schema.field(sorted[k]).data_type())
            }
            None => got
                .remove(&sorted[k])
                .ok_or_else(|| Error::internal("column missing after read"))?,
        });
    }
    if with_row_id {
        let base = frag.id << 32;
        cols.push(Arc::new(arrow_array::UInt64Array::from_iter_values(
            offsets.iter().map(|o| base | *o as u64),
        )));
    }
    Ok(RecordBatch::try_new_with_options(
        read_schema,
        cols,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(offsets.len())),
    )?)
}

/// A Parquet row selection for sorted row offsets.
fn row_selection(offsets: &[u32], rows: u64) -> parquet::arrow::arrow_reader::RowSelection {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for &o in offsets {
        let o = o as usize;
        match ranges.last_mut() {
            Some(r) if r.end == o => r.end = o + 1,
            _ => ranges.push(o..o + 1),
        }
    }
    parquet::arrow::arrow_reader::RowSelection::from_consecutive_ranges(
        ranges.into_iter(),
        rows as usize,
    )
}

/// An empty result with the right schema.
pub fn empty(schema: &Schema) -> RecordBatch {
    RecordBatch::new_empty(Arc::new(schema.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(id: u64, rows: u64) -> Fragment {
        Fragment {
            id,
            path: format!("data/{id}.parquet"),
            rows,
            size_bytes: 1,
            ..Default::default()
        }
    }

    fn shape(plan: &[Slice]) -> Vec<(u64, u64, Option<u64>)> {
        plan.iter()
            .map(|s| (s.fragment.id, s.offset, s.limit))
            .collect()
    }

    #[test]
    fn slices_skip_whole_files_outside_offset_and_limit() {
        let files = [frag(0, 10), frag(1, 10), frag(2, 10)];
        assert_eq!(
            shape(&plan_slices(&files, 0, None)),
            vec![(0, 0, None), (1, 0, None), (2, 0, None)]
        );
        // Offset 15, limit 10: the second half of file 1, the first half of file 2.
        assert_eq!(
            shape(&plan_slices(&files, 15, Some(10))),
            vec![(1, 5, None), (2, 0, Some(5))]
        );
        assert_eq!(shape(&plan_slices(&files, 30, None)), vec![]);
        assert_eq!(shape(&plan_slices(&files, 0, Some(0))), vec![]);
        assert_eq!(shape(&plan_slices(&files, 9, Some(1))), vec![(0, 9, None)]);
    }

    #[test]
    fn row_selection_covers_exactly_the_offsets() {
        let sel = row_selection(&[0, 1, 2, 7, 9], 12);
        let picked: Vec<usize> = sel
            .iter()
            .scan(0usize, |pos, s| {
                let start = *pos;
                *pos += s.row_count;
                Some((start, s.row_count, s.skip))
            })
            .filter(|(_, _, skip)| !skip)
            .flat_map(|(start, n, _)| start..start + n)
            .collect();
        assert_eq!(picked, vec![0, 1, 2, 7, 9]);
        let total: usize = sel.iter().map(|s| s.row_count).sum();
        assert_eq!(total, 12);
    }
}
