//! Product quantisation: `m` sub-vectors, each replaced by the nearest of
//! `2^bits` codewords (4 or 8 bits). Search compares a query with codes
//! through a lookup table of query-to-codeword distances (ADC), one table
//! per query (per partition for residual L2), so a candidate costs `m`
//! table reads and no allocation.

use rayon::prelude::*;

use super::distance::{dot, l2_sq, nearest_l2, DistanceType};
use super::kmeans::{self, KMeansParams};
use super::trace;
use crate::error::{Error, Result};

/// Iterations of each codebook's k-means at most, whatever `maxIterations`
/// (which bounds the partitions' k-means): FAISS's `ProductQuantizer`
/// trains its codebooks with 25. A sub-space of a few dimensions settles
/// slowly: on the bench's 128-d sets iterations 25 to 30 lowered the mean
/// codebook loss by 0.15%, while 16 codebooks' iterations cost about as
/// much as the partitions' k-means (bench/README.md, h10k).
pub const MAX_CODEBOOK_ITERATIONS: usize = 25;

#[derive(Debug, Clone, PartialEq)]
pub struct ProductQuantizer {
    pub dim: usize,
    pub num_sub_vectors: usize,
    pub num_bits: u32,
    /// `num_sub_vectors × 2^num_bits × sub_dim`, row-major.
    pub codebooks: Vec<f32>,
}

impl ProductQuantizer {
    pub fn validate(dim: usize, num_sub_vectors: usize, num_bits: u32) -> Result<()> {
        if num_bits != 4 && num_bits != 8 {
            return Err(Error::invalid_argument(format!(
                "numBits must be 4 or 8, got {num_bits}"
            )));
        }
        if num_sub_vectors == 0 || !dim.is_multiple_of(num_sub_vectors) {
            return Err(Error::invalid_argument(format!(
                "numSubVectors ({num_sub_vectors}) must divide the vector dimension ({dim})"
            )));
        }
        Ok(())
    }

    /// Trains one codebook per sub-vector on `sample`, the sub-spaces in
    /// parallel (each k-means is itself parallel; rayon balances the two).
    pub fn train(
        sample: &[f32],
        dim: usize,
        num_sub_vectors: usize,
        num_bits: u32,
        max_iterations: usize,
        seed: u64,
    ) -> Result<Self> {
        Self::validate(dim, num_sub_vectors, num_bits)?;
        let n = sample.len() / dim;
        let sub = dim / num_sub_vectors;
        let ksub = 1usize << num_bits;
        if n < ksub {
            return Err(Error::invalid_argument(format!(
                "product quantisation with numBits = {num_bits} needs at least {ksub} vectors to train, the table has {n}"
            )));
        }
        let books: Vec<kmeans::KMeans> = (0..num_sub_vectors)
            .into_par_iter()
            .map(|s| {
                let part: Vec<f32> = sample
                    .chunks_exact(dim)
                    .flat_map(|v| v[s * sub..(s + 1) * sub].iter().copied())
                    .collect();
                let mut p = KMeansParams::new(ksub);
                p.max_iterations = max_iterations.min(MAX_CODEBOOK_ITERATIONS);
                p.seed = seed.wrapping_add(s as u64);
                kmeans::train(&part, sub, &p)
            })
            .collect::<Result<_>>()?;
        trace::note(|| {
            let its: Vec<usize> = books.iter().map(|k| k.iterations).collect();
            format!("pq codebooks: {num_sub_vectors} x {ksub}-means over {n} sub-vectors of {sub}, iterations {its:?}")
        });
        let books: Vec<Vec<f32>> = books.into_iter().map(|k| k.centroids).collect();
        Ok(ProductQuantizer {
            dim,
            num_sub_vectors,
            num_bits,
            codebooks: books.concat(),
        })
    }

    pub fn sub_dim(&self) -> usize {
        self.dim / self.num_sub_vectors
    }

    pub fn ksub(&self) -> usize {
        1 << self.num_bits
    }

    /// Bytes per coded vector; 4-bit codes pack two to a byte, low nibble
    /// first.
    pub fn code_size(&self) -> usize {
        (self.num_sub_vectors * self.num_bits as usize).div_ceil(8)
    }

    fn book(&self, s: usize) -> &[f32] {
        let len = self.ksub() * self.sub_dim();
        &self.codebooks[s * len..(s + 1) * len]
    }

    pub fn encode(&self, v: &[f32], out: &mut [u8]) {
        let sub = self.sub_dim();
        out.fill(0);
        for s in 0..self.num_sub_vectors {
            let (c, _) = nearest_l2(&v[s * sub..(s + 1) * sub], self.book(s));
            if self.num_bits == 8 {
                out[s] = c as u8;
            } else {
                out[s / 2] |= (c as u8) << ((s % 2) * 4);
            }
        }
    }

