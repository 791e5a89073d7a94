//! Writes Parquet data files. Small files go up in one PUT; large ones
//! stream through a multipart upload whose parts are cut as the encoder
//! produces bytes, so memory stays near one row group plus the parts in
//! flight. A failed write aborts its upload: no part is left behind.

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use bytes::Bytes;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload, UploadPart};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::storage::cancel::InFlight;
use crate::storage::StoreHandle;

const ROW_GROUP_ROWS: usize = 64 * 1024;

fn writer_props(schema: &SchemaRef) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
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
