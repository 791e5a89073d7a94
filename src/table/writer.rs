//! Writes Parquet data files. Small files go up in one PUT; large ones
//! stream through a multipart upload whose parts are cut as the encoder
//! produces bytes, so memory stays near one row group plus the parts in
//! flight. A failed write aborts its upload: no part is left behind.

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use crate::error::Result;
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

/// Writes `batches` as one Parquet file at `path`; returns its size.
pub async fn write_data_file(
    store: &StoreHandle,
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<u64> {
    let (schema, storage) = super::vectors::storage_batches(&schema, batches)?;
    let batches = &storage[..];
    let part_size = store.upload.part_size;
    let mut writer = ArrowWriter::try_new(
        Vec::with_capacity(part_size + (part_size >> 2)),
        schema.clone(),
        Some(writer_props(&schema)),
    )?;
    let mut upload: Option<WriteMultipart> = None;
    let result: Result<u64> = async {
        let mut written = 0u64;
        for batch in batches {
            writer.write(batch)?;
            if writer.inner().len() >= part_size {
                let chunk = std::mem::replace(
                    writer.inner_mut(),
                    Vec::with_capacity(part_size + (part_size >> 2)),
                );
                written += chunk.len() as u64;
                if upload.is_none() {
                    let up = store
                        .store
                        .put_multipart(path)
                        .await
                        .map_err(|e| store.error(e, format!("Starting upload of {path}")))?;
                    upload = Some(WriteMultipart::new_with_chunk_size(up, part_size));
                }
                if let Some(up) = upload.as_mut() {
                    up.wait_for_capacity(store.upload.concurrency)
                        .await
                        .map_err(|e| store.error(e, format!("Uploading {path}")))?;
                    // Handed over whole: no copy into the upload's buffer.
                    up.put(bytes::Bytes::from(chunk));
                }
            }
        }
        let tail = std::mem::take(writer.inner_mut());
        writer.finish()?;
        let mut rest = tail;
        rest.extend_from_slice(writer.inner());
        written += rest.len() as u64;
        match upload.take() {
            None => {
                store
                    .store
                    .put(path, PutPayload::from(rest))
                    .await
                    .map_err(|e| store.error(e, format!("Writing {path}")))?;
            }
            Some(mut up) => {
                up.put(bytes::Bytes::from(rest));
                if let Err(e) = up.finish().await {
                    return Err(store.error(e, format!("Completing upload of {path}")));
                }
            }
        }
        Ok(written)
    }
    .await;
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
