//! IVF-Flat and IVF-PQ: training, the streaming encoder that writes the two
//! index objects, and search over them. The byte layout is in
//! docs/FORMAT.md, "Vector index objects".

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use bytes::Bytes;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::distance::{normalize, DistanceType};
use super::ivf::Ivf;
use super::kmeans::{self, sample_indices, KMeansParams};
use super::lists::{coalesce, CoalescedRead, ListSource};
use super::object::{self, le_f32s, put_f32s};
use super::pq::ProductQuantizer;
use super::refine::{refine, VectorSource};
use super::sq::{DimQuantizer, DimQuery, ScalarQuantizer};
use super::topk::TopK;
use super::trace;
use super::{checksum, Codec, RowFilter};
use crate::error::{Error, Result};

pub const IVF_MAGIC: &[u8; 8] = b"STWIVF01";

/// Options of `Index.ivfFlat()` / `Index.ivfPq()`, after defaults.
#[derive(Debug, Clone)]
pub struct IvfBuildParams {
    pub num_partitions: usize,
    pub distance_type: DistanceType,
    pub max_iterations: usize,
    pub sample_rate: usize,
    pub codec: Codec,
    pub seed: u64,
    /// Buffered codes beyond this many bytes spill to a temporary file, so
    /// the encoder's memory stays bounded whatever the table's size.
    pub spill_bytes: usize,
    /// IVF-PQ: keep an 8-bit copy of each vector's residual next to its PQ
    /// code (the re-ranking copy, [`IvfIndex::copy`]). `false` builds the
    /// format of indexes made before the copy existed (tests of their
    /// search path).
    pub refine_copy: bool,
}

impl IvfBuildParams {
    /// Defaults for a table of `num_rows` vectors of `dim` values.
    pub fn new(num_rows: usize, codec: Codec) -> Self {
        IvfBuildParams {
            num_partitions: default_num_partitions(num_rows),
            distance_type: DistanceType::L2,
            max_iterations: 50,
            sample_rate: 256,
            codec,
            seed: 42,
            spill_bytes: 256 << 20,
            refine_copy: true,
        }
    }

    /// How many vectors the caller should sample from the table to train:
    /// `sample_rate` per partition, as LanceDB defines it.
    pub fn training_sample_size(&self, num_rows: usize) -> usize {
        let pq_min = match self.codec {
            Codec::Pq { num_bits, .. } => 1usize << num_bits,
            Codec::Flat => 0,
        };
        (self.num_partitions * self.sample_rate)
            .max(pq_min)
            .min(num_rows)
    }
}

/// `sqrt(num_rows)` partitions (LanceDB documents the same): about as many
/// partitions as rows in each, which balances the centroid scan against the
/// partition scan.
pub fn default_num_partitions(num_rows: usize) -> usize {
    ((num_rows as f64).sqrt().round() as usize).clamp(1, 65536)
}

/// The default `numSubVectors`: dim/8 when it divides (16 bytes per vector
/// at 128-d), else dim/4, else 1. LanceDB's dim/16 halves the code and
/// with it the recall reachable without refinement.
pub fn default_num_sub_vectors(dim: usize) -> usize {
    if dim.is_multiple_of(8) {
        dim / 8
    } else if dim.is_multiple_of(4) {
        dim / 4
    } else {
        1
    }
}

/// The metadata object's header, stored as JSON so fields can be added.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Header {
    kind: String,
    dim: usize,
    distance_type: String,
    num_partitions: usize,
    num_rows: u64,
    codec: Codec,
    code_size: usize,
    partitions_bytes: u64,
    partitions_checksum: u64,
    /// `"sq8"`: each partition holds a per-dimension 8-bit copy of every
    /// row's residual after its PQ codes (IVF-PQ); absent in indexes built
    /// before it existed, which re-rank from the data files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refine: Option<String>,
}

/// The [`Header::refine`] of an index with the SQ8 re-ranking copy.
const REFINE_SQ8: &str = "sq8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionEntry {
    pub offset: u64,
    pub count: u32,
    pub checksum: u64,
}

/// A trained IVF index: everything in the metadata object. Cheap to keep
/// cached; the partitions stay in their object and are read per query.
#[derive(Debug, Clone, PartialEq)]
pub struct IvfIndex {
    pub distance_type: DistanceType,
    pub ivf: Ivf,
    pub codec: Codec,
    pub pq: Option<ProductQuantizer>,
    pub partitions: Vec<PartitionEntry>,
    pub num_rows: u64,
    pub partitions_bytes: u64,
    pub partitions_checksum: u64,
    /// IVF-PQ's re-ranking copy: per-dimension 8-bit codes of `v − c_p`
    /// (the vector, normalised for cosine, minus its partition's centroid),
    /// stored in each partition after the PQ codes. `None` for IVF-Flat and
    /// for IVF-PQ indexes built without it.
    pub copy: Option<DimQuantizer>,
}

/// How many of the copy's best candidates get an exact distance: `k ×`
/// this. The copy's distances are within a fraction of a percent of the
/// exact ones, so a small margin past `k` catches the rare swap at the
/// border (docs/indexes.md).
pub const EXACT_MARGIN: usize = 2;

