//! Full-text queries and their evaluation with BM25, as the reference
//! scores them (checked number by number against `@lancedb/lancedb`):
//!
//! * a term's score in a row is `idf · (K1 + 1) · f / (f + K1 · (1 − B + B · len / avgLen))`
//!   with `idf = ln(1 + (N − df + 0.5) / (df + 0.5))`, K1 = 1.2, B = 0.75;
//! * rows an index covers are scored with the index's statistics (N, average
//!   length, df summed over its segments); rows no index covers yet are
//!   scored with the index's statistics plus their own (df counting the
//!   term's occurrences in them), as the reference does;
//! * a match sums its tokens' scores (times `boost`), a phrase sums its
//!   tokens' scores over the rows where they occur in order, a multi-match
//!   takes the best column, a boolean query sums its `must`/`should` parts,
//!   a boost query subtracts `negativeBoost` times the negative query's score.
//!
//! Evaluation is synchronous over a [`ColumnView`] per column whose posting
//! lists the caller has loaded (see [`FtsQuery::terms`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::analyzer::Analyzer;
use super::inverted::{MemIndex, PostingList, Segment, Stats};
use crate::error::{Error, Result};

pub const K1: f32 = 1.2;
pub const B: f32 = 0.75;

/// How a match combines its tokens (`"AND"` / `"OR"`, as the reference's `Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operator {
    And,
    #[default]
    Or,
}

/// A boolean clause's role (`"SHOULD"`, `"MUST"`, `"MUST_NOT"`, as the reference's `Occur`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Occur {
    Should,
    Must,
    MustNot,
}

/// A full-text query. `column: None` (a plain string query) searches every
/// column with a full-text index, as a multi-match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FtsQuery {
    Match {
        query: String,
        column: Option<String>,
        boost: f32,
        fuzziness: u32,
        max_expansions: usize,
        operator: Operator,
        prefix_length: u32,
    },
    Phrase {
        query: String,
        column: Option<String>,
        slop: u32,
    },
    Boost {
        positive: Box<FtsQuery>,
        negative: Box<FtsQuery>,
        negative_boost: f32,
    },
    MultiMatch {
        query: String,
        columns: Vec<String>,
        boosts: Option<Vec<f32>>,
        operator: Operator,
    },
    Boolean {
        clauses: Vec<(Occur, FtsQuery)>,
    },
}

impl FtsQuery {
    /// A plain string query (`search("text")`, `fullTextSearch("text")`).
    pub fn text(query: &str, columns: Option<Vec<String>>) -> Self {
        match columns {
            Some(cols) if cols.len() == 1 => FtsQuery::Match {
                query: query.to_string(),
                column: cols.into_iter().next(),
                boost: 1.0,
                fuzziness: 0,
                max_expansions: 50,
                operator: Operator::Or,
                prefix_length: 0,
            },
            Some(cols) => FtsQuery::MultiMatch {
                query: query.to_string(),
                columns: cols,
                boosts: None,
                operator: Operator::Or,
            },
            None => FtsQuery::Match {
                query: query.to_string(),
                column: None,
                boost: 1.0,
                fuzziness: 0,
                max_expansions: 50,
                operator: Operator::Or,
                prefix_length: 0,
            },
        }
    }