    /// Encodes every row of `vectors` (row-major, `dim` values each) into
    /// `out` (`code_size` bytes per row): per sub-space, one SGEMM of the
    /// rows' sub-vectors against the codebook ([`kmeans::nearest_block`]).
    /// The same codes as [`Self::encode`] up to float rounding in near-ties.
    pub fn encode_batch(&self, vectors: &[f32], out: &mut [u8]) {
        let (sub, cs) = (self.sub_dim(), self.code_size());
        let norms: Vec<Vec<f32>> = (0..self.num_sub_vectors)
            .map(|s| kmeans::squared_norms(self.book(s), sub))
            .collect();
        let rows = kmeans::block_rows(self.ksub());
        let mut tile = Vec::new();
        let mut near = Vec::new();
        for (block, codes) in vectors
            .chunks(rows * self.dim)
            .zip(out.chunks_mut(rows * cs))
        {
            let n = block.len() / self.dim;
            near.resize(n, (0u32, 0f32));
            codes.fill(0);
            for (s, norms) in norms.iter().enumerate() {
                kmeans::nearest_block(
                    &block[s * sub..],
                    self.dim,
                    sub,
                    self.book(s),
                    norms,
                    &mut tile,
                    &mut near,
                );
                for (code, &(c, _)) in codes.chunks_exact_mut(cs).zip(&near) {
                    if self.num_bits == 8 {
                        code[s] = c as u8;
                    } else {
                        code[s / 2] |= (c as u8) << ((s % 2) * 4);
                    }
                }
            }
        }
    }

    pub fn decode(&self, code: &[u8], out: &mut [f32]) {
        let sub = self.sub_dim();
        for s in 0..self.num_sub_vectors {
            let c = self.code_at(code, s);
            out[s * sub..(s + 1) * sub].copy_from_slice(&self.book(s)[c * sub..(c + 1) * sub]);
        }
    }

    #[inline]
    fn code_at(&self, code: &[u8], s: usize) -> usize {
        if self.num_bits == 8 {
            code[s] as usize
        } else {
            ((code[s / 2] >> ((s % 2) * 4)) & 0xf) as usize
        }
    }

    /// Fills `table` (`num_sub_vectors × 2^bits`) with the contribution of
    /// each codeword to the internal distance from `q`: squared L2 for L2,
    /// minus the dot product otherwise (the caller adds `1 - q·centroid`).
    pub fn lookup_table(&self, dt: DistanceType, q: &[f32], table: &mut Vec<f32>) {
        let sub = self.sub_dim();
        table.clear();
        for s in 0..self.num_sub_vectors {
            let qs = &q[s * sub..(s + 1) * sub];
            for cw in self.book(s).chunks_exact(sub) {
                table.push(match dt {
                    DistanceType::L2 => short_l2(qs, cw),
                    DistanceType::Dot | DistanceType::Cosine => -short_dot(qs, cw),
                });
            }
        }
    }

    /// For L2 over residuals, the part of partition `centroid`'s lookup
    /// table that does not depend on the query: `‖w‖² + 2⟨c_s, w⟩` for each
    /// codeword `w` of each sub-vector `s` (laid out as the lookup table).
    /// With [`Self::query_terms`] and `‖q − c‖²` it gives the table of
    /// `‖q_s − c_s − w‖²` without a pass over the codebooks per partition.
    pub fn residual_terms(&self, centroid: &[f32]) -> Vec<f32> {
        let sub = self.sub_dim();
        let mut out = Vec::with_capacity(self.num_sub_vectors * self.ksub());
        for s in 0..self.num_sub_vectors {
            let cs = &centroid[s * sub..(s + 1) * sub];
            for w in self.book(s).chunks_exact(sub) {
                out.push(short_dot(w, w) + 2.0 * short_dot(cs, w));
            }
        }
        out
    }

    /// `−2⟨q_s, w⟩` for each codeword, laid out as the lookup table.
    pub fn query_terms(&self, q: &[f32], out: &mut Vec<f32>) {
        let sub = self.sub_dim();
        out.clear();
        for s in 0..self.num_sub_vectors {
            let qs = &q[s * sub..(s + 1) * sub];
            for w in self.book(s).chunks_exact(sub) {
                out.push(-2.0 * short_dot(qs, w));
            }
        }
    }

    /// The ADC distance of one code: `bias` plus its table entries.
    #[inline]
    pub fn adc(&self, table: &[f32], code: &[u8], bias: f32) -> f32 {
        let mut d = bias;
        if self.num_bits == 8 {
            // Fixed-size rows let the compiler drop the bounds checks: a u8
            // always indexes a 256-entry row.
            for (row, &c) in table.chunks_exact(256).zip(code) {
                if let Ok(row) = <&[f32; 256]>::try_from(row) {
                    d += row[c as usize];
                }
            }
        } else {
            for (rows, &c) in table.chunks_exact(32).zip(code) {
                d += rows[(c & 0xf) as usize] + rows[16 + (c >> 4) as usize];
            }
            if self.num_sub_vectors % 2 == 1 {
                let s = self.num_sub_vectors - 1;
                d += table[s * 16 + self.code_at(code, s)];
            }
        }
        d
    }
}

