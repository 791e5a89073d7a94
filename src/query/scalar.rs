//! Filters through scalar indexes (BTREE, BITMAP): for the fragments an
//! index covers, the candidate rows of each indexed AND term of the filter
//! (intersected when several terms have indexes); the caller evaluates the
//! whole filter on those rows only. Fragments no index covers are scanned.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use super::filter::CompiledFilter;
use crate::error::{Error, Result};
use crate::format::index::{IndexKind, IndexSegment};
use crate::format::Snapshot;
use crate::index::scalar::{ScalarIndex, Shape, ROWS, VALUES};

type Cache = Mutex<HashMap<String, Arc<ScalarIndex>>>;

fn cache() -> &'static Cache {
    static C: OnceLock<Cache> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

async fn get(snap: &Snapshot, seg: &IndexSegment, name: &str) -> Result<bytes::Bytes> {
    use object_store::ObjectStoreExt;
    let rel = seg
        .files
        .iter()
        .find(|f| f.path.rsplit('/').next() == Some(name))
        .map(|f| f.path.clone())
        .ok_or_else(|| Error::Corrupt {
            table: "(index entry)".into(),
            reason: format!("scalar index segment {} has no {name}", seg.uuid),
        })?;
    let p = snap.path(&rel);
    let what = || format!("Reading scalar index object {p}");
    let r = snap
        .store
        .store
        .get(&p)
        .await
        .map_err(|e| snap.store.error(e, what()))?;
    r.bytes().await.map_err(|e| snap.store.error(e, what()))
}

/// A segment's index, read once per process (segments are immutable).
pub(crate) async fn open(snap: &Snapshot, seg: &IndexSegment) -> Result<Arc<ScalarIndex>> {
    let key = format!("{}|{}|{}", snap.store.display_uri, snap.dir, seg.uuid);
    if let Some(s) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(s);
    }
    let (v, r) = futures::try_join!(get(snap, seg, VALUES), get(snap, seg, ROWS))?;
    let idx = Arc::new(ScalarIndex::open(&v, &r)?);
    if let Ok(mut c) = cache().lock() {
        if c.len() >= 256 {
            c.clear();
        }
        c.insert(key, idx.clone());
    }
    Ok(idx)
}

/// Candidate row offsets per covered fragment id; `None` when no AND term
/// of the filter has a scalar index.
pub(crate) async fn candidates(
    snap: &Snapshot,
    pred: &CompiledFilter,
) -> Result<Option<HashMap<u64, Vec<u32>>>> {
    let scalar: Vec<_> = snap
        .manifest
        .indices
        .iter()
        .filter(|e| matches!(e.kind, IndexKind::BTree | IndexKind::Bitmap))
        .collect();
    if scalar.is_empty() {
        return Ok(None);
    }
    let mut out: Option<HashMap<u64, BTreeSet<u32>>> = None;
    for t in pred.index_terms(&snap.schema) {
        let Some(entry) = scalar.iter().find(|e| e.columns.first() == Some(&t.column)) else {
            continue;
        };
        // Rows of this term per covered fragment (every covered fragment
        // gets an entry, possibly empty).
        let mut here: HashMap<u64, BTreeSet<u32>> = HashMap::new();
        for seg in &entry.segments {
            for f in snap
                .manifest
                .fragments
                .iter()
                .filter(|f| seg.fragments.contains(f.id))
            {
                here.entry(f.id).or_default();
            }
            if seg.fragments.is_empty() {
                continue;
            }
            // An index that cannot be read (objects missing or damaged)
            // answers nothing: its fragments are scanned, and the results
            // stay right.
            let idx = match open(snap, seg).await {
                Ok(i) => i,
                Err(e) => {
                    tracing::warn!("scalar index {} not used: {e}", entry.name);
                    for f in snap
                        .manifest
                        .fragments
                        .iter()
                        .filter(|f| seg.fragments.contains(f.id))
                    {
                        here.remove(&f.id);
                    }
                    continue;
                }
            };
            let pass = |b: &arrow_array::RecordBatch| t.term.evaluate(b);
            let rows = match &t.range {
                Some((lo, hi)) => {
                    let lo_f = lo
                        .as_ref()
                        .map(|f| move |b: &arrow_array::RecordBatch| f.evaluate(b));
                    let hi_f = hi
                        .as_ref()
                        .map(|f| move |b: &arrow_array::RecordBatch| f.evaluate(b));
                    idx.matching(
                        &t.column,
                        &pass,
                        Shape::Range {
                            lower: lo_f.as_ref().map(|f| f as &dyn Fn(&_) -> _),
                            upper: hi_f.as_ref().map(|f| f as &dyn Fn(&_) -> _),
                        },
                    )?
                }
                None => idx.matching(&t.column, &pass, Shape::Any)?,
            };
            for r in rows {
                let fid = r >> 32;
                if let Some(s) = here.get_mut(&fid) {
                    s.insert((r & 0xffff_ffff) as u32);
                }
            }
        }
        out = Some(match out {
            None => here,
            Some(prev) => {
                // Intersect on fragments both cover; a fragment only one
                // term's index covers keeps that term's candidates.
                let mut merged = prev;
                for (fid, rows) in here {
                    match merged.get_mut(&fid) {
                        Some(p) => *p = p.intersection(&rows).copied().collect(),
                        None => {
                            merged.insert(fid, rows);
                        }
                    }
                }
                merged
            }
        });
    }
    Ok(out.map(|m| {
        m.into_iter()
            .map(|(k, v)| (k, v.into_iter().collect()))
            .collect()
    }))
}
