//! Recall, layout and filter tests of the whole index path on structured
//! data (see `testdata`). Thresholds sit a few points under what the
//! parameters reach here, so a regression in training, encoding or search
//! fails them while run-to-run noise of the parallel HNSW build does not.

use async_trait::async_trait;

use super::testdata::{exact_knn, gaussian_mixture, low_rank, recall};
use super::*;
use crate::error::Result;

const DIM: usize = 64;
const N: usize = 20_000;
const Q: usize = 100;
const K: usize = 10;

struct Rows<'a>(&'a [f32]);

#[async_trait]
impl VectorSource for Rows<'_> {
    async fn fetch(&self, ids: &[u64]) -> Result<Vec<Option<Vec<f32>>>> {
        Ok(ids
            .iter()
            .map(|&i| {
                self.0
                    .get(i as usize * DIM..(i as usize + 1) * DIM)
                    .map(<[f32]>::to_vec)
            })
            .collect())
    }
}

fn ids(n: usize) -> Vec<u64> {
    (0..n as u64).collect()
}

fn build_ivf(data: &[f32], params: &IvfBuildParams) -> (IvfIndex, MemoryListSource) {
    let n = data.len() / DIM;
    let take = kmeans::sample_indices(n, params.training_sample_size(n), 7);
    let sample: Vec<f32> = take
        .iter()
        .flat_map(|&i| data[i * DIM..(i + 1) * DIM].iter().copied())
        .collect();
    let mut b = IvfBuilder::train(params, DIM, &sample).unwrap();
    // Streamed in batches, as a table scan delivers them.
    let all = ids(n);
    for (ids, rows) in all.chunks(3000).zip(data.chunks(3000 * DIM)) {
        b.add(ids, rows).unwrap();
    }
    let mut parts = Vec::new();
    let index = b.finish(&mut parts).unwrap();
    // Search through the serialised metadata, as a reader would.
    let index = IvfIndex::from_bytes(&index.to_bytes()).unwrap();
    (index, MemoryListSource::new(parts))
}

/// Recall@K of `search` (nearest first) against exact search.
fn recall_of(
    dt: DistanceType,
    data: &[f32],
    queries: &[f32],
    search: impl Fn(&[f32]) -> Vec<(u64, f32)>,
) -> f64 {
    let truth = exact_knn(dt, data, queries, DIM, K, None);
    let found: Vec<Vec<u64>> = queries
        .chunks(DIM)
        .map(|q| search(q).into_iter().map(|(id, _)| id).collect())
        .collect();
    recall(&truth, &found)
}

fn ivf_recall(
    index: &IvfIndex,
    lists: &MemoryListSource,
    data: &[f32],
    queries: &[f32],
    nprobes: usize,
    refine: Option<u32>,
) -> f64 {
    let rows = Rows(data);
    recall_of(index.distance_type, data, queries, |q| {
        let mut p = IvfSearchParams::new(K, nprobes);
        p.refine_factor = refine;
        let r = futures::executor::block_on(index.search(q, &p, lists, Some(&rows))).unwrap();
        assert!(r.len() == K && r.windows(2).all(|w| w[0].1 <= w[1].1));
        r
    })
}

fn pq(m: usize, residual: bool) -> Codec {
    Codec::Pq {
        num_sub_vectors: m,
        num_bits: 8,
        residual,
    }
}

#[test]
fn ivf_flat_recall_on_clustered_and_low_rank_data() {
    for (name, (data, queries)) in [
        ("mixture", gaussian_mixture(N, Q, DIM, 50, 1)),
        ("low-rank", low_rank(N, Q, DIM, 8, 2)),
    ] {
        for dt in [DistanceType::L2, DistanceType::Cosine, DistanceType::Dot] {
            let mut p = IvfBuildParams::new(N, Codec::Flat);
            p.distance_type = dt;
            let (index, lists) = build_ivf(&data, &p);
            assert_eq!(index.ivf.num_partitions(), 141);
            // 20 of 141 partitions: exact distances, so misses are only
            // neighbours across partition borders.
            let r = ivf_recall(&index, &lists, &data, &queries, 20, None);
            eprintln!("ivf_flat {name} {dt:?}: recall@10 {r:.3}");
            let want = if dt == DistanceType::Dot { 0.85 } else { 0.95 };
            assert!(r >= want, "{name} {dt:?}: recall {r}");
        }
    }
}

