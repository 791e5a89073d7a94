use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::args::{self, Given, POSITIVE};
use super::{batches_to_ipc, guarded, ipc_to_batches};
use crate::error::{Error, Result};
use crate::query::vector::{DistanceType, VectorRequest, DEFAULT_K};
use crate::query::ScanRequest;
use crate::table::ops::MergeFlags;
use crate::table::request::{AddRequest, MergeInsertRequest, UpdateRequest};
use crate::table::{AddMode, OptimizeOptions, Table};

// How `add` treats the rows already in the table.
string_enum! {
    pub enum JsAddMode {
        Append = "append",
        Overwrite = "overwrite",
    }
}

impl From<JsAddMode> for AddMode {
    fn from(m: JsAddMode) -> Self {
        match m {
            JsAddMode::Append => AddMode::Append,
            JsAddMode::Overwrite => AddMode::Overwrite,
        }
    }
}

// The distances a vector search ranks by, as in @lancedb/lancedb
// (which rejects "euclidean" too).
string_enum! {
    pub enum JsDistanceType {
        L2 = "l2",
        Cosine = "cosine",
        Dot = "dot",
    }
}

impl From<JsDistanceType> for DistanceType {
    fn from(d: JsDistanceType) -> Self {
        match d {
            JsDistanceType::L2 => DistanceType::L2,
            JsDistanceType::Cosine => DistanceType::Cosine,
            JsDistanceType::Dot => DistanceType::Dot,
        }
    }
}

#[napi(object, object_to_js = false)]
pub struct JsAddOptions {
    /// An Arrow IPC stream.
    pub data: Buffer,
    #[napi(ts_type = "JsAddMode")]
    pub mode: Option<Given<String>>,
}

impl TryFrom<JsAddOptions> for AddRequest {
    type Error = Error;

    fn try_from(o: JsAddOptions) -> Result<Self> {
        let mode = args::opt_choice::<JsAddMode>("mode", o.mode)?;
        let (schema, batches) = ipc_to_batches(o.data)?;
        Ok(AddRequest {
            schema,
            batches,
            mode: mode.map(Into::into).unwrap_or_default(),
        })
    }
}

#[napi(object, object_to_js = false)]
pub struct JsScanOptions {
    pub columns: Option<Vec<String>>,
    #[napi(ts_type = "number")]
    pub limit: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub offset: Option<Given<f64>>,
    pub filter: Option<String>,
    pub with_row_id: Option<bool>,
    /// (alias, SQL expression) pairs, for select({ alias: "expr" }).
    pub expressions: Option<Vec<(String, String)>>,
    /// QueryExecutionOptions.timeoutMs: the read is cancelled past it.
    pub timeout_ms: Option<f64>,
}

impl TryFrom<JsScanOptions> for ScanRequest {
    type Error = Error;

    fn try_from(o: JsScanOptions) -> Result<Self> {
        Ok(ScanRequest {
            columns: o.columns,
            limit: args::opt_integer("limit", o.limit, args::COUNT)?,
            offset: args::opt_integer("offset", o.offset, args::COUNT)?.unwrap_or_default(),
            filter: o.filter,
            with_row_id: o.with_row_id.unwrap_or_default(),
            expressions: o.expressions,
        })
    }
}

#[napi(object, object_to_js = false)]
pub struct JsVectorOptions {
    #[napi(ts_type = "Array<number>")]
    pub vector: Given<Vec<Given<f64>>>,
    pub column: Option<String>,
    #[napi(ts_type = "JsDistanceType")]
    pub distance_type: Option<Given<String>>,
    #[napi(ts_type = "number")]
    pub limit: Option<Given<f64>>,
    pub filter: Option<String>,
    pub postfilter: Option<bool>,
    pub columns: Option<Vec<String>>,
    pub with_row_id: Option<bool>,
    // Index search settings (the reference's names).
    #[napi(ts_type = "number")]
    pub minimum_nprobes: Option<Given<f64>>,
    /// 0: no maximum.
    #[napi(ts_type = "number")]
    pub maximum_nprobes: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub refine_factor: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub ef: Option<Given<f64>>,
    pub bypass_vector_index: Option<bool>,
    pub fast_search: Option<bool>,
    pub distance_lower: Option<f64>,
    pub distance_upper: Option<f64>,
    /// QueryExecutionOptions.timeoutMs: the search is cancelled past it.
    pub timeout_ms: Option<f64>,
}

impl TryFrom<JsVectorOptions> for VectorRequest {
    type Error = Error;

