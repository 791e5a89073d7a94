//! Tags: names for versions (`table.tags()`), kept apart from the version
//! chain so that tagging never races a commit.
//!
//! A tag is one small JSON object, `_refs/tags/<tag>.json` under the table
//! directory: `{"version": n, "manifest_size": n}`. Creating one is a
//! create-only put (two creators of one tag: one wins, the other is told
//! the tag exists); moving one is a put conditioned on the ETag it read
//! where the store supports it (S3, GCS, Azure, memory). A local directory
//! cannot condition an overwrite: there a concurrent `update` of the same
//! tag is last-writer-wins. Cleanup keeps every tagged version and its
//! files (see `cleanup`).

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::txn::TableRef;
use super::Table;
use crate::error::{quote, Error, Result};

/// Where a table's tags live, relative to its directory.
pub const TAGS_DIR: &str = "_refs/tags";

/// What a tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagContents {
    pub version: u64,
    pub manifest_size: u64,
}

fn tags_prefix(dir: &Path) -> Path {
    dir.clone().join("_refs").join("tags")
}

fn tag_path(dir: &Path, tag: &str) -> Path {
    tags_prefix(dir).join(format!("{tag}.json"))
}

/// Tag names: 1-100 characters of `[A-Za-z0-9_.-]`, not starting with `.`
/// and without `..` (they are object names).
fn check_name(tag: &str) -> Result<()> {
    let ok = !tag.is_empty()
        && tag.len() <= 100
        && !tag.starts_with('.')
        && !tag.contains("..")
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "invalid tag name '{}': use 1-100 characters of letters, digits, '_', '.' and '-', not starting with '.'",
            quote(tag)
        )))
    }
}

fn no_tag(tag: &str) -> Error {
    Error::invalid_argument(format!(
        "Ref not found error: tag {} does not exist",
        quote(tag)
    ))
}

fn decode(table: &str, tag: &str, bytes: &[u8]) -> Result<TagContents> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        table: table.to_string(),
        reason: format!("unreadable tag '{}': {e}", quote(tag)),
    })
}