/// Options of one search.
#[derive(Clone, Copy)]
pub struct IvfSearchParams<'a> {
    pub k: usize,
    pub nprobes: usize,
    /// Re-rank `k × refine_factor` candidates with exact distances (PQ).
    pub refine_factor: Option<u32>,
    /// Only rows for which this returns true are candidates.
    pub filter: Option<RowFilter<'a>>,
    /// Probed partitions this close in the object are read in one request.
    pub coalesce_gap: u64,
}

impl IvfSearchParams<'_> {
    pub fn new(k: usize, nprobes: usize) -> Self {
        IvfSearchParams {
            k,
            nprobes,
            refine_factor: None,
            filter: None,
            coalesce_gap: 0,
        }
    }
}

/// The reads a query needs: the probed partitions (nearest first, with the
/// internal distance to their centroid) and the coalesced ranges.
#[derive(Debug, Clone)]
pub struct IvfPlan {
    pub probes: Vec<(u32, f32)>,
    pub reads: Vec<CoalescedRead>,
}

fn prepare(dt: DistanceType, v: &[f32]) -> Cow<'_, [f32]> {
    if dt == DistanceType::Cosine {
        let mut v = v.to_vec();
        normalize(&mut v);
        Cow::Owned(v)
    } else {
        Cow::Borrowed(v)
    }
}

/// The query-independent halves of an L2 residual IVF-PQ index's lookup
/// tables (`ProductQuantizer::residual_terms`), one per partition, computed
/// the first time the partition is probed and kept with the cached index.
/// Bounded: an index whose tables would take more than
/// [`ResidualTerms::MAX_BYTES`] computes them per query instead.
#[derive(Debug)]
pub struct ResidualTerms {
    parts: Vec<std::sync::OnceLock<Box<[f32]>>>,
    bytes: usize,
}

impl ResidualTerms {
    pub const MAX_BYTES: usize = 64 << 20;

    /// `None` when the index does not use them (not L2 residual PQ) or
    /// they would take too much memory.
    pub fn for_index(index: &IvfIndex) -> Option<Self> {
        let pq = index.pq.as_ref()?;
        if !(index.residual() && index.distance_type == DistanceType::L2) {
            return None;
        }
        let n = index.partitions.len();
        let bytes = n
            .saturating_mul(pq.num_sub_vectors)
            .saturating_mul(pq.ksub())
            .saturating_mul(4);
        (bytes <= Self::MAX_BYTES).then(|| ResidualTerms {
            parts: (0..n).map(|_| std::sync::OnceLock::new()).collect(),
            bytes,
        })
    }

    /// The bytes the tables take once every partition was probed.
    pub fn max_bytes(&self) -> usize {
        self.bytes
    }

    fn get(&self, index: &IvfIndex, p: usize) -> &[f32] {
        self.parts[p].get_or_init(|| match &index.pq {
            Some(pq) => pq.residual_terms(index.ivf.centroid(p)).into_boxed_slice(),
            None => Box::default(),
        })
    }
}