    fn try_from(o: JsVectorOptions) -> Result<Self> {
        Ok(VectorRequest {
            vector: args::vector("vector", o.vector)?,
            column: o.column,
            distance: args::opt_choice::<JsDistanceType>("distanceType", o.distance_type)?
                .map(Into::into),
            k: args::opt_count("limit", o.limit)?.unwrap_or(DEFAULT_K),
            filter: o.filter,
            prefilter: !o.postfilter.unwrap_or_default(),
            columns: o.columns,
            with_row_id: o.with_row_id.unwrap_or_default(),
            minimum_nprobes: args::opt_integer("minimumNprobes", o.minimum_nprobes, POSITIVE)?
                .map(|n| n as usize),
            maximum_nprobes: args::opt_count("maximumNprobes", o.maximum_nprobes)?,
            refine_factor: args::opt_integer("refineFactor", o.refine_factor, POSITIVE)?
                .map(|n| n.min(u32::MAX as u64) as u32),
            ef: args::opt_integer("ef", o.ef, POSITIVE)?.map(|n| n as usize),
            bypass_index: o.bypass_vector_index.unwrap_or_default(),
            fast_search: o.fast_search.unwrap_or_default(),
            distance_range: (
                o.distance_lower.map(|d| d as f32),
                o.distance_upper.map(|d| d as f32),
            ),
        })
    }
}

#[napi(object, object_to_js = false)]
pub struct JsUpdateOptions {
    /// A SQL predicate; unset: every row.
    #[napi(js_name = "where")]
    pub predicate: Option<String>,
    /// (column, SQL expression) pairs.
    pub assignments: Vec<(String, String)>,
    /// Typed values (lists, binary), as a one-row Arrow IPC stream.
    pub values: Option<Buffer>,
}

impl TryFrom<JsUpdateOptions> for UpdateRequest {
    type Error = Error;

    fn try_from(o: JsUpdateOptions) -> Result<Self> {
        let values = match o.values {
            None => None,
            Some(buf) => {
                let (schema, batches) = ipc_to_batches(buf)?;
                Some(arrow_select::concat::concat_batches(&schema, &batches)?)
            }
        };
        Ok(UpdateRequest {
            predicate: o.predicate,
            assignments: o.assignments,
            values,
        })
    }
}

#[napi(object, object_from_js = false)]
pub struct JsUpdateResult {
    pub version: i64,
    pub rows_updated: i64,
}

#[napi(object, object_to_js = false)]
pub struct JsMergeInsertOptions {
    /// An Arrow IPC stream.
    pub data: Buffer,
    pub on: Vec<String>,
    pub when_matched_update_all: bool,
    /// whenMatchedUpdateAll({ where }).
    pub when_matched_update_all_where: Option<String>,
    pub when_not_matched_insert_all: bool,
    pub when_not_matched_by_source_delete: bool,
    /// whenNotMatchedBySourceDelete({ where }).
    pub when_not_matched_by_source_delete_where: Option<String>,
}

impl TryFrom<JsMergeInsertOptions> for MergeInsertRequest {
    type Error = Error;

    fn try_from(o: JsMergeInsertOptions) -> Result<Self> {
        let (_, batches) = ipc_to_batches(o.data)?;
        Ok(MergeInsertRequest {
            on: o.on,
            flags: MergeFlags {
                when_matched_update_all: o.when_matched_update_all,
                matched_where: o.when_matched_update_all_where,
                when_not_matched_insert_all: o.when_not_matched_insert_all,
                when_not_matched_by_source_delete: o.when_not_matched_by_source_delete,
                by_source_where: o.when_not_matched_by_source_delete_where,
            },
            batches,
        })
    }
}

#[napi(object, object_from_js = false)]
pub struct JsMergeResult {
    pub version: i64,
    pub num_inserted_rows: i64,
    pub num_updated_rows: i64,
    pub num_deleted_rows: i64,
    /// Commit attempts of the transaction loop (1: no other writer interfered).
    pub num_attempts: u32,
}

#[napi(object, object_from_js = false)]
pub struct JsDeleteResult {
    pub version: i64,
    pub num_deleted_rows: i64,
}

#[napi(object, object_from_js = false)]
pub struct JsVersion {
    pub version: i64,
    pub timestamp_ms: f64,
    pub operation: String,
}

#[napi(object, object_from_js = false)]
pub struct JsOptimizeStats {
    pub fragments_removed: i64,
    pub fragments_added: i64,
    pub old_versions_removed: i64,
    pub files_removed: i64,
    pub bytes_removed: i64,
}

#[napi]
pub struct JsTable {
    pub(super) inner: Arc<Table>,
}

impl JsTable {
    pub fn new(t: Table) -> Self {
        JsTable { inner: Arc::new(t) }
    }
}

handle_methods!(JsTable);

#[napi]
impl JsTable {
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// The schema as an Arrow IPC stream with no batches.
    #[napi]
    pub async fn schema(&self) -> napi::Result<Buffer> {
        let t = self.inner.clone();
        guarded(async move { batches_to_ipc(&t.schema().await?, &[]) }).await
    }

