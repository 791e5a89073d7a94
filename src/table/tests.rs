//! The transaction loop's guarantees, tested without Node on `memory://`
//! through a commit store wrapper that injects conflicts, lost answers,
//! failures and other writers at chosen steps.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use super::txn::{self, Change, CreateMode, TableRef};
use super::{AddMode, OptimizeOptions, Table};
use crate::commit::{CommitError, CommitStore, ConditionalPutStore};
use crate::error::{Error, Result};
use crate::format::datafile::write_fragment;
use crate::format::{data_path, table_dir};
use crate::query::ScanRequest;
use crate::storage::{build_store, DbUri, StorageOptions, StoreHandle};

type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// What the wrapper does to the next commit.
enum Fault {
    /// Runs `hook` (another writer's work, say) and then commits.
    Before(Hook),
    /// Claims another writer won, without anything having been committed.
    SpuriousConflict,
    /// The commit lands but its answer is lost: the caller sees a failure.
    LostAnswer,
    /// The request fails before it reaches the store.
    FailBefore,
}

#[derive(Debug)]
struct Faulty {
    inner: Arc<dyn CommitStore>,
    faults: Mutex<VecDeque<FaultSlot>>,
}

/// Debug for the queue without requiring it of hooks.
struct FaultSlot(Fault);

impl std::fmt::Debug for FaultSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault")
    }
}

impl Faulty {
    fn new(inner: Arc<dyn CommitStore>) -> Arc<Self> {
        Arc::new(Faulty {
            inner,
            faults: Mutex::new(VecDeque::new()),
        })
    }

    fn inject(&self, f: Fault) {
        self.faults.lock().unwrap().push_back(FaultSlot(f));
    }

    fn next(&self) -> Option<Fault> {
        self.faults.lock().unwrap().pop_front().map(|s| s.0)
    }
}

fn io_error() -> Error {
    Error::Storage {
        kind: crate::error::StorageErrorKind::Connection,
        context: "injected".into(),
        message: "connection reset".into(),
    }
}

#[async_trait]
impl CommitStore for Faulty {
    async fn latest_version(&self, dir: &Path) -> Result<Option<u64>> {
        self.inner.latest_version(dir).await
    }
    async fn load(&self, dir: &Path, v: u64) -> Result<Option<Bytes>> {
        self.inner.load(dir, v).await
    }
    async fn commit(&self, dir: &Path, v: u64, m: Bytes) -> Result<(), CommitError> {
        match self.next() {
            None => self.inner.commit(dir, v, m).await,
            Some(Fault::Before(hook)) => {
                hook().await;
                self.inner.commit(dir, v, m).await
            }
            Some(Fault::SpuriousConflict) => Err(CommitError::Conflict { version: v }),
            Some(Fault::LostAnswer) => {
                self.inner.commit(dir, v, m).await?;
                Err(CommitError::Failed(io_error()))
            }
            Some(Fault::FailBefore) => Err(CommitError::Failed(io_error())),
        }
    }
    async fn list_versions(&self, dir: &Path) -> Result<Vec<u64>> {
        self.inner.list_versions(dir).await
    }
    async fn delete_version(&self, dir: &Path, v: u64) -> Result<()> {
        self.inner.delete_version(dir, v).await
    }
    async fn drop_table(&self, dir: &Path) -> Result<u64> {
        self.inner.drop_table(dir).await
    }
}

async fn memory_store() -> StoreHandle {
    let uri = DbUri::parse("memory://txn-tests").unwrap();
    let opts =
        StorageOptions::resolve(uri.backend(), None, &[], &BTreeMap::<String, String>::new())
            .unwrap();
    build_store(&uri, &opts).await.unwrap()
}

fn options() -> Arc<StorageOptions> {
    let uri = DbUri::parse("memory://txn-tests").unwrap();
    Arc::new(
        StorageOptions::resolve(uri.backend(), None, &[], &BTreeMap::<String, String>::new())
            .unwrap(),
    )
}

