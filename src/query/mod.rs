//! Reading a table version: projection, offset and limit over the data
//! files of a manifest, in manifest order.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
// ParquetObjectReader is deprecated upstream in favour of hand-written
// AsyncFileReaders; it still does exactly what we need (ranged GETs through
// object_store), so we keep it until a replacement lands.
#[allow(deprecated)]
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::arrow::ProjectionMask;

use crate::error::{Error, Result};
use crate::storage::StoreHandle;
use crate::table::manifest::{Fragment, Manifest};

pub mod filter;
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
}

pub const ROW_ID: &str = "_rowid";
const BATCH_ROWS: usize = 8192;
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
                schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        idx.push(i);
    }
    Ok((Arc::new(schema.project(&idx)?), idx))
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

pub async fn scan(
    store: &StoreHandle,
    table_dir: &Path,
    manifest: &Manifest,
    schema: &SchemaRef,
    req: &ScanRequest,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (out_schema, out_idx) = project(schema, &req.columns)?;
    let out_schema = if req.with_row_id {
        with_row_id_field(&out_schema)
    } else {
        out_schema
    };
    let filter = match &req.filter {
        Some(sql) if !sql.trim().is_empty() => {
            let e = filter::parse(sql)?;
            filter::check_columns(sql, &e, schema)?;
            Some((sql.as_str(), e))
        }
        _ => None,
    };
    // Columns to read: the output's plus the filter's.
    let mut read_idx = out_idx.clone();
    if let Some((_, e)) = &filter {
        let mut cols = Vec::new();
        filter::columns(e, &mut cols);
        for c in cols {
            let i = schema.index_of(&c)?;
            if !read_idx.contains(&i) {
                read_idx.push(i);
            }
        }
    }
    // Without a filter or deletions, the manifest's row counts locate offset
    // and limit: files wholly outside them are never opened.
    let planned = filter.is_none() && manifest.fragments.iter().all(|f| f.deletion.is_none());
    let slices = if planned {
        plan_slices(&manifest.fragments, req.offset, req.limit)
    } else {
        manifest
            .fragments
            .iter()
            .map(|f| Slice {
                fragment: f.clone(),
                offset: 0,
                limit: None,
            })
            .collect()
    };
    let mut stream = futures::stream::iter(slices)
        .map(|slice| {
            let read_idx = read_idx.clone();
            let schema = schema.clone();
            async move {
                read_slice(
                    store,
                    table_dir,
                    &schema,
                    &slice,
                    &read_idx,
                    req.with_row_id,
                )
                .await
            }
        })
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
            let batch = match &filter {
                Some((sql, e)) => {
                    let mask = filter::evaluate(sql, e, &batch)?;
                    arrow_select::filter::filter_record_batch(&batch, &mask)?
                }
                None => batch,
            };
            let n = batch.num_rows() as u64;
            if skip >= n {
                skip -= n;
                continue;
            }
            let take = (n - skip).min(remaining);
            let batch = batch.slice(skip as usize, take as usize);
            skip = 0;
            remaining -= take;
            out.push(reorder(&batch, &out_schema)?);
        }
        if remaining == 0 {
            break;
        }
    }
    Ok((out_schema, out))
}

/// Counts the rows a filter passes, reading only the filter's columns.
pub async fn count(
    store: &StoreHandle,
    table_dir: &Path,
    manifest: &Manifest,
    schema: &SchemaRef,
    sql: &str,
) -> Result<u64> {
    let e = filter::parse(sql)?;
    filter::check_columns(sql, &e, schema)?;
    let mut cols = Vec::new();
    filter::columns(&e, &mut cols);
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| schema.index_of(c))
        .collect::<Result<_, _>>()?;
    let slices: Vec<Slice> = manifest
        .fragments
        .iter()
        .map(|f| Slice {
            fragment: f.clone(),
            offset: 0,
            limit: None,
        })
        .collect();
    let counts: Vec<u64> = futures::stream::iter(slices)
        .map(|slice| {
            let (idx, e) = (idx.clone(), e.clone());
            let schema = schema.clone();
            async move {
                let mut n = 0u64;
                for b in read_slice(store, table_dir, &schema, &slice, &idx, false).await? {
                    n += filter::evaluate(sql, &e, &b)?.true_count() as u64;
                }
                Ok::<u64, Error>(n)
            }
        })
        .buffered(READ_AHEAD)
        .try_collect()
        .await?;
    Ok(counts.into_iter().sum())
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

