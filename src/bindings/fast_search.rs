//! A vector search answered on the JavaScript thread when it needs no I/O
//! (see `query::fast`): no hop to a worker thread and back. The async
//! `vectorSearch` remains the path for everything else.

use std::panic::AssertUnwindSafe;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::table::{JsTable, JsVectorOptions};
use super::{batches_to_ipc, to_napi};
use crate::error::{Error, Result};
use crate::query::vector::VectorRequest;

/// Searches returning more rows than this always take the async path (their
/// re-ranking and result columns are work for a worker thread).
const MAX_K: usize = 256;

#[napi(object)]
pub struct JsFastSearchStats {
    /// Searches answered synchronously.
    pub hits: i64,
    /// Attempts that needed I/O (then run asynchronously).
    pub misses: i64,
}

/// Counters of the synchronous search path since the process started (for
/// tests: the fast path must not silently stop being taken).
#[napi]
pub fn fast_search_stats() -> JsFastSearchStats {
    let (hits, misses) = crate::query::fast::stats();
    JsFastSearchStats {
        hits: hits as i64,
        misses: misses as i64,
    }
}

#[napi]
impl JsTable {
    /// `vectorSearch` answered now, from memory, or null when it would
    /// read from storage (call `vectorSearch` then). Errors are the search's.
    #[napi]
    /// `compact`: small results of number columns come in the layout of
    /// `compact()` below instead of Arrow IPC.
    pub fn vector_search_cached(
        &self,
        options: JsVectorOptions,
        compact: Option<bool>,
    ) -> napi::Result<Option<Buffer>> {
        let t = self.inner.clone();
        let run = move || -> Result<Option<Buffer>> {
            let mut trace = crate::query::ann::trace_start();
            super::deadline::deadline(options.timeout_ms)?;
            let req = VectorRequest::try_from(options)?;
            crate::query::ann::trace("sync: request", &mut trace);
            if req.k > MAX_K || !t.in_process_store() {
                return Ok(None);
            }
            let found = napi::bindgen_prelude::within_runtime_if_available(|| {
                crate::query::fast::now_or_io(t.vector_search(&req))
            });
            match found {
                None => Ok(None),
                Some(r) => {
                    let (schema, batches) = r?;
                    crate::query::ann::trace("sync: search", &mut trace);
                    let small = batches.iter().map(|b| b.num_rows()).sum::<usize>() <= MAX_K;
                    let packed = match compact == Some(true) && small {
                        true => self::compact(&schema, &batches)?,
                        false => None,
                    };
                    let ipc = match packed {
                        Some(p) => Ok(Some(p.into())),
                        None => batches_to_ipc(&schema, &batches).map(Some),
                    };
                    crate::query::ann::trace("sync: ipc", &mut trace);
                    ipc
                }
            }
        };
        match std::panic::catch_unwind(AssertUnwindSafe(run)) {
            Ok(r) => r.map_err(to_napi),
            Err(_) => Err(to_napi(Error::Internal(
                "a bug in Stowage: a panic in a vector search; please report it".into(),
            ))),
        }
    }
}

/// Types [`compact`] carries (fixed-width numbers: JavaScript views them
/// in place as typed arrays).
fn simple(dt: &arrow_schema::DataType) -> bool {
    use arrow_schema::DataType::*;
    matches!(
        dt,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64
    )
}

fn pad8(out: &mut Vec<u8>) {
    out.resize(out.len().next_multiple_of(8), 0);
}

fn put_u32(out: &mut Vec<u8>, v: usize) -> Result<()> {
    let v = u32::try_from(v).map_err(|_| Error::internal("compact result too large"))?;
    out.extend_from_slice(&v.to_le_bytes());
    Ok(())
}

/// A small result of fixed-width number columns in a layout JavaScript
/// turns into an Arrow table without an IPC decode (lib/fastsearch.ts,
/// `decodeCompact`): `STW1`, u32 schema bytes, u32 rows, u32 columns, u32
/// batches (0 or 1), the schema as an Arrow IPC stream (8-aligned), then
/// per column u32 null count, u32 validity bytes, u32 data bytes, u32 0,
/// the validity bitmap and the values (each 8-aligned). `None` when the
/// result has other types or several batches (IPC then).
fn compact(
    schema: &arrow_schema::SchemaRef,
    batches: &[arrow_array::RecordBatch],
) -> Result<Option<Vec<u8>>> {
    use arrow_array::Array;
    if batches.len() > 1 || !schema.fields().iter().all(|f| simple(f.data_type())) {
        return Ok(None);
    }
    let schema_ipc = super::batches_to_ipc(schema, &[])?;
    let rows = batches.first().map_or(0, |b| b.num_rows());
    let mut out = Vec::with_capacity(64 + schema_ipc.len() + rows * 24 * schema.fields().len());
    out.extend_from_slice(b"STW1");
    put_u32(&mut out, schema_ipc.len())?;
    put_u32(&mut out, rows)?;
    put_u32(&mut out, schema.fields().len())?;
    put_u32(&mut out, batches.len())?;
    pad8(&mut out);
    out.extend_from_slice(&schema_ipc);
    pad8(&mut out);
    let Some(batch) = batches.first() else {
        return Ok(Some(out));
    };
    for col in batch.columns() {
        let data = col.to_data();
        let width = data
            .data_type()
            .primitive_width()
            .ok_or_else(|| Error::internal("compact: not a fixed-width column"))?;
        let values = data
            .buffers()
            .first()
            .ok_or_else(|| Error::internal("compact: a column without values"))?;
        let start = data.offset() * width;
        let bytes = values
            .as_slice()
            .get(start..start + rows * width)
            .ok_or_else(|| Error::internal("compact: a column shorter than the batch"))?;
        let nulls = data.nulls().filter(|n| n.null_count() > 0);
        let mut bitmap = Vec::new();
        if let Some(n) = nulls {
            bitmap = vec![0u8; rows.div_ceil(8)];
            for i in (0..rows).filter(|i| n.is_valid(*i)) {
                bitmap[i / 8] |= 1 << (i % 8);
            }
        }
        put_u32(&mut out, nulls.map_or(0, |n| n.null_count()))?;
        put_u32(&mut out, bitmap.len())?;
        put_u32(&mut out, bytes.len())?;
        put_u32(&mut out, 0)?;
        out.extend_from_slice(&bitmap);
        pad8(&mut out);
        out.extend_from_slice(bytes);
        pad8(&mut out);
    }
    Ok(Some(out))
}