    /// Replaces `column: None` by the indexed columns (a multi-match over
    /// them) and checks the query's shape.
    pub fn resolve(self, indexed: &[String]) -> Result<FtsQuery> {
        Ok(match self {
            FtsQuery::Match {
                query,
                column: None,
                operator,
                ..
            } => {
                if indexed.is_empty() {
                    return Err(no_index());
                }
                if indexed.len() == 1 {
                    FtsQuery::text(&query, Some(indexed.to_vec())).with_operator(operator)
                } else {
                    FtsQuery::MultiMatch {
                        query,
                        columns: indexed.to_vec(),
                        boosts: None,
                        operator,
                    }
                }
            }
            FtsQuery::Phrase {
                query,
                column: None,
                slop,
            } => {
                match indexed {
                    [one] => FtsQuery::Phrase {
                        query,
                        column: Some(one.clone()),
                        slop,
                    },
                    [] => return Err(no_index()),
                    _ => return Err(Error::invalid_argument(
                        "a phrase query needs a column when several columns have full-text indexes",
                    )),
                }
            }
            FtsQuery::Boost {
                positive,
                negative,
                negative_boost,
            } => FtsQuery::Boost {
                positive: Box::new(positive.resolve(indexed)?),
                negative: Box::new(negative.resolve(indexed)?),
                negative_boost,
            },
            FtsQuery::MultiMatch {
                columns, boosts, ..
            } if boosts.as_ref().is_some_and(|b| b.len() != columns.len()) => {
                return Err(Error::invalid_argument(format!(
                    "MultiMatchQuery: {} boosts for {} columns; give one boost per column",
                    boosts.map(|b| b.len()).unwrap_or(0),
                    columns.len()
                )))
            }
            FtsQuery::Boolean { clauses } => {
                if !clauses.iter().any(|(o, _)| *o != Occur::MustNot) {
                    return Err(Error::invalid_argument(
                        "BooleanQuery must have at least one SHOULD or MUST clause",
                    ));
                }
                FtsQuery::Boolean {
                    clauses: clauses
                        .into_iter()
                        .map(|(o, q)| Ok((o, q.resolve(indexed)?)))
                        .collect::<Result<_>>()?,
                }
            }
            other => other,
        })
    }

    fn with_operator(self, op: Operator) -> Self {
        match self {
            FtsQuery::Match {
                query,
                column,
                boost,
                fuzziness,
                max_expansions,
                prefix_length,
                ..
            } => FtsQuery::Match {
                query,
                column,
                boost,
                fuzziness,
                max_expansions,
                operator: op,
                prefix_length,
            },
            other => other,
        }
    }

    /// The columns the query reads.
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns(&self, out: &mut Vec<String>) {
        let mut push = |c: &String| {
            if !out.contains(c) {
                out.push(c.clone())
            }
        };
        match self {
            FtsQuery::Match { column, .. } | FtsQuery::Phrase { column, .. } => {
                if let Some(c) = column {
                    push(c)
                }
            }
            FtsQuery::MultiMatch { columns, .. } => columns.iter().for_each(push),
            FtsQuery::Boost {
                positive, negative, ..
            } => {
                positive.collect_columns(out);
                negative.collect_columns(out);
            }
            FtsQuery::Boolean { clauses } => {
                clauses.iter().for_each(|(_, q)| q.collect_columns(out))
            }
        }
    }

    /// The index terms the query needs, per column (fuzzy terms expanded
    /// against the views' dictionaries): what the caller loads into
    /// [`ColumnView::postings`] before [`FtsQuery::evaluate`].
    pub fn terms(&self, views: &mut HashMap<String, ColumnView>) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        self.collect_terms(views, &mut out)?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn collect_terms(
        &self,
        views: &mut HashMap<String, ColumnView>,
        out: &mut Vec<(String, String)>,
    ) -> Result<()> {
        match self {
            FtsQuery::Match {
                query,
                column,
                fuzziness,
                max_expansions,
                prefix_length,
                ..
            } => {
                let col = column_of(column)?;
                let v = view(views, col)?;
                for t in v.analyzer.terms(query) {
                    for e in v.expand(&t, *fuzziness, *max_expansions, *prefix_length) {
                        out.push((col.to_string(), e));
                    }
                }
            }
            FtsQuery::Phrase { query, column, .. } => {
                let col = column_of(column)?;
                let v = view(views, col)?;
                if !v.with_position {
                    return Err(Error::invalid_argument(format!(
                        "phrase query on column '{col}': its full-text index was built without positions; recreate it with Index.fts({{ withPosition: true }})"
                    )));
                }
                for t in v.analyzer.terms(query) {
                    out.push((col.to_string(), t));
                }
            }
            FtsQuery::MultiMatch { query, columns, .. } => {
                for col in columns {
                    let v = view(views, col)?;
                    for t in v.analyzer.terms(query) {
                        out.push((col.clone(), t));
                    }
                }
            }
            FtsQuery::Boost {
                positive, negative, ..
            } => {
                positive.collect_terms(views, out)?;
                negative.collect_terms(views, out)?;
            }
            FtsQuery::Boolean { clauses } => {
                for (_, q) in clauses {
                    q.collect_terms(views, out)?;
                }
            }
        }
        Ok(())
    }

