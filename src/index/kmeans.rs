//! Lloyd's k-means over a training sample, assignment spread over every
//! core with rayon.
//!
//! Our own rather than a crate's: the `kmeans` crate needs nightly
//! (`portable_simd`), and linfa-clustering brings ndarray and a BLAS-shaped
//! dependency tree for what is here one parallel loop. Initialisation is a
//! seeded random pick of distinct points (k-means++ costs k passes over the
//! sample, too slow at k = 1000), and empty clusters are repaired by
//! splitting the largest one, as FAISS does, so every partition ends up
//! non-empty whenever the sample has k distinct points.
//!
//! The nearest-centroid pass (here, in IVF assignment and in PQ encoding)
//! is [`nearest_block`]: `‖c‖² − 2⟨x,c⟩` for a block of rows against every
//! centroid in one SGEMM (matrixmultiply), as FAISS and Lance do, then the
//! exact distance to the winner. Training stops at `max_iterations` or as
//! soon as either the loss improves by less than `tolerance` (relative, as
//! Lance's k-means) or fewer than `min_changed_fraction` of the sample move
//! to another cluster: the last iterations of a slow-settling run move a
//! few hundred points between neighbouring centroids and leave the loss,
//! and the index's recall, where they were.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

use super::distance::{l2_sq, l2_sq_scalar};
use super::trace;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct KMeansParams {
    pub k: usize,
    pub max_iterations: usize,
    pub seed: u64,
    /// Stop when the mean squared error improves by less than this fraction.
    pub tolerance: f64,
    /// Stop when fewer than this fraction of the points change cluster in
    /// an assignment pass (0 disables the rule).
    pub min_changed_fraction: f64,
}

impl KMeansParams {
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            max_iterations: 50,
            seed: 42,
            tolerance: 1e-4,
            min_changed_fraction: 1e-3,
        }
    }
}

/// The trained centroids (row-major, `k × dim`) and the mean squared error
/// over the sample at the last assignment pass.
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

/// Rows per block of a nearest-centroid pass: the block × k tile of inner
/// products stays within L2 (about 512 KB).
pub fn block_rows(k: usize) -> usize {
    (131_072 / k.max(1)).clamp(16, 256)
}

/// Squared L2 norm of each row of `centroids`.
pub fn squared_norms(centroids: &[f32], dim: usize) -> Vec<f32> {
    centroids
        .chunks_exact(dim)
        .map(|c| c.iter().map(|x| x * x).sum())
        .collect()
}

/// Exact squared L2: SimSIMD for long vectors, the inlined loop for PQ's
/// few-float sub-vectors.
#[inline]
fn exact_l2(a: &[f32], b: &[f32]) -> f32 {
    if a.len() < 32 {
        l2_sq_scalar(a, b)
    } else {
        l2_sq(a, b)
    }
}

/// For each of `out.len()` rows — row `i` is `rows[i * stride..][..dim]` —
/// the nearest row of `centroids` (`k × dim`, with `c_norms` from
/// [`squared_norms`]) and its exact squared L2 distance. One SGEMM gives
/// `‖c‖² − 2⟨x,c⟩` for the whole block; `tile` is scratch space reused
/// between calls. Ties and near-ties (within float rounding of the
/// expanded form) may pick a different centroid than a pairwise scan, at
/// the same distance up to that rounding.
pub fn nearest_block(
    rows: &[f32],
    stride: usize,
    dim: usize,
    centroids: &[f32],
    c_norms: &[f32],
    tile: &mut Vec<f32>,
    out: &mut [(u32, f32)],
) {
    let n = out.len();
    let k = c_norms.len();
    if n == 0 || k == 0 || dim == 0 {
        out.fill((0, f32::INFINITY));
        return;
    }
    // The SGEMM below reads through raw pointers: these bounds are what
    // makes that sound, so they are checked in release builds too.
    assert!(stride >= dim && rows.len() >= (n - 1) * stride + dim);
    assert!(centroids.len() >= k * dim);
    tile.clear();
    tile.resize(n * k, 0.0);
    // SAFETY: A is n × dim with row stride `stride` inside `rows`, B is
    // dim × k read from the row-major centroids (column j = centroid j),
    // C is the n × k tile; all three are in bounds by the asserts above.
    unsafe {
        matrixmultiply::sgemm(
            n,
            dim,
            k,
            -2.0,
            rows.as_ptr(),
            stride as isize,
            1,
            centroids.as_ptr(),
            1,
            dim as isize,
            0.0,
            tile.as_mut_ptr(),
            k as isize,
            1,
        );
    }
    for (i, (t, o)) in tile.chunks_exact(k).zip(out.iter_mut()).enumerate() {
        let mut best = (0usize, f32::INFINITY);
        for (j, (d, cn)) in t.iter().zip(c_norms).enumerate() {
            let d = d + cn;
            if d < best.1 {
                best = (j, d);
            }
        }
        let x = &rows[i * stride..i * stride + dim];
        let c = &centroids[best.0 * dim..(best.0 + 1) * dim];
        *o = (best.0 as u32, exact_l2(x, c));
    }
}

