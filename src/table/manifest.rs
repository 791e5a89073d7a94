//! The manifest: one immutable JSON object per table version. See
//! docs/FORMAT.md for the layout another implementation needs.

use std::io::Cursor;
use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FORMAT: &str = "stowage-table";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub version: u64,
    pub timestamp_ms: u64,
    pub operation: Operation,
    /// The Arrow schema as an IPC stream (schema message, no batches), base64.
    pub schema: String,
    pub fragments: Vec<Fragment>,
    pub next_fragment_id: u64,
}

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
}

/// One immutable Parquet data file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fragment {
    pub id: u64,
    /// Relative to the table directory, e.g. `data/<uuid>.parquet`.
    pub path: String,
    pub rows: u64,
    pub size_bytes: u64,
    /// Rows of this file deleted since it was written, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion: Option<Deletion>,
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
                deletion: Some(Deletion {
                    path: "_deletions/d.bin".into(),
                    count: 1,
                }),
            }],
            next_fragment_id: 1,
        };
        let back = Manifest::from_bytes("t", &m.to_bytes().unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.schema("t").unwrap().as_ref(), &schema);
        assert_eq!(back.rows(), 1);
    }

    #[test]
    fn newer_formats_are_refused_clearly() {
        let text = r#"{"format":"stowage-table","format_version":99,"version":1,"timestamp_ms":0,"operation":{"type":"create","rows":0},"schema":"","fragments":[],"next_fragment_id":0}"#;
        let err = Manifest::from_bytes("t", text.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "CORRUPT_TABLE");
        assert!(err.to_string().contains("upgrade Stowage"));
    }
}
