//! SQL filter subset -> Arrow kernels.
//!
//! Grammar (case-insensitive keywords):
//! ```text
//! expr     := or
//! or       := and (OR and)*
//! and      := not (AND not)*
//! not      := NOT not | pred
//! pred     := sum [cmp sum | IS [NOT] NULL | [NOT] IN (list) | [NOT] BETWEEN sum AND sum | [NOT] LIKE sum]
//! sum      := prod (('+'|'-') prod)*
//! prod     := unary (('*'|'/'|'%') unary)*
//! unary    := '-' unary | primary
//! primary  := literal | column | '(' expr ')'
//! column   := ident ('.' ident)*          ident: name or `back-quoted name`
//! literal  := number | 'string' | TRUE | FALSE | NULL | DATE 'yyyy-mm-dd' | TIMESTAMP 'yyyy-mm-dd hh:mm:ss'
//! ```
//! NULL follows SQL three-valued logic; a row passes a filter only when the
//! predicate is true (not null).

use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Datum, Float64Array, Int64Array, NullArray, RecordBatch, Scalar,
    StringArray, StructArray,
};
use arrow_schema::{DataType, Schema, TimeUnit};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    Date(String),
    Timestamp(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Column(Vec<String>),
    Literal(Literal),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    IsNull(Box<Expr>, bool),
    InList(Box<Expr>, Vec<Expr>, bool),
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    Like(Box<Expr>, Box<Expr>, bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Quoted(String),
    Num(String),
    Str(String),
    Op(&'static str),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
    text: String,
}

fn invalid(sql: &str, pos: usize, text: &str, what: impl std::fmt::Display) -> Error {
    Error::InvalidFilter {
        filter: sql.to_string(),
        position: pos,
        token: text.to_string(),
        reason: what.to_string(),
    }
}

fn tokenize(sql: &str) -> Result<Vec<Token>> {
    let chars: Vec<(usize, char)> = sql.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || chars[i].1 == '_') {
                i += 1;
            }
            Tok::Ident(chars[start..i].iter().map(|(_, c)| c).collect())
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit()))
        {
            while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                i += 1;
            }
            if i < chars.len() && matches!(chars[i].1, 'e' | 'E') {
                let save = i;
                i += 1;
                if i < chars.len() && matches!(chars[i].1, '+' | '-') {
                    i += 1;
                }
                if i < chars.len() && chars[i].1.is_ascii_digit() {
                    while i < chars.len() && chars[i].1.is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    i = save;
                }
            }
            Tok::Num(chars[start..i].iter().map(|(_, c)| c).collect())
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(invalid(
                            sql,
                            pos,
                            "'",
                            "unterminated string literal; close it with '",
                        ))
                    }
                    Some((_, '\'')) if chars.get(i + 1).is_some_and(|(_, c)| *c == '\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some((_, '\'')) => {
                        i += 1;
                        break;
                    }
                    Some((_, ch)) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            Tok::Str(s)
        } else if c == '`' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(invalid(sql, pos, "`", "unterminated `quoted` column name"))
                    }
                    Some((_, '`')) if chars.get(i + 1).is_some_and(|(_, c)| *c == '`') => {
                        s.push('`');
                        i += 2;
                    }
                    Some((_, '`')) => {
                        i += 1;
                        break;
                    }
                    Some((_, ch)) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            Tok::Quoted(s)
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())]
                .iter()
                .map(|(_, c)| c)
                .collect();
            let op = ["<=", ">=", "!=", "<>", "=="]
                .iter()
                .find(|o| **o == two)
                .copied();
            if let Some(op) = op {
                i += 2;
                Tok::Op(op)
            } else {
                let op = match c {
                    '=' => "=",
                    '<' => "<",
                    '>' => ">",
                    '+' => "+",
                    '-' => "-",
                    '*' => "*",
                    '/' => "/",
                    '%' => "%",
                    '(' => "(",
                    ')' => ")",
                    ',' => ",",
                    '.' => ".",
                    other => {
                        return Err(invalid(
                            sql,
                            pos,
                            &other.to_string(),
                            format!("unexpected character '{other}'"),
                        ))
                    }
                };
                i += 1;
                Tok::Op(op)
            }
        };
        let end = chars.get(i).map(|(p, _)| *p).unwrap_or(sql.len());
        out.push(Token {
            tok,
            pos,
            text: sql[pos..end].to_string(),
        });
    }
    Ok(out)
}

