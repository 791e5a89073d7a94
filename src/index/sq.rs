//! 8-bit scalar quantisation with one range for all dimensions (as
//! LanceDB's SQ): `x ≈ mid + scale · c`, `c` in -127..=127. One range
//! keeps distances between codes proportional to distances between the
//! vectors, so two codes compare with the int8 SIMD kernels, exactly in
//! integers; per-dimension ranges would need a weighted float kernel.

use super::distance::{dot_i8, l2_sq_i8, DistanceType};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalarQuantizer {
    pub lo: f32,
    pub hi: f32,
}

impl ScalarQuantizer {
    /// The range of the values of `sample`.
    pub fn train(sample: &[f32]) -> Self {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &x in sample.iter().filter(|x| x.is_finite()) {
            lo = lo.min(x);
            hi = hi.max(x);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 0.0);
        }
        ScalarQuantizer { lo, hi }
    }

    pub fn mid(&self) -> f32 {
        (self.lo + self.hi) / 2.0
    }

    pub fn scale(&self) -> f32 {
        let s = (self.hi - self.lo) / 254.0;
        if s > 0.0 {
            s
        } else {
            1.0
        }
    }

    /// Values outside the trained range clamp to its ends.
    pub fn encode(&self, v: &[f32], out: &mut [i8]) {
        let (mid, inv) = (self.mid(), 1.0 / self.scale());
        for (o, x) in out.iter_mut().zip(v) {
            *o = ((x - mid) * inv).round().clamp(-127.0, 127.0) as i8;
        }
    }

    pub fn decode(&self, c: &[i8], out: &mut [f32]) {
        let (mid, s) = (self.mid(), self.scale());
        for (o, &x) in out.iter_mut().zip(c) {
            *o = mid + s * x as f32;
        }
    }

    /// The internal distance (see [`DistanceType::internal`]) between two
    /// coded vectors, given the sums of their codes (needed for dot only).
    #[inline]
    pub fn distance(&self, dt: DistanceType, a: &[i8], sum_a: i32, b: &[i8], sum_b: i32) -> f32 {
        let s = self.scale();
        match dt {
            DistanceType::L2 => s * s * l2_sq_i8(a, b),
            DistanceType::Dot | DistanceType::Cosine => {
                // Σ (m + s·a)(m + s·b) = d·m² + m·s·(Σa + Σb) + s²·(a·b).
                let m = self.mid();
                let d = a.len() as f32;
                let dot = d * m * m + m * s * (sum_a + sum_b) as f32 + s * s * dot_i8(a, b);
                1.0 - dot
            }
        }
    }
}

/// Per-dimension ranges over [`ScalarQuantizer`]: dimension `i` is coded
/// with its own `lo_i..hi_i`, one byte a value. IVF-PQ keeps such a copy of
/// each vector's residual next to its PQ code, to re-rank the PQ
/// candidates in memory; it is compared with a float query (asymmetric),
/// so per-dimension ranges cost nothing at search and quantise dimensions
/// of small spread much finer than one shared range would.
#[derive(Debug, Clone, PartialEq)]
pub struct DimQuantizer {
    pub ranges: Vec<ScalarQuantizer>,
}

/// A query prepared against a [`DimQuantizer`]: per dimension the step
/// and (L2) the query minus the range's midpoint, or (dot) the query
/// times the step.
#[derive(Debug, Default)]
pub struct DimQuery {
    a: Vec<f32>,
    w: Vec<f32>,
    bias: f32,
}

impl DimQuantizer {
    /// The range of each dimension over `sample` (row-major, `dim` wide).
    pub fn train(sample: &[f32], dim: usize) -> Self {
        let mut column = Vec::with_capacity(sample.len() / dim.max(1));
        let ranges = (0..dim)
            .map(|i| {
                column.clear();
                column.extend(sample.iter().skip(i).step_by(dim).copied());
                ScalarQuantizer::train(&column)
            })
            .collect();
        DimQuantizer { ranges }
    }

    pub fn dim(&self) -> usize {
        self.ranges.len()
    }

    pub fn encode(&self, v: &[f32], out: &mut [u8]) {
        for ((o, x), r) in out.iter_mut().zip(v).zip(&self.ranges) {
            let mut c = [0i8];
            r.encode(std::slice::from_ref(x), &mut c);
            *o = c[0] as u8;
        }
    }

    pub fn decode(&self, c: &[u8], out: &mut [f32]) {
        for ((o, &x), r) in out.iter_mut().zip(c).zip(&self.ranges) {
            r.decode(&[x as i8], std::slice::from_mut(o));
        }
    }

