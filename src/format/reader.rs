//! Opening data files for reading: one ranged GET for the footer of a file
//! not seen yet (a size hint covers the footer and its length together), and
//! a process-wide cache of footers afterwards. Data files are immutable and
//! uniquely named (a UUID each), so a cached footer never goes stale.
//!
//! A read of whole columns fetches the column chunks of every row group up
//! front, adjacent chunks coalesced (gaps under 1 MiB are read through), so a
//! full-column read costs one request or a few instead of one per row group.
//! A read of selected rows does the same with the pages that hold them: the
//! footer's page index (offset index, loaded with the footer and cached with
//! it) says which pages those are, and all of them, over every row group,
//! are fetched by one coalesced `get_ranges` before decoding starts.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use object_store::ObjectStore;
use parquet::arrow::arrow_reader::RowSelection;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};

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
        let found: Vec<Option<Bytes>> = ranges.iter().map(|r| self.lookup(r)).collect();
        if found.iter().all(Option::is_some) {
            return futures::future::ready(Ok(found.into_iter().flatten().collect())).boxed();
        }
        // Only what was not prefetched goes out (still coalesced).
        let missing: Vec<Range<u64>> = ranges
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(r, _)| r.clone())
            .collect();
        async move {
            let mut fetched = self.inner.get_byte_ranges(missing).await?.into_iter();
            found
                .into_iter()
                .map(|f| {
                    f.or_else(|| fetched.next()).ok_or_else(|| {
                        ParquetError::General("a prefetched range went missing".into())
                    })
                })
                .collect()
        }
        .boxed()
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
    coalesce(&mut ranges)
}

/// `ranges` sorted and merged where they touch or nearly do.
fn coalesce(ranges: &mut [Range<u64>]) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges.iter() {
        match merged.last_mut() {
            Some(last) if r.start <= last.end + COALESCE_GAP => last.end = last.end.max(r.end),
            _ => merged.push(r.clone()),
        }
    }
    merged
}

/// The byte ranges a read of the rows `selection` picks (over the whole
/// file) of root columns `roots` needs: in each row group with a selected
/// row, the pages holding selected rows (and the dictionary page) when the
/// offset index is loaded, else the whole column chunk. The same rule the
/// Parquet decoder applies (`RowSelection::scan_ranges`), so every range it
/// asks for lies inside one of these.
fn selection_ranges(
    meta: &ParquetMetaData,
    roots: &[usize],
    selection: &RowSelection,
) -> Vec<Range<u64>> {
    coalesce(&mut selected_pages(meta, roots, selection))
}

/// [`selection_ranges`] before coalescing.
fn selected_pages(
    meta: &ParquetMetaData,
    roots: &[usize],
    selection: &RowSelection,
) -> Vec<Range<u64>> {
    let schema = meta.file_metadata().schema_descr();
    let mut rest = selection.clone();
    let mut ranges = Vec::new();
    for (g, rg) in meta.row_groups().iter().enumerate() {
        let here = rest.split_off(rg.num_rows().max(0) as usize);
        if !here.selects_any() {
            continue;
        }
        let pages = meta.page_index_for_row_group(g);
        for (leaf, c) in rg.columns().iter().enumerate() {
            if !roots.contains(&schema.get_column_root_idx(leaf)) {
                continue;
            }
            let (start, len) = c.byte_range();
            let locations = pages
                .offset_index(leaf)
                .map(|o| o.page_locations().as_slice())
                .filter(|l| !l.is_empty());
            match locations {
                Some(locs) => {
                    if let Some(first) = locs.first() {
                        if first.offset as u64 != start {
                            ranges.push(start..first.offset as u64);
                        }
                    }
                    ranges.extend(here.scan_ranges(locs));
                }
                None => ranges.push(start..start + len),
            }
        }
    }
    ranges
}

/// The share of root column `root`'s bytes that a read of the rows
/// `selection` picks fetches (1.0 without an offset index): the pages
/// holding them as they are fetched, coalesced (gaps under
/// `COALESCE_GAP` read through), so that scattered rows whose small pages
/// are close together count for the span read, not for their pages alone.
pub fn selected_share(meta: &ParquetMetaData, root: usize, selection: &RowSelection) -> f64 {
    let total: u64 = chunk_ranges_unmerged(meta, root)
        .iter()
        .map(|r| r.end - r.start)
        .sum();
    if total == 0 {
        return 0.0;
    }
    let picked: u64 = selection_ranges(meta, &[root], selection)
        .iter()
        .map(|r| r.end - r.start)
        .sum();
    picked as f64 / total as f64
}