fn ids(v: &[i64]) -> RecordBatch {
    RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(v.to_vec())) as ArrayRef)])
        .unwrap()
}

fn schema() -> SchemaRef {
    ids(&[]).schema()
}

/// A fresh table "t" holding `rows`, committed through `commits`.
async fn create(store: &StoreHandle, commits: Arc<dyn CommitStore>, rows: &[i64]) -> Table {
    let dir = table_dir(&store.root, "t");
    let fragment = write_fragment(store, &dir, &schema(), &[ids(rows)])
        .await
        .unwrap();
    let tref = TableRef {
        name: "t",
        store,
        dir: &dir,
        versions: &dir,
        branch: None,
        commits: commits.as_ref(),
    };
    let done = txn::commit(tref, None, |_| {
        let change = Change::Create {
            fragment: fragment.clone(),
            schema: schema(),
            mode: CreateMode::Create,
            exist_ok: false,
        };
        async move { Ok((change, ())) }
    })
    .await
    .unwrap();
    Table::with_snapshot(
        "t",
        store.clone(),
        commits,
        options(),
        Some(std::time::Duration::ZERO),
        done.snapshot,
    )
}

async fn open(store: &StoreHandle, commits: Arc<dyn CommitStore>) -> Table {
    Table::open(
        "t",
        store.clone(),
        commits,
        options(),
        Some(std::time::Duration::ZERO),
    )
    .await
    .unwrap()
    .expect("table exists")
}

async fn rows(t: &Table) -> Vec<i64> {
    let (_, batches) = t.scan(&ScanRequest::default()).await.unwrap();
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            (0..c.len()).map(|i| c.value(i)).collect::<Vec<_>>()
        })
        .collect();
    out.sort_unstable();
    out
}

async fn versions(t: &Table) -> Vec<u64> {
    t.list_versions()
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect()
}

async fn add(t: &Table, v: &[i64]) -> Result<u64> {
    t.add(schema(), vec![ids(v)], AddMode::Append).await
}

fn plain(store: &StoreHandle) -> Arc<dyn CommitStore> {
    Arc::new(ConditionalPutStore::new(store.clone()))
}

#[tokio::test]
async fn concurrent_appends_all_land_with_contiguous_versions() {
    let store = memory_store().await;
    let commits = plain(&store);
    create(&store, commits.clone(), &[0]).await;
    let mut tasks = Vec::new();
    for w in 0..6i64 {
        let (store, commits) = (store.clone(), commits.clone());
        tasks.push(tokio::spawn(async move {
            let t = open(&store, commits).await;
            for i in 0..8 {
                add(&t, &[w * 100 + i + 1]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let t = open(&store, commits).await;
    let mut want = vec![0];
    for w in 0..6i64 {
        want.extend((0..8).map(|i| w * 100 + i + 1));
    }
    want.sort_unstable();
    assert_eq!(rows(&t).await, want);
    assert_eq!(versions(&t).await, (1..=49).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_append_that_loses_a_race_rebases_onto_the_winner() {
    let store = memory_store().await;
    let faulty = Faulty::new(plain(&store));
    let a = create(&store, faulty.clone(), &[1]).await;
    let b = open(&store, plain(&store)).await;
    // b commits version 2 just before a's commit of version 2 goes out.
    let b = Arc::new(b);
    let b2 = b.clone();
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move {
            add(&b2, &[2]).await.unwrap();
        })
    })));
    assert_eq!(add(&a, &[3]).await.unwrap(), 3);
    assert_eq!(rows(&a).await, vec![1, 2, 3]);
    // A claimed conflict with nothing behind it: the loop looks again and commits.
    faulty.inject(Fault::SpuriousConflict);
    assert_eq!(add(&a, &[4]).await.unwrap(), 4);
    assert_eq!(rows(&b).await, vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn a_delete_whose_file_was_compacted_away_is_planned_again() {
    let store = memory_store().await;
    let faulty = Faulty::new(plain(&store));
    let a = create(&store, faulty.clone(), &[1, 2, 3]).await;
    add(&a, &[4, 5]).await.unwrap();
    let b = Arc::new(open(&store, plain(&store)).await);
    let b2 = b.clone();
    // Compaction rewrites both files while the delete is in flight: the
    // delete's deletion file names a fragment that no longer exists, so it
    // must run again on the compacted version, not be lost or misapplied.
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move {
            let opts = OptimizeOptions {
                cleanup_older_than_ms: 0,
                delete_unverified: false,
            };
            b2.optimize(opts).await.unwrap();
        })
    })));
    a.delete("id = 2 OR id = 5").await.unwrap();
    assert_eq!(rows(&a).await, vec![1, 3, 4]);
    assert_eq!(rows(&b).await, vec![1, 3, 4]);
}

