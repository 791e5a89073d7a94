//! Opening data files for reading: one ranged GET for the footer of a file
//! not seen yet (a size hint covers the footer and its length together), and
//! a process-wide cache of footers afterwards. Data files are immutable and
//! uniquely named (a UUID each), so a cached footer never goes stale.
//!
//! A read of whole columns fetches the column chunks of every row group up
//! front, adjacent chunks coalesced (gaps under 1 MiB are read through), so a
//! full-column read costs one request or a few instead of one per row group.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use object_store::ObjectStore;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;

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

/// Gaps between column chunks read through rather than split into requests.
const COALESCE_GAP: u64 = 1 << 20;

/// The data file reader: prefetched column chunks first, ranged GETs else.
#[allow(deprecated)]
pub struct DataFileReader {
    inner: ParquetObjectReader,
    prefetched: Vec<(Range<u64>, Bytes)>,
}

impl DataFileReader {
    fn lookup(&self, r: &Range<u64>) -> Option<Bytes> {
        self.prefetched.iter().find_map(|(p, b)| {
            (p.start <= r.start && r.end <= p.end)
                .then(|| b.slice((r.start - p.start) as usize..(r.end - p.start) as usize))
        })
    }
}

#[allow(deprecated)]
impl AsyncFileReader for DataFileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        match self.lookup(&range) {
            Some(b) => futures::future::ready(Ok(b)).boxed(),
            None => self.inner.get_bytes(range),
        }
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        let found: Option<Vec<Bytes>> = ranges.iter().map(|r| self.lookup(r)).collect();
        match found {
            Some(all) => futures::future::ready(Ok(all)).boxed(),
            None => self.inner.get_byte_ranges(ranges),
        }
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        self.inner.get_metadata(options)
    }
}

/// The byte ranges of the chunks of root columns `roots` in every row
/// group, merged where they touch or nearly do.
fn chunk_ranges(meta: &ParquetMetaData, roots: &[usize]) -> Vec<Range<u64>> {
    let schema = meta.file_metadata().schema_descr();
    let mut ranges: Vec<Range<u64>> = meta
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns().iter().enumerate())
        .filter(|(leaf, _)| roots.contains(&schema.get_column_root_idx(*leaf)))
        .map(|(_, c)| {
            let (start, len) = c.byte_range();
            start..start + len
        })
        .collect();
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end + COALESCE_GAP => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// A Parquet stream builder for the data file at `path` (`size` bytes).
/// `prefetch`: the root columns about to be read whole (all row groups).
#[allow(deprecated)]
pub async fn open(
    store: &StoreHandle,
    path: &Path,
    size: u64,
    prefetch: Option<&[usize]>,
) -> parquet::errors::Result<ParquetRecordBatchStreamBuilder<DataFileReader>> {
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
    let mut prefetched = Vec::new();
    if let Some(roots) = prefetch {
        let ranges = chunk_ranges(meta.metadata(), roots);
        let bytes = store
            .store
            .get_ranges(path, &ranges)
            .await
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        prefetched = ranges.into_iter().zip(bytes).collect();
    }
    let reader = DataFileReader {
        inner: reader,
        prefetched,
    };
    Ok(ParquetRecordBatchStreamBuilder::new_with_metadata(
        reader, meta,
    ))
}

/// Footers with their offset index loaded (see [`open_paged`]).
fn paged_footers() -> &'static Mutex<HashMap<String, ArrowReaderMetadata>> {
    static CACHE: OnceLock<Mutex<HashMap<String, ArrowReaderMetadata>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Like [`open`] (no prefetch), with the file's offset index loaded once
/// and cached: a read of selected rows then fetches and decodes only the
/// pages holding them instead of whole column chunks (a 128-d vector
/// column chunk of a 64Ki-row group is 32 MiB; one page is 1 MiB).
#[allow(deprecated)]
pub async fn open_paged(
    store: &StoreHandle,
    path: &Path,
    size: u64,
) -> parquet::errors::Result<ParquetRecordBatchStreamBuilder<DataFileReader>> {
    let k = key(store, path, size);
    let cached = paged_footers().lock().ok().and_then(|m| m.get(&k).cloned());
    let mut reader = ParquetObjectReader::new(store.store.clone(), path.clone())
        .with_file_size(size)
        .with_footer_size_hint(FOOTER_HINT);
    let meta = match cached {
        Some(m) => m,
        None => {
            use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
            let footer = open(store, path, size, None).await?.metadata().clone();
            let mut loader = ParquetMetaDataReader::new_with_metadata(footer.as_ref().clone())
                .with_column_index_policy(PageIndexPolicy::Skip)
                .with_offset_index_policy(PageIndexPolicy::Optional);
            loader.load_page_index(&mut reader).await?;
            let m = ArrowReaderMetadata::try_new(Arc::new(loader.finish()?), Default::default())?;
            if let Ok(mut map) = paged_footers().lock() {
                if map.len() >= MAX_FOOTERS {
                    map.clear();
                }
                map.insert(k, m.clone());
            }
            m
        }
    };
    let reader = DataFileReader {
        inner: reader,
        prefetched: Vec::new(),
    };
    Ok(ParquetRecordBatchStreamBuilder::new_with_metadata(
        reader, meta,
    ))
}

/// One stream builder per row group of the data file at `path`, sharing
/// the chunks of root columns `roots`, fetched once up front (coalesced,
/// as [`open`] does) unless the file is local: for decoding row groups in
/// parallel.
#[allow(deprecated)]
pub async fn open_row_groups(
    store: &StoreHandle,
    path: &Path,
    size: u64,
    roots: &[usize],
) -> parquet::errors::Result<Vec<ParquetRecordBatchStreamBuilder<DataFileReader>>> {
    let footer = open(store, path, size, None).await?.metadata().clone();
    let meta = ArrowReaderMetadata::try_new(footer.clone(), ArrowReaderOptions::new())?;
    // A local file is read by each row group's own task (the reads, and
    // the page faults of their buffers, then run on both cores too); a
    // remote one up front, in as few requests as the chunks allow.
    let prefetched: Vec<(Range<u64>, Bytes)> = if store.local_dir.is_some() {
        Vec::new()
    } else {
        let ranges = chunk_ranges(&footer, roots);
        let bytes = store
            .store
            .get_ranges(path, &ranges)
            .await
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        ranges.into_iter().zip(bytes).collect()
    };
    Ok((0..footer.num_row_groups())
        .map(|_| {
            let reader = DataFileReader {
                inner: ParquetObjectReader::new(store.store.clone(), path.clone())
                    .with_file_size(size)
                    .with_footer_size_hint(FOOTER_HINT),
                prefetched: prefetched.clone(),
            };
            ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta.clone())
        })
        .collect())
}
