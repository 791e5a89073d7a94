//! `table.stats()`: sizes and fragment row counts, from the manifest alone
//! (no data file is read).

use super::Table;
use crate::error::Result;
use crate::format::manifest::Manifest;

/// A fragment with fewer rows than this counts as small (not yet
/// compacted), as in @lancedb/lancedb.
pub const SMALL_FRAGMENT_ROWS: u64 = 100_000;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FragmentSummaryStats {
    pub min: u64,
    pub max: u64,
    pub mean: u64,
    pub p25: u64,
    pub p50: u64,
    pub p75: u64,
    pub p99: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TableStatistics {
    /// Data files (base and column files) plus deletion files.
    pub total_bytes: u64,
    pub num_rows: u64,
    pub num_indices: u64,
    pub num_fragments: u64,
    pub num_small_fragments: u64,
    pub lengths: FragmentSummaryStats,
}

pub fn of(m: &Manifest) -> TableStatistics {
    // Rows written per fragment, deleted ones included, as the reference.
    let mut lengths: Vec<u64> = m.fragments.iter().map(|f| f.rows).collect();
    lengths.sort_unstable();
    let n = lengths.len();
    // Nearest rank below: the value at floor(n * p), as the reference.
    let pct = |p: f64| {
        if n == 0 {
            0
        } else {
            lengths[((n as f64 * p) as usize).min(n - 1)]
        }
    };
    let total_bytes = m
        .fragments
        .iter()
        .map(|f| {
            // A deletion file is its offsets, 4 bytes each.
            f.data_bytes() + f.deletion.as_ref().map_or(0, |d| d.count * 4)
        })
        .sum();
    TableStatistics {
        total_bytes,
        num_rows: m.rows(),
        num_indices: m.indices.len() as u64,
        num_fragments: n as u64,
        num_small_fragments: lengths.iter().filter(|l| **l < SMALL_FRAGMENT_ROWS).count() as u64,
        lengths: FragmentSummaryStats {
            min: lengths.first().copied().unwrap_or(0),
            max: lengths.last().copied().unwrap_or(0),
            mean: if n == 0 {
                0
            } else {
                lengths.iter().sum::<u64>() / n as u64
            },
            p25: pct(0.25),
            p50: pct(0.5),
            p75: pct(0.75),
            p99: pct(0.99),
        },
    }
}

impl Table {
    pub async fn stats(&self) -> Result<TableStatistics> {
        Ok(of(&self.snapshot().await?.manifest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::manifest::Fragment;

    #[test]
    fn percentiles_and_small_fragments() {
        let mut m: Manifest = serde_json::from_str(
            r#"{"format":"stowage-table","format_version":1,"version":1,"timestamp_ms":0,"operation":{"type":"create","rows":0},"schema":"","fragments":[],"next_fragment_id":0}"#,
        )
        .unwrap();
        assert_eq!(of(&m).lengths, FragmentSummaryStats::default());
        for (i, rows) in [2u64, 1, 200_000].iter().enumerate() {
            m.fragments.push(Fragment {
                id: i as u64,
                rows: *rows,
                size_bytes: 10,
                ..Default::default()
            });
        }
        let s = of(&m);
        assert_eq!(
            (s.num_fragments, s.num_small_fragments, s.num_rows),
            (3, 2, 200_003)
        );
        assert_eq!(
            (s.lengths.min, s.lengths.p25, s.lengths.p50, s.lengths.max),
            (1, 1, 2, 200_000)
        );
        assert_eq!(s.lengths.mean, 66_667);
        assert_eq!(s.total_bytes, 30);
    }
}
