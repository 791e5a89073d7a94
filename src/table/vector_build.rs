//! Vector index builds over a table's data files (issue 10, milestone 2).

use super::indexing::{BuildContext, BuiltSegment, IndexConfig, VectorIndexOptions};
use crate::error::{Error, Result};
use crate::format::index::IndexEntry;
use crate::format::Snapshot;

pub(crate) async fn build(
    _config: &IndexConfig,
    _options: &VectorIndexOptions,
    _ctx: &BuildContext<'_>,
) -> Result<BuiltSegment> {
    Err(Error::NotSupported(
        "vector indexes are not available yet in this build; search is exact".into(),
    ))
}

pub(crate) async fn prewarm(_snap: &Snapshot, _entry: &IndexEntry) -> Result<()> {
    Err(Error::NotSupported(
        "vector indexes are not available yet in this build".into(),
    ))
}
