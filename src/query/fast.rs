//! A search answered from memory, on the caller's thread.
//!
//! A vector search whose index, allowed-row sets and needed columns are all
//! in the process caches does no I/O: it is a few hundred microseconds of
//! CPU, and hopping to a worker thread and back costs a large share of
//! that. [`now_or_io`] runs such a search to completion synchronously, and
//! gives up (`None`) at the first point that would read from storage or
//! hand work to another thread: those points await [`io_gate`], which in
//! this mode never completes. The caller then runs the same search the
//! usual (async) way. Dropping the half-run future is safe: searches only
//! read, and caches are filled only after a read completes.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::FutureExt;

thread_local! {
    static CACHED_ONLY: Cell<bool> = const { Cell::new(false) };
}

static HITS: AtomicU64 = AtomicU64::new(0);
static MISSES: AtomicU64 = AtomicU64::new(0);

/// Whether the current poll is a [`now_or_io`] attempt (no I/O allowed).
#[inline]
pub(crate) fn cached_only() -> bool {
    CACHED_ONLY.with(|c| c.get())
}

/// Awaited before a read from storage (or work handed to another thread):
/// completes at once, except inside [`now_or_io`], where it stays pending
/// so that the attempt gives up.
pub(crate) fn io_gate() -> IoGate {
    IoGate(cached_only())
}

pub(crate) struct IoGate(bool);

impl Future for IoGate {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        // Never woken: the attempt polls once and drops the future.
        if self.0 {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// Runs `fut` to completion now if it needs no I/O, else `None` (nothing
/// was read; run it again asynchronously). Counted in [`stats`].
pub(crate) fn now_or_io<T>(fut: impl Future<Output = T>) -> Option<T> {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            CACHED_ONLY.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(CACHED_ONLY.with(|c| c.replace(true)));
    let out = fut.now_or_never();
    let counter = if out.is_some() { &HITS } else { &MISSES };
    counter.fetch_add(1, Ordering::Relaxed);
    out
}

/// (searches answered synchronously, attempts that needed I/O) since the
/// process started: tests check that the fast path is taken.
pub fn stats() -> (u64, u64) {
    (HITS.load(Ordering::Relaxed), MISSES.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_at_the_gate_and_resets() {
        assert_eq!(now_or_io(async { 1 }), Some(1));
        assert_eq!(
            now_or_io(async {
                io_gate().await;
                1
            }),
            None
        );
        assert!(!cached_only());
        // Outside an attempt the gate is open.
        assert_eq!(
            async {
                io_gate().await;
                2
            }
            .now_or_never(),
            Some(2)
        );
    }
}
