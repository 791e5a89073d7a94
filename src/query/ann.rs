//! Approximate search through a table's vector index: the index's
//! segments for the fragments they cover, with deleted rows and the
//! prefilter applied as a row-id predicate, and exact re-ranking through
//! the data files. `vector::search` merges this with an exact search of the
//! fragments no segment covers.
//!
//! Index objects are immutable and uniquely named (a UUID per segment), so
//! a process-wide cache of their decoded metadata and of partition bytes
//! never goes stale: a warm repeat of a search reads nothing from the index.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::Array;
use async_trait::async_trait;
use bytes::Bytes;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use super::{read_rows, read_slice, Slice};
use crate::error::{Error, Result};
use crate::format::index::{IndexEntry, IndexSegment};
use crate::format::manifest::Fragment;
use crate::format::Snapshot;
use crate::index::lists::coalesce;
use crate::index::refine::refine;
use crate::index::{HnswIndex, IvfIndex, ResidualTerms, VectorSource};

/// Per-phase timings of a vector search on stderr when `STOWAGE_TRACE_ANN`
/// is set (a profiling aid for bench/ann.mjs; off, it costs one load).
pub(crate) fn trace_start() -> Option<std::time::Instant> {
    static ON: OnceLock<bool> = OnceLock::new();
    ON.get_or_init(|| std::env::var_os("STOWAGE_TRACE_ANN").is_some())
        .then(std::time::Instant::now)
}

pub(crate) fn trace(name: &str, t: &mut Option<std::time::Instant>) {
    if let Some(start) = t {
        eprintln!("[ann] {name} {} us", start.elapsed().as_micros());
        *start = std::time::Instant::now();
    }
}

/// What a vector segment's `details` hold (docs/FORMAT.md, "Indexes").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VectorSegmentDetails {
    /// `ivf` (metadata + partitions objects) or `hnsw` (one graph object).
    pub format: String,
    /// The metadata (IVF) or graph (HNSW) object, relative to the table.
    pub meta: String,
    /// IVF only: the partitions object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<String>,
    pub distance_type: String,
    pub dim: usize,
}

impl VectorSegmentDetails {
    pub fn of(seg: &IndexSegment) -> Result<Self> {
        serde_json::from_value(seg.details.clone()).map_err(|e| Error::Corrupt {
            table: "(vector index)".into(),
            reason: format!("segment {} has unreadable details: {e}", seg.uuid),
        })
    }
}

/// A segment's decoded model.
#[derive(Clone)]
pub enum Loaded {
    Ivf(Arc<IvfIndex>),
    Hnsw(Arc<HnswIndex>),
}

/// Decoded metadata objects, by object path (unique: segment UUIDs).
fn models() -> &'static Mutex<HashMap<String, Loaded>> {
    static M: OnceLock<Mutex<HashMap<String, Loaded>>> = OnceLock::new();
    M.get_or_init(Default::default)
}

/// A least-recently-used map bounded by the bytes of its values. Entries
/// never go stale: every key names immutable objects.
struct Lru<K, V> {
    budget: usize,
    state: Mutex<LruState<K, V>>,
}

struct LruState<K, V> {
    map: HashMap<K, (V, usize, u64)>,
    used: usize,
    tick: u64,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Lru<K, V> {
    fn new(env: &str, default_mb: usize) -> Self {
        let mb = std::env::var(env)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default_mb);
        Lru {
            budget: mb << 20,
            state: Mutex::new(LruState {
                map: HashMap::new(),
                used: 0,
                tick: 0,
            }),
        }
    }

    fn get(&self, k: &K) -> Option<V> {
        // A poisoned lock (a panic mid-update elsewhere) reads as a miss.
        let mut st = self.state.lock().ok()?;
        st.tick += 1;
        let tick = st.tick;
        let e = st.map.get_mut(k)?;
        e.2 = tick;
        Some(e.0.clone())
    }