struct Parser<'a> {
    sql: &'a str,
    toks: Vec<Token>,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn err_here(&self, what: &str) -> Error {
        match self.peek() {
            Some(t) => invalid(
                self.sql,
                t.pos,
                &t.text,
                format!("unexpected '{}'; expected {what}", t.text),
            ),
            None => invalid(
                self.sql,
                self.sql.len(),
                "",
                format!("the filter ends early; expected {what}"),
            ),
        }
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(s), .. }) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.keyword(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Op(o), .. }) if *o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.op(op) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.err_here(&format!("'{op}'")))
        }
    }

    fn expr(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.eat_keyword("OR") {
            let right = self.and()?;
            left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.not()?;
        while self.eat_keyword("AND") {
            let right = self.not()?;
            left = Expr::Binary(BinOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr> {
        if self.eat_keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.pred()
    }

    fn pred(&mut self) -> Result<Expr> {
        let left = self.sum()?;
        let cmp = [
            ("=", BinOp::Eq),
            ("==", BinOp::Eq),
            ("!=", BinOp::NotEq),
            ("<>", BinOp::NotEq),
            ("<=", BinOp::LtEq),
            (">=", BinOp::GtEq),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ];
        for (sym, op) in cmp {
            if self.eat_op(sym) {
                let right = self.sum()?;
                return Ok(Expr::Binary(op, Box::new(left), Box::new(right)));
            }
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if !self.eat_keyword("NULL") {
                return Err(self.err_here("NULL after IS [NOT]"));
            }
            return Ok(Expr::IsNull(Box::new(left), negated));
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            self.expect_op("(")?;
            let mut list = vec![self.expr()?];
            while self.eat_op(",") {
                list.push(self.expr()?);
            }
            self.expect_op(")")?;
            return Ok(Expr::InList(Box::new(left), list, negated));
        }
        if self.eat_keyword("BETWEEN") {
            let lo = self.sum()?;
            if !self.eat_keyword("AND") {
                return Err(self.err_here("AND in BETWEEN ... AND ..."));
            }
            let hi = self.sum()?;
            return Ok(Expr::Between(
                Box::new(left),
                Box::new(lo),
                Box::new(hi),
                negated,
            ));
        }
        if self.eat_keyword("LIKE") {
            let pat = self.sum()?;
            return Ok(Expr::Like(Box::new(left), Box::new(pat), negated));
        }
        if negated {
            return Err(self.err_here("IN, BETWEEN or LIKE after NOT"));
        }
        Ok(left)
    }

    fn sum(&mut self) -> Result<Expr> {
        let mut left = self.prod()?;
        loop {
            let op = if self.eat_op("+") {
                BinOp::Add
            } else if self.eat_op("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            let right = self.prod()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn prod(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_op("*") {
                BinOp::Mul
            } else if self.eat_op("/") {
                BinOp::Div
            } else if self.eat_op("%") {
                BinOp::Rem
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.eat_op("-") {
            return Ok(match self.unary()? {
                Expr::Literal(Literal::Int(i)) => Expr::Literal(Literal::Int(-i)),
                Expr::Literal(Literal::Float(f)) => Expr::Literal(Literal::Float(-f)),
                e => Expr::Neg(Box::new(e)),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.err_here("a value or a column"));
        };
        match &t.tok {
            Tok::Num(n) => {
                self.i += 1;
                if let Ok(i) = n.parse::<i64>() {
                    Ok(Expr::Literal(Literal::Int(i)))
                } else {
                    n.parse::<f64>()
                        .map(|f| Expr::Literal(Literal::Float(f)))
                        .map_err(|_| invalid(self.sql, t.pos, &t.text, "not a number"))
                }
            }
            Tok::Str(s) => {
                self.i += 1;
                Ok(Expr::Literal(Literal::Str(s.clone())))
            }
            Tok::Op("(") => {
                self.i += 1;
                let e = self.expr()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Ident(word) => {
                let upper = word.to_ascii_uppercase();
                match upper.as_str() {
                    "TRUE" => {
                        self.i += 1;
                        Ok(Expr::Literal(Literal::Bool(true)))
                    }
                    "FALSE" => {
                        self.i += 1;
                        Ok(Expr::Literal(Literal::Bool(false)))
                    }
                    "NULL" => {
                        self.i += 1;
                        Ok(Expr::Literal(Literal::Null))
                    }
                    "DATE" | "TIMESTAMP"
                        if matches!(
                            self.toks.get(self.i + 1),
                            Some(Token {
                                tok: Tok::Str(_),
                                ..
                            })
                        ) =>
                    {
                        self.i += 1;
                        let Some(Token {
                            tok: Tok::Str(s), ..
                        }) = self.toks.get(self.i).cloned()
                        else {
                            return Err(self.err_here("a quoted date"));
                        };
                        self.i += 1;
                        Ok(Expr::Literal(if upper == "DATE" {
                            Literal::Date(s)
                        } else {
                            Literal::Timestamp(s)
                        }))
                    }
                    "AND" | "OR" | "NOT" | "IN" | "IS" | "BETWEEN" | "LIKE" => {
                        Err(self.err_here("a value or a column"))
                    }
                    _ => self.column(),
                }
            }
            Tok::Quoted(_) => self.column(),
            _ => Err(self.err_here("a value or a column")),
        }
    }

    fn column(&mut self) -> Result<Expr> {
        let mut path = Vec::new();
        loop {
            match self.peek().map(|t| t.tok.clone()) {
                Some(Tok::Ident(s)) | Some(Tok::Quoted(s)) => {
                    self.i += 1;
                    path.push(s);
                }
                _ => return Err(self.err_here("a column name")),
            }
            if !self.eat_op(".") {
                return Ok(Expr::Column(path));
            }
        }
    }
}

/// Parses a filter; errors point at the offending token.
pub fn parse(sql: &str) -> Result<Expr> {
    let toks = tokenize(sql)?;
    if toks.is_empty() {
        return Err(invalid(sql, 0, "", "the filter is empty"));
    }
    let mut p = Parser { sql, toks, i: 0 };
    let e = p.expr()?;
    if p.i < p.toks.len() {
        return Err(p.err_here("AND, OR or the end of the filter"));
    }
    Ok(e)
}

/// The top-level columns an expression reads.
pub fn columns(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Column(path) => {
            if !out.contains(&path[0]) {
                out.push(path[0].clone());
            }
        }
        Expr::Literal(_) => {}
        Expr::Binary(_, a, b) | Expr::Like(a, b, _) => {
            columns(a, out);
            columns(b, out);
        }
        Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) => columns(a, out),
        Expr::InList(a, list, _) => {
            columns(a, out);
            list.iter().for_each(|x| columns(x, out));
        }
        Expr::Between(a, b, c, _) => {
            columns(a, out);
            columns(b, out);
            columns(c, out);
        }
    }
}

/// Checks every column exists in `schema` (so a typo fails before any I/O).
pub fn check_columns(sql: &str, e: &Expr, schema: &Schema) -> Result<()> {
    let mut cols = Vec::new();
    columns(e, &mut cols);
    for c in cols {
        if schema.field_with_name(&c).is_err() {
            let pos = sql.find(c.as_str()).unwrap_or(0);
            return Err(invalid(
                sql,
                pos,
                &c,
                format!(
                    "no column '{c}'; the table has: {}",
                    super::column_names(schema)
                ),
            ));
        }
    }
    Ok(())
}

/// A value during evaluation: a column (one entry per row) or a scalar.
#[derive(Clone)]
enum Val {
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
}

/// Evaluates a predicate on a batch; nulls count as false.
pub fn evaluate(sql: &str, e: &Expr, batch: &RecordBatch) -> Result<BooleanArray> {
    let v = eval(sql, e, batch)?;
    let arr = match &v {
        Val::Array(a) => a.clone(),
        Val::Scalar(a) => {
            // A constant predicate: repeat it.
            let idx = arrow_array::UInt32Array::from(vec![0u32; batch.num_rows()]);
            arrow_select::take::take(a.as_ref(), &idx, None)?
        }
    };
    let arr = match arr.data_type() {
        DataType::Boolean => arr,
        DataType::Null => Arc::new(BooleanArray::from(vec![None::<bool>; arr.len()])) as ArrayRef,
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
        .cloned()
        .ok_or_else(|| Error::internal("boolean cast"))?;
    // Null -> false.
    Ok(arrow_arith::boolean::and_kleene(&b, &is_not_null(&b)?)?)
}

/// Evaluates an expression to one value per row (for `UPDATE ... SET`).
pub fn evaluate_value(sql: &str, e: &Expr, batch: &RecordBatch) -> Result<ArrayRef> {
    match eval(sql, e, batch)? {
        Val::Array(a) => Ok(a),
        Val::Scalar(a) => {
            let idx = arrow_array::UInt32Array::from(vec![0u32; batch.num_rows()]);
            Ok(arrow_select::take::take(a.as_ref(), &idx, None)?)
        }
    }
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

fn eval(sql: &str, e: &Expr, batch: &RecordBatch) -> Result<Val> {
    match e {
        Expr::Column(path) => {
            let mut arr: ArrayRef = batch
                .column_by_name(&path[0])
                .cloned()
                .ok_or_else(|| invalid(sql, 0, &path[0], format!("no column '{}'", path[0])))?;
            for part in &path[1..] {
                let s = arr.as_any().downcast_ref::<StructArray>().ok_or_else(|| {
                    invalid(
                        sql,
                        sql.find(part.as_str()).unwrap_or(0),
                        part,
                        format!(
                            "'{}' is not a struct column, so it has no field '{part}'",
                            path[0]
                        ),
                    )
                })?;
                let child = s.column_by_name(part).cloned().ok_or_else(|| {
                    invalid(
                        sql,
                        sql.find(part.as_str()).unwrap_or(0),
                        part,
                        format!("the struct has no field '{part}'"),
                    )
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
        Expr::Literal(l) => Ok(Val::Scalar(match l {
            Literal::Date(s) => cast_lit(sql, s, &lit_array(l), &DataType::Date32)?,
            Literal::Timestamp(s) => cast_lit(
                sql,
                s,
                &lit_array(l),
                &DataType::Timestamp(TimeUnit::Microsecond, None),
            )?,
            _ => lit_array(l),
        })),
        Expr::Not(a) => {
            let v = to_bool(sql, eval(sql, a, batch)?)?;
            v.map(|arr| Ok(Arc::new(not(as_bool(arr)?)?) as ArrayRef))
        }
        Expr::Neg(a) => {
            let v = eval(sql, a, batch)?;
            v.map(|arr| Ok(arrow_arith::numeric::neg(arr.as_ref())?))
        }
        Expr::IsNull(a, negated) => {
            let v = eval(sql, a, batch)?;
            v.map(|arr| {
                Ok(Arc::new(if *negated {
                    is_not_null(arr.as_ref())?
                } else {
                    is_null(arr.as_ref())?
                }) as ArrayRef)
            })
        }
        Expr::Binary(op, a, b) => {
            let l = eval(sql, a, batch)?;
            let r = eval(sql, b, batch)?;
            binary(sql, *op, l, r)
        }
        Expr::InList(a, list, negated) => {
            let v = eval(sql, a, batch)?;
            let mut acc: Option<Val> = None;
            for item in list {
                let eq = binary(sql, BinOp::Eq, v.clone(), eval(sql, item, batch)?)?;
                acc = Some(match acc {
                    None => eq,
                    Some(prev) => binary(sql, BinOp::Or, prev, eq)?,
                });
            }
            let res = acc.unwrap_or(Val::Scalar(Arc::new(BooleanArray::from(vec![false]))));
            if *negated {
                res.map(|arr| Ok(Arc::new(not(as_bool(arr)?)?) as ArrayRef))
            } else {
                Ok(res)
            }
        }
        Expr::Between(a, lo, hi, negated) => {
            let v = eval(sql, a, batch)?;
            let ge = binary(sql, BinOp::GtEq, v.clone(), eval(sql, lo, batch)?)?;
            let le = binary(sql, BinOp::LtEq, v, eval(sql, hi, batch)?)?;
            let res = binary(sql, BinOp::And, ge, le)?;
            if *negated {
                res.map(|arr| Ok(Arc::new(not(as_bool(arr)?)?) as ArrayRef))
            } else {
                Ok(res)
            }
        }
        Expr::Like(a, p, negated) => {
            let v = to_utf8(sql, eval(sql, a, batch)?)?;
            let p = to_utf8(sql, eval(sql, p, batch)?)?;
            let out = if *negated {
                arrow_string::like::nlike(&*v.datum(), &*p.datum())?
            } else {
                arrow_string::like::like(&*v.datum(), &*p.datum())?
            };
            Ok(wrap(&v, &p, Arc::new(out)))
        }
    }
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

fn to_bool(sql: &str, v: Val) -> Result<Val> {
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
        invalid(
            sql,
            sql.find(text).unwrap_or(0),
            text,
            format!("'{text}' is not a valid {to}"),
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

/// Casts both sides to one type the kernels accept.
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
                    format!("{shown} is not a valid {target}"),
                )
            })
        })
    };
    Ok((conv(l, &lt)?, conv(r, &rt)?))
}

fn binary(sql: &str, op: BinOp, l: Val, r: Val) -> Result<Val> {
    if matches!(op, BinOp::And | BinOp::Or) {
        let (l, r) = (to_bool(sql, l)?, to_bool(sql, r)?);
        let (la, ra) = broadcast(&l, &r)?;
        let out = if op == BinOp::And {
            and_kleene(as_bool(&la)?, as_bool(&ra)?)?
        } else {
            or_kleene(as_bool(&la)?, as_bool(&ra)?)?
        };
        return Ok(wrap(&l, &r, Arc::new(out)));
    }
    let (l, r) = coerce(sql, l, r)?;
    if l.array().data_type() == &DataType::Null {
        // Anything compared with NULL is NULL.
        let len = match (&l, &r) {
            (Val::Array(a), _) | (_, Val::Array(a)) => a.len(),
            _ => 1,
        };
        return Ok(wrap(&l, &r, Arc::new(NullArray::new(len))));
    }
    let (ld, rd) = (l.datum(), r.datum());
    let out: ArrayRef = match op {
        BinOp::Eq => Arc::new(arrow_ord::cmp::eq(&*ld, &*rd)?),
        BinOp::NotEq => Arc::new(arrow_ord::cmp::neq(&*ld, &*rd)?),
        BinOp::Lt => Arc::new(arrow_ord::cmp::lt(&*ld, &*rd)?),
        BinOp::LtEq => Arc::new(arrow_ord::cmp::lt_eq(&*ld, &*rd)?),
        BinOp::Gt => Arc::new(arrow_ord::cmp::gt(&*ld, &*rd)?),
        BinOp::GtEq => Arc::new(arrow_ord::cmp::gt_eq(&*ld, &*rd)?),
        BinOp::Add => arrow_arith::numeric::add(&*ld, &*rd)?,
        BinOp::Sub => arrow_arith::numeric::sub(&*ld, &*rd)?,
        BinOp::Mul => arrow_arith::numeric::mul(&*ld, &*rd)?,
        BinOp::Div => arrow_arith::numeric::div(&*ld, &*rd).map_err(|e| invalid(sql, 0, "/", e))?,
        BinOp::Rem => arrow_arith::numeric::rem(&*ld, &*rd).map_err(|e| invalid(sql, 0, "%", e))?,
        BinOp::And | BinOp::Or => unreachable!("handled above"),
    };
    Ok(wrap(&l, &r, out))
}

/// Two boolean values as arrays of one length, for kernels without Datum.
fn broadcast(l: &Val, r: &Val) -> Result<(ArrayRef, ArrayRef)> {
    let len = match (l, r) {
        (Val::Array(a), _) | (_, Val::Array(a)) => a.len(),
        _ => 1,
    };
    let expand = |v: &Val| -> Result<ArrayRef> {
        match v {
            Val::Array(a) => Ok(a.clone()),
            Val::Scalar(a) => {
                let idx = arrow_array::UInt32Array::from(vec![0u32; len]);
                Ok(arrow_select::take::take(a.as_ref(), &idx, None)?)
            }
        }
    };
    Ok((expand(l)?, expand(r)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float32Array, Int32Array};
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
        let e = parse(sql).unwrap();
        check_columns(sql, &e, &b.schema()).unwrap();
        evaluate(sql, &e, &b)
            .unwrap()
            .iter()
            .map(|v| v.unwrap())
            .collect()
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

    #[test]
    fn errors_point_at_the_token() {
        let err = parse("id > > 3").unwrap_err();
        assert_eq!(err.code(), "INVALID_FILTER");
        assert!(
            err.to_string().contains("position 5") && err.to_string().contains("'>'"),
            "{err}"
        );
        let err = parse("id = 'open").unwrap_err();
        assert!(err.to_string().contains("unterminated"), "{err}");
        let e = parse("nope = 1").unwrap();
        let err = check_columns("nope = 1", &e, &batch().schema()).unwrap_err();
        assert!(err.to_string().contains("no column 'nope'"), "{err}");
        let err = parse("id = 1 AND").unwrap_err();
        assert!(err.to_string().contains("ends early"), "{err}");
        let err = parse("id IS 3").unwrap_err();
        assert!(err.to_string().contains("NULL"), "{err}");
    }
}
