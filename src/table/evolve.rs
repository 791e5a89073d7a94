//! Schema evolution without rewriting the table: `addColumns`,
//! `alterColumns`, `dropColumns`, `updateFieldMetadata`.
//!
//! Columns are identified by field id (`format::fields`), so a rename or a
//! drop changes only the manifest; a column computed from others is written
//! as one column file per fragment, holding only the new column. Each
//! change is one commit through the transaction loop: it is planned on a
//! schema (fields and ids) and planned again when another writer changed
//! the schema first, so two renames never both apply to a stale schema.
//! A concurrent append whose rows fit the new schema (see [`fit_append`])
//! lands beside it; otherwise one of the two fails with `COMMIT_CONFLICT`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, StructArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};

use super::txn::Change;
use super::Table;
use crate::error::{quote, Error, Result};
use crate::format::datafile::{read_columns, write_column_file, RowSpec};
use crate::format::fields::{self, fits, id_count, tree, untree, widens, Node};
use crate::format::index::IndexEntry;
use crate::format::manifest::{ColumnFile, Fragment, Manifest, Operation};
use crate::format::Snapshot;
use crate::query::{self, filter::CompiledFilter, Slice};

/// The schema a change was planned on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlannedOn {
    fields: Fields,
    ids: Arc<Vec<i32>>,
}

impl PlannedOn {
    pub fn of(s: &Snapshot) -> Self {
        PlannedOn {
            fields: s.schema.fields().clone(),
            ids: s.field_ids.clone(),
        }
    }

    pub fn matches(&self, s: &Snapshot) -> bool {
        &self.fields == s.schema.fields() && self.ids == s.field_ids
    }
}

/// A planned schema change.
#[derive(Debug)]
pub(crate) struct Evolution {
    planned: PlannedOn,
    pub schema: SchemaRef,
    pub ids: Vec<i32>,
    pub next_field_id: i32,
    /// New column files by fragment id (`addColumns` with SQL).
    files: HashMap<u64, ColumnFile>,
    /// The fragments the files were computed from, as they were.
    touched: Vec<Fragment>,
    /// Computed from the data: every fragment must have its column file.
    data: bool,
    /// What the change does to indexed columns, in order.
    index_edits: Vec<IndexEdit>,
    pub operation: Operation,
}

/// A change to the columns indexes name.
#[derive(Debug, Clone)]
enum IndexEdit {
    /// Old path, new path.
    Rename(String, String),
    /// Indexes on this path (or inside it, or on a struct holding it) go.
    Remove(String),
}

/// What an evolution makes of a base's fragments.
pub(crate) struct Applied {
    pub fragments: Vec<Fragment>,
}

impl Evolution {
    /// The fragments after this change on `base`; `None` when it must be
    /// planned again (the schema changed, or a fragment it wrote a column
    /// for changed, or a fragment without the new column appeared).
    pub fn apply(&self, base: &Snapshot) -> Option<Applied> {
        if !self.planned.matches(base) {
            return None;
        }
        let m = &base.manifest;
        if self.data {
            let same = m.fragments.len() == self.touched.len()
                && m.fragments.iter().all(|f| self.touched.contains(f));
            if !same {
                return None;
            }
        }
        let keep: HashSet<i32> = self.ids.iter().copied().collect();
        let fragments = m
            .fragments
            .iter()
            .map(|f| {
                let mut f = f.clone();
                // Column files whose every field was dropped are no longer
                // needed; cleanup removes them with the old versions.
                f.columns
                    .retain(|c| c.fields.iter().any(|id| keep.contains(id)));
                if let Some(c) = self.files.get(&f.id) {
                    f.columns.push(c.clone());
                }
                f
            })
            .collect();
        Some(Applied { fragments })
    }

    /// The base's indexes after this change: a renamed column's indexes
    /// follow the new name; a dropped column's indexes, and those of a
    /// column whose type changed, are dropped in the same commit.
    pub fn indices(&self, base: &[IndexEntry]) -> Vec<IndexEntry> {
        let under = |c: &str, p: &str| c == p || c.starts_with(&format!("{p}."));
        let mut out = base.to_vec();
        for e in &self.index_edits {
            match e {
                IndexEdit::Rename(old, new) => {
                    for i in &mut out {
                        for c in &mut i.columns {
                            if under(c, old) {
                                *c = format!("{new}{}", &c[old.len()..]);
                            }
                        }
                    }
                }
                IndexEdit::Remove(p) => {
                    out.retain(|i| !i.columns.iter().any(|c| under(c, p) || under(p, c)))
                }
            }
        }
        out
    }