    /// Scores every matching row: row id → score.
    pub fn evaluate(&self, views: &mut HashMap<String, ColumnView>) -> Result<HashMap<u64, f32>> {
        match self {
            FtsQuery::Match {
                query,
                column,
                boost,
                fuzziness,
                max_expansions,
                operator,
                prefix_length,
            } => {
                let v = view(views, column_of(column)?)?;
                // A match counts each distinct token once, as the reference
                // does ("a b b" scores as "a b"); a phrase keeps repeats.
                let mut tokens = v.analyzer.terms(query);
                let mut seen_tok = HashSet::new();
                tokens.retain(|t| seen_tok.insert(t.clone()));
                let mut scores: HashMap<u64, (f32, usize)> = HashMap::new();
                for (i, t) in tokens.iter().enumerate() {
                    let mut seen = HashSet::new();
                    for e in v.expand(t, *fuzziness, *max_expansions, *prefix_length) {
                        for h in v.hits(&e) {
                            let s = scores.entry(h.row).or_insert((0.0, 0));
                            s.0 += h.score;
                            // Count each query token once per row (AND).
                            if seen.insert(h.row) {
                                s.1 += 1;
                            }
                        }
                    }
                    let _ = i;
                }
                let need = if *operator == Operator::And {
                    tokens.len()
                } else {
                    1
                };
                Ok(scores
                    .into_iter()
                    .filter(|(_, (_, n))| *n >= need)
                    .map(|(r, (s, _))| (r, s * boost))
                    .collect())
            }
            FtsQuery::Phrase {
                query,
                column,
                slop,
            } => {
                let v = view(views, column_of(column)?)?;
                let toks = v.analyzer.tokens(query);
                if toks.is_empty() {
                    return Ok(HashMap::new());
                }
                let hits: Vec<HashMap<u64, Hit>> = toks
                    .iter()
                    .map(|t| v.hits(&t.text).into_iter().map(|h| (h.row, h)).collect())
                    .collect();
                let gaps: Vec<u32> = toks
                    .windows(2)
                    .map(|w| w[1].position.saturating_sub(w[0].position))
                    .collect();
                let mut out = HashMap::new();
                'rows: for (row, first) in &hits[0] {
                    let mut per: Vec<&Hit> = vec![first];
                    for h in &hits[1..] {
                        match h.get(row) {
                            Some(x) => per.push(x),
                            None => continue 'rows,
                        }
                    }
                    let pos: Vec<&[u32]> = per.iter().map(|h| h.positions.as_slice()).collect();
                    if phrase_matches(&pos, &gaps, *slop) {
                        out.insert(*row, per.iter().map(|h| h.score).sum());
                    }
                }
                Ok(out)
            }
            FtsQuery::MultiMatch {
                query,
                columns,
                boosts,
                operator,
            } => {
                let mut out: HashMap<u64, f32> = HashMap::new();
                for (i, col) in columns.iter().enumerate() {
                    let boost = boosts
                        .as_ref()
                        .and_then(|b| b.get(i))
                        .copied()
                        .unwrap_or(1.0);
                    let m = FtsQuery::Match {
                        query: query.clone(),
                        column: Some(col.clone()),
                        boost,
                        fuzziness: 0,
                        max_expansions: 50,
                        operator: *operator,
                        prefix_length: 0,
                    };
                    for (r, s) in m.evaluate(views)? {
                        let e = out.entry(r).or_insert(f32::MIN);
                        *e = e.max(s);
                    }
                }
                Ok(out)
            }
            FtsQuery::Boost {
                positive,
                negative,
                negative_boost,
            } => {
                let mut pos = positive.evaluate(views)?;
                let neg = negative.evaluate(views)?;
                for (r, s) in pos.iter_mut() {
                    if let Some(n) = neg.get(r) {
                        *s -= negative_boost * n;
                    }
                }
                Ok(pos)
            }
            FtsQuery::Boolean { clauses } => {
                let mut must: Option<HashMap<u64, f32>> = None;
                let mut should: HashMap<u64, f32> = HashMap::new();
                let mut not: HashSet<u64> = HashSet::new();
                for (o, q) in clauses {
                    let r = q.evaluate(views)?;
                    match o {
                        Occur::Must => {
                            must = Some(match must {
                                None => r,
                                Some(m) => m
                                    .into_iter()
                                    .filter_map(|(k, s)| r.get(&k).map(|t| (k, s + t)))
                                    .collect(),
                            })
                        }
                        Occur::Should => {
                            for (k, s) in r {
                                *should.entry(k).or_insert(0.0) += s;
                            }
                        }
                        Occur::MustNot => not.extend(r.into_keys()),
                    }
                }
                let mut out = match must {
                    Some(mut m) => {
                        for (k, s) in m.iter_mut() {
                            *s += should.get(k).copied().unwrap_or(0.0);
                        }
                        m
                    }
                    None => should,
                };
                out.retain(|k, _| !not.contains(k));
                Ok(out)
            }
        }
    }
}

