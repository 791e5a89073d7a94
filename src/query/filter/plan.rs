//! Index-aware planning: the top-level AND terms of a filter that read one
//! column, each as a filter of its own, with a lookup shape for sorted
//! values. A scalar index answers such a term exactly by evaluating it on
//! the index's distinct values (see `crate::index::scalar`); the scan then
//! evaluates the whole filter on the candidate rows only, so the result is
//! the scan's whatever the index returns beyond the true matches.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_schema::{DataType, Schema};

use super::parse::{self, ArrayFn, CmpOp, Expr, Literal};
use super::CompiledFilter;
use crate::error::Result;

/// One AND term of a filter that reads only `column`.
pub struct IndexTerm {
    pub column: String,
    /// The term itself.
    pub term: CompiledFilter,
    /// For a comparison or BETWEEN with constants on an ordered type: the
    /// predicates true on the sorted values below the range, and on the
    /// values up to its end (see `crate::index::scalar::Shape::Range`).
    pub range: Option<(Option<CompiledFilter>, Option<CompiledFilter>)>,
    /// For `array_has_any` / `array_has_all` / `array_has` on a list
    /// column: the lookups a LABEL_LIST index answers (then `range` is None).
    pub labels: Option<Labels>,
}

/// A list-membership term as element lookups: the rows holding any needle
/// (`all` false) or every needle (`all` true).
pub struct Labels {
    pub all: bool,
    pub needles: Vec<Needle>,
}

/// One needle (a NULL needle matches null elements; see
/// [`CompiledFilter::element_matches`]), with the sorted-values range of
/// the elements equal to it when the needle orders like the elements.
pub struct Needle {
    pub value: Literal,
    pub range: Option<(Option<CompiledFilter>, Option<CompiledFilter>)>,
}

impl CompiledFilter {
    fn with_expr(&self, expr: Expr, schema: &Schema) -> Result<CompiledFilter> {
        let mut columns = Vec::new();
        parse::columns(&expr, &mut columns, &mut HashSet::new());
        let indices = columns
            .iter()
            .map(|c| Ok(schema.index_of(c)?))
            .collect::<Result<Vec<_>>>()?;
        Ok(CompiledFilter {
            sql: self.sql.clone(),
            expr: Arc::new(expr),
            columns: columns.into(),
            indices: indices.into(),
        })
    }

    /// A short text of this (sub)filter for plans: the filter's text when
    /// it is the whole filter, else the term's shape.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        sql_of(&self.expr, &mut out);
        crate::error::quote(&out)
    }

    /// Which of `elements` (a list column's element values) equal `needle`
    /// exactly as this filter's array functions compare them.
    pub fn element_matches(
        &self,
        elements: &arrow_array::ArrayRef,
        needle: &Literal,
    ) -> Result<arrow_array::BooleanArray> {
        super::eval::element_matches(&self.sql, elements, needle)
    }

    /// The AND terms of this filter that read exactly one top-level column.
    pub fn index_terms(&self, schema: &Schema) -> Vec<IndexTerm> {
        let terms: Vec<&Expr> = match self.expr.as_ref() {
            Expr::And(ts) => ts.iter().collect(),
            e => vec![e],
        };
        let mut out = Vec::new();
        for t in terms {
            let mut cols = Vec::new();
            parse::columns(t, &mut cols, &mut HashSet::new());
            let [col] = cols.as_slice() else { continue };
            if !single_paths(t, col) {
                continue;
            }
            let Ok(term) = self.with_expr(t.clone(), schema) else {
                continue;
            };
            let dt = match schema.field_with_name(col) {
                Ok(f) => f.data_type().clone(),
                Err(_) => continue,
            };
            let mk_range = |r: Option<(Option<Expr>, Option<Expr>)>| {
                r.and_then(|(lo, hi)| {
                    let mk = |e: Option<Expr>| match e {
                        Some(e) => self.with_expr(e, schema).map(Some),
                        None => Ok(None),
                    };
                    Some((mk(lo).ok()?, mk(hi).ok()?))
                })
            };
            let labels = match t {
                Expr::ArrayHas(f, c, needles) if matches!(c.as_ref(), Expr::Column(_)) => {
                    let Some(et) = element_type(&dt) else {
                        continue;
                    };
                    let mut ns = Vec::new();
                    for l in needles {
                        ns.push(Needle {
                            value: l.clone(),
                            range: mk_range(range_of(&cmp(CmpOp::Eq, c, l), &et)),
                        });
                    }
                    Some(Labels {
                        all: *f == ArrayFn::All,
                        needles: ns,
                    })
                }
                Expr::ArrayHas(..) => continue,
                _ => None,
            };
            let range = if labels.is_some() {
                None
            } else {
                mk_range(range_of(t, &dt))
            };
            out.push(IndexTerm {
                column: col.clone(),
                term,
                range,
                labels,
            });
        }
        out
    }
}

