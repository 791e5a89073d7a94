//! Cancellation scopes for in-flight uploads: process > connection > table.
//! Closing a table or connection, or a SIGINT/SIGTERM (through
//! `abort_all`), cancels the scope; uploads in it abort their multipart
//! upload instead of leaving parts behind.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
    children: Mutex<Vec<Weak<Inner>>>,
}

#[derive(Clone, Default)]
pub struct CancelScope {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CancelScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CancelScope(cancelled: {})", self.is_cancelled())
    }
}

fn root() -> &'static CancelScope {
    static ROOT: OnceLock<CancelScope> = OnceLock::new();
    ROOT.get_or_init(CancelScope::default)
}

impl CancelScope {
    /// A new scope under the process-wide one.
    pub fn new_connection() -> Self {
        root().child()
    }

    pub fn child(&self) -> Self {
        let child = CancelScope::default();
        if self.is_cancelled() {
            child.inner.cancelled.store(true, Ordering::Release);
        }
        if let Ok(mut kids) = self.inner.children.lock() {
            kids.retain(|w| w.strong_count() > 0);
            kids.push(Arc::downgrade(&child.inner));
        }
        child
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    pub fn cancel(&self) {
        cancel_inner(&self.inner);
    }

    /// Resolves once the scope (or an ancestor) is cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a cancel in between is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

fn cancel_inner(inner: &Arc<Inner>) {
    inner.cancelled.store(true, Ordering::Release);
    inner.notify.notify_waiters();
    let kids: Vec<Arc<Inner>> = inner
        .children
        .lock()
        .map(|k| k.iter().filter_map(Weak::upgrade).collect())
        .unwrap_or_default();
    for k in kids {
        cancel_inner(&k);
    }
}

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

fn idle() -> &'static Notify {
    static IDLE: OnceLock<Notify> = OnceLock::new();
    IDLE.get_or_init(Notify::new)
}

/// Counts an upload as in flight while alive.
pub struct InFlight(());

impl InFlight {
    pub fn start() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if IN_FLIGHT.fetch_sub(1, Ordering::AcqRel) == 1 {
            idle().notify_waiters();
        }
    }
}

pub fn in_flight() -> usize {
    IN_FLIGHT.load(Ordering::Acquire)
}

/// Cancels every upload in the process and waits (up to `wait`) until each
/// has aborted. Returns how many were still running at the deadline.
pub async fn abort_all(wait: Duration) -> usize {
    root().cancel();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let notified = idle().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if in_flight() == 0 {
            return 0;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return in_flight();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_reaches_children_and_waiters() {
        let conn = CancelScope::default();
        let table = conn.child();
        let other = CancelScope::default().child();
        let waiter = tokio::spawn({
            let t = table.clone();
            async move { t.cancelled().await }
        });
        conn.cancel();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(table.is_cancelled());
        assert!(!other.is_cancelled());
        assert!(
            conn.child().is_cancelled(),
            "children of a cancelled scope start cancelled"
        );
    }
}
