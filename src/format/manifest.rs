//! The manifest: one immutable JSON object per table version. See
//! docs/FORMAT.md for the layout another implementation needs.

use std::io::Cursor;
use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FORMAT: &str = "stowage-table";
/// The newest format this Stowage reads. Version 2 adds field ids and
/// column files (schema evolution); version 3 lets a manifest name files of
/// another table (shallow clones, `format::shared`). A manifest is written
/// with the lowest version that describes it (see
/// [`Manifest::required_format_version`]), so older readers still open
/// tables that use neither.
pub const FORMAT_VERSION: u32 = 3;
/// The format of a manifest with field ids.
pub const FORMAT_VERSION_FIELD_IDS: u32 = 2;
/// The format of a manifest naming files outside its table directory.
pub const FORMAT_VERSION_SHARED: u32 = 3;
/// The format of a manifest without field ids.
pub const FORMAT_VERSION_BASE: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub version: u64,
    pub timestamp_ms: u64,
    pub operation: Operation,
    /// The table's identity, fixed when version 1 is created: a table that
    /// is dropped and created again under the same name gets a new id, so a
    /// handle of the old table can never commit into the new one's history.
    /// Absent in tables written before it existed. Kept ahead of `schema`
    /// so a [`ManifestSummary`] can be read from a short prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<String>,
    /// This manifest's own id (a UUID). With `ancestry` it lets a writer
    /// tell a commit on the table's chain from one on a version number a
    /// cleanup freed (see `table::txn`). Absent in older tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_id: Option<String>,
    /// The Arrow schema as an IPC stream (schema message, no batches), base64.
    pub schema: String,
    pub fragments: Vec<Fragment>,
    pub next_fragment_id: u64,
    /// The field id of every field of `schema`, in pre-order (each
    /// top-level field, then the children of a struct, recursively). Absent
    /// until the schema first evolves: the ids are then `0, 1, 2, ...` in
    /// that order (see `format::fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ids: Option<Vec<i32>>,
    /// The id the next new field gets; ids are never reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_field_id: Option<i32>,
    /// The table's indexes (docs/FORMAT.md, "Indexes"). Absent when the
    /// table has none, so older manifests read unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indices: Vec<crate::format::index::IndexEntry>,
    /// The `commit_id`s of the versions this one was built on, newest (the
    /// parent) first, at most [`ANCESTRY_LEN`]. Last in the object, so the
    /// summary prefix stays short.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ancestry: Vec<String>,
}

/// How many ancestors a manifest names.
pub const ANCESTRY_LEN: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Operation {
    Create {
        rows: u64,
    },
    Overwrite {
        rows: u64,
    },
    Append {
        rows: u64,
    },
    Delete {
        rows: u64,
    },
    Update {
        rows: u64,
    },
    Merge {
        inserted: u64,
        updated: u64,
        deleted: u64,
    },
    Restore {
        from_version: u64,
    },
    Compact {
        fragments_removed: u64,
        fragments_added: u64,
    },
    /// Schema evolution; `columns`: how many columns it changed.
    AddColumns {
        columns: u64,
    },
    AlterColumns {
        columns: u64,
    },
    DropColumns {
        columns: u64,
    },
    UpdateFieldMetadata {
        columns: u64,
    },
    CreateIndex {
        name: String,
    },
    DropIndex {
        name: String,
    },
    /// Segments of an index added or merged by `optimize()`.
    OptimizeIndex {
        name: String,
    },
    /// The first version of a shallow clone of another table's
    /// `from_version` (its number is that version's).
    Clone {
        from_version: u64,
    },
}

/// One immutable Parquet data file (the base file), plus the column files
/// added to it by schema evolution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Fragment {
    pub id: u64,
    /// Relative to the table directory, e.g. `data/<uuid>.parquet`.
    pub path: String,
    pub rows: u64,
    pub size_bytes: u64,
    /// The field ids the base file holds, in the pre-order of its own
    /// schema. Absent: `0, 1, 2, ...` (files written before field ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<i32>>,
    /// Files holding columns added after the base file was written, each
    /// with `rows` rows in the same order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnFile>,
    /// Rows of this file deleted since it was written, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion: Option<Deletion>,
}