    fn put(&self, k: K, v: V, size: usize) {
        if size > self.budget / 4 {
            return;
        }
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.tick += 1;
        let tick = st.tick;
        if let Some(old) = st.map.insert(k, (v, size, tick)) {
            st.used -= old.1;
        }
        st.used += size;
        while st.used > self.budget {
            let Some(victim) = st
                .map
                .iter()
                .min_by_key(|(_, e)| e.2)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = st.map.remove(&victim) {
                st.used -= e.1;
            }
        }
    }
}

/// Partition bytes, by (partitions object path, partition).
fn partitions_cache() -> &'static Lru<(String, u32), Bytes> {
    static C: OnceLock<Lru<(String, u32), Bytes>> = OnceLock::new();
    C.get_or_init(|| Lru::new("STOWAGE_INDEX_CACHE_MB", 256))
}

/// Rows read by position (re-ranking vectors, a search's result columns),
/// by (data file, columns, offsets, with row ids): a repeated search reads
/// nothing from the data files.
type RowsKey = (String, Vec<usize>, Vec<u32>, bool);
fn rows_cache() -> &'static Lru<RowsKey, arrow_array::RecordBatch> {
    static C: OnceLock<Lru<RowsKey, arrow_array::RecordBatch>> = OnceLock::new();
    C.get_or_init(|| Lru::new("STOWAGE_ROWS_CACHE_MB", 64))
}

/// Bytes a row of `dt` takes when that is fixed (numbers, fixed-size
/// lists of them: vectors), else `None`.
fn fixed_width(dt: &arrow_schema::DataType) -> Option<usize> {
    use arrow_schema::DataType;
    match dt {
        DataType::FixedSizeList(child, n) => {
            fixed_width(child.data_type()).map(|w| w * *n as usize)
        }
        DataType::FixedSizeBinary(n) => Some(*n as usize),
        dt => dt.primitive_width(),
    }
}

/// Whether a search reading a few rows of `frag` loads its columns `idx`
/// whole into the column cache instead: on a local (or in-memory) store a
/// whole fixed-width column that fits a quarter of the cache is read once,
/// and every later search takes its rows from memory (re-ranking vectors,
/// result columns). On object stores rows are read by position (a ranged
/// read per search, cached in the rows cache), so that a search reads
/// kilobytes rather than the whole column.
fn load_whole(snap: &Snapshot, frag: &Fragment, idx: &[usize]) -> bool {
    let cache = super::cache::for_store(&snap.store);
    let quarter = snap.store.column_cache_bytes / 4;
    snap.store.backend.is_in_process()
        && cache.enabled()
        && !idx.is_empty()
        && idx.iter().all(|i| {
            fixed_width(snap.schema.field(*i).data_type())
                .is_some_and(|w| w.saturating_mul(frag.rows as usize) <= quarter)
        })
}

/// [`read_rows`] through the column cache (see [`load_whole`]) or the rows
/// cache.
pub(crate) async fn read_rows_cached(
    snap: &Snapshot,
    frag: &Fragment,
    idx: &[usize],
    offsets: &[u32],
    with_row_id: bool,
) -> Result<arrow_array::RecordBatch> {
    if load_whole(snap, frag, idx) {
        // Fills the column cache (a no-op when it holds them), then takes
        // the rows from the cached columns.
        super::whole_columns(snap, frag, idx).await?;
        return read_rows(snap, frag, idx, offsets, with_row_id).await;
    }
    let key = (
        format!("{}|{}", snap.store.display_uri, snap.path(&frag.path)),
        idx.to_vec(),
        offsets.to_vec(),
        with_row_id,
    );
    if let Some(b) = rows_cache().get(&key) {
        return Ok(b);
    }
    let b = read_rows(snap, frag, idx, offsets, with_row_id).await?;
    let size = b.get_array_memory_size();
    rows_cache().put(key, b.clone(), size);
    Ok(b)
}

fn cache_key(snap: &Snapshot, rel: &str) -> String {
    format!("{}|{}", snap.store.display_uri, snap.path(rel))
}