    pub fn written_files(&self) -> Vec<String> {
        self.files.values().map(|c| c.path.clone()).collect()
    }

    fn new(base: &Snapshot, nodes: &[Node], next_field_id: i32, operation: Operation) -> Self {
        let (schema, ids) = untree(nodes, &base.schema);
        Evolution {
            planned: PlannedOn::of(base),
            schema: Arc::new(schema),
            ids,
            next_field_id,
            files: HashMap::new(),
            touched: Vec::new(),
            data: false,
            index_edits: Vec::new(),
            operation,
        }
    }
}

/// The id the next new field of `base` gets.
fn next_id(base: &Snapshot) -> i32 {
    let used = base.field_ids.iter().copied().max().map_or(0, |m| m + 1);
    base.manifest.next_field_id.unwrap_or(0).max(used)
}

/// The append's fragment as it goes into `base`, or `None` when its rows
/// (written on `schema`) do not fit `base`'s schema.
pub(crate) fn fit_append(
    base: &Snapshot,
    schema: &SchemaRef,
    fragment: &Option<Fragment>,
) -> Option<Option<Fragment>> {
    let planned_ids = fragment
        .as_ref()
        .and_then(|f| f.fields.clone())
        .unwrap_or_else(|| fields::default_ids(schema));
    let stamp = |f: &Option<Fragment>| {
        f.clone().map(|mut f| {
            if base.manifest.field_ids.is_some() {
                f.fields = Some(planned_ids.clone());
            }
            f
        })
    };
    if base.schema.fields() == schema.fields() && *base.field_ids == planned_ids {
        return Some(stamp(fragment));
    }
    let (Ok(now), Ok(then)) = (
        tree(&base.schema, &base.field_ids),
        tree(schema, &planned_ids),
    ) else {
        return None;
    };
    // A field missing from the new rows is fine only when no file holds it
    // (an all-null column added since): it reads as null for them too.
    let held: HashSet<i32> = base
        .manifest
        .fragments
        .iter()
        .flat_map(|f| {
            f.columns
                .iter()
                .flat_map(|c| c.fields.iter().copied())
                .chain(f.fields.iter().flatten().copied())
        })
        .collect();
    let ok = now
        .iter()
        .all(|n| match then.iter().find(|t| t.id == n.id) {
            Some(t) => fits(t, n),
            None => n.field.is_nullable() && !held.contains(&n.id),
        });
    ok.then(|| stamp(fragment))
}

/// Records the base's field ids on the fragments a rewrite added (they were
/// written in its schema).
pub(crate) fn stamp_new(fragments: &mut [Fragment], added: &[Fragment], m: &Manifest) {
    let Some(ids) = &m.field_ids else { return };
    let paths: HashSet<&str> = added.iter().map(|f| f.path.as_str()).collect();
    for f in fragments.iter_mut() {
        if f.fields.is_none() && paths.contains(f.path.as_str()) {
            f.fields = Some(ids.clone());
        }
    }
}

/// One `alterColumns` entry.
#[derive(Debug, Clone, Default)]
pub struct ColumnAlteration {
    pub path: String,
    pub rename: Option<String>,
    pub nullable: Option<bool>,
    pub data_type: Option<DataType>,
}

/// One `updateFieldMetadata` entry: `None` values delete the key.
#[derive(Debug, Clone, Default)]
pub struct FieldMetadataUpdate {
    pub path: String,
    pub metadata: Vec<(String, Option<String>)>,
    pub replace: bool,
}

fn missing(path: &str) -> Error {
    Error::invalid_argument(format!(
        "Column \"{}\" does not exist in the dataset",
        quote(path)
    ))
}

/// The node at a dot-separated path, and its parent's children list.
fn find_mut<'a>(nodes: &'a mut [Node], path: &str) -> Result<&'a mut Node> {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut node = nodes
        .iter_mut()
        .find(|n| n.field.name() == first)
        .ok_or_else(|| missing(path))?;
    for p in parts {
        node = node
            .children
            .iter_mut()
            .find(|n| n.field.name() == p)
            .ok_or_else(|| missing(path))?;
    }
    Ok(node)
}

