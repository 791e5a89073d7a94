//! napi for indexes: `createIndex`, `listIndices`, `indexStats`,
//! `dropIndex`, `waitForIndex`, `prewarmIndex`. Conversion only; the work
//! is in `table::indexing`.

use std::sync::Arc;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use super::args::{self, Given};
use super::guarded;
use super::table::{JsDistanceType, JsTable};
use crate::error::{Error, Result};
use crate::table::indexing::{
    CreateIndexRequest, FtsOptions, IndexConfig, IndexInfo, IndexStats, VectorIndexOptions,
};

// The `Index.*` factories, one value each.
string_enum! {
    pub enum JsIndexKind {
        IvfPq = "ivf_pq",
        IvfRq = "ivf_rq",
        IvfFlat = "ivf_flat",
        HnswPq = "hnsw_pq",
        HnswSq = "hnsw_sq",
        Btree = "btree",
        Bitmap = "bitmap",
        LabelList = "label_list",
        Fts = "fts",
        Fm = "fm",
    }
}

/// An `Index` as lib/indices.ts builds it: the factory and its options,
/// with the reference's option names.
#[napi(object, object_to_js = false)]
pub struct JsIndexConfig {
    #[napi(ts_type = "JsIndexKind")]
    pub kind: Given<String>,
    #[napi(ts_type = "number")]
    pub num_partitions: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub num_sub_vectors: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub num_bits: Option<Given<f64>>,
    #[napi(ts_type = "JsDistanceType")]
    pub distance_type: Option<Given<String>>,
    #[napi(ts_type = "number")]
    pub max_iterations: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub sample_rate: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub m: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub ef_construction: Option<Given<f64>>,
    // Index.fts()
    pub with_position: Option<bool>,
    pub base_tokenizer: Option<String>,
    pub language: Option<String>,
    #[napi(ts_type = "number")]
    pub max_token_length: Option<Given<f64>>,
    pub lowercase: Option<bool>,
    pub stem: Option<bool>,
    pub remove_stop_words: Option<bool>,
    pub ascii_folding: Option<bool>,
    #[napi(ts_type = "number")]
    pub ngram_min_length: Option<Given<f64>>,
    #[napi(ts_type = "number")]
    pub ngram_max_length: Option<Given<f64>>,
    pub prefix_only: Option<bool>,
}

fn positive(name: &str, v: Option<Given<f64>>) -> Result<Option<usize>> {
    Ok(args::opt_integer(name, v, args::POSITIVE)?.map(|n| n as usize))
}

impl TryFrom<JsIndexConfig> for IndexConfig {
    type Error = Error;

    fn try_from(o: JsIndexConfig) -> Result<Self> {
        let kind = args::choice::<JsIndexKind>("index type", o.kind)?;
        let vector = VectorIndexOptions {
            num_partitions: positive("numPartitions", o.num_partitions)?,
            num_sub_vectors: positive("numSubVectors", o.num_sub_vectors)?,
            num_bits: positive("numBits", o.num_bits)?.map(|n| n.min(u32::MAX as usize) as u32),
            distance_type: args::opt_choice::<JsDistanceType>("distanceType", o.distance_type)?
                .map(|d| crate::StringEnum::as_str(d).to_string()),
            max_iterations: positive("maxIterations", o.max_iterations)?,
            sample_rate: positive("sampleRate", o.sample_rate)?,
            m: positive("m", o.m)?,
            ef_construction: positive("efConstruction", o.ef_construction)?,
        };
        let fts = FtsOptions {
            with_position: o.with_position,
            base_tokenizer: o.base_tokenizer,
            language: o.language,
            max_token_length: positive("maxTokenLength", o.max_token_length)?,
            lowercase: o.lowercase,
            stem: o.stem,
            remove_stop_words: o.remove_stop_words,
            ascii_folding: o.ascii_folding,
            ngram_min_length: positive("ngramMinLength", o.ngram_min_length)?,
            ngram_max_length: positive("ngramMaxLength", o.ngram_max_length)?,
            prefix_only: o.prefix_only,
        };
        Ok(match kind {
            JsIndexKind::IvfPq => IndexConfig::IvfPq(vector),
            JsIndexKind::IvfRq => IndexConfig::IvfRq(vector),
            JsIndexKind::IvfFlat => IndexConfig::IvfFlat(vector),
            JsIndexKind::HnswPq => IndexConfig::HnswPq(vector),
            JsIndexKind::HnswSq => IndexConfig::HnswSq(vector),
            JsIndexKind::Btree => IndexConfig::BTree,
            JsIndexKind::Bitmap => IndexConfig::Bitmap,
            JsIndexKind::LabelList => IndexConfig::LabelList,
            JsIndexKind::Fts => IndexConfig::Fts(fts),
            JsIndexKind::Fm => IndexConfig::Fm,
        })
    }
}

