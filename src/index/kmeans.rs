//! Lloyd's k-means over a training sample, assignment spread over every
//! core with rayon.
//!
//! Our own rather than a crate's: the `kmeans` crate needs nightly
//! (`portable_simd`), and linfa-clustering brings ndarray and a BLAS-shaped
//! dependency tree for what is here one parallel loop over the SimSIMD
//! kernel. Initialisation is a seeded random pick of distinct points
//! (k-means++ costs k passes over the sample, too slow at k = 1000), and
//! empty clusters are repaired by splitting the largest one, as FAISS does,
//! so every partition ends up non-empty whenever the sample has k distinct
//! points.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

use super::distance::nearest_l2;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct KMeansParams {
    pub k: usize,
    pub max_iterations: usize,
    pub seed: u64,
    /// Stop when the mean squared error improves by less than this fraction.
    pub tolerance: f64,
}

impl KMeansParams {
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            max_iterations: 50,
            seed: 42,
            tolerance: 1e-4,
        }
    }
}

/// The trained centroids (row-major, `k × dim`) and the final mean squared
/// error over the sample.
#[derive(Debug, Clone)]
pub struct KMeans {
    pub centroids: Vec<f32>,
    pub dim: usize,
    pub mse: f64,
    pub iterations: usize,
}

/// `k` distinct indices in `0..n`, reproducibly from `seed`.
pub fn sample_indices(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut idx = rand::seq::index::sample(&mut rng, n, k.min(n)).into_vec();
    // Sorted so a caller sampling rows from data files reads them in order.
    idx.sort_unstable();
    idx
}

