//! The bytes of a table: manifests, data files, deletion files, the vector
//! column encoding, object paths and row ids. Each section of
//! docs/FORMAT.md names the module here that implements it.
//!
//! This layer knows no handles and no queries: it turns a table directory
//! and a manifest into objects and back. `table` and `query` build on it.

pub mod datafile;
pub mod deletion;
pub mod fields;
pub mod index;
pub mod manifest;
pub mod namespace;
pub mod reader;
pub mod shared;
pub mod vectors;

use std::sync::Arc;

use arrow_array::{RecordBatch, UInt64Array};
use arrow_schema::SchemaRef;
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::storage::StoreHandle;
use manifest::Manifest;

/// Suffix of a table's directory under the database prefix.
pub const TABLE_DIR_SUFFIX: &str = ".stowage";
/// Data files live under `<table dir>/data/`.
pub const DATA_DIR: &str = "data";
/// The `_rowid` column: fragment id in the high 32 bits, row offset within
/// the data file in the low 32.
pub const ROW_ID: &str = "_rowid";

/// The directory of table `name` under the database root.
pub fn table_dir(root: &Path, name: &str) -> Path {
    root.clone().join(format!("{name}{TABLE_DIR_SUFFIX}"))
}

/// The object path of a file named relative to the table directory
/// (manifests name files this way, e.g. `data/<uuid>.parquet`). A path
/// starting with `../` names a file of a sibling table (a shallow clone's
/// source, see `shared`).
pub fn data_path(table_dir: &Path, rel: &str) -> Path {
    let (up, rest) = shared::split_parents(rel);
    let base = if up == 0 {
        table_dir.clone()
    } else {
        let parts: Vec<_> = table_dir.parts().collect();
        Path::from_iter(parts[..parts.len().saturating_sub(up)].iter().cloned())
    };
    rest.split('/').fold(base, |p, part| p.join(part))
}

/// The row id of row `offset` of fragment `fragment_id`.
pub fn row_id(fragment_id: u64, offset: u64) -> u64 {
    (fragment_id << 32) | offset
}

/// The row offsets (within their data file) of a batch's `_rowid` column.
pub fn row_offsets(batch: &RecordBatch) -> Result<Vec<u32>> {
    let ids = batch
        .column_by_name(ROW_ID)
        .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
        .ok_or_else(|| Error::internal("row ids missing"))?;
    Ok(ids
        .values()
        .iter()
        .map(|id| (*id & 0xffff_ffff) as u32)
        .collect())
}

/// One version of one table, as a reader needs it: where its objects are,
/// its manifest and its decoded schema. Immutable: a new version is a new
/// snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub store: StoreHandle,
    pub dir: Path,
    pub manifest: Arc<Manifest>,
    pub schema: SchemaRef,
    /// The schema's field ids in pre-order (stored, or `0, 1, 2, ...`).
    pub field_ids: Arc<Vec<i32>>,
}

impl Snapshot {
    pub fn new(store: StoreHandle, dir: Path, manifest: Manifest, table: &str) -> Result<Self> {
        let schema = manifest.schema(table)?;
        let field_ids = match &manifest.field_ids {
            Some(ids) => {
                let want: usize = schema.fields().iter().map(|f| fields::id_count(f)).sum();
                if ids.len() != want {
                    return Err(Error::Corrupt {
                        table: table.to_string(),
                        reason: format!(
                            "manifest v{} lists {} field ids for {want} fields",
                            manifest.version,
                            ids.len()
                        ),
                    });
                }
                ids.clone()
            }
            None => fields::default_ids(&schema),
        };
        Ok(Snapshot {
            store,
            dir,
            manifest: Arc::new(manifest),
            schema,
            field_ids: Arc::new(field_ids),
        })
    }

    pub fn version(&self) -> u64 {
        self.manifest.version
    }

    /// Where the version's objects are, its manifest and its schema.
    pub fn parts(&self) -> (&StoreHandle, &Path, &Manifest, &SchemaRef) {
        (&self.store, &self.dir, &self.manifest, &self.schema)
    }

    /// The field id of top-level column `i`.
    pub fn column_id(&self, i: usize) -> i32 {
        let ranges = fields::top_level_ranges(self.schema.fields());
        ranges
            .get(i)
            .and_then(|r| self.field_ids.get(r.start))
            .copied()
            .unwrap_or(-1)
    }

    /// The ids new data files record: `None` while the table has none stored
    /// (its files then number their fields `0, 1, 2, ...` themselves).
    pub fn explicit_ids(&self) -> Option<Vec<i32>> {
        self.manifest.field_ids.clone()
    }

    /// The object path of a file this version names.
    pub fn path(&self, rel: &str) -> Path {
        data_path(&self.dir, rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_row_ids() {
        let dir = table_dir(&Path::from("db"), "t");
        assert_eq!(dir.as_ref(), "db/t.stowage");
        assert_eq!(
            data_path(&dir, "data/a.parquet").as_ref(),
            "db/t.stowage/data/a.parquet"
        );
        assert_eq!(
            data_path(&dir, "../s.stowage/data/a.parquet").as_ref(),
            "db/s.stowage/data/a.parquet"
        );
        let top = table_dir(&Path::from(""), "t");
        assert_eq!(
            data_path(&top, "../s.stowage/_deletions/d.bin").as_ref(),
            "s.stowage/_deletions/d.bin"
        );
        let id = row_id(3, 7);
        let b = RecordBatch::try_from_iter([(
            ROW_ID,
            Arc::new(UInt64Array::from(vec![id, row_id(0, u32::MAX as u64)])) as _,
        )])
        .unwrap();
        assert_eq!(row_offsets(&b).unwrap(), vec![7, u32::MAX]);
    }
}
