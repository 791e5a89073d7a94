//! Writes that change existing rows: delete, update and merge-insert. Each
//! computes a [`Rewrite`] against one base version. On a commit conflict the
//! rewrite is re-applied to the new latest version when the files it touched
//! are unchanged there; otherwise the whole operation runs again on the new
//! version (re-evaluating its predicate), which is what a serial execution
//! would have done.

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::SchemaRef;
use object_store::path::Path;
use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::format::datafile::write_fragment;
use crate::format::deletion;
use crate::format::manifest::{Fragment, Manifest, Operation};
use crate::format::{row_offsets, Snapshot};
use crate::query::{self, filter, Slice};
use crate::storage::StoreHandle;

/// A change computed against a base version.
#[derive(Debug, Default)]
pub(crate) struct Rewrite {
    /// Fragments as they were in the base, for the ones this change touches.
    pub touched: Vec<Fragment>,
    /// New state of touched fragments (`None`: every row deleted, drop it).
    pub replaced: HashMap<u64, Option<Fragment>>,
    /// New data files.
    pub added: Vec<Fragment>,
    pub operation: Option<Operation>,
}

impl Rewrite {
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty() && self.added.is_empty()
    }

    /// Objects this change wrote, to delete if it is abandoned.
    pub fn written_files(&self) -> Vec<String> {
        let mut files: Vec<String> = self.added.iter().map(|f| f.path.clone()).collect();
        for f in self.replaced.values().flatten() {
            if let Some(d) = &f.deletion {
                files.push(d.path.clone());
            }
        }
        files
    }

    /// The fragments after this change on `base` and the next fragment id,
    /// or `None` when `base` changed a fragment this rewrite touched (the
    /// rewrite is stale and must be planned again).
    pub fn apply(&self, base: &Manifest) -> Option<(Vec<Fragment>, u64)> {
        if !self.touched.iter().all(|t| base.fragments.contains(t)) {
            return None;
        }
        let mut fragments = Vec::with_capacity(base.fragments.len() + self.added.len());
        for f in &base.fragments {
            match self.replaced.get(&f.id) {
                Some(Some(new)) => fragments.push(new.clone()),
                Some(None) => {}
                None => fragments.push(f.clone()),
            }
        }
        let mut next_id = base.next_fragment_id;
        for f in &self.added {
            let mut f = f.clone();
            f.id = next_id;
            next_id += 1;
            fragments.push(f);
        }
        Some((fragments, next_id))
    }
}

/// Deletes `sql`-matching rows (all rows when `None`) from `base`, given
/// per-fragment offsets to delete.
async fn delete_offsets(
    store: &StoreHandle,
    dir: &Path,
    frag: &Fragment,
    offsets: &[u32],
    rw: &mut Rewrite,
) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let old = match &frag.deletion {
        Some(d) => deletion::read(store, dir, d).await?,
        None => Vec::new(),
    };
    let all = deletion::union(&old, offsets);
    rw.touched.push(frag.clone());
    if all.len() as u64 >= frag.rows {
        rw.replaced.insert(frag.id, None);
    } else {
        let d = deletion::write(store, dir, &all).await?;
        rw.replaced.insert(
            frag.id,
            Some(Fragment {
                deletion: Some(d),
                ..frag.clone()
            }),
        );
    }
    Ok(())
}

fn all_columns(schema: &SchemaRef) -> Vec<usize> {
    (0..schema.fields().len()).collect()
}

pub(crate) async fn plan_delete(snap: &Snapshot, sql: &str) -> Result<Rewrite> {
    let (store, dir, base, schema) = snap.parts();
    let pred = filter::CompiledFilter::new(sql, schema)?;
    let mut rw = Rewrite::default();
    let mut deleted = 0u64;
    // Scalar indexes narrow the rows the predicate is evaluated on (issue 12).
    let cands = query::scalar::candidates(snap, &pred).await?;
    for frag in &base.fragments {
        let c = cands.as_ref().and_then(|c| c.get(&frag.id));
        let offsets = query::passing_offsets(snap, frag, &pred, c).await?;
        deleted += offsets.len() as u64;
        delete_offsets(store, dir, frag, &offsets, &mut rw).await?;
    }
    rw.operation = Some(Operation::Delete { rows: deleted });
    Ok(rw)
}