#[test]
fn ivf_pq_recall_with_and_without_refine() {
    let (data, queries) = gaussian_mixture(N, Q, DIM, 50, 3);
    let mut results = Vec::new();
    for residual in [true, false] {
        let mut p = IvfBuildParams::new(N, pq(16, residual));
        p.max_iterations = 20;
        let (index, lists) = build_ivf(&data, &p);
        let plain = ivf_recall(&index, &lists, &data, &queries, 20, None);
        let refined = ivf_recall(&index, &lists, &data, &queries, 20, Some(10));
        eprintln!("ivf_pq m=16 residual={residual}: recall@10 {plain:.3}, refine 10: {refined:.3}");
        results.push((plain, refined));
    }
    // 16 bytes a vector: PQ alone ranks near neighbours only roughly;
    // re-ranking 100 candidates exactly recovers nearly all of them.
    assert!(results[0].0 >= 0.5, "{results:?}");
    assert!(results[0].1 >= 0.93, "{results:?}");
    assert!(results[1].1 >= 0.9, "{results:?}");
    // Residuals quantise finer than raw vectors, measured here.
    assert!(results[0].0 >= results[1].0, "{results:?}");
}

/// The re-ranking copy: each row's 8-bit copy in its partition decodes to
/// its residual (the vector minus its partition's centroid) within half a
/// step per dimension, survives the metadata round trip, and re-ranks PQ
/// candidates to near-exact recall with exact `_distance`s, for every
/// metric. Without the copy (the format before it) search still works
/// through the exact vectors.
#[test]
fn ivf_pq_refine_copy_encodes_and_reranks() {
    let (data, queries) = gaussian_mixture(N, Q, DIM, 50, 3);
    for dt in [DistanceType::L2, DistanceType::Cosine, DistanceType::Dot] {
        let mut p = IvfBuildParams::new(N, pq(16, true));
        p.max_iterations = 20;
        p.distance_type = dt;
        let (index, lists) = build_ivf(&data, &p);
        let copy = index.copy.clone().expect("IVF-PQ keeps a re-ranking copy");
        assert_eq!(index.copy_size(), DIM);
        assert_eq!(index.row_bytes(), 8 + 16 + DIM);
        // Decode every row's copy from the partitions object.
        let mut checked = 0;
        let mut back = vec![0f32; DIM];
        for part in 0..index.partitions.len() {
            let r = index.partition_range(part);
            let bytes = futures::executor::block_on(lists.read_range(r)).unwrap();
            let (ids, codes, copies) = index.split_partition(part, &bytes).unwrap();
            assert_eq!(codes.len(), ids.len() * 16);
            assert_eq!(copies.len(), ids.len() * DIM);
            let c = index.ivf.centroid(part);
            for (id, code) in ids.iter().zip(copies.chunks_exact(DIM)).take(5) {
                let mut v = data[*id as usize * DIM..(*id as usize + 1) * DIM].to_vec();
                if dt == DistanceType::Cosine {
                    distance::normalize(&mut v);
                }
                copy.decode(code, &mut back);
                for (((x, cc), b), q) in v.iter().zip(c).zip(&back).zip(&copy.ranges) {
                    let res = (x - cc).clamp(q.lo, q.hi);
                    assert!((res - b).abs() <= q.scale() / 2.0 + 1e-5, "{dt:?} row {id}");
                }
                checked += 1;
            }
        }
        assert!(checked > 100);
        // Re-ranked from the copy, exact distances for the final rows.
        let refined = ivf_recall(&index, &lists, &data, &queries, 20, Some(10));
        let plain = ivf_recall(&index, &lists, &data, &queries, 20, None);
        eprintln!("ivf_pq copy {dt:?}: PQ alone {plain:.3}, copy re-rank 10: {refined:.3}");
        let want = if dt == DistanceType::Dot { 0.85 } else { 0.93 };
        assert!(
            refined >= want && refined > plain,
            "{dt:?}: {refined} (PQ {plain})"
        );
        let rows = Rows(&data);
        for q in queries.chunks(DIM).take(10) {
            let mut sp = IvfSearchParams::new(K, 20);
            sp.refine_factor = Some(10);
            let r = futures::executor::block_on(index.search(q, &sp, &lists, Some(&rows))).unwrap();
            for (id, d) in r {
                let v = &data[id as usize * DIM..(id as usize + 1) * DIM];
                let exact = dt.distance(q, v);
                assert!(
                    (d - exact).abs() <= 1e-5 * exact.abs().max(1.0),
                    "{dt:?}: {d} vs {exact}"
                );
            }
        }
        // Without vectors at hand the copy's distances rank on their own.
        let mut sp = IvfSearchParams::new(K, 20);
        sp.refine_factor = Some(10);
        let q = &queries[..DIM];
        let r = futures::executor::block_on(index.search(q, &sp, &lists, None)).unwrap();
        assert_eq!(r.len(), K);
    }
    // The format before the copy: no copy section, partitions of ids and
    // codes only, refined from the exact vectors.
    let mut p = IvfBuildParams::new(N, pq(16, true));
    p.max_iterations = 20;
    p.refine_copy = false;
    let (old, lists) = build_ivf(&data, &p);
    assert!(old.copy.is_none());
    assert_eq!(old.row_bytes(), 8 + 16);
    assert_eq!(old.partitions_bytes, N as u64 * 24);
    let refined = ivf_recall(&old, &lists, &data, &queries, 20, Some(10));
    assert!(refined >= 0.93, "without the copy: {refined}");
}

