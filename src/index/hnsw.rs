//! HNSW (Malkov & Yashunin) over SQ, PQ or flat vectors.
//!
//! Our own builder rather than a crate's: hnsw_rs and instant-distance own
//! their storage (f32 points in their structs, their own serialisation)
//! while we need the graph in our immutable layout beside SQ/PQ codes, and
//! a search that reads codes through our kernels. The build follows
//! hnswlib: nodes are inserted in parallel (rayon), each neighbour list
//! behind its own mutex, neighbours chosen by the heuristic that keeps a
//! candidate only if it is closer to the new node than to every neighbour
//! already kept. The graph is always built over 8-bit SQ codes (exact int8
//! kernels, a quarter of the f32 memory); the stored vectors are SQ, PQ
//! or flat as asked.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::distance::{normalize, DistanceType};
use super::object::{self, pad8, put_f32s};
use super::pq::ProductQuantizer;
use super::refine::{refine, VectorSource};
use super::sq::{code_sum, ScalarQuantizer};
use super::topk::{Scored, TopK};
use super::RowFilter;
use crate::error::{Error, Result};

mod build;
pub use build::HnswBuilder;

/// The default `efConstruction`: half of LanceDB's 300. Measured on the
/// benchmark (bench/README.md), recall@10 at the default query is the same
/// (0.997 at ef 64 with either) and the build takes half the time; past
/// ~150 candidates the extra ones rarely change the 20 neighbours the
/// heuristic keeps.
pub const DEFAULT_EF_CONSTRUCTION: usize = 150;

pub const HNSW_MAGIC: &[u8; 8] = b"STWHNSW1";

/// How the index stores the vectors its search compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HnswStorage {
    Flat,
    Sq,
    Pq {
        num_sub_vectors: usize,
        num_bits: u32,
    },
}

/// Options of `Index.hnswSq()` / `Index.hnswPq()`, after defaults.
#[derive(Debug, Clone)]
pub struct HnswBuildParams {
    pub m: usize,
    pub ef_construction: usize,
    pub distance_type: DistanceType,
    pub storage: HnswStorage,
    /// For the PQ codebooks.
    pub max_iterations: usize,
    pub seed: u64,
}