/// `assignments`: column -> SQL expression over the row's old values.
pub(crate) async fn plan_update(
    snap: &Snapshot,
    predicate: Option<&str>,
    assignments: &[(String, String)],
) -> Result<Rewrite> {
    let (store, dir, base, schema) = snap.parts();
    let pred = filter::CompiledFilter::optional(predicate, schema)?;
    if assignments.is_empty() {
        return Err(Error::invalid_argument(
            "update needs at least one column to set (values or valuesSql)",
        ));
    }
    let mut sets = Vec::new();
    for (col, sql) in assignments {
        let i = schema.index_of(col).map_err(|_| {
            Error::invalid_argument(format!(
                "cannot update column '{}': it does not exist; the table has: {}",
                crate::error::quote(col),
                query::column_names(schema)
            ))
        })?;
        sets.push((i, sql.as_str(), filter::CompiledFilter::new(sql, schema)?));
    }
    let mut rw = Rewrite::default();
    let mut updated: Vec<RecordBatch> = Vec::new();
    for frag in &base.fragments {
        let slice = Slice::whole(frag);
        let mut offsets = Vec::new();
        for b in query::read_slice(snap, &slice, &all_columns(schema), true).await? {
            let hit = match &pred {
                Some(p) => arrow_select::filter::filter_record_batch(&b, &p.evaluate(&b)?)?,
                None => b,
            };
            if hit.num_rows() == 0 {
                continue;
            }
            offsets.extend(row_offsets(&hit)?);
            let mut cols: Vec<ArrayRef> = (0..schema.fields().len())
                .map(|i| hit.column(i).clone())
                .collect();
            for (i, sql, set) in &sets {
                let field = schema.field(*i);
                let v = set.evaluate_value(&hit)?;
                let opts = arrow_cast::CastOptions {
                    safe: false,
                    ..Default::default()
                };
                let v = if v.data_type() == field.data_type() {
                    v
                } else {
                    arrow_cast::cast_with_options(&v, field.data_type(), &opts).map_err(|err| {
                        Error::invalid_argument(format!(
                            "cannot set column '{}' ({}) to {}: {}",
                            field.name(),
                            field.data_type(),
                            crate::error::quote(sql),
                            crate::error::quote(&err.to_string())
                        ))
                    })?
                };
                if !field.is_nullable() && v.null_count() > 0 {
                    return Err(Error::SchemaMismatch(format!(
                        "column '{}' does not allow nulls",
                        field.name()
                    )));
                }
                cols[*i] = v;
            }
            updated.push(RecordBatch::try_new(schema.clone(), cols)?);
        }
        delete_offsets(store, dir, frag, &offsets, &mut rw).await?;
    }
    let rows: u64 = updated.iter().map(|b| b.num_rows() as u64).sum();
    if let Some(f) = write_fragment(store, dir, schema, &updated).await? {
        rw.added.push(f);
    }
    rw.operation = Some(Operation::Update { rows });
    Ok(rw)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct MergeFlags {
    pub when_matched_update_all: bool,
    pub when_not_matched_insert_all: bool,
    pub when_not_matched_by_source_delete: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeStats {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

pub(crate) async fn plan_merge(
    snap: &Snapshot,
    on: &[String],
    flags: MergeFlags,
    source: &[RecordBatch],
) -> Result<(Rewrite, MergeStats)> {
    let (store, dir, base, schema) = snap.parts();
    if on.is_empty() {
        return Err(Error::invalid_argument(
            "mergeInsert needs at least one key column",
        ));
    }
    let key_idx: Vec<usize> = on
        .iter()
        .map(|c| {
            schema.index_of(c).map_err(|_| {
                Error::invalid_argument(format!("merge key column '{c}' does not exist"))
            })
        })
        .collect::<Result<_>>()?;
    let key_fields: Vec<arrow_row::SortField> = key_idx
        .iter()
        .map(|i| arrow_row::SortField::new(schema.field(*i).data_type().clone()))
        .collect();
    let converter = arrow_row::RowConverter::new(key_fields)?;
    let source = arrow_select::concat::concat_batches(schema, source)?;
    let src_keys = converter.convert_columns(
        &key_idx
            .iter()
            .map(|i| source.column(*i).clone())
            .collect::<Vec<_>>(),
    )?;
    let src_has_null: Vec<bool> = (0..source.num_rows())
        .map(|r| key_idx.iter().any(|i| source.column(*i).is_null(r)))
        .collect();
    let mut by_key: HashMap<Vec<u8>, usize> = HashMap::with_capacity(source.num_rows());
    for (r, has_null) in src_has_null.iter().enumerate() {
        if *has_null {
            continue;
        }
        if by_key
            .insert(src_keys.row(r).as_ref().to_vec(), r)
            .is_some()
        {
            return Err(Error::invalid_argument(format!(
                "mergeInsert: the new data has several rows with the same key ({}); keys must be unique",
                on.join(", ")
            )));
        }
    }
    let mut matched = vec![false; source.num_rows()];
    let mut rw = Rewrite::default();
    let mut stats = MergeStats::default();
    for frag in &base.fragments {
        let slice = Slice::whole(frag);
        let mut offsets = Vec::new();
        for b in query::read_slice(snap, &slice, &key_idx, true).await? {
            // read_slice returns the key columns in table order.
            let mut sorted = key_idx.clone();
            sorted.sort_unstable();
            let cols: Vec<ArrayRef> = key_idx
                .iter()
                .map(|i| b.column(sorted.binary_search(i).unwrap_or(0)).clone())
                .collect();
            let keys = converter.convert_columns(&cols)?;
            let offs = row_offsets(&b)?;
            for (r, off) in offs.iter().enumerate() {
                let null = cols.iter().any(|c| c.is_null(r));
                let hit = if null {
                    None
                } else {
                    by_key.get(keys.row(r).as_ref())
                };
                match hit {
                    Some(&src) => {
                        if matched[src] && flags.when_matched_update_all {
                            return Err(Error::invalid_argument(
                                "mergeInsert: a key of the new data matches several rows of the table; cannot update ambiguously",
                            ));
                        }
                        matched[src] = true;
                        if flags.when_matched_update_all {
                            offsets.push(*off);
                            stats.updated += 1;
                        }
                    }
                    None if flags.when_not_matched_by_source_delete => {
                        offsets.push(*off);
                        stats.deleted += 1;
                    }
                    None => {}
                }
            }
        }
        offsets.sort_unstable();
        delete_offsets(store, dir, frag, &offsets, &mut rw).await?;
    }
    let keep: BooleanArray = (0..source.num_rows())
        .map(|r| {
            Some(if matched[r] {
                flags.when_matched_update_all
            } else {
                flags.when_not_matched_insert_all
            })
        })
        .collect();
    let to_write = arrow_select::filter::filter_record_batch(&source, &keep)?;
    stats.inserted = to_write.num_rows() as u64 - stats.updated;
    if let Some(f) = write_fragment(store, dir, schema, &[to_write]).await? {
        rw.added.push(f);
    }
    rw.operation = Some(Operation::Merge {
        inserted: stats.inserted,
        updated: stats.updated,
        deleted: stats.deleted,
    });
    Ok((rw, stats))
}

/// Data files smaller than this (live rows) are merged by compaction.
pub const COMPACT_TARGET_ROWS: u64 = 1024 * 1024;

/// Merges small data files and files with deletions into as few files as
/// possible, each up to [`COMPACT_TARGET_ROWS`] rows.
pub(crate) async fn plan_compact(snap: &Snapshot) -> Result<Rewrite> {
    let (store, dir, base, schema) = snap.parts();
    let candidates: Vec<&Fragment> = base
        .fragments
        .iter()
        .filter(|f| f.live_rows() < COMPACT_TARGET_ROWS || f.deletion.is_some())
        .collect();
    let worth_it = candidates.len() >= 2 || candidates.iter().any(|f| f.deletion.is_some());
    let mut rw = Rewrite::default();
    if !worth_it {
        return Ok(rw);
    }
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut pending_rows = 0u64;
    for frag in &candidates {
        for b in query::read_slice(snap, &Slice::whole(frag), &all_columns(schema), false).await? {
            pending_rows += b.num_rows() as u64;
            pending.push(b);
            if pending_rows >= COMPACT_TARGET_ROWS {
                if let Some(f) =
                    write_fragment(store, dir, schema, &std::mem::take(&mut pending)).await?
                {
                    rw.added.push(f);
                }
                pending_rows = 0;
            }
        }
        rw.touched.push((*frag).clone());
        rw.replaced.insert(frag.id, None);
    }
    if let Some(f) = write_fragment(store, dir, schema, &pending).await? {
        rw.added.push(f);
    }
    rw.operation = Some(Operation::Compact {
        fragments_removed: candidates.len() as u64,
        fragments_added: rw.added.len() as u64,
    });
    Ok(rw)
}
