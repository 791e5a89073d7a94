use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::{batches_to_ipc, guarded, ipc_to_batches, JsEffectiveOption};
use crate::error::Error;
use crate::query::vector::{DistanceType, VectorRequest};
use crate::query::ScanRequest;
use crate::table::ops::MergeFlags;
use crate::table::{AddMode, OptimizeOptions, Table};

#[napi]
pub struct JsTable {
    inner: Arc<Table>,
}

impl JsTable {
    pub fn new(t: Table) -> Self {
        JsTable { inner: Arc::new(t) }
    }
}

#[napi(object, object_to_js = false)]
pub struct JsScanOptions {
    pub columns: Option<Vec<String>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub filter: Option<String>,
    pub with_row_id: Option<bool>,
    /// [alias, SQL expression] pairs, for select({ alias: "expr" }).
    pub expressions: Option<Vec<Vec<String>>>,
}

fn non_negative(what: &str, v: Option<i64>) -> crate::error::Result<Option<u64>> {
    match v {
        Some(n) if n < 0 => Err(Error::invalid_argument(format!(
            "{what} must be a non-negative integer, got {n}"
        ))),
        other => Ok(other.map(|n| n as u64)),
    }
}

#[napi(object, object_to_js = false)]
pub struct JsVectorOptions {
    pub vector: Vec<f64>,
    pub column: Option<String>,
    pub distance_type: Option<String>,
    pub limit: Option<i64>,
    pub filter: Option<String>,
    pub postfilter: Option<bool>,
    pub columns: Option<Vec<String>>,
    pub with_row_id: Option<bool>,
}

#[napi(object)]
pub struct JsVersion {
    pub version: i64,
    pub timestamp_ms: f64,
    pub operation: String,
}

#[napi(object, object_to_js = false)]
pub struct JsMergeOptions {
    pub on: Vec<String>,
    pub when_matched_update_all: bool,
    pub when_not_matched_insert_all: bool,
    pub when_not_matched_by_source_delete: bool,
}

#[napi(object)]
pub struct JsMergeResult {
    pub version: i64,
    pub num_inserted_rows: i64,
    pub num_updated_rows: i64,
    pub num_deleted_rows: i64,
}

#[napi(object)]
pub struct JsOptimizeStats {
    pub fragments_removed: i64,
    pub fragments_added: i64,
    pub old_versions_removed: i64,
    pub files_removed: i64,
    pub bytes_removed: i64,
}

fn version_arg(v: i64) -> crate::error::Result<u64> {
    if v < 1 {
        return Err(Error::invalid_argument(format!(
            "versions start at 1, got {v}"
        )));
    }
    Ok(v as u64)
}

