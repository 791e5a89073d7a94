//! Data files: plain Parquet, written and read here.
//!
//! Writes: small files go up in one PUT; large ones stream through a multipart upload whose parts are cut as the encoder
//! produces bytes, so memory stays near one row group plus the parts in
//! flight. A failed write aborts its upload: no part is left behind.

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use bytes::Bytes;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload, UploadPart};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::storage::cancel::InFlight;
use crate::storage::StoreHandle;

use super::fields::{self, Node};
use super::manifest::{ColumnFile, Fragment};
use super::{data_path, DATA_DIR};

const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Rows per data page of a vector column (and the writer's batch size, the
/// granularity at which page limits are checked): a read of a few selected
/// rows fetches and decodes pages this small (64 KiB of 128-d float
/// vectors) instead of 1 MiB ones.
const VECTOR_PAGE_ROWS: usize = 128;

fn writer_props(schema: &SchemaRef) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_write_batch_size(VECTOR_PAGE_ROWS)
        .set_compression(Compression::SNAPPY);
    // Embedding vectors are incompressible floats: plain, uncompressed pages
    // decode fastest and lose nothing.
    for f in schema.fields() {
        if let DataType::FixedSizeList(child, _) | DataType::List(child) = f.data_type() {
            if child.data_type().is_floating() {
                let col = ColumnPath::new(vec![
                    f.name().clone(),
                    child.name().clone(),
                    child.name().clone(),
                ]);
                let col2 =
                    ColumnPath::new(vec![f.name().clone(), "list".into(), child.name().clone()]);
                for c in [col, col2] {
                    b = b
                        .set_column_compression(c.clone(), Compression::UNCOMPRESSED)
                        .set_column_dictionary_enabled(c, false);
                }
            }
        }
    }
    for f in schema.fields() {
        if let DataType::FixedSizeBinary(_) = f.data_type() {
            let c = ColumnPath::new(vec![f.name().clone()]);
            b = b
                .set_column_compression(c.clone(), Compression::UNCOMPRESSED)
                .set_column_dictionary_enabled(c.clone(), false)
                .set_column_data_page_row_count_limit(c.clone(), VECTOR_PAGE_ROWS)
                .set_column_statistics_enabled(
                    c,
                    parquet::file::properties::EnabledStatistics::None,
                );
        }
    }
    b.build()
}

/// A multipart upload with at most `concurrency` parts in flight. Unlike
/// object_store's `WriteMultipart`, it can always be aborted, even after a
/// failed completion.
struct Upload {
    inner: Box<dyn MultipartUpload>,
    parts: FuturesUnordered<UploadPart>,
    pending: Vec<Bytes>,
    pending_len: usize,
    part_size: usize,
    concurrency: usize,
}

