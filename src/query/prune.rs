//! Row-group pruning with Parquet statistics: a row group whose recorded
//! minimum and maximum of a column rule out one AND term of the filter
//! holds no passing row and is not read.
//!
//! Only terms whose passing values form one interval of an ordered domain
//! are used (a comparison or BETWEEN with constants: the `range` shape of
//! `filter::plan::IndexTerm`, which a scalar index relies on too), and
//! only on signed integer columns stored as the type the table reads:
//! integer statistics are exact and total (no NaN, which Parquet leaves
//! out of float statistics while the filter orders it above every number),
//! and NULLs, left out of the statistics, never pass a comparison. The
//! bounds of the interval are decided by the filter's own evaluator, on
//! the minimum and maximum themselves, so literals coerce exactly as they
//! do on the rows.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{Field, Schema};

use super::filter::CompiledFilter;
use crate::error::Result;
use crate::format::datafile::{column_row_groups, RowGroupRange};
use crate::format::manifest::Fragment;
use crate::format::Snapshot;

/// A row group of a fragment (rows `start..start + rows`) and whether it
/// may hold rows that pass the filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub start: u64,
    pub rows: u64,
    pub keep: bool,
}

/// The row groups of the file holding the filter's first column, each
/// marked by what the statistics tell; `None` when the filter reads no
/// stored column.
pub(crate) async fn row_groups(
    snap: &Snapshot,
    frag: &Fragment,
    pred: &CompiledFilter,
) -> Result<Option<Vec<Group>>> {
    let Some(&first) = pred.indices().first() else {
        return Ok(None);
    };
    let (store, dir, _, schema) = snap.parts();
    let layout = |i| column_row_groups(store, dir, schema, &snap.field_ids, frag, i);
    let Some(base) = layout(first).await? else {
        return Ok(None);
    };
    let mut groups: Vec<Group> = base
        .iter()
        .map(|g| Group {
            start: g.start,
            rows: g.rows,
            keep: true,
        })
        .collect();
    for term in pred.index_terms(schema) {
        let Some((below, upto)) = &term.range else {
            continue;
        };
        let Ok(i) = schema.index_of(&term.column) else {
            continue;
        };
        let stats = if i == first {
            base.clone()
        } else {
            match layout(i).await? {
                Some(s) => s,
                None => continue,
            }
        };
        // Statistics of a file cut into other row groups say nothing here.
        let same_cut = stats.len() == base.len()
            && stats
                .iter()
                .zip(&base)
                .all(|(a, b)| (a.start, a.rows) == (b.start, b.rows));
        if !same_cut {
            continue;
        }
        let field = schema.field(i);
        for (g, s) in groups.iter_mut().zip(&stats) {
            if g.keep && !may_pass(field, s, below.as_ref(), upto.as_ref()) {
                g.keep = false;
            }
        }
    }
    Ok(Some(groups))
}

/// Whether values between the group's minimum and maximum may pass a term
/// whose passing values are those not `below` its interval and `upto` its
/// end (see `filter::plan::IndexTerm::range`). Unknown: true.
fn may_pass(
    field: &Field,
    g: &RowGroupRange,
    below: Option<&CompiledFilter>,
    upto: Option<&CompiledFilter>,
) -> bool {
    let Some((min, max)) = g.min_max else {
        return true;
    };
    let Some(batch) = bounds_batch(field, min, max) else {
        return true;
    };
    let at = |f: Option<&CompiledFilter>, row: usize| -> Option<bool> {
        match f {
            None => None,
            Some(f) => f
                .evaluate(&batch)
                .ok()
                .map(|m| m.is_valid(row) && m.value(row)),
        }
    };
    // Every value is below the interval when the maximum is.
    if at(below, 1) == Some(true) {
        return false;
    }
    // Every value is past its end when the minimum is.
    if upto.is_some() && at(upto, 0) == Some(false) {
        return false;
    }
    true
}