/// The segment's model, from the cache or read (one GET) and decoded.
pub async fn load(snap: &Snapshot, seg: &IndexSegment) -> Result<(Loaded, VectorSegmentDetails)> {
    let d = VectorSegmentDetails::of(seg)?;
    let key = cache_key(snap, &d.meta);
    if let Some(l) = models().lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok((l, d));
    }
    super::fast::io_gate().await;
    let path = snap.path(&d.meta);
    let bytes = snap
        .store
        .store
        .get(&path)
        .await
        .map_err(|e| snap.store.error(e, format!("Reading index object {path}")))?
        .bytes()
        .await
        .map_err(|e| snap.store.error(e, format!("Reading index object {path}")))?;
    let format = d.format.clone();
    let loaded = tokio::task::spawn_blocking(move || -> Result<Loaded> {
        Ok(match format.as_str() {
            "hnsw" => Loaded::Hnsw(Arc::new(HnswIndex::from_bytes(&bytes)?)),
            _ => Loaded::Ivf(Arc::new(IvfIndex::from_bytes(&bytes)?)),
        })
    })
    .await
    .map_err(|e| Error::internal(format!("index load task: {e}")))??;
    if let Ok(mut m) = models().lock() {
        // Bounded by count: models are small next to the partitions.
        if m.len() >= 1024 {
            m.clear();
        }
        m.insert(key, loaded.clone());
    }
    Ok((loaded, d))
}

/// Loads every segment of `entry` (and, for HNSW, its whole graph).
pub async fn prewarm(snap: &Snapshot, entry: &IndexEntry) -> Result<()> {
    for seg in &entry.segments {
        load(snap, seg).await?;
    }
    Ok(())
}

/// Rows a search may return, per fragment: every live row of a covered
/// fragment, minus deleted rows, minus rows the prefilter rejects.
#[derive(Debug, Default)]
pub struct Allowed {
    /// (fragment id, bit set of allowed row offsets), sorted by fragment id.
    frags: Vec<(u64, Arc<Vec<u64>>)>,
    pub count: u64,
}

/// Live rows of a data file as a bit set (and its count), by data file and
/// deletion file (both immutable and uniquely named: never stale). A
/// search without a filter reuses it instead of listing the rows again.
type LiveRows = (Arc<Vec<u64>>, u64);
fn live_cache() -> &'static Lru<String, LiveRows> {
    static C: OnceLock<Lru<String, LiveRows>> = OnceLock::new();
    C.get_or_init(|| Lru::new("STOWAGE_ROWS_CACHE_MB", 64))
}

async fn live_bits(snap: &Snapshot, frag: &Fragment) -> Result<LiveRows> {
    let key = format!(
        "{}|{}|{}",
        snap.store.display_uri,
        snap.path(&frag.path),
        frag.deletion.as_ref().map_or("", |d| d.path.as_str())
    );
    if let Some(v) = live_cache().get(&key) {
        return Ok(v);
    }
    let rows = frag.rows as usize;
    let mut bits = vec![!0u64; rows.div_ceil(64)];
    if !rows.is_multiple_of(64) {
        if let Some(last) = bits.last_mut() {
            *last = (1u64 << (rows % 64)) - 1;
        }
    }
    if let Some(d) = &frag.deletion {
        for o in crate::format::deletion::read(&snap.store, &snap.dir, d).await? {
            if let Some(w) = bits.get_mut(o as usize / 64) {
                *w &= !(1u64 << (o % 64));
            }
        }
    }
    let count = bits.iter().map(|w| w.count_ones() as u64).sum();
    let v = (Arc::new(bits), count);
    live_cache().put(key, v.clone(), v.0.len() * 8 + 64);
    Ok(v)
}

