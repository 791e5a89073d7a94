//! A database: the tables under one URI.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::ObjectStoreExt;

use super::{conform, first_manifest, table_dir, write_fragment, Table, TABLE_DIR_SUFFIX};
use crate::commit::{CommitError, CommitStore};
use crate::error::{Error, Result};
use crate::storage::uri::check_table_name;
use crate::storage::{
    build_store, store_for_table, DbUri, EffectiveOption, EnvSource, RawOption, StorageOptions,
    StoreHandle,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreateMode {
    #[default]
    Create,
    Overwrite,
}

#[derive(Debug)]
pub struct CreateTableRequest {
    pub name: String,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub mode: CreateMode,
    pub exist_ok: bool,
    pub storage_options: Vec<RawOption>,
}

#[derive(Debug)]
pub struct Database {
    uri: DbUri,
    connection_options: Vec<RawOption>,
    /// Environment values are read once, at connect: a table opened later
    /// resolves against the same snapshot, so results do not depend on when
    /// something else changed the process environment.
    env: std::collections::BTreeMap<String, String>,
    options: Arc<StorageOptions>,
    store: StoreHandle,
    commits: Arc<dyn CommitStore>,
    closed: AtomicBool,
    read_consistency: Option<std::time::Duration>,
}

impl Database {
    pub async fn connect(
        uri: &str,
        connection_options: Vec<RawOption>,
        env: &dyn EnvSource,
        read_consistency: Option<std::time::Duration>,
    ) -> Result<Database> {
        let uri = DbUri::parse(uri)?;
        let env = snapshot_env(env);
        let options = Arc::new(StorageOptions::resolve(
            uri.backend(),
            None,
            &connection_options,
            &env,
        )?);
        let store = build_store(&uri, &options).await?;
        let commits = crate::commit::for_uri(&uri, store.clone(), &options).await?;
        Ok(Database {
            uri,
            connection_options,
            env,
            options,
            store,
            commits,
            closed: AtomicBool::new(false),
            read_consistency,
        })
    }

    pub fn uri(&self) -> &str {
        &self.uri.raw
    }

    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }

    /// Closes the connection and every table opened through it; uploads
    /// still in flight are aborted.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.store.scope.cancel();
    }

    fn check_open(&self) -> Result<()> {
        if self.is_open() {
            Ok(())
        } else {
            Err(Error::Closed {
                what: format!("Connection to {}", self.uri.raw),
            })
        }
    }

    pub fn display(&self) -> String {
        let state = if self.is_open() { "open" } else { "closed" };
        format!("Connection({}, {state})", self.uri.raw)
    }

    pub fn effective_storage_options(&self) -> Vec<EffectiveOption> {
        self.options.effective()
    }

    /// The store and options for a table: the connection's own when the
    /// table adds no options, otherwise a client built for the merged set.
    async fn table_store(
        &self,
        table_options: &[RawOption],
    ) -> Result<(StoreHandle, Arc<StorageOptions>, Arc<dyn CommitStore>)> {
        if table_options.is_empty() {
            return Ok((
                self.store.clone(),
                self.options.clone(),
                self.commits.clone(),
            ));
        }
        let opts = StorageOptions::resolve(
            self.uri.backend(),
            Some(table_options),
            &self.connection_options,
            &self.env,
        )?;
        if opts.fingerprint() == self.options.fingerprint() {
            return Ok((self.store.clone(), Arc::new(opts), self.commits.clone()));
        }
        let store = store_for_table(&self.store, &self.uri, &opts).await?;
        let commits = crate::commit::for_uri(&self.uri, store.clone(), &opts).await?;
        Ok((store, Arc::new(opts), commits))
    }

    /// Aborts multipart uploads under this database that were started more
    /// than `older_than` ago (left by crashed writers). S3 only: GCS and
    /// Azure need a bucket lifecycle rule / expire uncommitted blocks.
    pub async fn cleanup_incomplete_uploads(
        &self,
        older_than: std::time::Duration,
    ) -> Result<crate::storage::uploads::CleanupStats> {
        self.check_open()?;
        match &self.uri.location {
            crate::storage::Location::S3 { bucket, prefix, .. } => {
                let p = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
                crate::storage::uploads::cleanup_incomplete_uploads(&self.store, &self.options, bucket, &p, older_than).await
            }
            crate::storage::Location::Gcs { .. } | crate::storage::Location::Azure { .. } => Err(Error::NotSupported(
                "cleanupIncompleteUploads works on S3; on GCS use a bucket lifecycle rule (AbortIncompleteMultipartUpload), on Azure uncommitted blocks expire after 7 days".into(),
            )),
            // Local multipart writes stage into the target directory and are
            // removed on abort; memory has no uploads to leave behind.
            _ => Ok(Default::default()),
        }
    }

    /// Table names, sorted; one list request however many tables and versions.
    pub async fn table_names(
        &self,
        start_after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>> {
        self.check_open()?;
        let root = &self.store.root;
        let listing = self.store.store.list_with_delimiter(Some(root)).await;
        let listing = match listing {
            Ok(l) => l,
            // A local database directory that does not exist yet has no tables.
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => {
                return Err(self
                    .store
                    .error(e, format!("Listing tables in {}", self.uri.raw)))
            }
        };
        let names: BTreeSet<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| {
                p.filename()
                    .and_then(|n| n.strip_suffix(TABLE_DIR_SUFFIX))
                    .map(str::to_string)
            })
            .filter(|n| start_after.is_none_or(|s| n.as_str() > s))
            .collect();
        Ok(names
            .into_iter()
            .take(limit.unwrap_or(usize::MAX))
            .collect())
    }

    pub async fn open_table(&self, name: &str, table_options: &[RawOption]) -> Result<Table> {
        self.check_open()?;
        check_table_name(name)?;
        let (store, opts, commits) = self.table_store(table_options).await?;
        Table::open(name, store, commits, opts, self.read_consistency)
            .await?
            .ok_or_else(|| Error::TableNotFound {
                name: name.to_string(),
                at: Some(self.uri.raw.clone()),
            })
    }

    pub async fn create_table(&self, req: CreateTableRequest) -> Result<Table> {
        self.check_open()?;
        check_table_name(&req.name)?;
        let (store, opts, commits) = self.table_store(&req.storage_options).await?;
        let existing = Table::open(
            &req.name,
            store.clone(),
            commits.clone(),
            opts.clone(),
            self.read_consistency,
        )
        .await?;
        if let Some(table) = existing {
            return match (req.mode, req.exist_ok) {
                (CreateMode::Overwrite, _) => {
                    table
                        .add(req.schema.clone(), req.batches, super::AddMode::Overwrite)
                        .await?;
                    Ok(table)
                }
                (CreateMode::Create, true) => Ok(table),
                (CreateMode::Create, false) => Err(Error::TableExists { name: req.name }),
            };
        }
        let batches = conform(&req.batches, &req.schema)?;
        let dir = table_dir(&store.root, &req.name);
        let fragment = write_fragment(&store, &dir, &req.schema, &batches).await?;
        let manifest = first_manifest(&req.schema, fragment.clone())?;
        match commits.commit(&dir, 1, manifest.to_bytes()?).await {
            Ok(()) => {}
            Err(e) => {
                // Only a lost race proves version 1 is not ours; after an
                // unknown outcome the file may be referenced (see Table::add).
                if let (CommitError::Conflict { .. }, Some(f)) = (&e, &fragment) {
                    let _ = store
                        .store
                        .delete(&crate::query::data_path(&dir, &f.path))
                        .await;
                }
                match e {
                    // Someone created it between our check and our commit.
                    CommitError::Conflict { .. } if req.exist_ok => {}
                    CommitError::Conflict { .. } if req.mode == CreateMode::Overwrite => {
                        let table =
                            Table::open(&req.name, store, commits, opts, self.read_consistency)
                                .await?
                                .ok_or_else(|| Error::TableNotFound {
                                    name: req.name.clone(),
                                    at: Some(self.uri.raw.clone()),
                                })?;
                        table
                            .add(req.schema.clone(), req.batches, super::AddMode::Overwrite)
                            .await?;
                        return Ok(table);
                    }
                    CommitError::Conflict { .. } => {
                        return Err(Error::TableExists { name: req.name })
                    }
                    CommitError::Failed(e) => return Err(e),
                }
            }
        }
        Table::open(&req.name, store, commits, opts, self.read_consistency)
            .await?
            .ok_or_else(|| {
                Error::internal(format!(
                    "table '{}' vanished right after it was created",
                    req.name
                ))
            })
    }

    pub async fn drop_table(&self, name: &str) -> Result<()> {
        self.check_open()?;
        check_table_name(name)?;
        let dir = table_dir(&self.store.root, name);
        let deleted = self.delete_prefix(&dir).await?;
        self.commits.drop_table(&dir).await?;
        if deleted == 0 {
            return Err(Error::TableNotFound {
                name: name.to_string(),
                at: Some(self.uri.raw.clone()),
            });
        }
        Ok(())
    }

    pub async fn drop_all_tables(&self) -> Result<()> {
        for name in self.table_names(None, None).await? {
            let dir = table_dir(&self.store.root, &name);
            self.delete_prefix(&dir).await?;
            self.commits.drop_table(&dir).await?;
        }
        Ok(())
    }

    /// Deletes every object under `dir`, manifests first, so no reader can
    /// open a version whose data files are already gone.
    async fn delete_prefix(&self, dir: &Path) -> Result<usize> {
        let objects: Vec<Path> = self
            .store
            .store
            .list(Some(dir))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .or_else(|e| match e {
                object_store::Error::NotFound { .. } => Ok(Vec::new()),
                e => Err(self.store.error(e, format!("Listing {dir}"))),
            })?;
        let count = objects.len();
        let (manifests, data): (Vec<Path>, Vec<Path>) = objects
            .into_iter()
            .partition(|p| p.as_ref().contains(crate::commit::VERSIONS_DIR));
        for group in [manifests, data] {
            if self.store.backend == crate::storage::Backend::Azure {
                // Azure's batch delete drops SAS query parameters from its
                // sub-requests; single deletes carry them.
                let results: Vec<object_store::Result<()>> = futures::stream::iter(group)
                    .map(|p| async move { self.store.store.delete(&p).await })
                    .buffer_unordered(8)
                    .collect()
                    .await;
                for r in results {
                    match r {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(self.store.error(e, format!("Deleting under {dir}"))),
                    }
                }
                continue;
            }
            let stream = futures::stream::iter(group.into_iter().map(Ok)).boxed();
            let mut results = self.store.store.delete_stream(stream);
            while let Some(r) = results.next().await {
                match r {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.store.error(e, format!("Deleting under {dir}"))),
                }
            }
        }
        // A file system keeps the emptied directories, which would still
        // list as a table.
        if let Some(local) = &self.store.local_dir {
            let path = dir
                .parts()
                .fold(local.clone(), |p, part| p.join(part.as_ref()));
            match tokio::fs::remove_dir_all(&path).await {
                Ok(()) => return Ok(count.max(1)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::internal(format!("removing {}: {e}", path.display()))),
            }
        }
        Ok(count)
    }
}

fn snapshot_env(env: &dyn EnvSource) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for def in crate::storage::registry::REGISTRY {
        for var in def.env {
            if let Some(v) = env.var(var) {
                out.insert(var.to_string(), v);
            }
        }
    }
    out
}