/// The sibling list holding the field at `path`, and its name.
fn siblings_mut<'a>(nodes: &'a mut Vec<Node>, path: &str) -> Result<(&'a mut Vec<Node>, String)> {
    match path.rsplit_once('.') {
        None => Ok((nodes, path.to_string())),
        Some((parent, name)) => {
            let p = find_mut(nodes, parent)?;
            if !matches!(p.field.data_type(), DataType::Struct(_)) {
                return Err(missing(path));
            }
            Ok((&mut p.children, name.to_string()))
        }
    }
}

fn check_new_name(siblings: &[Node], name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid_argument("a column name cannot be empty"));
    }
    if siblings.iter().any(|n| n.field.name() == name) {
        return Err(Error::invalid_argument(format!(
            "Duplicate field name \"{}\": a column of that name already exists",
            quote(name)
        )));
    }
    Ok(())
}

/// Adds all-null columns (no data written: no file holds them).
pub(crate) fn plan_add_fields(base: &Snapshot, new: &Schema) -> Result<Evolution> {
    let mut nodes = tree(&base.schema, &base.field_ids)?;
    let mut next = next_id(base);
    if new.fields().is_empty() {
        return Err(Error::invalid_argument(
            "addColumns needs at least one column",
        ));
    }
    for f in new.fields() {
        if !f.is_nullable() {
            return Err(Error::invalid_argument(format!(
                "All-null columns must be nullable: column '{}' is declared non-nullable",
                quote(f.name())
            )));
        }
        check_new_name(&nodes, f.name())?;
        let ids: Vec<i32> = (next..next + id_count(f) as i32).collect();
        next += ids.len() as i32;
        nodes.extend(tree(&Schema::new(vec![f.clone()]), &ids)?);
    }
    let op = Operation::AddColumns {
        columns: new.fields().len() as u64,
    };
    Ok(Evolution::new(base, &nodes, next, op))
}

