//! Tokenizer and recursive-descent parser of the filter language.
//!
//! Hostile input must not exhaust the stack, so the parser recurses only into
//! real nesting (parentheses and IN lists), bounded by [`MAX_DEPTH`]; chains of
//! any length are loops: AND/OR become one n-ary node, `a + b - c` and
//! `a * b / c` one left-to-right chain, and runs of NOT or unary minus one node
//! with a count.

use super::invalid;
use crate::error::{quote, Error, Result};

/// How deeply parentheses (including IN lists) may nest. Every recursive walk
/// of an expression is bounded by this, not by the number of terms: one level
/// of parentheses adds at most seven tree levels (OR, AND, NOT, a comparison,
/// a sum, a product, a negation). Parsing and evaluating the deepest such
/// filter takes about 768 KiB of stack in a release build, within the 2 MiB
/// of a runtime worker thread (see `deepest_filter_fits_a_small_stack`).
pub const MAX_DEPTH: usize = 256;

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
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Column(Vec<String>),
    Literal(Literal),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    /// At least two terms, nested ANDs flattened in.
    And(Vec<Expr>),
    /// At least two terms, nested ORs flattened in.
    Or(Vec<Expr>),
    /// `first op1 x1 op2 x2 ...` of one precedence level, evaluated left to
    /// right exactly as the left-associative tree `((first op1 x1) op2 x2)`.
    Arith(Box<Expr>, Vec<(ArithOp, Expr)>),
    /// NOT applied `times` (>= 1) times.
    Not(Box<Expr>, usize),
    /// Unary minus applied `times` (>= 1) times.
    Neg(Box<Expr>, usize),
    IsNull(Box<Expr>, bool),
    InList(Box<Expr>, Vec<Expr>, bool),
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    Like(Box<Expr>, Box<Expr>, bool),
    /// `CAST(x AS type)`.
    Cast(Box<Expr>, arrow_schema::DataType),
    /// `array_has_any(list, [..])`, `array_has_all(list, [..])`,
    /// `array_has(list, v)` / `array_contains(list, v)` (one needle).
    ArrayHas(ArrayFn, Box<Expr>, Vec<Literal>),
}

