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

    fn mid(&self) -> f32 {
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
