//! SQL filter subset -> Arrow kernels.
//!
//! Grammar (case-insensitive keywords):
//! ```text
//! expr     := or
//! or       := and (OR and)*
//! and      := not (AND not)*
//! not      := NOT* pred
//! pred     := sum [cmp sum | IS [NOT] NULL | [NOT] IN (list) | [NOT] BETWEEN sum AND sum | [NOT] LIKE sum]
//! sum      := prod (('+'|'-') prod)*
//! prod     := unary (('*'|'/'|'%') unary)*
//! unary    := '-'* primary
//! primary  := literal | column | '(' expr ')' | CAST '(' expr AS type ')' | array_fn
//! array_fn := (ARRAY_HAS_ANY | ARRAY_HAS_ALL) '(' sum ',' ('[' consts ']' | MAKE_ARRAY '(' consts ')') ')'
//!           | (ARRAY_HAS | ARRAY_CONTAINS) '(' sum ',' const ')'
//! column   := ident ('.' ident)*          ident: name or `back-quoted name`
//! literal  := number | 'string' | TRUE | FALSE | NULL | DATE 'yyyy-mm-dd' | TIMESTAMP 'yyyy-mm-dd hh:mm:ss'
//! ```
//! The array functions test list membership as the reference's SQL does: a
//! null list gives NULL (but `array_has_all(l, [])` is true), a NULL needle
//! matches a null element (`array_has(l, NULL)` is NULL), and elements are
//! compared with needles as `=` compares them.
//! NULL follows SQL three-valued logic; a row passes a filter only when the
//! predicate is true (not null).
//!
//! Filters come from users, so no input may crash the process or take
//! unbounded time: parentheses nest at most [`MAX_DEPTH`] levels (deeper is an
//! `INVALID_FILTER` error naming the limit); chains of AND, OR, `+`/`-`,
//! `*`/`/`/`%`, NOT and unary minus of any length are loops, not recursion
//! (a run of NOTs or minuses is kept as one node with a count and applied by
//! parity, which is exact: see `eval.rs`); and error messages quote at most
//! [`QUOTE_CHARS`] characters of any user text. Terms of one AND/OR are
//! checked in reading order, so an error names the first failing term.

mod eval;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod hostile_tests;
mod parse;
pub mod plan;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType, Schema};

use crate::error::{quote, Error, Result, QUOTE_CHARS};
use eval::{Ctx, Val};
pub use parse::{Expr, Literal, MAX_DEPTH};

/// Our own reason text plus quoted fragments: bounded as a whole too, in case
/// a kernel's message repeats a value.
const REASON_CHARS: usize = 3 * QUOTE_CHARS;

fn invalid(sql: &str, pos: usize, text: &str, what: impl fmt::Display) -> Error {
    invalid_because(sql, pos, text, what.to_string())
}

// Kept out of line: inlined into the parser's recursive functions, its
// locals would enlarge every level's stack frame.
#[cold]
#[inline(never)]
fn invalid_because(sql: &str, pos: usize, text: &str, reason: String) -> Error {
    let reason = match reason.char_indices().nth(REASON_CHARS) {
        None => reason,
        Some((cut, _)) => format!("{}…", &reason[..cut]),
    };
    Error::InvalidFilter {
        filter: quote(sql),
        position: pos,
        token: quote(text),
        reason,
    }
}

/// A filter (or a value expression) parsed once and checked against a
/// table's schema: the expression, the top-level columns it reads and their
/// indices in the schema. Cheap to clone.
#[derive(Clone)]
pub struct CompiledFilter {
    sql: Arc<str>,
    expr: Arc<Expr>,
    columns: Arc<[String]>,
    indices: Arc<[usize]>,
}

impl fmt::Debug for CompiledFilter {
    // The expression may have 50,000 terms; the bounded text says enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledFilter")
            .field("sql", &quote(&self.sql))
            .field("columns", &self.columns)
            .finish()
    }
}

