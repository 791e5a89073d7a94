//! The inverted index of one column: built in memory from (row id, text)
//! pairs, written as three immutable objects laid out for ranged reads, and
//! read back as a [`Segment`] (metadata read once, posting lists by range).
//!
//! Objects (all integers little-endian; layout in docs/FORMAT.md):
//!
//! * `fts.meta`: magic `STWFTSM1`, u32 header length, JSON header
//!   ([`Header`]), then one entry per term in byte order: u16 length, the
//!   term's UTF-8 bytes, u32 document frequency, u64 offset and u32 length of
//!   its posting block in `fts.postings`; then the XXH64 of all bytes before.
//! * `fts.docs`: magic `STWFTSD1`, u64 count, count row ids (u64, ascending),
//!   count token counts (u32), XXH64 of all bytes before.
//! * `fts.postings`: posting blocks back to back. A block: u32 n, n row ids
//!   (u64, ascending), n term frequencies (u32), and with positions, for each
//!   row its `freq` positions (u32, ascending).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::analyzer::Analyzer;
use super::params::FtsParams;
use crate::error::{Error, Result};

pub const META: &str = "fts.meta";
pub const DOCS: &str = "fts.docs";
pub const POSTINGS: &str = "fts.postings";
const META_MAGIC: &[u8; 8] = b"STWFTSM1";
const DOCS_MAGIC: &[u8; 8] = b"STWFTSD1";

/// The rows one term occurs in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostingList {
    /// Row ids, ascending.
    pub rows: Vec<u64>,
    pub freqs: Vec<u32>,
    /// Per row, the term's positions (when the index keeps them).
    pub positions: Option<Vec<Vec<u32>>>,
}

impl PostingList {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend((self.rows.len() as u32).to_le_bytes());
        for r in &self.rows {
            out.extend(r.to_le_bytes());
        }
        for f in &self.freqs {
            out.extend(f.to_le_bytes());
        }
        if let Some(ps) = &self.positions {
            for p in ps.iter().flatten() {
                out.extend(p.to_le_bytes());
            }
        }
    }

    /// Decodes a block; `with_position` says whether positions follow.
    pub fn decode(b: &[u8], with_position: bool) -> Result<Self> {
        let mut r = Reader { b, at: 0 };
        let n = r.u32()? as usize;
        let rows = (0..n).map(|_| r.u64()).collect::<Result<Vec<_>>>()?;
        let freqs = (0..n).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
        let positions = if with_position {
            let mut ps = Vec::with_capacity(n);
            for f in &freqs {
                ps.push((0..*f).map(|_| r.u32()).collect::<Result<Vec<_>>>()?);
            }
            Some(ps)
        } else {
            None
        };
        Ok(PostingList {
            rows,
            freqs,
            positions,
        })
    }
}

/// Corpus statistics BM25 needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Documents (non-null values) indexed.
    pub num_docs: u64,
    /// Tokens over all documents.
    pub total_tokens: u64,
}

impl Stats {
    pub fn plus(self, o: Stats) -> Stats {
        Stats {
            num_docs: self.num_docs + o.num_docs,
            total_tokens: self.total_tokens + o.total_tokens,
        }
    }
}

/// The JSON header of `fts.meta`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub params: FtsParams,
    pub stats: Stats,
    pub num_terms: u64,
    pub postings_bytes: u64,
}

/// An index built in memory: the rows of some data files, or the unindexed
/// rows a query scans.
#[derive(Debug, Default, Clone)]
pub struct MemIndex {
    pub with_position: bool,
    pub terms: BTreeMap<String, PostingList>,
    /// (row id, token count), in insertion order (ascending when rows are
    /// added in row-id order).
    pub docs: Vec<(u64, u32)>,
    pub stats: Stats,
}

impl MemIndex {
    pub fn new(with_position: bool) -> Self {
        MemIndex {
            with_position,
            ..Default::default()
        }
    }

