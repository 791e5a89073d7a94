//! Namespaces of a database: create, describe, list, drop, and the table
//! operations inside one (layout in `format::namespace`, docs/FORMAT.md
//! *Namespaces*).
//!
//! A namespace is a view of the database with its root moved to the
//! namespace's prefix ([`Database::with_root`]): tables inside it are
//! ordinary tables, created, opened and dropped by the same code as at the
//! root. What is added here is the marker object that makes a namespace
//! exist, and the rules that keep markers and contents consistent when
//! creators and droppers race:
//!
//! * A marker is created with a create-only put: of two creators of one
//!   namespace exactly one creates it, the other is told it exists.
//! * Anything created inside a namespace (a table, a child namespace) reads
//!   the parent's marker before and again after its own commit. When the
//!   marker is gone or was replaced (another `id`) in between, the creator
//!   removes what it created and fails with `NAMESPACE_NOT_FOUND`, so a
//!   namespace dropped meanwhile never keeps a table nobody can see.
//! * A drop deletes the marker first (the namespace disappears at once),
//!   then the contents. Together with the rule above, a `cascade` drop
//!   racing a table creation ends with the table dropped, either by the
//!   drop (the creator's second read came first, so the creation succeeded
//!   and the drop's listing saw it) or by the creator (it failed).

use std::collections::BTreeMap;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::database::{CreateTableRequest, Database};
use super::Table;
use crate::error::{Error, Result};
use crate::format::namespace::{
    check_namespace_name, display_namespace, namespace_marker, namespace_of_marker, namespace_root,
    NamespaceMarker,
};
use crate::format::TABLE_DIR_SUFFIX;
use crate::storage::{ProvidedCredentials, RawOption};

/// A checked namespace path (`[]` is the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePath(Vec<String>);

impl NamespacePath {
    pub fn new(parts: Vec<String>) -> Result<Self> {
        for (i, p) in parts.iter().enumerate() {
            check_namespace_name(&parts[..i], p)?;
        }
        Ok(NamespacePath(parts))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn parts(&self) -> &[String] {
        &self.0
    }

    fn parent(&self) -> NamespacePath {
        NamespacePath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }
}

impl std::fmt::Display for NamespacePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&display_namespace(&self.0))
    }
}

/// `createNamespace({ mode })`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NamespaceCreateMode {
    #[default]
    Create,
    ExistOk,
    Overwrite,
}

/// `dropNamespace({ mode })`: what a missing namespace does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NamespaceDropMode {
    Skip,
    #[default]
    Fail,
}

/// `dropNamespace({ behavior })`: what a namespace with contents does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NamespaceDropBehavior {
    #[default]
    Restrict,
    Cascade,
}

/// One page of `listNamespaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePage {
    pub namespaces: Vec<String>,
    /// Set when more names follow: pass it back as `pageToken`.
    pub page_token: Option<String>,
}

/// What a delimiter listing of one namespace's prefix shows.
#[derive(Debug, Default)]
struct Contents {
    tables: Vec<String>,
    children: Vec<String>,
}

fn not_found(ns: &NamespacePath, detail: impl Into<String>) -> Error {
    Error::NamespaceNotFound {
        path: ns.to_string(),
        detail: detail.into(),
    }
}

impl Database {
    /// The view of this database whose root is `ns`'s prefix.
    fn namespace_view(&self, ns: &NamespacePath) -> Database {
        self.with_root(namespace_root(&self.store().root, ns.parts()))
    }

    /// `ns`'s marker and the version it was read at; `None` when `ns` does
    /// not exist. The root has no marker and always exists.
    async fn read_marker(
        &self,
        ns: &NamespacePath,
    ) -> Result<Option<(NamespaceMarker, UpdateVersion)>> {
        let Some(path) = namespace_marker(&self.store().root, ns.parts()) else {
            let root = NamespaceMarker::new(BTreeMap::new());
            let v = UpdateVersion {
                e_tag: None,
                version: None,
            };
            return Ok(Some((root, v)));
        };
        match self
            .store()
            .get_versioned(&path, &format!("namespace {ns}"))
            .await?
        {
            Some((bytes, version)) => Ok(Some((NamespaceMarker::decode(&bytes, &path)?, version))),
            None => Ok(None),
        }
    }

