//! A database: the tables under one URI.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::TryStreamExt;
use object_store::path::Path;

use super::lifecycle::Lifecycle;
use super::txn::{self, Change, CreateMode, TableRef};
use super::{conform, Table};
use crate::commit::CommitStore;
use crate::error::{Error, Result};
use crate::format::datafile::write_fragment;
use crate::format::{table_dir, TABLE_DIR_SUFFIX};
use crate::storage::uri::check_table_name;
use crate::storage::{
    build_store, store_for_table, DbUri, EffectiveOption, EnvSource, ProvidedCredentials,
    Providers, RawOption, StorageOptions, StoreHandle,
};

#[derive(Debug)]
pub struct CreateTableRequest {
    pub name: String,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub mode: CreateMode,
    pub exist_ok: bool,
    pub storage_options: Vec<RawOption>,
    /// The table's own credentials function, if any.
    pub credentials: Option<ProvidedCredentials>,
}

// Clone: a namespace is a view of the database with its root moved (see
// `with_root`); the views share the connection's lifecycle.
#[derive(Debug, Clone)]
pub struct Database {
    uri: DbUri,
    connection_options: Vec<RawOption>,
    /// Environment values are read once, at connect: a table opened later
    /// resolves against the same snapshot, so results do not depend on when
    /// something else changed the process environment.
    env: std::collections::BTreeMap<String, String>,
    options: Arc<StorageOptions>,
    /// The connection's credentials function, if any.
    credentials: Option<ProvidedCredentials>,
    store: StoreHandle,
    commits: Arc<dyn CommitStore>,
    lifecycle: Arc<Lifecycle>,
    read_consistency: Option<std::time::Duration>,
}

impl Database {
    pub async fn connect(
        uri: &str,
        connection_options: Vec<RawOption>,
        env: &dyn EnvSource,
        read_consistency: Option<std::time::Duration>,
        credentials: Option<ProvidedCredentials>,
    ) -> Result<Database> {
        let uri = DbUri::parse(uri)?;
        let env = crate::storage::snapshot_env(env);
        let options = Arc::new(StorageOptions::resolve_with(
            uri.backend(),
            None,
            &connection_options,
            &env,
            &Providers {
                table: None,
                connection: credentials.clone(),
            },
        )?);
        let store = build_store(&uri, &options).await?;
        let commits = crate::commit::for_uri(&uri, store.clone(), &options).await?;
        Ok(Database {
            uri,
            connection_options,
            env,
            options,
            credentials,
            store,
            commits,
            lifecycle: Default::default(),
            read_consistency,
        })
    }

    pub fn uri(&self) -> &str {
        &self.uri.raw
    }

    pub fn is_open(&self) -> bool {
        self.lifecycle.is_open()
    }

    /// Closes the connection and every table opened through it; uploads
    /// still in flight are aborted.
    pub fn close(&self) {
        self.lifecycle.close(&self.store.scope);
    }

    fn check_open(&self) -> Result<()> {
        self.lifecycle
            .check(|| format!("Connection to {}", self.uri.raw))
    }

