//! Scalar indexes (BTREE and BITMAP): the distinct values of a column in
//! ascending order, each with the ids of the rows holding it. Nothing here
//! knows SQL: the caller asks which values pass a predicate it evaluates
//! itself ([`ScalarIndex::matching`]), so an index answers exactly what a
//! scan of the same column would (same kernels, same coercions).
//!
//! A BITMAP index and a BTREE index share this layout: a bitmap index is
//! meant for few distinct values, a btree index for many; both look values
//! up by binary search over the sorted values.
//!
//! Objects (layout in docs/FORMAT.md):
//! * `scalar.arrow`: an Arrow IPC stream, one batch, columns `value` (the
//!   column's type; distinct values ascending, a null value last when the
//!   column has nulls), `start` (UInt64) and `count` (UInt32): where the
//!   value's row ids are in `scalar.rows`;
//! * `scalar.rows`: row ids (u64 little-endian), grouped by value in the
//!   order of `scalar.arrow`, ascending within a value.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SortOptions};

use crate::error::{Error, Result};

pub const VALUES: &str = "scalar.arrow";
pub const ROWS: &str = "scalar.rows";

/// A loaded scalar index of one segment.
#[derive(Debug, Clone)]
pub struct ScalarIndex {
    /// Distinct non-null values, ascending.
    pub values: ArrayRef,
    /// Per value (then one more for nulls): its range in `rows`.
    pub starts: Vec<u64>,
    pub counts: Vec<u32>,
    /// Row ids of null values.
    pub null_rows: Vec<u64>,
    pub rows: Vec<u64>,
}

impl ScalarIndex {
    /// Builds from (row id, value) pairs of one column.
    pub fn build(row_ids: &[u64], values: &ArrayRef) -> Result<Self> {
        if row_ids.len() != values.len() {
            return Err(Error::internal(
                "scalar index: row ids and values differ in length",
            ));
        }
        let opts = SortOptions {
            descending: false,
            nulls_first: false,
        };
        let order = arrow_ord::sort::sort_to_indices(values.as_ref(), Some(opts), None)?;
        let sorted = arrow_select::take::take(values.as_ref(), &order, None)?;
        let ids: Vec<u64> = order
            .values()
            .iter()
            .map(|i| row_ids[*i as usize])
            .collect();
        // Group equal neighbours (arrow's partition kernel compares with the
        // same total order the sort used).
        let parts = arrow_ord::partition::partition(std::slice::from_ref(&sorted))?;
        let mut take_first = Vec::new();
        let mut starts = Vec::new();
        let mut counts = Vec::new();
        let mut rows = Vec::with_capacity(ids.len());
        let mut null_rows = Vec::new();
        for r in parts.ranges() {
            // A row appears once per value even when its list holds the
            // value twice (LABEL_LIST).
            let mut g = ids[r.clone()].to_vec();
            g.sort_unstable();
            g.dedup();
            if sorted.is_null(r.start) {
                null_rows = g;
                continue;
            }
            take_first.push(r.start as u32);
            starts.push(rows.len() as u64);
            counts.push(g.len() as u32);
            rows.extend(g);
        }
        let values =
            arrow_select::take::take(sorted.as_ref(), &UInt32Array::from(take_first), None)?;
        Ok(ScalarIndex {
            values,
            starts,
            counts,
            null_rows,
            rows,
        })
    }

