//! A process-wide cache of decoded columns of data files. Data files are
//! immutable and their names unique (a UUID each), so an entry never goes
//! stale: no invalidation, only eviction (least recently used, by bytes).
//! Budget: `STOWAGE_CACHE_MB` (default 512; 0 disables).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use arrow_array::{Array, ArrayRef};

pub struct ColumnCache {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    map: HashMap<(String, usize), Entry>,
    used: usize,
    tick: u64,
}

struct Entry {
    col: ArrayRef,
    size: usize,
    tick: u64,
}

pub fn global() -> &'static ColumnCache {
    static CACHE: OnceLock<ColumnCache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let mb = std::env::var("STOWAGE_CACHE_MB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(512);
        ColumnCache {
            budget: mb << 20,
            state: Mutex::new(State::default()),
        }
    })
}

impl ColumnCache {
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    pub fn get(&self, file: &str, col: usize) -> Option<ArrayRef> {
        // A poisoned lock only means another thread panicked mid-update of
        // a cache; dropping to "miss" is always correct.
        let mut st = self.state.lock().ok()?;
        st.tick += 1;
        let tick = st.tick;
        let e = st.map.get_mut(&(file.to_string(), col))?;
        e.tick = tick;
        Some(e.col.clone())
    }

    pub fn put(&self, file: &str, col: usize, arr: ArrayRef) {
        let size = arr.get_array_memory_size();
        if size > self.budget / 2 {
            return;
        }
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.tick += 1;
        let tick = st.tick;
        if let Some(old) = st.map.insert(
            (file.to_string(), col),
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
