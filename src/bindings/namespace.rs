//! napi for namespaces (src/table/namespace.rs): a second `#[napi] impl`
//! block of `JsConnection`, so that connection.rs stays as it was.

use std::collections::HashMap;

use napi_derive::napi;

use super::args::{self, Given};
use super::connection::{
    JsConnection, JsCreateTableOptions, JsOpenTableOptions, JsTableNamesOptions,
};
use super::credentials::provided;
use super::{guarded, raw_options, JsTable};
use crate::error::Result;
use crate::table::namespace::{
    NamespaceCreateMode, NamespaceDropBehavior, NamespaceDropMode, NamespacePath,
};
use crate::table::request::TableNamesRequest;
use crate::table::CreateTableRequest;

// `createNamespace({ mode })`.
string_enum! {
    pub enum JsNamespaceCreateMode {
        Create = "create",
        ExistOk = "exist_ok",
        Overwrite = "overwrite",
    }
}

impl From<JsNamespaceCreateMode> for NamespaceCreateMode {
    fn from(m: JsNamespaceCreateMode) -> Self {
        match m {
            JsNamespaceCreateMode::Create => NamespaceCreateMode::Create,
            JsNamespaceCreateMode::ExistOk => NamespaceCreateMode::ExistOk,
            JsNamespaceCreateMode::Overwrite => NamespaceCreateMode::Overwrite,
        }
    }
}

// `dropNamespace({ mode })`.
string_enum! {
    pub enum JsNamespaceDropMode {
        Skip = "skip",
        Fail = "fail",
    }
}

impl From<JsNamespaceDropMode> for NamespaceDropMode {
    fn from(m: JsNamespaceDropMode) -> Self {
        match m {
            JsNamespaceDropMode::Skip => NamespaceDropMode::Skip,
            JsNamespaceDropMode::Fail => NamespaceDropMode::Fail,
        }
    }
}

// `dropNamespace({ behavior })`.
string_enum! {
    pub enum JsNamespaceDropBehavior {
        Restrict = "restrict",
        Cascade = "cascade",
    }
}

impl From<JsNamespaceDropBehavior> for NamespaceDropBehavior {
    fn from(b: JsNamespaceDropBehavior) -> Self {
        match b {
            JsNamespaceDropBehavior::Restrict => NamespaceDropBehavior::Restrict,
            JsNamespaceDropBehavior::Cascade => NamespaceDropBehavior::Cascade,
        }
    }
}

#[napi(object, object_to_js = false)]
pub struct JsCreateNamespaceOptions {
    #[napi(ts_type = "JsNamespaceCreateMode")]
    pub mode: Option<Given<String>>,
    pub properties: Option<HashMap<String, String>>,
}

#[napi(object, object_to_js = false)]
pub struct JsDropNamespaceOptions {
    #[napi(ts_type = "JsNamespaceDropMode")]
    pub mode: Option<Given<String>>,
    #[napi(ts_type = "JsNamespaceDropBehavior")]
    pub behavior: Option<Given<String>>,
}

#[napi(object, object_to_js = false)]
pub struct JsListNamespacesOptions {
    #[napi(ts_type = "string")]
    pub page_token: Option<Given<String>>,
    #[napi(ts_type = "number")]
    pub limit: Option<Given<f64>>,
}

/// A namespace's properties (`describeNamespace`, `createNamespace`).
#[napi(object, object_from_js = false)]
pub struct JsNamespaceProperties {
    pub properties: HashMap<String, String>,
}

/// One page of `listNamespaces`.
#[napi(object, object_from_js = false)]
pub struct JsNamespacePage {
    pub namespaces: Vec<String>,
    pub page_token: Option<String>,
}

fn path(parts: Vec<String>) -> Result<NamespacePath> {
    NamespacePath::new(parts)
}

fn props(p: std::collections::BTreeMap<String, String>) -> JsNamespaceProperties {
    JsNamespaceProperties {
        properties: p.into_iter().collect(),
    }
}

#[napi]
impl JsConnection {
    #[napi]
    pub async fn create_namespace(
        &self,
        namespace: Vec<String>,
        options: JsCreateNamespaceOptions,
    ) -> napi::Result<JsNamespaceProperties> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            let mode = args::opt_choice::<JsNamespaceCreateMode>("mode", options.mode)?
                .map(Into::into)
                .unwrap_or_default();
            let properties = options.properties.unwrap_or_default().into_iter().collect();
            Ok(props(db.create_namespace(&ns, mode, properties).await?))
        })
        .await
    }

    #[napi]
    pub async fn describe_namespace(
        &self,
        namespace: Vec<String>,
    ) -> napi::Result<JsNamespaceProperties> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            Ok(props(db.describe_namespace(&ns).await?))
        })
        .await
    }

    #[napi]
    pub async fn list_namespaces(
        &self,
        namespace: Vec<String>,
        options: JsListNamespacesOptions,
    ) -> napi::Result<JsNamespacePage> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            let token = options
                .page_token
                .map(|t| t.get("pageToken", "a string (the pageToken of the previous page)"))
                .transpose()?;
            let limit = args::opt_count("limit", options.limit)?;
            let page = db.list_namespaces(&ns, token.as_deref(), limit).await?;
            Ok(JsNamespacePage {
                namespaces: page.namespaces,
                page_token: page.page_token,
            })
        })
        .await
    }

    #[napi]
    pub async fn drop_namespace(
        &self,
        namespace: Vec<String>,
        options: JsDropNamespaceOptions,
    ) -> napi::Result<()> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            let mode = args::opt_choice::<JsNamespaceDropMode>("mode", options.mode)?
                .map(Into::into)
                .unwrap_or_default();
            let behavior =
                args::opt_choice::<JsNamespaceDropBehavior>("behavior", options.behavior)?
                    .map(Into::into)
                    .unwrap_or_default();
            db.drop_namespace(&ns, mode, behavior).await
        })
        .await
    }

    #[napi]
    pub async fn namespace_table_names(
        &self,
        namespace: Vec<String>,
        options: JsTableNamesOptions,
    ) -> napi::Result<Vec<String>> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            let req = TableNamesRequest::try_from(options)?;
            db.namespace_table_names(&ns, req.start_after.as_deref(), req.limit)
                .await
        })
        .await
    }

    #[napi]
    pub async fn namespace_open_table(
        &self,
        namespace: Vec<String>,
        name: String,
        options: JsOpenTableOptions,
    ) -> napi::Result<JsTable> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            let opts = raw_options(options.storage_options)?;
            let credentials = provided(options.credentials);
            Ok(JsTable::new(
                db.namespace_open_table(&ns, &name, &opts, credentials.as_ref())
                    .await?,
            ))
        })
        .await
    }

    #[napi]
    pub async fn namespace_create_table(
        &self,
        namespace: Vec<String>,
        options: JsCreateTableOptions,
    ) -> napi::Result<JsTable> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            let req = CreateTableRequest::try_from(options)?;
            Ok(JsTable::new(db.namespace_create_table(&ns, req).await?))
        })
        .await
    }

    #[napi]
    pub async fn namespace_drop_table(
        &self,
        namespace: Vec<String>,
        name: String,
    ) -> napi::Result<()> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            db.namespace_drop_table(&ns, &name).await
        })
        .await
    }

    #[napi]
    pub async fn namespace_drop_all_tables(&self, namespace: Vec<String>) -> napi::Result<()> {
        let db = self.inner.clone();
        guarded(async move {
            let ns = path(namespace)?;
            db.namespace_drop_all_tables(&ns).await
        })
        .await
    }
}