impl CompiledFilter {
    /// Parses `sql` and checks every column it reads exists in `schema`, so a
    /// typo fails before any I/O.
    pub fn new(sql: &str, schema: &Schema) -> Result<Self> {
        let expr = parse::parse(sql)?;
        let mut columns = Vec::new();
        parse::columns(&expr, &mut columns, &mut HashSet::new());
        let indices = columns
            .iter()
            .map(|c| {
                schema.index_of(c).map_err(|_| {
                    invalid(
                        sql,
                        sql.find(c.as_str()).unwrap_or(0),
                        c,
                        format!(
                            "no column '{}'; the table has: {}",
                            quote(c),
                            super::column_names(schema)
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CompiledFilter {
            sql: sql.into(),
            expr: Arc::new(expr),
            columns: columns.into(),
            indices: indices.into(),
        })
    }

    /// `None` for a missing or blank filter, which passes every row.
    pub fn optional(sql: Option<&str>, schema: &Schema) -> Result<Option<Self>> {
        match sql {
            Some(s) if !s.trim().is_empty() => Self::new(s, schema).map(Some),
            _ => Ok(None),
        }
    }

    /// The top-level columns the expression reads, in first-use order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Their indices in the schema the filter was compiled against.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    fn run(&self, batch: &RecordBatch) -> Result<Val> {
        self.run_with(batch, true)
    }

    fn run_with(&self, batch: &RecordBatch, use_sets: bool) -> Result<Val> {
        let cx = Ctx {
            sql: &self.sql,
            batch,
            use_sets,
        };
        eval::eval(&cx, &self.expr)
    }

    /// [`Self::evaluate`] without the hash-set shortcut, which tests compare
    /// with it.
    #[cfg(test)]
    fn evaluate_term_by_term(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        to_mask(&self.sql, self.run_with(batch, false)?, batch.num_rows())
    }

    /// The rows of `batch` (which holds at least [`Self::columns`]) the
    /// predicate passes; NULL counts as false.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        to_mask(&self.sql, self.run(batch)?, batch.num_rows())
    }

    /// The expression's value for each row of `batch` (for `UPDATE ... SET`
    /// and computed columns).
    pub fn evaluate_value(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        self.run(batch)?.into_rows(batch.num_rows())
    }
}

fn to_mask(sql: &str, v: Val, rows: usize) -> Result<BooleanArray> {
    let arr = v.into_rows(rows)?;
    let arr = match arr.data_type() {
        DataType::Boolean => arr,
        DataType::Null => Arc::new(BooleanArray::new_null(arr.len())) as ArrayRef,
        other => {
            return Err(invalid(
                sql,
                0,
                sql,
                format!("the filter is not a true/false condition (it gives {other})"),
            ))
        }
    };
    let b = arr
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| Error::internal("boolean cast"))?;
    // Null -> false.
    Ok(arrow_arith::boolean::and_kleene(
        b,
        &arrow_arith::boolean::is_not_null(b)?,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float32Array, Int32Array, StringArray};
    use arrow_schema::Field;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("x", DataType::Float32, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("my col", DataType::Int32, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![Some(1), Some(2), Some(3), None])),
                Arc::new(Float32Array::from(vec![0.5, 1.5, 2.5, 3.5])),
                Arc::new(StringArray::from(vec![
                    Some("apple"),
                    Some("banana"),
                    None,
                    Some("cherry"),
                ])),
                Arc::new(Int32Array::from(vec![10, 20, 30, 40])),
            ],
        )
        .unwrap()
    }

    fn rows(sql: &str) -> Vec<bool> {
        let b = batch();
        let f = CompiledFilter::new(sql, &b.schema()).unwrap();
        f.evaluate(&b).unwrap().iter().map(|v| v.unwrap()).collect()
    }

    #[test]
    fn comparisons_logic_and_arithmetic() {
        assert_eq!(rows("id > 1"), [false, true, true, false]);
        assert_eq!(rows("id >= 2 AND x < 2"), [false, true, false, false]);
        assert_eq!(
            rows("id = 1 OR name = 'cherry'"),
            [true, false, false, true]
        );
        assert_eq!(rows("NOT (id = 1)"), [false, true, true, false]);
        assert_eq!(rows("id * 2 + 1 = 5"), [false, true, false, false]);
        assert_eq!(rows("x > 1"), [false, true, true, true]);
        assert_eq!(rows("id % 2 = 1"), [true, false, true, false]);
        assert_eq!(rows("-id < -1"), [false, true, true, false]);
    }

