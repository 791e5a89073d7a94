use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::{guarded, ipc_to_batches, raw_options, JsEffectiveOption, JsTable};
use crate::error::Error;
use crate::storage::ProcessEnv;
use crate::table::{CreateMode, CreateTableRequest, Database};

#[napi]
pub struct JsConnection {
    inner: Arc<Database>,
}

#[napi(object, object_to_js = false)]
pub struct JsCreateTableOptions {
    /// "create" or "overwrite".
    pub mode: Option<String>,
    pub exist_ok: Option<bool>,
    pub storage_options: Option<serde_json::Value>,
}

fn create_mode(mode: Option<&str>) -> crate::error::Result<CreateMode> {
    match mode.unwrap_or("create") {
        "create" => Ok(CreateMode::Create),
        "overwrite" => Ok(CreateMode::Overwrite),
        other => Err(Error::invalid_argument(format!(
            "mode '{other}' is not valid for createTable; use \"create\" or \"overwrite\""
        ))),
    }
}

#[napi]
impl JsConnection {
    #[napi(factory)]
    pub async fn connect(
        uri: String,
        storage_options: Option<serde_json::Value>,
        read_consistency_interval: Option<f64>,
    ) -> napi::Result<JsConnection> {
        guarded(async move {
            let opts = raw_options(storage_options)?;
            let interval = match read_consistency_interval {
                Some(s) if !(s.is_finite() && s >= 0.0) => {
                    return Err(Error::invalid_argument(format!(
                        "readConsistencyInterval must be a non-negative number of seconds, got {s}"
                    )))
                }
                other => other.map(std::time::Duration::from_secs_f64),
            };
            let db = Database::connect(&uri, opts, &ProcessEnv, interval).await?;
            Ok(JsConnection {
                inner: Arc::new(db),
            })
        })
        .await
    }

    #[napi(getter)]
    pub fn uri(&self) -> String {
        self.inner.uri().to_string()
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

    #[napi]
    pub async fn table_names(
        &self,
        start_after: Option<String>,
        limit: Option<u32>,
    ) -> napi::Result<Vec<String>> {
        let db = self.inner.clone();
        guarded(async move {
            db.table_names(start_after.as_deref(), limit.map(|l| l as usize))
                .await
        })
        .await
    }

    #[napi]
    pub async fn open_table(
        &self,
        name: String,
        storage_options: Option<serde_json::Value>,
    ) -> napi::Result<JsTable> {
        let db = self.inner.clone();
        guarded(async move {
            let opts = raw_options(storage_options)?;
            Ok(JsTable::new(db.open_table(&name, &opts).await?))
        })
        .await
    }

    /// `data` is an Arrow IPC stream carrying the schema (and maybe no rows).
    #[napi]
    pub async fn create_table(
        &self,
        name: String,
        data: Buffer,
        options: Option<JsCreateTableOptions>,
    ) -> napi::Result<JsTable> {
        let db = self.inner.clone();
        guarded(async move {
            let (schema, batches) = ipc_to_batches(data)?;
            let (mode, exist_ok, storage) = match options {
                Some(o) => (
                    create_mode(o.mode.as_deref())?,
                    o.exist_ok.unwrap_or(false),
                    raw_options(o.storage_options)?,
                ),
                None => (CreateMode::Create, false, Vec::new()),
            };
            let req = CreateTableRequest {
                name,
                schema,
                batches,
                mode,
                exist_ok,
                storage_options: storage,
            };
            Ok(JsTable::new(db.create_table(req).await?))
        })
        .await
    }

    /// Aborts incomplete multipart uploads older than `older_than_ms`;
    /// returns [found, aborted].
    #[napi]
    pub async fn cleanup_incomplete_uploads(&self, older_than_ms: f64) -> napi::Result<Vec<i64>> {
        let db = self.inner.clone();
        guarded(async move {
            if !(older_than_ms.is_finite() && older_than_ms >= 0.0) {
                return Err(Error::invalid_argument(
                    "olderThan must be a non-negative number of milliseconds",
                ));
            }
            let s = db
                .cleanup_incomplete_uploads(std::time::Duration::from_millis(older_than_ms as u64))
                .await?;
            Ok(vec![s.found as i64, s.aborted as i64])
        })
        .await
    }

    #[napi]
    pub async fn drop_table(&self, name: String) -> napi::Result<()> {
        let db = self.inner.clone();
        guarded(async move { db.drop_table(&name).await }).await
    }

    #[napi]
    pub async fn drop_all_tables(&self) -> napi::Result<()> {
        let db = self.inner.clone();
        guarded(async move { db.drop_all_tables().await }).await
    }
}
