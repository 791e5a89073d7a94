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

    /// The exact `dt` distances of `row_ids` to `query`, in the same order
    /// (`None`: no such row). The default goes through [`fetch`]; a source
    /// holding the vectors in memory computes them in place, without a copy
    /// per candidate.
    ///
    /// [`fetch`]: VectorSource::fetch
    async fn distances(
        &self,
        dt: DistanceType,
        query: &[f32],
        row_ids: &[u64],
    ) -> Result<Vec<Option<f32>>> {
        let vectors = self.fetch(row_ids).await?;
        if vectors.len() != row_ids.len() {
            return Err(Error::internal(format!(
                "refine asked for {} vectors and got {}",
                row_ids.len(),
                vectors.len()
            )));
        }
        row_ids
            .iter()
            .zip(&vectors)
            .map(|(id, v)| match v {
                Some(v) if v.len() != query.len() => Err(Error::internal(format!(
                    "refine got a vector of {} values for row {id}, expected {}",
                    v.len(),
                    query.len()
                ))),
                Some(v) => Ok(Some(dt.distance(query, v))),
                None => Ok(None),
            })
            .collect()
    }
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
    let dists = source.distances(dt, query, &ids).await?;
    if dists.len() != ids.len() {
        return Err(Error::internal(format!(
            "refine asked for {} distances and got {}",
            ids.len(),
            dists.len()
        )));
    }
    let mut top = TopK::new(k);
    for (id, d) in ids.iter().zip(dists) {
        if let Some(d) = d {
            top.push(*id, d);
        }
    }
    Ok(top.into_sorted())
}
