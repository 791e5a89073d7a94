//! Evaluation of a parsed filter on a record batch with Arrow kernels.
//!
//! The evaluator recurses only along the tree's depth, which the parser
//! bounds; n-ary AND/OR and arithmetic chains are loops. Long runs of
//! `col = literal` under one OR (and `col != literal` under one AND, and
//! `x [NOT] IN (literals)`) are answered with one hash lookup per row instead
//! of one kernel pass per term; when that shortcut meets anything it cannot
//! answer identically (an error, a type without a row encoding), the term-by-term
//! path runs instead, so results and errors are those of the terms as written.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Datum, Float64Array, Int64Array, NullArray, RecordBatch, Scalar,
    StringArray, StructArray,
};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{ArrowError, DataType, TimeUnit};

use super::invalid;
use super::parse::{ArithOp, ArrayFn, CmpOp, Expr, Literal};
use crate::error::{quote, Error, Result};

/// Fewer `x = literal` terms than this on one column are evaluated one by one:
/// building a hash set does not pay for itself below that.
const MIN_SET_TERMS: usize = 8;

/// A value during evaluation: a column (one entry per row) or a scalar.
#[derive(Clone)]
pub(super) enum Val {
    Array(ArrayRef),
    Scalar(ArrayRef),
}

impl Val {
    fn array(&self) -> &ArrayRef {
        match self {
            Val::Array(a) | Val::Scalar(a) => a,
        }
    }

    fn datum(&self) -> Box<dyn Datum + '_> {
        match self {
            Val::Array(a) => Box::new(a.clone()),
            Val::Scalar(a) => Box::new(Scalar::new(a.clone())),
        }
    }

    fn map(&self, f: impl FnOnce(&ArrayRef) -> Result<ArrayRef>) -> Result<Val> {
        Ok(match self {
            Val::Array(a) => Val::Array(f(a)?),
            Val::Scalar(a) => Val::Scalar(f(a)?),
        })
    }

    /// One entry per row of a batch of `rows` rows.
    pub(super) fn into_rows(self, rows: usize) -> Result<ArrayRef> {
        match self {
            Val::Array(a) => Ok(a),
            Val::Scalar(a) => {
                let idx = arrow_array::UInt32Array::from(vec![0u32; rows]);
                Ok(arrow_select::take::take(a.as_ref(), &idx, None)?)
            }
        }
    }
}

/// What evaluation needs besides the expression.
pub(super) struct Ctx<'a> {
    /// The filter text, for error messages.
    pub sql: &'a str,
    pub batch: &'a RecordBatch,
    /// Off only in tests, which compare the hash-set shortcut with the
    /// term-by-term path.
    pub use_sets: bool,
}

/// The recursion: a thin dispatch, so that each level of the tree costs only
/// the small frame of the one function handling its node (a single function
/// with every arm inlined takes a kilobyte per level).
pub(super) fn eval(cx: &Ctx, e: &Expr) -> Result<Val> {
    match e {
        Expr::Column(path) => column(cx, path),
        Expr::Literal(l) => literal(cx.sql, l),
        Expr::Compare(op, a, b) => eval_compare(cx, *op, a, b),
        Expr::And(terms) => logic_with_sets(cx, terms, true),
        Expr::Or(terms) => logic_with_sets(cx, terms, false),
        Expr::Arith(first, rest) => eval_arith(cx, first, rest),
        Expr::Not(a, times) => eval_not(cx, a, *times),
        Expr::Neg(a, times) => eval_neg(cx, a, *times),
        Expr::IsNull(a, negated) => eval_is_null(cx, a, *negated),
        Expr::InList(a, list, negated) => eval_in_list(cx, a, list, *negated),
        Expr::Between(a, lo, hi, negated) => eval_between(cx, a, lo, hi, *negated),
        Expr::Like(a, p, negated) => eval_like(cx, a, p, *negated),
        Expr::Cast(a, t) => eval_cast(cx, a, t),
        Expr::ArrayHas(f, a, needles) => eval_array_has(cx, *f, a, needles),
    }
}

/// A row's elements `[start, end)`; `None` for a null list.
type RowRange = Option<(usize, usize)>;

