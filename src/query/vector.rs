//! Flat (exhaustive) vector search: distances over every row's vector,
//! top-k by (distance, row id), optional SQL pre- or post-filter.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;

use super::{filter, project, read_slice, Slice, READ_AHEAD, ROW_ID};
use crate::error::{Error, Result};
use crate::storage::StoreHandle;
use crate::table::manifest::Manifest;

pub const DISTANCE: &str = "_distance";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceType {
    /// Squared Euclidean distance.
    L2,
    /// 1 - cosine similarity.
    Cosine,
    /// 1 - dot product.
    Dot,
}

impl DistanceType {
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "l2" | "euclidean" => Ok(DistanceType::L2),
            "cosine" => Ok(DistanceType::Cosine),
            "dot" => Ok(DistanceType::Dot),
            other => Err(Error::invalid_argument(format!(
                "distance type '{other}' is not supported; use \"l2\", \"cosine\" or \"dot\""
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct VectorRequest {
    pub vector: Vec<f32>,
    pub column: Option<String>,
    pub distance: DistanceType,
    pub k: usize,
    pub filter: Option<String>,
    /// Filter before ranking (the default) or after.
    pub prefilter: bool,
    pub columns: Option<Vec<String>>,
    pub with_row_id: bool,
}

fn vector_dim(dt: &DataType) -> Option<usize> {
    match dt {
        DataType::FixedSizeList(child, n) if child.data_type().is_floating() => Some(*n as usize),
        _ => None,
    }
}

/// The column to search: the named one, or the only vector column whose
/// dimension matches the query.
pub fn vector_column(schema: &Schema, column: Option<&str>, dim: usize) -> Result<String> {
    if let Some(c) = column {
        let f = schema
            .field_with_name(c)
            .map_err(|_| Error::invalid_argument(format!("vector column '{c}' does not exist")))?;
        return match vector_dim(f.data_type()) {
            Some(d) if d == dim => Ok(c.to_string()),
            Some(d) => Err(Error::invalid_argument(format!(
                "the query vector has {dim} dimensions but column '{c}' holds vectors of {d}"
            ))),
            None => Err(Error::invalid_argument(format!(
                "column '{c}' is not a vector column (a fixed-size list of floats); it is {}",
                f.data_type()
            ))),
        };
    }
    let candidates: Vec<&str> = schema
        .fields()
        .iter()
        .filter(|f| vector_dim(f.data_type()) == Some(dim))
        .map(|f| f.name().as_str())
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(Error::invalid_argument(format!(
            "No vector column found to match with the query vector dimension: {dim}"
        ))),
        many => Err(Error::invalid_argument(format!(
            "several vector columns have dimension {dim} ({}); choose one with .column(name)",
            many.join(", ")
        ))),
    }
}

fn distances(list: &FixedSizeListArray, q: &[f32], dist: DistanceType) -> Result<Float32Array> {
    let values = match list.values().data_type() {
        DataType::Float32 => list.values().clone(),
        _ => arrow_cast::cast(list.values().as_ref(), &DataType::Float32)?,
    };
    let values = values.as_primitive::<Float32Type>().values();
    let dim = q.len();
    let q_norm = q.iter().map(|x| x * x).sum::<f32>().sqrt();
    let out: Float32Array = (0..list.len())
        .map(|i| {
            if list.is_null(i) {
                return None;
            }
            let start = list.value_offset_at(i);
            let v = &values[start..start + dim];
            Some(match dist {
                DistanceType::L2 => v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(),
                DistanceType::Dot => 1.0 - v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>(),
                DistanceType::Cosine => {
                    let (mut dot, mut norm) = (0f32, 0f32);
                    for (a, b) in v.iter().zip(q) {
                        dot += a * b;
                        norm += a * a;
                    }
                    let denom = norm.sqrt() * q_norm;
                    if denom == 0.0 {
                        1.0
                    } else {
                        1.0 - dot / denom
                    }
                }
            })
        })
        .collect();
    Ok(out)
}

/// Keeps the `k` best rows of `batch` by (distance, row id); `batch` has a
/// `_distance` and a `_rowid` column.
fn top_k(batch: &RecordBatch, k: usize) -> Result<RecordBatch> {
    let d = batch
        .column_by_name(DISTANCE)
        .and_then(|c| c.as_primitive_opt::<Float32Type>())
        .ok_or_else(|| Error::internal("no distance column"))?;
    let r = batch
        .column_by_name(ROW_ID)
        .and_then(|c| c.as_primitive_opt::<arrow_array::types::UInt64Type>())
        .ok_or_else(|| Error::internal("no row id column"))?;
    let mut idx: Vec<u32> = (0..batch.num_rows() as u32)
        .filter(|i| d.is_valid(*i as usize))
        .collect();
    let key = |i: &u32| (d.value(*i as usize), r.value(*i as usize));
    let cmp = |a: &u32, b: &u32| {
        let (da, ra) = key(a);
        let (db, rb) = key(b);
        da.total_cmp(&db).then(ra.cmp(&rb))
    };
    if idx.len() > k {
        idx.select_nth_unstable_by(k, cmp);
        idx.truncate(k);
    }
    idx.sort_unstable_by(cmp);
    let take = UInt32Array::from(idx);
    let cols = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &take, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(batch.schema(), cols)?)
}

pub async fn search(
    store: &StoreHandle,
    table_dir: &Path,
    manifest: &Manifest,
    schema: &SchemaRef,
    req: &VectorRequest,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    if req.vector.is_empty() {
        return Err(Error::invalid_argument("the query vector is empty"));
    }
    if req.vector.iter().any(|x| !x.is_finite()) {
        return Err(Error::invalid_argument(
            "the query vector holds NaN or infinite values",
        ));
    }
    let column = vector_column(schema, req.column.as_deref(), req.vector.len())?;
    let (out_schema, out_idx) = project(schema, &req.columns)?;
    let filter = match &req.filter {
        Some(sql) if !sql.trim().is_empty() => {
            let e = filter::parse(sql)?;
            filter::check_columns(sql, &e, schema)?;
            Some((sql.clone(), e))
        }
        _ => None,
    };
    let mut read_idx = out_idx.clone();
    let mut need = vec![column.clone()];
    if let Some((_, e)) = &filter {
        filter::columns(e, &mut need);
    }
    for c in need {
        let i = schema.index_of(&c)?;
        if !read_idx.contains(&i) {
            read_idx.push(i);
        }
    }
    let k = req.k;
    let slices: Vec<Slice> = manifest
        .fragments
        .iter()
        .map(|f| Slice {
            fragment: f.clone(),
            offset: 0,
            limit: None,
        })
        .collect();
    let candidates: Vec<RecordBatch> = futures::stream::iter(slices)
        .map(|slice| {
            let (read_idx, column, filter, schema) = (
                read_idx.clone(),
                column.clone(),
                filter.clone(),
                schema.clone(),
            );
            async move {
                let batches =
                    read_slice(store, table_dir, &schema, &slice, &read_idx, true).await?;
                let mut best: Vec<RecordBatch> = Vec::new();
                for b in batches {
                    let list = b
                        .column_by_name(&column)
                        .and_then(|c| c.as_fixed_size_list_opt())
                        .ok_or_else(|| Error::internal("vector column"))?;
                    let mut d = distances(list, &req.vector, req.distance)?;
                    if let (true, Some((sql, e))) = (req.prefilter, &filter) {
                        let mask = filter::evaluate(sql, e, &b)?;
                        d = arrow_select::nullif::nullif(&d, &arrow_arith::boolean::not(&mask)?)?
                            .as_primitive::<Float32Type>()
                            .clone();
                    }
                    best.push(top_k(&with_distance(&b, d)?, k)?);
                }
                if best.is_empty() {
                    return Ok::<Option<RecordBatch>, Error>(None);
                }
                let merged = arrow_select::concat::concat_batches(&best[0].schema(), &best)?;
                Ok(Some(top_k(&merged, k)?))
            }
        })
        .buffered(READ_AHEAD)
        .try_filter_map(|b| async move { Ok(b) })
        .try_collect()
        .await?;
    let mut dist_fields: Vec<Arc<Field>> = out_schema.fields().iter().cloned().collect();
    dist_fields.push(Arc::new(Field::new(DISTANCE, DataType::Float32, true)));
    if req.with_row_id {
        dist_fields.push(Arc::new(Field::new(ROW_ID, DataType::UInt64, true)));
    }
    let result_schema: SchemaRef = Arc::new(Schema::new_with_metadata(
        dist_fields,
        out_schema.metadata().clone(),
    ));
    if candidates.is_empty() {
        return Ok((result_schema, vec![]));
    }
    let merged = arrow_select::concat::concat_batches(&candidates[0].schema(), &candidates)?;
    let mut best = top_k(&merged, k)?;
    if let (false, Some((sql, e))) = (req.prefilter, &filter) {
        let mask = filter::evaluate(sql, e, &best)?;
        best = arrow_select::filter::filter_record_batch(&best, &mask)?;
    }
    let cols = result_schema
        .fields()
        .iter()
        .map(|f| {
            best.column_by_name(f.name())
                .cloned()
                .ok_or_else(|| Error::internal(format!("missing {}", f.name())))
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let out = RecordBatch::try_new_with_options(
        result_schema.clone(),
        cols,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(best.num_rows())),
    )?;
    Ok((result_schema, vec![out]))
}

fn with_distance(b: &RecordBatch, d: Float32Array) -> Result<RecordBatch> {
    let mut fields: Vec<Arc<Field>> = b.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(DISTANCE, DataType::Float32, true)));
    let mut cols = b.columns().to_vec();
    cols.push(Arc::new(d));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

#[allow(dead_code)]
fn row_ids(b: &RecordBatch) -> Option<&UInt64Array> {
    b.column_by_name(ROW_ID).and_then(|c| c.as_primitive_opt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rows: &[[f32; 2]]) -> FixedSizeListArray {
        let values = Float32Array::from(rows.iter().flatten().copied().collect::<Vec<_>>());
        FixedSizeListArray::new(
            Arc::new(Field::new("item", DataType::Float32, true)),
            2,
            Arc::new(values),
            None,
        )
    }

    #[test]
    fn distances_match_lancedb_definitions() {
        // Reference values from @lancedb/lancedb 0.31.0 for query [1, 1].
        let l = list(&[[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]]);
        let q = [1.0, 1.0];
        let l2: Vec<f32> = distances(&l, &q, DistanceType::L2)
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(l2, [1.0, 2.0, 13.0]);
        let dot: Vec<f32> = distances(&l, &q, DistanceType::Dot)
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(dot, [0.0, -1.0, -6.0]);
        let cos = distances(&l, &q, DistanceType::Cosine).unwrap();
        assert!((cos.value(0) - 0.29289323).abs() < 1e-6);
        assert!((cos.value(2) - 0.010050476).abs() < 1e-6);
    }

    #[test]
    fn column_detection() {
        let s = Schema::new(vec![
            Field::new(
                "v",
                DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), 2),
                true,
            ),
            Field::new("id", DataType::Float64, true),
        ]);
        assert_eq!(vector_column(&s, None, 2).unwrap(), "v");
        assert!(vector_column(&s, None, 3)
            .unwrap_err()
            .to_string()
            .contains("dimension: 3"));
        assert!(vector_column(&s, Some("id"), 2)
            .unwrap_err()
            .to_string()
            .contains("not a vector column"));
    }
}