#[napi]
impl JsTable {
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_string()
    }

    #[napi]
    pub fn is_open(&self) -> bool {
        self.inner.is_open()
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close()
    }

    #[napi]
    pub fn display(&self) -> String {
        self.inner.display()
    }

    #[napi]
    pub fn effective_storage_options(&self) -> Vec<JsEffectiveOption> {
        self.inner
            .effective_storage_options()
            .into_iter()
            .map(Into::into)
            .collect()
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

    /// `mode` is "append" or "overwrite"; returns the new version.
    #[napi]
    pub async fn add(&self, data: Buffer, mode: Option<String>) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move {
            let mode = match mode.as_deref().unwrap_or("append") {
                "append" => AddMode::Append,
                "overwrite" => AddMode::Overwrite,
                other => {
                    return Err(Error::invalid_argument(format!(
                        "mode '{other}' is not valid for add; use \"append\" or \"overwrite\""
                    )))
                }
            };
            let (schema, batches) = ipc_to_batches(data)?;
            Ok(t.add(schema, batches, mode).await? as i64)
        })
        .await
    }

    /// Flat nearest-neighbour search; rows as an Arrow IPC stream with `_distance`.
    #[napi]
    pub async fn vector_search(&self, options: JsVectorOptions) -> napi::Result<Buffer> {
        let t = self.inner.clone();
        guarded(async move {
            let k = non_negative("limit", options.limit)?.unwrap_or(10) as usize;
            let req = VectorRequest {
                vector: options.vector.iter().map(|v| *v as f32).collect(),
                column: options.column,
                distance: DistanceType::parse(options.distance_type.as_deref().unwrap_or("l2"))?,
                k,
                filter: options.filter,
                prefilter: !options.postfilter.unwrap_or(false),
                columns: options.columns,
                with_row_id: options.with_row_id.unwrap_or(false),
            };
            let (schema, batches) = t.vector_search(&req).await?;
            batches_to_ipc(&schema, &batches)
        })
        .await
    }

    /// Deletes the rows the SQL predicate matches; returns the new version.
    #[napi]
    pub async fn delete(&self, predicate: String) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move { Ok(t.delete(&predicate).await? as i64) }).await
    }

    /// `assignments`: [column, SQL expression] pairs.
    #[napi]
    pub async fn update(
        &self,
        predicate: Option<String>,
        assignments: Vec<Vec<String>>,
    ) -> napi::Result<Vec<i64>> {
        let t = self.inner.clone();
        guarded(async move {
            let pairs = assignments
                .into_iter()
                .map(|p| match <[String; 2]>::try_from(p) {
                    Ok([c, e]) => Ok((c, e)),
                    Err(_) => Err(Error::invalid_argument(
                        "update assignments are [column, expression] pairs",
                    )),
                })
                .collect::<crate::error::Result<Vec<_>>>()?;
            let (version, rows) = t.update(predicate.as_deref(), pairs).await?;
            Ok(vec![version as i64, rows as i64])
        })
        .await
    }

    #[napi]
    pub async fn merge_insert(
        &self,
        data: Buffer,
        options: JsMergeOptions,
    ) -> napi::Result<JsMergeResult> {
        let t = self.inner.clone();
        guarded(async move {
            let (_, batches) = ipc_to_batches(data)?;
            let flags = MergeFlags {
                when_matched_update_all: options.when_matched_update_all,
                when_not_matched_insert_all: options.when_not_matched_insert_all,
                when_not_matched_by_source_delete: options.when_not_matched_by_source_delete,
            };
            let (version, stats) = t.merge_insert(options.on, flags, batches).await?;
            Ok(JsMergeResult {
                version: version as i64,
                num_inserted_rows: stats.inserted as i64,
                num_updated_rows: stats.updated as i64,
                num_deleted_rows: stats.deleted as i64,
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
    pub async fn checkout(&self, version: i64) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move { t.checkout(version_arg(version)?).await }).await
    }

    #[napi]
    pub async fn checkout_latest(&self) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move { t.checkout_latest().await }).await
    }

    #[napi]
    pub async fn restore(&self, version: Option<i64>) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move {
            let v = version.map(version_arg).transpose()?;
            Ok(t.restore(v).await? as i64)
        })
        .await
    }

    /// Compaction and cleanup; `cleanup_older_than_ms` is a Unix-time cutoff.
    #[napi]
    pub async fn optimize(
        &self,
        cleanup_older_than_ms: f64,
        delete_unverified: Option<bool>,
    ) -> napi::Result<JsOptimizeStats> {
        let t = self.inner.clone();
        guarded(async move {
            if !(cleanup_older_than_ms.is_finite() && cleanup_older_than_ms >= 0.0) {
                return Err(Error::invalid_argument(
                    "cleanupOlderThan must be a valid Date",
                ));
            }
            let s = t
                .optimize(OptimizeOptions {
                    cleanup_older_than_ms: cleanup_older_than_ms as u64,
                    delete_unverified: delete_unverified.unwrap_or(false),
                })
                .await?;
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
    pub async fn scan(&self, options: Option<JsScanOptions>) -> napi::Result<Buffer> {
        let t = self.inner.clone();
        guarded(async move {
            let req = match options {
                Some(o) => ScanRequest {
                    columns: o.columns,
                    limit: non_negative("limit", o.limit)?,
                    offset: non_negative("offset", o.offset)?.unwrap_or(0),
                    filter: o.filter,
                    with_row_id: o.with_row_id.unwrap_or(false),
                    expressions: o
                        .expressions
                        .map(|list| {
                            list.into_iter()
                                .map(|p| match <[String; 2]>::try_from(p) {
                                    Ok([a, e]) => Ok((a, e)),
                                    Err(_) => Err(Error::invalid_argument(
                                        "select expressions are [alias, expression] pairs",
                                    )),
                                })
                                .collect::<crate::error::Result<Vec<_>>>()
                        })
                        .transpose()?,
                },
                None => ScanRequest::default(),
            };
            let (schema, batches) = t.scan(&req).await?;
            batches_to_ipc(&schema, &batches)
        })
        .await
    }
}