/// The flattened elements of a list value and each row's range in them
/// (`None` for a null list).
fn list_parts(a: &ArrayRef) -> Option<(ArrayRef, Vec<RowRange>)> {
    use arrow_array::cast::AsArray;
    let n = a.len();
    let valid = |i: usize| a.is_valid(i);
    match a.data_type() {
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let o = l.value_offsets();
            let r = (0..n)
                .map(|i| valid(i).then(|| (o[i] as usize, o[i + 1] as usize)))
                .collect();
            Some((l.values().clone(), r))
        }
        DataType::LargeList(_) => {
            let l = a.as_list::<i64>();
            let o = l.value_offsets();
            let r = (0..n)
                .map(|i| valid(i).then(|| (o[i] as usize, o[i + 1] as usize)))
                .collect();
            Some((l.values().clone(), r))
        }
        DataType::FixedSizeList(_, size) => {
            let l = a.as_fixed_size_list();
            let s = *size as usize;
            let off = l.offset();
            let r = (0..n)
                .map(|i| valid(i).then(|| ((off + i) * s, (off + i + 1) * s)))
                .collect();
            Some((l.values().clone(), r))
        }
        _ => None,
    }
}

/// Which of `elements` equal `needle`, as `=` compares them (a NULL needle
/// matches null elements); NULL comparisons count as false.
pub(super) fn element_matches(
    sql: &str,
    elements: &ArrayRef,
    needle: &Literal,
) -> Result<BooleanArray> {
    if matches!(needle, Literal::Null) {
        return Ok(is_null(elements.as_ref())?);
    }
    let et = unify(elements.data_type());
    let text = matches!(et, DataType::Utf8);
    if text
        && matches!(
            needle,
            Literal::Int(_) | Literal::Float(_) | Literal::Bool(_)
        )
    {
        return Err(invalid(
            sql,
            0,
            sql,
            format!("cannot look for {needle:?} in a list of {et}: compare like with like (quote the value)"),
        ));
    }
    let m = compare(
        sql,
        CmpOp::Eq,
        Val::Array(elements.clone()),
        literal(sql, needle)?,
    )?
    .into_rows(elements.len())?;
    let m = as_bool(&m)?;
    Ok(and_kleene(m, &is_not_null(m)?)?)
}

#[inline(never)]
fn eval_array_has(cx: &Ctx, f: ArrayFn, a: &Expr, needles: &[Literal]) -> Result<Val> {
    let name = match f {
        ArrayFn::Any => "array_has_any",
        ArrayFn::All => "array_has_all",
        ArrayFn::Has => "array_has",
    };
    let v = eval(cx, a)?;
    let Val::Array(arr) = &v else {
        return Err(invalid(
            cx.sql,
            0,
            cx.sql,
            format!("{name} needs a list column as its first argument"),
        ));
    };
    let Some((elements, ranges)) = list_parts(arr) else {
        return Err(invalid(
            cx.sql,
            0,
            cx.sql,
            format!(
                "{name} needs a list column as its first argument, not a column of {}",
                arr.data_type()
            ),
        ));
    };
    let rows = ranges.len();
    // Per needle, per row: whether the row's list holds it.
    let mut found: Vec<Vec<bool>> = Vec::with_capacity(needles.len());
    for n in needles {
        let m = element_matches(cx.sql, &elements, n)?;
        found.push(
            ranges
                .iter()
                .map(|r| r.is_some_and(|(s, e)| (s..e).any(|k| m.value(k))))
                .collect(),
        );
    }
    let out: BooleanArray = (0..rows)
        .map(|i| {
            let any = || found.iter().any(|f| f[i]);
            let all = || found.iter().all(|f| f[i]);
            match f {
                ArrayFn::All if needles.is_empty() => Some(true),
                _ if ranges[i].is_none() => None,
                ArrayFn::Has if matches!(needles.first(), Some(Literal::Null)) => None,
                ArrayFn::Any | ArrayFn::Has => Some(any()),
                ArrayFn::All => Some(all()),
            }
        })
        .collect();
    Ok(Val::Array(Arc::new(out)))
}

#[inline(never)]
fn eval_cast(cx: &Ctx, a: &Expr, t: &DataType) -> Result<Val> {
    let opts = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    eval(cx, a)?.map(|arr| {
        arrow_cast::cast_with_options(arr, t, &opts).map_err(|e| {
            invalid(
                cx.sql,
                0,
                cx.sql,
                format!("cannot cast {} to {t}: {e}", arr.data_type()),
            )
        })
    })
}

#[inline(never)]
fn eval_compare(cx: &Ctx, op: CmpOp, a: &Expr, b: &Expr) -> Result<Val> {
    let l = eval(cx, a)?;
    let r = eval(cx, b)?;
    compare(cx.sql, op, l, r)
}