impl Allowed {
    #[inline]
    pub fn allows(&self, row_id: u64) -> bool {
        let (f, o) = (row_id >> 32, (row_id & 0xffff_ffff) as usize);
        let bits = if self.frags.len() <= 8 {
            self.frags.iter().find(|e| e.0 == f).map(|e| &e.1)
        } else {
            self.frags
                .binary_search_by_key(&f, |e| e.0)
                .ok()
                .map(|i| &self.frags[i].1)
        };
        bits.is_some_and(|bits| bits.get(o / 64).is_some_and(|w| w & (1 << (o % 64)) != 0))
    }

    /// Builds the set over `frags`: their live rows (through `read_slice`,
    /// which drops deleted rows) for which `filter` (if any) is true.
    /// Without a filter the live rows come from the deletion files alone
    /// (cached per file: a repeated search reads nothing).
    pub async fn build(
        snap: &Snapshot,
        frags: &[Fragment],
        filter: Option<&super::filter::CompiledFilter>,
    ) -> Result<Allowed> {
        let mut out = Allowed::default();
        let Some(filter) = filter else {
            for frag in frags {
                let (bits, count) = live_bits(snap, frag).await?;
                out.count += count;
                out.frags.push((frag.id, bits));
            }
            out.frags.sort_unstable_by_key(|e| e.0);
            return Ok(out);
        };
        let idx: Vec<usize> = filter.indices().to_vec();
        // Scalar indexes narrow the rows the prefilter is evaluated on.
        let cands = super::scalar::candidates(snap, filter).await?;
        for frag in frags {
            let mut bits = vec![0u64; (frag.rows as usize).div_ceil(64)];
            let batches = match cands.as_ref().and_then(|c| c.get(&frag.id)) {
                Some(c) => super::scalar::read_live_rows(snap, frag, &idx, c)
                    .await?
                    .into_iter()
                    .collect(),
                None => read_slice(snap, &Slice::whole(frag), &idx, true).await?,
            };
            for b in batches {
                let offsets = super::row_offsets(&b)?;
                let mask = filter.evaluate(&b)?;
                for (i, o) in offsets.iter().enumerate() {
                    if mask.is_valid(i) && mask.value(i) {
                        bits[*o as usize / 64] |= 1 << (*o % 64);
                        out.count += 1;
                    }
                }
            }
            out.frags.push((frag.id, Arc::new(bits)));
        }
        out.frags.sort_unstable_by_key(|e| e.0);
        Ok(out)
    }
}

/// Exact vectors by row id, from the data files (through the column cache).
pub struct TableVectors<'a> {
    pub snap: &'a Snapshot,
    pub column: usize,
    /// Columns the search returns (and post-filters on): on object stores
    /// they are read with the vectors, in the same planned read (pages
    /// coalesced), and the result rows taken from [`kept`](Self::kept)
    /// rather than reading the winners' pages a second time.
    pub extra: Vec<usize>,
    /// The rows read with `extra`, by data file id (row ids included).
    pub kept: Mutex<Vec<(u64, arrow_array::RecordBatch)>>,
}

impl<'a> TableVectors<'a> {
    pub fn new(snap: &'a Snapshot, column: usize, extra: Vec<usize>) -> Self {
        TableVectors {
            snap,
            column,
            extra,
            kept: Mutex::new(Vec::new()),
        }
    }