/// Reads columns `idx` (table-schema indices) of a slice of one data file.
/// Batches carry the table's field definitions, plus `_rowid` if asked.
pub(crate) async fn read_slice(
    store: &StoreHandle,
    table_dir: &Path,
    schema: &SchemaRef,
    slice: &Slice,
    idx: &[usize],
    with_row_id: bool,
) -> Result<Vec<RecordBatch>> {
    let frag = &slice.fragment;
    let path = data_path(table_dir, &frag.path);
    #[allow(deprecated)]
    let reader =
        ParquetObjectReader::new(store.store.clone(), path.clone()).with_file_size(frag.size_bytes);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| map_parquet(store, e, &path))?;
    let mut sorted: Vec<usize> = idx.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mask = ProjectionMask::roots(builder.parquet_schema(), sorted.iter().copied());
    let mut builder = builder.with_projection(mask).with_batch_size(BATCH_ROWS);
    if slice.offset > 0 {
        builder = builder.with_offset(slice.offset as usize);
    }
    if let Some(l) = slice.limit {
        builder = builder.with_limit(l as usize);
    }
    let stream = builder.build().map_err(|e| map_parquet(store, e, &path))?;
    let batches: Vec<RecordBatch> = stream
        .try_collect()
        .await
        .map_err(|e| map_parquet(store, e, &path))?;
    // The stored schema (with its metadata) is the truth, not the file's copy.
    let read_schema = Arc::new(schema.project(&sorted)?);
    let read_schema = if with_row_id {
        with_row_id_field(&read_schema)
    } else {
        read_schema
    };
    // Rows deleted since the file was written are dropped here, so every
    // reader above sees only live rows.
    let deleted: Option<Vec<u32>> = match &frag.deletion {
        Some(d) => Some(crate::table::deletion::read(store, table_dir, d).await?),
        None => None,
    };
    let mut row = slice.offset;
    batches
        .into_iter()
        .map(|b| {
            let first = row;
            let n = b.num_rows() as u64;
            row += n;
            let mut cols = b
                .columns()
                .iter()
                .zip(read_schema.fields())
                .map(|(c, f)| crate::table::vectors::from_storage(c.clone(), f.data_type()))
                .collect::<Result<Vec<_>>>()?;
            if with_row_id {
                let base = frag.id << 32;
                let ids: arrow_array::UInt64Array =
                    (first..first + n).map(|r| Some(base | r)).collect();
                cols.push(Arc::new(ids));
            }
            let batch = RecordBatch::try_new_with_options(
                read_schema.clone(),
                cols,
                &arrow_array::RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
            )?;
            match &deleted {
                Some(del) => {
                    let keep: arrow_array::BooleanArray = (first..first + n)
                        .map(|r| Some(del.binary_search(&(r as u32)).is_err()))
                        .collect();
                    Ok(arrow_select::filter::filter_record_batch(&batch, &keep)?)
                }
                None => Ok(batch),
            }
        })
        .collect()
}

pub fn data_path(table_dir: &Path, rel: &str) -> Path {
    rel.split('/')
        .fold(table_dir.clone(), |p, part| p.join(part))
}

fn map_parquet(store: &StoreHandle, e: parquet::errors::ParquetError, path: &Path) -> Error {
    match e {
        parquet::errors::ParquetError::External(inner) => {
            match inner.downcast::<object_store::Error>() {
                Ok(os) => store.error(*os, format!("Reading data file {path}")),
                Err(other) => Error::internal(format!(
                    "reading {path}: {}",
                    store.redact(&other.to_string())
                )),
            }
        }
        other => Error::internal(format!("reading {path}: {other}")),
    }
}

/// An empty result with the right schema.
pub fn empty(schema: &Schema) -> RecordBatch {
    RecordBatch::new_empty(Arc::new(schema.clone()))
}