/// Squared L2 of two sub-vectors: a few values, so an inlined loop the
/// compiler vectorises beats a call into a SIMD library per codeword.
#[inline]
fn short_l2(a: &[f32], b: &[f32]) -> f32 {
    if a.len() > 32 {
        return l2_sq(a, b);
    }
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[inline]
fn short_dot(a: &[f32], b: &[f32]) -> f32 {
    if a.len() > 32 {
        return dot(a, b);
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, dim: usize) -> Vec<f32> {
        (0..n * dim)
            .map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * (1 + (i % dim) % 3) as f32)
            .collect()
    }

    #[test]
    fn adc_equals_distance_to_the_decoded_vector() {
        let dim = 16;
        let d = data(600, dim);
        for bits in [4u32, 8] {
            for m in [4usize, 8, 16] {
                let pq = ProductQuantizer::train(&d, dim, m, bits, 10, 1).unwrap();
                let q = &d[5 * dim..6 * dim];
                let v = &d[77 * dim..78 * dim];
                let mut code = vec![0u8; pq.code_size()];
                pq.encode(v, &mut code);
                let mut back = vec![0f32; dim];
                pq.decode(&code, &mut back);
                let mut table = Vec::new();
                for dt in [DistanceType::L2, DistanceType::Dot] {
                    pq.lookup_table(dt, q, &mut table);
                    let bias = if dt == DistanceType::L2 { 0.0 } else { 1.0 };
                    let adc = pq.adc(&table, &code, bias);
                    let exact = dt.internal(q, &back);
                    assert!((adc - exact).abs() < 1e-4, "bits {bits} m {m} {dt:?}");
                }
                // The quantisation error is far below the spread of the data.
                let err = l2_sq(v, &back);
                assert!(err < l2_sq(v, q), "bits {bits} m {m}: {err}");
            }
        }
    }

    #[test]
    fn split_residual_tables_equal_the_direct_table() {
        // ‖q − c‖² + residual_terms(c) + query_terms(q) is the lookup table
        // of the residual q − c, entry by entry.
        let dim = 16;
        let d = data(600, dim);
        for bits in [4u32, 8] {
            let pq = ProductQuantizer::train(&d, dim, 8, bits, 10, 1).unwrap();
            let q = &d[5 * dim..6 * dim];
            let c = &d[300 * dim..301 * dim];
            let shifted: Vec<f32> = q.iter().zip(c).map(|(a, b)| a - b).collect();
            let mut direct = Vec::new();
            pq.lookup_table(DistanceType::L2, &shifted, &mut direct);
            let terms = pq.residual_terms(c);
            let mut qt = Vec::new();
            pq.query_terms(q, &mut qt);
            let base = l2_sq(q, c);
            let v = &d[77 * dim..78 * dim];
            let mut code = vec![0u8; pq.code_size()];
            pq.encode(v, &mut code);
            let split: Vec<f32> = terms.iter().zip(&qt).map(|(a, b)| a + b).collect();
            let (a, b) = (pq.adc(&direct, &code, 0.0), pq.adc(&split, &code, base));
            assert!(
                (a - b).abs() < 1e-3 * a.abs().max(1.0),
                "bits {bits}: {a} vs {b}"
            );
        }
    }

    #[test]
    fn batch_encoding_equals_one_by_one() {
        let dim = 16;
        let d = data(700, dim);
        for bits in [4u32, 8] {
            for m in [2usize, 8, 16] {
                let pq = ProductQuantizer::train(&d, dim, m, bits, 10, 3).unwrap();
                let cs = pq.code_size();
                let mut batch = vec![0u8; 700 * cs];
                pq.encode_batch(&d, &mut batch);
                let mut one = vec![0u8; cs];
                let (mut back_b, mut back_o) = (vec![0f32; dim], vec![0f32; dim]);
                for (v, code) in d.chunks_exact(dim).zip(batch.chunks_exact(cs)) {
                    pq.encode(v, &mut one);
                    if one != code {
                        // A near-tie: the two codes must be as close.
                        pq.decode(code, &mut back_b);
                        pq.decode(&one, &mut back_o);
                        let (a, b) = (l2_sq(v, &back_b), l2_sq(v, &back_o));
                        assert!(
                            (a - b).abs() <= 1e-5 * b.max(1.0),
                            "bits {bits} m {m}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn validates_options() {
        assert!(ProductQuantizer::validate(16, 5, 8)
            .unwrap_err()
            .to_string()
            .contains("numSubVectors (5)"));
        assert!(ProductQuantizer::validate(16, 4, 6)
            .unwrap_err()
            .to_string()
            .contains("numBits"));
    }
}
