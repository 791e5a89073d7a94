//! BTREE, BITMAP and LABEL_LIST index builds (issue 12): every fragment's
//! values of the column (for LABEL_LIST, the elements of its lists) with
//! their row ids, sorted into one [`ScalarIndex`] segment.

use arrow_array::cast::AsArray;
use arrow_array::ArrayRef;
use arrow_schema::DataType;

use super::indexing::{BuildContext, BuiltSegment};
use crate::error::{Error, Result};
use crate::format::index::{FragmentSet, IndexSegment};
use crate::format::manifest::Fragment;
use crate::index::scalar::ScalarIndex;
use crate::query::{read_slice, Slice, ROW_ID};

fn indexable(dt: &DataType) -> bool {
    use DataType::*;
    matches!(
        dt,
        Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float32
            | Float64
            | Utf8
            | LargeUtf8
            | Date32
            | Date64
            | Timestamp(_, _)
    )
}

/// `train`: index every fragment; `false` (`createIndex` with
/// `train: false`): an empty segment that covers no fragment, so every
/// row is searched without it until `optimize()` fills it.
pub(crate) async fn build(kind: &str, ctx: &BuildContext<'_>, train: bool) -> Result<BuiltSegment> {
    let frags: &[Fragment] = if train {
        &ctx.snap.manifest.fragments
    } else {
        &[]
    };
    let segment = build_segment_over(
        kind,
        ctx.snap,
        ctx.column,
        frags,
        &ctx.segment_uuid,
        &|d, t| ctx.report("index", d, t),
    )
    .await?;
    Ok(BuiltSegment {
        segment,
        params: serde_json::json!({}),
    })
}

/// One segment over every fragment of `snap`.
pub(crate) async fn build_segment(
    kind: &str,
    snap: &crate::format::Snapshot,
    column: &str,
    segment_uuid: &str,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<IndexSegment> {
    let frags = &snap.manifest.fragments;
    build_segment_over(kind, snap, column, frags, segment_uuid, progress).await
}

/// One segment over `frags` of `snap`.
async fn build_segment_over(
    kind: &str,
    snap: &crate::format::Snapshot,
    column: &str,
    frags: &[Fragment],
    segment_uuid: &str,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<IndexSegment> {
    let idx = snap.schema.index_of(column)?;
    let dt = snap.schema.field(idx).data_type().clone();
    let labels = kind == "LABEL_LIST";
    if labels {
        let ok = match &dt {
            DataType::List(f) | DataType::LargeList(f) => indexable(f.data_type()),
            _ => false,
        };
        if !ok {
            return Err(Error::invalid_argument(format!(
                "a LABEL_LIST index needs a list column of numbers, strings, booleans, dates or timestamps; column '{}' has type {dt}",
                crate::error::quote(column)
            )));
        }
    } else if !indexable(&dt) {
        return Err(Error::invalid_argument(format!(
            "a {kind} index needs a column of numbers, strings, booleans, dates or timestamps; column '{column}' has type {dt}"
        )));
    }
    let mut ids: Vec<u64> = Vec::new();
    let mut parts: Vec<ArrayRef> = Vec::new();
    let total: u64 = frags.iter().map(|f| f.rows).sum();
    let mut done = 0;
    for f in frags {
        // Deleted rows are left out; rows deleted later are filtered at
        // read time like any other.
        for b in read_slice(snap, &Slice::whole(f), &[idx], true).await? {
            let r = b
                .column_by_name(ROW_ID)
                .ok_or_else(|| Error::internal("row ids missing"))?
                .as_primitive::<arrow_array::types::UInt64Type>();
            ids.extend_from_slice(r.values());
            parts.push(b.column(0).clone());
        }
        done += f.rows;
        progress(done, total);
    }
    let values = if parts.is_empty() {
        arrow_array::new_empty_array(&dt)
    } else {
        arrow_select::concat::concat(&parts.iter().map(|a| a.as_ref()).collect::<Vec<_>>())?
    };
    let index = if labels {
        ScalarIndex::build_labels(&ids, &values)?
    } else {
        ScalarIndex::build(&ids, &values)?
    };
    let files =
        super::indexing::put_segment_objects(snap, segment_uuid, index.write()?, "scalar").await?;
    Ok(IndexSegment {
        uuid: segment_uuid.to_string(),
        files,
        fragments: FragmentSet::from_ids(frags.iter().map(|f| f.id)),
        rows: total,
        details: serde_json::json!({ "num_values": index.values.len() }),
    })
}