/// Adds columns computed by SQL expressions over existing columns: one
/// column file per fragment holding only the new columns.
pub(crate) async fn plan_add_sql(base: &Snapshot, exprs: &[(String, String)]) -> Result<Evolution> {
    let schema = &base.schema;
    if exprs.is_empty() {
        return Err(Error::invalid_argument(
            "addColumns needs at least one column",
        ));
    }
    let mut nodes = tree(schema, &base.field_ids)?;
    let compiled = exprs
        .iter()
        .map(|(name, sql)| {
            check_new_name(&nodes, name)?;
            if exprs.iter().filter(|(n, _)| n == name).count() > 1 {
                return Err(Error::invalid_argument(format!(
                    "addColumns: column '{}' is given twice",
                    quote(name)
                )));
            }
            CompiledFilter::new(sql, schema)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut need: Vec<usize> = compiled.iter().flat_map(|c| c.indices().to_vec()).collect();
    need.sort_unstable();
    need.dedup();
    let read_schema = Arc::new(schema.project(&need)?);
    let eval = |batch: &RecordBatch| -> Result<Vec<arrow_array::ArrayRef>> {
        compiled.iter().map(|c| c.evaluate_value(batch)).collect()
    };
    // The new columns' types: from the expressions on no rows.
    let types: Vec<DataType> = eval(&RecordBatch::new_empty(read_schema.clone()))?
        .iter()
        .map(|a| a.data_type().clone())
        .collect();
    for ((name, sql), t) in exprs.iter().zip(&types) {
        if t == &DataType::Null {
            return Err(Error::invalid_argument(format!(
                "the type of column '{}' cannot be inferred from {}; give one, e.g. cast(NULL AS string)",
                quote(name),
                quote(sql)
            )));
        }
    }
    let new_fields: Vec<Field> = exprs
        .iter()
        .zip(&types)
        .map(|((name, _), t)| Field::new(name, t.clone(), true))
        .collect();
    let new_schema = Arc::new(Schema::new(new_fields.clone()));
    let mut next = next_id(base);
    let mut new_ids = Vec::new();
    for f in &new_fields {
        let ids: Vec<i32> = (next..next + id_count(f) as i32).collect();
        next += ids.len() as i32;
        nodes.extend(tree(&Schema::new(vec![f.clone()]), &ids)?);
        new_ids.extend(ids);
    }
    let op = Operation::AddColumns {
        columns: exprs.len() as u64,
    };
    let mut ev = Evolution::new(base, &nodes, next, op);
    ev.data = true;
    let written = compute_columns(
        base,
        &mut ev,
        &need,
        &read_schema,
        &new_schema,
        &new_ids,
        &types,
        &eval,
    )
    .await;
    if let Err(e) = written {
        discard(base, &ev).await;
        return Err(e);
    }
    Ok(ev)
}

#[allow(clippy::too_many_arguments)]
async fn compute_columns(
    base: &Snapshot,
    ev: &mut Evolution,
    need: &[usize],
    read_schema: &SchemaRef,
    new_schema: &SchemaRef,
    new_ids: &[i32],
    types: &[DataType],
    eval: &(dyn Fn(&RecordBatch) -> Result<Vec<arrow_array::ArrayRef>> + Sync),
) -> Result<()> {
    let (store, dir, m, schema) = base.parts();
    for frag in &m.fragments {
        // Every row the file holds, deleted or not: the column file lines
        // up with the base file row for row.
        let cols = read_columns(
            store,
            dir,
            schema,
            &base.field_ids,
            frag,
            need,
            RowSpec::default(),
        )
        .await?;
        let cols = cols.into_iter().next().unwrap_or_default();
        let batch = RecordBatch::try_new_with_options(
            read_schema.clone(),
            cols,
            &RecordBatchOptions::new().with_row_count(Some(frag.rows as usize)),
        )?;
        let values = eval(&batch)?
            .into_iter()
            .zip(types)
            .map(|(v, t)| {
                if v.data_type() == t {
                    Ok(v)
                } else {
                    Ok(arrow_cast::cast(&v, t)?)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let out = RecordBatch::try_new(new_schema.clone(), values)?;
        let file = write_column_file(store, dir, new_schema, new_ids.to_vec(), &[out]).await?;
        ev.files.insert(frag.id, file);
        ev.touched.push(frag.clone());
    }
    Ok(())
}

async fn discard(base: &Snapshot, ev: &Evolution) {
    use object_store::ObjectStoreExt;
    for p in ev.written_files() {
        let _ = base.store.store.delete(&base.path(&p)).await;
    }
}

/// Whether the reference allows changing a column's type from `from` to
/// `to`: within the same family (integers, floats, strings, binaries,
/// float vectors of one dimension, lists of floats to vectors).
fn cast_allowed(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let family = |t: &DataType| match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => 1,
        Float16 | Float32 | Float64 => 2,
        Utf8 | LargeUtf8 => 3,
        Binary | LargeBinary => 4,
        _ => 0,
    };
    match (from, to) {
        (FixedSizeList(a, n), FixedSizeList(b, m2)) => {
            n == m2 && a.data_type().is_floating() && b.data_type().is_floating()
        }
        (List(a) | LargeList(a), FixedSizeList(b, _)) => {
            a.data_type().is_floating() && b.data_type().is_floating()
        }
        _ => family(from) != 0 && family(from) == family(to),
    }
}

pub(crate) async fn plan_alter(base: &Snapshot, alts: &[ColumnAlteration]) -> Result<Evolution> {
    if alts.is_empty() {
        return Err(Error::invalid_argument(
            "alterColumns needs at least one alteration",
        ));
    }
    let mut nodes = tree(&base.schema, &base.field_ids)?;
    let mut edits = Vec::new();
    for a in alts {
        if a.rename.is_none() && a.nullable.is_none() && a.data_type.is_none() {
            return Err(Error::invalid_argument(format!(
                "alterColumns: the alteration of '{}' changes nothing; give rename, nullable or dataType",
                quote(&a.path)
            )));
        }
        let current = find_mut(&mut nodes, &a.path)?.field.clone();
        if let Some(false) = a.nullable {
            if current.is_nullable() {
                let nulls = column_nulls(base, &a.path).await?;
                if nulls > 0 {
                    return Err(Error::invalid_argument(format!(
                        "cannot make column '{}' non-nullable: it holds {nulls} null values",
                        quote(&a.path)
                    )));
                }
            }
        }
        if let Some(t) = &a.data_type {
            if t != current.data_type() {
                if !cast_allowed(current.data_type(), t) {
                    return Err(Error::invalid_argument(format!(
                        "Cannot cast column \"{}\" from {} to {}: only casts within the same family of types are allowed (integers, floats, strings, binaries, float vectors)",
                        quote(&a.path),
                        current.data_type(),
                        t
                    )));
                }
                if !widens(current.data_type(), t) {
                    // Narrowing: every stored value must convert (values
                    // are converted as they are read).
                    check_cast(base, &a.path, t).await?;
                }
            }
        }
        let (sibs, name) = siblings_mut(&mut nodes, &a.path)?;
        if let Some(new) = &a.rename {
            if new != &name {
                check_new_name(sibs, new)?;
            }
        }
        let node = sibs
            .iter_mut()
            .find(|n| n.field.name() == &name)
            .ok_or_else(|| missing(&a.path))?;
        let mut f = node.field.clone();
        if a.data_type.as_ref().is_some_and(|t| t != f.data_type()) {
            edits.push(IndexEdit::Remove(a.path.clone()));
        }
        if let Some(new) = &a.rename {
            let to = match a.path.rsplit_once('.') {
                Some((parent, _)) => format!("{parent}.{new}"),
                None => new.clone(),
            };
            edits.push(IndexEdit::Rename(a.path.clone(), to));
            f = f.with_name(new.clone());
        }
        if let Some(n) = a.nullable {
            f = f.with_nullable(n);
        }
        if let Some(t) = &a.data_type {
            f = f.with_data_type(t.clone());
        }
        node.field = f;
    }
    let op = Operation::AlterColumns {
        columns: alts.len() as u64,
    };
    let mut ev = Evolution::new(base, &nodes, next_id(base), op);
    ev.index_edits = edits;
    Ok(ev)
}

/// The values of field `path` (a top-level column, or a struct child as
/// `parent.child`) in every live row, one array per batch read, with the
/// nulls of its enclosing structs folded in (a child of a null struct row
/// counts as null, as in the reference).
async fn field_values(base: &Snapshot, path: &str) -> Result<Vec<ArrayRef>> {
    let mut parts = path.split('.');
    let top = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let i = base.schema.index_of(top).map_err(|_| missing(path))?;
    let mut out = Vec::new();
    for frag in &base.manifest.fragments {
        for b in query::read_slice(base, &Slice::whole(frag), &[i], false).await? {
            let mut col = b.column(0).clone();
            let mut nulls = col.logical_nulls();
            for name in &rest {
                let s = col
                    .as_any()
                    .downcast_ref::<StructArray>()
                    .ok_or_else(|| missing(path))?;
                col = s.column_by_name(name).ok_or_else(|| missing(path))?.clone();
                nulls = NullBuffer::union(nulls.as_ref(), col.logical_nulls().as_ref());
            }
            if !rest.is_empty() {
                col = arrow_array::make_array(col.to_data().into_builder().nulls(nulls).build()?);
            }
            out.push(col);
        }
    }
    Ok(out)
}

/// Nulls among the live rows of field `path` (nested too).
async fn column_nulls(base: &Snapshot, path: &str) -> Result<u64> {
    Ok(field_values(base, path)
        .await?
        .iter()
        .map(|c| c.logical_null_count() as u64)
        .sum())
}

async fn check_cast(base: &Snapshot, name: &str, to: &DataType) -> Result<()> {
    let opts = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    for col in field_values(base, name).await? {
        arrow_cast::cast_with_options(&col, to, &opts).map_err(|e| {
            Error::invalid_argument(format!(
                "Cannot cast column \"{}\" to {to}: a stored value does not fit ({})",
                quote(name),
                quote(&e.to_string())
            ))
        })?;
    }
    Ok(())
}

pub(crate) fn plan_drop(base: &Snapshot, paths: &[String]) -> Result<Evolution> {
    if paths.is_empty() {
        return Err(Error::invalid_argument(
            "dropColumns needs at least one column name",
        ));
    }
    let mut nodes = tree(&base.schema, &base.field_ids)?;
    for p in paths {
        let (sibs, name) = siblings_mut(&mut nodes, p)?;
        let at = sibs
            .iter()
            .position(|n| n.field.name() == &name)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "Column {} does not exist in the dataset",
                    quote(p)
                ))
            })?;
        if sibs.len() == 1 {
            return Err(Error::invalid_argument(format!(
                "cannot drop '{}': it is the only {} left; drop the table (or its parent field) instead",
                quote(p),
                if p.contains('.') { "field of its struct" } else { "column" }
            )));
        }
        sibs.remove(at);
    }
    let op = Operation::DropColumns {
        columns: paths.len() as u64,
    };
    let mut ev = Evolution::new(base, &nodes, next_id(base), op);
    ev.index_edits = paths.iter().cloned().map(IndexEdit::Remove).collect();
    Ok(ev)
}

