//! Deterministic structured test data: real embeddings are clustered and
//! low-rank, and uniform random data hides exactly the failures
//! (unbalanced partitions, anisotropic residuals) an index must survive.

use rayon::prelude::*;

use super::distance::DistanceType;
use super::topk::TopK;

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn uniform(&mut self) -> f32 {
        // xorshift64*: fast, deterministic, good enough for test data.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }
    pub fn gauss(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// A mixture of `clusters` Gaussians with unequal weights, each stretched
/// differently along every axis (scales spanning 30×) and sheared along a
/// random direction of its own. Returns `n` data rows then `queries` rows
/// drawn from the same mixture.
pub fn gaussian_mixture(
    n: usize,
    queries: usize,
    dim: usize,
    clusters: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let mut r = Rng::new(seed);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| r.gauss() * 4.0).collect();
    let scales: Vec<f32> = (0..clusters * dim)
        .map(|_| 0.1 * 30f32.powf(r.uniform()))
        .collect();
    let shear: Vec<f32> = (0..clusters * dim).map(|_| r.gauss()).collect();
    // Zipf-like weights: a few big clusters and many small ones.
    let w: Vec<f32> = (0..clusters)
        .map(|c| 1.0 / (1.0 + c as f32).sqrt())
        .collect();
    let total: f32 = w.iter().sum();
    let row = |r: &mut Rng| {
        let mut u = r.uniform() * total;
        let mut c = 0;
        while c + 1 < clusters && u > w[c] {
            u -= w[c];
            c += 1;
        }
        let t = r.gauss();
        (0..dim)
            .map(|j| {
                centres[c * dim + j]
                    + scales[c * dim + j] * r.gauss()
                    + 0.7 * t * shear[c * dim + j]
            })
            .collect::<Vec<f32>>()
    };
    let data = (0..n).flat_map(|_| row(&mut r)).collect();
    let q = (0..queries).flat_map(|_| row(&mut r)).collect();
    (data, q)
}

/// `x = W z + noise`: rank `rank` signal with decaying singular values plus
/// isotropic noise of 5% of it, the shape of many embedding sets.
pub fn low_rank(
    n: usize,
    queries: usize,
    dim: usize,
    rank: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let mut r = Rng::new(seed);
    let w: Vec<f32> = (0..dim * rank)
        .map(|i| r.gauss() / (1.0 + (i % rank) as f32))
        .collect();
    let row = |r: &mut Rng| {
        let z: Vec<f32> = (0..rank).map(|_| r.gauss()).collect();
        (0..dim)
            .map(|j| (0..rank).map(|k| w[j * rank + k] * z[k]).sum::<f32>() + 0.05 * r.gauss())
            .collect::<Vec<f32>>()
    };
    let data = (0..n).flat_map(|_| row(&mut r)).collect();
    let q = (0..queries).flat_map(|_| row(&mut r)).collect();
    (data, q)
}

/// Exact k nearest (row index as id) of each query, all cores.
pub fn exact_knn(
    dt: DistanceType,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    filter: Option<&(dyn Fn(u64) -> bool + Sync)>,
) -> Vec<Vec<u64>> {
    queries
        .par_chunks(dim)
        .map(|q| {
            let mut t = TopK::new(k);
            for (i, v) in data.chunks_exact(dim).enumerate() {
                if filter.is_none_or(|f| f(i as u64)) {
                    t.push(i as u64, dt.distance(q, v));
                }
            }
            t.into_sorted().into_iter().map(|(id, _)| id).collect()
        })
        .collect()
}

/// Mean fraction of the true k nearest found.
pub fn recall(truth: &[Vec<u64>], found: &[Vec<u64>]) -> f64 {
    let mut hit = 0usize;
    let mut all = 0usize;
    for (t, f) in truth.iter().zip(found) {
        all += t.len();
        hit += t.iter().filter(|id| f.contains(id)).count();
    }
    hit as f64 / all.max(1) as f64
}
