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
    pub fn vector_search_cached(&self, options: JsVectorOptions) -> napi::Result<Option<Buffer>> {
        let t = self.inner.clone();
        let run = move || -> Result<Option<Buffer>> {
            super::deadline::deadline(options.timeout_ms)?;
            let req = VectorRequest::try_from(options)?;
            if req.k > MAX_K {
                return Ok(None);
            }
            let found = napi::bindgen_prelude::within_runtime_if_available(|| {
                crate::query::fast::now_or_io(t.vector_search(&req))
            });
            match found {
                None => Ok(None),
                Some(r) => {
                    let (schema, batches) = r?;
                    batches_to_ipc(&schema, &batches).map(Some)
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