    /// Adds one row; `None` (a null value) is not a document. Rows must come
    /// in ascending row-id order.
    pub fn add(&mut self, analyzer: &mut Analyzer, row: u64, text: Option<&str>) {
        let Some(text) = text else {
            return;
        };
        let toks = analyzer.tokens(text);
        self.docs.push((row, toks.len() as u32));
        self.stats.num_docs += 1;
        self.stats.total_tokens += toks.len() as u64;
        for t in toks {
            let pl = self.terms.entry(t.text).or_insert_with(|| PostingList {
                positions: self.with_position.then(Vec::new),
                ..Default::default()
            });
            if pl.rows.last() == Some(&row) {
                if let Some(f) = pl.freqs.last_mut() {
                    *f += 1;
                }
            } else {
                pl.rows.push(row);
                pl.freqs.push(1);
                if let Some(ps) = pl.positions.as_mut() {
                    ps.push(Vec::new());
                }
            }
            if let Some(ps) = pl.positions.as_mut().and_then(|p| p.last_mut()) {
                ps.push(t.position);
            }
        }
    }

    /// The three objects of this index: (name, bytes).
    pub fn write(&self, params: &FtsParams) -> Vec<(&'static str, Vec<u8>)> {
        let mut postings = Vec::new();
        let mut dict = Vec::new();
        for (term, pl) in &self.terms {
            let off = postings.len() as u64;
            pl.encode(&mut postings);
            let len = postings.len() as u64 - off;
            // Terms are at most `max_token_length` bytes, and a tantivy token
            // longer than u16::MAX would be cut by the u16 length: clamp the
            // length on both sides so the dictionary stays readable.
            let tb = &term.as_bytes()[..term.len().min(u16::MAX as usize)];
            dict.extend((tb.len() as u16).to_le_bytes());
            dict.extend(tb);
            dict.extend((pl.rows.len() as u32).to_le_bytes());
            dict.extend(off.to_le_bytes());
            dict.extend((len as u32).to_le_bytes());
        }
        let header = Header {
            params: FtsParams {
                with_position: self.with_position,
                ..params.clone()
            },
            stats: self.stats,
            num_terms: self.terms.len() as u64,
            postings_bytes: postings.len() as u64,
        };
        let hj = serde_json::to_vec(&header).unwrap_or_default();
        let mut meta = Vec::with_capacity(16 + hj.len() + dict.len());
        meta.extend(META_MAGIC);
        meta.extend((hj.len() as u32).to_le_bytes());
        meta.extend(&hj);
        meta.extend(&dict);
        let sum = crate::index::checksum(&meta);
        meta.extend(sum.to_le_bytes());

        let mut docs = Vec::with_capacity(24 + self.docs.len() * 12);
        docs.extend(DOCS_MAGIC);
        docs.extend((self.docs.len() as u64).to_le_bytes());
        for (r, _) in &self.docs {
            docs.extend(r.to_le_bytes());
        }
        for (_, n) in &self.docs {
            docs.extend(n.to_le_bytes());
        }
        let sum = crate::index::checksum(&docs);
        docs.extend(sum.to_le_bytes());
        vec![(META, meta), (DOCS, docs), (POSTINGS, postings)]
    }
}

/// Where a term's posting block is in `fts.postings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermEntry {
    pub doc_freq: u32,
    pub offset: u64,
    pub len: u32,
}

/// A written index, opened: the dictionary and document lengths in memory
/// (read once, cached by the caller), posting blocks fetched by range.
#[derive(Debug, Clone)]
pub struct Segment {
    pub header: Header,
    pub terms: BTreeMap<String, TermEntry>,
    /// Row ids ascending, with their token counts.
    pub doc_rows: Vec<u64>,
    pub doc_lens: Vec<u32>,
}