    /// A LABEL_LIST index: each element of each row's list with the row's
    /// id (null lists and empty lists hold no element, so no row is under
    /// any value for them; a null element is under the null value).
    pub fn build_labels(row_ids: &[u64], lists: &ArrayRef) -> Result<Self> {
        let (values, offsets): (ArrayRef, Vec<usize>) = match lists.data_type() {
            DataType::List(_) => {
                let l = lists.as_list::<i32>();
                (
                    l.values().clone(),
                    l.value_offsets().iter().map(|o| *o as usize).collect(),
                )
            }
            DataType::LargeList(_) => {
                let l = lists.as_list::<i64>();
                (
                    l.values().clone(),
                    l.value_offsets().iter().map(|o| *o as usize).collect(),
                )
            }
            other => {
                return Err(Error::internal(format!(
                    "label list index over a column of {other}"
                )))
            }
        };
        let mut ids = Vec::new();
        let mut take = Vec::new();
        for (i, id) in row_ids.iter().enumerate() {
            if lists.is_null(i) {
                continue;
            }
            for k in offsets[i]..offsets[i + 1] {
                ids.push(*id);
                take.push(k as u32);
            }
        }
        let flat = arrow_select::take::take(values.as_ref(), &UInt32Array::from(take), None)?;
        Self::build(&ids, &flat)
    }

    /// Row ids of the values `pass` accepts. `pass` gets a batch with one
    /// column named `column` holding some of the index's values and returns
    /// which pass; `monotone` says `pass` is true on one contiguous run of
    /// the sorted values (a comparison or range with a constant), so it is
    /// called O(log n) times on single values instead of once on all.
    pub fn matching(
        &self,
        column: &str,
        pass: &dyn Fn(&RecordBatch) -> Result<BooleanArray>,
        shape: Shape,
    ) -> Result<Vec<u64>> {
        let field = Arc::new(Field::new(column, self.values.data_type().clone(), true));
        let schema = Arc::new(Schema::new(vec![field.clone()]));
        let batch = |a: ArrayRef| RecordBatch::try_new(schema.clone(), vec![a]);
        let n = self.values.len();
        let mut out = Vec::new();
        let take = |i: usize, out: &mut Vec<u64>| {
            let s = self.starts[i] as usize;
            out.extend_from_slice(&self.rows[s..s + self.counts[i] as usize]);
        };
        match shape {
            Shape::Range { lower, upper } => {
                // `lower(v)` is true for values below the range (a prefix of
                // the sorted values), `upper(v)` for values at most its end.
                let first_false =
                    |f: &dyn Fn(&RecordBatch) -> Result<BooleanArray>| -> Result<usize> {
                        let (mut lo, mut hi) = (0usize, n);
                        while lo < hi {
                            let mid = (lo + hi) / 2;
                            let m = f(&batch(self.values.slice(mid, 1))?)?;
                            if m.is_valid(0) && m.value(0) {
                                lo = mid + 1;
                            } else {
                                hi = mid;
                            }
                        }
                        Ok(lo)
                    };
                let start = match lower {
                    Some(f) => first_false(f)?,
                    None => 0,
                };
                let end = match upper {
                    Some(f) => first_false(f)?,
                    None => n,
                };
                for i in start..end.max(start) {
                    take(i, &mut out);
                }
            }
            Shape::Any => {
                let m = pass(&batch(self.values.clone())?)?;
                for i in 0..n {
                    if m.is_valid(i) && m.value(i) {
                        take(i, &mut out);
                    }
                }
            }
        }
        // Null values: asked on one null.
        if !self.null_rows.is_empty() {
            let m = pass(&batch(arrow_array::new_null_array(
                self.values.data_type(),
                1,
            ))?)?;
            if m.is_valid(0) && m.value(0) {
                out.extend_from_slice(&self.null_rows);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The two objects: (name, bytes).
    pub fn write(&self) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let mut values = self.values.clone();
        let mut starts = self.starts.clone();
        let mut counts = self.counts.clone();
        let mut rows = self.rows.clone();
        if !self.null_rows.is_empty() {
            values = arrow_select::concat::concat(&[
                values.as_ref(),
                arrow_array::new_null_array(values.data_type(), 1).as_ref(),
            ])?;
            starts.push(rows.len() as u64);
            counts.push(self.null_rows.len() as u32);
            rows.extend(&self.null_rows);
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("value", values.data_type().clone(), true),
            Field::new("start", DataType::UInt64, false),
            Field::new("count", DataType::UInt32, false),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                values,
                Arc::new(UInt64Array::from(starts)),
                Arc::new(UInt32Array::from(counts)),
            ],
        )?;
        let mut ipc = Vec::new();
        {
            let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut ipc, &schema)?;
            w.write(&b)?;
            w.finish()?;
        }
        let mut rb = Vec::with_capacity(rows.len() * 8);
        for r in rows {
            rb.extend(r.to_le_bytes());
        }
        Ok(vec![(VALUES, ipc), (ROWS, rb)])
    }