impl Upload {
    async fn push(&mut self, mut bytes: Bytes) -> object_store::Result<()> {
        while !bytes.is_empty() {
            let room = self.part_size - self.pending_len;
            let take = bytes.split_to(room.min(bytes.len()));
            self.pending_len += take.len();
            self.pending.push(take);
            if self.pending_len >= self.part_size {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> object_store::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        while self.parts.len() >= self.concurrency {
            if let Some(r) = self.parts.next().await {
                r?;
            }
        }
        let payload: PutPayload = std::mem::take(&mut self.pending).into_iter().collect();
        self.pending_len = 0;
        self.parts.push(self.inner.put_part(payload));
        Ok(())
    }

    async fn finish(&mut self) -> object_store::Result<()> {
        self.flush().await?;
        while let Some(r) = self.parts.next().await {
            r?;
        }
        self.inner.complete().await.map(|_| ())
    }

    async fn abort(mut self) -> object_store::Result<()> {
        // Parts still uploading are dropped (cancelled) first.
        self.parts.clear();
        self.inner.abort().await
    }
}

/// Writes `batches` as one Parquet file at `path`; returns its size.
/// Files larger than one part stream through a multipart upload that is
/// aborted on any error and when the handle's scope is cancelled (close(),
/// SIGINT/SIGTERM): no parts are left behind.
pub async fn write_data_file(
    store: &StoreHandle,
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<u64> {
    let _in_flight = InFlight::start();
    let mut upload: Option<Upload> = None;
    let work = encode_and_upload(store, path, schema, batches, &mut upload);
    let result = tokio::select! {
        r = work => r,
        _ = store.scope.cancelled() => Err(Error::Closed { what: format!("The table handle writing {path}") }),
    };
    if result.is_err() {
        if let Some(up) = upload {
            if let Err(e) = up.abort().await {
                tracing::warn!(
                    "aborting the upload of {path} failed: {}",
                    store.redact(&e.to_string())
                );
            }
        }
    }
    result
}

async fn encode_and_upload(
    store: &StoreHandle,
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
    upload: &mut Option<Upload>,
) -> Result<u64> {
    let (schema, storage) = super::vectors::storage_batches(&schema, batches)?;
    let part_size = store.upload.part_size;
    let cap = part_size + (part_size >> 2);
    let mut writer = ArrowWriter::try_new(
        Vec::with_capacity(cap),
        schema.clone(),
        Some(writer_props(&schema)),
    )?;
    let mut written = 0u64;
    // Write in slices of about one part, closing a row group whenever a
    // part's worth is buffered, so bytes reach the upload as they are made.
    let pieces = storage.iter().flat_map(|b| {
        let per_row = (b.get_array_memory_size() / b.num_rows().max(1)).max(1);
        let rows = (part_size / per_row).max(1);
        (0..b.num_rows())
            .step_by(rows)
            .map(move |start| b.slice(start, rows.min(b.num_rows() - start)))
    });
    for batch in pieces {
        writer.write(&batch)?;
        if writer.in_progress_size() >= part_size {
            writer.flush()?;
        }
        if writer.inner().len() >= part_size {
            let chunk = std::mem::replace(writer.inner_mut(), Vec::with_capacity(cap));
            written += chunk.len() as u64;
            if upload.is_none() {
                let inner = store
                    .store
                    .put_multipart(path)
                    .await
                    .map_err(|e| store.error(e, format!("Starting upload of {path}")))?;
                *upload = Some(Upload {
                    inner,
                    parts: FuturesUnordered::new(),
                    pending: Vec::new(),
                    pending_len: 0,
                    part_size,
                    concurrency: store.upload.concurrency,
                });
            }
            if let Some(up) = upload.as_mut() {
                // Handed over whole: no copy into the upload's buffer.
                up.push(Bytes::from(chunk))
                    .await
                    .map_err(|e| store.error(e, format!("Uploading {path}")))?;
            }
        }
    }
    let tail = std::mem::take(writer.inner_mut());
    writer.finish()?;
    let mut rest = tail;
    rest.extend_from_slice(writer.inner());
    written += rest.len() as u64;
    match upload.as_mut() {
        None => {
            store
                .store
                .put(path, PutPayload::from(rest))
                .await
                .map_err(|e| store.error(e, format!("Writing {path}")))?;
        }
        Some(up) => {
            up.push(Bytes::from(rest))
                .await
                .map_err(|e| store.error(e, format!("Uploading {path}")))?;
            up.finish()
                .await
                .map_err(|e| store.error(e, format!("Completing upload of {path}")))?;
            // Completed: nothing left to abort.
            *upload = None;
        }
    }
    Ok(written)
}

/// Which rows of a data file to decode.
#[derive(Default)]
pub struct RowSpec {
    pub selection: Option<parquet::arrow::arrow_reader::RowSelection>,
    pub offset: u64,
    pub limit: Option<u64>,
}

/// Rows per decoded batch.
const BATCH_ROWS: usize = 8192;

/// Decodes columns `idx` (table-schema indices, sorted, unique) of the rows
/// `rows` selects of one fragment, converted to the table's current field
/// definitions. `ids` are the table schema's field ids (pre-order): each
/// column is found by id in the fragment's column files or its base file
/// (see [`super::fields`]); a column no file holds (added as all-null)
/// reads as nulls. One `Vec<ArrayRef>` (one batch holding every row).
pub async fn read_columns(
    store: &StoreHandle,
    table_dir: &Path,
    schema: &SchemaRef,
    ids: &[i32],
    frag: &Fragment,
    idx: &[usize],
    rows: RowSpec,
) -> Result<Vec<Vec<ArrayRef>>> {
    let batches = read_column_batches(store, table_dir, schema, ids, frag, idx, rows).await?;
    if batches.len() <= 1 {
        return Ok(batches);
    }
    let cols = (0..idx.len())
        .map(|k| {
            let parts: Vec<ArrayRef> = batches.iter().map(|b| b[k].clone()).collect();
            concat_parts(&parts, parts[0].data_type())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![cols])
}

/// [`read_columns`], as decoded: one `Vec<ArrayRef>` per batch (a
/// whole-file read of columns stored in one file gives one batch per row
/// group, not concatenated: one copy of every value fewer).
pub async fn read_column_batches(
    store: &StoreHandle,
    table_dir: &Path,
    schema: &SchemaRef,
    ids: &[i32],
    frag: &Fragment,
    idx: &[usize],
    rows: RowSpec,
) -> Result<Vec<Vec<ArrayRef>>> {
    crate::query::fast::io_gate().await;
    let nodes = fields::tree(schema, ids)?;
    let want: Vec<&Node> = idx.iter().map(|i| &nodes[*i]).collect();
    let mut out: Vec<Option<Vec<ArrayRef>>> = vec![None; idx.len()];
    let mut n_rows: Option<usize> = None;
    // Column files hold only the ids they list; the base file (without a
    // list: `0, 1, 2, ...` of its own schema) is opened to find out.
    let mut files: Vec<(&str, u64, Option<&[i32]>)> = frag
        .columns
        .iter()
        .map(|c| (c.path.as_str(), c.size_bytes, Some(c.fields.as_slice())))
        .collect();
    files.push((frag.path.as_str(), frag.size_bytes, frag.fields.as_deref()));
    for (rel, size, listed) in files {
        let pending: Vec<usize> = (0..idx.len())
            .filter(|k| out[*k].is_none() && listed.is_none_or(|l| l.contains(&want[*k].id)))
            .collect();
        if pending.is_empty() {
            continue;
        }
        let targets: Vec<&Node> = pending.iter().map(|k| want[*k]).collect();
        let (len, got) = read_file(store, table_dir, rel, size, listed, &targets, &rows).await?;
        n_rows = Some(len);
        for (k, col) in pending.into_iter().zip(got) {
            out[k] = col;
        }
    }
    let len = n_rows.unwrap_or_else(|| spec_rows(&rows, frag.rows));
    // Batches line up when every column read has the same batch lengths
    // (one file, or files cut alike); otherwise each column is one batch.
    let lengths = |parts: &Vec<ArrayRef>| parts.iter().map(|a| a.len()).collect::<Vec<_>>();
    let shape = out.iter().flatten().map(lengths).next();
    let aligned = out.iter().flatten().all(|p| Some(lengths(p)) == shape);
    let shape = match shape {
        Some(s) if aligned => s,
        _ => vec![len],
    };
    let mut cols: Vec<Vec<ArrayRef>> = Vec::with_capacity(idx.len());
    for (c, w) in out.into_iter().zip(&want) {
        cols.push(match c {
            None => shape
                .iter()
                .map(|n| arrow_array::new_null_array(w.field.data_type(), *n))
                .collect(),
            Some(parts) if aligned => parts,
            Some(parts) => vec![concat_parts(&parts, w.field.data_type())?],
        });
    }
    Ok((0..shape.len())
        .map(|b| cols.iter().map(|c| c[b].clone()).collect())
        .collect())
}

/// `parts` as one array (`dt` when there are none; one part as it is).
pub(crate) fn concat_parts(parts: &[ArrayRef], dt: &DataType) -> Result<ArrayRef> {
    match parts {
        [] => Ok(arrow_array::new_empty_array(dt)),
        [one] => Ok(one.clone()),
        many => Ok(arrow_select::concat::concat(
            &many.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        )?),
    }
}

/// How many rows `rows` selects of a file of `total` rows.
fn spec_rows(rows: &RowSpec, total: u64) -> usize {
    let n = match &rows.selection {
        Some(sel) => sel.row_count() as u64,
        None => total.saturating_sub(rows.offset),
    };
    rows.limit.map_or(n, |l| n.min(l)) as usize
}

/// Reads the `targets` fields that one file holds (by id); `None` for
/// those it does not hold, else the column's batches. Returns the number
/// of rows read.
async fn read_file(
    store: &StoreHandle,
    table_dir: &Path,
    rel: &str,
    size: u64,
    listed: Option<&[i32]>,
    targets: &[&Node],
    rows: &RowSpec,
) -> Result<(usize, Vec<Option<Vec<ArrayRef>>>)> {
    let path = data_path(table_dir, rel);
    let whole = rows.selection.is_none() && rows.offset == 0 && rows.limit.is_none();
    // The footer comes from the process-wide cache (super::reader).
    let builder = super::reader::open(store, &path, size, None)
        .await
        .map_err(|e| map_parquet(store, e, &path))?;
    let file_schema = builder.schema().clone();
    let file_ids = match listed {
        Some(l) => l.to_vec(),
        None => fields::default_ids(&file_schema),
    };
    let stored = fields::tree(&file_schema, &file_ids).map_err(|e| {
        Error::internal(format!("data file {rel} does not match its field ids: {e}"))
    })?;
    let roots: Vec<Option<usize>> = targets
        .iter()
        .map(|t| stored.iter().position(|s| s.id == t.id))
        .collect();
    let mut positions: Vec<usize> = roots.iter().flatten().copied().collect();
    positions.sort_unstable();
    positions.dedup();
    let groups = builder.metadata().num_row_groups();
    let batches: Vec<RecordBatch> = if whole && !positions.is_empty() && groups > 1 {
        drop(builder);
        decode_row_groups(store, &path, size, &positions).await?
    } else {
        // A whole-column read fetches every row group's chunks of those
        // columns up front, coalesced; opening again costs no request
        // (cached footer). A read of selected rows fetches the pages holding
        // them (the cached footer carries the offset index), in every row
        // group at once, coalesced.
        let builder = if whole && !positions.is_empty() {
            super::reader::open(store, &path, size, Some(&positions))
                .await
                .map_err(|e| map_parquet(store, e, &path))?
        } else if let (Some(sel), false) = (&rows.selection, positions.is_empty()) {
            let t0 = std::time::Instant::now();
            let b = super::reader::open_with(
                store,
                &path,
                size,
                super::reader::Prefetch::Rows(&positions, sel),
            )
            .await
            .map_err(|e| map_parquet(store, e, &path))?;
            crate::query::span("read_file: open with offset index", t0);
            b
        } else {
            builder
        };
        let mask = ProjectionMask::roots(builder.parquet_schema(), positions.iter().copied());
        // A whole-file read decodes each row group as one batch: the columns
        // are then used (and cached) as decoded, not copied once more by the
        // concatenation of 8192-row batches (see bench/README.md, streaming).
        let batch_rows = if whole {
            let largest = builder
                .metadata()
                .row_groups()
                .iter()
                .map(|g| g.num_rows())
                .max();
            largest.map_or(BATCH_ROWS, |n| (n.max(1) as usize).max(BATCH_ROWS))
        } else {
            BATCH_ROWS
        };
        let mut builder = builder.with_projection(mask).with_batch_size(batch_rows);
        if let Some(sel) = &rows.selection {
            builder = builder.with_row_selection(sel.clone());
        }
        if rows.offset > 0 {
            builder = builder.with_offset(rows.offset as usize);
        }
        if let Some(l) = rows.limit {
            builder = builder.with_limit(l as usize);
        }
        let stream = builder.build().map_err(|e| map_parquet(store, e, &path))?;
        let t0 = std::time::Instant::now();
        let b = stream
            .try_collect()
            .await
            .map_err(|e| map_parquet(store, e, &path))?;
        crate::query::span("read_file: decode", t0);
        b
    };
    let len = batches.iter().map(|b| b.num_rows()).sum();
    let mut out = Vec::with_capacity(targets.len());
    for (t, root) in targets.iter().zip(roots) {
        let Some(p) = root else {
            out.push(None);
            continue;
        };
        let k = positions.binary_search(&p).unwrap_or(0);
        let parts = match batches.as_slice() {
            [] => vec![arrow_array::new_empty_array(stored[p].field.data_type())],
            many => many.iter().map(|b| b.column(k).clone()).collect(),
        };
        let parts = parts
            .into_iter()
            .map(|col| fields::adapt(col, &stored[p], t))
            .collect::<Result<Vec<_>>>()?;
        out.push(Some(parts));
    }
    Ok((len, out))
}

/// Every row group of root columns `positions` of one file, each decoded
/// as one batch on a task of its own (both cores for a file of two row
/// groups); the chunks are fetched once, up front, coalesced.
async fn decode_row_groups(
    store: &StoreHandle,
    path: &Path,
    size: u64,
    positions: &[usize],
) -> Result<Vec<RecordBatch>> {
    let builders = super::reader::open_row_groups(store, path, size, positions)
        .await
        .map_err(|e| map_parquet(store, e, path))?;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, builder) in builders.into_iter().enumerate() {
        let mask = ProjectionMask::roots(builder.parquet_schema(), positions.iter().copied());
        let rows = builder.metadata().row_group(i).num_rows().max(1) as usize;
        let stream = builder
            .with_row_groups(vec![i])
            .with_projection(mask)
            .with_batch_size(rows.max(BATCH_ROWS))
            .build()
            .map_err(|e| map_parquet(store, e, path))?;
        tasks.spawn(async move {
            let b: parquet::errors::Result<Vec<RecordBatch>> = stream.try_collect().await;
            (i, b)
        });
    }
    let mut parts: Vec<Option<Vec<RecordBatch>>> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (i, b) = done.map_err(|e| Error::internal(format!("decoding {path}: {e}")))?;
        let b = b.map_err(|e| map_parquet(store, e, path))?;
        if parts.len() <= i {
            parts.resize(i + 1, None);
        }
        parts[i] = Some(b);
    }
    Ok(parts.into_iter().flatten().flatten().collect())
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

/// Writes `batches` as a new data file of the table at `dir`; `None` when
/// there are no rows. The fragment's id is assigned at commit.
pub async fn write_fragment(
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
    let path = data_path(dir, &rel);
    let size = write_data_file(store, &path, schema.clone(), batches).await?;
    Ok(Some(Fragment {
        id: 0,
        path: rel,
        rows: rows as u64,
        size_bytes: size,
        ..Default::default()
    }))
}

/// Writes `batches` (every row of a fragment, in order) as a column file
/// holding the fields `ids` (pre-order of `schema`).
pub async fn write_column_file(
    store: &StoreHandle,
    dir: &Path,
    schema: &SchemaRef,
    ids: Vec<i32>,
    batches: &[RecordBatch],
) -> Result<ColumnFile> {
    let rel = format!("{DATA_DIR}/{}.parquet", uuid::Uuid::new_v4());
    let path = data_path(dir, &rel);
    let size = write_data_file(store, &path, schema.clone(), batches).await?;
    Ok(ColumnFile {
        path: rel,
        fields: ids,
        size_bytes: size,
    })
}

/// One row group of a data file, for pruning: its rows, and the minimum
/// and maximum of a signed integer column when the file records them.
#[derive(Debug, Clone, PartialEq)]
pub struct RowGroupRange {
    pub start: u64,
    pub rows: u64,
    pub min_max: Option<(i64, i64)>,
}

/// The row groups of the file of `frag` that holds column `i` (a
/// table-schema index), with the column's min/max statistics when it is
/// a signed integer stored as the type the table reads (no cast between
/// the stored values and the filter's); `None` when no file holds it.
pub async fn column_row_groups(
    store: &StoreHandle,
    table_dir: &Path,
    schema: &SchemaRef,
    ids: &[i32],
    frag: &Fragment,
    i: usize,
) -> Result<Option<Vec<RowGroupRange>>> {
    use parquet::file::statistics::Statistics;
    let nodes = fields::tree(schema, ids)?;
    let want = &nodes[i];
    let file = frag
        .columns
        .iter()
        .find(|c| c.fields.contains(&want.id))
        .map(|c| (c.path.as_str(), c.size_bytes, Some(c.fields.as_slice())))
        .unwrap_or((frag.path.as_str(), frag.size_bytes, frag.fields.as_deref()));
    let (rel, size, listed) = file;
    let path = data_path(table_dir, rel);
    let builder = super::reader::open(store, &path, size, None)
        .await
        .map_err(|e| map_parquet(store, e, &path))?;
    let file_ids = match listed {
        Some(l) => l.to_vec(),
        None => fields::default_ids(builder.schema()),
    };
    let stored = fields::tree(builder.schema(), &file_ids).map_err(|e| {
        Error::internal(format!("data file {rel} does not match its field ids: {e}"))
    })?;
    let Some(root) = stored.iter().position(|s| s.id == want.id) else {
        return Ok(None);
    };
    let dt = want.field.data_type();
    let signed = matches!(
        dt,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    );
    let descr = builder.parquet_schema();
    let leaves: Vec<usize> = (0..descr.num_columns())
        .filter(|l| descr.get_column_root_idx(*l) == root)
        .collect();
    let leaf = match leaves.as_slice() {
        [one] if signed && stored[root].field.data_type() == dt => Some(*one),
        _ => None,
    };
    let mut start = 0u64;
    let mut out = Vec::new();
    for rg in builder.metadata().row_groups() {
        let rows = rg.num_rows().max(0) as u64;
        let min_max = leaf.and_then(|l| match rg.column(l).statistics()? {
            Statistics::Int32(s) => Some((*s.min_opt()? as i64, *s.max_opt()? as i64)),
            Statistics::Int64(s) => Some((*s.min_opt()?, *s.max_opt()?)),
            _ => None,
        });
        out.push(RowGroupRange {
            start,
            rows,
            min_max,
        });
        start += rows;
    }
    Ok(Some(out))
}
