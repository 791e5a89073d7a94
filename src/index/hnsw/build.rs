//! The HNSW build: nodes inserted on every core (rayon), the graph compared
//! on 8-bit SQ codes.
//!
//! Where the time goes, and what keeps it low (bench/README.md has the
//! numbers against hnswlib):
//! * Distances are between int8 codes (a quarter of the f32 bytes, so four
//!   times the vectors per cache line) through SimSIMD's integer kernels;
//!   for L2 the build ranks by the integer sum of squares directly (the
//!   SQ scale is one constant factor, which no comparison needs).
//! * Level 0, where almost every hop happens, is one flat array of
//!   `1 + 2m` words per node (count, then neighbours), read without a
//!   lock: readers load each word atomically, so a list being rewritten
//!   reads as valid node ids (at worst a mix of old and new, which the
//!   search tolerates as hnswlib's does); writers take the node's own lock.
//!   The few upper-level lists keep a mutex each.
//! * Every per-insert buffer (heaps, visited marks, neighbour lists,
//!   heuristic scratch) is allocated once per thread, not per insert.
//! * The codes of a hop's unvisited neighbours are prefetched before their
//!   distances are computed, hiding the cache misses of a graph whose
//!   neighbours sit anywhere in memory.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, RwLock};

use rayon::prelude::*;

use super::{HnswBuildParams, HnswIndex, HnswStorage, Layer, Vectors};
use crate::error::{Error, Result};
use crate::index::checksum;
use crate::index::distance::{l2_sq_i8, normalize, DistanceType};
use crate::index::pq::ProductQuantizer;
use crate::index::sq::{code_sum, ScalarQuantizer};

/// A candidate during the build: distance and node, 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cand {
    d: f32,
    id: u32,
}

impl Eq for Cand {}

impl Ord for Cand {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        self.d.total_cmp(&o.d).then_with(|| self.id.cmp(&o.id))
    }
}

impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}

/// The SQ codes the graph is built on, and the distance between two nodes.
struct Codes<'a> {
    dt: DistanceType,
    sq: &'a ScalarQuantizer,
    codes: &'a [i8],
    sums: &'a [i32],
    dim: usize,
}

impl Codes<'_> {
    #[inline]
    fn row(&self, i: u32) -> &[i8] {
        let s = i as usize * self.dim;
        &self.codes[s..s + self.dim]
    }

    /// A distance ordered as the internal distance of the two nodes' codes
    /// (for L2 without the constant `scale²`).
    #[inline]
    fn dist(&self, a: u32, b: u32) -> f32 {
        match self.dt {
            DistanceType::L2 => l2_sq_i8(self.row(a), self.row(b)),
            dt => self.sq.distance(
                dt,
                self.row(a),
                self.sums[a as usize],
                self.row(b),
                self.sums[b as usize],
            ),
        }
    }

    #[inline]
    fn prefetch(&self, i: u32) {
        prefetch(self.row(i));
    }
}

