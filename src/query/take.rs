//! Take: rows by row id or by position among the live rows, reading only
//! those rows (the column cache first, then a Parquet row selection), in the
//! order the table stores them, as LanceDB returns them.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use super::{deleted_offsets, project, read_rows, reorder, with_row_id_field};
use crate::error::Result;
use crate::format::Snapshot;

/// Which rows to take.
#[derive(Debug, Clone)]
pub enum TakeBy {
    /// `_rowid` values: fragment id in the high 32 bits, row in the low 32.
    RowIds(Vec<u64>),
    /// Positions among the live rows of the version, in manifest order.
    Offsets(Vec<u64>),
}

#[derive(Debug, Clone)]
pub struct TakeRequest {
    pub by: TakeBy,
    /// Column names; `None` = all.
    pub columns: Option<Vec<String>>,
    pub with_row_id: bool,
}

/// The `k`-th (from 0) row offset of a file that is not in the sorted
/// `deleted` list.
fn nth_live(deleted: &[u32], k: u64) -> u64 {
    let mut o = k;
    for &d in deleted {
        if u64::from(d) <= o {
            o += 1;
        } else {
            break;
        }
    }
    o
}

pub async fn take(snap: &Snapshot, req: &TakeRequest) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (out_schema, out_idx) = project(&snap.schema, &req.columns)?;
    let out_schema = if req.with_row_id {
        with_row_id_field(&out_schema)
    } else {
        out_schema
    };
    let fragments = &snap.manifest.fragments;
    // (index into fragments, sorted row offsets within that file)
    let mut wanted: Vec<(usize, Vec<u32>)> = Vec::new();
    match &req.by {
        TakeBy::RowIds(ids) => {
            let mut by_frag: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
            for id in ids {
                // The low 32 bits are the row offset by construction.
                by_frag
                    .entry(id >> 32)
                    .or_default()
                    .push((id & 0xffff_ffff) as u32);
            }
            for (i, f) in fragments.iter().enumerate() {
                let Some(mut offs) = by_frag.remove(&f.id) else {
                    continue;
                };
                offs.sort_unstable();
                offs.dedup();
                offs.retain(|o| u64::from(*o) < f.rows);
                if let Some(del) = deleted_offsets(snap, f).await? {
                    offs.retain(|o| del.binary_search(o).is_err());
                }
                if !offs.is_empty() {
                    wanted.push((i, offs));
                }
            }
        }
        TakeBy::Offsets(positions) => {
            let mut pos = positions.clone();
            pos.sort_unstable();
            pos.dedup();
            let mut next = pos.into_iter().peekable();
            let mut base = 0u64;
            for (i, f) in fragments.iter().enumerate() {
                if next.peek().is_none() {
                    break;
                }
                let del = deleted_offsets(snap, f).await?;
                let live = f.rows - del.as_ref().map_or(0, |d| d.len() as u64);
                let mut offs = Vec::new();
                while let Some(&p) = next.peek() {
                    if p >= base + live {
                        break;
                    }
                    next.next();
                    let k = p - base;
                    let o = del.as_deref().map_or(k, |d| nth_live(d, k));
                    // A data file holds fewer than 2^32 rows (row ids keep the
                    // offset in 32 bits).
                    offs.push(o as u32);
                }
                base += live;
                if !offs.is_empty() {
                    wanted.push((i, offs));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(wanted.len());
    for (i, offs) in wanted {
        let batch = read_rows(snap, &fragments[i], &out_idx, &offs, req.with_row_id).await?;
        out.push(reorder(&batch, &out_schema)?);
    }
    Ok((out_schema, out))
}

#[cfg(test)]
mod tests {
    use super::nth_live;

    #[test]
    fn nth_live_skips_deleted_rows() {
        assert_eq!(nth_live(&[], 3), 3);
        assert_eq!(nth_live(&[0, 1], 0), 2);
        assert_eq!(nth_live(&[1, 3], 1), 2);
        assert_eq!(nth_live(&[1, 3], 2), 4);
        assert_eq!(nth_live(&[5], 2), 2);
    }
}
