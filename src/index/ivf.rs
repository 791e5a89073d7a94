//! The coarse quantiser of IVF indexes: centroids trained by k-means, each
//! vector assigned to its nearest, and a query probing the `nprobes`
//! partitions nearest to it.

use super::distance::{nearest_l2, DistanceType};
use super::kmeans::{self, KMeansParams};
use super::topk::TopK;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct Ivf {
    pub dim: usize,
    /// `num_partitions × dim`, row-major.
    pub centroids: Vec<f32>,
}

impl Ivf {
    /// Trains on `sample`, already normalised when the distance is cosine.
    /// Partitions always come from L2 k-means: on unit vectors that is the
    /// cosine clustering, and for dot it is what FAISS does too (the probe
    /// then ranks centroids by the dot product).
    pub fn train(sample: &[f32], dim: usize, params: &KMeansParams) -> Result<Self> {
        let km = kmeans::train(sample, dim, params)?;
        Ok(Ivf {
            dim,
            centroids: km.centroids,
        })
    }

    pub fn num_partitions(&self) -> usize {
        self.centroids.len() / self.dim.max(1)
    }

    pub fn centroid(&self, p: usize) -> &[f32] {
        &self.centroids[p * self.dim..(p + 1) * self.dim]
    }

    pub fn assign(&self, v: &[f32]) -> u32 {
        nearest_l2(v, &self.centroids).0
    }

    /// Nearest centroid and exact squared L2 distance of every row of
    /// `rows` (row-major), the block form of [`Self::assign`]: one SGEMM
    /// per block of rows ([`kmeans::nearest_block`]).
    pub fn assign_batch(&self, rows: &[f32]) -> Vec<(u32, f32)> {
        let norms = kmeans::squared_norms(&self.centroids, self.dim);
        let block = kmeans::block_rows(norms.len());
        let n = rows.len() / self.dim.max(1);
        let mut out = vec![(0u32, 0f32); n];
        let mut tile = Vec::new();
        for (r, o) in rows.chunks(block * self.dim).zip(out.chunks_mut(block)) {
            kmeans::nearest_block(r, self.dim, self.dim, &self.centroids, &norms, &mut tile, o);
        }
        out
    }

    /// The `nprobes` partitions nearest to `q` by the internal distance,
    /// nearest first, with that distance.
    pub fn probe(&self, dt: DistanceType, q: &[f32], nprobes: usize) -> Vec<(u32, f32)> {
        let mut top = TopK::new(nprobes.min(self.num_partitions()));
        for (p, c) in self.centroids.chunks_exact(self.dim).enumerate() {
            top.push(p as u64, dt.internal(q, c));
        }
        top.into_sorted()
            .into_iter()
            .map(|(p, d)| (p as u32, d))
            .collect()
    }
}
