//! napi for full-text search and reciprocal rank fusion. Conversion only;
//! the work is in `query::fts`.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::args::{self, Given};
use super::table::JsTable;
use super::{batches_to_ipc, guarded, ipc_to_batches};
use crate::error::{Error, Result};
use crate::index::fts::FtsQuery;
use crate::query::fts::FtsRequest;

#[napi(object, object_to_js = false)]
pub struct JsFtsOptions {
    /// The query as lib/fts.ts serialises it (`FullTextQuery.inner`), or a
    /// plain string with `queryColumns`.
    pub query: String,
    pub is_text: bool,
    pub query_columns: Option<Vec<String>>,
    #[napi(ts_type = "number")]
    pub limit: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub offset: Option<Given<f64>>,
    pub filter: Option<String>,
    pub columns: Option<Vec<String>>,
    pub with_row_id: Option<bool>,
    pub fast_search: Option<bool>,
    /// QueryExecutionOptions.timeoutMs: the search is cancelled past it.
    pub timeout_ms: Option<f64>,
}

impl TryFrom<JsFtsOptions> for FtsRequest {
    type Error = Error;

    fn try_from(o: JsFtsOptions) -> Result<Self> {
        let query = if o.is_text {
            FtsQuery::text(&o.query, o.query_columns.filter(|c| !c.is_empty()))
        } else {
            serde_json::from_str(&o.query).map_err(|e| {
                Error::invalid_argument(format!(
                    "fullTextSearch: not a full-text query ({e}); pass a string or a MatchQuery, PhraseQuery, BoostQuery, MultiMatchQuery or BooleanQuery"
                ))
            })?
        };
        Ok(FtsRequest {
            query,
            limit: args::opt_integer("limit", o.limit, args::COUNT)?,
            offset: args::opt_integer("offset", o.offset, args::COUNT)?.unwrap_or_default(),
            filter: o.filter,
            columns: o.columns,
            with_row_id: o.with_row_id.unwrap_or_default(),
            fast_search: o.fast_search.unwrap_or_default(),
        })
    }
}

#[napi]
impl JsTable {
    /// Full-text search; rows as an Arrow IPC stream with `_score`.
    #[napi]
    pub async fn fts_search(&self, options: JsFtsOptions) -> napi::Result<Buffer> {
        let t = self.inner.clone();
        guarded(async move {
            let timeout = options.timeout_ms;
            let req = FtsRequest::try_from(options)?;
            let (schema, batches) = super::deadline::run(timeout, t.fts_search(&req)).await?;
            batches_to_ipc(&schema, &batches)
        })
        .await
    }
}

/// Reciprocal rank fusion of two IPC result sets (each with `_rowid`).
#[napi]
pub async fn rrf_rerank(k: f64, vec_results: Buffer, fts_results: Buffer) -> napi::Result<Buffer> {
    guarded(async move {
        if !(k.is_finite() && k > 0.0) {
            return Err(Error::invalid_argument(format!(
                "RRFReranker: k must be a positive number, got {k}"
            )));
        }
        let one = |b: Buffer| -> Result<arrow_array::RecordBatch> {
            let (s, bs) = ipc_to_batches(b)?;
            Ok(arrow_select::concat::concat_batches(&s, &bs)?)
        };
        let (v, f) = (one(vec_results)?, one(fts_results)?);
        let out = crate::query::fts::rrf(k as f32, &v, &f)?;
        batches_to_ipc(&out.schema(), &[out])
    })
    .await
}

/// An IPC stream as exactly one record batch (empty when it has no rows),
/// for callers that hand a `RecordBatch` on (rerankers).
#[napi]
pub fn ipc_one_batch(buf: Buffer) -> napi::Result<Buffer> {
    let r = (|| -> Result<Buffer> {
        let (s, bs) = ipc_to_batches(buf)?;
        let one = arrow_select::concat::concat_batches(&s, &bs)?;
        batches_to_ipc(&s, &[one])
    })();
    r.map_err(super::to_napi)
}