    /// The id of `ns`'s marker (`""` for the root), or `NAMESPACE_NOT_FOUND`.
    async fn marker_id(&self, ns: &NamespacePath, doing: &str) -> Result<String> {
        if ns.is_root() {
            return Ok(String::new());
        }
        match self.read_marker(ns).await? {
            Some((m, _)) => Ok(m.id),
            None => Err(not_found(
                ns,
                format!(" ({doing}); create it first with createNamespace"),
            )),
        }
    }

    /// Whether `ns` still has the marker whose id was `id`.
    async fn still_there(&self, ns: &NamespacePath, id: &str) -> Result<bool> {
        if ns.is_root() {
            return Ok(true);
        }
        Ok(matches!(self.read_marker(ns).await?, Some((m, _)) if m.id == id))
    }

    /// One delimiter listing of `ns`'s prefix.
    async fn contents(&self, ns: &NamespacePath) -> Result<Contents> {
        let store = self.store();
        let prefix = namespace_root(&store.root, ns.parts());
        let listing = match store.store.list_with_delimiter(Some(&prefix)).await {
            Ok(l) => l,
            Err(object_store::Error::NotFound { .. }) => return Ok(Contents::default()),
            Err(e) => return Err(store.error(e, format!("Listing namespace {ns}"))),
        };
        let mut c = Contents::default();
        for p in &listing.common_prefixes {
            if let Some(t) = p.filename().and_then(|n| n.strip_suffix(TABLE_DIR_SUFFIX)) {
                c.tables.push(t.to_string());
            }
        }
        for o in &listing.objects {
            if let Some(n) = o.location.filename().and_then(namespace_of_marker) {
                c.children.push(n.to_string());
            }
        }
        c.tables.sort();
        c.children.sort();
        Ok(c)
    }