#[inline(never)]
fn eval_arith(cx: &Ctx, first: &Expr, rest: &[(ArithOp, Expr)]) -> Result<Val> {
    let mut acc = eval(cx, first)?;
    for (op, x) in rest {
        let r = eval(cx, x)?;
        acc = arith(cx.sql, *op, acc, r)?;
    }
    Ok(acc)
}

#[inline(never)]
fn eval_not(cx: &Ctx, a: &Expr, times: usize) -> Result<Val> {
    let v = to_bool(cx.sql, eval(cx, a)?)?;
    // NOT NOT x is x in three-valued logic too (once x is boolean).
    if times % 2 == 1 {
        negate(&v)
    } else {
        Ok(v)
    }
}

#[inline(never)]
fn eval_neg(cx: &Ctx, a: &Expr, times: usize) -> Result<Val> {
    let v = eval(cx, a)?;
    // Negation is an involution wherever it succeeds (it fails on overflow,
    // on unsigned and on non-numeric types, all at the first application),
    // so applying it once or twice by parity gives the value and the error
    // of applying it `times` times.
    let once = neg(cx.sql, &v)?;
    if times % 2 == 1 {
        Ok(once)
    } else {
        neg(cx.sql, &once)
    }
}

#[inline(never)]
fn neg(sql: &str, v: &Val) -> Result<Val> {
    v.map(|arr| arrow_arith::numeric::neg(arr.as_ref()).map_err(|e| user(sql, "-", e)))
}

#[inline(never)]
fn eval_is_null(cx: &Ctx, a: &Expr, negated: bool) -> Result<Val> {
    let v = eval(cx, a)?;
    v.map(|arr| {
        Ok(Arc::new(if negated {
            is_not_null(arr.as_ref())?
        } else {
            is_null(arr.as_ref())?
        }) as ArrayRef)
    })
}

#[inline(never)]
fn eval_in_list(cx: &Ctx, a: &Expr, list: &[Expr], negated: bool) -> Result<Val> {
    let v = eval(cx, a)?;
    let res = match in_list_by_set(cx, &v, list) {
        Some(r) => r,
        None => {
            let mut acc: Option<Val> = None;
            for item in list {
                let eq = compare(cx.sql, CmpOp::Eq, v.clone(), eval(cx, item)?)?;
                acc = Some(match acc {
                    None => eq,
                    Some(prev) => kleene(cx.sql, false, prev, eq)?,
                });
            }
            acc.ok_or_else(|| Error::internal("an IN list without items"))?
        }
    };
    if negated {
        negate(&res)
    } else {
        Ok(res)
    }
}

/// A list of literals only, by hashing; `None` to go item by item.
#[inline(never)]
fn in_list_by_set(cx: &Ctx, v: &Val, list: &[Expr]) -> Option<Val> {
    if !cx.use_sets {
        return None;
    }
    let lits: Vec<&Literal> = list
        .iter()
        .map(|x| match x {
            Expr::Literal(l) => Some(l),
            _ => None,
        })
        .collect::<Option<_>>()?;
    eq_any(cx.sql, v, &lits).ok().flatten()
}

#[inline(never)]
fn eval_between(cx: &Ctx, a: &Expr, lo: &Expr, hi: &Expr, negated: bool) -> Result<Val> {
    let v = eval(cx, a)?;
    let ge = compare(cx.sql, CmpOp::GtEq, v.clone(), eval(cx, lo)?)?;
    let le = compare(cx.sql, CmpOp::LtEq, v, eval(cx, hi)?)?;
    let res = kleene(cx.sql, true, ge, le)?;
    if negated {
        negate(&res)
    } else {
        Ok(res)
    }
}

#[inline(never)]
fn eval_like(cx: &Ctx, a: &Expr, p: &Expr, negated: bool) -> Result<Val> {
    let v = to_utf8(cx.sql, eval(cx, a)?)?;
    let p = to_utf8(cx.sql, eval(cx, p)?)?;
    let out = if negated {
        arrow_string::like::nlike(&*v.datum(), &*p.datum())
    } else {
        arrow_string::like::like(&*v.datum(), &*p.datum())
    }
    .map_err(|e| user(cx.sql, "LIKE", e))?;
    Ok(wrap(&v, &p, Arc::new(out)))
}