/// The list-membership functions (as in the reference's SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFn {
    /// `array_has_any`: some needle is an element.
    Any,
    /// `array_has_all`: every needle is an element.
    All,
    /// `array_has` / `array_contains`: the one needle is an element.
    Has,
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
        } else if c == '\'' || c == '`' {
            let (s, next) = quoted(sql, &chars, i)?;
            i = next;
            if c == '\'' {
                Tok::Str(s)
            } else {
                Tok::Quoted(s)
            }
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
                    '[' => "[",
                    ']' => "]",
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

/// A 'string' or `name` starting at `chars[i]`; a doubled quote is a quote.
/// Returns the content and the index after the closing quote.
fn quoted(sql: &str, chars: &[(usize, char)], mut i: usize) -> Result<(String, usize)> {
    let (pos, q) = chars[i];
    let mut s = String::new();
    i += 1;
    loop {
        match chars.get(i) {
            None if q == '\'' => {
                return Err(invalid(
                    sql,
                    pos,
                    "'",
                    "unterminated string literal; close it with '",
                ))
            }
            None => return Err(invalid(sql, pos, "`", "unterminated `quoted` column name")),
            Some((_, c)) if *c == q && chars.get(i + 1).is_some_and(|(_, n)| *n == q) => {
                s.push(q);
                i += 2;
            }
            Some((_, c)) if *c == q => return Ok((s, i + 1)),
            Some((_, c)) => {
                s.push(*c);
                i += 1;
            }
        }
    }
}

const CMP: [(&str, CmpOp); 8] = [
    ("=", CmpOp::Eq),
    ("==", CmpOp::Eq),
    ("!=", CmpOp::NotEq),
    ("<>", CmpOp::NotEq),
    ("<=", CmpOp::LtEq),
    (">=", CmpOp::GtEq),
    ("<", CmpOp::Lt),
    (">", CmpOp::Gt),
];
const SUM: [(&str, ArithOp); 2] = [("+", ArithOp::Add), ("-", ArithOp::Sub)];
const PROD: [(&str, ArithOp); 3] = [
    ("*", ArithOp::Mul),
    ("/", ArithOp::Div),
    ("%", ArithOp::Rem),
];

struct Parser<'a> {
    sql: &'a str,
    toks: Vec<Token>,
    i: usize,
    /// Open parentheses around the current token.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    #[cold]
    #[inline(never)]
    fn err_here(&self, what: &str) -> Error {
        match self.peek() {
            Some(t) => invalid(
                self.sql,
                t.pos,
                &t.text,
                format!("unexpected '{}'; expected {what}", quote(&t.text)),
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

    /// Parses `inner` inside the parenthesis at the current token, which is
    /// where the parser recurses, so this is where depth is bounded.
    fn parenthesized<T>(&mut self, inner: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let at = self.peek().map(|t| t.pos).unwrap_or(self.sql.len());
        self.expect_op("(")?;
        if self.depth >= MAX_DEPTH {
            return Err(invalid(
                self.sql,
                at,
                "(",
                format!(
                    "parentheses nest more than {MAX_DEPTH} levels deep (the nesting limit is {MAX_DEPTH}); \
                     write long lists as `a OR b OR ...` or `x IN (...)` instead of nesting them"
                ),
            ));
        }
        self.depth += 1;
        let out = inner(self)?;
        self.expect_op(")")?;
        self.depth -= 1;
        Ok(out)
    }

    fn expr(&mut self) -> Result<Expr> {
        self.logic_chain(Logic::Or, Self::and)
    }

    fn and(&mut self) -> Result<Expr> {
        self.logic_chain(Logic::And, Self::not)
    }

    /// `operand (OR operand)*` or the same with AND, as one n-ary node.
    fn logic_chain(
        &mut self,
        logic: Logic,
        operand: fn(&mut Self) -> Result<Expr>,
    ) -> Result<Expr> {
        let kw = match logic {
            Logic::And => "AND",
            Logic::Or => "OR",
        };
        let first = operand(self)?;
        if !self.keyword(kw) {
            return Ok(first);
        }
        let mut terms = Vec::new();
        push_flat(&mut terms, first, logic);
        while self.eat_keyword(kw) {
            let t = operand(self)?;
            push_flat(&mut terms, t, logic);
        }
        Ok(match logic {
            Logic::And => Expr::And(terms),
            Logic::Or => Expr::Or(terms),
        })
    }

    fn not(&mut self) -> Result<Expr> {
        let mut times = 0usize;
        while self.eat_keyword("NOT") {
            times += 1;
        }
        let e = self.pred()?;
        Ok(match (times, e) {
            (0, e) => e,
            // NOT (NOT x) written with parentheses: still one run.
            (t, Expr::Not(inner, n)) => Expr::Not(inner, n.saturating_add(t)),
            (t, e) => Expr::Not(Box::new(e), t),
        })
    }

    fn pred(&mut self) -> Result<Expr> {
        let left = self.sum()?;
        if let Some(op) = CMP.iter().find(|(sym, _)| self.op(sym)).map(|(_, op)| *op) {
            self.i += 1;
            let right = self.sum()?;
            return Ok(Expr::Compare(op, Box::new(left), Box::new(right)));
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
            let list = self.parenthesized(|p| {
                let mut list = vec![p.expr()?];
                while p.eat_op(",") {
                    list.push(p.expr()?);
                }
                Ok(list)
            })?;
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

    /// One precedence level of arithmetic as a flat chain.
    fn chain(
        &mut self,
        ops: &[(&str, ArithOp)],
        operand: fn(&mut Self) -> Result<Expr>,
    ) -> Result<Expr> {
        let first = operand(self)?;
        let mut rest = Vec::new();
        while let Some(op) = ops.iter().find(|(sym, _)| self.op(sym)).map(|(_, op)| *op) {
            self.i += 1;
            rest.push((op, operand(self)?));
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Expr::Arith(Box::new(first), rest)
        })
    }

    fn sum(&mut self) -> Result<Expr> {
        self.chain(&SUM, Self::prod)
    }

    fn prod(&mut self) -> Result<Expr> {
        self.chain(&PROD, Self::unary)
    }

    fn unary(&mut self) -> Result<Expr> {
        let mut times = 0usize;
        while self.eat_op("-") {
            times += 1;
        }
        let e = self.primary()?;
        if times == 0 {
            return Ok(e);
        }
        let odd = times % 2 == 1;
        Ok(match e {
            // Folding a literal is exact: an integer literal is never i64::MIN
            // (the tokenizer reads no sign), so negating it cannot overflow.
            Expr::Literal(Literal::Int(i)) if !odd => Expr::Literal(Literal::Int(i)),
            Expr::Literal(Literal::Int(i)) if i.checked_neg().is_some() => {
                Expr::Literal(Literal::Int(-i))
            }
            Expr::Literal(Literal::Float(f)) => {
                Expr::Literal(Literal::Float(if odd { -f } else { f }))
            }
            Expr::Neg(inner, n) => Expr::Neg(inner, n.saturating_add(times)),
            e => Expr::Neg(Box::new(e), times),
        })
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
            Tok::Op("(") => self.parenthesized(Self::expr),
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
                    "DATE" | "TIMESTAMP" => match self.toks.get(self.i + 1) {
                        Some(Token {
                            tok: Tok::Str(s), ..
                        }) => {
                            let s = s.clone();
                            self.i += 2;
                            Ok(Expr::Literal(if upper == "DATE" {
                                Literal::Date(s)
                            } else {
                                Literal::Timestamp(s)
                            }))
                        }
                        _ => self.column(),
                    },
                    "CAST"
                        if matches!(
                            self.toks.get(self.i + 1),
                            Some(Token {
                                tok: Tok::Op("("),
                                ..
                            })
                        ) =>
                    {
                        self.i += 1;
                        self.parenthesized(|p| {
                            let inner = p.expr()?;
                            match p.peek() {
                                Some(Token {
                                    tok: Tok::Ident(w), ..
                                }) if w.eq_ignore_ascii_case("AS") => p.i += 1,
                                _ => return Err(p.err_here("AS <type>")),
                            }
                            let t = p.type_name()?;
                            Ok(Expr::Cast(Box::new(inner), t))
                        })
                    }
                    "ARRAY_HAS_ANY" | "ARRAY_HAS_ALL" | "ARRAY_HAS" | "ARRAY_CONTAINS"
                        if matches!(
                            self.toks.get(self.i + 1),
                            Some(Token {
                                tok: Tok::Op("("),
                                ..
                            })
                        ) =>
                    {
                        let f = match upper.as_str() {
                            "ARRAY_HAS_ANY" => ArrayFn::Any,
                            "ARRAY_HAS_ALL" => ArrayFn::All,
                            _ => ArrayFn::Has,
                        };
                        self.i += 1;
                        self.parenthesized(|p| {
                            let list = p.expr()?;
                            p.expect_op(",")?;
                            let needles = match f {
                                ArrayFn::Has => vec![p.constant()?],
                                _ => p.array_literal()?,
                            };
                            Ok(Expr::ArrayHas(f, Box::new(list), needles))
                        })
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

    /// A constant: a literal, possibly negated (`-3`).
    fn constant(&mut self) -> Result<Literal> {
        let at = self.i;
        match self.sum()? {
            Expr::Literal(l) => Ok(l),
            _ => {
                self.i = at;
                Err(self.err_here("a constant (a number, 'string', TRUE, FALSE, NULL, DATE '..' or TIMESTAMP '..')"))
            }
        }
    }

    /// `[c, ...]` or `make_array(c, ...)` of constants (possibly empty).
    fn array_literal(&mut self) -> Result<Vec<Literal>> {
        let close = if self.eat_op("[") {
            "]"
        } else if self.keyword("make_array")
            && matches!(
                self.toks.get(self.i + 1),
                Some(Token {
                    tok: Tok::Op("("),
                    ..
                })
            )
        {
            self.i += 2;
            ")"
        } else {
            return Err(self.err_here("a list of constants: [a, b, ...]"));
        };
        let mut out = Vec::new();
        if self.eat_op(close) {
            return Ok(out);
        }
        loop {
            out.push(self.constant()?);
            if self.eat_op(close) {
                return Ok(out);
            }
            self.expect_op(",")?;
        }
    }

    /// A type name of `CAST(x AS type)`.
    fn type_name(&mut self) -> Result<arrow_schema::DataType> {
        use arrow_schema::{DataType as T, TimeUnit};
        let Some(Token {
            tok: Tok::Ident(w), ..
        }) = self.peek()
        else {
            return Err(self.err_here("a type name"));
        };
        let t = match w.to_ascii_uppercase().as_str() {
            "STRING" | "VARCHAR" | "TEXT" | "UTF8" | "CHAR" => T::Utf8,
            "LARGE_STRING" | "LARGE_UTF8" => T::LargeUtf8,
            "BOOLEAN" | "BOOL" => T::Boolean,
            "TINYINT" | "INT8" => T::Int8,
            "SMALLINT" | "INT16" => T::Int16,
            "INT" | "INTEGER" | "INT32" => T::Int32,
            "BIGINT" | "INT64" | "LONG" => T::Int64,
            "TINYINT_UNSIGNED" | "UINT8" => T::UInt8,
            "UINT16" => T::UInt16,
            "UINT32" => T::UInt32,
            "UINT64" => T::UInt64,
            "FLOAT" | "REAL" | "FLOAT32" => T::Float32,
            "DOUBLE" | "FLOAT64" => T::Float64,
            "DATE" => T::Date32,
            "TIMESTAMP" => T::Timestamp(TimeUnit::Microsecond, None),
            "BINARY" | "BYTEA" | "VARBINARY" => T::Binary,
            _ => {
                return Err(self.err_here(
                    "a type: string, boolean, tinyint, smallint, int, bigint, float, double, date, timestamp or binary",
                ))
            }
        };
        self.i += 1;
        Ok(t)
    }

    fn column(&mut self) -> Result<Expr> {
        let mut path = Vec::new();
        loop {
            match self.peek().map(|t| &t.tok) {
                Some(Tok::Ident(s)) | Some(Tok::Quoted(s)) => {
                    path.push(s.clone());
                    self.i += 1;
                }
                _ => return Err(self.err_here("a column name")),
            }
            if !self.eat_op(".") {
                return Ok(Expr::Column(path));
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Logic {
    And,
    Or,
}

/// Appends a term to an AND/OR list, splicing in a parenthesized list of the
/// same operator: AND and OR are associative in three-valued logic too.
fn push_flat(terms: &mut Vec<Expr>, e: Expr, logic: Logic) {
    match (logic, e) {
        (Logic::And, Expr::And(inner)) | (Logic::Or, Expr::Or(inner)) => terms.extend(inner),
        (_, e) => terms.push(e),
    }
}

/// Parses a filter; errors point at the offending token.
pub fn parse(sql: &str) -> Result<Expr> {
    let toks = tokenize(sql)?;
    if toks.is_empty() {
        return Err(invalid(sql, 0, "", "the filter is empty"));
    }
    let mut p = Parser {
        sql,
        toks,
        i: 0,
        depth: 0,
    };
    let e = p.expr()?;
    if p.i < p.toks.len() {
        return Err(p.err_here("AND, OR or the end of the filter"));
    }
    Ok(e)
}

/// Adds the top-level columns `e` reads to `out`, each once, in first-use order.
pub fn columns(e: &Expr, out: &mut Vec<String>, seen: &mut std::collections::HashSet<String>) {
    let mut add = |x: &Expr| columns(x, out, seen);
    match e {
        Expr::Column(path) => {
            if seen.insert(path[0].clone()) {
                out.push(path[0].clone());
            }
        }
        Expr::Literal(_) => {}
        Expr::Compare(_, a, b) | Expr::Like(a, b, _) => {
            add(a);
            add(b);
        }
        Expr::And(terms) | Expr::Or(terms) => terms.iter().for_each(add),
        Expr::Arith(first, rest) => {
            add(first);
            rest.iter().for_each(|(_, x)| add(x));
        }
        Expr::Not(a, _)
        | Expr::Neg(a, _)
        | Expr::IsNull(a, _)
        | Expr::Cast(a, _)
        | Expr::ArrayHas(_, a, _) => add(a),
        Expr::InList(a, list, _) => {
            add(a);
            list.iter().for_each(add);
        }
        Expr::Between(a, b, c, _) => {
            add(a);
            add(b);
            add(c);
        }
    }
}