/// Nearest centroid and exact squared distance of every row of `data`, on
/// all cores.
pub fn assign_all(data: &[f32], dim: usize, centroids: &[f32]) -> Vec<(u32, f32)> {
    let n = data.len() / dim.max(1);
    let norms = squared_norms(centroids, dim);
    let rows = block_rows(norms.len());
    let mut out = vec![(0u32, 0f32); n];
    data.par_chunks(rows * dim)
        .zip(out.par_chunks_mut(rows))
        .for_each_init(Vec::new, |tile, (block, o)| {
            nearest_block(block, dim, dim, centroids, &norms, tile, o)
        });
    out
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
    let mut assignment = vec![u32::MAX; n];
    let mut prev_mse = f64::INFINITY;
    let mut mse = f64::INFINITY;
    let mut iterations = 0;
    for _ in 0..params.max_iterations.max(1) {
        iterations += 1;
        let pass = accumulate(data, dim, &centroids, k, &mut assignment);
        mse = pass.err / n as f64;
        for (c, (sum, &count)) in centroids
            .chunks_exact_mut(dim)
            .zip(pass.sums.chunks_exact(dim).zip(&pass.counts))
        {
            if count > 0 {
                for (x, s) in c.iter_mut().zip(sum) {
                    *x = (*s / count as f64) as f32;
                }
            }
        }
        let repaired = repair_empty(&mut centroids, dim, pass.counts);
        let changed = pass.changed as f64 / n as f64;
        if k > 16 {
            trace::note(|| {
                format!(
                    "k-means k={k} n={n} dim={dim} iteration {iterations}: mse {mse:.6e}, {:.3}% moved",
                    changed * 100.0
                )
            });
        }
        if repaired {
            prev_mse = mse;
            continue;
        }
        let settled = iterations > 1 && changed < params.min_changed_fraction;
        let flat = prev_mse.is_finite() && (prev_mse - mse) <= params.tolerance * prev_mse;
        if settled || flat {
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

/// What one assignment pass gathers.
struct Pass {
    sums: Vec<f64>,
    counts: Vec<u64>,
    err: f64,
    changed: u64,
}

/// One assignment pass: per-cluster sums and counts, the total error and
/// how many points changed cluster (`assignment` is updated). The sample
/// is cut into a fixed number of contiguous segments, each summed by one
/// rayon task into its own accumulators, and the segments are added in
/// order: no lock per point, and the same floats whatever thread ran what
/// (training is deterministic for a seed).
fn accumulate(
    data: &[f32],
    dim: usize,
    centroids: &[f32],
    k: usize,
    assignment: &mut [u32],
) -> Pass {
    const SEGMENTS: usize = 32;
    let norms = squared_norms(centroids, dim);
    let rows = block_rows(k);
    let n = assignment.len();
    let per = n.div_ceil(rows).div_ceil(SEGMENTS).max(1) * rows;
    let parts: Vec<Pass> = data
        .par_chunks(per * dim)
        .zip(assignment.par_chunks_mut(per))
        .map(|(seg, assigned)| {
            let mut acc = Pass {
                sums: vec![0f64; k * dim],
                counts: vec![0u64; k],
                err: 0.0,
                changed: 0,
            };
            let (mut tile, mut near) = (Vec::new(), Vec::new());
            for (block, assigned) in seg.chunks(rows * dim).zip(assigned.chunks_mut(rows)) {
                near.resize(assigned.len(), (0u32, 0f32));
                nearest_block(block, dim, dim, centroids, &norms, &mut tile, &mut near);
                for ((v, &(c, d)), a) in block.chunks_exact(dim).zip(&near).zip(assigned) {
                    let ci = c as usize;
                    acc.counts[ci] += 1;
                    acc.err += d as f64;
                    acc.changed += u64::from(*a != c);
                    *a = c;
                    for (s, x) in acc.sums[ci * dim..(ci + 1) * dim].iter_mut().zip(v) {
                        *s += *x as f64;
                    }
                }
            }
            acc
        })
        .collect();
    let mut parts = parts.into_iter();
    let mut total = parts.next().unwrap_or(Pass {
        sums: vec![0f64; k * dim],
        counts: vec![0u64; k],
        err: 0.0,
        changed: 0,
    });
    for b in parts {
        total
            .sums
            .iter_mut()
            .zip(&b.sums)
            .for_each(|(x, y)| *x += y);
        total
            .counts
            .iter_mut()
            .zip(&b.counts)
            .for_each(|(x, y)| *x += y);
        total.err += b.err;
        total.changed += b.changed;
    }
    total
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
    use crate::index::distance::nearest_l2;

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
    fn gemm_assignment_equals_brute_force() {
        use crate::index::testdata::{gaussian_mixture, low_rank};
        for (data, dim) in [
            (gaussian_mixture(3000, 0, 24, 12, 5).0, 24),
            (low_rank(2000, 0, 128, 16, 6).0, 128),
            (gaussian_mixture(1500, 0, 8, 4, 7).0, 8),
        ] {
            let n = data.len() / dim;
            for k in [1usize, 7, 256, 700] {
                let centroids: Vec<f32> = sample_indices(n, k, 9)
                    .into_iter()
                    .flat_map(|i| data[i * dim..(i + 1) * dim].to_vec())
                    .collect();
                let got = assign_all(&data, dim, &centroids);
                assert_eq!(got.len(), n);
                let mut differ = 0;
                for (v, &(c, d)) in data.chunks_exact(dim).zip(&got) {
                    let (bc, bd) = nearest_l2(v, &centroids);
                    // The reported distance is the exact one to the pick.
                    let exact = l2_sq(v, &centroids[c as usize * dim..(c as usize + 1) * dim]);
                    assert!(
                        (d - exact).abs() <= 1e-5 * exact.max(1.0),
                        "dim {dim} k {k}"
                    );
                    // A different pick only in a near-tie.
                    if c != bc {
                        differ += 1;
                        assert!(
                            (d - bd).abs() <= 1e-4 * bd.max(1.0),
                            "dim {dim} k {k}: {d} vs {bd}"
                        );
                    }
                }
                assert!(
                    differ * 1000 <= n,
                    "dim {dim} k {k}: {differ} of {n} differ"
                );
            }
        }
    }

    fn full_run(k: usize) -> KMeansParams {
        let mut p = KMeansParams::new(k);
        // Neither rule can fire: every iteration runs.
        p.tolerance = f64::NEG_INFINITY;
        p.min_changed_fraction = 0.0;
        p.max_iterations = 60;
        p
    }

    #[test]
    fn early_stop_reaches_the_full_runs_loss() {
        use crate::index::testdata::{gaussian_mixture, low_rank};
        for (data, dim, k) in [
            (gaussian_mixture(20_000, 0, 32, 40, 3).0, 32, 64),
            (low_rank(20_000, 0, 64, 12, 4).0, 64, 100),
        ] {
            let early = train(&data, dim, &KMeansParams::new(k)).unwrap();
            let full = train(&data, dim, &full_run(k)).unwrap();
            assert_eq!(full.iterations, 60);
            assert!(
                early.iterations < full.iterations,
                "dim {dim}: the rules never stopped early ({} iterations)",
                early.iterations
            );
            // The moved-share rule alone (no loss rule) stops early too,
            // at a loss within 1% of the full run's.
            let mut moved_only = KMeansParams::new(k);
            moved_only.tolerance = f64::NEG_INFINITY;
            let m = train(&data, dim, &moved_only).unwrap();
            assert!(
                m.iterations < full.iterations,
                "dim {dim}: {} iterations",
                m.iterations
            );
            assert!(
                m.mse <= full.mse * 1.01,
                "dim {dim}: {} vs {}",
                m.mse,
                full.mse
            );
            // Within 1% of the loss of running every iteration.
            assert!(
                early.mse <= full.mse * 1.01,
                "dim {dim}: early {} ({} it) vs full {} ({} it)",
                early.mse,
                early.iterations,
                full.mse,
                full.iterations
            );
            // Deterministic for a seed.
            let again = train(&data, dim, &KMeansParams::new(k)).unwrap();
            assert_eq!(again.centroids, early.centroids);
            assert_eq!(again.iterations, early.iterations);
            // The reported loss is the mean distance to the nearest
            // centroid at the last assignment pass: one more pass with the
            // final centroids can only lower it.
            let after: f64 = assign_all(&data, dim, &early.centroids)
                .iter()
                .map(|&(_, d)| d as f64)
                .sum::<f64>()
                / (data.len() / dim) as f64;
            assert!(after <= early.mse * (1.0 + 1e-6), "{after} > {}", early.mse);
        }
    }

    #[test]
    fn rejects_too_few_vectors() {
        let e = train(&[1.0, 2.0], 2, &KMeansParams::new(2)).unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        assert!(e.to_string().contains("numPartitions"));
    }
}
