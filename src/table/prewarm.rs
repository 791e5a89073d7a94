//! `prewarmData`: the table's side (the version to read); the work is in
//! `query::prewarm`.

use super::Table;
use crate::error::Result;

impl Table {
    /// Loads columns `columns` (all when `None`) of the current version into
    /// the column cache.
    pub async fn prewarm_data(&self, columns: Option<Vec<String>>) -> Result<()> {
        let columns = &columns;
        self.read(|s| async move { crate::query::prewarm::prewarm_data(&s, columns).await })
            .await
    }
}
