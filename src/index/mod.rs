//! Vector indexes: IVF-Flat, IVF-PQ, HNSW-SQ and HNSW-PQ, built from
//! streamed (row id, vector) batches and searched through [`ListSource`].
//!
//! Pure Rust over SimSIMD kernels and rayon; nothing here knows tables or
//! queries. The caller (the table layer) samples training vectors, streams
//! the data files into a builder, stores the objects it writes, and passes
//! a [`ListSource`] over them (and a [`VectorSource`] for refinement) to
//! search. Object layouts: docs/FORMAT.md, "Vector index objects".

pub mod distance;
pub mod fts;
pub mod hnsw;
pub mod ivf;
pub mod ivf_index;
pub mod kmeans;
pub mod lists;
mod object;
pub mod pq;
pub mod refine;
pub mod scalar;
pub mod sq;
pub mod topk;
pub mod trace;

#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use distance::DistanceType;
pub use hnsw::{HnswBuildParams, HnswBuilder, HnswIndex, HnswSearchParams, HnswStorage};
pub use ivf_index::{
    IvfBuildParams, IvfBuilder, IvfIndex, IvfPlan, IvfSearchParams, ResidualTerms,
};
pub use lists::{coalesce, CoalescedRead, ListSource, MemoryListSource};
pub use refine::VectorSource;

/// How an IVF index stores each vector in its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Codec {
    /// The vector itself (IVF-Flat); cosine vectors are stored normalised.
    Flat,
    /// PQ codes of the vector, or of its residual from the partition's
    /// centroid when `residual` (the default: residuals are smaller, so the
    /// same codebooks quantise them finer).
    Pq {
        num_sub_vectors: usize,
        num_bits: u32,
        residual: bool,
    },
}

/// A predicate on row ids: only rows for which it returns true are
/// returned (a prefilter; deleted rows are filtered the same way).
pub type RowFilter<'a> = &'a (dyn Fn(u64) -> bool + Sync);

/// The checksum of index objects and partitions: XXH64, seed 0.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(0, bytes)
}

/// User input quoted in an error: at most 200 characters.
pub(crate) fn bounded(s: &str) -> String {
    let n = s.chars().count();
    if n <= 200 {
        s.to_string()
    } else {
        format!(
            "{}… ({n} characters)",
            s.chars().take(200).collect::<String>()
        )
    }
}
