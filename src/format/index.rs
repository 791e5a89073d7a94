//! Index entries of a manifest: which indexes a version has, the objects
//! each is stored in, and which fragments (data files) each segment covers.
//! See docs/FORMAT.md, "Indexes".
//!
//! Coverage is by fragment id. Fragment ids are never reused, so a segment
//! stays valid while the table changes around it: rows deleted from a covered
//! fragment are filtered through its deletion file at read time, and rows in
//! fragments a segment does not cover (appended, updated or compacted after
//! the build) are unindexed until `optimize()` adds a segment for them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The directory of index objects under the table directory.
pub const INDICES_DIR: &str = "_indices";

/// The kinds of index, by the names `listIndices()` / `indexStats()` of
/// @lancedb/lancedb show as `indexType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IndexKind {
    #[serde(rename = "IVF_FLAT")]
    IvfFlat,
    #[serde(rename = "IVF_PQ")]
    IvfPq,
    #[serde(rename = "IVF_RQ")]
    IvfRq,
    #[serde(rename = "IVF_HNSW_SQ")]
    IvfHnswSq,
    #[serde(rename = "IVF_HNSW_PQ")]
    IvfHnswPq,
    #[serde(rename = "BTREE")]
    BTree,
    #[serde(rename = "BITMAP")]
    Bitmap,
    #[serde(rename = "LABEL_LIST")]
    LabelList,
    #[serde(rename = "FTS")]
    Fts,
}

impl IndexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::IvfFlat => "IVF_FLAT",
            IndexKind::IvfPq => "IVF_PQ",
            IndexKind::IvfRq => "IVF_RQ",
            IndexKind::IvfHnswSq => "IVF_HNSW_SQ",
            IndexKind::IvfHnswPq => "IVF_HNSW_PQ",
            IndexKind::BTree => "BTREE",
            IndexKind::Bitmap => "BITMAP",
            IndexKind::LabelList => "LABEL_LIST",
            IndexKind::Fts => "FTS",
        }
    }

    /// The name `listIndices()` shows as `indexType` (the reference's
    /// `indexStats()` shows [`IndexKind::as_str`] instead).
    pub fn list_name(self) -> &'static str {
        match self {
            IndexKind::IvfFlat => "IvfFlat",
            IndexKind::IvfPq => "IvfPq",
            IndexKind::IvfRq => "IvfRq",
            IndexKind::IvfHnswSq => "IvfHnswSq",
            IndexKind::IvfHnswPq => "IvfHnswPq",
            IndexKind::BTree => "BTree",
            IndexKind::Bitmap => "Bitmap",
            IndexKind::LabelList => "LabelList",
            IndexKind::Fts => "FTS",
        }
    }

    pub fn is_vector(self) -> bool {
        matches!(
            self,
            IndexKind::IvfFlat
                | IndexKind::IvfPq
                | IndexKind::IvfRq
                | IndexKind::IvfHnswSq
                | IndexKind::IvfHnswPq
        )
    }
}

/// One index of a table version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexEntry {
    /// Unique within the table (default `<column>_idx`).
    pub name: String,
    /// This index's id; a replaced index gets a new one.
    pub uuid: String,
    pub kind: IndexKind,
    pub columns: Vec<String>,
    /// The build options after defaults, so `optimize()` can extend or
    /// retrain the index with the same settings.
    #[serde(default)]
    pub params: serde_json::Value,
    pub created_at_ms: u64,
    /// The parts of the index; each covers a disjoint set of fragments.
    pub segments: Vec<IndexSegment>,
}

/// One part of an index, built over some fragments (LanceDB's "delta
/// index": `numIndices`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexSegment {
    pub uuid: String,
    /// The segment's objects, under `_indices/<segment uuid>/`.
    pub files: Vec<IndexFile>,
    /// The fragments whose rows it indexed.
    pub fragments: FragmentSet,
    /// Rows given to the builder (deleted rows of covered fragments count
    /// until they are filtered out at read time).
    pub rows: u64,
    /// Kind-specific facts (e.g. a vector index's distance type, partitions).
    #[serde(default)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexFile {
    /// Relative to the table directory, e.g. `_indices/<uuid>/meta.idx`.
    pub path: String,
    pub size_bytes: u64,
}

