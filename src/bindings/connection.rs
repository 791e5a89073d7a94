use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::args::{self, Given};
use super::credentials::{provided, JsCredentialsFn};
use super::{guarded, ipc_to_batches, raw_options, JsTable};
use crate::error::{Error, Result};
use crate::storage::ProcessEnv;
use crate::table::clone::CloneTableRequest;
use crate::table::request::{ConnectRequest, TableNamesRequest};
use crate::table::{CreateMode, CreateTableRequest, Database};

// What `createTable` does when the table exists.
string_enum! {
    pub enum JsCreateMode {
        Create = "create",
        Overwrite = "overwrite",
    }
}

impl From<JsCreateMode> for CreateMode {
    fn from(m: JsCreateMode) -> Self {
        match m {
            JsCreateMode::Create => CreateMode::Create,
            JsCreateMode::Overwrite => CreateMode::Overwrite,
        }
    }
}

#[napi(object, object_to_js = false)]
pub struct JsConnectOptions {
    pub uri: String,
    #[napi(ts_type = "Record<string, unknown>")]
    pub storage_options: Option<Given<serde_json::Value>>,
    /// Seconds.
    #[napi(ts_type = "number")]
    pub read_consistency_interval: Option<Given<f64>>,
    /// The wrapped credentials function (lib/credentials.ts).
    #[napi(ts_type = "() => Promise<string>")]
    pub credentials: Option<JsCredentialsFn>,
}

impl TryFrom<JsConnectOptions> for ConnectRequest {
    type Error = Error;

    fn try_from(o: JsConnectOptions) -> Result<Self> {
        Ok(ConnectRequest {
            uri: o.uri,
            storage_options: raw_options(o.storage_options)?,
            read_consistency_interval: o
                .read_consistency_interval
                .map(|v| args::duration("readConsistencyInterval", "seconds", 1.0, v))
                .transpose()?,
            credentials: provided(o.credentials),
        })
    }
}

#[napi(object, object_to_js = false)]
pub struct JsTableNamesOptions {
    #[napi(ts_type = "string")]
    pub start_after: Option<Given<String>>,
    #[napi(ts_type = "number")]
    pub limit: Option<Given<f64>>,
}

impl TryFrom<JsTableNamesOptions> for TableNamesRequest {
    type Error = Error;

    fn try_from(o: JsTableNamesOptions) -> Result<Self> {
        Ok(TableNamesRequest {
            start_after: o
                .start_after
                .map(|s| s.get("startAfter", "a table name (a string)"))
                .transpose()?,
            limit: args::opt_count("limit", o.limit)?,
        })
    }
}

#[napi(object, object_to_js = false)]
pub struct JsOpenTableOptions {
    #[napi(ts_type = "Record<string, unknown>")]
    pub storage_options: Option<Given<serde_json::Value>>,
    #[napi(ts_type = "() => Promise<string>")]
    pub credentials: Option<JsCredentialsFn>,
}

#[napi(object, object_to_js = false)]
pub struct JsCreateTableOptions {
    pub name: String,
    /// An Arrow IPC stream carrying the schema (and maybe no rows): one
    /// buffer, or the pieces of one in order (joined here, off the JS thread).
    #[napi(ts_type = "Buffer | Buffer[]")]
    pub data: napi::Either<Buffer, Vec<Buffer>>,
    #[napi(ts_type = "JsCreateMode")]
    pub mode: Option<Given<String>>,
    #[napi(ts_type = "boolean")]
    pub exist_ok: Option<Given<bool>>,
    #[napi(ts_type = "Record<string, unknown>")]
    pub storage_options: Option<Given<serde_json::Value>>,
    #[napi(ts_type = "() => Promise<string>")]
    pub credentials: Option<JsCredentialsFn>,
}

impl TryFrom<JsCreateTableOptions> for CreateTableRequest {
    type Error = Error;

    fn try_from(o: JsCreateTableOptions) -> Result<Self> {
        let (schema, batches) = match o.data {
            napi::Either::A(one) => ipc_to_batches(one)?,
            napi::Either::B(pieces) => super::ipc_pieces_to_batches(pieces)?,
        };
        Ok(CreateTableRequest {
            name: o.name,
            schema,
            batches,
            mode: args::opt_choice::<JsCreateMode>("mode", o.mode)?
                .map(Into::into)
                .unwrap_or_default(),
            exist_ok: o
                .exist_ok
                .map(|b| b.get("existOk", "a boolean"))
                .transpose()?
                .unwrap_or_default(),
            storage_options: raw_options(o.storage_options)?,
            credentials: provided(o.credentials),
        })
    }
}

