//! Filters through scalar indexes (BTREE, BITMAP; LABEL_LIST for
//! `array_has_any` / `array_has_all` / `array_has`): for the fragments an
//! index covers, the candidate rows of each indexed AND term of the filter
//! (intersected when several terms have indexes); the caller evaluates the
//! whole filter on those rows only. Fragments no index covers are scanned.

use std::collections::{BTreeSet, HashMap};

use arrow_array::Array;
use std::sync::Arc;

use super::filter::plan::IndexTerm;
use super::filter::CompiledFilter;
use super::segments::{read_object, SegmentCache};
use crate::error::Result;
use crate::format::index::{IndexEntry, IndexKind, IndexSegment};
use crate::format::Snapshot;
use crate::index::scalar::{ScalarIndex, Shape, ROWS, VALUES};

static OPENED: SegmentCache<ScalarIndex> = SegmentCache::new();

/// A segment's index, read once per process (segments are immutable).
pub(crate) async fn open(snap: &Snapshot, seg: &IndexSegment) -> Result<Arc<ScalarIndex>> {
    OPENED
        .get_or_open(snap, seg, async {
            let (v, r) = futures::try_join!(
                read_object(snap, seg, VALUES, "scalar"),
                read_object(snap, seg, ROWS, "scalar")
            )?;
            ScalarIndex::open(&v, &r)
        })
        .await
}

fn scalar_entries(snap: &Snapshot) -> Vec<&IndexEntry> {
    snap.manifest
        .indices
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                IndexKind::BTree | IndexKind::Bitmap | IndexKind::LabelList
            )
        })
        .collect()
}

/// The index that answers `t`: a list-membership term needs a LABEL_LIST
/// index, any other term a BTREE or BITMAP one; `array_has_all(col, [])`
/// narrows nothing.
fn index_for<'a>(scalar: &[&'a IndexEntry], t: &IndexTerm) -> Option<&'a IndexEntry> {
    let want_labels = t.labels.is_some();
    if t.labels.as_ref().is_some_and(|l| l.needles.is_empty()) {
        return None;
    }
    scalar.iter().copied().find(|e| {
        e.columns.first() == Some(&t.column) && (e.kind == IndexKind::LabelList) == want_labels
    })
}

/// For explainPlan: which index answers which AND term of `pred` and on
/// how many data files (no I/O).
pub(crate) fn describe(snap: &Snapshot, pred: &CompiledFilter) -> Vec<String> {
    let scalar = scalar_entries(snap);
    if scalar.is_empty() {
        return Vec::new();
    }
    let files = &snap.manifest.fragments;
    let mut out = Vec::new();
    for t in pred.index_terms(&snap.schema) {
        let Some(e) = index_for(&scalar, &t) else {
            continue;
        };
        let covered = files.iter().filter(|f| e.covers(f.id)).count();
        out.push(format!(
            "Scalar index {} ({}) on '{}' answers {} for {} of {} data file(s); the filter is then evaluated on those rows only, other files are scanned",
            e.name,
            e.kind.list_name(),
            crate::error::quote(&t.column),
            t.term.describe(),
            covered,
            files.len()
        ));
    }
    out
}

/// Columns `idx` (plus `_rowid`) of the live rows among `offsets` (sorted)
/// of `frag`; `None` when none is live.
pub(crate) async fn read_live_rows(
    snap: &Snapshot,
    frag: &crate::format::manifest::Fragment,
    idx: &[usize],
    offsets: &[u32],
) -> Result<Option<arrow_array::RecordBatch>> {
    let live: Vec<u32> = match super::deleted_offsets(snap, frag).await? {
        Some(del) => offsets
            .iter()
            .copied()
            .filter(|o| del.binary_search(o).is_err())
            .collect(),
        None => offsets.to_vec(),
    };
    if live.is_empty() {
        return Ok(None);
    }
    Ok(Some(super::read_rows(snap, frag, idx, &live, true).await?))
}