impl IvfIndex {
    /// The row ids, codes and re-ranking copies (empty without a copy) of
    /// partition `p`, from its bytes (as read at [`Self::partition_range`]),
    /// checksum verified.
    pub fn split_partition<'a>(
        &self,
        p: usize,
        part: &'a [u8],
    ) -> Result<(Vec<u64>, &'a [u8], &'a [u8])> {
        self.verify_partition(p, part)?;
        let (ids, codes, copies) = self.sections(part);
        let ids = ids
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect();
        Ok((ids, codes, copies))
    }

    /// A partition's three sections: ids, codes, copies (by its length).
    fn sections<'a>(&self, part: &'a [u8]) -> (&'a [u8], &'a [u8], &'a [u8]) {
        let n = part.len() / self.row_bytes();
        let (ids, rest) = part.split_at(n * 8);
        let (codes, copies) = rest.split_at((n * self.code_size()).min(rest.len()));
        (ids, codes, copies)
    }

    /// Bytes of one row's re-ranking copy (0 without one).
    pub fn copy_size(&self) -> usize {
        self.copy.as_ref().map_or(0, |c| c.dim())
    }

    /// Bytes a row takes in a partition: id, code, copy.
    pub fn row_bytes(&self) -> usize {
        8 + self.code_size() + self.copy_size()
    }

    pub fn dim(&self) -> usize {
        self.ivf.dim
    }

    pub fn code_size(&self) -> usize {
        match &self.pq {
            Some(pq) => pq.code_size(),
            None => self.dim() * 4,
        }
    }

    fn residual(&self) -> bool {
        matches!(self.codec, Codec::Pq { residual: true, .. })
    }

    pub fn partition_range(&self, p: usize) -> std::ops::Range<u64> {
        let e = &self.partitions[p];
        e.offset..e.offset + e.count as u64 * self.row_bytes() as u64
    }

    pub fn plan(&self, query: &[f32], nprobes: usize, coalesce_gap: u64) -> Result<IvfPlan> {
        self.check_query(query)?;
        let q = prepare(self.distance_type, query);
        let probes = self.ivf.probe(self.distance_type, &q, nprobes.max(1));
        let requests: Vec<(u32, std::ops::Range<u64>)> = probes
            .iter()
            .map(|&(p, _)| (p, self.partition_range(p as usize)))
            .collect();
        Ok(IvfPlan {
            probes,
            reads: coalesce(&requests, coalesce_gap),
        })
    }

    fn check_query(&self, query: &[f32]) -> Result<()> {
        if query.len() != self.dim() {
            return Err(Error::invalid_argument(format!(
                "query vector has {} values but the index is on vectors of {}",
                query.len(),
                self.dim()
            )));
        }
        Ok(())
    }

    /// Scans the planned partitions (`data[i]` is the bytes of
    /// `plan.reads[i]`) and returns the `limit` best candidates by the
    /// index's (approximate, for PQ) distance. CPU only: run it off the IO
    /// threads.
    pub fn scan(
        &self,
        query: &[f32],
        plan: &IvfPlan,
        data: &[Bytes],
        limit: usize,
        filter: Option<RowFilter<'_>>,
    ) -> Result<Vec<(u64, f32)>> {
        let parts = self.planned_parts(plan, data)?;
        self.scan_partitions(query, &parts, limit, filter, None)
    }

    /// The planned partitions' bytes out of the reads, verified.
    fn planned_parts<'a>(
        &self,
        plan: &IvfPlan,
        data: &'a [Bytes],
    ) -> Result<Vec<(usize, &'a [u8])>> {
        if data.len() != plan.reads.len() {
            return Err(Error::internal("IVF scan got data for a different plan"));
        }
        let mut parts: Vec<(usize, &[u8])> = Vec::new();
        for (read, bytes) in plan.reads.iter().zip(data) {
            if bytes.len() as u64 != read.range.end - read.range.start {
                return Err(self.corrupt("a partition read returned the wrong number of bytes"));
            }
            for (p, range) in &read.parts {
                let part = &bytes[range.clone()];
                self.verify_partition(*p as usize, part)?;
                parts.push((*p as usize, part));
            }
        }
        Ok(parts)
    }

    /// Checks partition `p`'s bytes (as read at [`Self::partition_range`])
    /// against the checksum and length the metadata records.
    pub fn verify_partition(&self, p: usize, part: &[u8]) -> Result<()> {
        let entry = self
            .partitions
            .get(p)
            .ok_or_else(|| self.corrupt("partition out of range"))?;
        if checksum(part) != entry.checksum {
            return Err(self.corrupt(&format!("partition {p} fails its checksum")));
        }
        if part.len() != entry.count as usize * self.row_bytes() {
            return Err(self.corrupt("partition has the wrong length"));
        }
        Ok(())
    }

    /// The `limit` best candidates of `parts` (partition, its bytes, already
    /// verified with [`Self::verify_partition`]). `terms`: the cached
    /// query-independent halves of the residual lookup tables (L2 IVF-PQ),
    /// so a probed partition costs one pass of additions instead of a pass
    /// over the codebooks.
    pub fn scan_partitions(
        &self,
        query: &[f32],
        parts: &[(usize, &[u8])],
        limit: usize,
        filter: Option<RowFilter<'_>>,
        terms: Option<&ResidualTerms>,
    ) -> Result<Vec<(u64, f32)>> {
        self.scan_inner(query, parts, limit, filter, terms, false)
    }

    /// As [`Self::scan_partitions`] for `candidates` rows by PQ distance,
    /// then re-ranked by the re-ranking copy ([`Self::copy`]): the `keep`
    /// best by the copy's distance (internal, within a fraction of a
    /// percent of the exact one), nearest first. In memory: no data-file
    /// read. Errors when the index has no copy.
    pub fn scan_refined(
        &self,
        query: &[f32],
        parts: &[(usize, &[u8])],
        candidates: usize,
        keep: usize,
        filter: Option<RowFilter<'_>>,
        terms: Option<&ResidualTerms>,
    ) -> Result<Vec<(u64, f32)>> {
        let copy = self
            .copy
            .as_ref()
            .ok_or_else(|| Error::internal("re-ranking from an index without its copy"))?;
        let mut found = self.scan_inner(query, parts, candidates, filter, terms, true)?;
        // Located as (index into `parts`) << 32 | row: group by partition.
        found.sort_unstable_by_key(|c| c.0);
        let dt = self.distance_type;
        let q = prepare(dt, query);
        let mut shifted = vec![0f32; self.dim()];
        let mut pq = DimQuery::default();
        let mut current = usize::MAX;
        let (mut ids, mut copies): (&[u8], &[u8]) = (&[], &[]);
        let cs = self.copy_size();
        let mut top = TopK::new(keep);
        for (loc, _) in found {
            let (i, row) = ((loc >> 32) as usize, (loc & 0xffff_ffff) as usize);
            if i != current {
                let (p, part) = *parts
                    .get(i)
                    .ok_or_else(|| Error::internal("candidate outside the scanned partitions"))?;
                let c = self.ivf.centroid(p);
                match dt {
                    DistanceType::L2 => {
                        for ((s, a), b) in shifted.iter_mut().zip(q.iter()).zip(c) {
                            *s = a - b;
                        }
                        copy.prepare(dt, &shifted, 0.0, &mut pq);
                    }
                    _ => copy.prepare(dt, &q, dt.internal(&q, c), &mut pq),
                }
                let (ids_p, _, copies_p) = self.sections(part);
                (ids, copies) = (ids_p, copies_p);
                current = i;
            }
            let id = ids
                .get(row * 8..row * 8 + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes);
            let code = copies.get(row * cs..(row + 1) * cs);
            let (Some(id), Some(code)) = (id, code) else {
                return Err(self.corrupt("re-ranking copy shorter than its partition"));
            };
            top.push(id, copy.distance(&pq, code));
        }
        Ok(top.into_sorted())
    }

    /// The scan itself; with `locate`, candidates are reported as (index in
    /// `parts`) << 32 | (row in the partition) instead of row ids.
    fn scan_inner(
        &self,
        query: &[f32],
        parts: &[(usize, &[u8])],
        limit: usize,
        filter: Option<RowFilter<'_>>,
        terms: Option<&ResidualTerms>,
        locate: bool,
    ) -> Result<Vec<(u64, f32)>> {
        self.check_query(query)?;
        let dt = self.distance_type;
        let q = prepare(dt, query);
        let dim = self.dim();
        let code_size = self.code_size();
        let mut top = TopK::new(limit);
        let mut table = Vec::new();
        let mut qterms = Vec::new();
        let mut shifted = vec![0f32; dim];
        let residual_l2 = self.residual() && dt == DistanceType::L2;
        if let Some(pq) = &self.pq {
            match (residual_l2, terms) {
                (false, _) => pq.lookup_table(dt, &q, &mut table),
                (true, Some(_)) => {
                    pq.query_terms(&q, &mut qterms);
                    table.resize(qterms.len(), 0.0);
                }
                (true, None) => {}
            }
        }
        for (i, &(p, part)) in parts.iter().enumerate() {
            let entry = self
                .partitions
                .get(p)
                .ok_or_else(|| self.corrupt("partition out of range"))?;
            let n = entry.count as usize;
            if part.len() != n * self.row_bytes() {
                return Err(self.corrupt("partition has the wrong length"));
            }
            let (ids, codes, _) = self.sections(part);
            let base = (i as u64) << 32;
            let ids = ids
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
            match &self.pq {
                None => {
                    let floats = le_f32s(codes);
                    for (r, (id, v)) in ids.zip(floats.chunks_exact(dim)).enumerate() {
                        if filter.is_none_or(|f| f(id)) {
                            top.push(
                                if locate { base | r as u64 } else { id },
                                dt.internal(&q, v),
                            );
                        }
                    }
                }
                Some(pq) => {
                    let c = self.ivf.centroid(p);
                    let bias = match (dt, self.residual(), terms) {
                        (DistanceType::L2, true, Some(terms)) => {
                            for ((t, a), b) in table.iter_mut().zip(terms.get(self, p)).zip(&qterms)
                            {
                                *t = a + b;
                            }
                            dt.internal(&q, c)
                        }
                        (DistanceType::L2, true, None) => {
                            for ((s, a), b) in shifted.iter_mut().zip(q.iter()).zip(c) {
                                *s = a - b;
                            }
                            pq.lookup_table(dt, &shifted, &mut table);
                            0.0
                        }
                        (DistanceType::L2, false, _) => 0.0,
                        (_, true, _) => dt.internal(&q, c),
                        (_, false, _) => 1.0,
                    };
                    for (r, (id, code)) in ids.zip(codes.chunks_exact(code_size)).enumerate() {
                        if filter.is_none_or(|f| f(id)) {
                            let d = pq.adc(&table, code, bias);
                            top.push(if locate { base | r as u64 } else { id }, d);
                        }
                    }
                }
            }
        }
        Ok(top.into_sorted())
    }

    /// The `k` nearest rows: probe, read each probed partition (adjacent
    /// ones in one request), scan, and re-rank with exact vectors when a
    /// refine factor is given (PQ only; IVF-Flat distances are exact).
    pub async fn search(
        &self,
        query: &[f32],
        params: &IvfSearchParams<'_>,
        lists: &dyn ListSource,
        vectors: Option<&dyn VectorSource>,
    ) -> Result<Vec<(u64, f32)>> {
        let plan = self.plan(query, params.nprobes, params.coalesce_gap)?;
        let data = futures::future::try_join_all(
            plan.reads.iter().map(|r| lists.read_range(r.range.clone())),
        )
        .await?;
        let refine_factor = match (&self.pq, params.refine_factor) {
            (Some(_), Some(f)) if f > 1 || vectors.is_some() => Some(f.max(1) as usize),
            _ => None,
        };
        let limit = params.k * refine_factor.unwrap_or(1);
        if let (Some(_), Some(_)) = (&self.copy, refine_factor) {
            // Re-rank in memory with the copy, then exact distances for the
            // few best when the vectors are at hand.
            let parts = self.planned_parts(&plan, &data)?;
            let keep = (params.k * EXACT_MARGIN).min(limit);
            let found = self.scan_refined(query, &parts, limit, keep, params.filter, None)?;
            return match vectors {
                Some(source) => refine(self.distance_type, query, &found, params.k, source).await,
                None => Ok(found.into_iter().take(params.k).collect()),
            };
        }
        let mut found = self.scan(query, &plan, &data, limit, params.filter)?;
        match refine_factor {
            None => {
                found.truncate(params.k);
                Ok(found)
            }
            Some(_) => {
                let source = vectors.ok_or_else(|| {
                    Error::internal("refineFactor needs the exact vectors, and none were given")
                })?;
                refine(self.distance_type, query, &found, params.k, source).await
            }
        }
    }

    /// Partition, code and re-ranking copy (concatenated) of each vector
    /// of `block` (row-major): nearest centroids by one SGEMM
    /// ([`Ivf::assign_batch`]), then the PQ codes of the residuals sub-space
    /// by sub-space ([`ProductQuantizer::encode_batch`]).
    fn encode_block(&self, block: &[f32]) -> Vec<(u32, Vec<u8>)> {
        let dim = self.dim();
        let (cs, ks) = (self.code_size(), self.copy_size());
        let v: Cow<'_, [f32]> = if self.distance_type == DistanceType::Cosine {
            let mut v = block.to_vec();
            v.chunks_exact_mut(dim).for_each(normalize);
            Cow::Owned(v)
        } else {
            Cow::Borrowed(block)
        };
        let near = self.ivf.assign_batch(&v);
        let residuals =
            (self.copy.is_some() || (self.pq.is_some() && self.residual())).then(|| {
                let mut r = v.to_vec();
                for (x, &(p, _)) in r.chunks_exact_mut(dim).zip(&near) {
                    let c = self.ivf.centroid(p as usize);
                    x.iter_mut().zip(c).for_each(|(a, b)| *a -= b);
                }
                r
            });
        let mut codes = vec![0u8; near.len() * cs];
        match (&self.pq, &residuals) {
            (None, _) => {
                for (o, x) in codes.chunks_exact_mut(4).zip(v.iter()) {
                    o.copy_from_slice(&x.to_le_bytes());
                }
            }
            (Some(pq), Some(r)) if self.residual() => pq.encode_batch(r, &mut codes),
            (Some(pq), _) => pq.encode_batch(&v, &mut codes),
        }
        near.iter()
            .zip(codes.chunks_exact(cs))
            .enumerate()
            .map(|(i, (&(p, _), code))| {
                let mut both = vec![0u8; cs + ks];
                both[..cs].copy_from_slice(code);
                if let (Some(copy), Some(r)) = (&self.copy, &residuals) {
                    copy.encode(&r[i * dim..(i + 1) * dim], &mut both[cs..]);
                }
                (p, both)
            })
            .collect()
    }

    fn corrupt(&self, reason: &str) -> Error {
        object::corrupt("IVF index", reason)
    }

    /// The metadata object.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            kind: match self.codec {
                Codec::Flat => "IVF_FLAT".into(),
                Codec::Pq { .. } => "IVF_PQ".into(),
            },
            dim: self.dim(),
            distance_type: self.distance_type.as_str().into(),
            num_partitions: self.ivf.num_partitions(),
            num_rows: self.num_rows,
            codec: self.codec,
            code_size: self.code_size(),
            partitions_bytes: self.partitions_bytes,
            partitions_checksum: self.partitions_checksum,
            refine: self.copy.as_ref().map(|_| REFINE_SQ8.to_string()),
        };
        let mut out = object::begin(IVF_MAGIC, &header);
        put_f32s(&mut out, &self.ivf.centroids);
        if let Some(pq) = &self.pq {
            put_f32s(&mut out, &pq.codebooks);
        }
        if let Some(copy) = &self.copy {
            let lo: Vec<f32> = copy.ranges.iter().map(|r| r.lo).collect();
            let hi: Vec<f32> = copy.ranges.iter().map(|r| r.hi).collect();
            put_f32s(&mut out, &lo);
            put_f32s(&mut out, &hi);
        }
        for e in &self.partitions {
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(&e.count.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&e.checksum.to_le_bytes());
        }
        object::seal(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let corrupt = |r: &str| object::corrupt("IVF index metadata", r);
        let (header, mut r): (Header, _) = object::open(bytes, IVF_MAGIC, "IVF index metadata")?;
        let distance_type = DistanceType::parse(&header.distance_type)?;
        let dim = header.dim;
        let centroids = r.f32s(header.num_partitions * dim)?;
        let pq = match header.codec {
            Codec::Flat => None,
            Codec::Pq {
                num_sub_vectors,
                num_bits,
                ..
            } => {
                ProductQuantizer::validate(dim, num_sub_vectors, num_bits)?;
                let len = num_sub_vectors * (1 << num_bits) * (dim / num_sub_vectors);
                Some(ProductQuantizer {
                    dim,
                    num_sub_vectors,
                    num_bits,
                    codebooks: r.f32s(len)?,
                })
            }
        };
        let copy = match header.refine.as_deref() {
            None => None,
            Some(REFINE_SQ8) if pq.is_some() => {
                let (lo, hi) = (r.f32s(dim)?, r.f32s(dim)?);
                Some(DimQuantizer {
                    ranges: lo
                        .into_iter()
                        .zip(hi)
                        .map(|(lo, hi)| ScalarQuantizer { lo, hi })
                        .collect(),
                })
            }
            Some(other) => {
                return Err(corrupt(&format!(
                    "unknown re-ranking copy '{}' (written by a newer version?)",
                    super::bounded(other)
                )))
            }
        };
        let mut partitions = Vec::with_capacity(header.num_partitions);
        for _ in 0..header.num_partitions {
            let offset = r.u64()?;
            let count = r.u32()?;
            r.u32()?;
            let checksum = r.u64()?;
            partitions.push(PartitionEntry {
                offset,
                count,
                checksum,
            });
        }
        if !r.done() {
            return Err(corrupt("trailing bytes"));
        }
        let index = IvfIndex {
            distance_type,
            ivf: Ivf { dim, centroids },
            codec: header.codec,
            pq,
            partitions,
            num_rows: header.num_rows,
            partitions_bytes: header.partitions_bytes,
            partitions_checksum: header.partitions_checksum,
            copy,
        };
        if index.code_size() != header.code_size
            || (0..header.num_partitions)
                .any(|p| index.partition_range(p).end > header.partitions_bytes)
        {
            return Err(corrupt(
                "partition table does not fit the partitions object",
            ));
        }
        Ok(index)
    }
}