fn lit_sql(l: &Literal, out: &mut String) {
    match l {
        Literal::Int(i) => out.push_str(&i.to_string()),
        Literal::Float(f) => out.push_str(&f.to_string()),
        Literal::Str(s) => out.push_str(&format!("'{}'", s.replace('\'', "''"))),
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::Null => out.push_str("NULL"),
        Literal::Date(s) => out.push_str(&format!("DATE '{s}'")),
        Literal::Timestamp(s) => out.push_str(&format!("TIMESTAMP '{s}'")),
    }
}

/// SQL text of an expression (for plans; recursion bounded by the
/// parser's depth limit).
fn sql_of(e: &Expr, out: &mut String) {
    let list = |v: &[Expr], sep: &str, out: &mut String| {
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push('(');
            sql_of(x, out);
            out.push(')');
        }
    };
    match e {
        Expr::Column(p) => out.push_str(&p.join(".")),
        Expr::Literal(l) => lit_sql(l, out),
        Expr::Compare(op, a, b) => {
            sql_of(a, out);
            out.push_str(match op {
                CmpOp::Eq => " = ",
                CmpOp::NotEq => " != ",
                CmpOp::Lt => " < ",
                CmpOp::LtEq => " <= ",
                CmpOp::Gt => " > ",
                CmpOp::GtEq => " >= ",
            });
            sql_of(b, out);
        }
        Expr::And(v) => list(v, " AND ", out),
        Expr::Or(v) => list(v, " OR ", out),
        Expr::IsNull(a, neg) => {
            sql_of(a, out);
            out.push_str(if *neg { " IS NOT NULL" } else { " IS NULL" });
        }
        Expr::InList(a, v, neg) => {
            sql_of(a, out);
            out.push_str(if *neg { " NOT IN (" } else { " IN (" });
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                sql_of(x, out);
            }
            out.push(')');
        }
        Expr::Between(a, lo, hi, neg) => {
            sql_of(a, out);
            out.push_str(if *neg { " NOT BETWEEN " } else { " BETWEEN " });
            sql_of(lo, out);
            out.push_str(" AND ");
            sql_of(hi, out);
        }
        Expr::ArrayHas(f, a, needles) => {
            out.push_str(match f {
                ArrayFn::Any => "array_has_any(",
                ArrayFn::All => "array_has_all(",
                ArrayFn::Has => "array_has(",
            });
            sql_of(a, out);
            out.push_str(", ");
            if *f != ArrayFn::Has {
                out.push('[');
            }
            for (i, l) in needles.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                lit_sql(l, out);
            }
            if *f != ArrayFn::Has {
                out.push(']');
            }
            out.push(')');
        }
        // Anything else reads as its shape.
        other => out.push_str(&format!("{other:?}")),
    }
}

/// The element type of a list type.
fn element_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type().clone())
        }
        _ => None,
    }
}