impl Segment {
    pub fn open(meta: &[u8], docs: &[u8]) -> Result<Self> {
        let body = verified(meta, META_MAGIC, META)?;
        let mut r = Reader { b: body, at: 8 };
        let hl = r.u32()? as usize;
        let header: Header = serde_json::from_slice(r.take(hl)?)
            .map_err(|e| corrupt(META, &format!("header: {e}")))?;
        let mut terms = BTreeMap::new();
        for _ in 0..header.num_terms {
            let n = r.u16()? as usize;
            let t = std::str::from_utf8(r.take(n)?)
                .map_err(|_| corrupt(META, "term is not UTF-8"))?
                .to_string();
            let e = TermEntry {
                doc_freq: r.u32()?,
                offset: r.u64()?,
                len: r.u32()?,
            };
            terms.insert(t, e);
        }
        let body = verified(docs, DOCS_MAGIC, DOCS)?;
        let mut r = Reader { b: body, at: 8 };
        let n = r.u64()? as usize;
        if n.saturating_mul(12) > body.len() {
            return Err(corrupt(DOCS, "count exceeds the object"));
        }
        let doc_rows = (0..n).map(|_| r.u64()).collect::<Result<Vec<_>>>()?;
        let doc_lens = (0..n).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
        Ok(Segment {
            header,
            terms,
            doc_rows,
            doc_lens,
        })
    }

    pub fn with_position(&self) -> bool {
        self.header.params.with_position
    }

    /// The token count of a row, if this segment indexed it.
    pub fn doc_len(&self, row: u64) -> Option<u32> {
        self.doc_rows
            .binary_search(&row)
            .ok()
            .map(|i| self.doc_lens[i])
    }
}

fn corrupt(what: &str, why: &str) -> Error {
    Error::internal(format!("full-text index object {what} is corrupt: {why}"))
}

fn verified<'a>(b: &'a [u8], magic: &[u8; 8], what: &str) -> Result<&'a [u8]> {
    if b.len() < 16 || &b[..8] != magic {
        return Err(corrupt(what, "bad magic"));
    }
    let (body, sum) = b.split_at(b.len() - 8);
    let want = u64::from_le_bytes(sum.try_into().map_err(|_| corrupt(what, "short"))?);
    if crate::index::checksum(body) != want {
        return Err(corrupt(what, "checksum mismatch"));
    }
    Ok(body)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| corrupt("block", "truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_index_reads_back() {
        let p = FtsParams {
            with_position: true,
            stem: false,
            remove_stop_words: false,
            ..Default::default()
        };
        let mut a = Analyzer::new(&p).unwrap();
        let mut m = MemIndex::new(true);
        m.add(&mut a, 1, Some("brown dogs and brown cats"));
        m.add(&mut a, 2, None);
        m.add(&mut a, 5, Some("dogs"));
        m.add(&mut a, 7, Some(""));
        assert_eq!(
            m.stats,
            Stats {
                num_docs: 3,
                total_tokens: 6
            }
        );
        let objs = m.write(&p);
        let get = |n: &str| objs.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        let seg = Segment::open(&get(META), &get(DOCS)).unwrap();
        assert_eq!(seg.header.stats, m.stats);
        assert_eq!(seg.doc_len(1), Some(5));
        assert_eq!(seg.doc_len(7), Some(0));
        assert_eq!(seg.doc_len(2), None);
        let e = seg.terms["brown"];
        let postings = get(POSTINGS);
        let pl = PostingList::decode(
            &postings[e.offset as usize..(e.offset + e.len as u64) as usize],
            true,
        )
        .unwrap();
        assert_eq!(pl, m.terms["brown"]);
        assert_eq!(pl.positions, Some(vec![vec![0, 3]]));
        assert_eq!(seg.terms["dogs"].doc_freq, 2);
        // A flipped byte is detected.
        let mut bad = get(META);
        bad[20] ^= 1;
        assert!(Segment::open(&bad, &get(DOCS)).is_err());
    }
}