    #[test]
    fn in_between_null_like_and_quoting() {
        assert_eq!(rows("id IN (1, 3)"), [true, false, true, false]);
        assert_eq!(rows("id NOT IN (1, 3)"), [false, true, false, false]);
        assert_eq!(rows("id BETWEEN 2 AND 3"), [false, true, true, false]);
        assert_eq!(rows("id IS NULL"), [false, false, false, true]);
        assert_eq!(rows("name IS NOT NULL"), [true, true, false, true]);
        assert_eq!(rows("name LIKE 'b%'"), [false, true, false, false]);
        assert_eq!(rows("name NOT LIKE '%a%'"), [false, false, false, true]);
        assert_eq!(rows("`my col` >= 30"), [false, false, true, true]);
        assert_eq!(rows("id = NULL"), [false, false, false, false]);
        assert_eq!(rows("true"), [true, true, true, true]);
    }

    /// The reference's answers (DataFusion's array functions) on the same
    /// lists: null lists, empty lists, null elements and needles.
    #[test]
    fn array_membership_functions() {
        use arrow_array::builder::{ListBuilder, StringBuilder};
        let mut b = ListBuilder::new(StringBuilder::new());
        for row in [
            Some(vec![Some("a"), Some("b")]),
            Some(vec![Some("b"), Some("c")]),
            Some(vec![]),
            None,
            Some(vec![Some("a"), None]),
            Some(vec![Some("c")]),
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
        let list: ArrayRef = Arc::new(b.finish());
        let schema = Arc::new(Schema::new(vec![Field::new(
            "tags",
            list.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![list]).unwrap();
        let pass = |sql: &str| -> Vec<usize> {
            let f = CompiledFilter::new(sql, &schema).unwrap();
            let m = f.evaluate(&batch).unwrap();
            (0..m.len()).filter(|i| m.value(*i)).collect()
        };
        assert_eq!(pass("array_has_any(tags, ['a', 'c'])"), [0, 1, 4, 5]);
        assert_eq!(pass("array_has_all(tags, ['a', 'b'])"), [0]);
        assert_eq!(pass("array_has(tags, 'a')"), [0, 4]);
        assert_eq!(pass("ARRAY_CONTAINS(tags, 'a')"), [0, 4]);
        assert_eq!(pass("NOT array_has_any(tags, ['a'])"), [1, 2, 5]);
        assert_eq!(pass("array_has_all(tags, [])"), [0, 1, 2, 3, 4, 5]);
        assert!(pass("array_has_any(tags, [])").is_empty());
        assert_eq!(pass("array_has_any(tags, ['a', NULL])"), [0, 4]);
        assert_eq!(pass("array_has_all(tags, ['a', NULL])"), [4]);
        assert!(pass("array_has(tags, NULL)").is_empty());
        assert_eq!(pass("array_has_any(tags, make_array('a'))"), [0, 4]);
        assert_eq!(pass("array_has_any(tags, ['a']) IS NULL"), [3]);
        assert_eq!(pass("array_has_any(tags, ['a']) = false"), [1, 2, 5]);
        let err = |sql: &str| match CompiledFilter::new(sql, &schema) {
            Err(e) => e,
            Ok(f) => f.evaluate(&batch).unwrap_err(),
        };
        let e = err("array_has(tags, 1)");
        assert_eq!(e.code(), "INVALID_FILTER");
        assert!(e.to_string().contains("list of Utf8"), "{e}");
        let e = err("array_has_any(tags, [tags])");
        assert!(e.to_string().contains("a constant"), "{e}");
        let e = err("array_has_any(tags, 'a')");
        assert!(e.to_string().contains("a list of constants"), "{e}");
    }

    #[test]
    fn errors_point_at_the_token() {
        let parse = parse::parse;
        let err = parse("id > > 3").unwrap_err();
        assert_eq!(err.code(), "INVALID_FILTER");
        assert!(
            err.to_string().contains("position 5") && err.to_string().contains("'>'"),
            "{err}"
        );
        let err = parse("id = 'open").unwrap_err();
        assert!(err.to_string().contains("unterminated"), "{err}");
        let err = CompiledFilter::new("nope = 1", &batch().schema()).unwrap_err();
        assert!(err.to_string().contains("no column 'nope'"), "{err}");
        let err = parse("id = 1 AND").unwrap_err();
        assert!(err.to_string().contains("ends early"), "{err}");
        let err = parse("id IS 3").unwrap_err();
        assert!(err.to_string().contains("NULL"), "{err}");
    }
}
