//! Bindings of branches (`table.branches()`, `currentBranch()`).

use napi_derive::napi;

use super::args::{self, Given, POSITIVE};
use super::guarded;
use super::table::JsTable;

#[napi(object, object_from_js = false)]
pub struct JsBranch {
    pub name: String,
    pub parent_branch: Option<String>,
    pub parent_version: i64,
    pub manifest_size: i64,
}

#[napi]
impl JsTable {
    /// The branch this handle is on, or `null` on main.
    #[napi]
    pub fn current_branch(&self) -> Option<String> {
        self.inner.current_branch().map(str::to_string)
    }

    #[napi]
    pub async fn list_branches(&self) -> napi::Result<Vec<JsBranch>> {
        let t = self.inner.clone();
        guarded(async move {
            Ok(t.list_branches()
                .await?
                .into_iter()
                .map(|(name, c)| JsBranch {
                    name,
                    parent_branch: c.parent_branch,
                    parent_version: c.parent_version as i64,
                    manifest_size: c.manifest_size as i64,
                })
                .collect())
        })
        .await
    }

    #[napi]
    pub async fn create_branch(
        &self,
        name: String,
        from_ref: Option<String>,
        #[napi(ts_arg_type = "number | undefined | null")] from_version: Option<Given<f64>>,
    ) -> napi::Result<JsTable> {
        let t = self.inner.clone();
        guarded(async move {
            let v = args::opt_integer("fromVersion", from_version, POSITIVE)?;
            let b = t.create_branch(&name, from_ref.as_deref(), v).await?;
            Ok(JsTable::new(b))
        })
        .await
    }

    #[napi]
    pub async fn checkout_branch(
        &self,
        name: String,
        #[napi(ts_arg_type = "number | undefined | null")] version: Option<Given<f64>>,
    ) -> napi::Result<JsTable> {
        let t = self.inner.clone();
        guarded(async move {
            let v = args::opt_integer("version", version, POSITIVE)?;
            Ok(JsTable::new(t.checkout_branch(&name, v).await?))
        })
        .await
    }

    #[napi]
    pub async fn delete_branch(&self, name: String) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move { t.delete_branch(&name).await }).await
    }
}