/// Streams (row id, vector) batches into partition-major order.
///
/// Codes are small (16 bytes a vector for PQ at 128-d), so 1M rows buffer
/// in ~24 MB; IVF-Flat codes are the vectors themselves (512 MB at 1M ×
/// 128-d), so past `spill_bytes` the buffers are appended to a temporary
/// file as runs tagged by partition and merged back in partition order by
/// `finish`: an external bucket sort with one pass over the spill.
pub struct IvfBuilder {
    index: IvfIndex,
    ids: Vec<Vec<u64>>,
    codes: Vec<Vec<u8>>,
    /// Re-ranking copies, per partition (empty without a copy).
    copies: Vec<Vec<u8>>,
    buffered: usize,
    spill_bytes: usize,
    spill: Option<Spill>,
    /// The k-means loss of the training (`None` for a builder made from a
    /// trained index): see [`Self::loss`].
    loss: Option<f64>,
}

struct Spill {
    path: PathBuf,
    file: BufWriter<File>,
    len: u64,
    /// Per partition: (offset in the spill, rows) of each run, in order.
    runs: Vec<Vec<(u64, usize)>>,
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl IvfBuilder {
    /// Trains the centroids (and the PQ codebooks) on `sample`, the rows a
    /// caller picked with [`sample_indices`] over
    /// [`IvfBuildParams::training_sample_size`].
    pub fn train(params: &IvfBuildParams, dim: usize, sample: &[f32]) -> Result<Self> {
        let dt = params.distance_type;
        if dim == 0 || !sample.len().is_multiple_of(dim) {
            return Err(Error::internal(
                "training sample does not form whole vectors",
            ));
        }
        let mut sample = sample.to_vec();
        if dt == DistanceType::Cosine {
            sample.par_chunks_mut(dim).for_each(normalize);
        }
        let n = sample.len() / dim;
        if params.num_partitions == 0 || params.num_partitions > n {
            return Err(Error::invalid_argument(format!(
                "numPartitions ({}) must be between 1 and the number of vectors sampled for training ({n})",
                params.num_partitions
            )));
        }
        let mut km = KMeansParams::new(params.num_partitions);
        km.max_iterations = params.max_iterations;
        km.seed = params.seed;
        let trained = {
            let _span = trace::span("ivf k-means");
            kmeans::train(&sample, dim, &km)?
        };
        trace::note(|| format!("ivf k-means: {} iterations", trained.iterations));
        let loss = trained.mse * n as f64;
        let ivf = Ivf {
            dim,
            centroids: trained.centroids,
        };
        let pq = match params.codec {
            Codec::Flat => None,
            Codec::Pq {
                num_sub_vectors,
                num_bits,
                residual,
            } => {
                ProductQuantizer::validate(dim, num_sub_vectors, num_bits)?;
                // 256 points per codeword is where FAISS stops sampling too;
                // more only slows the 2^bits-means of each sub-space.
                let _span = trace::span("pq training");
                let keep = sample_indices(n, 256 << num_bits, params.seed ^ 0x5eed);
                let mut train: Vec<f32> = Vec::with_capacity(keep.len() * dim);
                for &i in &keep {
                    train.extend_from_slice(&sample[i * dim..(i + 1) * dim]);
                }
                if residual {
                    let near = kmeans::assign_all(&train, dim, &ivf.centroids);
                    train
                        .par_chunks_mut(dim)
                        .zip(&near)
                        .for_each(|(v, &(p, _))| {
                            let c = ivf.centroid(p as usize);
                            v.iter_mut().zip(c).for_each(|(a, b)| *a -= b);
                        });
                }
                Some(ProductQuantizer::train(
                    &train,
                    dim,
                    num_sub_vectors,
                    num_bits,
                    params.max_iterations,
                    params.seed,
                )?)
            }
        };
        let copy = match (&pq, params.refine_copy) {
            (Some(_), true) => Some(train_copy(&ivf, &sample, params.seed)),
            _ => None,
        };
        let p = ivf.num_partitions();
        Ok(IvfBuilder {
            index: IvfIndex {
                distance_type: dt,
                ivf,
                codec: params.codec,
                pq,
                partitions: Vec::new(),
                num_rows: 0,
                partitions_bytes: 0,
                partitions_checksum: 0,
                copy,
            },
            ids: vec![Vec::new(); p],
            codes: vec![Vec::new(); p],
            copies: vec![Vec::new(); p],
            buffered: 0,
            spill_bytes: params.spill_bytes,
            spill: None,
            loss: Some(loss),
        })
    }

    /// The k-means loss of the partitions' training, as LanceDB's
    /// `IndexStatistics.loss`: the sum over the training sample of each
    /// vector's squared L2 distance to its centroid (normalised vectors for
    /// cosine), at the last assignment pass. `None` for a builder made with
    /// [`Self::from_index`].
    pub fn loss(&self) -> Option<f64> {
        self.loss
    }

    /// A builder that assigns and encodes with an index's trained centroids
    /// and codebooks (no training): `optimize()` adds new rows to existing
    /// partitions with it, and merges segments through [`Self::add_encoded`].
    pub fn from_index(index: &IvfIndex, spill_bytes: usize) -> Self {
        let p = index.ivf.num_partitions();
        IvfBuilder {
            index: IvfIndex {
                partitions: Vec::new(),
                num_rows: 0,
                partitions_bytes: 0,
                partitions_checksum: 0,
                ..index.clone()
            },
            ids: vec![Vec::new(); p],
            codes: vec![Vec::new(); p],
            copies: vec![Vec::new(); p],
            buffered: 0,
            spill_bytes,
            spill: None,
            loss: None,
        }
    }

    /// Appends rows already encoded by an index with the same model to
    /// partition `p` (segments merge without re-encoding): their ids, codes
    /// and re-ranking copies (empty when the index keeps none).
    pub fn add_encoded(
        &mut self,
        p: usize,
        row_ids: &[u64],
        codes: &[u8],
        copies: &[u8],
    ) -> Result<()> {
        let cs = self.index.code_size();
        if p >= self.ids.len()
            || codes.len() != row_ids.len() * cs
            || copies.len() != row_ids.len() * self.index.copy_size()
        {
            return Err(Error::internal("merged partition does not fit the index"));
        }
        self.ids[p].extend_from_slice(row_ids);
        self.codes[p].extend_from_slice(codes);
        self.copies[p].extend_from_slice(copies);
        self.buffered += row_ids.len() * self.index.row_bytes();
        self.index.num_rows += row_ids.len() as u64;
        if self.buffered > self.spill_bytes {
            self.spill_buffers()?;
        }
        Ok(())
    }

    /// Assigns and encodes one batch (all cores), then appends it to the
    /// partition buffers. `vectors` is row-major, `row_ids.len() × dim`.
    pub fn add(&mut self, row_ids: &[u64], vectors: &[f32]) -> Result<()> {
        let dim = self.index.dim();
        if vectors.len() != row_ids.len() * dim {
            return Err(Error::internal(format!(
                "batch of {} row ids with {} floats (dimension {dim})",
                row_ids.len(),
                vectors.len()
            )));
        }
        let index = &self.index;
        let code_size = index.code_size();
        let copy_size = index.copy_size();
        let dt = index.distance_type;
        let block = kmeans::block_rows(index.ivf.num_partitions());
        // Each row's PQ code, then its re-ranking copy, in one buffer.
        let encoded: Vec<(u32, Vec<u8>)> = vectors
            .par_chunks(block * dim)
            .flat_map_iter(|b| index.encode_block(b))
            .collect();
        for ((p, code), (&id, v)) in encoded
            .into_iter()
            .zip(row_ids.iter().zip(vectors.chunks(dim)))
        {
            // A zero vector has no direction: cosine can never rank it, and
            // LanceDB never returns one.
            if dt == DistanceType::Cosine && v.iter().all(|x| *x == 0.0) {
                continue;
            }
            let (code, copied) = code.split_at(code_size);
            self.ids[p as usize].push(id);
            self.codes[p as usize].extend_from_slice(code);
            self.copies[p as usize].extend_from_slice(copied);
            self.buffered += 8 + code_size + copy_size;
        }
        self.index.num_rows += row_ids.len() as u64;
        if self.buffered > self.spill_bytes {
            self.spill_buffers()?;
        }
        Ok(())
    }

    fn spill_buffers(&mut self) -> Result<()> {
        let io = |e: std::io::Error| Error::internal(format!("index build spill file: {e}"));
        if self.spill.is_none() {
            let path =
                std::env::temp_dir().join(format!("stowage-ivf-{}.spill", uuid::Uuid::new_v4()));
            let file = File::create(&path).map_err(io)?;
            self.spill = Some(Spill {
                path,
                file: BufWriter::new(file),
                len: 0,
                runs: vec![Vec::new(); self.ids.len()],
            });
        }
        let spill = self
            .spill
            .as_mut()
            .ok_or_else(|| Error::internal("no spill"))?;
        let buffers = self
            .ids
            .iter_mut()
            .zip(&mut self.codes)
            .zip(&mut self.copies);
        for (p, ((ids, codes), copies)) in buffers.enumerate() {
            if ids.is_empty() {
                continue;
            }
            // A run: its ids, then its codes, then its copies.
            spill.runs[p].push((spill.len, ids.len()));
            for id in ids.iter() {
                spill.file.write_all(&id.to_le_bytes()).map_err(io)?;
            }
            spill.file.write_all(codes).map_err(io)?;
            spill.file.write_all(copies).map_err(io)?;
            spill.len += (ids.len() * 8 + codes.len() + copies.len()) as u64;
            *ids = Vec::new();
            *codes = Vec::new();
            *copies = Vec::new();
        }
        self.buffered = 0;
        Ok(())
    }

    /// Writes the partitions object to `out` and returns the index, whose
    /// [`IvfIndex::to_bytes`] is the metadata object.
    pub fn finish(mut self, out: &mut dyn Write) -> Result<IvfIndex> {
        let io = |e: std::io::Error| Error::internal(format!("writing IVF partitions: {e}"));
        let code_size = self.index.code_size();
        let copy_size = self.index.copy_size();
        let mut spill = match self.spill.take() {
            Some(mut s) => {
                s.file.flush().map_err(io)?;
                let f = File::open(&s.path).map_err(io)?;
                Some((s, f))
            }
            None => None,
        };
        let mut offset = 0u64;
        let mut whole = twox_hash::XxHash64::with_seed(0);
        let mut partitions = Vec::with_capacity(self.ids.len());
        let mut part = Vec::new();
        let mut run = Vec::new();
        for p in 0..self.ids.len() {
            part.clear();
            let mut count = 0usize;
            let runs: &[(u64, usize)] = spill.as_ref().map_or(&[], |(s, _)| &s.runs[p]);
            let runs = runs.to_vec();
            // Row ids of every run first, then codes, then copies, in the
            // same order.
            for pass in 0..3 {
                for &(at, n) in &runs {
                    if let Some((_, f)) = spill.as_mut() {
                        let (skip, len) = match pass {
                            0 => (0, n * 8),
                            1 => (n * 8, n * code_size),
                            _ => (n * (8 + code_size), n * copy_size),
                        };
                        f.seek(SeekFrom::Start(at + skip as u64)).map_err(io)?;
                        run.resize(len, 0);
                        f.read_exact(&mut run).map_err(io)?;
                        part.extend_from_slice(&run);
                    }
                    count += if pass == 0 { n } else { 0 };
                }
                match pass {
                    0 => {
                        for id in &self.ids[p] {
                            part.extend_from_slice(&id.to_le_bytes());
                        }
                        count += self.ids[p].len();
                    }
                    1 => part.extend_from_slice(&self.codes[p]),
                    _ => part.extend_from_slice(&self.copies[p]),
                }
            }
            self.ids[p] = Vec::new();
            self.codes[p] = Vec::new();
            self.copies[p] = Vec::new();
            let count = u32::try_from(count).map_err(|_| {
                Error::invalid_argument("a partition holds over 2^32 rows; use more numPartitions")
            })?;
            out.write_all(&part).map_err(io)?;
            std::hash::Hasher::write(&mut whole, &part);
            partitions.push(PartitionEntry {
                offset,
                count,
                checksum: checksum(&part),
            });
            offset += part.len() as u64;
        }
        out.flush().map_err(io)?;
        drop(spill);
        self.index.partitions = partitions;
        self.index.partitions_bytes = offset;
        self.index.partitions_checksum = std::hash::Hasher::finish(&whole);
        Ok(self.index)
    }
}

/// Trains the ranges of the re-ranking copy on the residuals of up to 16k
/// vectors of the training sample (already normalised for cosine).
fn train_copy(ivf: &Ivf, sample: &[f32], seed: u64) -> DimQuantizer {
    let dim = ivf.dim;
    let n = sample.len() / dim.max(1);
    let keep = sample_indices(n, 16_384, seed ^ 0xc0b1);
    let residuals: Vec<f32> = keep
        .par_iter()
        .flat_map_iter(|&i| {
            let v = &sample[i * dim..(i + 1) * dim];
            let c = ivf.centroid(ivf.assign(v) as usize);
            v.iter().zip(c).map(|(a, b)| a - b).collect::<Vec<_>>()
        })
        .collect();
    DimQuantizer::train(&residuals, dim)
}