/// Root columns other than `roots` that a whole-column read of `roots`
/// would fetch for (almost) nothing: every chunk of theirs lies inside or
/// within the coalescing gap of the ranges read for `roots`, and together
/// they are small next to them (at most 1/8 of the bytes). Decoding them
/// too saves a later request for them (a search's result columns).
pub fn free_roots(meta: &ParquetMetaData, roots: &[usize]) -> Vec<usize> {
    let wanted = chunk_ranges(meta, roots);
    let wanted_bytes: u64 = wanted.iter().map(|r| r.end - r.start).sum();
    let schema = meta.file_metadata().schema_descr();
    let n_roots = schema.root_schema().get_fields().len();
    let near = |r: &Range<u64>| {
        wanted
            .iter()
            .any(|w| r.start + COALESCE_GAP >= w.start && r.end <= w.end + COALESCE_GAP)
    };
    let mut extra = Vec::new();
    let mut extra_bytes = 0u64;
    for root in (0..n_roots).filter(|r| !roots.contains(r)) {
        let chunks = chunk_ranges_unmerged(meta, root);
        if !chunks.is_empty() && chunks.iter().all(near) {
            extra_bytes += chunks.iter().map(|r| r.end - r.start).sum::<u64>();
            extra.push(root);
        }
    }
    if extra_bytes.saturating_mul(8) > wanted_bytes {
        return Vec::new();
    }
    extra
}

/// The chunks of root column `root` in every row group.
fn chunk_ranges_unmerged(meta: &ParquetMetaData, root: usize) -> Vec<Range<u64>> {
    let schema = meta.file_metadata().schema_descr();
    meta.row_groups()
        .iter()
        .flat_map(|rg| rg.columns().iter().enumerate())
        .filter(|(leaf, _)| schema.get_column_root_idx(*leaf) == root)
        .map(|(_, c)| {
            let (start, len) = c.byte_range();
            start..start + len
        })
        .collect()
}

/// What to fetch up front when opening a data file.
#[derive(Clone, Copy)]
pub enum Prefetch<'a> {
    Nothing,
    /// Root columns about to be read whole (all row groups).
    Columns(&'a [usize]),
    /// Root columns of which the rows a selection picks are about to be read.
    Rows(&'a [usize], &'a RowSelection),
}

/// The footer (with its page index) of the data file at `path`, from the
/// process-wide cache or read (one ranged GET, usually).
#[allow(deprecated)]
pub async fn metadata(
    store: &StoreHandle,
    path: &Path,
    size: u64,
) -> parquet::errors::Result<ArrowReaderMetadata> {
    let mut reader = object_reader(store, path, size);
    footer(store, path, size, &mut reader).await
}

#[allow(deprecated)]
fn object_reader(store: &StoreHandle, path: &Path, size: u64) -> ParquetObjectReader {
    ParquetObjectReader::new(store.store.clone(), path.clone())
        .with_file_size(size)
        .with_footer_size_hint(FOOTER_HINT)
}

#[allow(deprecated)]
async fn footer(
    store: &StoreHandle,
    path: &Path,
    size: u64,
    reader: &mut ParquetObjectReader,
) -> parquet::errors::Result<ArrowReaderMetadata> {
    let k = key(store, path, size);
    // A poisoned lock: read the footer again (always correct).
    let cached = footers().lock().ok().and_then(|m| m.get(&k).cloned());
    if let Some(m) = cached {
        return Ok(m);
    }
    // The page index sits just before the footer; Stowage's are small, so
    // the size hint usually covers both (else one more request, once).
    crate::query::fast::io_gate().await;
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let m = ArrowReaderMetadata::load_async(reader, options).await?;
    if let Ok(mut map) = footers().lock() {
        if map.len() >= MAX_FOOTERS {
            map.clear();
        }
        map.insert(k, m.clone());
    }
    Ok(m)
}

/// A Parquet stream builder for the data file at `path` (`size` bytes).
/// `prefetch`: the root columns about to be read whole (all row groups).
pub async fn open(
    store: &StoreHandle,
    path: &Path,
    size: u64,
    prefetch: Option<&[usize]>,
) -> parquet::errors::Result<ParquetRecordBatchStreamBuilder<DataFileReader>> {
    let what = prefetch.map_or(Prefetch::Nothing, Prefetch::Columns);
    open_with(store, path, size, what).await
}