/// A file of extra columns of a fragment (schema evolution).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnFile {
    /// Relative to the table directory, e.g. `data/<uuid>.parquet`.
    pub path: String,
    /// The field ids it holds, in the pre-order of its schema.
    pub fields: Vec<i32>,
    pub size_bytes: u64,
}

/// A deletion file: the sorted offsets (within the data file) of deleted
/// rows, as little-endian u32, no header.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Deletion {
    /// Relative to the table directory, e.g. `_deletions/<uuid>.bin`.
    pub path: String,
    pub count: u64,
}

impl Fragment {
    /// Rows still live in this file.
    pub fn live_rows(&self) -> u64 {
        self.rows - self.deletion.as_ref().map(|d| d.count).unwrap_or(0)
    }

    /// Every file of the fragment: the base file, then its column files.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.path.as_str()).chain(self.columns.iter().map(|c| c.path.as_str()))
    }

    /// Bytes of its data files.
    pub fn data_bytes(&self) -> u64 {
        self.size_bytes + self.columns.iter().map(|c| c.size_bytes).sum::<u64>()
    }
}

impl Manifest {
    pub fn rows(&self) -> u64 {
        self.fragments.iter().map(|f| f.live_rows()).sum()
    }

    pub fn to_bytes(&self) -> Result<bytes::Bytes> {
        serde_json::to_vec_pretty(self)
            .map(bytes::Bytes::from)
            .map_err(|e| Error::internal(format!("encoding manifest: {e}")))
    }

    pub fn from_bytes(table: &str, bytes: &[u8]) -> Result<Self> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
            table: table.to_string(),
            reason: format!("unreadable manifest: {e}"),
        })?;
        if m.format != FORMAT || m.format_version > FORMAT_VERSION {
            return Err(Error::Corrupt {
                table: table.to_string(),
                reason: format!(
                    "manifest format '{}' v{} is not supported by this Stowage (reads '{FORMAT}' up to v{FORMAT_VERSION}); upgrade Stowage",
                    m.format, m.format_version
                ),
            });
        }
        Ok(m)
    }

    pub fn schema(&self, table: &str) -> Result<SchemaRef> {
        decode_schema(&self.schema).map_err(|e| Error::Corrupt {
            table: table.to_string(),
            reason: format!("unreadable schema in manifest v{}: {e}", self.version),
        })
    }
}

/// What `listVersions()` shows of a version: the fields a manifest stores
/// ahead of its schema and fragment list, so they can be read from a short
/// prefix of the object whatever the size of the table (a manifest's size
/// grows with its fragment list; reading every manifest whole made listing
/// quadratic in the number of versions of an append-only table).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ManifestSummary {
    pub version: u64,
    pub timestamp_ms: u64,
    pub operation: Operation,
    #[serde(default)]
    pub table_id: Option<String>,
}

/// How many leading bytes of a manifest hold its summary (with room to spare:
/// the fields before `schema` take about 250 bytes).
pub const SUMMARY_PREFIX_BYTES: u64 = 2048;