/// Asks the CPU to load `data` into its caches (one hint per cache line).
#[inline]
// `_mm_prefetch` takes a pointer, so it is unsafe in older toolchains.
#[allow(unused_unsafe)]
fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(data);
        let p = data.as_ptr() as *const i8;
        let mut off = 0;
        while off < bytes {
            // SAFETY: a prefetch is a hint: it never faults and changes
            // nothing the program can observe; the address is in bounds.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Visited nodes of one search as a bitset (n / 8 bytes: stays in cache
/// where a word per node would not), cleared word by word.
struct Marks {
    bits: Vec<u64>,
    touched: Vec<u32>,
}

impl Marks {
    fn new(n: usize) -> Self {
        Marks {
            bits: vec![0; n.div_ceil(64)],
            touched: Vec::new(),
        }
    }

    fn reset(&mut self) {
        for &w in &self.touched {
            self.bits[w as usize] = 0;
        }
        self.touched.clear();
    }

    /// Marks `i`; true when it was not marked yet.
    #[inline]
    fn insert(&mut self, i: u32) -> bool {
        let w = (i >> 6) as usize;
        let bit = 1u64 << (i & 63);
        let old = self.bits[w];
        if old & bit != 0 {
            return false;
        }
        if old == 0 {
            self.touched.push(w as u32);
        }
        self.bits[w] = old | bit;
        true
    }
}

/// The graph while it is built (see the module docs for the locking).
struct Graph {
    m: usize,
    m0: usize,
    /// Per node `1 + m0` words: the count, then the neighbours.
    level0: Vec<AtomicU32>,
    locks: Vec<Mutex<()>>,
    /// `upper[node][level - 1]`: empty for the ~(1 - 1/m) of nodes that
    /// live on level 0 only.
    upper: Vec<Vec<Mutex<Vec<u32>>>>,
}

impl Graph {
    fn new(levels: &[usize], m: usize) -> Self {
        let m0 = 2 * m;
        let n = levels.len();
        Graph {
            m,
            m0,
            level0: (0..n * (m0 + 1)).map(|_| AtomicU32::new(0)).collect(),
            locks: (0..n).map(|_| Mutex::new(())).collect(),
            upper: levels
                .iter()
                .map(|&l| (1..=l).map(|_| Mutex::new(Vec::with_capacity(m))).collect())
                .collect(),
        }
    }

    #[inline]
    fn base(&self, node: u32) -> usize {
        node as usize * (self.m0 + 1)
    }

    /// Copies the neighbours of `node` at `level` into `out`.
    #[inline]
    fn read(&self, node: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        if level == 0 {
            let b = self.base(node);
            let len = (self.level0[b].load(Ordering::Acquire) as usize).min(self.m0);
            out.extend(
                self.level0[b + 1..b + 1 + len]
                    .iter()
                    .map(|x| x.load(Ordering::Relaxed)),
            );
        } else if let Some(l) = self.upper[node as usize].get(level - 1) {
            // A poisoned lock means another insert panicked; its list is
            // still a valid list of node ids.
            out.extend_from_slice(&l.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// Stores the level-0 list of `node` (at most `m0` ids); the caller
    /// holds its lock.
    fn write0(&self, node: u32, list: impl Iterator<Item = u32>) {
        let b = self.base(node);
        let mut len = 0;
        for (slot, x) in self.level0[b + 1..b + 1 + self.m0].iter().zip(list) {
            slot.store(x, Ordering::Relaxed);
            len += 1;
        }
        self.level0[b].store(len, Ordering::Release);
    }

    /// Prefetches the level-0 list of `node` (the next hop's).
    #[inline]
    fn prefetch0(&self, node: u32) {
        let b = self.base(node);
        prefetch(&self.level0[b..b + self.m0 + 1]);
    }

    fn cap(&self, level: usize) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.m
        }
    }
}

/// One thread's buffers, reused across its inserts.
struct Scratch {
    visited: Marks,
    candidates: BinaryHeap<Reverse<Cand>>,
    results: BinaryHeap<Cand>,
    found: Vec<Cand>,
    nbrs: Vec<u32>,
    fresh: Vec<u32>,
    kept: Vec<Cand>,
    pool: Vec<Cand>,
    kept2: Vec<Cand>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Scratch {
            visited: Marks::new(n),
            candidates: BinaryHeap::new(),
            results: BinaryHeap::new(),
            found: Vec::new(),
            nbrs: Vec::new(),
            fresh: Vec::new(),
            kept: Vec::new(),
            pool: Vec::new(),
            kept2: Vec::new(),
        }
    }
}

/// The best `ef` nodes to `q` reachable from `entry` at `level`, into
/// `s.found`, nearest first.
fn search_layer(
    g: &Graph,
    c: &Codes<'_>,
    q: u32,
    entry: Cand,
    ef: usize,
    level: usize,
    s: &mut Scratch,
) {
    s.visited.reset();
    s.candidates.clear();
    s.results.clear();
    s.visited.insert(entry.id);
    s.candidates.push(Reverse(entry));
    s.results.push(entry);
    while let Some(Reverse(cur)) = s.candidates.pop() {
        let worst = s.results.peek().map_or(f32::INFINITY, |w| w.d);
        if s.results.len() >= ef && cur.d > worst {
            break;
        }
        if level == 0 {
            if let Some(Reverse(next)) = s.candidates.peek() {
                g.prefetch0(next.id);
            }
        }
        g.read(cur.id, level, &mut s.nbrs);
        s.fresh.clear();
        for &nb in &s.nbrs {
            if s.visited.insert(nb) {
                c.prefetch(nb);
                s.fresh.push(nb);
            }
        }
        for &nb in &s.fresh {
            let d = c.dist(q, nb);
            let worst = s.results.peek().map_or(f32::INFINITY, |w| w.d);
            if s.results.len() < ef || d < worst {
                let cand = Cand { d, id: nb };
                s.candidates.push(Reverse(cand));
                s.results.push(cand);
                if s.results.len() > ef {
                    s.results.pop();
                }
            }
        }
    }
    s.found.clear();
    s.found.extend(s.results.drain());
    s.found.sort_unstable();
}

/// Greedy descent through the levels above `down_to`.
fn descend(
    g: &Graph,
    c: &Codes<'_>,
    q: u32,
    mut cur: Cand,
    from: usize,
    down_to: usize,
    nbrs: &mut Vec<u32>,
) -> Cand {
    for level in (down_to + 1..=from).rev() {
        loop {
            let mut moved = false;
            g.read(cur.id, level, nbrs);
            for &nb in nbrs.iter() {
                let d = c.dist(q, nb);
                if d < cur.d {
                    cur = Cand { d, id: nb };
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }
    cur
}

/// hnswlib's neighbour heuristic over `cands` (nearest first, distances to
/// the base node): keep a candidate only if no kept neighbour is closer to
/// it than the base is. Writes at most `m` candidates into `out`.
fn select(c: &Codes<'_>, cands: &[Cand], m: usize, out: &mut Vec<Cand>) {
    out.clear();
    for cand in cands {
        if out.len() >= m {
            break;
        }
        if out.iter().all(|s| c.dist(s.id, cand.id) >= cand.d) {
            out.push(*cand);
        }
    }
}

/// Links `node` into the list of `nb` at `level` (`d` = their distance),
/// shrinking a full list with the heuristic.
fn connect(g: &Graph, c: &Codes<'_>, nb: u32, node: u32, d: f32, level: usize, s: &mut Scratch) {
    let cap = g.cap(level);
    let shrink = |list: &[u32], s: &mut Scratch| {
        s.pool.clear();
        s.pool.extend(list.iter().map(|&x| Cand {
            d: c.dist(nb, x),
            id: x,
        }));
        s.pool.push(Cand { d, id: node });
        s.pool.sort_unstable();
        select(c, &s.pool, cap, &mut s.kept2);
    };
    if level == 0 {
        let _lock = g.locks[nb as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        g.read(nb, 0, &mut s.nbrs);
        if s.nbrs.contains(&node) {
            return;
        }
        if s.nbrs.len() < cap {
            s.nbrs.push(node);
            let b = g.base(nb);
            let len = s.nbrs.len();
            g.level0[b + len].store(node, Ordering::Relaxed);
            g.level0[b].store(len as u32, Ordering::Release);
        } else {
            let list = std::mem::take(&mut s.nbrs);
            shrink(&list, s);
            s.nbrs = list;
            g.write0(nb, s.kept2.iter().map(|k| k.id));
        }
    } else {
        let mut list = g.upper[nb as usize][level - 1]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if list.contains(&node) {
            return;
        }
        if list.len() < cap {
            list.push(node);
        } else {
            shrink(&list, s);
            list.clear();
            list.extend(s.kept2.iter().map(|k| k.id));
        }
    }
}

/// Builds the graph over `n` coded nodes; returns the layers and the entry.
fn build_graph(c: &Codes<'_>, n: usize, m: usize, ef_c: usize, seed: u64) -> (Vec<Layer>, u32) {
    let ml = 1.0 / (m as f64).ln();
    let levels: Vec<usize> = (0..n)
        .map(|i| {
            // A hash of (seed, node) instead of a shared RNG: the levels
            // do not depend on which thread inserts which node.
            let h = checksum(&[seed.to_le_bytes(), (i as u64).to_le_bytes()].concat());
            let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            ((-u.ln() * ml) as usize).min(30)
        })
        .collect();
    let g = Graph::new(&levels, m);
    let entry = RwLock::new((0u32, levels.first().copied().unwrap_or(0)));
    let insert = |i: u32, s: &mut Scratch| {
        let (ep, top) = *entry.read().unwrap_or_else(|e| e.into_inner());
        let level = levels[i as usize];
        let start = Cand {
            d: c.dist(i, ep),
            id: ep,
        };
        let mut cur = descend(&g, c, i, start, top, level, &mut s.nbrs);
        for lv in (0..=level.min(top)).rev() {
            search_layer(&g, c, i, cur, ef_c, lv, s);
            let mut kept = std::mem::take(&mut s.kept);
            select(c, &s.found, m, &mut kept);
            if lv == 0 {
                let _lock = g.locks[i as usize]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                g.write0(i, kept.iter().map(|k| k.id));
            } else {
                let mut l = g.upper[i as usize][lv - 1]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                l.clear();
                l.extend(kept.iter().map(|k| k.id));
            }
            let nearest = s.found.first().copied();
            for k in &kept {
                connect(&g, c, k.id, i, k.d, lv, s);
            }
            s.kept = kept;
            if let Some(best) = nearest {
                cur = best;
            }
        }
        if level > top {
            let mut e = entry.write().unwrap_or_else(|e| e.into_inner());
            if level > e.1 {
                *e = (i, level);
            }
        }
    };
    if n > 1 {
        (1..n as u32)
            .into_par_iter()
            .for_each_init(|| Scratch::new(n), |s, i| insert(i, s));
    }
    let (entry, top) = *entry.read().unwrap_or_else(|e| e.into_inner());
    let mut layers = Vec::with_capacity(top + 1);
    let mut buf = Vec::new();
    for lv in 0..=top {
        let mut layer = Layer {
            offsets: vec![0],
            ..Default::default()
        };
        for (i, &l) in levels.iter().enumerate() {
            if l >= lv {
                if lv > 0 {
                    layer.nodes.push(i as u32);
                }
                g.read(i as u32, lv, &mut buf);
                layer.neighbours.extend_from_slice(&buf);
                layer.offsets.push(layer.neighbours.len() as u32);
            }
        }
        layers.push(layer);
    }
    (layers, entry)
}

/// Collects (row id, vector) batches, then builds the graph on all cores.
/// Holds per row: 8-byte row id + `dim` bytes of SQ code + the stored
/// code (PQ or flat), so 1M × 128-d HNSW-SQ builds in ~140 MB plus the
/// graph (~170 MB at m = 20).
pub struct HnswBuilder {
    params: HnswBuildParams,
    dim: usize,
    sq: ScalarQuantizer,
    pq: Option<ProductQuantizer>,
    row_ids: Vec<u64>,
    sq_codes: Vec<i8>,
    sums: Vec<i32>,
    pq_codes: Vec<u8>,
    flat: Vec<f32>,
}

/// One row's SQ code, PQ code and (flat storage) vector.
type Encoded = (Vec<i8>, Vec<u8>, Vec<f32>);

impl HnswBuilder {
    /// Trains the quantisers on `sample` (SQ range; PQ codebooks).
    pub fn train(params: &HnswBuildParams, dim: usize, sample: &[f32]) -> Result<Self> {
        params.validate()?;
        if dim == 0 || !sample.len().is_multiple_of(dim) {
            return Err(Error::internal(
                "training sample does not form whole vectors",
            ));
        }
        let mut sample = sample.to_vec();
        if params.distance_type == DistanceType::Cosine {
            sample.par_chunks_mut(dim).for_each(normalize);
        }
        let sq = ScalarQuantizer::train(&sample);
        let pq = match params.storage {
            HnswStorage::Pq {
                num_sub_vectors,
                num_bits,
            } => Some(ProductQuantizer::train(
                &sample,
                dim,
                num_sub_vectors,
                num_bits,
                params.max_iterations,
                params.seed,
            )?),
            _ => None,
        };
        Ok(HnswBuilder {
            params: params.clone(),
            dim,
            sq,
            pq,
            row_ids: Vec::new(),
            sq_codes: Vec::new(),
            sums: Vec::new(),
            pq_codes: Vec::new(),
            flat: Vec::new(),
        })
    }

    pub fn add(&mut self, row_ids: &[u64], vectors: &[f32]) -> Result<()> {
        let dim = self.dim;
        if vectors.len() != row_ids.len() * dim {
            return Err(Error::internal(format!(
                "batch of {} row ids with {} floats (dimension {dim})",
                row_ids.len(),
                vectors.len()
            )));
        }
        let dt = self.params.distance_type;
        let (sq, pq) = (&self.sq, &self.pq);
        let flat = matches!(self.params.storage, HnswStorage::Flat);
        let encoded: Vec<Option<Encoded>> = vectors
            .par_chunks(dim)
            .map(|v| {
                let mut v = v.to_vec();
                if dt == DistanceType::Cosine {
                    // No direction: cosine never ranks a zero vector.
                    if v.iter().all(|x| *x == 0.0) {
                        return None;
                    }
                    normalize(&mut v);
                }
                let mut c = vec![0i8; dim];
                sq.encode(&v, &mut c);
                let mut p = Vec::new();
                if let Some(pq) = pq {
                    p.resize(pq.code_size(), 0);
                    pq.encode(&v, &mut p);
                }
                Some((c, p, if flat { v } else { Vec::new() }))
            })
            .collect();
        for (id, e) in row_ids.iter().zip(encoded) {
            if let Some((c, p, f)) = e {
                self.row_ids.push(*id);
                self.sums.push(code_sum(&c));
                self.sq_codes.extend_from_slice(&c);
                self.pq_codes.extend_from_slice(&p);
                self.flat.extend_from_slice(&f);
            }
        }
        if self.row_ids.len() > u32::MAX as usize {
            return Err(Error::invalid_argument(
                "an HNSW graph holds at most 2^32 vectors; use more numPartitions",
            ));
        }
        Ok(())
    }

    pub fn finish(self) -> Result<HnswIndex> {
        let n = self.row_ids.len();
        let (dim, m, dt) = (self.dim, self.params.m, self.params.distance_type);
        let ef_c = self.params.ef_construction.max(m);
        let codes = Codes {
            dt,
            sq: &self.sq,
            codes: &self.sq_codes,
            sums: &self.sums,
            dim,
        };
        let (layers, entry) = build_graph(&codes, n, m, ef_c, self.params.seed);
        let vectors = match (self.params.storage, self.pq) {
            (HnswStorage::Pq { .. }, Some(pq)) => Vectors::Pq {
                pq,
                codes: self.pq_codes,
            },
            (HnswStorage::Flat, _) => Vectors::Flat(self.flat),
            _ => Vectors::Sq {
                sq: self.sq,
                codes: self.sq_codes,
                sums: self.sums,
            },
        };
        Ok(HnswIndex {
            distance_type: dt,
            dim,
            m,
            ef_construction: self.params.ef_construction,
            storage: self.params.storage,
            row_ids: self.row_ids,
            vectors,
            layers,
            entry,
            visited: Mutex::new(Vec::new()),
        })
    }
}