fn no_index() -> Error {
    Error::invalid_argument(
        "full-text search needs a full-text index on at least one column; create one with createIndex(column, { config: Index.fts() })",
    )
}

fn column_of(c: &Option<String>) -> Result<&str> {
    c.as_deref()
        .ok_or_else(|| Error::internal("full-text query column not resolved"))
}

fn view<'a>(views: &'a mut HashMap<String, ColumnView>, col: &str) -> Result<&'a mut ColumnView> {
    views.get_mut(col).ok_or_else(|| {
        Error::invalid_argument(format!(
            "column '{col}' has no full-text index; create one with createIndex(\"{col}\", {{ config: Index.fts() }})"
        ))
    })
}

/// True when positions (one sorted list per phrase token) hold the tokens
/// in order, token i+1 between `gap` and `gap + slop` positions after token i.
pub fn phrase_matches(pos: &[&[u32]], gaps: &[u32], slop: u32) -> bool {
    fn from(pos: &[&[u32]], gaps: &[u32], slop: u32, i: usize, at: u32) -> bool {
        if i == pos.len() {
            return true;
        }
        let lo = at + gaps[i - 1];
        let hi = lo + slop;
        let start = pos[i].partition_point(|p| *p < lo);
        pos[i][start..]
            .iter()
            .take_while(|p| **p <= hi)
            .any(|p| from(pos, gaps, slop, i + 1, *p))
    }
    pos[0].iter().any(|p| from(pos, gaps, slop, 1, *p))
}

/// One row a term occurs in, with its BM25 contribution.
#[derive(Debug, Clone)]
pub struct Hit {
    pub row: u64,
    pub score: f32,
    pub positions: Vec<u32>,
}

/// BM25 of one term in one row.
pub fn bm25(stats: Stats, df: u64, freq: u32, len: u32) -> f32 {
    let n = stats.num_docs as f32;
    let df = df as f32;
    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
    let avg = if stats.num_docs == 0 {
        1.0
    } else {
        stats.total_tokens as f32 / n
    };
    let avg = if avg == 0.0 { 1.0 } else { avg };
    let f = freq as f32;
    idf * (K1 + 1.0) * f / (f + K1 * (1.0 - B + B * len as f32 / avg))
}

/// What a query sees of one column: the analyzer, the index's segments
/// with the posting lists the caller loaded for them, and the rows no
/// segment covers, indexed in memory.
pub struct ColumnView {
    pub analyzer: Analyzer,
    pub with_position: bool,
    pub segments: Vec<Arc<Segment>>,
    /// term → one posting list per segment (same order as `segments`).
    pub postings: HashMap<String, Vec<PostingList>>,
    pub unindexed: Option<MemIndex>,
}