impl HnswBuildParams {
    /// m = 20 as LanceDB; efConstruction = [`DEFAULT_EF_CONSTRUCTION`].
    pub fn new(storage: HnswStorage) -> Self {
        HnswBuildParams {
            m: 20,
            ef_construction: DEFAULT_EF_CONSTRUCTION,
            distance_type: DistanceType::L2,
            storage,
            max_iterations: 50,
            seed: 42,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.m < 2 || self.m > 512 {
            return Err(Error::invalid_argument(format!(
                "m must be between 2 and 512, got {}",
                self.m
            )));
        }
        if self.ef_construction == 0 {
            return Err(Error::invalid_argument("efConstruction must be at least 1"));
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
pub struct HnswSearchParams<'a> {
    pub k: usize,
    /// Candidates kept during the search; at least `k` is used.
    pub ef: usize,
    pub refine_factor: Option<u32>,
    pub filter: Option<RowFilter<'a>>,
}

impl HnswSearchParams<'_> {
    pub fn new(k: usize, ef: usize) -> Self {
        HnswSearchParams {
            k,
            ef,
            refine_factor: None,
            filter: None,
        }
    }
}

/// Vectors as the search reads them.
#[derive(Debug, Clone, PartialEq)]
enum Vectors {
    Flat(Vec<f32>),
    Sq {
        sq: ScalarQuantizer,
        codes: Vec<i8>,
        sums: Vec<i32>,
    },
    Pq {
        pq: ProductQuantizer,
        codes: Vec<u8>,
    },
}

/// One level of the graph in compressed rows. Level 0 holds every node
/// (`nodes` empty: node i is row i); upper levels list their nodes sorted.
#[derive(Debug, Clone, PartialEq, Default)]
struct Layer {
    nodes: Vec<u32>,
    offsets: Vec<u32>,
    neighbours: Vec<u32>,
}

impl Layer {
    fn of(&self, node: u32) -> &[u32] {
        let row = if self.nodes.is_empty() {
            Some(node as usize)
        } else {
            self.nodes.binary_search(&node).ok()
        };
        match row {
            Some(r) if r + 1 < self.offsets.len() => {
                &self.neighbours[self.offsets[r] as usize..self.offsets[r + 1] as usize]
            }
            _ => &[],
        }
    }
}

#[derive(Debug)]
pub struct HnswIndex {
    pub distance_type: DistanceType,
    pub dim: usize,
    pub m: usize,
    pub ef_construction: usize,
    pub storage: HnswStorage,
    row_ids: Vec<u64>,
    vectors: Vectors,
    layers: Vec<Layer>,
    entry: u32,
    /// Reused visited sets: one allocation of N marks per concurrent query,
    /// not per query.
    visited: Mutex<Vec<Visited>>,
}

impl PartialEq for HnswIndex {
    fn eq(&self, o: &Self) -> bool {
        (
            self.distance_type,
            self.dim,
            self.m,
            self.ef_construction,
            self.storage,
            self.entry,
        ) == (
            o.distance_type,
            o.dim,
            o.m,
            o.ef_construction,
            o.storage,
            o.entry,
        ) && self.row_ids == o.row_ids
            && self.vectors == o.vectors
            && self.layers == o.layers
    }
}

#[derive(Debug)]
struct Visited {
    marks: Vec<u32>,
    generation: u32,
}

impl Visited {
    fn new(n: usize) -> Self {
        Visited {
            marks: vec![0; n],
            generation: 0,
        }
    }

    fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `i`; true when it was not marked yet.
    #[inline]
    fn insert(&mut self, i: u32) -> bool {
        let m = &mut self.marks[i as usize];
        let fresh = *m != self.generation;
        *m = self.generation;
        fresh
    }
}

/// Neighbour lists as a search reads them: the build's locked lists or the
/// finished index's compressed rows.
trait Links {
    fn copy(&self, node: u32, level: usize, out: &mut Vec<u32>);
}

/// Greedy descent from `entry` through the levels above `down_to`.
fn descend(
    links: &(impl Links + ?Sized),
    dist: &impl Fn(u32) -> f32,
    mut entry: (f32, u32),
    from: usize,
    down_to: usize,
) -> (f32, u32) {
    let mut nbrs = Vec::new();
    for level in (down_to + 1..=from).rev() {
        loop {
            let mut moved = false;
            links.copy(entry.1, level, &mut nbrs);
            for &nb in &nbrs {
                let d = dist(nb);
                if d < entry.0 {
                    entry = (d, nb);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }
    entry
}

impl Links for [Layer] {
    fn copy(&self, node: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        if let Some(l) = self.get(level) {
            out.extend_from_slice(l.of(node));
        }
    }
}

/// A query prepared for the stored vectors.
enum Query {
    Flat(Vec<f32>),
    Sq(Vec<i8>, i32),
    Pq(Vec<f32>, f32),
}

impl HnswIndex {
    pub fn len(&self) -> usize {
        self.row_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_ids.is_empty()
    }

    fn prepare(&self, query: &[f32]) -> Result<Query> {
        if query.len() != self.dim {
            return Err(Error::invalid_argument(format!(
                "query vector has {} values but the index is on vectors of {}",
                query.len(),
                self.dim
            )));
        }
        let mut q = query.to_vec();
        if self.distance_type == DistanceType::Cosine {
            normalize(&mut q);
        }
        Ok(match &self.vectors {
            Vectors::Flat(_) => Query::Flat(q),
            Vectors::Sq { sq, .. } => {
                let mut c = vec![0i8; self.dim];
                sq.encode(&q, &mut c);
                let s = code_sum(&c);
                Query::Sq(c, s)
            }
            Vectors::Pq { pq, .. } => {
                let mut t = Vec::new();
                pq.lookup_table(self.distance_type, &q, &mut t);
                let bias = if self.distance_type == DistanceType::L2 {
                    0.0
                } else {
                    1.0
                };
                Query::Pq(t, bias)
            }
        })
    }

    #[inline]
    fn dist(&self, q: &Query, i: u32) -> f32 {
        let i = i as usize;
        let d = self.dim;
        match (q, &self.vectors) {
            (Query::Flat(q), Vectors::Flat(v)) => {
                self.distance_type.internal(q, &v[i * d..(i + 1) * d])
            }
            (Query::Sq(c, s), Vectors::Sq { sq, codes, sums }) => sq.distance(
                self.distance_type,
                c,
                *s,
                &codes[i * d..(i + 1) * d],
                sums[i],
            ),
            (Query::Pq(t, bias), Vectors::Pq { pq, codes }) => {
                let cs = pq.code_size();
                pq.adc(t, &codes[i * cs..(i + 1) * cs], *bias)
            }
            _ => f32::INFINITY,
        }
    }

    /// The best `ef` nodes of level 0 reachable from `entry`, nearest first;
    /// `accept` decides which may be results (all are traversed). The
    /// neighbour lists are read in place (no copy per expanded node) and
    /// the heaps are sized once.
    fn search_base(
        &self,
        dist: &impl Fn(u32) -> f32,
        entry: (f32, u32),
        ef: usize,
        visited: &mut Visited,
        accept: &impl Fn(u32) -> bool,
    ) -> Vec<Scored> {
        let Some(base) = self.layers.first() else {
            return Vec::new();
        };
        visited.reset();
        let mut candidates: BinaryHeap<Reverse<Scored>> = BinaryHeap::with_capacity(4 * ef);
        let mut results: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef + 1);
        let (d, e) = entry;
        visited.insert(e);
        candidates.push(Reverse(Scored {
            dist: d,
            id: e as u64,
        }));
        if accept(e) {
            results.push(Scored {
                dist: d,
                id: e as u64,
            });
        }
        let mut worst = if results.len() >= ef {
            results.peek().map_or(f32::INFINITY, |w| w.dist)
        } else {
            f32::INFINITY
        };
        while let Some(Reverse(c)) = candidates.pop() {
            if c.dist > worst {
                break;
            }
            for &nb in base.of(c.id as u32) {
                if !visited.insert(nb) {
                    continue;
                }
                let d = dist(nb);
                if d < worst {
                    candidates.push(Reverse(Scored {
                        dist: d,
                        id: nb as u64,
                    }));
                    if accept(nb) {
                        results.push(Scored {
                            dist: d,
                            id: nb as u64,
                        });
                        if results.len() > ef {
                            results.pop();
                        }
                        if results.len() >= ef {
                            worst = results.peek().map_or(f32::INFINITY, |w| w.dist);
                        }
                    }
                }
            }
        }
        results.into_sorted_vec()
    }

    /// The `limit` best candidates by the stored vectors' distance.
    pub fn search_candidates(
        &self,
        query: &[f32],
        ef: usize,
        limit: usize,
        filter: Option<RowFilter<'_>>,
    ) -> Result<Vec<(u64, f32)>> {
        if self.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let q = self.prepare(query)?;
        let dist = |i: u32| self.dist(&q, i);
        let top = self.layers.len() - 1;
        let start = descend(
            self.layers.as_slice(),
            &dist,
            (dist(self.entry), self.entry),
            top,
            0,
        );
        let mut visited = self
            .visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| Visited::new(self.len()));
        let accept = |i: u32| filter.is_none_or(|f| f(self.row_ids[i as usize]));
        let found = self.search_base(&dist, start, ef.max(limit), &mut visited, &accept);
        self.visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(visited);
        let mut top = TopK::new(limit);
        for s in found {
            top.push(self.row_ids[s.id as usize], s.dist);
        }
        Ok(top.into_sorted())
    }

    /// The `k` nearest rows; with a refine factor, `k × refine_factor`
    /// candidates re-ranked by exact distance (the graph stores codes only).
    pub async fn search(
        &self,
        query: &[f32],
        params: &HnswSearchParams<'_>,
        vectors: Option<&dyn VectorSource>,
    ) -> Result<Vec<(u64, f32)>> {
        let exact = matches!(self.vectors, Vectors::Flat(_));
        match (params.refine_factor, vectors) {
            (Some(f), Some(source)) if !exact => {
                let limit = params.k * f.max(1) as usize;
                let found =
                    self.search_candidates(query, params.ef.max(limit), limit, params.filter)?;
                refine(self.distance_type, query, &found, params.k, source).await
            }
            (Some(f), None) if !exact && f > 1 => Err(Error::internal(
                "refineFactor needs the exact vectors, and none were given",
            )),
            _ => self.search_candidates(query, params.ef, params.k, params.filter),
        }
    }

    /// The index as one object (read whole and cached: a graph search hops
    /// across the whole graph, so ranged reads per hop would cost a request
    /// per step).
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = HnswHeader {
            dim: self.dim,
            distance_type: self.distance_type.as_str().into(),
            m: self.m,
            ef_construction: self.ef_construction,
            storage: self.storage,
            num_nodes: self.len() as u64,
            num_levels: self.layers.len(),
            entry: self.entry,
        };
        let mut out = object::begin(HNSW_MAGIC, &header);
        match &self.vectors {
            Vectors::Flat(v) => put_f32s(&mut out, v),
            Vectors::Sq { sq, codes, .. } => {
                put_f32s(&mut out, &[sq.lo, sq.hi]);
                out.extend(codes.iter().map(|&c| c as u8));
            }
            Vectors::Pq { pq, codes } => {
                put_f32s(&mut out, &pq.codebooks);
                out.extend_from_slice(codes);
            }
        }
        pad8(&mut out);
        for id in &self.row_ids {
            out.extend_from_slice(&id.to_le_bytes());
        }
        for (lv, layer) in self.layers.iter().enumerate() {
            let rows = layer.offsets.len() as u32 - 1;
            out.extend_from_slice(&rows.to_le_bytes());
            out.extend_from_slice(&(layer.neighbours.len() as u32).to_le_bytes());
            let mut put = |v: &[u32]| {
                v.iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes()))
            };
            if lv > 0 {
                put(&layer.nodes);
            }
            put(&layer.offsets);
            put(&layer.neighbours);
            pad8(&mut out);
        }
        object::seal(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let corrupt = |r: &str| object::corrupt("HNSW index", r);
        let (h, mut r): (HnswHeader, _) = object::open(bytes, HNSW_MAGIC, "HNSW index")?;
        let n = h.num_nodes as usize;
        let dt = DistanceType::parse(&h.distance_type)?;
        let dim = h.dim;
        let vectors = match h.storage {
            HnswStorage::Flat => Vectors::Flat(r.f32s(n * dim)?),
            HnswStorage::Sq => {
                let range = r.f32s(2)?;
                let codes: Vec<i8> = r.take(n * dim)?.iter().map(|&b| b as i8).collect();
                let sums = codes.chunks_exact(dim.max(1)).map(code_sum).collect();
                let sq = ScalarQuantizer {
                    lo: range[0],
                    hi: range[1],
                };
                Vectors::Sq { sq, codes, sums }
            }
            HnswStorage::Pq {
                num_sub_vectors,
                num_bits,
            } => {
                ProductQuantizer::validate(dim, num_sub_vectors, num_bits)?;
                let len = dim * (1 << num_bits);
                let pq = ProductQuantizer {
                    dim,
                    num_sub_vectors,
                    num_bits,
                    codebooks: r.f32s(len)?,
                };
                let codes = r.take(n * pq.code_size())?.to_vec();
                Vectors::Pq { pq, codes }
            }
        };
        r.pad8()?;
        let row_ids: Vec<u64> = (0..n).map(|_| r.u64()).collect::<Result<_>>()?;
        let mut layers = Vec::with_capacity(h.num_levels.min(64));
        for lv in 0..h.num_levels {
            let rows = r.u32()? as usize;
            let edges = r.u32()? as usize;
            let nodes = if lv > 0 { r.u32s(rows)? } else { Vec::new() };
            let offsets = r.u32s(rows + 1)?;
            let neighbours = r.u32s(edges)?;
            r.pad8()?;
            if (lv == 0 && rows != n)
                || offsets.windows(2).any(|w| w[0] > w[1])
                || offsets.last().copied() != Some(edges as u32)
                || neighbours.iter().chain(&nodes).any(|&x| x as usize >= n)
            {
                return Err(corrupt(&format!("level {lv} is malformed")));
            }
            layers.push(Layer {
                nodes,
                offsets,
                neighbours,
            });
        }
        if !r.done() || layers.is_empty() || (n > 0 && h.entry as usize >= n) {
            return Err(corrupt("sections do not add up"));
        }
        Ok(HnswIndex {
            distance_type: dt,
            dim,
            m: h.m,
            ef_construction: h.ef_construction,
            storage: h.storage,
            row_ids,
            vectors,
            layers,
            entry: h.entry,
            visited: Mutex::new(Vec::new()),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct HnswHeader {
    dim: usize,
    distance_type: String,
    m: usize,
    ef_construction: usize,
    storage: HnswStorage,
    num_nodes: u64,
    num_levels: usize,
    entry: u32,
}
