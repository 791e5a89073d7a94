//! Opening data files for reading: one ranged GET for the footer of a file
//! not seen yet (a size hint covers the footer and its length together), and
//! a process-wide cache of footers afterwards. Data files are immutable and
//! uniquely named (a UUID each), so a cached footer never goes stale.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use object_store::path::Path;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
// ParquetObjectReader is deprecated upstream in favour of hand-written
// AsyncFileReaders; it still does exactly what we need (ranged GETs through
// object_store, adjacent ranges coalesced by get_ranges), so we keep it.
#[allow(deprecated)]
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;

use crate::storage::StoreHandle;

/// Bytes read from the end of a file for its footer: Stowage's footers are
/// a few KiB, so one request covers them.
const FOOTER_HINT: usize = 64 << 10;
/// Footers kept; past this the cache starts over (entries are small).
const MAX_FOOTERS: usize = 8192;

fn footers() -> &'static Mutex<HashMap<String, ArrowReaderMetadata>> {
    static CACHE: OnceLock<Mutex<HashMap<String, ArrowReaderMetadata>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn key(store: &StoreHandle, path: &Path, size: u64) -> String {
    format!(
        "{}\u{1}{}\u{1}{path}\u{1}{size}",
        store.display_uri, store.root
    )
}

/// A Parquet stream builder for the data file at `path` (`size` bytes).
#[allow(deprecated)]
pub async fn open(
    store: &StoreHandle,
    path: &Path,
    size: u64,
) -> parquet::errors::Result<ParquetRecordBatchStreamBuilder<ParquetObjectReader>> {
    let mut reader = ParquetObjectReader::new(store.store.clone(), path.clone())
        .with_file_size(size)
        .with_footer_size_hint(FOOTER_HINT);
    let k = key(store, path, size);
    // A poisoned lock: read the footer again (always correct).
    let cached = footers().lock().ok().and_then(|m| m.get(&k).cloned());
    let meta = match cached {
        Some(m) => m,
        None => {
            let m = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new()).await?;
            if let Ok(mut map) = footers().lock() {
                if map.len() >= MAX_FOOTERS {
                    map.clear();
                }
                map.insert(k, m.clone());
            }
            m
        }
    };
    Ok(ParquetRecordBatchStreamBuilder::new_with_metadata(
        reader, meta,
    ))
}