/// Every tag of a table.
pub(crate) async fn list(t: &TableRef<'_>) -> Result<Vec<(String, TagContents)>> {
    let prefix = tags_prefix(t.dir);
    let objects: Vec<object_store::ObjectMeta> =
        match t.store.store.list(Some(&prefix)).try_collect().await {
            Ok(o) => o,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(t.store.error(e, format!("Listing tags under {prefix}"))),
        };
    let names: Vec<String> = objects
        .iter()
        .filter_map(|o| {
            o.location
                .filename()?
                .strip_suffix(".json")
                .map(str::to_string)
        })
        .collect();
    let got: Vec<Option<(String, TagContents)>> = futures::stream::iter(names)
        .map(|n| async move { Ok::<_, Error>(get(t, &n).await?.map(|c| (n, c))) })
        .buffered(16)
        .try_collect()
        .await?;
    let mut out: Vec<_> = got.into_iter().flatten().collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The versions cleanup must keep.
pub(crate) async fn tagged_versions(t: &TableRef<'_>) -> Result<HashSet<u64>> {
    Ok(list(t).await?.into_iter().map(|(_, c)| c.version).collect())
}

pub(crate) async fn get(t: &TableRef<'_>, tag: &str) -> Result<Option<TagContents>> {
    Ok(get_with_version(t, tag).await?.map(|(c, _)| c))
}

async fn get_with_version(
    t: &TableRef<'_>,
    tag: &str,
) -> Result<Option<(TagContents, UpdateVersion)>> {
    let path = tag_path(t.dir, tag);
    match t.store.get_versioned(&path, &format!("tag {path}")).await? {
        Some((bytes, version)) => Ok(Some((decode(t.name, tag, &bytes)?, version))),
        None => Ok(None),
    }
}

/// The contents of a tag on `version`, which must exist.
async fn contents(t: &TableRef<'_>, version: u64) -> Result<TagContents> {
    match t.commits.load(t.dir, version).await? {
        Some(bytes) => Ok(TagContents {
            version,
            manifest_size: bytes.len() as u64,
        }),
        None => Err(Error::VersionNotFound {
            table: t.name.to_string(),
            version,
        }),
    }
}

fn body(c: &TagContents) -> Result<PutPayload> {
    serde_json::to_vec(c)
        .map(PutPayload::from)
        .map_err(|e| Error::internal(format!("encoding a tag: {e}")))
}

impl Table {
    /// Tags name versions of main: a handle on a branch cannot set one.
    fn check_tags_on_main(&self) -> Result<()> {
        match self.current_branch() {
            None => Ok(()),
            Some(b) => Err(Error::NotSupported(format!(
                "tags name versions of main; this handle is on branch '{b}': create or move the tag on a handle of main (branches().checkout('main'))"
            ))),
        }
    }

    pub async fn list_tags(&self) -> Result<Vec<(String, TagContents)>> {
        self.check_open()?;
        list(&self.tref()).await
    }

    pub async fn tag_version(&self, tag: &str) -> Result<u64> {
        self.check_open()?;
        check_name(tag)?;
        get(&self.tref(), tag)
            .await?
            .map(|c| c.version)
            .ok_or_else(|| no_tag(tag))
    }

    pub async fn create_tag(&self, tag: &str, version: u64) -> Result<()> {
        self.check_open()?;
        self.check_tags_on_main()?;
        check_name(tag)?;
        let t = self.tref();
        let c = contents(&t, version).await?;
        let path = tag_path(t.dir, tag);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match t.store.store.put_opts(&path, body(&c)?, opts).await {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                return Err(Error::invalid_argument(format!(
                    "Ref conflict error: tag {} already exists; use update() to move it",
                    quote(tag)
                )))
            }
            // A store without conditional puts (s3 with conditional put
            // disabled): look first; two creators racing is last-wins there.
            Err(object_store::Error::NotImplemented { .. }) => {
                if get(&t, tag).await?.is_some() {
                    return Err(Error::invalid_argument(format!(
                        "Ref conflict error: tag {} already exists; use update() to move it",
                        quote(tag)
                    )));
                }
                t.store
                    .store
                    .put(&path, body(&c)?)
                    .await
                    .map_err(|e| t.store.error(e, format!("Writing tag {path}")))?;
            }
            Err(e) => return Err(t.store.error(e, format!("Writing tag {path}"))),
        }
        // A cleanup may have removed the version between the check and the
        // put; a tag must never name a removed version.
        if t.commits.load(t.dir, version).await?.is_none() {
            let _ = t.store.store.delete(&path).await;
            return Err(Error::VersionRemoved {
                table: self.name.clone(),
                version,
            });
        }
        Ok(())
    }

    pub async fn update_tag(&self, tag: &str, version: u64) -> Result<()> {
        self.check_open()?;
        self.check_tags_on_main()?;
        check_name(tag)?;
        let t = self.tref();
        let (_, seen) = get_with_version(&t, tag)
            .await?
            .ok_or_else(|| no_tag(tag))?;
        let c = contents(&t, version).await?;
        let path = tag_path(t.dir, tag);
        let opts = PutOptions {
            mode: PutMode::Update(seen),
            ..Default::default()
        };
        match t.store.store.put_opts(&path, body(&c)?, opts).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::Precondition { .. }) => Err(Error::CommitConflict {
                table: self.name.clone(),
                version,
                reason: format!(
                    "tag '{}' was changed or deleted by another writer; read it again and retry",
                    quote(tag)
                ),
            }),
            Err(object_store::Error::NotImplemented { .. }) => t
                .store
                .store
                .put(&path, body(&c)?)
                .await
                .map(|_| ())
                .map_err(|e| t.store.error(e, format!("Writing tag {path}"))),
            Err(e) => Err(t.store.error(e, format!("Writing tag {path}"))),
        }
    }

    pub async fn delete_tag(&self, tag: &str) -> Result<()> {
        self.check_open()?;
        check_name(tag)?;
        let t = self.tref();
        if get(&t, tag).await?.is_none() {
            return Err(no_tag(tag));
        }
        let path = tag_path(t.dir, tag);
        match t.store.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(t.store.error(e, format!("Deleting tag {path}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names() {
        assert!(check_name("v1.0-rc_2").is_ok());
        for bad in ["", ".x", "a/b", "a..b", "a b"] {
            assert_eq!(check_name(bad).unwrap_err().code(), "INVALID_ARGUMENT");
        }
    }
}