/// [`open`] with any [`Prefetch`].
#[allow(deprecated)]
pub async fn open_with(
    store: &StoreHandle,
    path: &Path,
    size: u64,
    prefetch: Prefetch<'_>,
) -> parquet::errors::Result<ParquetRecordBatchStreamBuilder<DataFileReader>> {
    let mut reader = object_reader(store, path, size);
    let meta = footer(store, path, size, &mut reader).await?;
    let ranges = match prefetch {
        Prefetch::Nothing => Vec::new(),
        Prefetch::Columns(roots) => chunk_ranges(meta.metadata(), roots),
        Prefetch::Rows(roots, selection) => selection_ranges(meta.metadata(), roots, selection),
    };
    let mut prefetched = Vec::new();
    if !ranges.is_empty() {
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

/// One stream builder per row group of the data file at `path`, sharing
/// the chunks of root columns `roots`, fetched once up front (coalesced,
/// as [`open`] does) unless the file is local: for decoding row groups in
/// parallel.
pub async fn open_row_groups(
    store: &StoreHandle,
    path: &Path,
    size: u64,
    roots: &[usize],
) -> parquet::errors::Result<Vec<ParquetRecordBatchStreamBuilder<DataFileReader>>> {
    let meta = metadata(store, path, size).await?;
    // A local file is read by each row group's own task (the reads, and
    // the page faults of their buffers, then run on both cores too); a
    // remote one up front, in as few requests as the chunks allow.
    let prefetched: Vec<(Range<u64>, Bytes)> = if store.local_dir.is_some() {
        Vec::new()
    } else {
        let ranges = chunk_ranges(meta.metadata(), roots);
        let bytes = store
            .store
            .get_ranges(path, &ranges)
            .await
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        ranges.into_iter().zip(bytes).collect()
    };
    Ok((0..meta.metadata().num_row_groups())
        .map(|_| {
            let reader = DataFileReader {
                inner: object_reader(store, path, size),
                prefetched: prefetched.clone(),
            };
            ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta.clone())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float32Array, Int32Array, RecordBatch};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
    use parquet::file::properties::WriterProperties;

    use super::{
        chunk_ranges_unmerged, free_roots, selected_pages, selected_share, selection_ranges,
    };

    /// A file of `groups` row groups of 1,000 rows: a small `id` column
    /// and sixteen float columns (the bulk, as a vector column would be),
    /// in pages of 100 rows; its footer with the page index.
    fn file(groups: usize) -> ParquetMetaData {
        let n = 1000;
        let mut cols: Vec<(String, ArrayRef)> =
            vec![("id".into(), Arc::new(Int32Array::from_iter_values(0..n)))];
        for d in 0..16 {
            let xs = Float32Array::from_iter_values((0..n).map(|v| (v * 16 + d) as f32));
            cols.push((format!("x{d}"), Arc::new(xs)));
        }
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(n as usize))
            .set_data_page_row_count_limit(100)
            .set_write_batch_size(100)
            .set_dictionary_enabled(false)
            .build();
        let mut w = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
        for _ in 0..groups {
            w.write(&batch).unwrap();
            w.flush().unwrap();
        }
        let bytes = Bytes::from(w.into_inner().unwrap());
        ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Required)
            .parse_and_finish(&bytes)
            .unwrap()
    }

    fn total(r: &[std::ops::Range<u64>]) -> u64 {
        r.iter().map(|r| r.end - r.start).sum()
    }

    #[test]
    fn scattered_rows_count_for_the_span_they_are_read_with() {
        let meta = file(3);
        // One row in every other 100-row page: half the pages' bytes, but
        // the gaps between them are read through, so the read spans all.
        let mut picks = Vec::new();
        for _ in 0..15 {
            picks.push(RowSelector::select(1));
            picks.push(RowSelector::skip(199));
        }
        let sel = RowSelection::from(picks);
        let pages = total(&selected_pages(&meta, &[1], &sel));
        assert!(pages * 3 < total(&chunk_ranges_unmerged(&meta, 1)) * 2);
        assert!(selected_share(&meta, 1, &sel) > 0.9);
    }

    #[test]
    fn selected_rows_read_only_their_pages_in_every_row_group() {
        let meta = file(3);
        assert_eq!(meta.num_row_groups(), 3);
        // Row 150 (group 0) and row 2050 (group 2) of column x0 (root 1).
        let sel = RowSelection::from(vec![
            RowSelector::skip(150),
            RowSelector::select(1),
            RowSelector::skip(1899),
            RowSelector::select(1),
            RowSelector::skip(949),
        ]);
        let pages = selected_pages(&meta, &[1], &sel);
        assert_eq!(pages.len(), 2, "{pages:?}");
        assert!(total(&pages) * 5 < total(&chunk_ranges_unmerged(&meta, 1)));
        // The page of each selected row is among them, and inside one
        // coalesced range.
        let coalesced = selection_ranges(&meta, &[1], &sel);
        for (g, row) in [(0usize, 150i64), (2, 50)] {
            let locs = meta
                .page_index_for_row_group(g)
                .offset_index(1)
                .unwrap()
                .page_locations()
                .clone();
            let p = locs
                .iter()
                .rev()
                .find(|l| l.first_row_index <= row)
                .unwrap();
            let page = p.offset as u64..p.offset as u64 + p.compressed_page_size as u64;
            assert!(pages.contains(&page));
            assert!(coalesced
                .iter()
                .any(|r| r.start <= page.start && page.end <= r.end));
        }
        // No row selected: nothing to read.
        let none = RowSelection::from(vec![RowSelector::skip(3000)]);
        assert!(selection_ranges(&meta, &[1], &none).is_empty());
    }

    #[test]
    fn free_roots_are_the_small_columns_between_the_read_ones() {
        let meta = file(2);
        // All sixteen float columns: id (small, next to them) comes free.
        let xs: Vec<usize> = (1..17).collect();
        assert_eq!(free_roots(&meta, &xs), vec![0]);
        // id alone: the float columns are far bigger, never free.
        assert!(free_roots(&meta, &[0]).is_empty());
    }
}