impl ManifestSummary {
    /// Parses the summary from the leading bytes of a manifest (or from the
    /// whole of it). `None` when the prefix is too short to hold it.
    pub fn from_prefix(table: &str, bytes: &[u8]) -> Result<Option<Self>> {
        let corrupt = |e: String| Error::Corrupt {
            table: table.to_string(),
            reason: format!("unreadable manifest: {e}"),
        };
        if let Ok(whole) = serde_json::from_slice::<ManifestSummary>(bytes) {
            return Ok(Some(whole));
        }
        // The writer serializes the fields in declaration order, and no key
        // or value before `schema` contains the text `"schema"`: cut there and
        // close the object.
        let Some(at) = find(bytes, b"\"schema\"") else {
            return Ok(None);
        };
        let head = &bytes[..at];
        let Some(comma) = head.iter().rposition(|b| *b == b',') else {
            return Err(corrupt("no fields before the schema".into()));
        };
        let mut text = head[..comma].to_vec();
        text.push(b'}');
        serde_json::from_slice::<ManifestSummary>(&text)
            .map(Some)
            .map_err(|e| corrupt(e.to_string()))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn encode_schema(schema: &Schema) -> Result<String> {
    let mut buf = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, schema)?;
        w.finish()?;
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

fn decode_schema(text: &str) -> std::result::Result<SchemaRef, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| e.to_string())?;
    let reader = arrow_ipc::reader::StreamReader::try_new(Cursor::new(bytes), None)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(reader.schema().as_ref().clone()))
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field};

    #[test]
    fn manifest_round_trips() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Float64, true),
            Field::new(
                "vector",
                DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), 2),
                true,
            ),
        ]);
        let m = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            version: 3,
            timestamp_ms: 1,
            operation: Operation::Append { rows: 2 },
            schema: encode_schema(&schema).unwrap(),
            fragments: vec![Fragment {
                id: 0,
                path: "data/a.parquet".into(),
                rows: 2,
                size_bytes: 10,
                fields: None,
                columns: Vec::new(),
                deletion: Some(Deletion {
                    path: "_deletions/d.bin".into(),
                    count: 1,
                }),
            }],
            next_fragment_id: 1,
            field_ids: None,
            next_field_id: None,
            indices: Vec::new(),
            table_id: Some("5b0c".into()),
            commit_id: Some("c1".into()),
            ancestry: vec!["c0".into()],
        };
        let back = Manifest::from_bytes("t", &m.to_bytes().unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.schema("t").unwrap().as_ref(), &schema);
        assert_eq!(back.rows(), 1);
    }

    #[test]
    fn summary_reads_from_a_prefix() {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        let mut m = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            version: 9,
            timestamp_ms: 42,
            operation: Operation::Merge {
                inserted: 1,
                updated: 2,
                deleted: 3,
            },
            table_id: Some("abc".into()),
            commit_id: Some("6f1d0b9e-3c55-4d4b-9e0c-6a6a3d0f7c11".into()),
            schema: encode_schema(&schema).unwrap(),
            fragments: Vec::new(),
            next_fragment_id: 0,
            field_ids: None,
            next_field_id: None,
            indices: Vec::new(),
            ancestry: vec!["0c9b6a1e-5d2f-4e7a-8b3c-1f2e3d4c5b6a".into()],
        };
        for i in 0..2000 {
            m.fragments.push(Fragment {
                id: i,
                path: format!("data/{i}.parquet"),
                rows: 1,
                size_bytes: 1,
                ..Default::default()
            });
        }
        let bytes = m.to_bytes().unwrap();
        assert!(bytes.len() as u64 > 10 * SUMMARY_PREFIX_BYTES);
        let want = ManifestSummary {
            version: 9,
            timestamp_ms: 42,
            operation: m.operation.clone(),
            table_id: Some("abc".into()),
        };
        let prefix = &bytes[..SUMMARY_PREFIX_BYTES as usize];
        assert_eq!(
            ManifestSummary::from_prefix("t", prefix).unwrap(),
            Some(want.clone())
        );
        assert_eq!(
            ManifestSummary::from_prefix("t", &bytes).unwrap(),
            Some(want)
        );
        // Manifests written before table ids existed.
        m.table_id = None;
        let old = m.to_bytes().unwrap();
        let s = ManifestSummary::from_prefix("t", &old[..SUMMARY_PREFIX_BYTES as usize])
            .unwrap()
            .unwrap();
        assert_eq!(s.table_id, None);
        assert_eq!(ManifestSummary::from_prefix("t", &old[..20]).unwrap(), None);
    }

    #[test]
    fn newer_formats_are_refused_clearly() {
        let text = r#"{"format":"stowage-table","format_version":99,"version":1,"timestamp_ms":0,"operation":{"type":"create","rows":0},"schema":"","fragments":[],"next_fragment_id":0}"#;
        let err = Manifest::from_bytes("t", text.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "CORRUPT_TABLE");
        assert!(err.to_string().contains("upgrade Stowage"));
    }
}
