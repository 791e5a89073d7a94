//! Take: rows by row id or by position among the live rows, reading only
//! those rows (the column cache first, then a Parquet row selection), in the
//! order the table stores them, as LanceDB returns them.

use std::collections::{BTreeMap, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;

use super::{
    deleted_offsets, evaluate_expressions, parse_expressions, project, read_rows, reorder,
    with_row_id_field,
};
use crate::error::{Error, Result};
use crate::format::{Snapshot, ROW_ID};

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
    /// `select({ alias: "sql expression" })`: computed columns (replaces `columns`).
    pub expressions: Option<Vec<(String, String)>>,
    pub with_row_id: bool,
    /// Row ids: return the rows in the order (and multiplicity) of the ids
    /// given, not in stored order (for orderBy and vector searches).
    pub in_given_order: bool,
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
    let Some(exprs) = &req.expressions else {
        return take_columns(snap, req).await;
    };
    let (parsed, needed) = parse_expressions(&snap.schema, exprs)?;
    let inner = TakeRequest {
        columns: Some(needed),
        expressions: None,
        ..req.clone()
    };
    let (_, batches) = take_columns(snap, &inner).await?;
    evaluate_expressions(&snap.schema, &parsed, batches, req.with_row_id)
}

async fn take_columns(snap: &Snapshot, req: &TakeRequest) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (projected, out_idx) = project(&snap.schema, &req.columns)?;
    let ordered = req.in_given_order && matches!(req.by, TakeBy::RowIds(_));
    // The given order is found through the row ids, so they are read then.
    let read_row_id = req.with_row_id || ordered;
    let out_schema = if read_row_id {
        with_row_id_field(&projected)
    } else {
        projected.clone()
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
        let batch = read_rows(snap, &fragments[i], &out_idx, &offs, read_row_id).await?;
        out.push(reorder(&batch, &out_schema)?);
    }
    match (&req.by, ordered) {
        (TakeBy::RowIds(ids), true) => {
            let final_schema = if req.with_row_id {
                out_schema.clone()
            } else {
                projected
            };
            Ok((
                final_schema.clone(),
                vec![in_order(&out, ids, &final_schema)?],
            ))
        }
        _ => Ok((out_schema, out)),
    }
}

/// The rows of `batches` (which carry `_rowid`) in the order of `ids`,
/// skipping ids with no row, as one batch of `schema`.
fn in_order(batches: &[RecordBatch], ids: &[u64], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut at: HashMap<u64, (usize, usize)> = HashMap::new();
    for (b, batch) in batches.iter().enumerate() {
        if let Some(col) = batch.column_by_name(ROW_ID) {
            let col = col.as_primitive::<UInt64Type>();
            for r in 0..batch.num_rows() {
                at.insert(col.value(r), (b, r));
            }
        }
    }
    let picks: Vec<(usize, usize)> = ids.iter().filter_map(|id| at.get(id).copied()).collect();
    let mut cols = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let col = if batches.is_empty() {
            arrow_array::new_empty_array(f.data_type())
        } else {
            let parts: Vec<&dyn Array> = batches
                .iter()
                .map(|b| b.column_by_name(f.name()).map(|c| c.as_ref()))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    Error::internal(format!("column {} missing after take", f.name()))
                })?;
            arrow_select::interleave::interleave(&parts, &picks)?
        };
        cols.push(col);
    }
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        cols,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(picks.len())),
    )?)
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