    /// Prepares `q` (already shifted by what the codes are relative to,
    /// e.g. `q − centroid` for L2 over residuals) for [`Self::distance`].
    /// For dot/cosine `q` is the query itself and `bias` the part of the
    /// internal distance the codes do not hold (`1 − q·centroid`).
    pub fn prepare(&self, dt: DistanceType, q: &[f32], bias: f32, out: &mut DimQuery) {
        out.a.clear();
        out.w.clear();
        out.bias = bias;
        for (x, r) in q.iter().zip(&self.ranges) {
            let (mid, s) = (r.mid(), r.scale());
            match dt {
                DistanceType::L2 => {
                    out.a.push((x - mid) / s);
                    out.w.push(s * s);
                }
                DistanceType::Dot | DistanceType::Cosine => {
                    out.bias -= x * mid;
                    out.w.push(x * s);
                }
            }
        }
    }

    /// The internal distance between the prepared query and a code:
    /// `Σ s_i² (a_i − c_i)²` for L2, `bias − Σ q_i s_i c_i` otherwise.
    #[inline]
    pub fn distance(&self, q: &DimQuery, code: &[u8]) -> f32 {
        if q.a.is_empty() {
            let mut d = 0f32;
            for (w, &c) in q.w.iter().zip(code) {
                d += w * (c as i8) as f32;
            }
            q.bias - d
        } else {
            let mut d = 0f32;
            for ((w, a), &c) in q.w.iter().zip(&q.a).zip(code) {
                let e = a - (c as i8) as f32;
                d += w * e * e;
            }
            d
        }
    }
}

pub fn code_sum(c: &[i8]) -> i32 {
    c.iter().map(|&x| x as i32).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_error_is_half_a_step() {
        let v: Vec<f32> = (0..64)
            .map(|i| ((i * 13) % 29) as f32 / 7.0 - 2.0)
            .collect();
        let sq = ScalarQuantizer::train(&v);
        let mut c = vec![0i8; 64];
        let mut back = vec![0f32; 64];
        sq.encode(&v, &mut c);
        sq.decode(&c, &mut back);
        for (a, b) in v.iter().zip(&back) {
            assert!((a - b).abs() <= sq.scale() / 2.0 + 1e-6);
        }
    }

    #[test]
    fn per_dimension_codes_round_trip_and_rank_like_exact_distances() {
        // Dimensions of very different spread: each gets its own step.
        let dim = 16;
        let rows: Vec<f32> = (0..200 * dim)
            .map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * (1 + (i % dim)) as f32)
            .collect();
        let dq = DimQuantizer::train(&rows, dim);
        assert_eq!(dq.dim(), dim);
        let mut code = vec![0u8; dim];
        let mut back = vec![0f32; dim];
        for v in rows.chunks(dim) {
            dq.encode(v, &mut code);
            dq.decode(&code, &mut back);
            for ((a, b), r) in v.iter().zip(&back).zip(&dq.ranges) {
                assert!((a - b).abs() <= r.scale() / 2.0 + 1e-5, "{a} vs {b}");
            }
        }
        // Out-of-range values clamp to the range's ends.
        let far = vec![1e6f32; dim];
        dq.encode(&far, &mut code);
        dq.decode(&code, &mut back);
        for (b, r) in back.iter().zip(&dq.ranges) {
            assert!((b - r.hi).abs() <= r.scale());
        }
        // Asymmetric distances equal the exact distance to the decoded
        // vector, for every metric.
        let q = &rows[3 * dim..4 * dim];
        let mut pq = DimQuery::default();
        for v in rows.chunks(dim).take(50) {
            dq.encode(v, &mut code);
            dq.decode(&code, &mut back);
            for dt in [DistanceType::L2, DistanceType::Dot, DistanceType::Cosine] {
                dq.prepare(dt, q, 1.0, &mut pq);
                let want = match dt {
                    DistanceType::L2 => dt.internal(q, &back),
                    _ => 1.0 - q.iter().zip(&back).map(|(a, b)| a * b).sum::<f32>(),
                };
                let got = dq.distance(&pq, &code);
                assert!(
                    (want - got).abs() <= 1e-3 * want.abs().max(1.0),
                    "{dt:?}: {want} vs {got}"
                );
            }
        }
    }

    #[test]
    fn code_distances_track_exact_ones() {
        let a: Vec<f32> = (0..32).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..32).map(|i| (i as f32 * 0.11).cos() * 0.5).collect();
        let mut all = a.clone();
        all.extend(&b);
        let sq = ScalarQuantizer::train(&all);
        let (mut ca, mut cb) = (vec![0i8; 32], vec![0i8; 32]);
        sq.encode(&a, &mut ca);
        sq.encode(&b, &mut cb);
        for dt in [DistanceType::L2, DistanceType::Dot] {
            let exact = dt.internal(&a, &b);
            let approx = sq.distance(dt, &ca, code_sum(&ca), &cb, code_sum(&cb));
            assert!(
                (exact - approx).abs() < 0.05 * exact.abs().max(1.0),
                "{dt:?}"
            );
        }
    }
}
