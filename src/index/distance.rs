//! Distance kernels. SimSIMD picks the widest SIMD unit of the running CPU
//! at run time (AVX2, AVX-512, NEON, SVE), so one binary is fast on every
//! machine it is installed on; the scalar loops here are only the fallback
//! and the definition the kernels are tested against.

use simsimd::SpatialSimilarity;

use crate::error::{Error, Result};

/// How two vectors are compared. Definitions match LanceDB's: the smaller
/// the distance, the closer the vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceType {
    /// Squared Euclidean distance.
    L2,
    /// 1 - cosine similarity; 1 when either vector is all zeros.
    Cosine,
    /// 1 - dot product.
    Dot,
}

impl DistanceType {
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "l2" | "euclidean" => Ok(DistanceType::L2),
            "cosine" => Ok(DistanceType::Cosine),
            "dot" => Ok(DistanceType::Dot),
            _ => Err(Error::invalid_argument(format!(
                "distanceType '{}' is not supported; use \"l2\", \"cosine\" or \"dot\"",
                crate::index::bounded(s)
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DistanceType::L2 => "l2",
            DistanceType::Cosine => "cosine",
            DistanceType::Dot => "dot",
        }
    }

    /// The exact distance between `a` and `b` under this type.
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            DistanceType::L2 => l2_sq(a, b),
            DistanceType::Dot => 1.0 - dot(a, b),
            DistanceType::Cosine => cosine(a, b),
        }
    }

    /// The distance used inside an index, where cosine vectors are stored
    /// normalised: there cosine is `1 - dot`, which saves two norms per pair.
    pub(crate) fn internal(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            DistanceType::L2 => l2_sq(a, b),
            DistanceType::Dot | DistanceType::Cosine => 1.0 - dot(a, b),
        }
    }
}

pub fn l2_sq(a: &[f32], b: &[f32]) -> f32 {
    match f32::l2sq(a, b) {
        Some(d) => d as f32,
        None => l2_sq_scalar(a, b),
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    match f32::dot(a, b) {
        Some(d) => d as f32,
        None => dot_scalar(a, b),
    }
}

/// 1 - cosine similarity; 1 when either vector has no direction, as the
/// flat search defines it.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (na, nb) = (dot(a, a), dot(b, b));
    if na == 0.0 || nb == 0.0 {
        return 1.0;
    }
    1.0 - dot(a, b) / (na.sqrt() * nb.sqrt())
}

pub(crate) fn l2_sq_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

pub(crate) fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Squared L2 between two int8 codes (exact in integers).
pub fn l2_sq_i8(a: &[i8], b: &[i8]) -> f32 {
    match i8::l2sq(a, b) {
        Some(d) => d as f32,
        None => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| {
                let d = x as i32 - y as i32;
                (d * d) as f32
            })
            .sum(),
    }
}

/// Dot product of two int8 codes.
pub fn dot_i8(a: &[i8], b: &[i8]) -> f32 {
    match i8::dot(a, b) {
        Some(d) => d as f32,
        None => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| x as i32 * y as i32)
            .sum::<i32>() as f32,
    }
}

/// Distances from `q` to each row of the row-major `data` (rows of
/// `q.len()` values), written to `out`, which must hold one slot per row.
pub fn distances_to(dt: DistanceType, q: &[f32], data: &[f32], out: &mut [f32]) {
    let dim = q.len();
    for (row, slot) in data.chunks_exact(dim).zip(out.iter_mut()) {
        *slot = dt.distance(q, row);
    }
}

/// Index and squared L2 distance of the row of `centroids` nearest to `v`.
pub fn nearest_l2(v: &[f32], centroids: &[f32]) -> (u32, f32) {
    // PQ sub-vectors are a few floats long: there the call into the SIMD
    // library costs more than the inlined loop.
    let short = v.len() < 32;
    let mut best = (0u32, f32::INFINITY);
    for (i, c) in centroids.chunks_exact(v.len()).enumerate() {
        let d = if short {
            l2_sq_scalar(v, c)
        } else {
            l2_sq(v, c)
        };
        if d < best.1 {
            best = (i as u32, d);
        }
    }
    best
}

/// Scales `v` to unit length in place; a zero vector stays zero.
pub fn normalize(v: &mut [f32]) {
    let n = dot(v, v).sqrt();
    if n > 0.0 {
        for x in v.iter_mut() {
            *x /= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vecs(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                (0..dim)
                    .map(|_| {
                        s = s
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn kernels_agree_with_naive_definitions() {
        // Odd dimensions exercise the SIMD tails.
        for dim in [1, 3, 8, 17, 64, 128, 131] {
            let v = vecs(2, dim, dim as u64);
            let (a, b) = (&v[0], &v[1]);
            let l2: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
            let d: f64 = a.iter().zip(b).map(|(x, y)| (x * y) as f64).sum();
            let na: f64 = a.iter().map(|x| (x * x) as f64).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|x| (x * x) as f64).sum::<f64>().sqrt();
            let tol = 1e-4 * dim as f32;
            assert!(
                (DistanceType::L2.distance(a, b) - l2 as f32).abs() < tol,
                "l2 dim {dim}"
            );
            assert!(
                (DistanceType::Dot.distance(a, b) - (1.0 - d) as f32).abs() < tol,
                "dot {dim}"
            );
            let cos = 1.0 - d / (na * nb);
            assert!(
                (DistanceType::Cosine.distance(a, b) - cos as f32).abs() < 1e-4,
                "cos {dim}"
            );
        }
        let zero = vec![0.0; 8];
        assert_eq!(DistanceType::Cosine.distance(&zero, &vecs(1, 8, 1)[0]), 1.0);
    }

    #[test]
    fn int8_kernels_are_exact() {
        let a: Vec<i8> = (0..131).map(|i| (i * 37 % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..131).map(|i| (i * 91 % 255 - 127) as i8).collect();
        let l2: i64 = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| (x as i64 - y as i64).pow(2))
            .sum();
        let d: i64 = a.iter().zip(&b).map(|(&x, &y)| x as i64 * y as i64).sum();
        assert_eq!(l2_sq_i8(&a, &b), l2 as f32);
        assert_eq!(dot_i8(&a, &b), d as f32);
    }

    #[test]
    fn batch_and_nearest_match_pairwise() {
        let v = vecs(50, 16, 7);
        let flat: Vec<f32> = v.iter().flatten().copied().collect();
        let mut out = vec![0.0; 50];
        distances_to(DistanceType::L2, &v[3], &flat, &mut out);
        for (i, d) in out.iter().enumerate() {
            assert_eq!(*d, l2_sq(&v[3], &v[i]));
        }
        assert_eq!(nearest_l2(&v[3], &flat), (3, 0.0));
        assert!(DistanceType::parse("hamming").is_err());
        assert_eq!(DistanceType::parse("L2").unwrap(), DistanceType::L2);
    }
}