/// For `mergeInsert`'s key lookup: with a BTREE or BITMAP index on the one
/// key column, the offsets per covered fragment of the rows whose key equals
/// one of `keys` (the index's sort order decides equality, the same total
/// order the merge's row encoding compares by). `None` without such an
/// index or when it cannot be read.
pub(crate) async fn rows_with_keys(
    snap: &Snapshot,
    column: &str,
    keys: &arrow_array::ArrayRef,
) -> Result<Option<HashMap<u64, Vec<u32>>>> {
    let Some(entry) = scalar_entries(snap).into_iter().find(|e| {
        matches!(e.kind, IndexKind::BTree | IndexKind::Bitmap)
            && e.columns.first().map(String::as_str) == Some(column)
    }) else {
        return Ok(None);
    };
    let opts = arrow_schema::SortOptions {
        descending: false,
        nulls_first: false,
    };
    let mut out: HashMap<u64, Vec<u32>> = HashMap::new();
    for seg in &entry.segments {
        let idx = match open(snap, seg).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!("scalar index {} not used: {e}", entry.name);
                return Ok(None);
            }
        };
        if idx.values.data_type() != keys.data_type() {
            return Ok(None);
        }
        for f in snap
            .manifest
            .fragments
            .iter()
            .filter(|f| seg.fragments.contains(f.id))
        {
            out.entry(f.id).or_default();
        }
        let cmp = arrow_ord::ord::make_comparator(idx.values.as_ref(), keys.as_ref(), opts)?;
        let n = idx.values.len();
        for k in 0..keys.len() {
            if keys.is_null(k) {
                continue;
            }
            // First value not below the key.
            let (mut lo, mut hi) = (0usize, n);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if cmp(mid, k) == std::cmp::Ordering::Less {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if lo < n && cmp(lo, k) == std::cmp::Ordering::Equal {
                let s = idx.starts[lo] as usize;
                for r in &idx.rows[s..s + idx.counts[lo] as usize] {
                    if let Some(v) = out.get_mut(&(r >> 32)) {
                        v.push((r & 0xffff_ffff) as u32);
                    }
                }
            }
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    Ok(Some(out))
}

type Range = Option<(Option<CompiledFilter>, Option<CompiledFilter>)>;

/// The row ids of the index values `pass` accepts, by binary search when
/// the term has a sorted-values range.
fn lookup(
    idx: &ScalarIndex,
    column: &str,
    pass: &dyn Fn(&arrow_array::RecordBatch) -> Result<arrow_array::BooleanArray>,
    range: &Range,
) -> Result<Vec<u64>> {
    match range {
        Some((lo, hi)) => {
            let lo_f = lo
                .as_ref()
                .map(|f| move |b: &arrow_array::RecordBatch| f.evaluate(b));
            let hi_f = hi
                .as_ref()
                .map(|f| move |b: &arrow_array::RecordBatch| f.evaluate(b));
            idx.matching(
                column,
                pass,
                Shape::Range {
                    lower: lo_f.as_ref().map(|f| f as &dyn Fn(&_) -> _),
                    upper: hi_f.as_ref().map(|f| f as &dyn Fn(&_) -> _),
                },
            )
        }
        None => idx.matching(column, pass, Shape::Any),
    }
}

/// Both sorted, deduplicated.
fn sorted_intersection(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Candidate row offsets per covered fragment id; `None` when no AND term
/// of the filter has a scalar index.
pub(crate) async fn candidates(
    snap: &Snapshot,
    pred: &CompiledFilter,
) -> Result<Option<HashMap<u64, Vec<u32>>>> {
    let scalar = scalar_entries(snap);
    if scalar.is_empty() {
        return Ok(None);
    }
    let mut out: Option<HashMap<u64, BTreeSet<u32>>> = None;
    for t in pred.index_terms(&snap.schema) {
        let Some(entry) = index_for(&scalar, &t) else {
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
            let rows = match &t.labels {
                None => {
                    let pass = |b: &arrow_array::RecordBatch| t.term.evaluate(b);
                    lookup(&idx, &t.column, &pass, &t.range)?
                }
                Some(labels) => {
                    // Rows holding each needle, then their union (any) or
                    // intersection (all).
                    let mut acc: Option<Vec<u64>> = None;
                    for n in &labels.needles {
                        let rows = if matches!(n.value, crate::query::filter::Literal::Null) {
                            idx.null_rows.clone()
                        } else {
                            let pass = |b: &arrow_array::RecordBatch| {
                                pred.element_matches(b.column(0), &n.value)
                            };
                            lookup(&idx, &t.column, &pass, &n.range)?
                        };
                        acc = Some(match acc {
                            None => rows,
                            Some(prev) if labels.all => sorted_intersection(&prev, &rows),
                            Some(mut prev) => {
                                prev.extend(rows);
                                prev.sort_unstable();
                                prev.dedup();
                                prev
                            }
                        });
                    }
                    acc.unwrap_or_default()
                }
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
