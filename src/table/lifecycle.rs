//! Whether a connection or table handle is still usable.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::storage::cancel::CancelScope;

/// Open until closed; closing is final and aborts the handle's uploads still
/// in flight (committed data is unaffected).
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    closed: AtomicBool,
}

impl Lifecycle {
    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }

    pub fn close(&self, scope: &CancelScope) {
        self.closed.store(true, Ordering::Release);
        scope.cancel();
    }

    /// `CLOSED`, naming the handle (`what`), once closed.
    pub fn check(&self, what: impl FnOnce() -> String) -> Result<()> {
        if self.is_open() {
            Ok(())
        } else {
            Err(Error::Closed { what: what() })
        }
    }

    pub fn describe(&self) -> &'static str {
        if self.is_open() {
            "open"
        } else {
            "closed"
        }
    }
}
