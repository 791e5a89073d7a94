//! Query bindings beyond scan and vector search: take by row id or offset,
//! and a scan read batch by batch.

use std::pin::Pin;
use std::sync::Arc;

use arrow_array::RecordBatch;
use futures::{Stream, StreamExt};
use napi::bindgen_prelude::{BigInt, Buffer};
use napi_derive::napi;

use super::args::{self, Given};
use super::table::{JsScanOptions, JsTable};
use super::{batches_to_ipc, guarded};
use crate::error::{Error, Result};
use crate::query::take::{TakeBy, TakeRequest};
use crate::query::ScanRequest;

type BatchStream = Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>;

/// A scan's batches, read as JavaScript asks for them.
#[napi]
pub struct JsBatchStream {
    // A lock because napi may run two next() calls at once; the stream is
    // None once closed.
    inner: Arc<tokio::sync::Mutex<Option<BatchStream>>>,
    /// timeoutMs for the whole iteration: past it the stream is dropped
    /// (its read-ahead cancelled) and next() fails with STORAGE_TIMEOUT.
    deadline: Option<tokio::time::Instant>,
    timeout_ms: Option<f64>,
}

#[napi]
impl JsBatchStream {
    /// The next batch as an Arrow IPC stream, or null at the end.
    #[napi]
    pub async fn next(&self) -> napi::Result<Option<Buffer>> {
        let inner = self.inner.clone();
        let (deadline, timeout_ms) = (self.deadline, self.timeout_ms);
        guarded(async move {
            let mut guard = inner.lock().await;
            let Some(stream) = guard.as_mut() else {
                return Ok(None);
            };
            let next =
                super::deadline::within(deadline, timeout_ms, async { Ok(stream.next().await) })
                    .await;
            let next = match next {
                Ok(n) => n,
                Err(e) => {
                    // Past the deadline: drop the stream and its reads.
                    *guard = None;
                    return Err(e);
                }
            };
            match next {
                None => {
                    *guard = None;
                    Ok(None)
                }
                Some(Err(e)) => {
                    *guard = None;
                    Err(e)
                }
                Some(Ok(batch)) => batches_to_ipc(&batch.schema(), &[batch]).map(Some),
            }
        })
        .await
    }

    /// Stops reading: the files not yet read are never opened.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        let inner = self.inner.clone();
        *inner.lock().await = None;
        Ok(())
    }
}

#[napi(object, object_to_js = false)]
pub struct JsTakeOptions {
    /// Positions among the live rows (exactly one of offsets / rowIds).
    #[napi(ts_type = "Array<number>")]
    pub offsets: Option<Vec<Given<f64>>>,
    pub row_ids: Option<Vec<BigInt>>,
    pub columns: Option<Vec<String>>,
    /// (alias, SQL expression) pairs, for select({ alias: "expr" }).
    pub expressions: Option<Vec<(String, String)>>,
    pub with_row_id: Option<bool>,
    /// Row ids: the rows in the order of the ids given.
    pub in_given_order: Option<bool>,
    /// QueryExecutionOptions.timeoutMs: the read is cancelled past it.
    pub timeout_ms: Option<f64>,
}

impl TryFrom<JsTakeOptions> for TakeRequest {
    type Error = Error;

    fn try_from(o: JsTakeOptions) -> Result<Self> {
        let by = match (o.offsets, o.row_ids) {
            (Some(offsets), None) => TakeBy::Offsets(
                offsets
                    .into_iter()
                    .map(|v| args::integer("offset", v, args::COUNT))
                    .collect::<Result<_>>()?,
            ),
            (None, Some(ids)) => TakeBy::RowIds(
                ids.into_iter()
                    .map(|b| {
                        let (negative, v, lossless) = b.get_u64();
                        if negative || !lossless {
                            return Err(Error::invalid_argument(
                                "a row id is a non-negative integer below 2^64",
                            ));
                        }
                        Ok(v)
                    })
                    .collect::<Result<_>>()?,
            ),
            _ => {
                return Err(Error::invalid_argument(
                    "take needs exactly one of offsets and rowIds",
                ))
            }
        };
        Ok(TakeRequest {
            by,
            columns: o.columns,
            expressions: o.expressions,
            with_row_id: o.with_row_id.unwrap_or_default(),
            in_given_order: o.in_given_order.unwrap_or_default(),
        })
    }
}

#[napi]
impl JsTable {
    /// A readable plan of a scan (lines, outermost first); reads no data.
    #[napi]
    pub async fn explain_scan(
        &self,
        options: JsScanOptions,
        verbose: bool,
    ) -> napi::Result<Vec<String>> {
        let t = self.inner.clone();
        guarded(async move {
            let req = ScanRequest::try_from(options)?;
            t.explain_scan(&req, verbose).await
        })
        .await
    }

    /// A scan read batch by batch (one data file at a time).
    #[napi]
    pub async fn scan_stream(&self, options: JsScanOptions) -> napi::Result<JsBatchStream> {
        let t = self.inner.clone();
        guarded(async move {
            let timeout_ms = options.timeout_ms;
            let deadline = super::deadline::deadline(timeout_ms)?;
            let req = ScanRequest::try_from(options)?;
            let stream = super::deadline::within(deadline, timeout_ms, t.scan_stream(req)).await?;
            let stream: BatchStream = Box::pin(stream);
            Ok(JsBatchStream {
                inner: Arc::new(tokio::sync::Mutex::new(Some(stream))),
                deadline,
                timeout_ms,
            })
        })
        .await
    }

    /// Rows by position or row id, as an Arrow IPC stream.
    #[napi]
    pub async fn take(&self, options: JsTakeOptions) -> napi::Result<Buffer> {
        let t = self.inner.clone();
        guarded(async move {
            let timeout = options.timeout_ms;
            let req = TakeRequest::try_from(options)?;
            let (schema, batches) = super::deadline::run(timeout, t.take(&req)).await?;
            batches_to_ipc(&schema, &batches)
        })
        .await
    }
}