/// A kernel's refusal of what the filter asks (overflow, division by zero, a
/// type it cannot handle, a bad LIKE pattern) is the filter's fault.
#[inline(never)]
fn user(sql: &str, op: &str, e: ArrowError) -> Error {
    invalid(sql, sql.find(op).unwrap_or(0), op, e)
}

#[inline(never)]
fn column(cx: &Ctx, path: &[String]) -> Result<Val> {
    let sql = cx.sql;
    let mut arr: ArrayRef = cx.batch.column_by_name(&path[0]).cloned().ok_or_else(|| {
        let c = quote(&path[0]);
        invalid(sql, 0, &path[0], format!("no column '{c}'"))
    })?;
    for part in &path[1..] {
        let at = sql.find(part.as_str()).unwrap_or(0);
        let s = arr.as_any().downcast_ref::<StructArray>().ok_or_else(|| {
            let (top, field) = (quote(&path[0]), quote(part));
            invalid(
                sql,
                at,
                part,
                format!("'{top}' is not a struct column, so it has no field '{field}'"),
            )
        })?;
        let child = s.column_by_name(part).cloned().ok_or_else(|| {
            let field = quote(part);
            invalid(sql, at, part, format!("the struct has no field '{field}'"))
        })?;
        // A null struct makes its fields null too.
        arr = match s.nulls() {
            Some(n) if n.null_count() > 0 => {
                let mask = BooleanArray::new(n.inner().clone(), None);
                arrow_select::nullif::nullif(&child, &not(&mask)?)?
            }
            _ => child,
        };
    }
    Ok(Val::Array(arr))
}

fn lit_array(l: &Literal) -> ArrayRef {
    match l {
        Literal::Int(i) => Arc::new(Int64Array::from(vec![*i])),
        Literal::Float(f) => Arc::new(Float64Array::from(vec![*f])),
        Literal::Str(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        Literal::Bool(b) => Arc::new(BooleanArray::from(vec![*b])),
        Literal::Null => Arc::new(NullArray::new(1)),
        Literal::Date(s) | Literal::Timestamp(s) => Arc::new(StringArray::from(vec![s.as_str()])),
    }
}

#[inline(never)]
fn literal(sql: &str, l: &Literal) -> Result<Val> {
    Ok(Val::Scalar(match l {
        Literal::Date(s) => cast_lit(sql, s, &lit_array(l), &DataType::Date32)?,
        Literal::Timestamp(s) => cast_lit(
            sql,
            s,
            &lit_array(l),
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )?,
        _ => lit_array(l),
    }))
}

fn wrap(l: &Val, r: &Val, out: ArrayRef) -> Val {
    match (l, r) {
        (Val::Scalar(_), Val::Scalar(_)) => Val::Scalar(out),
        _ => Val::Array(out),
    }
}

fn as_bool(a: &ArrayRef) -> Result<&BooleanArray> {
    a.as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| Error::internal("expected a boolean array"))
}

#[inline(never)]
fn negate(v: &Val) -> Result<Val> {
    v.map(|arr| Ok(Arc::new(not(as_bool(arr)?)?) as ArrayRef))
}

#[inline(never)]
pub(super) fn to_bool(sql: &str, v: Val) -> Result<Val> {
    match v.array().data_type() {
        DataType::Boolean => Ok(v),
        DataType::Null => v.map(|a| Ok(arrow_cast::cast(a.as_ref(), &DataType::Boolean)?)),
        other => Err(invalid(
            sql,
            0,
            sql,
            format!("AND/OR/NOT need true/false conditions, not {other}"),
        )),
    }
}

#[inline(never)]
fn to_utf8(sql: &str, v: Val) -> Result<Val> {
    match v.array().data_type() {
        DataType::Utf8 => Ok(v),
        DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) | DataType::Null => {
            v.map(|a| Ok(arrow_cast::cast(a.as_ref(), &DataType::Utf8)?))
        }
        other => Err(invalid(
            sql,
            0,
            sql,
            format!("LIKE needs text, not {other}"),
        )),
    }
}

fn cast_lit(sql: &str, text: &str, a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let opts = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow_cast::cast_with_options(a.as_ref(), to, &opts).map_err(|_| {
        let shown = quote(text);
        invalid(
            sql,
            sql.find(text).unwrap_or(0),
            text,
            format!("'{shown}' is not a valid {to}"),
        )
    })
}

fn unify(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, v) => unify(v),
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        other => other.clone(),
    }
}

