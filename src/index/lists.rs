//! Where an index's bulk bytes come from. The search code reads partitions
//! through [`ListSource`] only (as FAISS's IVF search reads through
//! `InvertedLists`), so the same code runs over memory in tests, a local
//! file, or ranged GETs on object storage behind a cache.

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};

/// Ranged reads of one immutable object.
#[async_trait]
pub trait ListSource: Send + Sync {
    /// The bytes in `range`; exactly `range.end - range.start` of them.
    async fn read_range(&self, range: Range<u64>) -> Result<Bytes>;
}

/// An object held in memory. Counts reads, so tests can assert how many
/// requests a search would make.
#[derive(Debug, Default)]
pub struct MemoryListSource {
    data: Bytes,
    reads: std::sync::atomic::AtomicUsize,
}

impl MemoryListSource {
    pub fn new(data: impl Into<Bytes>) -> Self {
        MemoryListSource {
            data: data.into(),
            reads: Default::default(),
        }
    }

    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl ListSource for MemoryListSource {
    async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let len = self.data.len() as u64;
        if range.start > range.end || range.end > len {
            return Err(Error::internal(format!(
                "read of bytes {}..{} past the end of a {len}-byte index object",
                range.start, range.end
            )));
        }
        Ok(self.data.slice(range.start as usize..range.end as usize))
    }
}

/// One read of the plan: a byte range of the object and the pieces of it
/// that callers asked for, as (tag, range relative to the read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoalescedRead {
    pub range: Range<u64>,
    pub parts: Vec<(u32, Range<usize>)>,
}

/// Merges requested ranges (tagged, e.g. by partition id) into as few
/// reads as possible: ranges that touch, overlap or lie within `max_gap`
/// bytes of each other become one read, since on object storage a request
/// costs far more than a few extra bytes in it. Empty ranges are dropped.
pub fn coalesce(requests: &[(u32, Range<u64>)], max_gap: u64) -> Vec<CoalescedRead> {
    let mut sorted: Vec<&(u32, Range<u64>)> =
        requests.iter().filter(|(_, r)| r.end > r.start).collect();
    sorted.sort_by_key(|(tag, r)| (r.start, r.end, *tag));
    let mut out: Vec<CoalescedRead> = Vec::new();
    let mut pieces: Vec<(u32, Range<u64>)> = Vec::new();
    let mut flush = |range: Range<u64>, pieces: &mut Vec<(u32, Range<u64>)>| {
        let parts = pieces
            .drain(..)
            .map(|(t, r)| {
                (
                    t,
                    (r.start - range.start) as usize..(r.end - range.start) as usize,
                )
            })
            .collect();
        out.push(CoalescedRead { range, parts });
    };
    let mut current: Option<Range<u64>> = None;
    for (tag, r) in sorted {
        match current.as_mut() {
            Some(cur) if r.start <= cur.end.saturating_add(max_gap) => {
                cur.end = cur.end.max(r.end);
            }
            _ => {
                if let Some(cur) = current.take() {
                    flush(cur, &mut pieces);
                }
                current = Some(r.clone());
            }
        }
        pieces.push((*tag, r.clone()));
    }
    if let Some(cur) = current {
        flush(cur, &mut pieces);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_adjacent_and_near_ranges_only() {
        let reqs = vec![
            (7, 300..400),
            (1, 0..100),
            (2, 100..250),
            (9, 1000..1100),
            (4, 5..5),
        ];
        let plan = coalesce(&reqs, 0);
        assert_eq!(
            plan,
            vec![
                CoalescedRead {
                    range: 0..250,
                    parts: vec![(1, 0..100), (2, 100..250)]
                },
                CoalescedRead {
                    range: 300..400,
                    parts: vec![(7, 0..100)]
                },
                CoalescedRead {
                    range: 1000..1100,
                    parts: vec![(9, 0..100)]
                },
            ]
        );
        let plan = coalesce(&reqs, 50);
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].range, 0..400);
        assert_eq!(plan[0].parts[2], (7, 300..400));
        assert!(coalesce(&[], 10).is_empty());
    }

    #[tokio::test]
    async fn memory_source_bounds_and_counts() {
        let src = MemoryListSource::new(vec![1u8, 2, 3, 4]);
        assert_eq!(&src.read_range(1..3).await.unwrap()[..], &[2, 3]);
        assert!(src.read_range(2..9).await.is_err());
        assert_eq!(src.reads(), 2);
    }
}