    pub fn open(values: &[u8], rows: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::internal(format!("scalar index object is corrupt: {why}"));
        let r = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(values), None)?;
        let mut batches = Vec::new();
        for b in r {
            batches.push(b?);
        }
        let b = batches.first().ok_or_else(|| bad("no batch"))?;
        let v = b.column(0).clone();
        let starts = b
            .column(1)
            .as_primitive::<arrow_array::types::UInt64Type>()
            .values()
            .to_vec();
        let counts = b
            .column(2)
            .as_primitive::<arrow_array::types::UInt32Type>()
            .values()
            .to_vec();
        if !rows.len().is_multiple_of(8) {
            return Err(bad("row ids not a multiple of 8 bytes"));
        }
        let all: Vec<u64> = rows
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        let mut idx = ScalarIndex {
            values: v.clone(),
            starts,
            counts,
            null_rows: Vec::new(),
            rows: all,
        };
        for (s, c) in idx.starts.iter().zip(&idx.counts) {
            if (*s as usize).saturating_add(*c as usize) > idx.rows.len() {
                return Err(bad("posting range outside the row ids"));
            }
        }
        if !v.is_empty() && v.is_null(v.len() - 1) {
            let last = v.len() - 1;
            let (s, c) = (idx.starts[last] as usize, idx.counts[last] as usize);
            idx.null_rows = idx.rows[s..s + c].to_vec();
            idx.values = v.slice(0, last);
            idx.starts.pop();
            idx.counts.pop();
        }
        Ok(idx)
    }
}

/// A predicate over a batch of index values.
pub type ValuePredicate<'a> = &'a dyn Fn(&RecordBatch) -> Result<BooleanArray>;