impl ColumnView {
    fn index_stats(&self) -> Stats {
        self.segments
            .iter()
            .fold(Stats::default(), |a, s| a.plus(s.header.stats))
    }

    fn index_df(&self, term: &str) -> u64 {
        self.segments
            .iter()
            .map(|s| s.terms.get(term).map(|e| e.doc_freq as u64).unwrap_or(0))
            .sum()
    }

    /// Dictionary terms within `fuzziness` edits of `term` that share its
    /// first `prefix_length` characters, closest first, at most
    /// `max_expansions`; the term itself when `fuzziness` is 0.
    pub fn expand(
        &self,
        term: &str,
        fuzziness: u32,
        max: usize,
        prefix_length: u32,
    ) -> Vec<String> {
        if fuzziness == 0 {
            return vec![term.to_string()];
        }
        let prefix: String = term.chars().take(prefix_length as usize).collect();
        let mut found: BTreeMap<(usize, String), ()> = BTreeMap::new();
        let mut consider = |t: &str| {
            if t.starts_with(&prefix) {
                let d = strsim::levenshtein(t, term);
                if d <= fuzziness as usize {
                    found.insert((d, t.to_string()), ());
                }
            }
        };
        for s in &self.segments {
            for t in s.terms.range(prefix.clone()..) {
                if !t.0.starts_with(&prefix) {
                    break;
                }
                consider(t.0);
            }
        }
        if let Some(m) = &self.unindexed {
            for t in m.terms.range(prefix.clone()..) {
                if !t.0.starts_with(&prefix) {
                    break;
                }
                consider(t.0);
            }
        }
        found.into_keys().map(|(_, t)| t).take(max.max(1)).collect()
    }