/// A set of fragment ids stored as sorted, disjoint inclusive ranges
/// (`[[0, 41], [45, 45]]`): an index over thousands of fragments written in
/// order takes a few bytes in every manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FragmentSet(Vec<[u64; 2]>);

impl FragmentSet {
    pub fn from_ids(ids: impl IntoIterator<Item = u64>) -> Self {
        let mut ids: Vec<u64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut ranges: Vec<[u64; 2]> = Vec::new();
        for id in ids {
            match ranges.last_mut() {
                Some(r) if r[1] + 1 == id => r[1] = id,
                _ => ranges.push([id, id]),
            }
        }
        FragmentSet(ranges)
    }

    pub fn contains(&self, id: u64) -> bool {
        // Ranges are sorted and disjoint: the last range starting at or
        // before `id` is the only one that can hold it.
        let i = self.0.partition_point(|r| r[0] <= id);
        i > 0 && self.0[i - 1][1] >= id
    }

    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().flat_map(|r| r[0]..=r[1])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Only the ids `keep` accepts.
    pub fn retain(&self, keep: impl Fn(u64) -> bool) -> Self {
        FragmentSet::from_ids(self.ids().filter(|id| keep(*id)))
    }

    pub fn union(&self, other: &FragmentSet) -> Self {
        FragmentSet::from_ids(self.ids().chain(other.ids()))
    }

    /// Checks the invariant a reader relies on (sorted, disjoint ranges).
    pub fn validate(&self) -> Result<()> {
        let ok =
            self.0.iter().all(|r| r[0] <= r[1]) && self.0.windows(2).all(|w| w[0][1] + 1 < w[1][0]);
        if ok {
            Ok(())
        } else {
            Err(Error::Corrupt {
                table: "(index entry)".into(),
                reason: "fragment ranges are not sorted and disjoint".into(),
            })
        }
    }
}

impl IndexEntry {
    /// Every fragment some segment covers.
    pub fn covered(&self) -> FragmentSet {
        self.segments
            .iter()
            .fold(FragmentSet::default(), |a, s| a.union(&s.fragments))
    }

    pub fn covers(&self, fragment_id: u64) -> bool {
        self.segments
            .iter()
            .any(|s| s.fragments.contains(fragment_id))
    }

    /// Every object of the index.
    pub fn files(&self) -> impl Iterator<Item = &IndexFile> {
        self.segments.iter().flat_map(|s| s.files.iter())
    }

    /// The entry with coverage of fragments that no longer exist dropped.
    /// A segment left covering nothing stays (its objects still hold its
    /// trained model, which `optimize()` reuses).
    pub fn pruned(&self, exists: &impl Fn(u64) -> bool) -> IndexEntry {
        let mut e = self.clone();
        for s in &mut e.segments {
            s.fragments = s.fragments.retain(exists);
        }
        e
    }
}

/// The directory of a segment's objects, relative to the table directory.
pub fn segment_dir(segment_uuid: &str) -> String {
    format!("{INDICES_DIR}/{segment_uuid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_sets_are_ranges() {
        let s = FragmentSet::from_ids([5, 0, 1, 2, 9, 3, 10, 2]);
        assert_eq!(s.0, vec![[0, 3], [5, 5], [9, 10]]);
        assert_eq!(serde_json::to_string(&s).unwrap(), "[[0,3],[5,5],[9,10]]");
        for (id, yes) in [
            (0, true),
            (3, true),
            (4, false),
            (5, true),
            (8, false),
            (10, true),
            (11, false),
        ] {
            assert_eq!(s.contains(id), yes, "{id}");
        }
        assert_eq!(
            s.retain(|id| id % 2 == 1).0,
            vec![[1, 1], [3, 3], [5, 5], [9, 9]]
        );
        assert!(s.validate().is_ok());
        assert!(FragmentSet(vec![[0, 3], [4, 5]]).validate().is_err());
        assert!(FragmentSet(vec![[3, 1]]).validate().is_err());
        assert_eq!(
            serde_json::to_string(&IndexKind::IvfHnswSq).unwrap(),
            "\"IVF_HNSW_SQ\""
        );
    }
}