    pub fn display(&self) -> String {
        let state = self.lifecycle.describe();
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
        table_credentials: Option<&ProvidedCredentials>,
    ) -> Result<(StoreHandle, Arc<StorageOptions>, Arc<dyn CommitStore>)> {
        if table_options.is_empty() && table_credentials.is_none() {
            return Ok((
                self.store.clone(),
                self.options.clone(),
                self.commits.clone(),
            ));
        }
        let opts = StorageOptions::resolve_with(
            self.uri.backend(),
            Some(table_options),
            &self.connection_options,
            &self.env,
            &Providers {
                table: table_credentials.cloned(),
                connection: self.credentials.clone(),
            },
        )?;
        if opts.fingerprint() == self.options.fingerprint() {
            return Ok((self.store.clone(), Arc::new(opts), self.commits.clone()));
        }
        let mut store = store_for_table(&self.store, &self.uri, &opts).await?;
        // A table-level client is built for the database URI; inside a
        // namespace the tables live under the namespace's prefix.
        store.root = self.store.root.clone();
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

    pub async fn open_table(
        &self,
        name: &str,
        table_options: &[RawOption],
        table_credentials: Option<&ProvidedCredentials>,
    ) -> Result<Table> {
        self.check_open()?;
        check_table_name(name)?;
        let (store, opts, commits) = self.table_store(table_options, table_credentials).await?;
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
        let (store, opts, commits) = self
            .table_store(&req.storage_options, req.credentials.as_ref())
            .await?;
        let dir = table_dir(&store.root, &req.name);
        let tref = TableRef {
            name: &req.name,
            store: &store,
            dir: &dir,
            versions: &dir,
            branch: None,
            commits: commits.as_ref(),
        };
        let handle = |snapshot| {
            Table::with_snapshot(
                &req.name,
                store.clone(),
                commits.clone(),
                opts.clone(),
                self.read_consistency,
                snapshot,
            )
        };
        // The common cases without writing a data file first.
        if let Some(existing) = tref.load_latest().await? {
            let table = handle(Arc::new(existing));
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
        let t0 = std::time::Instant::now();
        let batches = conform(&req.batches, &req.schema)?;
        let fragment = write_fragment(&store, &dir, &req.schema, &batches).await?;
        crate::query::span("create: write data file", t0);
        let t0 = std::time::Instant::now();
        // Someone may create the table between the look above and the
        // commit: the change decides then (exists, existOk or overwrite).
        let done = txn::commit(tref, None, |_| {
            let change = Change::Create {
                fragment: fragment.clone(),
                schema: req.schema.clone(),
                mode: req.mode,
                exist_ok: req.exist_ok,
            };
            async move { Ok((change, ())) }
        })
        .await?;
        crate::query::span("create: commit", t0);
        Ok(handle(done.snapshot))
    }

    /// A shallow clone of a table of this database (see `table::clone`).
    pub async fn clone_table(&self, req: super::clone::CloneTableRequest) -> Result<Table> {
        self.check_open()?;
        let snapshot =
            super::clone::clone_table(&self.uri, &self.store, self.commits.as_ref(), &req).await?;
        Ok(Table::with_snapshot(
            &req.target,
            self.store.clone(),
            self.commits.clone(),
            self.options.clone(),
            self.read_consistency,
            snapshot,
        ))
    }

    pub async fn drop_table(&self, name: &str) -> Result<()> {
        self.check_open()?;
        check_table_name(name)?;
        let dir = table_dir(&self.store.root, name);
        let existed = self.drop_dir(&dir).await?;
        if !existed {
            return Err(Error::TableNotFound {
                name: name.to_string(),
                at: Some(self.uri.raw.clone()),
            });
        }
        Ok(())
    }

    pub async fn drop_all_tables(&self) -> Result<()> {
        for name in self.table_names(None, None).await? {
            self.drop_dir(&table_dir(&self.store.root, &name)).await?;
        }
        Ok(())
    }

    /// Drops one table directory: its versions first (through the commit
    /// store, so no reader opens a version whose files are already gone and
    /// a DynamoDB store forgets its items), then every other object.
    /// Whether anything was there.
    pub(super) async fn drop_dir(&self, dir: &Path) -> Result<bool> {
        // Branches' versions first (a DynamoDB store keys each branch apart).
        let mut versions =
            super::branches::drop_all(&self.store, self.commits.as_ref(), dir).await?;
        versions += self.commits.drop_table(dir).await?;
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
        let count = objects.len() as u64 + versions;
        self.store.delete_all(objects).await?;
        // A file system keeps the emptied directories, which would still
        // list as a table.
        Ok(self.store.remove_local_dir(dir).await? || count > 0)
    }
}

// ---- namespaces (src/table/namespace.rs) ----
impl Database {
    /// This database with its root moved to `root` (a namespace's prefix):
    /// the same store, commit store, options and lifecycle.
    pub(super) fn with_root(&self, root: Path) -> Database {
        let mut view = self.clone();
        view.store.root = root;
        view
    }

    pub(super) fn store(&self) -> &StoreHandle {
        &self.store
    }

    pub(super) fn ensure_open(&self) -> Result<()> {
        self.check_open()
    }
}