/// Between `w` confirming version 1 and its put of version 2, another
/// writer appends `others` (versions 2, 3, ...) and a cleanup removes
/// `removed`: `w`'s create-only put of 2 then succeeds on the freed number,
/// beside the chain. Returns the version `w`'s append reports and the table's
/// rows and versions afterwards.
async fn freed_number(
    others: &'static [i64],
    removed: &'static [u64],
) -> (u64, Vec<i64>, Vec<u64>) {
    let store = memory_store().await;
    let faulty = Faulty::new(plain(&store));
    let w = create(&store, faulty.clone(), &[1]).await;
    let other = Arc::new(open(&store, plain(&store)).await);
    let commits = plain(&store);
    let dir = table_dir(&store.root, "t");
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move {
            for id in others {
                add(&other, &[*id]).await.unwrap();
            }
            for v in removed {
                commits.delete_version(&dir, *v).await.unwrap();
            }
        })
    })));
    let v = add(&w, &[100]).await.unwrap();
    let t = open(&store, plain(&store)).await;
    (v, rows(&t).await, versions(&t).await)
}

#[tokio::test]
async fn a_put_on_a_version_number_cleanup_freed_is_taken_back_and_redone() {
    // The stray version 2 is taken back: 3 (other's) and 4 (w's, redone).
    assert_eq!(
        freed_number(&[2, 3], &[1, 2]).await,
        (4, vec![1, 2, 3, 100], vec![3, 4])
    );
}

#[tokio::test]
async fn a_freed_number_is_detected_when_the_cleanup_removed_the_next_version_too() {
    // The same cleanup pass that frees 2 goes on to remove 3: only the
    // latest version's ancestry can tell w that its 2 is beside the chain.
    assert_eq!(
        freed_number(&[2, 3, 4], &[1, 2, 3]).await,
        (5, vec![1, 2, 3, 4, 100], vec![4, 5])
    );
}

