//! Full-text index builds over a table's data files (issue 12): every
//! fragment's text analysed into one in-memory inverted index, written as
//! the three objects of `crate::index::fts::inverted` under the segment's
//! directory.

use super::indexing::{BuildContext, BuiltSegment, FtsOptions};
use crate::error::{Error, Result};
use crate::format::index::{FragmentSet, IndexEntry, IndexSegment};
use crate::format::manifest::Fragment;
use crate::format::Snapshot;
use crate::index::fts::{Analyzer, BaseTokenizer, FtsParams, MemIndex};
use crate::query::fts::{index_fragment, is_text};

/// The reference's options after its defaults.
pub(crate) fn params(o: &FtsOptions) -> Result<FtsParams> {
    let d = FtsParams::default();
    let p = FtsParams {
        with_position: o.with_position.unwrap_or(d.with_position),
        base_tokenizer: match &o.base_tokenizer {
            Some(s) => BaseTokenizer::parse(s)?,
            None => d.base_tokenizer,
        },
        language: o.language.clone().unwrap_or(d.language),
        max_token_length: o.max_token_length.or(d.max_token_length),
        lower_case: o.lowercase.unwrap_or(d.lower_case),
        stem: o.stem.unwrap_or(d.stem),
        remove_stop_words: o.remove_stop_words.unwrap_or(d.remove_stop_words),
        ascii_folding: o.ascii_folding.unwrap_or(d.ascii_folding),
        min_ngram_length: o.ngram_min_length.unwrap_or(d.min_ngram_length),
        max_ngram_length: o.ngram_max_length.unwrap_or(d.max_ngram_length),
        prefix_only: o.prefix_only.unwrap_or(d.prefix_only),
    };
    p.validate()?;
    Ok(p)
}

/// Checks the column can hold text.
pub(crate) fn check_column(snap: &Snapshot, column: &str) -> Result<usize> {
    let idx = snap.schema.index_of(column)?;
    let dt = snap.schema.field(idx).data_type();
    if is_text(dt) {
        return Ok(idx);
    }
    if matches!(dt, arrow_schema::DataType::List(f) | arrow_schema::DataType::LargeList(f) if is_text(f.data_type()))
    {
        return Err(Error::NotSupported(format!(
            "a full-text index on the list-of-strings column '{column}' is not supported yet; index a string column"
        )));
    }
    Err(Error::invalid_argument(format!(
        "a full-text index (Index.fts()) needs a string column; column '{column}' has type {dt}"
    )))
}

/// Writes one segment over `fragments` with `p`.
pub(crate) async fn write_segment(
    snap: &Snapshot,
    column: &str,
    p: &FtsParams,
    fragments: &[Fragment],
    segment_uuid: &str,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<IndexSegment> {
    let idx = check_column(snap, column)?;
    let mut analyzer = Analyzer::new(p)?;
    let mut m = MemIndex::new(p.with_position);
    let total: u64 = fragments.iter().map(|f| f.rows).sum();
    let mut done = 0;
    for f in fragments {
        index_fragment(snap, f, idx, &mut analyzer, &mut m).await?;
        done += f.rows;
        progress(done, total);
    }
    let files =
        super::indexing::put_segment_objects(snap, segment_uuid, m.write(p), "full-text").await?;
    Ok(IndexSegment {
        uuid: segment_uuid.to_string(),
        files,
        fragments: FragmentSet::from_ids(fragments.iter().map(|f| f.id)),
        rows: total,
        details: serde_json::json!({
            "num_docs": m.stats.num_docs,
            "num_tokens": m.stats.total_tokens,
            "num_terms": m.terms.len(),
        }),
    })
}

/// `train: false`: an empty segment covering no fragment (rows are
/// searched without it until `optimize()` fills it), as the reference.
pub(crate) async fn build(
    o: &FtsOptions,
    ctx: &BuildContext<'_>,
    train: bool,
) -> Result<BuiltSegment> {
    let p = params(o)?;
    check_column(ctx.snap, ctx.column)?;
    let segment = write_segment(
        ctx.snap,
        ctx.column,
        &p,
        if train {
            &ctx.snap.manifest.fragments
        } else {
            &[]
        },
        &ctx.segment_uuid,
        &|d, t| ctx.report("index", d, t),
    )
    .await?;
    Ok(BuiltSegment {
        segment,
        params: serde_json::to_value(&p).map_err(|e| Error::internal(e.to_string()))?,
    })
}

/// Loads every segment's dictionary and document lengths into the cache.
pub(crate) async fn prewarm(snap: &Snapshot, e: &IndexEntry) -> Result<()> {
    for s in &e.segments {
        crate::query::fts::open_segment(snap, s).await?;
    }
    Ok(())
}

impl super::Table {
    /// `optimize()` for full-text and scalar indexes: an index with rows it does not
    /// cover (appended, updated or compacted since) is rebuilt over every
    /// data file as one segment replacing its old ones, as the reference
    /// merges them. Committed through the loop as `ReplaceSegments`; a
    /// concurrent change to the index makes this pass a no-op.
    pub(crate) async fn optimize_fts_indices(&self) -> Result<()> {
        let snap = self.refresh(true).await?;
        use crate::format::index::IndexKind;
        for e in snap.manifest.indices.iter().filter(|e| {
            matches!(
                e.kind,
                IndexKind::Fts | IndexKind::BTree | IndexKind::Bitmap | IndexKind::LabelList
            )
        }) {
            let stale =
                snap.manifest.fragments.iter().any(|f| !e.covers(f.id)) || e.segments.len() > 1;
            let Some(column) = e.columns.first() else {
                continue;
            };
            if !stale || snap.schema.field_with_name(column).is_err() {
                continue;
            }
            let seg_uuid = uuid::Uuid::new_v4().to_string();
            let seg = if e.kind == IndexKind::Fts {
                let p = crate::query::fts::entry_params(e)?;
                write_segment(
                    &snap,
                    column,
                    &p,
                    &snap.manifest.fragments,
                    &seg_uuid,
                    &|_, _| {},
                )
                .await?
            } else {
                super::scalar_build::build_segment(
                    e.kind.as_str(),
                    &snap,
                    column,
                    &seg_uuid,
                    &|_, _| {},
                )
                .await?
            };
            let replaced: Vec<String> = e.segments.iter().map(|s| s.uuid.clone()).collect();
            let (name, index_uuid, seg) = (&e.name, &e.uuid, &seg);
            // A lost race (index replaced or dropped meanwhile) is no error:
            // the loop gives up on it and the next optimize() tries again.
            let _ = self
                .commit(|_| {
                    let c = super::txn::IndexChange::ReplaceSegments {
                        name: name.clone(),
                        index_uuid: index_uuid.clone(),
                        replaced: replaced.clone(),
                        added: vec![seg.clone()],
                    };
                    async move { Ok((super::txn::Change::Index(c), ())) }
                })
                .await;
        }
        Ok(())
    }
}