/// A build that spills writes the copies where an in-memory one does.
#[test]
fn spilled_pq_build_keeps_the_copies() {
    let (data, _) = gaussian_mixture(3000, 1, DIM, 10, 9);
    let mut p = IvfBuildParams::new(3000, pq(8, true));
    p.max_iterations = 5;
    let (a, la) = build_ivf(&data, &p);
    p.spill_bytes = 1000;
    let (b, lb) = build_ivf(&data, &p);
    assert_eq!(a, b);
    assert!(a.copy.is_some());
    let all = |l: &MemoryListSource| {
        futures::executor::block_on(l.read_range(0..a.partitions_bytes)).unwrap()
    };
    assert_eq!(all(&la), all(&lb));
    assert_eq!(a.partitions_bytes, 3000 * (8 + 8 + DIM as u64));
}

fn build_hnsw(data: &[f32], storage: HnswStorage, dt: DistanceType) -> HnswIndex {
    let mut p = HnswBuildParams::new(storage);
    p.m = 16;
    p.ef_construction = 100;
    p.distance_type = dt;
    p.max_iterations = 20;
    let n = data.len() / DIM;
    let mut b = HnswBuilder::train(&p, DIM, data).unwrap();
    let all = ids(n);
    for (ids, rows) in all.chunks(5000).zip(data.chunks(5000 * DIM)) {
        b.add(ids, rows).unwrap();
    }
    let index = b.finish().unwrap();
    let bytes = index.to_bytes();
    let back = HnswIndex::from_bytes(&bytes).unwrap();
    assert!(back == index, "HNSW round trip changed the index");
    back
}

fn hnsw_recall(
    index: &HnswIndex,
    data: &[f32],
    queries: &[f32],
    ef: usize,
    refine: Option<u32>,
) -> f64 {
    let rows = Rows(data);
    recall_of(index.distance_type, data, queries, |q| {
        let mut p = HnswSearchParams::new(K, ef);
        p.refine_factor = refine;
        futures::executor::block_on(index.search(q, &p, Some(&rows))).unwrap()
    })
}

#[test]
fn hnsw_sq_and_pq_recall() {
    let (data, queries) = gaussian_mixture(N, Q, DIM, 50, 4);
    let sq = build_hnsw(&data, HnswStorage::Sq, DistanceType::L2);
    let r_sq = hnsw_recall(&sq, &data, &queries, 64, None);
    let flat = build_hnsw(&data, HnswStorage::Flat, DistanceType::L2);
    let r_flat = hnsw_recall(&flat, &data, &queries, 64, None);
    let pq = build_hnsw(
        &data,
        HnswStorage::Pq {
            num_sub_vectors: 16,
            num_bits: 8,
        },
        DistanceType::L2,
    );
    let r_pq = hnsw_recall(&pq, &data, &queries, 64, Some(10));
    let (lr, lq) = low_rank(N, Q, DIM, 8, 5);
    let cos = build_hnsw(&lr, HnswStorage::Sq, DistanceType::Cosine);
    let r_cos = hnsw_recall(&cos, &lr, &lq, 64, None);
    eprintln!(
        "hnsw sq {r_sq:.3} flat {r_flat:.3} pq+refine {r_pq:.3} sq cosine low-rank {r_cos:.3}"
    );
    // ef = 64 over a well-connected graph: SQ's quantisation error is far
    // below neighbour gaps here, PQ is rescued by the exact re-rank.
    assert!(r_sq >= 0.9, "sq {r_sq}");
    assert!(r_flat >= 0.93, "flat {r_flat}");
    assert!(r_pq >= 0.9, "pq {r_pq}");
    assert!(r_cos >= 0.85, "cosine {r_cos}");
}