    #[napi]
    pub async fn version(&self) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move { Ok(t.version().await? as i64) }).await
    }

    #[napi]
    pub async fn count_rows(&self, filter: Option<String>) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move { Ok(t.count_rows(filter.as_deref()).await? as i64) }).await
    }

    /// Returns the new version.
    #[napi]
    pub async fn add(&self, options: JsAddOptions) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move {
            let req = AddRequest::try_from(options)?;
            Ok(t.add(req.schema, req.batches, req.mode).await? as i64)
        })
        .await
    }

    /// Flat nearest-neighbour search; rows as an Arrow IPC stream with `_distance`.
    #[napi]
    pub async fn vector_search(&self, options: JsVectorOptions) -> napi::Result<Buffer> {
        let t = self.inner.clone();
        guarded(async move {
            let timeout = options.timeout_ms;
            let req = VectorRequest::try_from(options)?;
            let (schema, batches) = super::deadline::run(timeout, t.vector_search(&req)).await?;
            batches_to_ipc(&schema, &batches)
        })
        .await
    }

    /// Deletes and counts: the new version and the number of rows deleted.
    #[napi]
    pub async fn delete_rows(&self, predicate: String) -> napi::Result<JsDeleteResult> {
        let t = self.inner.clone();
        guarded(async move {
            let (version, rows) = t.delete_counted(&predicate).await?;
            Ok(JsDeleteResult {
                version: version as i64,
                num_deleted_rows: rows as i64,
            })
        })
        .await
    }

    /// Deletes the rows the SQL predicate matches; returns the new version.
    #[napi]
    pub async fn delete(&self, predicate: String) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move { Ok(t.delete(&predicate).await? as i64) }).await
    }

    #[napi]
    pub async fn update(&self, options: JsUpdateOptions) -> napi::Result<JsUpdateResult> {
        let t = self.inner.clone();
        guarded(async move {
            let req = UpdateRequest::try_from(options)?;
            let (version, rows) = t
                .update_values(req.predicate.as_deref(), req.assignments, req.values)
                .await?;
            Ok(JsUpdateResult {
                version: version as i64,
                rows_updated: rows as i64,
            })
        })
        .await
    }

    #[napi]
    pub async fn merge_insert(&self, options: JsMergeInsertOptions) -> napi::Result<JsMergeResult> {
        let t = self.inner.clone();
        guarded(async move {
            let req = MergeInsertRequest::try_from(options)?;
            let (version, stats) = t.merge_insert(req.on, req.flags, req.batches).await?;
            Ok(JsMergeResult {
                version: version as i64,
                num_inserted_rows: stats.inserted as i64,
                num_updated_rows: stats.updated as i64,
                num_deleted_rows: stats.deleted as i64,
                num_attempts: stats.attempts,
            })
        })
        .await
    }

    #[napi]
    pub async fn list_versions(&self) -> napi::Result<Vec<JsVersion>> {
        let t = self.inner.clone();
        guarded(async move {
            Ok(t.list_versions()
                .await?
                .into_iter()
                .map(|v| JsVersion {
                    version: v.version as i64,
                    timestamp_ms: v.timestamp_ms as f64,
                    operation: v.operation,
                })
                .collect())
        })
        .await
    }

    #[napi]
    pub async fn checkout(
        &self,
        #[napi(ts_arg_type = "number")] version: Given<f64>,
    ) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move {
            t.checkout(args::integer("version", version, POSITIVE)?)
                .await
        })
        .await
    }

    #[napi]
    pub async fn checkout_latest(&self) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move { t.checkout_latest().await }).await
    }

    /// Returns the new version.
    #[napi]
    pub async fn restore(
        &self,
        #[napi(ts_arg_type = "number | undefined | null")] version: Option<Given<f64>>,
    ) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move {
            let v = args::opt_integer("version", version, POSITIVE)?;
            Ok(t.restore(v).await? as i64)
        })
        .await
    }

    /// Compaction and cleanup; `cleanup_older_than_ms` is a Unix-time cutoff.
    #[napi]
    pub async fn optimize(
        &self,
        #[napi(ts_arg_type = "number")] cleanup_older_than_ms: Given<f64>,
        #[napi(ts_arg_type = "boolean | undefined | null")] delete_unverified: Option<Given<bool>>,
    ) -> napi::Result<JsOptimizeStats> {
        let t = self.inner.clone();
        guarded(async move {
            let opts = OptimizeOptions {
                cleanup_older_than_ms: args::integer(
                    "cleanupOlderThan",
                    cleanup_older_than_ms,
                    args::COUNT,
                )?,
                delete_unverified: match delete_unverified {
                    Some(v) => v.get("deleteUnverified", "a boolean")?,
                    None => false,
                },
            };
            let s = t.optimize(opts).await?;
            Ok(JsOptimizeStats {
                fragments_removed: s.fragments_removed as i64,
                fragments_added: s.fragments_added as i64,
                old_versions_removed: s.old_versions_removed as i64,
                files_removed: s.files_removed as i64,
                bytes_removed: s.bytes_removed as i64,
            })
        })
        .await
    }

    /// Reads rows as an Arrow IPC stream.
    #[napi]
    pub async fn scan(&self, options: JsScanOptions) -> napi::Result<Buffer> {
        let t = self.inner.clone();
        guarded(async move {
            let timeout = options.timeout_ms;
            let req = ScanRequest::try_from(options)?;
            let t0 = std::time::Instant::now();
            let (schema, batches) = super::deadline::run(timeout, t.scan(&req)).await?;
            crate::query::span("scan", t0);
            let t0 = std::time::Instant::now();
            let ipc = batches_to_ipc(&schema, &batches);
            crate::query::span("scan: to ipc", t0);
            ipc
        })
        .await
    }
}