#[tokio::test]
async fn a_lost_answer_keeps_the_data_and_never_duplicates_it() {
    let store = memory_store().await;
    let faulty = Faulty::new(plain(&store));
    let a = create(&store, faulty.clone(), &[1]).await;
    faulty.inject(Fault::LostAnswer);
    let err = add(&a, &[2]).await.unwrap_err();
    assert_eq!(err.code(), "STORAGE_CONNECTION");
    // The version landed; its data file must still be there.
    let t = open(&store, plain(&store)).await;
    assert_eq!(rows(&t).await, vec![1, 2]);
    // The next write from the same handle rebases onto it: no duplicate.
    add(&a, &[3]).await.unwrap();
    assert_eq!(rows(&t).await, vec![1, 2, 3]);
    assert_eq!(versions(&t).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn a_failure_before_the_commit_changes_nothing_and_keeps_the_file() {
    let store = memory_store().await;
    let faulty = Faulty::new(plain(&store));
    let a = create(&store, faulty.clone(), &[1]).await;
    faulty.inject(Fault::FailBefore);
    assert!(add(&a, &[2]).await.is_err());
    let t = open(&store, plain(&store)).await;
    assert_eq!(rows(&t).await, vec![1]);
    assert_eq!(versions(&t).await, vec![1]);
    // The outcome looked unknown to the writer, so its file stays for
    // cleanup (two data files: the create's and the failed append's).
    let listed: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(
        store
            .store
            .list(Some(&table_dir(&store.root, "t").join("data"))),
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn a_stale_handle_never_commits_into_a_recreated_table() {
    let store = memory_store().await;
    let commits = plain(&store);
    create(&store, commits.clone(), &[1]).await;
    let stale = open(&store, commits.clone()).await;
    let dir = table_dir(&store.root, "t");
    commits.drop_table(&dir).await.unwrap();
    let leftovers: Vec<Path> =
        futures::TryStreamExt::try_collect::<Vec<_>>(store.store.list(Some(&dir)))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.location)
            .collect();
    store.delete_all(leftovers).await.unwrap();

    // Dropped, not re-created: the stale add brings nothing back.
    let err = add(&stale, &[2]).await.unwrap_err();
    assert_eq!(err.code(), "TABLE_NOT_FOUND", "{err}");
    assert!(
        Table::open("t", store.clone(), commits.clone(), options(), None)
            .await
            .unwrap()
            .is_none()
    );

    // Re-created: the stale handle still cannot write or read into it.
    let fresh = create(&store, commits.clone(), &[100, 101]).await;
    let err = add(&stale, &[2]).await.unwrap_err();
    assert_eq!(err.code(), "TABLE_NOT_FOUND", "{err}");
    assert!(err.to_string().contains("dropped"), "{err}");
    let err = stale.scan(&ScanRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), "TABLE_NOT_FOUND");
    assert_eq!(rows(&fresh).await, vec![100, 101]);
    assert_eq!(versions(&fresh).await, vec![1]);
}

#[tokio::test]
async fn a_create_that_loses_the_race_follows_its_mode() {
    let store = memory_store().await;
    let commits = plain(&store);
    let dir = table_dir(&store.root, "t");
    let tref = TableRef {
        name: "t",
        store: &store,
        dir: &dir,
        versions: &dir,
        branch: None,
        commits: commits.as_ref(),
    };
    create(&store, commits.clone(), &[1]).await;
    let attempt = |mode, exist_ok| {
        let store = store.clone();
        let dir = dir.clone();
        async move {
            let fragment = write_fragment(&store, &dir, &schema(), &[ids(&[9])])
                .await
                .unwrap();
            txn::commit(tref, None, |_| {
                let change = Change::Create {
                    fragment: fragment.clone(),
                    schema: schema(),
                    mode,
                    exist_ok,
                };
                async move { Ok((change, ())) }
            })
            .await
        }
    };
    let err = attempt(CreateMode::Create, false).await.unwrap_err();
    assert_eq!(err.code(), "TABLE_EXISTS");
    let same = attempt(CreateMode::Create, true).await.unwrap();
    assert_eq!(same.snapshot.version(), 1);
    let over = attempt(CreateMode::Overwrite, false).await.unwrap();
    assert_eq!(over.snapshot.version(), 2);
    // The overwrite keeps the existing table's identity.
    let first = tref.load_version(1).await.unwrap().unwrap();
    assert_eq!(over.snapshot.manifest.table_id, first.manifest.table_id);
    let t = open(&store, commits.clone()).await;
    assert_eq!(rows(&t).await, vec![9]);
    // The losing attempts' data files were removed (never committed); the
    // create's, the overwrite's remain.
    let listed: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(
        store.store.list(Some(&dir.clone().join("data"))),
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn cleanup_keeps_unreferenced_young_files_unless_told_otherwise() {
    let store = memory_store().await;
    let commits = plain(&store);
    let t = create(&store, commits.clone(), &[1]).await;
    add(&t, &[2]).await.unwrap();
    t.delete("id = 1").await.unwrap();
    // A data file some writer has written but not committed yet.
    let dir = table_dir(&store.root, "t");
    let in_flight = data_path(&dir, "data/in-flight.parquet");
    store
        .store
        .put(&in_flight, PutPayload::from_static(b"not yet committed"))
        .await
        .unwrap();
    let now = crate::format::manifest::now_ms() + 1000;
    let stats = t
        .optimize(OptimizeOptions {
            cleanup_older_than_ms: now,
            delete_unverified: false,
        })
        .await
        .unwrap();
    // Versions 1 and 2 go; the first data file (all its rows deleted) with them.
    assert_eq!(stats.old_versions_removed, 2, "{stats:?}");
    assert_eq!(stats.files_removed, 1, "{stats:?}");
    assert!(
        store.store.head(&in_flight).await.is_ok(),
        "an in-flight file was deleted"
    );
    assert_eq!(rows(&t).await, vec![2]);
    let stats = t
        .optimize(OptimizeOptions {
            cleanup_older_than_ms: now + 1000,
            delete_unverified: true,
        })
        .await
        .unwrap();
    assert_eq!(stats.files_removed, 1, "{stats:?}");
    assert!(store.store.head(&in_flight).await.is_err());
    assert_eq!(rows(&open(&store, commits).await).await, vec![2]);
}

#[tokio::test]
async fn a_pinned_reader_of_a_removed_version_is_told_so() {
    let store = memory_store().await;
    let commits = plain(&store);
    let t = create(&store, commits.clone(), &[1, 2, 3]).await;
    t.delete("id = 1").await.unwrap();
    let reader = open(&store, commits.clone()).await;
    reader.checkout(2).await.unwrap();
    t.delete("id = 2").await.unwrap();
    // Compaction (a file with deletions) then cleanup of versions 1-3 and
    // their files, the deletion file version 2 needs among them.
    let stats = t
        .optimize(OptimizeOptions {
            cleanup_older_than_ms: crate::format::manifest::now_ms() + 1000,
            delete_unverified: false,
        })
        .await
        .unwrap();
    assert_eq!(stats.old_versions_removed, 3, "{stats:?}");
    let err = reader.scan(&ScanRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), "VERSION_NOT_FOUND", "{err}");
    assert!(err.to_string().contains("removed by a cleanup"), "{err}");
    // A reader following the latest version just moves on.
    let follower = open(&store, commits).await;
    assert_eq!(rows(&follower).await, vec![3]);
}

#[tokio::test]
async fn restore_commits_an_old_version_on_top() {
    let store = memory_store().await;
    let commits = plain(&store);
    let t = create(&store, commits.clone(), &[1]).await;
    add(&t, &[2]).await.unwrap();
    t.delete("id = 1").await.unwrap();
    assert_eq!(t.restore(Some(2)).await.unwrap(), 4);
    assert_eq!(rows(&t).await, vec![1, 2]);
    let ops: Vec<String> = t
        .list_versions()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.operation)
        .collect();
    assert_eq!(ops, vec!["create", "append", "delete", "restore"]);
}

mod rewrite {
    use super::super::ops::Rewrite;
    use crate::format::manifest::{
        Deletion, Fragment, Manifest, Operation, FORMAT, FORMAT_VERSION,
    };

    fn frag(id: u64) -> Fragment {
        Fragment {
            id,
            path: format!("data/{id}.parquet"),
            rows: 10,
            size_bytes: 100,
            ..Default::default()
        }
    }

    fn manifest(fragments: Vec<Fragment>) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            version: 5,
            timestamp_ms: 0,
            operation: Operation::Append { rows: 0 },
            table_id: None,
            commit_id: None,
            ancestry: Vec::new(),
            schema: String::new(),
            next_fragment_id: fragments.len() as u64,
            indices: Vec::new(),
            fragments,
            field_ids: None,
            next_field_id: None,
        }
    }

    #[test]
    fn applies_onto_a_base_with_its_files_unchanged() {
        let with_del = Fragment {
            deletion: Some(Deletion {
                path: "_deletions/x.bin".into(),
                count: 2,
            }),
            ..frag(0)
        };
        let mut rw = Rewrite {
            touched: vec![frag(0), frag(1)],
            ..Default::default()
        };
        rw.replaced.insert(0, Some(with_del.clone()));
        rw.replaced.insert(1, None);
        rw.added.push(frag(99));
        // Another writer appended fragment 2 meanwhile: still applies.
        let base = manifest(vec![frag(0), frag(1), frag(2)]);
        let (fragments, next) = rw.apply(&base).unwrap();
        assert_eq!(
            fragments.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec![0, 2, 3]
        );
        assert_eq!(fragments[0], with_del);
        assert_eq!(fragments[2].path, "data/99.parquet");
        assert_eq!(next, 4);
        assert_eq!(
            rw.written_files(),
            vec![
                "data/99.parquet".to_string(),
                "_deletions/x.bin".to_string()
            ]
        );
        // Fragment 1 changed (deleted from) in the base: stale.
        let changed = manifest(vec![frag(0), Fragment { rows: 9, ..frag(1) }]);
        assert!(rw.apply(&changed).is_none());
        // Fragment 1 is gone (compacted away): stale.
        assert!(rw.apply(&manifest(vec![frag(0)])).is_none());
        assert!(Rewrite::default().is_empty());
    }
}