#[napi(object, object_to_js = false)]
pub struct JsCreateIndexOptions {
    /// Unset or empty: the only vector column.
    pub column: Option<String>,
    pub config: Option<JsIndexConfig>,
    pub replace: Option<bool>,
    pub name: Option<String>,
    pub train: Option<bool>,
}

impl TryFrom<JsCreateIndexOptions> for CreateIndexRequest {
    type Error = Error;

    fn try_from(o: JsCreateIndexOptions) -> Result<Self> {
        Ok(CreateIndexRequest {
            column: o.column,
            config: o.config.map(IndexConfig::try_from).transpose()?,
            // The reference replaces by default.
            replace: o.replace.unwrap_or(true),
            name: o.name,
            train: o.train.unwrap_or(true),
            progress: None,
        })
    }
}

/// A build's progress, for `createIndex({ progress })`.
#[napi(object)]
pub struct JsIndexProgress {
    pub phase: String,
    pub rows_done: f64,
    pub rows_total: f64,
}

type ProgressTsfn = ThreadsafeFunction<
    JsIndexProgress,
    napi::Unknown<'static>,
    JsIndexProgress,
    napi::Status,
    false,
>;

/// One entry of `listIndices()` (the reference's `IndexConfig`).
#[napi(object, object_from_js = false)]
pub struct JsIndexInfo {
    pub name: String,
    pub index_type: String,
    pub columns: Vec<String>,
    pub index_uuid: String,
    pub created_at_ms: f64,
    pub num_indexed_rows: f64,
    pub num_unindexed_rows: f64,
    pub size_bytes: f64,
    pub num_segments: u32,
    /// JSON.
    pub index_details: String,
}

impl From<IndexInfo> for JsIndexInfo {
    fn from(i: IndexInfo) -> Self {
        JsIndexInfo {
            name: i.name,
            index_type: i.index_type,
            columns: i.columns,
            index_uuid: i.index_uuid,
            created_at_ms: i.created_at_ms as f64,
            num_indexed_rows: i.num_indexed_rows as f64,
            num_unindexed_rows: i.num_unindexed_rows as f64,
            size_bytes: i.size_bytes as f64,
            num_segments: i.num_segments as u32,
            index_details: i.details.to_string(),
        }
    }
}

/// `indexStats(name)` (the reference's `IndexStatistics`).
#[napi(object, object_from_js = false)]
pub struct JsIndexStats {
    pub num_indexed_rows: f64,
    pub num_unindexed_rows: f64,
    pub index_type: String,
    pub distance_type: Option<String>,
    pub num_indices: u32,
    pub loss: Option<f64>,
}

impl From<IndexStats> for JsIndexStats {
    fn from(s: IndexStats) -> Self {
        JsIndexStats {
            num_indexed_rows: s.num_indexed_rows as f64,
            num_unindexed_rows: s.num_unindexed_rows as f64,
            index_type: s.index_type,
            distance_type: s.distance_type,
            num_indices: s.num_indices as u32,
            loss: s.loss,
        }
    }
}

#[napi]
impl JsTable {
    /// `progress` is called with each build phase (from any thread; the
    /// caller's function must not throw: lib/table.ts wraps it).
    #[napi]
    pub async fn create_index(
        &self,
        options: JsCreateIndexOptions,
        progress: Option<ProgressTsfn>,
    ) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move {
            let mut req = CreateIndexRequest::try_from(options)?;
            if let Some(f) = progress {
                let f = Arc::new(f);
                req.progress = Some(Arc::new(move |phase: &str, done: u64, total: u64| {
                    f.call(
                        JsIndexProgress {
                            phase: phase.to_string(),
                            rows_done: done as f64,
                            rows_total: total as f64,
                        },
                        ThreadsafeFunctionCallMode::NonBlocking,
                    );
                }));
            }
            t.create_index(req).await
        })
        .await
    }

    #[napi]
    pub async fn list_indices(&self) -> napi::Result<Vec<JsIndexInfo>> {
        let t = self.inner.clone();
        guarded(async move {
            Ok(t.list_indices()
                .await?
                .into_iter()
                .map(Into::into)
                .collect())
        })
        .await
    }

    #[napi]
    pub async fn index_stats(&self, name: String) -> napi::Result<Option<JsIndexStats>> {
        let t = self.inner.clone();
        guarded(async move { Ok(t.index_stats(&name).await?.map(Into::into)) }).await
    }

    #[napi]
    pub async fn drop_index(&self, name: String) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move { t.drop_index(&name).await }).await
    }

    #[napi]
    pub async fn wait_for_index(
        &self,
        names: Vec<String>,
        #[napi(ts_arg_type = "number")] timeout_seconds: Given<f64>,
    ) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move {
            let timeout = args::duration("timeoutSeconds", "seconds", 1.0, timeout_seconds)?;
            t.wait_for_index(&names, timeout).await
        })
        .await
    }

    #[napi]
    pub async fn prewarm_index(&self, name: String) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move { t.prewarm_index(&name).await }).await
    }
}