/// Casts both sides to one type the kernels accept. A scalar side is cast
/// strictly (a literal that does not fit is an error), a column side leniently
/// (a value that does not convert compares as NULL).
#[inline(never)]
fn coerce(sql: &str, l: Val, r: Val) -> Result<(Val, Val)> {
    let lt = unify(l.array().data_type());
    let rt = unify(r.array().data_type());
    let target = if lt == rt {
        lt.clone()
    } else if lt == DataType::Null {
        rt.clone()
    } else if rt == DataType::Null {
        lt.clone()
    } else if lt.is_integer() && rt.is_integer() {
        DataType::Int64
    } else if lt.is_numeric() && rt.is_numeric() {
        DataType::Float64
    } else if lt == DataType::Utf8
        && (rt.is_temporal() || rt.is_numeric() || rt == DataType::Boolean)
    {
        rt.clone()
    } else if rt == DataType::Utf8
        && (lt.is_temporal() || lt.is_numeric() || lt == DataType::Boolean)
    {
        lt.clone()
    } else if lt.is_temporal() && rt.is_temporal() {
        DataType::Timestamp(TimeUnit::Microsecond, None)
    } else {
        return Err(invalid(
            sql,
            0,
            sql,
            format!("cannot compare {lt} with {rt}"),
        ));
    };
    let conv = |v: Val, from: &DataType| -> Result<Val> {
        if *from == target && *v.array().data_type() == target {
            return Ok(v);
        }
        let is_scalar = matches!(v, Val::Scalar(_));
        v.map(|a| {
            let opts = arrow_cast::CastOptions {
                safe: !is_scalar,
                ..Default::default()
            };
            arrow_cast::cast_with_options(a.as_ref(), &target, &opts).map_err(|_| {
                let shown =
                    arrow_cast::display::ArrayFormatter::try_new(a.as_ref(), &Default::default())
                        .map(|f| f.value(0).to_string())
                        .unwrap_or_default();
                invalid(
                    sql,
                    sql.find(&shown).unwrap_or(0),
                    &shown,
                    format!("{} is not a valid {target}", quote(&shown)),
                )
            })
        })
    };
    Ok((conv(l, &lt)?, conv(r, &rt)?))
}

/// Coerces both sides and applies `kernel`; anything with NULL is NULL.
#[inline(never)]
fn on_common_type(
    sql: &str,
    sym: &str,
    l: Val,
    r: Val,
    kernel: impl FnOnce(&dyn Datum, &dyn Datum) -> std::result::Result<ArrayRef, ArrowError>,
) -> Result<Val> {
    let (l, r) = coerce(sql, l, r)?;
    if l.array().data_type() == &DataType::Null {
        let len = match (&l, &r) {
            (Val::Array(a), _) | (_, Val::Array(a)) => a.len(),
            _ => 1,
        };
        return Ok(wrap(&l, &r, Arc::new(NullArray::new(len))));
    }
    let out = kernel(&*l.datum(), &*r.datum()).map_err(|e| user(sql, sym, e))?;
    Ok(wrap(&l, &r, out))
}

type Kernel<T> = fn(&dyn Datum, &dyn Datum) -> std::result::Result<T, ArrowError>;

#[inline(never)]
fn compare(sql: &str, op: CmpOp, l: Val, r: Val) -> Result<Val> {
    use arrow_ord::cmp;
    let (sym, f): (&str, Kernel<BooleanArray>) = match op {
        CmpOp::Eq => ("=", cmp::eq),
        CmpOp::NotEq => ("!=", cmp::neq),
        CmpOp::Lt => ("<", cmp::lt),
        CmpOp::LtEq => ("<=", cmp::lt_eq),
        CmpOp::Gt => (">", cmp::gt),
        CmpOp::GtEq => (">=", cmp::gt_eq),
    };
    on_common_type(sql, sym, l, r, |a, b| Ok(Arc::new(f(a, b)?) as ArrayRef))
}

#[inline(never)]
fn arith(sql: &str, op: ArithOp, l: Val, r: Val) -> Result<Val> {
    use arrow_arith::numeric;
    let (sym, f): (&str, Kernel<ArrayRef>) = match op {
        ArithOp::Add => ("+", numeric::add),
        ArithOp::Sub => ("-", numeric::sub),
        ArithOp::Mul => ("*", numeric::mul),
        ArithOp::Div => ("/", numeric::div),
        ArithOp::Rem => ("%", numeric::rem),
    };
    on_common_type(sql, sym, l, r, f)
}