/// A two-row batch of `field`: its minimum and its maximum.
fn bounds_batch(field: &Field, min: i64, max: i64) -> Option<RecordBatch> {
    let values: ArrayRef = Arc::new(Int64Array::from(vec![min, max]));
    let col = arrow_cast::cast(&values, field.data_type()).ok()?;
    if col.null_count() > 0 {
        return None;
    }
    let f = Field::new(field.name(), field.data_type().clone(), true);
    RecordBatch::try_new(Arc::new(Schema::new(vec![f])), vec![col]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::DataType;

    /// Whether a group with `min..=max` of column `id` (of `dt`) may hold
    /// rows passing every AND term of `sql` with a range shape.
    fn may(sql: &str, dt: DataType, min: i64, max: i64) -> bool {
        let schema = Schema::new(vec![Field::new("id", dt, true)]);
        let pred = CompiledFilter::new(sql, &schema).expect("filter");
        let field = schema.field(0).clone();
        let g = RowGroupRange {
            start: 0,
            rows: 1,
            min_max: Some((min, max)),
        };
        pred.index_terms(&schema).iter().all(|t| match &t.range {
            Some((below, upto)) => may_pass(&field, &g, below.as_ref(), upto.as_ref()),
            None => true,
        })
    }

    #[test]
    fn bounds_decide_on_the_boundary_values() {
        for dt in [DataType::Int32, DataType::Int64, DataType::Int16] {
            assert!(!may("id > 500", dt.clone(), 0, 500));
            assert!(may("id > 500", dt.clone(), 0, 501));
            assert!(!may("id >= 501", dt.clone(), 0, 500));
            assert!(may("id >= 500", dt.clone(), 500, 900));
            assert!(!may("id < 10", dt.clone(), 10, 20));
            assert!(may("id <= 10", dt.clone(), 10, 20));
            assert!(!may("id = 7", dt.clone(), 8, 9));
            assert!(!may("id = 7", dt.clone(), 0, 6));
            assert!(may("id = 7", dt.clone(), 7, 7));
            assert!(may("7 = id", dt.clone(), 0, 100));
            assert!(!may("10 < id", dt.clone(), 0, 10));
            assert!(!may("id BETWEEN 5 AND 9", dt.clone(), 10, 20));
            assert!(!may("id BETWEEN 5 AND 9", dt.clone(), 0, 4));
            assert!(may("id BETWEEN 5 AND 9", dt.clone(), 9, 12));
            // Either term rules the group out.
            assert!(!may("id > 3 AND id < 5", dt.clone(), 5, 8));
            assert!(!may("id > 100 AND id < 200", dt.clone(), 0, 100));
            assert!(may("id > 100 AND id < 200", dt.clone(), 0, 101));
            // No interval shape: never pruned.
            assert!(may("id != 5", dt.clone(), 5, 5));
            assert!(may("id > 3 OR id < 1", dt.clone(), 1, 3));
            assert!(may("NOT id > 3", dt.clone(), 0, 3));
            assert!(may("id IS NULL", dt.clone(), 0, 3));
        }
        // A fractional literal compares as the filter compares it.
        assert!(!may("id > 3.5", DataType::Int32, 0, 3));
        assert!(may("id > 3.5", DataType::Int32, 0, 4));
        assert!(!may("id < 3.5", DataType::Int64, 4, 9));
    }

    #[test]
    fn unknown_statistics_keep_the_group() {
        let field = Field::new("id", DataType::Int32, true);
        let schema = Schema::new(vec![field.clone()]);
        let pred = CompiledFilter::new("id > 5", &schema).expect("filter");
        let terms = pred.index_terms(&schema);
        let (below, upto) = terms[0].range.as_ref().expect("range");
        let g = RowGroupRange {
            start: 0,
            rows: 10,
            min_max: None,
        };
        assert!(may_pass(&field, &g, below.as_ref(), upto.as_ref()));
    }
}
