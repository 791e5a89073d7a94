//! Deletion files: which rows of a data file are gone, without rewriting it.
//! Format: the sorted row offsets as little-endian u32, no header.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use super::data_path;
use super::manifest::Deletion;
use crate::error::{Error, Result};
use crate::storage::StoreHandle;

pub const DELETIONS_DIR: &str = "_deletions";

pub async fn read(store: &StoreHandle, table_dir: &Path, d: &Deletion) -> Result<Vec<u32>> {
    crate::query::fast::io_gate().await;
    let path = data_path(table_dir, &d.path);
    let bytes = store
        .store
        .get(&path)
        .await
        .map_err(|e| store.error(e, format!("Reading deletion file {path}")))?
        .bytes()
        .await
        .map_err(|e| store.error(e, format!("Reading deletion file {path}")))?;
    decode(&bytes).ok_or_else(|| Error::Corrupt {
        table: table_dir.to_string(),
        reason: format!("deletion file {path} is not a whole number of u32 offsets"),
    })
}

fn decode(bytes: &[u8]) -> Option<Vec<u32>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Writes a new deletion file for `offsets` (sorted, unique).
pub async fn write(store: &StoreHandle, table_dir: &Path, offsets: &[u32]) -> Result<Deletion> {
    let rel = format!("{DELETIONS_DIR}/{}.bin", uuid::Uuid::new_v4());
    let path = data_path(table_dir, &rel);
    let mut buf = Vec::with_capacity(offsets.len() * 4);
    for o in offsets {
        buf.extend_from_slice(&o.to_le_bytes());
    }
    store
        .store
        .put(&path, PutPayload::from(Bytes::from(buf)))
        .await
        .map_err(|e| store.error(e, format!("Writing deletion file {path}")))?;
    Ok(Deletion {
        path: rel,
        count: offsets.len() as u64,
    })
}

/// Merges two sorted offset lists.
pub fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = a.iter().chain(b).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_union() {
        let offs = [1u32, 5, 70000];
        let bytes: Vec<u8> = offs.iter().flat_map(|o| o.to_le_bytes()).collect();
        assert_eq!(decode(&bytes).unwrap(), offs);
        assert!(decode(&bytes[..5]).is_none());
        assert_eq!(union(&[1, 5], &[3, 5, 9]), vec![1, 3, 5, 9]);
    }
}