/// `cloneTable` (lib/connection.ts); `targetNamespacePath` is checked there.
#[napi(object, object_to_js = false)]
pub struct JsCloneTableOptions {
    pub target_table_name: String,
    pub source_uri: String,
    #[napi(ts_type = "number")]
    pub source_version: Option<Given<f64>>,
    #[napi(ts_type = "string")]
    pub source_tag: Option<Given<String>>,
    #[napi(ts_type = "boolean")]
    pub is_shallow: Option<Given<bool>>,
}

impl TryFrom<JsCloneTableOptions> for CloneTableRequest {
    type Error = Error;

    fn try_from(o: JsCloneTableOptions) -> Result<Self> {
        Ok(CloneTableRequest {
            target: o.target_table_name,
            source_uri: o.source_uri,
            source_version: args::opt_integer("sourceVersion", o.source_version, args::POSITIVE)?,
            source_tag: o
                .source_tag
                .map(|t| t.get("sourceTag", "a tag name (a string)"))
                .transpose()?,
            shallow: o
                .is_shallow
                .map(|b| b.get("isShallow", "a boolean"))
                .transpose()?
                .unwrap_or(true),
        })
    }
}

/// What `cleanupIncompleteUploads` found.
#[napi(object, object_from_js = false)]
pub struct JsCleanupStats {
    pub found: i64,
    pub aborted: i64,
}

#[napi]
pub struct JsConnection {
    pub(super) inner: Arc<Database>,
}

handle_methods!(JsConnection);

#[napi]
impl JsConnection {
    #[napi(factory)]
    pub async fn connect(options: JsConnectOptions) -> napi::Result<JsConnection> {
        guarded(async move {
            let req = ConnectRequest::try_from(options)?;
            let db = Database::connect(
                &req.uri,
                req.storage_options,
                &ProcessEnv,
                req.read_consistency_interval,
                req.credentials,
            )
            .await?;
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
    pub async fn table_names(&self, options: JsTableNamesOptions) -> napi::Result<Vec<String>> {
        let db = self.inner.clone();
        guarded(async move {
            let req = TableNamesRequest::try_from(options)?;
            db.table_names(req.start_after.as_deref(), req.limit).await
        })
        .await
    }

    #[napi]
    pub async fn open_table(
        &self,
        name: String,
        options: JsOpenTableOptions,
    ) -> napi::Result<JsTable> {
        let db = self.inner.clone();
        guarded(async move {
            let opts = raw_options(options.storage_options)?;
            let credentials = provided(options.credentials);
            Ok(JsTable::new(
                db.open_table(&name, &opts, credentials.as_ref()).await?,
            ))
        })
        .await
    }

    #[napi]
    pub async fn create_table(&self, options: JsCreateTableOptions) -> napi::Result<JsTable> {
        let db = self.inner.clone();
        guarded(async move {
            let t0 = std::time::Instant::now();
            let req = CreateTableRequest::try_from(options)?;
            crate::query::span("create: from ipc", t0);
            Ok(JsTable::new(db.create_table(req).await?))
        })
        .await
    }

    /// Aborts incomplete multipart uploads older than `older_than_ms`.
    #[napi]
    pub async fn cleanup_incomplete_uploads(
        &self,
        #[napi(ts_arg_type = "number")] older_than_ms: Given<f64>,
    ) -> napi::Result<JsCleanupStats> {
        let db = self.inner.clone();
        guarded(async move {
            let age = args::duration("olderThan", "milliseconds", 0.001, older_than_ms)?;
            let s = db.cleanup_incomplete_uploads(age).await?;
            Ok(JsCleanupStats {
                found: s.found as i64,
                aborted: s.aborted as i64,
            })
        })
        .await
    }

    #[napi]
    pub async fn clone_table(&self, options: JsCloneTableOptions) -> napi::Result<JsTable> {
        let db = self.inner.clone();
        guarded(async move {
            let req = CloneTableRequest::try_from(options)?;
            Ok(JsTable::new(db.clone_table(req).await?))
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
