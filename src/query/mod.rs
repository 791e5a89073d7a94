//! Reading a table version: projection, offset and limit over the data
//! files of a manifest, in manifest order.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
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

/// What a query asks for.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Column names, in the order the caller wants them; `None` = all.
    pub columns: Option<Vec<String>>,
    pub limit: Option<u64>,
    pub offset: u64,
}

const BATCH_ROWS: usize = 8192;
/// Data files read at once; enough to hide object-store latency.
const READ_AHEAD: usize = 4;

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

pub async fn scan(
    store: &StoreHandle,
    table_dir: &Path,
    manifest: &Manifest,
    schema: &SchemaRef,
    req: &ScanRequest,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (out_schema, indices) = project(schema, &req.columns)?;
    // Plan which rows of which file we need, from the manifest's row counts:
    // files wholly before the offset or after the limit are never opened.
    let mut skip = req.offset;
    let mut remaining = req.limit.unwrap_or(u64::MAX);
    let mut plan: Vec<(Fragment, u64, Option<u64>)> = Vec::new();
    for f in &manifest.fragments {
        if remaining == 0 {
            break;
        }
        if skip >= f.rows {
            skip -= f.rows;
            continue;
        }
        let take = (f.rows - skip).min(remaining);
        let limit = (take < f.rows - skip).then_some(take);
        plan.push((f.clone(), skip, limit));
        remaining -= take;
        skip = 0;
    }
    let batches: Vec<Vec<RecordBatch>> = futures::stream::iter(plan)
        .map(|(frag, offset, limit)| {
            let indices = indices.clone();
            let out_schema = out_schema.clone();
            async move {
                read_fragment(
                    store,
                    table_dir,
                    &frag,
                    &indices,
                    offset,
                    limit,
                    &out_schema,
                )
                .await
            }
        })
        .buffered(READ_AHEAD)
        .try_collect()
        .await?;
    Ok((out_schema, batches.into_iter().flatten().collect()))
}

async fn read_fragment(
    store: &StoreHandle,
    table_dir: &Path,
    frag: &Fragment,
    indices: &[usize],
    offset: u64,
    limit: Option<u64>,
    out_schema: &SchemaRef,
) -> Result<Vec<RecordBatch>> {
    let path = data_path(table_dir, &frag.path);
    #[allow(deprecated)]
    let reader =
        ParquetObjectReader::new(store.store.clone(), path.clone()).with_file_size(frag.size_bytes);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| map_parquet(store, e, &path))?;
    // Parquet projects in file order; we reorder to the caller's order below.
    let mut sorted: Vec<usize> = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mask = ProjectionMask::roots(builder.parquet_schema(), sorted.iter().copied());
    let mut builder = builder.with_projection(mask).with_batch_size(BATCH_ROWS);
    if offset > 0 {
        builder = builder.with_offset(offset as usize);
    }
    if let Some(l) = limit {
        builder = builder.with_limit(l as usize);
    }
    let stream = builder.build().map_err(|e| map_parquet(store, e, &path))?;
    let batches: Vec<RecordBatch> = stream
        .try_collect()
        .await
        .map_err(|e| map_parquet(store, e, &path))?;
    let order: Vec<usize> = indices
        .iter()
        .map(|i| sorted.binary_search(i).unwrap_or(0))
        .collect();
    batches
        .into_iter()
        .map(|b| {
            let b = b.project(&order)?;
            // The stored schema (with its metadata) is the truth, not the file's copy.
            Ok(RecordBatch::try_new(
                out_schema.clone(),
                b.columns().to_vec(),
            )?)
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