pub(crate) fn plan_field_metadata(
    base: &Snapshot,
    updates: &[FieldMetadataUpdate],
) -> Result<Evolution> {
    if updates.is_empty() {
        return Err(Error::invalid_argument(
            "updateFieldMetadata needs at least one update",
        ));
    }
    let mut nodes = tree(&base.schema, &base.field_ids)?;
    for u in updates {
        let node = find_mut(&mut nodes, &u.path)?;
        let mut md = if u.replace {
            Default::default()
        } else {
            node.field.metadata().clone()
        };
        for (k, v) in &u.metadata {
            match v {
                Some(v) => {
                    md.insert(k.clone(), v.clone());
                }
                None => {
                    md.remove(k);
                }
            }
        }
        node.field = node.field.clone().with_metadata(md);
    }
    let op = Operation::UpdateFieldMetadata {
        columns: updates.len() as u64,
    };
    Ok(Evolution::new(base, &nodes, next_id(base), op))
}

impl Table {
    /// Commits one schema change, planned (again) on the latest version.
    async fn evolve<F, Fut>(&self, plan: F) -> Result<u64>
    where
        F: Fn(Arc<Snapshot>) -> Fut,
        Fut: std::future::Future<Output = Result<Evolution>>,
    {
        let plan = &plan;
        let (v, ()) = self
            .commit(|base| async move {
                let base = super::txn_base(base)?;
                Ok((Change::Evolve(plan(base).await?), ()))
            })
            .await?;
        Ok(v)
    }

