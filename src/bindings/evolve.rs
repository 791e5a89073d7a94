//! Bindings of schema evolution, tags and statistics (`Table` methods).

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::args::{self, Given, COUNT, POSITIVE};
use super::table::JsTable;
use super::{guarded, ipc_to_batches};
use crate::error::{Error, Result};
use crate::table::evolve::{ColumnAlteration, FieldMetadataUpdate};

#[napi(object, object_to_js = false)]
pub struct JsAddColumnsSql {
    pub name: String,
    pub value_sql: String,
}

#[napi(object, object_to_js = false)]
pub struct JsColumnAlteration {
    pub path: String,
    pub rename: Option<String>,
    pub nullable: Option<bool>,
    /// An Arrow IPC schema whose one field has the new type.
    pub data_type: Option<Buffer>,
}

impl TryFrom<JsColumnAlteration> for ColumnAlteration {
    type Error = Error;
    fn try_from(a: JsColumnAlteration) -> Result<Self> {
        let data_type = match a.data_type {
            Some(buf) => {
                let (schema, _) = ipc_to_batches(buf)?;
                let f = schema.fields().first().ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "alterColumns: no dataType given for '{}'",
                        a.path
                    ))
                })?;
                Some(f.data_type().clone())
            }
            None => None,
        };
        Ok(ColumnAlteration {
            path: a.path,
            rename: a.rename,
            nullable: a.nullable,
            data_type,
        })
    }
}

#[napi(object, object_to_js = false)]
pub struct JsFieldMetadataUpdate {
    pub path: String,
    pub keys: Vec<String>,
    /// `null` deletes the key.
    pub values: Vec<Option<String>>,
    pub replace: Option<bool>,
}

impl TryFrom<JsFieldMetadataUpdate> for FieldMetadataUpdate {
    type Error = Error;
    fn try_from(u: JsFieldMetadataUpdate) -> Result<Self> {
        if u.keys.len() != u.values.len() {
            return Err(Error::invalid_argument(
                "updateFieldMetadata: keys and values differ in length",
            ));
        }
        Ok(FieldMetadataUpdate {
            path: u.path,
            metadata: u.keys.into_iter().zip(u.values).collect(),
            replace: u.replace.unwrap_or(false),
        })
    }
}

#[napi(object, object_from_js = false)]
pub struct JsTag {
    pub name: String,
    pub version: i64,
    pub manifest_size: i64,
}

#[napi(object, object_from_js = false)]
pub struct JsTableStatistics {
    pub total_bytes: i64,
    pub num_rows: i64,
    pub num_indices: i64,
    pub num_fragments: i64,
    pub num_small_fragments: i64,
    pub min: i64,
    pub max: i64,
    pub mean: i64,
    pub p25: i64,
    pub p50: i64,
    pub p75: i64,
    pub p99: i64,
}

#[napi]
impl JsTable {
    /// Returns the new version.
    #[napi]
    pub async fn add_columns_sql(&self, columns: Vec<JsAddColumnsSql>) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move {
            let exprs = columns.into_iter().map(|c| (c.name, c.value_sql)).collect();
            Ok(t.add_columns_sql(exprs).await? as i64)
        })
        .await
    }

    /// `schema`: an Arrow IPC stream with the new (nullable) fields.
    #[napi]
    pub async fn add_columns_with_schema(&self, schema: Buffer) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move {
            let (schema, _) = ipc_to_batches(schema)?;
            Ok(t.add_columns_fields(schema).await? as i64)
        })
        .await
    }

    #[napi]
    pub async fn alter_columns(&self, alterations: Vec<JsColumnAlteration>) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move {
            let alts = alterations
                .into_iter()
                .map(ColumnAlteration::try_from)
                .collect::<Result<Vec<_>>>()?;
            Ok(t.alter_columns(alts).await? as i64)
        })
        .await
    }

    #[napi]
    pub async fn drop_columns(&self, names: Vec<String>) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move { Ok(t.drop_columns(names).await? as i64) }).await
    }

    #[napi]
    pub async fn update_field_metadata(
        &self,
        updates: Vec<JsFieldMetadataUpdate>,
    ) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move {
            let updates = updates
                .into_iter()
                .map(FieldMetadataUpdate::try_from)
                .collect::<Result<Vec<_>>>()?;
            Ok(t.update_field_metadata(updates).await? as i64)
        })
        .await
    }

    #[napi]
    pub async fn stats(&self) -> napi::Result<JsTableStatistics> {
        let t = self.inner.clone();
        guarded(async move {
            let s = t.stats().await?;
            let l = s.lengths;
            Ok(JsTableStatistics {
                total_bytes: s.total_bytes as i64,
                num_rows: s.num_rows as i64,
                num_indices: s.num_indices as i64,
                num_fragments: s.num_fragments as i64,
                num_small_fragments: s.num_small_fragments as i64,
                min: l.min as i64,
                max: l.max as i64,
                mean: l.mean as i64,
                p25: l.p25 as i64,
                p50: l.p50 as i64,
                p75: l.p75 as i64,
                p99: l.p99 as i64,
            })
        })
        .await
    }

    #[napi]
    pub async fn list_tags(&self) -> napi::Result<Vec<JsTag>> {
        let t = self.inner.clone();
        guarded(async move {
            Ok(t.list_tags()
                .await?
                .into_iter()
                .map(|(name, c)| JsTag {
                    name,
                    version: c.version as i64,
                    manifest_size: c.manifest_size as i64,
                })
                .collect())
        })
        .await
    }

    #[napi]
    pub async fn tag_version(&self, tag: String) -> napi::Result<i64> {
        let t = self.inner.clone();
        guarded(async move { Ok(t.tag_version(&tag).await? as i64) }).await
    }

    #[napi]
    pub async fn create_tag(
        &self,
        tag: String,
        #[napi(ts_arg_type = "number")] version: Given<f64>,
    ) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move {
            t.create_tag(&tag, args::integer("version", version, POSITIVE)?)
                .await
        })
        .await
    }

    #[napi]
    pub async fn update_tag(
        &self,
        tag: String,
        #[napi(ts_arg_type = "number")] version: Given<f64>,
    ) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move {
            t.update_tag(&tag, args::integer("version", version, COUNT)?)
                .await
        })
        .await
    }

    #[napi]
    pub async fn delete_tag(&self, tag: String) -> napi::Result<()> {
        let t = self.inner.clone();
        guarded(async move { t.delete_tag(&tag).await }).await
    }
}
