//! A scan handed to JavaScript as Arrow IPC messages, one buffer each
//! (schema, each batch, end of stream), encoded in parallel. apache-arrow
//! reads such a list without joining it (each batch's arrays are views of
//! its own buffer), so a 50 MB result is not copied once more into one
//! stream buffer (see bench/README.md, cold reads).

use arrow_array::RecordBatch;
use arrow_ipc::writer::{
    write_message, DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions,
};
use arrow_schema::{DataType, SchemaRef};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use rayon::prelude::*;

use super::table::{JsScanOptions, JsTable};
use super::{batches_to_ipc, guarded};
use crate::error::Result;
use crate::query::ScanRequest;

#[napi]
impl JsTable {
    /// Reads rows as the messages of an Arrow IPC stream, one buffer each.
    #[napi]
    pub async fn scan_pieces(&self, options: JsScanOptions) -> napi::Result<Vec<Buffer>> {
        let t = self.inner.clone();
        guarded(async move {
            let timeout = options.timeout_ms;
            let req = ScanRequest::try_from(options)?;
            let (schema, batches) = super::deadline::run(timeout, t.scan(&req)).await?;
            let t0 = std::time::Instant::now();
            let pieces = ipc_pieces(&schema, &batches);
            crate::query::span("scan: to ipc pieces", t0);
            pieces
        })
        .await
    }
}

fn has_dictionary(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(..) => true,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => has_dictionary(f.data_type()),
        DataType::Struct(fs) => fs.iter().any(|f| has_dictionary(f.data_type())),
        DataType::Union(fs, _) => fs.iter().any(|(_, f)| has_dictionary(f.data_type())),
        DataType::RunEndEncoded(a, b) => {
            has_dictionary(a.data_type()) || has_dictionary(b.data_type())
        }
        _ => false,
    }
}

/// The IPC stream of `batches` as one buffer per message. Dictionary
/// columns (whose dictionaries are tracked from batch to batch) fall back
/// to one joined stream.
fn ipc_pieces(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<Buffer>> {
    if schema
        .fields()
        .iter()
        .any(|f| has_dictionary(f.data_type()))
    {
        return Ok(vec![batches_to_ipc(schema, batches)?]);
    }
    let opts = IpcWriteOptions::default();
    let gen = IpcDataGenerator::default();
    let mut tracker = DictionaryTracker::new(false);
    let mut head = Vec::new();
    let encoded = gen.schema_to_bytes_with_dictionary_tracker(schema, &mut tracker, &opts);
    write_message(&mut head, encoded, &opts)?;
    let bodies: Vec<Result<Vec<u8>>> = batches
        .par_iter()
        .map(|b| {
            let mut tracker = DictionaryTracker::new(false);
            let mut cx = IpcWriteContext::default();
            let (_, encoded) = gen.encode(b, &mut tracker, &opts, &mut cx)?;
            let size: usize = b.get_array_memory_size();
            let mut buf = Vec::with_capacity(size + 4096);
            write_message(&mut buf, encoded, &opts)?;
            Ok(buf)
        })
        .collect();
    let mut out = Vec::with_capacity(batches.len() + 2);
    out.push(head.into());
    for b in bodies {
        out.push(b?.into());
    }
    // End of stream: continuation marker and a zero length.
    out.push(vec![0xFFu8, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0].into());
    Ok(out)
}