    /// Columns `idx` (with row ids, as [`read_rows`] lays them out) of the
    /// rows at `offsets` of data file `frag`, when the exact step read them
    /// all; `None` otherwise (the caller reads them).
    pub fn take(
        &self,
        frag: u64,
        idx: &[usize],
        offsets: &[u32],
    ) -> Result<Option<arrow_array::RecordBatch>> {
        let kept = self
            .kept
            .lock()
            .map_err(|_| Error::internal("kept rows lock"))?;
        let batches: Vec<&arrow_array::RecordBatch> = kept
            .iter()
            .filter(|(f, _)| *f == frag)
            .map(|(_, b)| b)
            .collect();
        let Some(first) = batches.first() else {
            return Ok(None);
        };
        let schema = first.schema();
        let mut want: Vec<usize> = idx.to_vec();
        want.sort_unstable();
        want.dedup();
        let mut cols = Vec::with_capacity(want.len() + 1);
        for i in &want {
            match schema.index_of(self.snap.schema.field(*i).name()) {
                Ok(c) => cols.push(c),
                Err(_) => return Ok(None),
            }
        }
        let Ok(rid) = schema.index_of(super::ROW_ID) else {
            return Ok(None);
        };
        cols.push(rid);
        // (batch, row) of every wanted row id.
        let base = frag << 32;
        let mut at: HashMap<u64, (usize, usize)> = HashMap::new();
        for (bi, b) in batches.iter().enumerate() {
            if b.schema() != schema {
                return Ok(None);
            }
            let ids = b
                .column(rid)
                .as_primitive_opt::<arrow_array::types::UInt64Type>()
                .ok_or_else(|| Error::internal("row id column"))?;
            for (r, id) in ids.values().iter().enumerate() {
                at.entry(*id).or_insert((bi, r));
            }
        }
        let mut pick = Vec::with_capacity(offsets.len());
        for o in offsets {
            match at.get(&(base | *o as u64)) {
                Some(p) => pick.push(*p),
                None => return Ok(None),
            }
        }
        let projected = batches
            .iter()
            .map(|b| b.project(&cols))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let refs: Vec<&arrow_array::RecordBatch> = projected.iter().collect();
        Ok(Some(arrow_select::interleave::interleave_record_batch(
            &refs, &pick,
        )?))
    }