/// `l AND r` or `l OR r` in three-valued logic.
#[inline(never)]
fn kleene(sql: &str, and: bool, l: Val, r: Val) -> Result<Val> {
    let (l, r) = (to_bool(sql, l)?, to_bool(sql, r)?);
    let (la, ra) = broadcast(&l, &r)?;
    let out = if and {
        and_kleene(as_bool(&la)?, as_bool(&ra)?)?
    } else {
        or_kleene(as_bool(&la)?, as_bool(&ra)?)?
    };
    Ok(wrap(&l, &r, Arc::new(out)))
}

/// Two boolean values as arrays of one length, for kernels without Datum.
fn broadcast(l: &Val, r: &Val) -> Result<(ArrayRef, ArrayRef)> {
    let len = match (l, r) {
        (Val::Array(a), _) | (_, Val::Array(a)) => a.len(),
        _ => 1,
    };
    Ok((l.clone().into_rows(len)?, r.clone().into_rows(len)?))
}

/// The terms of an n-ary AND/OR, left to right; each term must be a
/// condition, checked as soon as it is evaluated, so an error names the first
/// failing term in reading order.
fn logic(cx: &Ctx, terms: &[Expr], and: bool) -> Result<Val> {
    fold(cx.sql, and, terms.iter().map(|t| eval(cx, t)))?
        .ok_or_else(|| Error::internal("an AND/OR without terms"))
}

fn fold(sql: &str, and: bool, vals: impl Iterator<Item = Result<Val>>) -> Result<Option<Val>> {
    let mut acc: Option<Val> = None;
    for v in vals {
        let v = to_bool(sql, v?)?;
        acc = Some(match acc {
            None => v,
            Some(prev) => kleene(sql, and, prev, v)?,
        });
    }
    Ok(acc)
}

#[inline(never)]
fn logic_with_sets(cx: &Ctx, terms: &[Expr], and: bool) -> Result<Val> {
    if cx.use_sets {
        if let Some(v) = logic_by_sets(cx, terms, and)? {
            return Ok(v);
        }
    }
    logic(cx, terms, and)
}

/// `x OR c = 1 OR c = 2 ...` as `x OR c IN (1, 2, ...)`, and
/// `x AND c != 1 AND c != 2 ...` as `x AND NOT (c IN (1, 2, ...))` (De Morgan
/// holds in three-valued logic, and `c != v` is `NOT (c = v)`, NULL included).
/// OR and AND are commutative, so the grouped terms may be combined last.
///
/// The sets are built before any other term is evaluated: if one cannot be
/// (a literal that does not fit the column, a type without a row encoding),
/// this returns `None` having evaluated nothing, and the caller goes term by
/// term, which reports the error as written; nested ORs therefore never
/// evaluate a subtree twice. Once built, the grouped terms cannot fail, so
/// an error from the other terms, evaluated in order, is the one the term by
/// term path would report.
#[inline(never)]
fn logic_by_sets(cx: &Ctx, terms: &[Expr], and: bool) -> Result<Option<Val>> {
    let want = if and { CmpOp::NotEq } else { CmpOp::Eq };
    let mut groups: Vec<(&[String], Vec<&Literal>)> = Vec::new();
    let mut by_column: HashMap<&[String], usize> = HashMap::new();
    let mut others: Vec<&Expr> = Vec::new();
    for t in terms {
        match column_vs_literal(t, want) {
            Some((path, lit)) => {
                let g = *by_column.entry(path).or_insert_with(|| {
                    groups.push((path, Vec::new()));
                    groups.len() - 1
                });
                groups[g].1.push(lit);
            }
            None => others.push(t),
        }
    }
    if !groups.iter().any(|(_, lits)| lits.len() >= MIN_SET_TERMS) {
        return Ok(None);
    }
    let mut hits = Vec::with_capacity(groups.len());
    for (path, lits) in &groups {
        let Ok(v) = column(cx, path) else {
            return Ok(None);
        };
        match eq_any(cx.sql, &v, lits) {
            Ok(Some(hit)) => hits.push(if and { negate(&hit)? } else { hit }),
            Ok(None) | Err(_) => return Ok(None),
        }
    }
    let vals = others
        .into_iter()
        .map(|t| eval(cx, t))
        .chain(hits.into_iter().map(Ok));
    fold(cx.sql, and, vals)
}

