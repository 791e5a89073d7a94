//! A process-wide cache of decoded columns of data files. Data files are
//! immutable and their names unique (a UUID each), so an entry never goes
//! stale: no invalidation, only eviction (least recently used, by bytes).
//! Budget: the `column_cache_size` storage option (bytes; env
//! `STOWAGE_CACHE_SIZE`, or `STOWAGE_CACHE_MB` in MiB; default 512 MiB; 0
//! disables). Connections configured with the same size share one cache.
//!
//! Besides whole columns it holds the rows a query fetched by position (a
//! filtered query's page, a search's winners), by (file, column, offsets):
//! repeating the query on an unchanged table reads nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::{Array, ArrayRef};

pub struct ColumnCache {
    budget: usize,
    state: Mutex<State>,
}

/// (data file, column id, row offsets: `None` for the whole column).
type Key = (String, usize, Option<Arc<[u32]>>);

#[derive(Default)]
struct State {
    map: HashMap<Key, Entry>,
    used: usize,
    tick: u64,
}

struct Entry {
    col: ArrayRef,
    size: usize,
    tick: u64,
}

/// The cache of tables read through `store` (one per configured size).
pub fn for_store(store: &crate::storage::StoreHandle) -> Arc<ColumnCache> {
    for_budget(store.column_cache_bytes)
}

pub fn for_budget(budget: usize) -> Arc<ColumnCache> {
    static CACHES: OnceLock<Mutex<HashMap<usize, Arc<ColumnCache>>>> = OnceLock::new();
    let caches = CACHES.get_or_init(Default::default);
    let make = || {
        Arc::new(ColumnCache {
            budget,
            state: Mutex::new(State::default()),
        })
    };
    // A poisoned lock: a cache of its own for this caller is still correct.
    let Ok(mut map) = caches.lock() else {
        return make();
    };
    map.entry(budget).or_insert_with(make).clone()
}

impl ColumnCache {
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Whether an entry of `size` bytes is kept at all.
    pub fn admits(&self, size: usize) -> bool {
        size <= self.budget / 2
    }

    pub fn get(&self, file: &str, col: usize) -> Option<ArrayRef> {
        self.lookup((file.to_string(), col, None))
    }

    /// Rows `offsets` of a column, as [`put_rows`](Self::put_rows) kept them.
    pub fn get_rows(&self, file: &str, col: usize, offsets: &Arc<[u32]>) -> Option<ArrayRef> {
        self.lookup((file.to_string(), col, Some(offsets.clone())))
    }

    /// Whether the whole column is held (without touching its recency).
    pub fn contains(&self, file: &str, col: usize) -> bool {
        self.state
            .lock()
            .is_ok_and(|st| st.map.contains_key(&(file.to_string(), col, None)))
    }

    fn lookup(&self, key: Key) -> Option<ArrayRef> {
        // A poisoned lock only means another thread panicked mid-update of
        // a cache; dropping to "miss" is always correct.
        let mut st = self.state.lock().ok()?;
        st.tick += 1;
        let tick = st.tick;
        let e = st.map.get_mut(&key)?;
        e.tick = tick;
        Some(e.col.clone())
    }

    pub fn put(&self, file: &str, col: usize, arr: ArrayRef) {
        self.insert((file.to_string(), col, None), arr)
    }

    pub fn put_rows(&self, file: &str, col: usize, offsets: &Arc<[u32]>, arr: ArrayRef) {
        self.insert((file.to_string(), col, Some(offsets.clone())), arr)
    }

    fn insert(&self, key: Key, arr: ArrayRef) {
        let size = arr.get_array_memory_size()
            + key
                .2
                .as_ref()
                .map_or(0, |o| o.len() * std::mem::size_of::<u32>());
        if !self.admits(size) {
            return;
        }
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.tick += 1;
        let tick = st.tick;
        if let Some(old) = st.map.insert(
            key,
            Entry {
                col: arr,
                size,
                tick,
            },
        ) {
            st.used -= old.size;
        }
        st.used += size;
        while st.used > self.budget {
            let Some(victim) = st
                .map
                .iter()
                .min_by_key(|(_, e)| e.tick)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = st.map.remove(&victim) {
                st.used -= e.size;
            }
        }
    }
}