    /// Calls `each(position in row_ids, vector)` for every row of `row_ids`
    /// that exists, reading the rows of each data file in one go.
    async fn each(&self, row_ids: &[u64], mut each: impl FnMut(usize, &[f32])) -> Result<()> {
        // Positions sorted by row id: each data file's rows are a run.
        let mut order: Vec<u32> = (0..row_ids.len() as u32).collect();
        order.sort_unstable_by_key(|&i| row_ids[i as usize]);
        let mut start = 0;
        while start < order.len() {
            let fid = row_ids[order[start] as usize] >> 32;
            let end = start
                + order[start..]
                    .iter()
                    .position(|&i| row_ids[i as usize] >> 32 != fid)
                    .unwrap_or(order.len() - start);
            let run = &order[start..end];
            start = end;
            let Some(frag) = self.snap.manifest.fragments.iter().find(|f| f.id == fid) else {
                continue;
            };
            let offsets: Vec<u32> = run
                .iter()
                .map(|&i| (row_ids[i as usize] & 0xffff_ffff) as u32)
                .collect();
            let with_extra = !self.extra.is_empty() && !load_whole(self.snap, frag, &[self.column]);
            let b = if with_extra {
                let mut idx = self.extra.clone();
                idx.push(self.column);
                idx.sort_unstable();
                idx.dedup();
                let b = read_rows_cached(self.snap, frag, &idx, &offsets, true).await?;
                if let Ok(mut kept) = self.kept.lock() {
                    kept.push((fid, b.clone()));
                }
                b
            } else {
                read_rows_cached(self.snap, frag, &[self.column], &offsets, false).await?
            };
            let vcol = b
                .schema()
                .index_of(self.snap.schema.field(self.column).name())?;
            let list = b
                .column(vcol)
                .as_fixed_size_list_opt()
                .ok_or_else(|| Error::internal("vector column type"))?;
            let values = match list.values().data_type() {
                arrow_schema::DataType::Float32 => list.values().clone(),
                _ => arrow_cast::cast(list.values().as_ref(), &arrow_schema::DataType::Float32)?,
            };
            let values = values.as_primitive::<Float32Type>().values();
            let dim = list.value_length() as usize;
            for (k, &i) in run.iter().enumerate() {
                if !list.is_null(k) {
                    let s = list.value_offset_at(k);
                    each(i as usize, &values[s..s + dim]);
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl VectorSource for TableVectors<'_> {
    async fn fetch(&self, row_ids: &[u64]) -> Result<Vec<Option<Vec<f32>>>> {
        let mut out = vec![None; row_ids.len()];
        self.each(row_ids, |i, v| out[i] = Some(v.to_vec())).await?;
        Ok(out)
    }

    async fn distances(
        &self,
        dt: crate::index::DistanceType,
        query: &[f32],
        row_ids: &[u64],
    ) -> Result<Vec<Option<f32>>> {
        let mut out = vec![None; row_ids.len()];
        let mut bad = None;
        self.each(row_ids, |i, v| {
            if v.len() == query.len() {
                out[i] = Some(dt.distance(query, v));
            } else {
                bad = Some(v.len());
            }
        })
        .await?;
        match bad {
            Some(n) => Err(Error::internal(format!(
                "refine got a vector of {n} values, expected {}",
                query.len()
            ))),
            None => Ok(out),
        }
    }
}

/// Search settings after defaults.
#[derive(Debug, Clone, Copy)]
pub struct AnnParams {
    pub k: usize,
    pub nprobes: usize,
    pub refine_factor: Option<u32>,
    pub ef: usize,
}

/// The bytes of each probed partition, from the cache or from the object
/// (adjacent missing partitions in one ranged GET each), checksums verified
/// once, when read: cached bytes are known good.
async fn read_partitions(
    snap: &Snapshot,
    rel: &str,
    index: &IvfIndex,
    probes: &[(u32, f32)],
) -> Result<Vec<(usize, Bytes)>> {
    let key = cache_key(snap, rel);
    let cache = partitions_cache();
    let mut have: HashMap<u32, Bytes> = HashMap::new();
    let mut missing = Vec::new();
    for &(p, _) in probes {
        let r = index.partition_range(p as usize);
        if r.end == r.start {
            have.insert(p, Bytes::new());
        } else if let Some(b) = cache.get(&(key.clone(), p)) {
            have.insert(p, b);
        } else {
            missing.push((p, r));
        }
    }
    if !missing.is_empty() {
        super::fast::io_gate().await;
        let path = snap.path(rel);
        let reads = coalesce(&missing, 0);
        let ranges: Vec<std::ops::Range<u64>> = reads.iter().map(|r| r.range.clone()).collect();
        let data = snap
            .store
            .store
            .get_ranges(&path, &ranges)
            .await
            .map_err(|e| {
                snap.store
                    .error(e, format!("Reading index partitions {path}"))
            })?;
        for (read, bytes) in reads.iter().zip(data) {
            if bytes.len() as u64 != read.range.end - read.range.start {
                return Err(Error::Corrupt {
                    table: snap.dir.to_string(),
                    reason: format!(
                        "index partitions {path}: a read returned the wrong number of bytes"
                    ),
                });
            }
            for (p, r) in &read.parts {
                let b = bytes.slice(r.clone());
                index.verify_partition(*p as usize, &b)?;
                let size = b.len();
                cache.put((key.clone(), *p), b.clone(), size);
                have.insert(*p, b);
            }
        }
    }
    Ok(probes
        .iter()
        .map(|&(p, _)| (p as usize, have.remove(&p).unwrap_or_default()))
        .collect())
}

/// Residual lookup-table halves per IVF-PQ metadata object (see
/// [`ResidualTerms`]), next to the cached model.
fn residual_terms(key: &str, index: &IvfIndex) -> Option<Arc<ResidualTerms>> {
    type Terms = (HashMap<String, Option<Arc<ResidualTerms>>>, usize);
    static M: OnceLock<Mutex<Terms>> = OnceLock::new();
    let mut m = M.get_or_init(Default::default).lock().ok()?;
    if let Some(t) = m.0.get(key) {
        return t.clone();
    }
    let t = ResidualTerms::for_index(index).map(Arc::new);
    let bytes = t.as_ref().map_or(0, |t| t.max_bytes());
    // Bounded by what the tables may grow to (each at most
    // ResidualTerms::MAX_BYTES): past 4× that, start again.
    if m.1 + bytes > 4 * ResidualTerms::MAX_BYTES || m.0.len() >= 1024 {
        m.0.clear();
        m.1 = 0;
    }
    m.1 += bytes;
    m.0.insert(key.to_string(), t.clone());
    t
}

/// On object stores, candidates past the k-th by the re-ranking copy's
/// distance get an exact distance only when within this fraction of the
/// k-th's (the copy's error is a fraction of a percent).
const COPY_TIE: f32 = 0.01;

/// The best `params.k` rows of one segment among those `allowed` accepts,
/// with exact distances when refined.
pub async fn search_segment(
    snap: &Snapshot,
    seg: &IndexSegment,
    query: &[f32],
    params: &AnnParams,
    allowed: &Allowed,
    vectors: &TableVectors<'_>,
) -> Result<Vec<(u64, f32)>> {
    let mut t = trace_start();
    let (loaded, d) = load(snap, seg).await?;
    trace("load", &mut t);
    let filter = |id: u64| allowed.allows(id);
    match loaded {
        Loaded::Ivf(index) => {
            let rel = d
                .partitions
                .as_deref()
                .ok_or_else(|| Error::internal("IVF segment without a partitions object"))?;
            let refine_factor = if index.pq.is_some() {
                params.refine_factor
            } else {
                None
            };
            let limit = params.k * refine_factor.unwrap_or(1).max(1) as usize;
            let probes = index.plan(query, params.nprobes, 0)?.probes;
            let data = read_partitions(snap, rel, &index, &probes).await?;
            trace("plan+read", &mut t);
            let terms = residual_terms(&cache_key(snap, &d.meta), &index);
            let parts: Vec<(usize, &[u8])> = data.iter().map(|(p, b)| (*p, b.as_ref())).collect();
            if let (Some(_), Some(_)) = (&index.copy, refine_factor) {
                // Re-rank with the copy kept in the partitions (in memory),
                // then exact distances for the few best only.
                let keep = (params.k * crate::index::ivf_index::EXACT_MARGIN).min(limit);
                let mut found = index.scan_refined(
                    query,
                    &parts,
                    limit,
                    keep,
                    Some(&filter),
                    terms.as_deref(),
                )?;
                // Locally a read of a row is cheap: exact distances for all
                // 2×k. On an object store each far-apart row is a request
                // of its own: the k best by the copy, and past them only
                // those within the copy's error of the k-th (near-ties),
                // read with the result columns in one go.
                if !snap.store.backend.is_in_process() && params.k > 0 && found.len() > params.k {
                    let kth = found[params.k - 1].1;
                    let bound = kth + COPY_TIE * kth.abs();
                    let ties = found[params.k..]
                        .iter()
                        .take_while(|c| c.1 <= bound)
                        .count();
                    found.truncate(params.k + ties);
                }
                trace("scan+copy", &mut t);
                let r = refine(index.distance_type, query, &found, params.k, vectors).await;
                trace("exact", &mut t);
                return r;
            }
            let found =
                index.scan_partitions(query, &parts, limit, Some(&filter), terms.as_deref())?;
            trace("scan", &mut t);
            match refine_factor {
                Some(_) => refine(index.distance_type, query, &found, params.k, vectors).await,
                None => Ok(found),
            }
        }
        Loaded::Hnsw(index) => {
            let mut p = crate::index::HnswSearchParams::new(params.k, params.ef);
            p.refine_factor = params.refine_factor;
            p.filter = Some(&filter);
            if t.is_some() {
                let limit = params.k * params.refine_factor.unwrap_or(1).max(1) as usize;
                index.search_candidates(query, params.ef.max(limit), limit, Some(&filter))?;
                trace("graph", &mut t);
            }
            let r = index.search(query, &p, Some(vectors)).await;
            trace("graph+refine", &mut t);
            r
        }
    }
}