    pub async fn create_namespace(
        &self,
        ns: &NamespacePath,
        mode: NamespaceCreateMode,
        properties: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        self.ensure_open()?;
        let Some(path) = namespace_marker(&self.store().root, ns.parts()) else {
            return match mode {
                NamespaceCreateMode::Create => Err(Error::NamespaceExists {
                    path: "[] (the root namespace)".into(),
                }),
                NamespaceCreateMode::ExistOk => Ok(BTreeMap::new()),
                NamespaceCreateMode::Overwrite => Err(Error::invalid_argument(
                    "The root namespace [] has no properties to overwrite; create a child namespace",
                )),
            };
        };
        let parent = ns.parent();
        let parent_id = self
            .marker_id(&parent, &format!("the parent of {ns}"))
            .await?;
        let store = self.store();
        let marker = NamespaceMarker::new(properties.clone());
        let create = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let body = PutPayload::from(marker.encode()?);
        match store.store.put_opts(&path, body, create).await {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                return match mode {
                    NamespaceCreateMode::Create => Err(Error::NamespaceExists {
                        path: ns.to_string(),
                    }),
                    NamespaceCreateMode::ExistOk => Ok(self.describe_namespace(ns).await?),
                    NamespaceCreateMode::Overwrite => {
                        self.overwrite_properties(ns, &path, properties).await
                    }
                };
            }
            Err(e) => return Err(store.error(e, format!("Creating namespace {ns}"))),
        }
        // The parent may have been dropped between the first read and the
        // put: then this marker would sit in a namespace nobody sees.
        if !self.still_there(&parent, &parent_id).await? {
            let _ = store.store.delete(&path).await;
            return Err(not_found(
                &parent,
                format!(" (it was dropped while {ns} was being created in it)"),
            ));
        }
        Ok(properties)
    }

    /// `mode: "overwrite"` on an existing namespace: its properties are
    /// replaced, its contents and identity kept. Conditioned on the marker
    /// read (ETag) where the store supports it, so it never brings back a
    /// namespace dropped in between.
    async fn overwrite_properties(
        &self,
        ns: &NamespacePath,
        path: &Path,
        properties: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        let store = self.store();
        let (old, seen) = self
            .read_marker(ns)
            .await?
            .ok_or_else(|| not_found(ns, " (it was dropped while being overwritten)"))?;
        let new = NamespaceMarker {
            properties: properties.clone(),
            ..old
        };
        let opts = PutOptions {
            mode: PutMode::Update(seen),
            ..Default::default()
        };
        let body = || new.encode().map(PutPayload::from);
        match store.store.put_opts(path, body()?, opts).await {
            Ok(_) => Ok(properties),
            Err(object_store::Error::Precondition { .. }) => Err(Error::CommitConflict {
                table: format!("namespace {ns}"),
                version: 0,
                reason:
                    "another writer changed or dropped the namespace; describe it again and retry"
                        .into(),
            }),
            // A local directory cannot condition an overwrite: there a
            // concurrent overwrite is last-writer-wins.
            Err(object_store::Error::NotImplemented { .. }) => store
                .store
                .put(path, body()?)
                .await
                .map(|_| properties)
                .map_err(|e| store.error(e, format!("Overwriting namespace {ns}"))),
            Err(e) => Err(store.error(e, format!("Overwriting namespace {ns}"))),
        }
    }

    /// The namespace's properties (empty for the root).
    pub async fn describe_namespace(&self, ns: &NamespacePath) -> Result<BTreeMap<String, String>> {
        self.ensure_open()?;
        match self.read_marker(ns).await? {
            Some((m, _)) => Ok(m.properties),
            None => Err(not_found(ns, "")),
        }
    }

    /// The child namespaces of `ns`, sorted by name (bytewise), after
    /// `page_token`, at most `limit`. One list request. A namespace that
    /// does not exist has no children (as in the reference).
    pub async fn list_namespaces(
        &self,
        ns: &NamespacePath,
        page_token: Option<&str>,
        limit: Option<usize>,
    ) -> Result<NamespacePage> {
        self.ensure_open()?;
        let children = self.contents(ns).await?.children;
        let mut after: Vec<String> = children
            .into_iter()
            .filter(|n| page_token.is_none_or(|t| n.as_str() > t))
            .collect();
        let limit = limit.unwrap_or(usize::MAX);
        let more = after.len() > limit;
        after.truncate(limit);
        let page_token = if more { after.last().cloned() } else { None };
        Ok(NamespacePage {
            namespaces: after,
            page_token,
        })
    }

    pub async fn drop_namespace(
        &self,
        ns: &NamespacePath,
        mode: NamespaceDropMode,
        behavior: NamespaceDropBehavior,
    ) -> Result<()> {
        self.ensure_open()?;
        let Some(marker) = namespace_marker(&self.store().root, ns.parts()) else {
            return Err(Error::invalid_argument(
                "The root namespace [] cannot be dropped; use dropAllTables() to drop its tables",
            ));
        };
        if self.read_marker(ns).await?.is_none() {
            return match mode {
                NamespaceDropMode::Skip => Ok(()),
                NamespaceDropMode::Fail => Err(not_found(ns, "")),
            };
        }
        if behavior == NamespaceDropBehavior::Restrict {
            let c = self.contents(ns).await?;
            let mut what = Vec::new();
            if !c.tables.is_empty() {
                what.push(format!("tables {}", c.tables.join(", ")));
            }
            if !c.children.is_empty() {
                what.push(format!("namespaces {}", c.children.join(", ")));
            }
            if !what.is_empty() {
                return Err(Error::NamespaceNotEmpty {
                    path: ns.to_string(),
                    what: what.join(" and "),
                });
            }
        }
        let store = self.store();
        // The marker first: from here on the namespace is gone for every
        // reader, and a creator inside it finds out at its second read.
        match store.store.delete(&marker).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store.error(e, format!("Dropping namespace {ns}"))),
        }
        self.drop_subtree(ns).await
    }

    /// Removes everything under `ns`'s prefix: the markers of its children
    /// first (each child disappears before its tables do), then each table
    /// through the commit store (its versions first), then what is left.
    async fn drop_subtree(&self, ns: &NamespacePath) -> Result<()> {
        let store = self.store();
        let prefix = namespace_root(&store.root, ns.parts());
        let objects: Vec<Path> = store
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .or_else(|e| match e {
                object_store::Error::NotFound { .. } => Ok(Vec::new()),
                e => Err(store.error(e, format!("Listing namespace {ns}"))),
            })?;
        let (markers, rest): (Vec<Path>, Vec<Path>) = objects
            .into_iter()
            .partition(|p| p.filename().and_then(namespace_of_marker).is_some());
        store.delete_all(markers).await?;
        // Table directories: the path up to the first `.stowage` segment.
        let mut tables: Vec<Path> = rest
            .iter()
            .filter_map(|p| {
                let parts: Vec<_> = p.parts().collect();
                let i = parts
                    .iter()
                    .position(|s| s.as_ref().ends_with(TABLE_DIR_SUFFIX))?;
                Some(Path::from_iter(parts[..=i].iter().cloned()))
            })
            .collect();
        tables.sort();
        tables.dedup();
        for dir in &tables {
            self.drop_dir(dir).await?;
        }
        store.delete_all(rest).await?;
        store.remove_local_dir(&prefix).await?;
        Ok(())
    }

    // ---- tables inside a namespace ----

    /// Table names in `ns` (none when `ns` does not exist, as in the
    /// reference).
    pub async fn namespace_table_names(
        &self,
        ns: &NamespacePath,
        start_after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>> {
        self.ensure_open()?;
        if self.read_marker(ns).await?.is_none() {
            return Ok(Vec::new());
        }
        self.namespace_view(ns)
            .table_names(start_after, limit)
            .await
    }

    pub async fn namespace_open_table(
        &self,
        ns: &NamespacePath,
        name: &str,
        table_options: &[RawOption],
        table_credentials: Option<&ProvidedCredentials>,
    ) -> Result<Table> {
        self.ensure_open()?;
        match self
            .namespace_view(ns)
            .open_table(name, table_options, table_credentials)
            .await
        {
            Err(Error::TableNotFound { name, .. }) => Err(self.table_not_found(ns, name).await),
            r => r,
        }
    }

    pub async fn namespace_create_table(
        &self,
        ns: &NamespacePath,
        req: CreateTableRequest,
    ) -> Result<Table> {
        self.ensure_open()?;
        let id = self
            .marker_id(ns, &format!("creating table '{}' in it", req.name))
            .await?;
        let name = req.name.clone();
        let view = self.namespace_view(ns);
        let created = view.create_table(req).await;
        // Still there after the commit (or after a failure, which may be the
        // drop having removed objects under the creation)?
        let kept = self.still_there(ns, &id).await;
        match (created, kept) {
            (Ok(table), Ok(true)) => Ok(table),
            (Err(e), Ok(true)) | (Err(e), Err(_)) => Err(e),
            (Ok(_), Err(e)) => Err(e),
            (_, Ok(false)) => {
                // Dropped (or dropped and created again) while the table was
                // being created: take the table back rather than leave it
                // where nobody created it.
                let _ = view
                    .drop_dir(&crate::format::table_dir(&view.store().root, &name))
                    .await;
                Err(not_found(
                    ns,
                    format!(" (it was dropped while table '{name}' was being created in it; the table was removed)"),
                ))
            }
        }
    }

    pub async fn namespace_drop_table(&self, ns: &NamespacePath, name: &str) -> Result<()> {
        self.ensure_open()?;
        match self.namespace_view(ns).drop_table(name).await {
            Err(Error::TableNotFound { name, .. }) => Err(self.table_not_found(ns, name).await),
            r => r,
        }
    }

    /// Drops every table of `ns` (none when `ns` does not exist, as in the
    /// reference); child namespaces are left alone.
    pub async fn namespace_drop_all_tables(&self, ns: &NamespacePath) -> Result<()> {
        self.ensure_open()?;
        self.namespace_view(ns).drop_all_tables().await
    }

    /// `TABLE_NOT_FOUND` naming the namespace, and saying when the namespace
    /// itself does not exist.
    async fn table_not_found(&self, ns: &NamespacePath, name: String) -> Error {
        let missing = matches!(self.read_marker(ns).await, Ok(None));
        Error::TableNotFound {
            name,
            at: Some(if missing {
                format!("namespace {ns} (which does not exist) of {}", self.uri())
            } else {
                format!("namespace {ns} of {}", self.uri())
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch};

    use super::*;
    use crate::table::txn::CreateMode;

    fn ns(parts: &[&str]) -> NamespacePath {
        NamespacePath::new(parts.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    async fn db() -> Database {
        let uri = format!("memory://ns-{}", uuid::Uuid::new_v4());
        Database::connect(&uri, Vec::new(), &BTreeMap::new(), None, None)
            .await
            .unwrap()
    }

    fn request(name: &str) -> CreateTableRequest {
        let batch = RecordBatch::try_from_iter([(
            "id",
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        )])
        .unwrap();
        CreateTableRequest {
            name: name.to_string(),
            schema: batch.schema(),
            batches: vec![batch],
            mode: CreateMode::Create,
            exist_ok: false,
            storage_options: Vec::new(),
            credentials: None,
        }
    }

    #[tokio::test]
    async fn create_list_describe_drop() {
        let db = db().await;
        let props = BTreeMap::from([("k".to_string(), "v".to_string())]);
        let mode = NamespaceCreateMode::Create;
        db.create_namespace(&ns(&["b"]), mode, props.clone())
            .await
            .unwrap();
        db.create_namespace(&ns(&["a"]), mode, BTreeMap::new())
            .await
            .unwrap();
        db.create_namespace(&ns(&["a", "x"]), mode, BTreeMap::new())
            .await
            .unwrap();
        let e = db
            .create_namespace(&ns(&["b"]), mode, BTreeMap::new())
            .await
            .unwrap_err();
        assert_eq!(e.code(), "NAMESPACE_EXISTS");
        let e = db
            .create_namespace(&ns(&["c", "d"]), mode, BTreeMap::new())
            .await
            .unwrap_err();
        assert_eq!(e.code(), "NAMESPACE_NOT_FOUND");
        assert!(e.to_string().contains(r#"["c"]"#), "{e}");
        assert_eq!(db.describe_namespace(&ns(&["b"])).await.unwrap(), props);
        let page = db.list_namespaces(&ns(&[]), None, Some(1)).await.unwrap();
        assert_eq!(page.namespaces, vec!["a"]);
        assert_eq!(page.page_token.as_deref(), Some("a"));
        let page = db
            .list_namespaces(&ns(&[]), Some("a"), Some(1))
            .await
            .unwrap();
        assert_eq!(
            (page.namespaces, page.page_token),
            (vec!["b".to_string()], None)
        );

        db.namespace_create_table(&ns(&["a", "x"]), request("t"))
            .await
            .unwrap();
        assert_eq!(
            db.table_names(None, None).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            db.namespace_table_names(&ns(&["a", "x"]), None, None)
                .await
                .unwrap(),
            vec!["t"]
        );
        let t = db
            .namespace_open_table(&ns(&["a", "x"]), "t", &[], None)
            .await
            .unwrap();
        assert_eq!(t.count_rows(None).await.unwrap(), 2);

        let restrict = NamespaceDropBehavior::Restrict;
        let fail = NamespaceDropMode::Fail;
        let e = db
            .drop_namespace(&ns(&["a"]), fail, restrict)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "NAMESPACE_NOT_EMPTY");
        db.drop_namespace(&ns(&["a"]), fail, NamespaceDropBehavior::Cascade)
            .await
            .unwrap();
        for gone in [ns(&["a"]), ns(&["a", "x"])] {
            let e = db.describe_namespace(&gone).await.unwrap_err();
            assert_eq!(e.code(), "NAMESPACE_NOT_FOUND");
        }
        let left: Vec<_> = db
            .store()
            .store
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        assert!(left.iter().all(|p| !p.contains("a.ns")), "{left:?}");
        db.drop_namespace(&ns(&["a"]), NamespaceDropMode::Skip, restrict)
            .await
            .unwrap();
    }
}