#[test]
fn prefilter_never_returns_a_filtered_row() {
    let (data, queries) = gaussian_mixture(5000, 20, DIM, 20, 6);
    let keep = |id: u64| id % 7 == 3;
    let (ivf, lists) = build_ivf(&data, &IvfBuildParams::new(5000, Codec::Flat));
    let hnsw = build_hnsw(&data, HnswStorage::Sq, DistanceType::L2);
    let truth = exact_knn(DistanceType::L2, &data, &queries, DIM, K, Some(&keep));
    let (mut fi, mut fh) = (Vec::new(), Vec::new());
    for q in queries.chunks(DIM) {
        let mut p = IvfSearchParams::new(K, 71);
        p.filter = Some(&keep);
        let r = futures::executor::block_on(ivf.search(q, &p, &lists, None)).unwrap();
        let mut h = HnswSearchParams::new(K, 64);
        h.filter = Some(&keep);
        let rh = futures::executor::block_on(hnsw.search(q, &h, None)).unwrap();
        assert!(r.iter().chain(&rh).all(|(id, _)| keep(*id)), "{r:?} {rh:?}");
        assert_eq!(r.len(), K);
        assert_eq!(rh.len(), K);
        fi.push(r.into_iter().map(|x| x.0).collect());
        fh.push(rh.into_iter().map(|x| x.0).collect());
    }
    // All partitions probed: the filtered IVF-Flat search is exact.
    assert_eq!(recall(&truth, &fi), 1.0);
    assert!(recall(&truth, &fh) >= 0.85, "{}", recall(&truth, &fh));
}

#[test]
fn layout_round_trips_and_reads_each_partition_once() {
    let (data, queries) = gaussian_mixture(4000, 5, DIM, 10, 8);
    let mut p = IvfBuildParams::new(4000, pq(8, true));
    p.max_iterations = 10;
    let (index, lists) = build_ivf(&data, &p);
    assert_eq!(IvfIndex::from_bytes(&index.to_bytes()).unwrap(), index);
    assert_eq!(
        index.partitions.iter().map(|e| e.count as u64).sum::<u64>(),
        4000
    );
    // Partitions are contiguous in partition order, each 8 + code bytes a row.
    let mut at = 0;
    for (i, e) in index.partitions.iter().enumerate() {
        assert_eq!(e.offset, at);
        at = index.partition_range(i).end;
    }
    assert_eq!(at, index.partitions_bytes);
    let q = &queries[..DIM];
    let plan = index.plan(q, 10, 0).unwrap();
    assert!(plan.reads.len() <= 10);
    let all = index.plan(q, 10_000, 0).unwrap();
    assert_eq!(all.reads.len(), 1, "every partition probed: one read");
    let before = lists.reads();
    futures::executor::block_on(index.search(q, &IvfSearchParams::new(K, 10), &lists, None))
        .unwrap();
    assert_eq!(lists.reads() - before, plan.reads.len());

    // A flipped byte in the metadata or in a partition is caught.
    let mut meta = index.to_bytes();
    meta[40] ^= 1;
    assert_eq!(
        IvfIndex::from_bytes(&meta).unwrap_err().code(),
        "CORRUPT_TABLE"
    );
    let mut parts = futures::executor::block_on(lists.read_range(0..index.partitions_bytes))
        .unwrap()
        .to_vec();
    let probed = plan.probes[0].0 as usize;
    parts[index.partition_range(probed).start as usize + 3] ^= 1;
    let err = futures::executor::block_on(index.search(
        q,
        &IvfSearchParams::new(K, 10),
        &MemoryListSource::new(parts),
        None,
    ))
    .unwrap_err();
    assert_eq!(err.code(), "CORRUPT_TABLE");
    let mut h =
        HnswIndex::from_bytes(&build_hnsw(&data, HnswStorage::Sq, DistanceType::L2).to_bytes())
            .unwrap()
            .to_bytes();
    h[100] ^= 4;
    assert_eq!(
        HnswIndex::from_bytes(&h).unwrap_err().code(),
        "CORRUPT_TABLE"
    );
}

#[test]
fn spilled_build_writes_the_same_objects() {
    let (data, _) = gaussian_mixture(3000, 1, DIM, 10, 9);
    let mut p = IvfBuildParams::new(3000, Codec::Flat);
    let (a, la) = build_ivf(&data, &p);
    // 3000 rows a batch of 264 bytes each: every batch spills.
    p.spill_bytes = 1000;
    let (b, lb) = build_ivf(&data, &p);
    assert_eq!(a, b);
    let all = |l: &MemoryListSource| {
        futures::executor::block_on(l.read_range(0..a.partitions_bytes)).unwrap()
    };
    assert_eq!(all(&la), all(&lb));
}

