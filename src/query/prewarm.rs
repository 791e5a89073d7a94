//! `prewarmData(columns)`: whole columns of every data file of a version
//! decoded into the column cache (see [`super::cache`]), nothing returned to
//! JavaScript. Bounded by the cache: columns that do not fit are an error
//! saying how much they need, never a silent partial warm-up.

use futures::{StreamExt, TryStreamExt};

use super::{cache, cache_key, project, sorted_unique, whole_columns, READ_AHEAD};
use crate::error::{Error, Result};
use crate::format::Snapshot;

fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Loads columns `columns` (all when `None`) of every data file of `snap`.
pub async fn prewarm_data(snap: &Snapshot, columns: &Option<Vec<String>>) -> Result<()> {
    let (_, idx) = project(&snap.schema, columns)?;
    let idx = sorted_unique(&idx);
    let names = idx
        .iter()
        .map(|i| snap.schema.field(*i).name().as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let cache = cache::for_store(&snap.store);
    if !cache.enabled() {
        return Err(Error::invalid_argument(format!(
            "prewarmData: the column cache is off (columnCacheSize is 0), so there is nowhere to load columns {names}; set columnCacheSize (bytes) on the connection or table"
        )));
    }
    let budget = cache.budget();
    let too_big = |need: usize| {
        Error::invalid_argument(format!(
            "prewarmData: columns {names} need at least {} decoded, more than the column cache holds ({}, at most {} per column of a data file; columnCacheSize); raise columnCacheSize or prewarm fewer columns",
            mb(need),
            mb(budget),
            mb(budget / 2)
        ))
    };
    let idx_ref = &idx;
    let mut loaded = futures::stream::iter(snap.manifest.fragments.iter().cloned())
        .map(|frag| async move {
            let cols = whole_columns(snap, &frag, idx_ref).await?;
            Ok::<_, Error>(
                cols.iter()
                    .map(|c| c.get_array_memory_size())
                    .collect::<Vec<_>>(),
            )
        })
        .buffered(READ_AHEAD);
    let mut total = 0usize;
    // Stops at the first file past the budget: loading more would only
    // evict what was just loaded.
    while let Some(sizes) = loaded.try_next().await? {
        total += sizes.iter().sum::<usize>();
        if total > budget || sizes.iter().any(|s| !cache.admits(*s)) {
            return Err(too_big(total));
        }
    }
    drop(loaded);
    // Everything loaded is still held (sizes estimated before a put can
    // differ a little from what the cache counts).
    for frag in &snap.manifest.fragments {
        let key = cache_key(&snap.store, &snap.dir, frag);
        if idx
            .iter()
            .any(|i| !cache.contains(&key, snap.column_id(*i) as usize))
        {
            return Err(too_big(total));
        }
    }
    Ok(())
}
