//! A scan that yields its batches one data file at a time, so a caller
//! iterating a large result holds about two files' rows, not the whole
//! result. Each file is scanned by the same code as [`super::scan`] (over a
//! snapshot narrowed to that file); offset and limit are applied across
//! files here.

use std::sync::Arc;

use arrow_array::RecordBatch;
use futures::{Stream, StreamExt};

use super::{scan, ScanRequest};
use crate::error::Result;
use crate::format::Snapshot;

/// Data files scanned ahead of the consumer.
const STREAM_AHEAD: usize = 2;

/// The batches of `req` over `snap`, file by file, in manifest order.
pub fn scan_stream(
    snap: Arc<Snapshot>,
    req: ScanRequest,
) -> impl Stream<Item = Result<RecordBatch>> + Send + 'static {
    let files: Vec<_> = snap.manifest.fragments.clone();
    let (mut skip, mut remaining) = (req.offset, req.limit.unwrap_or(u64::MAX));
    // Each file is scanned for at most offset + limit rows: the rows skipped
    // or taken across files are counted below.
    let per_file = ScanRequest {
        offset: 0,
        limit: req.limit.map(|l| l.saturating_add(req.offset)),
        ..req
    };
    futures::stream::iter(files)
        .map(move |frag| {
            let snap = snap.clone();
            let per_file = per_file.clone();
            async move {
                let mut manifest = (*snap.manifest).clone();
                manifest.fragments = vec![frag];
                let one = Snapshot {
                    manifest: Arc::new(manifest),
                    ..(*snap).clone()
                };
                // A stream reads the column cache but does not fill it.
                super::SCAN_RESISTANT
                    .scope(true, async { scan(&one, &per_file).await })
                    .await
                    .map(|(_, batches)| batches)
            }
        })
        .buffered(STREAM_AHEAD)
        .map(move |res| {
            let mut out = Vec::new();
            for batch in res? {
                if remaining == 0 {
                    break;
                }
                let n = batch.num_rows() as u64;
                if skip >= n {
                    skip -= n;
                    continue;
                }
                let take = (n - skip).min(remaining);
                out.push(batch.slice(skip as usize, take as usize));
                skip = 0;
                remaining -= take;
            }
            Ok::<_, crate::error::Error>((out, remaining == 0))
        })
        // Stop reading files once the limit is reached.
        .scan(false, |done, res| {
            if *done {
                return futures::future::ready(None);
            }
            let item = res.map(|(batches, finished)| {
                *done = finished;
                batches
            });
            if item.is_err() {
                *done = true;
            }
            futures::future::ready(Some(item))
        })
        .flat_map(|res| {
            let items: Vec<Result<RecordBatch>> = match res {
                Ok(batches) => batches.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            futures::stream::iter(items)
        })
}