/// Every column reference in `e` is the plain top-level `col` (no nested field).
fn single_paths(e: &Expr, col: &str) -> bool {
    match e {
        Expr::Column(p) => p.len() == 1 && p[0] == col,
        Expr::Literal(_) => true,
        Expr::Compare(_, a, b) => single_paths(a, col) && single_paths(b, col),
        Expr::And(v) | Expr::Or(v) => v.iter().all(|x| single_paths(x, col)),
        Expr::Arith(a, rest) => {
            single_paths(a, col) && rest.iter().all(|(_, x)| single_paths(x, col))
        }
        Expr::Not(a, _) | Expr::Neg(a, _) | Expr::IsNull(a, _) | Expr::Cast(a, _) => {
            single_paths(a, col)
        }
        Expr::InList(a, v, _) => single_paths(a, col) && v.iter().all(|x| single_paths(x, col)),
        Expr::Between(a, b, c, _) => {
            single_paths(a, col) && single_paths(b, col) && single_paths(c, col)
        }
        Expr::Like(a, b, _) => single_paths(a, col) && single_paths(b, col),
        Expr::ArrayHas(_, a, _) => single_paths(a, col),
    }
}

/// Whether comparing a column of `dt` with `l` orders as the column's sort
/// order does (so a comparison is true on a contiguous run of sorted values).
fn ordered(dt: &DataType, l: &Literal) -> bool {
    use DataType::*;
    match l {
        Literal::Int(_) | Literal::Float(_) => matches!(
            dt,
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64
        ),
        Literal::Str(_) => matches!(dt, Utf8 | LargeUtf8),
        Literal::Date(_) | Literal::Timestamp(_) => matches!(dt, Date32 | Date64 | Timestamp(_, _)),
        Literal::Bool(_) => matches!(dt, Boolean),
        Literal::Null => false,
    }
}

fn cmp(op: CmpOp, c: &Expr, l: &Literal) -> Expr {
    Expr::Compare(op, Box::new(c.clone()), Box::new(Expr::Literal(l.clone())))
}

/// (below the range, up to its end) for `col op literal` and
/// `col BETWEEN a AND b`.
fn range_of(e: &Expr, dt: &DataType) -> Option<(Option<Expr>, Option<Expr>)> {
    match e {
        Expr::Compare(op, a, b) => {
            let (c, l, op) = match (a.as_ref(), b.as_ref()) {
                (c @ Expr::Column(_), Expr::Literal(l)) => (c, l, *op),
                (Expr::Literal(l), c @ Expr::Column(_)) => (
                    c,
                    l,
                    match op {
                        CmpOp::Lt => CmpOp::Gt,
                        CmpOp::LtEq => CmpOp::GtEq,
                        CmpOp::Gt => CmpOp::Lt,
                        CmpOp::GtEq => CmpOp::LtEq,
                        o => *o,
                    },
                ),
                _ => return None,
            };
            if !ordered(dt, l) {
                return None;
            }
            Some(match op {
                CmpOp::Eq => (Some(cmp(CmpOp::Lt, c, l)), Some(cmp(CmpOp::LtEq, c, l))),
                CmpOp::Lt => (None, Some(cmp(CmpOp::Lt, c, l))),
                CmpOp::LtEq => (None, Some(cmp(CmpOp::LtEq, c, l))),
                CmpOp::Gt => (Some(cmp(CmpOp::LtEq, c, l)), None),
                CmpOp::GtEq => (Some(cmp(CmpOp::Lt, c, l)), None),
                CmpOp::NotEq => return None,
            })
        }
        Expr::Between(c, lo, hi, false) => match (c.as_ref(), lo.as_ref(), hi.as_ref()) {
            (Expr::Column(_), Expr::Literal(a), Expr::Literal(b))
                if ordered(dt, a) && ordered(dt, b) =>
            {
                Some((Some(cmp(CmpOp::Lt, c, a)), Some(cmp(CmpOp::LtEq, c, b))))
            }
            _ => None,
        },
        _ => None,
    }
}
