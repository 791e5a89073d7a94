//! Full-text search: text analysis (tantivy's tokenizers and stemmers in one
//! pipeline), our inverted index objects, and BM25 query evaluation.
//! Nothing here knows tables: the query layer feeds (row id, text) pairs in
//! and loads the objects through the index foundation.

pub mod analyzer;
pub mod inverted;
pub mod params;
pub mod query;

pub use analyzer::Analyzer;
pub use inverted::{MemIndex, PostingList, Segment, Stats};
pub use params::{BaseTokenizer, FtsParams};
pub use query::{ColumnView, FtsQuery, Occur, Operator};