    /// Every row `term` occurs in, scored.
    pub fn hits(&self, term: &str) -> Vec<Hit> {
        let is = self.index_stats();
        let idf_df = self.index_df(term);
        let mut out = Vec::new();
        if let Some(lists) = self.postings.get(term) {
            for (seg, pl) in self.segments.iter().zip(lists) {
                for (i, row) in pl.rows.iter().enumerate() {
                    let len = seg.doc_len(*row).unwrap_or(0);
                    out.push(Hit {
                        row: *row,
                        score: bm25(is, idf_df, pl.freqs[i], len),
                        positions: pl
                            .positions
                            .as_ref()
                            .map(|p| p[i].clone())
                            .unwrap_or_default(),
                    });
                }
            }
        }
        if let Some(m) = &self.unindexed {
            if let Some(pl) = m.terms.get(term) {
                let stats = is.plus(m.stats);
                // The reference counts a term's occurrences in unindexed
                // rows, not the rows it occurs in, into df; so do we, so
                // that rankings agree.
                let df = idf_df + pl.freqs.iter().map(|f| *f as u64).sum::<u64>();
                let lens: HashMap<u64, u32> = pl
                    .rows
                    .iter()
                    .filter_map(|r| {
                        m.docs
                            .binary_search_by_key(r, |d| d.0)
                            .ok()
                            .map(|i| (*r, m.docs[i].1))
                    })
                    .collect();
                for (i, row) in pl.rows.iter().enumerate() {
                    out.push(Hit {
                        row: *row,
                        score: bm25(stats, df, pl.freqs[i], lens.get(row).copied().unwrap_or(0)),
                        positions: pl
                            .positions
                            .as_ref()
                            .map(|p| p[i].clone())
                            .unwrap_or_default(),
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::params::FtsParams;
    use super::*;

    const DOCS: [&str; 8] = [
        "The quick brown fox jumps over the lazy dog",
        "Running runners run quickly",
        "a dog and a cat",
        "dog dog dog",
        "Café crème brûlée is delicious",
        "hello world",
        "the the the of and",
        "brown dogs are running in the park with other brown dogs",
    ];

    /// One column "text" over DOCS: rows `0..split` in a written segment,
    /// the rest unindexed.
    fn views(p: &FtsParams, split: usize) -> HashMap<String, ColumnView> {
        let mut a = Analyzer::new(p).unwrap();
        let mut seg = MemIndex::new(p.with_position);
        let mut rest = MemIndex::new(p.with_position);
        for (i, d) in DOCS.iter().enumerate() {
            let m = if i < split { &mut seg } else { &mut rest };
            m.add(&mut a, i as u64, Some(d));
        }
        let objs = seg.write(p);
        let get = |n: &str| objs.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        let s = Segment::open(
            &get(super::super::inverted::META),
            &get(super::super::inverted::DOCS),
        )
        .unwrap();
        let postings_obj = get(super::super::inverted::POSTINGS);
        let mut postings = HashMap::new();
        for (t, e) in &s.terms {
            let b = &postings_obj[e.offset as usize..(e.offset + e.len as u64) as usize];
            postings.insert(
                t.clone(),
                vec![PostingList::decode(b, p.with_position).unwrap()],
            );
        }
        let mut m = HashMap::new();
        m.insert(
            "text".to_string(),
            ColumnView {
                analyzer: a,
                with_position: p.with_position,
                segments: vec![Arc::new(s)],
                postings,
                unindexed: Some(rest),
            },
        );
        m
    }

    fn ranked(q: FtsQuery, v: &mut HashMap<String, ColumnView>) -> Vec<(u64, f32)> {
        let q = q.resolve(&["text".to_string()]).unwrap();
        let mut r: Vec<(u64, f32)> = q.evaluate(v).unwrap().into_iter().collect();
        r.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        r
    }

    fn close(got: &[(u64, f32)], want: &[(u64, f32)]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.0, w.0, "{got:?} vs {want:?}");
            assert!((g.1 - w.1).abs() < 1e-4, "{got:?} vs {want:?}");
        }
    }

    fn plain() -> FtsParams {
        FtsParams {
            with_position: true,
            stem: false,
            remove_stop_words: false,
            ..Default::default()
        }
    }

    // Expected scores are the reference's (@lancedb/lancedb 0.31.0) on the
    // same documents and options.
    #[test]
    fn bm25_scores_match_the_reference() {
        let mut v = views(&FtsParams::default(), 8);
        close(
            &ranked(FtsQuery::text("dog", None), &mut v),
            &[
                (3, 1.131_017_8),
                (2, 0.848_806),
                (7, 0.755_299_6),
                (0, 0.501_961_4),
            ],
        );
        let mut v = views(&plain(), 8);
        close(
            &ranked(FtsQuery::text("brown dog", None), &mut v),
            &[
                (0, 1.765_723_6),
                (3, 1.644_314_5),
                (7, 1.374_660_6),
                (2, 0.980_943),
            ],
        );
        close(
            &ranked(FtsQuery::text("the", None), &mut v),
            &[(6, 1.513_640_5), (0, 1.101_492_5), (7, 0.670_263)],
        );
    }

    #[test]
    fn phrase_and_slop_and_boolean_match_the_reference() {
        let mut v = views(&plain(), 8);
        let phrase = |q: &str, slop| FtsQuery::Phrase {
            query: q.into(),
            column: Some("text".into()),
            slop,
        };
        close(
            &ranked(phrase("brown dogs", 0), &mut v),
            &[(7, 3.297_524_5)],
        );
        close(&ranked(phrase("brown fox", 0), &mut v), &[(0, 2.438)]);
        close(&ranked(phrase("quick fox", 1), &mut v), &[(0, 2.8433)]);
        close(&ranked(phrase("quick fox", 0), &mut v), &[]);
        close(&ranked(phrase("dogs brown", 2), &mut v), &[]);
        close(&ranked(phrase("dog dog", 0), &mut v), &[(3, 3.2886)]);
        // A match scores repeated tokens once.
        close(
            &ranked(FtsQuery::text("dog dog", Some(vec!["text".into()])), &mut v),
            &ranked(FtsQuery::text("dog", Some(vec!["text".into()])), &mut v),
        );
        let m = |q: &str| FtsQuery::text(q, Some(vec!["text".into()]));
        let b = FtsQuery::Boolean {
            clauses: vec![
                (Occur::Must, m("dog")),
                (Occur::Should, m("brown")),
                (Occur::MustNot, m("cat")),
            ],
        };
        close(&ranked(b, &mut v), &[(0, 1.7657), (3, 1.6443)]);
        let b = FtsQuery::Boost {
            positive: Box::new(m("dog")),
            negative: Box::new(m("cat")),
            negative_boost: 0.5,
        };
        close(&ranked(b, &mut v), &[(3, 1.6443), (0, 0.7494), (2, 0.0505)]);
        let fuzzy = |q: &str, f, prefix| FtsQuery::Match {
            query: q.into(),
            column: Some("text".into()),
            boost: 1.0,
            fuzziness: f,
            max_expansions: 50,
            operator: Operator::Or,
            prefix_length: prefix,
        };
        close(&ranked(fuzzy("dgo", 1, 0), &mut v), &[]);
        close(
            &ranked(fuzzy("dogz", 1, 0), &mut v),
            &[(7, 1.9229), (3, 1.6443), (2, 0.9809), (0, 0.7494)],
        );
        close(&ranked(fuzzy("cog", 1, 1), &mut v), &[]);
        let e = FtsQuery::Boolean {
            clauses: vec![(Occur::MustNot, m("dog"))],
        }
        .resolve(&["text".into()])
        .unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
    }

    #[test]
    fn unindexed_rows_are_scored_with_index_plus_own_statistics() {
        // Reference: 6 indexed docs, then "x marks the spot" appended.
        let p = FtsParams::default();
        let mut a = Analyzer::new(&p).unwrap();
        let mut seg = MemIndex::new(false);
        for (i, d) in ["it was good", "this is going", "Thé THE", "x", "", "b"]
            .iter()
            .enumerate()
        {
            seg.add(&mut a, i as u64, Some(d));
        }
        let mut rest = MemIndex::new(false);
        rest.add(&mut a, 10, Some("x marks the spot"));
        let objs = seg.write(&p);
        let get = |n: &str| objs.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        let s = Segment::open(
            &get(super::super::inverted::META),
            &get(super::super::inverted::DOCS),
        )
        .unwrap();
        let e = s.terms["x"];
        let pl = PostingList::decode(
            &get(super::super::inverted::POSTINGS)
                [e.offset as usize..(e.offset + e.len as u64) as usize],
            false,
        )
        .unwrap();
        let mut v = HashMap::new();
        v.insert(
            "text".to_string(),
            ColumnView {
                analyzer: a,
                with_position: false,
                segments: vec![Arc::new(s)],
                postings: [("x".to_string(), vec![pl])].into_iter().collect(),
                unindexed: Some(rest),
            },
        );
        close(
            &ranked(FtsQuery::text("x", None), &mut v),
            &[(3, 1.423_940_9), (10, 0.698_684_4)],
        );
    }

    #[test]
    fn phrase_without_positions_is_a_clear_error() {
        let mut v = views(&FtsParams::default(), 8);
        let q = FtsQuery::Phrase {
            query: "brown dog".into(),
            column: Some("text".into()),
            slop: 0,
        };
        let e = q.terms(&mut v).unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        assert!(e.to_string().contains("withPosition"), "{e}");
    }

    #[test]
    fn split_between_index_and_unindexed_rows_finds_the_same_rows() {
        let mut all = views(&plain(), 8);
        let mut half = views(&plain(), 4);
        let a: Vec<u64> = ranked(FtsQuery::text("dog brown run", None), &mut all)
            .into_iter()
            .map(|x| x.0)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let b: Vec<u64> = ranked(FtsQuery::text("dog brown run", None), &mut half)
            .into_iter()
            .map(|x| x.0)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(a, b);
    }
}