/// Trains k-means on `data` (row-major, rows of `dim` floats) with squared
/// L2. The caller normalises the rows first for cosine.
pub fn train(data: &[f32], dim: usize, params: &KMeansParams) -> Result<KMeans> {
    if dim == 0 || !data.len().is_multiple_of(dim) {
        return Err(Error::internal(format!(
            "k-means: {} floats do not form rows of {dim}",
            data.len()
        )));
    }
    let n = data.len() / dim;
    let k = params.k;
    if k == 0 || n < k {
        return Err(Error::invalid_argument(format!(
            "cannot train {k} partitions (k-means clusters) on {n} vectors; \
             use fewer partitions (numPartitions / numSubVectors) or add rows"
        )));
    }
    let mut centroids: Vec<f32> = sample_indices(n, k, params.seed)
        .into_iter()
        .flat_map(|i| data[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let mut prev_mse = f64::INFINITY;
    let mut mse = f64::INFINITY;
    let mut iterations = 0;
    for _ in 0..params.max_iterations.max(1) {
        iterations += 1;
        let (sums, counts, err) = accumulate(data, dim, &centroids, k);
        mse = err / n as f64;
        for (c, (sum, &count)) in centroids
            .chunks_exact_mut(dim)
            .zip(sums.chunks_exact(dim).zip(&counts))
        {
            if count > 0 {
                for (x, s) in c.iter_mut().zip(sum) {
                    *x = (*s / count as f64) as f32;
                }
            }
        }
        let repaired = repair_empty(&mut centroids, dim, counts);
        if !repaired && prev_mse.is_finite() && (prev_mse - mse) <= params.tolerance * prev_mse {
            break;
        }
        prev_mse = mse;
    }
    Ok(KMeans {
        centroids,
        dim,
        mse,
        iterations,
    })
}

/// One assignment pass: per-cluster sums and counts, and the total error.
/// Each rayon task owns its accumulators and they are added pairwise, so no
/// lock is taken per point.
fn accumulate(data: &[f32], dim: usize, centroids: &[f32], k: usize) -> (Vec<f64>, Vec<u64>, f64) {
    const CHUNK: usize = 256;
    data.par_chunks(CHUNK * dim)
        .fold(
            || (vec![0f64; k * dim], vec![0u64; k], 0f64),
            |(mut sums, mut counts, mut err), rows| {
                for v in rows.chunks_exact(dim) {
                    let (c, d) = nearest_l2(v, centroids);
                    let c = c as usize;
                    counts[c] += 1;
                    err += d as f64;
                    for (s, x) in sums[c * dim..(c + 1) * dim].iter_mut().zip(v) {
                        *s += *x as f64;
                    }
                }
                (sums, counts, err)
            },
        )
        .reduce(
            || (vec![0f64; k * dim], vec![0u64; k], 0f64),
            |(mut sa, mut ca, ea), (sb, cb, eb)| {
                sa.iter_mut().zip(&sb).for_each(|(a, b)| *a += b);
                ca.iter_mut().zip(&cb).for_each(|(a, b)| *a += b);
                (sa, ca, ea + eb)
            },
        )
}

/// Gives every empty cluster half of the largest one: a copy of its
/// centroid nudged in opposite directions, so the next pass splits it.
fn repair_empty(centroids: &mut [f32], dim: usize, mut counts: Vec<u64>) -> bool {
    const EPS: f32 = 1.0 / 1024.0;
    let mut repaired = false;
    for empty in 0..counts.len() {
        if counts[empty] != 0 {
            continue;
        }
        let Some((big, _)) = counts.iter().enumerate().max_by_key(|(_, c)| **c) else {
            return repaired;
        };
        if counts[big] < 2 {
            return repaired;
        }
        repaired = true;
        for j in 0..dim {
            let x = centroids[big * dim + j];
            // The absolute term moves coordinates that are exactly zero too.
            let delta = x.abs() * EPS + EPS * 1e-3;
            let sign = if j.is_multiple_of(2) { 1.0 } else { -1.0 };
            centroids[empty * dim + j] = x + sign * delta;
            centroids[big * dim + j] = x - sign * delta;
        }
        counts[empty] = counts[big] / 2;
        counts[big] -= counts[empty];
    }
    repaired
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(centres: &[[f32; 2]], per: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for (ci, c) in centres.iter().enumerate() {
            for i in 0..per {
                let a = (i as f32 * 2.399) + ci as f32;
                let r = 0.1 * ((i % 7) as f32 / 7.0);
                out.extend([c[0] + r * a.cos(), c[1] + r * a.sin()]);
            }
        }
        out
    }

    #[test]
    fn finds_separated_clusters_deterministically() {
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]];
        let data = blobs(&centres, 200);
        let a = train(&data, 2, &KMeansParams::new(4)).unwrap();
        let b = train(&data, 2, &KMeansParams::new(4)).unwrap();
        assert_eq!(a.centroids, b.centroids, "same seed, same centroids");
        for c in centres {
            let (_, d) = nearest_l2(&c, &a.centroids);
            assert!(d < 0.05, "centre {c:?} not found: {:?}", a.centroids);
        }
        assert!(a.mse < 0.01);
    }

    #[test]
    fn repairs_empty_clusters() {
        // Three groups of identical points and k = 3: a seed that starts two
        // centroids in one group leaves one cluster empty and another holding
        // two groups; only the repair (splitting the largest) recovers.
        let mut data = Vec::new();
        for _ in 0..100 {
            data.extend([0.0f32, 0.0, 10.0, 0.0, 0.0, 10.0]);
        }
        let mut repaired_seeds = 0;
        for seed in 0..20 {
            let init = sample_indices(300, 3, seed);
            let groups: std::collections::BTreeSet<usize> = init.iter().map(|i| i % 3).collect();
            repaired_seeds += usize::from(groups.len() < 3);
            let mut p = KMeansParams::new(3);
            p.seed = seed;
            let km = train(&data, 2, &p).unwrap();
            for g in [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]] {
                let (_, d) = nearest_l2(&g, &km.centroids);
                assert!(d < 1e-3, "seed {seed}: {:?}", km.centroids);
            }
        }
        assert!(repaired_seeds > 0, "no seed exercised the repair");
    }

    #[test]
    fn rejects_too_few_vectors() {
        let e = train(&[1.0, 2.0], 2, &KMeansParams::new(2)).unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        assert!(e.to_string().contains("numPartitions"));
    }
}
