//! The k nearest seen so far, in a max-heap of fixed capacity allocated
//! once per query, so scanning a candidate never allocates.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A (distance, id) pair ordered by distance, ties by id so results are
/// deterministic. NaN distances sort last and are never kept by `TopK`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub dist: f32,
    pub id: u64,
}

impl Eq for Scored {}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub struct TopK {
    k: usize,
    heap: BinaryHeap<Scored>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// The distance a candidate must beat to enter, infinity until full.
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |s| s.dist)
        }
    }

    #[inline]
    pub fn push(&mut self, id: u64, dist: f32) {
        if self.k == 0 || dist.is_nan() {
            return;
        }
        let s = Scored { dist, id };
        if self.heap.len() < self.k {
            self.heap.push(s);
        } else if let Some(mut top) = self.heap.peek_mut() {
            if s < *top {
                *top = s;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Nearest first.
    pub fn into_sorted(self) -> Vec<(u64, f32)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|s| (s.id, s.dist))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_smallest_in_order() {
        let mut t = TopK::new(3);
        for (i, d) in [5.0, 1.0, f32::NAN, 4.0, 0.5, 3.0, 1.0].iter().enumerate() {
            t.push(i as u64, *d);
        }
        assert_eq!(t.into_sorted(), vec![(4, 0.5), (1, 1.0), (6, 1.0)]);
        let mut z = TopK::new(0);
        z.push(1, 1.0);
        assert!(z.is_empty());
    }
}
