//! napi for `prewarmData`. Conversion only; the work is in `query::prewarm`.

use napi_derive::napi;

use super::guarded;
use super::table::JsTable;

#[napi]
impl JsTable {
    /// Loads `columns` (all when undefined) into the column cache.
    #[napi]
    pub async fn prewarm_data(&self, columns: Option<Vec<String>>) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move { t.prewarm_data(columns).await }).await
    }
}
