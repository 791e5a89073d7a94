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
    /// The schema it was planned on: a rewrite whose base's schema changed
    /// since (schema evolution) is planned again.
    pub planned: Option<super::evolve::PlannedOn>,
}

impl Rewrite {
    fn on(snap: &Snapshot) -> Self {
        Rewrite {
            planned: Some(super::evolve::PlannedOn::of(snap)),
            ..Default::default()
        }
    }

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
    let mut rw = Rewrite::on(snap);
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

/// `assignments`: column -> SQL expression over the row's old values;
/// `values`: a one-row batch of typed values set as they are (lists,
/// binary and other values SQL cannot write), in the table's types.
pub(crate) async fn plan_update(
    snap: &Snapshot,
    predicate: Option<&str>,
    assignments: &[(String, String)],
    values: Option<&RecordBatch>,
) -> Result<Rewrite> {
    let (store, dir, base, schema) = snap.parts();
    let pred = filter::CompiledFilter::optional(predicate, schema)?;
    let mut constants: Vec<(usize, ArrayRef)> = Vec::new();
    if let Some(v) = values {
        if v.num_rows() != 1 {
            return Err(Error::invalid_argument("update values must be one row"));
        }
        for (k, f) in v.schema().fields().iter().enumerate() {
            let i = schema.index_of(f.name()).map_err(|_| {
                Error::invalid_argument(format!(
                    "cannot update column '{}': it does not exist; the table has: {}",
                    crate::error::quote(f.name()),
                    query::column_names(schema)
                ))
            })?;
            if f.data_type() != schema.field(i).data_type() {
                return Err(Error::SchemaMismatch(format!(
                    "column '{}' is {} but the value is {}",
                    f.name(),
                    schema.field(i).data_type(),
                    f.data_type()
                )));
            }
            if !schema.field(i).is_nullable() && v.column(k).null_count() > 0 {
                return Err(Error::SchemaMismatch(format!(
                    "column '{}' does not allow nulls",
                    f.name()
                )));
            }
            constants.push((i, v.column(k).clone()));
        }
    }
    if assignments.is_empty() && constants.is_empty() {
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
    let mut rw = Rewrite::on(snap);
    let mut updated: Vec<RecordBatch> = Vec::new();
    // Scalar indexes narrow the rows read (issue 12); the predicate is still
    // evaluated on them.
    let cands = match &pred {
        Some(p) => query::scalar::candidates(snap, p).await?,
        None => None,
    };
    for frag in &base.fragments {
        let slice = Slice::whole(frag);
        let mut offsets = Vec::new();
        let batches = match cands.as_ref().and_then(|c| c.get(&frag.id)) {
            Some(c) => query::scalar::read_live_rows(snap, frag, &all_columns(schema), c)
                .await?
                .into_iter()
                .collect(),
            None => query::read_slice(snap, &slice, &all_columns(schema), true).await?,
        };
        for b in batches {
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
            if !constants.is_empty() {
                // The one value, repeated for every updated row.
                let zeros = arrow_array::UInt32Array::from(vec![0u32; hit.num_rows()]);
                for (i, v) in &constants {
                    cols[*i] = arrow_select::take::take(v.as_ref(), &zeros, None)?;
                }
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

#[derive(Debug, Clone, Default)]
pub struct MergeFlags {
    pub when_matched_update_all: bool,
    /// Only matched rows for which this SQL condition holds are updated;
    /// `target.col` and `source.col` name the table's and the new row.
    pub matched_where: Option<String>,
    pub when_not_matched_insert_all: bool,
    pub when_not_matched_by_source_delete: bool,
    /// Only table rows without a match that this SQL predicate keeps are deleted.
    pub by_source_where: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeStats {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Commit attempts (set once committed; see `txn::Committed`).
    pub attempts: u32,
}

pub(crate) async fn plan_merge(
    snap: &Snapshot,
    on: &[String],
    flags: &MergeFlags,
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
    // Conditions: the matched one sees the pair as two struct columns,
    // `target` and `source`, each with the table's fields.
    let pair_schema: arrow_schema::SchemaRef =
        std::sync::Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new(
                "target",
                arrow_schema::DataType::Struct(schema.fields().clone()),
                true,
            ),
            arrow_schema::Field::new(
                "source",
                arrow_schema::DataType::Struct(schema.fields().clone()),
                true,
            ),
        ]));
    let matched_if = match (&flags.matched_where, flags.when_matched_update_all) {
        (Some(sql), true) => query::filter::CompiledFilter::optional(Some(sql), &pair_schema)?,
        _ => None,
    };
    let delete_if = match (
        &flags.by_source_where,
        flags.when_not_matched_by_source_delete,
    ) {
        (Some(sql), true) => query::filter::CompiledFilter::optional(Some(sql), schema)?,
        _ => None,
    };
    // The columns read from the table: the keys, what the conditions use
    // (every column for the matched one, which sees whole rows).
    let mut read_idx: Vec<usize> = if matched_if.is_some() {
        (0..schema.fields().len()).collect()
    } else {
        key_idx.clone()
    };
    if let Some(p) = &delete_if {
        read_idx.extend_from_slice(p.indices());
    }
    read_idx.sort_unstable();
    read_idx.dedup();
    // read_slice returns the columns in table order; where table column i is.
    let pos = |i: usize| read_idx.binary_search(&i).unwrap_or(0);
    let mut matched = vec![false; source.num_rows()];
    let mut updated = vec![false; source.num_rows()];
    let mut rw = Rewrite::on(snap);
    let mut stats = MergeStats::default();
    // Key lookup through a scalar index on the one key column (issue 12):
    // only the rows holding a source key are read from the files it covers.
    // Deleting unmatched rows needs every row, so that scans.
    let by_index = match (key_idx.as_slice(), flags.when_not_matched_by_source_delete) {
        ([k], false) => {
            query::scalar::rows_with_keys(snap, schema.field(*k).name(), source.column(*k)).await?
        }
        _ => None,
    };
    for frag in &base.fragments {
        let slice = Slice::whole(frag);
        let mut offsets = Vec::new();
        let batches = match by_index.as_ref().and_then(|c| c.get(&frag.id)) {
            Some(c) => query::scalar::read_live_rows(snap, frag, &read_idx, c)
                .await?
                .into_iter()
                .collect(),
            None => query::read_slice(snap, &slice, &read_idx, true).await?,
        };
        for b in batches {
            let cols: Vec<ArrayRef> = key_idx.iter().map(|i| b.column(pos(*i)).clone()).collect();
            let keys = converter.convert_columns(&cols)?;
            let offs = row_offsets(&b)?;
            let deletable = delete_if.as_ref().map(|p| p.evaluate(&b)).transpose()?;
            // Matched (table row, source row) pairs waiting for their condition.
            let mut pending: Vec<(usize, usize)> = Vec::new();
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
                            if matched_if.is_some() {
                                pending.push((r, src));
                            } else {
                                offsets.push(*off);
                                updated[src] = true;
                                stats.updated += 1;
                            }
                        }
                    }
                    None if flags.when_not_matched_by_source_delete => {
                        let hit = deletable
                            .as_ref()
                            .is_none_or(|m| m.is_valid(r) && m.value(r));
                        if hit {
                            offsets.push(*off);
                            stats.deleted += 1;
                        }
                    }
                    None => {}
                }
            }
            if let (Some(cond), false) = (&matched_if, pending.is_empty()) {
                let t_rows =
                    arrow_array::UInt32Array::from_iter_values(pending.iter().map(|p| p.0 as u32));
                let s_rows =
                    arrow_array::UInt32Array::from_iter_values(pending.iter().map(|p| p.1 as u32));
                let mut t_cols = Vec::with_capacity(schema.fields().len());
                let mut s_cols = Vec::with_capacity(schema.fields().len());
                for i in 0..schema.fields().len() {
                    t_cols.push(arrow_select::take::take(
                        b.column(pos(i)).as_ref(),
                        &t_rows,
                        None,
                    )?);
                    s_cols.push(arrow_select::take::take(
                        source.column(i).as_ref(),
                        &s_rows,
                        None,
                    )?);
                }
                let target =
                    arrow_array::StructArray::try_new(schema.fields().clone(), t_cols, None)?;
                let new = arrow_array::StructArray::try_new(schema.fields().clone(), s_cols, None)?;
                let pair = RecordBatch::try_new(
                    pair_schema.clone(),
                    vec![std::sync::Arc::new(target), std::sync::Arc::new(new)],
                )?;
                let mask = cond.evaluate(&pair)?;
                for (k, (r, src)) in pending.iter().enumerate() {
                    if mask.is_valid(k) && mask.value(k) {
                        offsets.push(offs[*r]);
                        updated[*src] = true;
                        stats.updated += 1;
                    }
                }
            }
        }
        offsets.sort_unstable();
        delete_offsets(store, dir, frag, &offsets, &mut rw).await?;
    }
    // A matched row whose condition failed is neither updated nor inserted.
    let keep: BooleanArray = (0..source.num_rows())
        .map(|r| {
            Some(if matched[r] {
                updated[r]
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
/// possible, each up to [`COMPACT_TARGET_ROWS`] rows. The live rows of the
/// inputs are written in manifest order, one after the other: the index
/// step of `optimize()` derives where each row moved from that order
/// (`compact_remap`), so keep it.
pub(crate) async fn plan_compact(snap: &Snapshot) -> Result<Rewrite> {
    let (store, dir, base, schema) = snap.parts();
    let candidates: Vec<&Fragment> = base
        .fragments
        .iter()
        .filter(|f| f.live_rows() < COMPACT_TARGET_ROWS || f.deletion.is_some())
        .collect();
    let worth_it = candidates.len() >= 2 || candidates.iter().any(|f| f.deletion.is_some());
    let mut rw = Rewrite::on(snap);
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
