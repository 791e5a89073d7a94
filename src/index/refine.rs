//! Re-ranking of approximate candidates with exact distances. The index
//! keeps only codes; the exact vectors live in the table's data files, so
//! the caller fetches them by row id through [`VectorSource`].

use async_trait::async_trait;

use super::distance::DistanceType;
use super::topk::TopK;
use crate::error::{Error, Result};

#[async_trait]
pub trait VectorSource: Send + Sync {
    /// The vectors of `row_ids`, row-major in the same order (`row_ids.len()
    /// × dim` floats). A row that no longer exists (deleted) is left out by
    /// returning `None` in its place.
    async fn fetch(&self, row_ids: &[u64]) -> Result<Vec<Option<Vec<f32>>>>;
}

/// The `k` nearest of `candidates` by the exact distance to `query`.
pub async fn refine(
    dt: DistanceType,
    query: &[f32],
    candidates: &[(u64, f32)],
    k: usize,
    source: &dyn VectorSource,
) -> Result<Vec<(u64, f32)>> {
    let ids: Vec<u64> = candidates.iter().map(|c| c.0).collect();
    let vectors = source.fetch(&ids).await?;
    if vectors.len() != ids.len() {
        return Err(Error::internal(format!(
            "refine asked for {} vectors and got {}",
            ids.len(),
            vectors.len()
        )));
    }
    let mut top = TopK::new(k);
    for (id, v) in ids.iter().zip(&vectors) {
        if let Some(v) = v {
            if v.len() != query.len() {
                return Err(Error::internal(format!(
                    "refine got a vector of {} values for row {id}, expected {}",
                    v.len(),
                    query.len()
                )));
            }
            top.push(*id, dt.distance(query, v));
        }
    }
    Ok(top.into_sorted())
}
