//! `timeoutMs` of a query (the reference's `QueryExecutionOptions`): the
//! native read runs under a deadline and is dropped when it passes, so its
//! pending requests are abandoned and no further file is read for it. The
//! caller sees `STORAGE_TIMEOUT`.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result, StorageErrorKind};

/// The deadline `timeout_ms` milliseconds from now (`None`: no timeout).
pub(crate) fn deadline(timeout_ms: Option<f64>) -> Result<Option<Instant>> {
    match timeout_ms {
        None => Ok(None),
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some(
            Instant::now() + Duration::from_micros((ms * 1000.0) as u64),
        )),
        Some(ms) => Err(Error::invalid_argument(format!(
            "timeoutMs must be a non-negative number of milliseconds, got {ms}"
        ))),
    }
}

/// The error of a query past its deadline.
pub(crate) fn expired(timeout_ms: f64) -> Error {
    Error::Storage {
        kind: StorageErrorKind::Timeout,
        context: "Running the query".into(),
        message: format!(
            "it did not finish within timeoutMs={timeout_ms}; its reads were cancelled"
        ),
    }
}

/// Runs `fut` until `deadline`; past it `fut` is dropped (cancelling its
/// reads) and the result is [`expired`].
pub(crate) async fn within<T>(
    deadline: Option<Instant>,
    timeout_ms: Option<f64>,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match deadline {
        None => fut.await,
        Some(at) => match tokio::time::timeout_at(at, fut).await {
            Ok(r) => r,
            Err(_) => Err(expired(timeout_ms.unwrap_or_default())),
        },
    }
}

/// [`within`] for a query given `timeoutMs` (checked here).
pub(crate) async fn run<T>(
    timeout_ms: Option<f64>,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    within(deadline(timeout_ms)?, timeout_ms, fut).await
}