/// How a predicate can be looked up (see [`ScalarIndex::matching`]).
pub enum Shape<'a> {
    /// Contiguous in sorted order: the values not below `lower` and at
    /// most `upper`, each given as a predicate true on a prefix.
    Range {
        lower: Option<ValuePredicate<'a>>,
        upper: Option<ValuePredicate<'a>>,
    },
    /// Anything else: evaluated on every distinct value.
    Any,
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};

    fn eq_i64(v: i64) -> impl Fn(&RecordBatch) -> Result<BooleanArray> {
        move |b: &RecordBatch| {
            Ok(arrow_ord::cmp::eq(
                b.column(0),
                &arrow_array::Scalar::new(Int64Array::from(vec![v])),
            )?)
        }
    }
    fn lt_i64(v: i64) -> impl Fn(&RecordBatch) -> Result<BooleanArray> {
        move |b: &RecordBatch| {
            Ok(arrow_ord::cmp::lt(
                b.column(0),
                &arrow_array::Scalar::new(Int64Array::from(vec![v])),
            )?)
        }
    }
    fn le_i64(v: i64) -> impl Fn(&RecordBatch) -> Result<BooleanArray> {
        move |b: &RecordBatch| {
            Ok(arrow_ord::cmp::lt_eq(
                b.column(0),
                &arrow_array::Scalar::new(Int64Array::from(vec![v])),
            )?)
        }
    }

    #[test]
    fn lookups_agree_with_a_scan_and_survive_a_round_trip() {
        let vals: Vec<Option<i64>> = (0..1000)
            .map(|i| {
                if i % 17 == 0 {
                    None
                } else {
                    Some((i * 7919) % 101)
                }
            })
            .collect();
        let arr: ArrayRef = Arc::new(Int64Array::from(vals.clone()));
        let ids: Vec<u64> = (0..1000).map(|i| (3u64 << 32) | i).collect();
        let built = ScalarIndex::build(&ids, &arr).unwrap();
        let objs = built.write().unwrap();
        let idx = ScalarIndex::open(&objs[0].1, &objs[1].1).unwrap();
        assert_eq!(idx.values.len(), 101);
        let scan = |f: &dyn Fn(Option<i64>) -> bool| -> Vec<u64> {
            vals.iter()
                .enumerate()
                .filter(|(_, v)| f(**v))
                .map(|(i, _)| ids[i])
                .collect()
        };
        // Equality: range between "< v" and "<= v".
        let (l, u) = (lt_i64(42), le_i64(42));
        let got = idx
            .matching(
                "x",
                &eq_i64(42),
                Shape::Range {
                    lower: Some(&l),
                    upper: Some(&u),
                },
            )
            .unwrap();
        assert_eq!(got, scan(&|v| v == Some(42)));
        // Range 10 <= x < 20.
        let (l, u) = (lt_i64(10), lt_i64(20));
        let any = |b: &RecordBatch| -> Result<BooleanArray> {
            let a = lt_i64(20)(b)?;
            let c = arrow_ord::cmp::gt_eq(
                b.column(0),
                &arrow_array::Scalar::new(Int64Array::from(vec![10])),
            )?;
            Ok(arrow_arith::boolean::and(&a, &c)?)
        };
        let got = idx
            .matching(
                "x",
                &any,
                Shape::Range {
                    lower: Some(&l),
                    upper: Some(&u),
                },
            )
            .unwrap();
        assert_eq!(got, scan(&|v| v.is_some_and(|v| (10..20).contains(&v))));
        assert_eq!(idx.matching("x", &any, Shape::Any).unwrap(), got);
        // IS NULL.
        let is_null = |b: &RecordBatch| -> Result<BooleanArray> {
            Ok(arrow_arith::boolean::is_null(b.column(0))?)
        };
        assert_eq!(
            idx.matching("x", &is_null, Shape::Any).unwrap(),
            scan(&|v| v.is_none())
        );
    }

    #[test]
    fn label_lists_index_each_element_once_per_row() {
        use arrow_array::builder::{ListBuilder, StringBuilder};
        let mut b = ListBuilder::new(StringBuilder::new());
        for row in [
            Some(vec![Some("b"), Some("a"), Some("b")]),
            None,
            Some(vec![]),
            Some(vec![Some("a"), None]),
        ] {
            match row {
                Some(items) => {
                    for i in items {
                        b.values().append_option(i);
                    }
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        let lists: ArrayRef = Arc::new(b.finish());
        let idx = ScalarIndex::build_labels(&[10, 11, 12, 13], &lists).unwrap();
        assert_eq!(
            idx.values.as_string::<i32>().iter().collect::<Vec<_>>(),
            vec![Some("a"), Some("b")]
        );
        // "a": rows 10 and 13; "b": row 10 once; null element: row 13.
        assert_eq!(
            (idx.starts.clone(), idx.counts.clone()),
            (vec![0, 2], vec![2, 1])
        );
        assert_eq!(idx.rows, vec![10, 13, 10]);
        assert_eq!(idx.null_rows, vec![13]);
    }

    #[test]
    fn strings_group_and_sort() {
        let arr: ArrayRef = Arc::new(StringArray::from(vec![
            Some("b"),
            Some("a"),
            None,
            Some("b"),
        ]));
        let idx = ScalarIndex::build(&[0, 1, 2, 3], &arr).unwrap();
        assert_eq!(
            idx.values.as_string::<i32>().iter().collect::<Vec<_>>(),
            vec![Some("a"), Some("b")]
        );
        assert_eq!(idx.rows, vec![1, 0, 3]);
        assert_eq!(idx.null_rows, vec![2]);
    }
}
