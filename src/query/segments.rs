//! Reading index segments' objects, shared by every index kind whose
//! segments are opened whole (full-text dictionaries, scalar indexes): one
//! lookup of an object by name within a segment, one whole-object read, and
//! one process-wide cache of opened segments. Segments are immutable and
//! uniquely named, so a cached segment never goes stale.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::format::index::IndexSegment;
use crate::format::Snapshot;

/// The relative path of the segment's object `name`; `what` names the index
/// kind ("full-text", "scalar") in the error for a segment without it.
pub(crate) fn object_path<'a>(seg: &'a IndexSegment, name: &str, what: &str) -> Result<&'a str> {
    seg.files
        .iter()
        .find(|f| f.path.rsplit('/').next() == Some(name))
        .map(|f| f.path.as_str())
        .ok_or_else(|| Error::Corrupt {
            table: "(index entry)".into(),
            reason: format!("{what} index segment {} has no {name}", seg.uuid),
        })
}

/// The whole of the segment's object `name`, in one GET.
pub(crate) async fn read_object(
    snap: &Snapshot,
    seg: &IndexSegment,
    name: &str,
    what: &str,
) -> Result<bytes::Bytes> {
    use object_store::ObjectStoreExt;
    let p = snap.path(object_path(seg, name, what)?);
    let context = || format!("Reading {what} index object {p}");
    let r = snap
        .store
        .store
        .get(&p)
        .await
        .map_err(|e| snap.store.error(e, context()))?;
    r.bytes().await.map_err(|e| snap.store.error(e, context()))
}

/// Opened segments of one kind, process-wide, keyed by store, table and
/// segment id. Bounded by count: when full it is emptied rather than
/// tracking use (a segment is re-opened with one or two reads).
pub(crate) struct SegmentCache<T>(OnceLock<Mutex<HashMap<String, Arc<T>>>>);

const MAX_SEGMENTS: usize = 256;

impl<T> SegmentCache<T> {
    pub(crate) const fn new() -> Self {
        Self(OnceLock::new())
    }

    fn map(&self) -> &Mutex<HashMap<String, Arc<T>>> {
        self.0.get_or_init(|| Mutex::new(HashMap::new()))
    }

    /// The cached segment, or `open`'s result, cached. A poisoned lock only
    /// disables caching.
    pub(crate) async fn get_or_open<F>(
        &self,
        snap: &Snapshot,
        seg: &IndexSegment,
        open: F,
    ) -> Result<Arc<T>>
    where
        F: Future<Output = Result<T>>,
    {
        let key = format!("{}|{}|{}", snap.store.display_uri, snap.dir, seg.uuid);
        if let Some(s) = self.map().lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(s);
        }
        let opened = Arc::new(open.await?);
        if let Ok(mut c) = self.map().lock() {
            if c.len() >= MAX_SEGMENTS {
                c.clear();
            }
            c.insert(key, opened.clone());
        }
        Ok(opened)
    }
}