#[test]
fn rejects_bad_options_with_the_option_name() {
    let (data, _) = gaussian_mixture(300, 1, DIM, 3, 10);
    let mut p = IvfBuildParams::new(300, Codec::Flat);
    p.num_partitions = 301;
    let e = IvfBuilder::train(&p, DIM, &data).err().unwrap();
    assert!(e.to_string().contains("numPartitions (301)"), "{e}");
    let p = IvfBuildParams::new(300, pq(7, true));
    let e = IvfBuilder::train(&p, DIM, &data).err().unwrap();
    assert!(e.to_string().contains("numSubVectors (7)"), "{e}");
    let mut h = HnswBuildParams::new(HnswStorage::Sq);
    h.m = 1;
    assert!(HnswBuilder::train(&h, DIM, &data)
        .err()
        .unwrap()
        .to_string()
        .contains("m must be"));
}

/// `indexStats().loss`: the k-means loss of the IVF training, the sum of
/// squared distances of the sample to its centroids at the last pass.
#[test]
fn ivf_training_reports_its_kmeans_loss() {
    let (data, _) = gaussian_mixture(4000, 0, DIM, 20, 9);
    let final_loss = |k: usize| {
        let mut p = IvfBuildParams::new(4000, Codec::Flat);
        p.num_partitions = k;
        p.sample_rate = 4000; // the whole set is the sample
        let b = IvfBuilder::train(&p, DIM, &data).unwrap();
        let loss = b.loss().unwrap();
        let mut parts = Vec::new();
        let index = b.finish(&mut parts).unwrap();
        // The loss of the final centroids is at most the last pass's (Lloyd
        // never increases it) and, converged, close to it.
        let exact: f64 = data
            .chunks(DIM)
            .map(|v| distance::nearest_l2(v, &index.ivf.centroids).1 as f64)
            .sum();
        assert!(exact <= loss * 1.0001, "k {k}: {exact} > {loss}");
        assert!(exact >= loss * 0.95, "k {k}: {exact} << {loss}");
        loss
    };
    let (coarse, fine) = (final_loss(4), final_loss(40));
    assert!(fine < coarse, "{fine} >= {coarse}");
    let from = IvfBuilder::from_index(
        &IvfBuilder::train(&IvfBuildParams::new(4000, Codec::Flat), DIM, &data)
            .unwrap()
            .finish(&mut Vec::new())
            .unwrap(),
        1 << 20,
    );
    assert_eq!(from.loss(), None);
}

/// Build time and recall of HNSW-SQ at the benchmark's size and defaults
/// (m 20, efConstruction 150 or `HNSW_EFC`, 100k × 128 or `HNSW_ROWS`),
/// printed; never timed in CI:
/// `STRESS=1 node scripts/cargo.js test hnsw_build_at_scale --nocapture`.
#[test]
fn hnsw_build_at_scale() {
    if std::env::var("STRESS").is_err() {
        return;
    }
    let n: usize = std::env::var("HNSW_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dim = 128;
    let (data, queries) = gaussian_mixture(n, 200, dim, 100, 11);
    let mut p = HnswBuildParams::new(HnswStorage::Sq);
    if let Some(ef) = std::env::var("HNSW_EFC").ok().and_then(|s| s.parse().ok()) {
        p.ef_construction = ef;
    }
    let t0 = std::time::Instant::now();
    let mut b = HnswBuilder::train(&p, dim, &data[..65536.min(n) * dim]).unwrap();
    let all = ids(n);
    for (ids, rows) in all.chunks(8192).zip(data.chunks(8192 * dim)) {
        b.add(ids, rows).unwrap();
    }
    let t1 = std::time::Instant::now();
    let index = b.finish().unwrap();
    let t2 = std::time::Instant::now();
    let truth = exact_knn(DistanceType::L2, &data, &queries, dim, K, None);
    for ef in [16, 32, 64] {
        let found: Vec<Vec<u64>> = queries
            .chunks(dim)
            .map(|q| {
                index
                    .search_candidates(q, ef, K, None)
                    .unwrap()
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect()
            })
            .collect();
        eprintln!(
            "ef {ef}: recall@10 {:.3} (SQ codes, no refine)",
            recall(&truth, &found)
        );
    }
    eprintln!(
        "hnsw build {n} x {dim}: encode {:.2} s, graph {:.2} s",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64()
    );
}