/// `column <op> literal` or `literal <op> column`.
fn column_vs_literal(e: &Expr, want: CmpOp) -> Option<(&[String], &Literal)> {
    match e {
        Expr::Compare(op, a, b) if *op == want => match (a.as_ref(), b.as_ref()) {
            (Expr::Column(p), Expr::Literal(l)) | (Expr::Literal(l), Expr::Column(p)) => {
                Some((p.as_slice(), l))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `v = l1 OR v = l2 OR ...` by hashing: per row, NULL when `v` is NULL, true
/// when `v` equals a literal, else false (NULL if a literal is NULL), which is
/// what the terms give one by one. Literals of one kind share one cast to the
/// common type, so they share one strict check: any failure returns an error
/// and the caller evaluates the terms one by one to report it as written.
/// `None` when the type has no row encoding.
#[inline(never)]
fn eq_any(sql: &str, v: &Val, lits: &[&Literal]) -> Result<Option<Val>> {
    let mut ints = Vec::new();
    let mut floats = Vec::new();
    let mut strs = Vec::new();
    let mut bools = Vec::new();
    let mut dates = Vec::new();
    let mut stamps = Vec::new();
    let mut null = false;
    for l in lits {
        match l {
            Literal::Int(i) => ints.push(*i),
            Literal::Float(f) => floats.push(*f),
            Literal::Str(s) => strs.push(s.as_str()),
            Literal::Bool(b) => bools.push(*b),
            Literal::Date(s) => dates.push(s.as_str()),
            Literal::Timestamp(s) => stamps.push(s.as_str()),
            Literal::Null => null = true,
        }
    }
    let strict = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut kinds: Vec<ArrayRef> = Vec::new();
    if !ints.is_empty() {
        kinds.push(Arc::new(Int64Array::from(ints)));
    }
    if !floats.is_empty() {
        kinds.push(Arc::new(Float64Array::from(floats)));
    }
    if !strs.is_empty() {
        kinds.push(Arc::new(StringArray::from(strs)));
    }
    if !bools.is_empty() {
        kinds.push(Arc::new(BooleanArray::from(bools)));
    }
    for (texts, to) in [
        (dates, DataType::Date32),
        (stamps, DataType::Timestamp(TimeUnit::Microsecond, None)),
    ] {
        if !texts.is_empty() {
            let a = StringArray::from(texts);
            kinds.push(arrow_cast::cast_with_options(&a, &to, &strict)?);
        }
    }
    if null {
        kinds.push(Arc::new(NullArray::new(1)));
    }
    let rows = v.array().len();
    let mut acc: Option<BooleanArray> = None;
    for lits in kinds {
        let lit_is_null = lits.data_type() == &DataType::Null;
        let (col, lits) = coerce(sql, v.clone(), Val::Scalar(lits))?;
        let hit = if lit_is_null || col.array().data_type() == &DataType::Null {
            BooleanArray::new_null(rows)
        } else {
            match members(col.array(), lits.array())? {
                Some(h) => h,
                None => return Ok(None),
            }
        };
        acc = Some(match acc {
            None => hit,
            Some(prev) => or_kleene(&prev, &hit)?,
        });
    }
    let Some(out) = acc else {
        return Ok(None);
    };
    let out: ArrayRef = Arc::new(out);
    Ok(Some(match v {
        Val::Array(_) => Val::Array(out),
        Val::Scalar(_) => Val::Scalar(out),
    }))
}

/// Per entry of `col`: NULL if it is NULL, else whether it is among `set`.
/// Equal row encodings are exactly equal values (floats by bit pattern, as
/// the comparison kernels compare them).
#[inline(never)]
fn members(col: &ArrayRef, set: &ArrayRef) -> Result<Option<BooleanArray>> {
    let Ok(conv) = RowConverter::new(vec![SortField::new(col.data_type().clone())]) else {
        return Ok(None);
    };
    let set_rows = conv.convert_columns(std::slice::from_ref(set))?;
    let wanted: HashSet<&[u8]> = (0..set.len())
        .filter(|i| set.is_valid(*i))
        .map(|i| set_rows.row(i).data())
        .collect();
    let col_rows = conv.convert_columns(std::slice::from_ref(col))?;
    Ok(Some(
        (0..col.len())
            .map(|i| {
                col.is_valid(i)
                    .then(|| wanted.contains(col_rows.row(i).data()))
            })
            .collect(),
    ))
}