    pub async fn add_columns_sql(&self, exprs: Vec<(String, String)>) -> Result<u64> {
        let exprs = &exprs;
        self.evolve(|b| async move { plan_add_sql(&b, exprs).await })
            .await
    }

    pub async fn add_columns_fields(&self, schema: SchemaRef) -> Result<u64> {
        let schema = &schema;
        self.evolve(|b| async move { plan_add_fields(&b, schema) })
            .await
    }

    pub async fn alter_columns(&self, alts: Vec<ColumnAlteration>) -> Result<u64> {
        let alts = &alts;
        self.evolve(|b| async move { plan_alter(&b, alts).await })
            .await
    }

    pub async fn drop_columns(&self, paths: Vec<String>) -> Result<u64> {
        let paths = &paths;
        self.evolve(|b| async move { plan_drop(&b, paths) }).await
    }

    pub async fn update_field_metadata(&self, updates: Vec<FieldMetadataUpdate>) -> Result<u64> {
        let updates = &updates;
        self.evolve(|b| async move { plan_field_metadata(&b, updates) })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, col: &str) -> IndexEntry {
        serde_json::from_value(serde_json::json!({
            "name": name, "uuid": name, "kind": "BTREE", "columns": [col],
            "params": null, "created_at_ms": 0, "segments": []
        }))
        .unwrap()
    }

    #[test]
    fn indexes_follow_renames_and_go_with_dropped_or_retyped_columns() {
        let mut ev = Evolution {
            planned: PlannedOn {
                fields: Fields::empty(),
                ids: Arc::new(Vec::new()),
            },
            schema: Arc::new(Schema::empty()),
            ids: Vec::new(),
            next_field_id: 0,
            files: HashMap::new(),
            touched: Vec::new(),
            data: false,
            index_edits: vec![
                IndexEdit::Rename("a".into(), "b".into()),
                IndexEdit::Rename("s.x".into(), "s.y".into()),
                IndexEdit::Remove("c".into()),
                IndexEdit::Remove("t.z".into()),
            ],
            operation: Operation::AlterColumns { columns: 1 },
        };
        let base = vec![
            entry("ia", "a"),
            entry("isx", "s.x"),
            entry("ic", "c"),
            entry("it", "t"),
            entry("id", "d"),
        ];
        let got: Vec<(String, Vec<String>)> = ev
            .indices(&base)
            .into_iter()
            .map(|i| (i.name, i.columns))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ia".to_string(), vec!["b".to_string()]),
                ("isx".to_string(), vec!["s.y".to_string()]),
                ("id".to_string(), vec!["d".to_string()]),
            ]
        );
        ev.index_edits.clear();
        assert_eq!(ev.indices(&base), base);
    }
}
