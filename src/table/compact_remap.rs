//! Where compaction moved each row, so `optimize()`'s index step can keep
//! the index entries of moved rows (remapped to their new row ids) instead
//! of encoding them again.
//!
//! Compaction (`ops::plan_compact`) writes the live rows of its input files,
//! in manifest order, one after the other into its output files, in order.
//! The mapping therefore follows from two manifests alone: the version the
//! compaction committed (its outputs are the fragments with ids at or above
//! the parent's `next_fragment_id`, numbered in the order written) and its
//! parent (its inputs are the parent's fragments the compaction removed,
//! with the deletion files they had then). Nothing is stored: the format is
//! unchanged, and a mapping that does not add up (row counts differ) is not
//! used — the rows are then encoded again, as before.

use std::collections::HashMap;

use super::Table;
use crate::error::Result;
use crate::format::index::IndexEntry;
use crate::format::manifest::{Fragment, Operation};

/// No new row id: the row was deleted when the compaction read it.
const GONE: u64 = u64::MAX;

/// The row mapping of one committed compaction.
#[derive(Debug)]
pub(crate) struct RowRemap {
    /// Per input fragment id: the new row id of each old row offset
    /// ([`GONE`] for rows deleted before the compaction).
    inputs: HashMap<u64, Vec<u64>>,
    /// Per output fragment id: the inputs its rows came from, in order, as
    /// (input fragment id, first offset in the output, rows).
    outputs: HashMap<u64, Vec<(u64, u64, u64)>>,
    /// The indexes as they were just before the compaction (their segments
    /// still covering the inputs).
    pub before: Vec<IndexEntry>,
}

impl RowRemap {
    /// The mapping of the compaction committed as `version`; `None` when
    /// that version is not a compaction, its parent is gone (cleaned up),
    /// or the counts do not add up.
    pub(crate) async fn of_compaction(table: &Table, version: u64) -> Result<Option<RowRemap>> {
        if version < 2 {
            return Ok(None);
        }
        let tref = table.tref();
        let (Some(after), Some(before)) = (
            tref.load_version(version).await?,
            tref.load_version(version - 1).await?,
        ) else {
            return Ok(None);
        };
        if !matches!(after.manifest.operation, Operation::Compact { .. }) {
            return Ok(None);
        }
        let kept: std::collections::HashSet<u64> =
            after.manifest.fragments.iter().map(|f| f.id).collect();
        let inputs: Vec<&Fragment> = before
            .manifest
            .fragments
            .iter()
            .filter(|f| !kept.contains(&f.id))
            .collect();
        let mut outputs: Vec<&Fragment> = after
            .manifest
            .fragments
            .iter()
            .filter(|f| f.id >= before.manifest.next_fragment_id)
            .collect();
        outputs.sort_by_key(|f| f.id);
        let moved: u64 = inputs.iter().map(|f| f.live_rows()).sum();
        let written: u64 = outputs.iter().map(|f| f.rows).sum();
        if moved != written || outputs.iter().any(|f| f.deletion.is_some()) {
            // Outputs are written whole; a deletion on one (or a count that
            // does not add up) means this is not the plain concatenation.
            return Ok(None);
        }
        let mut remap = RowRemap {
            inputs: HashMap::new(),
            outputs: HashMap::new(),
            before: before.manifest.indices.clone(),
        };
        // Walk the concatenated rows: output `o`, offset `at` in it.
        let (mut o, mut at) = (0usize, 0u64);
        for f in inputs {
            let deleted: Vec<u32> = match &f.deletion {
                Some(d) => crate::format::deletion::read(&before.store, &before.dir, d).await?,
                None => Vec::new(),
            };
            let mut ids = vec![GONE; f.rows as usize];
            let mut del = deleted.iter().peekable();
            for (off, slot) in ids.iter_mut().enumerate() {
                if del.next_if(|d| **d as usize == off).is_some() {
                    continue;
                }
                while outputs.get(o).is_some_and(|out| at >= out.rows) {
                    (o, at) = (o + 1, 0);
                }
                let Some(out) = outputs.get(o) else {
                    return Ok(None);
                };
                let runs = remap.outputs.entry(out.id).or_default();
                match runs.last_mut() {
                    Some((src, start, n)) if *src == f.id && *start + *n == at => *n += 1,
                    _ => runs.push((f.id, at, 1)),
                }
                *slot = out.id << 32 | at;
                at += 1;
            }
            remap.inputs.insert(f.id, ids);
        }
        Ok(Some(remap))
    }

    /// The row id `old` moved to; `None` when it was not moved by this
    /// compaction or was deleted before it.
    pub(crate) fn new_id(&self, old: u64) -> Option<u64> {
        let ids = self.inputs.get(&(old >> 32))?;
        ids.get((old & 0xffff_ffff) as usize)
            .copied()
            .filter(|n| *n != GONE)
    }

    /// The input fragment ids, ascending.
    pub(crate) fn inputs(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.inputs.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// For an output fragment: its runs of rows, as (input fragment id,
    /// first offset, rows); `None` for a fragment this compaction did not
    /// write.
    pub(crate) fn runs_of(&self, fragment: u64) -> Option<&[(u64, u64, u64)]> {
        self.outputs.get(&fragment).map(|v| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_id_skips_rows_not_moved() {
        let mut r = RowRemap {
            inputs: HashMap::new(),
            outputs: HashMap::new(),
            before: Vec::new(),
        };
        r.inputs.insert(3, vec![7 << 32, GONE, 7 << 32 | 1]);
        assert_eq!(r.new_id(3 << 32), Some(7 << 32));
        assert_eq!(r.new_id(3 << 32 | 1), None);
        assert_eq!(r.new_id(3 << 32 | 2), Some(7 << 32 | 1));
        assert_eq!(r.new_id(3 << 32 | 3), None);
        assert_eq!(r.new_id(4 << 32), None);
        assert_eq!(r.inputs(), vec![3]);
    }
}