mod branch_tests;
mod clone_tests;
mod index_tests;

/// (row id, id value) of every live row.
async fn row_ids(t: &Table) -> Vec<(u64, i64)> {
    let req = ScanRequest {
        with_row_id: true,
        ..Default::default()
    };
    let (_, batches) = t.scan(&req).await.unwrap();
    let mut out = Vec::new();
    for b in &batches {
        let v = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let r = b
            .column_by_name(crate::format::ROW_ID)
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::UInt64Array>()
            .unwrap();
        out.extend((0..b.num_rows()).map(|i| (r.value(i), v.value(i))));
    }
    out
}

#[tokio::test]
async fn a_compactions_row_mapping_follows_from_its_manifests() {
    let store = memory_store().await;
    let t = create(&store, plain(&store), &[0, 1, 2, 3, 4]).await;
    add(&t, &[10, 11, 12]).await.unwrap();
    add(&t, &[20, 21, 22, 23]).await.unwrap();
    t.delete("id = 2 OR id = 10 OR id = 23").await.unwrap();
    let before = row_ids(&t).await;
    let old_of = |v: i64| before.iter().find(|(_, x)| *x == v).map(|(r, _)| *r);
    // Cleanup keeps every version (a cutoff before them all).
    let opts = OptimizeOptions {
        cleanup_older_than_ms: 0,
        delete_unverified: false,
    };
    t.optimize(opts).await.unwrap();
    let compacted = t
        .list_versions()
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.operation == "compact")
        .expect("a compact version")
        .version;
    let remap = super::compact_remap::RowRemap::of_compaction(&t, compacted)
        .await
        .unwrap()
        .expect("a mapping");
    let after = row_ids(&t).await;
    assert_eq!(after.len(), before.len());
    for (new, v) in &after {
        let old = old_of(*v).expect("row was there before");
        assert_eq!(remap.new_id(old), Some(*new), "row {v}");
    }
    // Deleted rows map to nothing.
    assert_eq!(remap.new_id(2), None);
    assert_eq!(remap.new_id(1 << 32), None);
    // Not a compaction: no mapping.
    assert!(super::compact_remap::RowRemap::of_compaction(&t, 2)
        .await
        .unwrap()
        .is_none());
}
