//! Index entries through the transaction loop: what each kind of change
//! does to them, and the rebase rules of `IndexChange` under races.

use super::*;
use crate::format::index::{FragmentSet, IndexEntry, IndexFile, IndexKind, IndexSegment};
use crate::format::manifest::Manifest;
use crate::table::txn::IndexChange;
use arrow_schema::DataType;

/// An index entry over `frags`, with one object written to the store.
async fn entry(store: &StoreHandle, name: &str, frags: &[u64]) -> IndexEntry {
    let seg = uuid::Uuid::new_v4().to_string();
    let path = format!("_indices/{seg}/index.idx");
    let dir = table_dir(&store.root, "t");
    store
        .store
        .put(
            &data_path(&dir, &path),
            PutPayload::from_static(b"index bytes"),
        )
        .await
        .unwrap();
    IndexEntry {
        name: name.into(),
        uuid: uuid::Uuid::new_v4().to_string(),
        kind: IndexKind::BTree,
        columns: vec!["id".into()],
        params: serde_json::json!({}),
        created_at_ms: 1,
        segments: vec![IndexSegment {
            uuid: seg,
            files: vec![IndexFile {
                path,
                size_bytes: 11,
            }],
            fragments: FragmentSet::from_ids(frags.iter().copied()),
            rows: 0,
            details: serde_json::json!({}),
        }],
    }
}

async fn create_index(t: &Table, e: &IndexEntry, replace: bool) -> Result<u64> {
    t.commit(|_| {
        let change = Change::Index(IndexChange::Create {
            entry: e.clone(),
            replace,
            column_types: vec![DataType::Int64],
        });
        async move { Ok((change, ())) }
    })
    .await
    .map(|(v, _)| v)
}

async fn manifest(t: &Table) -> Arc<Manifest> {
    t.snapshot().await.unwrap().manifest.clone()
}

fn covered(m: &Manifest, name: &str) -> Vec<u64> {
    let e = m.indices.iter().find(|i| i.name == name).unwrap();
    e.covered().ids().collect()
}

async fn exists(store: &StoreHandle, rel: &str) -> bool {
    let dir = table_dir(&store.root, "t");
    store.store.head(&data_path(&dir, rel)).await.is_ok()
}

#[test]
fn manifests_without_indices_read_and_round_trip() {
    let old = r#"{"format":"stowage-table","format_version":1,"version":1,"timestamp_ms":0,"operation":{"type":"create","rows":0},"schema":"","fragments":[],"next_fragment_id":0}"#;
    let m = Manifest::from_bytes("t", old.as_bytes()).unwrap();
    assert!(m.indices.is_empty());
    // An empty list is not written at all.
    let text = String::from_utf8(m.to_bytes().unwrap().to_vec()).unwrap();
    assert!(!text.contains("indices"), "{text}");
}

#[tokio::test]
async fn index_entries_round_trip_and_follow_every_kind_of_change() {
    let store = memory_store().await;
    let commits = plain(&store);
    let t = create(&store, commits.clone(), &[1, 2, 3]).await;
    add(&t, &[4, 5]).await.unwrap();
    let e = entry(&store, "id_idx", &[0, 1]).await;
    create_index(&t, &e, false).await.unwrap();
    // Read back from storage: the same entry.
    let reopened = open(&store, commits.clone()).await;
    let m = manifest(&reopened).await;
    assert_eq!(m.indices, vec![e.clone()]);
    let text = String::from_utf8(m.to_bytes().unwrap().to_vec()).unwrap();
    assert!(text.contains("\"kind\": \"BTREE\""), "{text}");
    assert!(text.find("\"indices\"").unwrap() < text.find("\"ancestry\"").unwrap());
    assert_eq!(
        t.list_versions().await.unwrap().last().unwrap().operation,
        "create_index"
    );

    // Appends, deletes and updates carry the index unchanged.
    add(&t, &[6]).await.unwrap();
    t.delete("id = 2").await.unwrap();
    t.update(Some("id = 4"), vec![("id".into(), "40".into())])
        .await
        .unwrap();
    let m = manifest(&t).await;
    assert_eq!(covered(&m, "id_idx"), vec![0, 1]);
    let info = &t.list_indices().await.unwrap()[0];
    assert_eq!((info.index_type.as_str(), info.num_segments), ("BTree", 1));
    // Fragment 0 lost row 2 (deleted), fragment 1 lost row 4 (updated
    // rows are rewritten into a new fragment): 3 rows indexed, 2 not (6, 40).
    assert_eq!((info.num_indexed_rows, info.num_unindexed_rows), (3, 2));
    let stats = t.index_stats("id_idx").await.unwrap().unwrap();
    assert_eq!((stats.index_type.as_str(), stats.num_indices), ("BTREE", 1));
    assert!(t.index_stats("nope").await.unwrap().is_none());

    // Compaction replaces the fragments; optimize() then rebuilds the BTREE
    // index over the new ones (issue 12) as one segment.
    let keep = OptimizeOptions {
        cleanup_older_than_ms: 0,
        delete_unverified: false,
    };
    t.optimize(keep).await.unwrap();
    let m = manifest(&t).await;
    let all: Vec<u64> = m.fragments.iter().map(|f| f.id).collect();
    assert_eq!(covered(&m, "id_idx"), all);
    assert_eq!(m.indices[0].segments.len(), 1);
    let before_overwrite = m.version;

    // An overwrite drops the indexes, as @lancedb/lancedb does; a restore
    // of an older version brings its indexes back.
    t.add(schema(), vec![ids(&[9])], AddMode::Overwrite)
        .await
        .unwrap();
    assert!(manifest(&t).await.indices.is_empty());
    t.restore(Some(before_overwrite)).await.unwrap();
    assert_eq!(manifest(&t).await.indices.len(), 1);

    // Drop.
    t.drop_index("id_idx").await.unwrap();
    assert!(manifest(&t).await.indices.is_empty());
    let err = t.drop_index("id_idx").await.unwrap_err();
    assert_eq!(err.code(), "INDEX_NOT_FOUND");
}

#[tokio::test]
async fn a_create_racing_an_append_covers_what_it_read() {
    let store = memory_store().await;
    let faulty = Faulty::new(plain(&store));
    let a = create(&store, faulty.clone(), &[1, 2]).await;
    let b = Arc::new(open(&store, plain(&store)).await);
    let b2 = b.clone();
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move {
            add(&b2, &[3]).await.unwrap();
        })
    })));
    let e = entry(&store, "id_idx", &[0]).await;
    assert_eq!(create_index(&a, &e, false).await.unwrap(), 3);
    let m = manifest(&a).await;
    assert_eq!(m.fragments.len(), 2);
    assert_eq!(covered(&m, "id_idx"), vec![0]);
    assert_eq!(rows(&a).await, vec![1, 2, 3]);
    let info = &a.list_indices().await.unwrap()[0];
    assert_eq!((info.num_indexed_rows, info.num_unindexed_rows), (2, 1));
}

#[tokio::test]
async fn concurrent_creates_of_one_name_leave_one_index() {
    let store = memory_store().await;
    let faulty = Faulty::new(plain(&store));
    let a = create(&store, faulty.clone(), &[1]).await;
    let b = Arc::new(open(&store, plain(&store)).await);

    // replace = false: the loser gets INDEX_EXISTS and its files are removed.
    let winner = entry(&store, "id_idx", &[0]).await;
    let loser = entry(&store, "id_idx", &[0]).await;
    let (b2, w2) = (b.clone(), winner.clone());
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move {
            create_index(&b2, &w2, false).await.unwrap();
        })
    })));
    let err = create_index(&a, &loser, false).await.unwrap_err();
    assert_eq!(err.code(), "INDEX_EXISTS");
    assert!(err.to_string().contains("replace: true"), "{err}");
    let m = manifest(&b).await;
    assert_eq!(m.indices, vec![winner.clone()]);
    assert!(exists(&store, &winner.segments[0].files[0].path).await);
    assert!(!exists(&store, &loser.segments[0].files[0].path).await);

    // replace = true: the last writer wins, and there is still one index.
    let last = entry(&store, "id_idx", &[0]).await;
    let (b2, mid) = (b.clone(), entry(&store, "id_idx", &[0]).await);
    let mid2 = mid.clone();
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move {
            create_index(&b2, &mid2, true).await.unwrap();
        })
    })));
    create_index(&a, &last, true).await.unwrap();
    let m = manifest(&a).await;
    assert_eq!(m.indices.len(), 1);
    assert_eq!(m.indices[0].uuid, last.uuid);
    // Both committed files stay until a cleanup finds them unreferenced.
    assert!(exists(&store, &mid.segments[0].files[0].path).await);
}

#[tokio::test]
async fn a_create_whose_column_changed_type_meanwhile_is_refused() {
    let store = memory_store().await;
    let faulty = Faulty::new(plain(&store));
    let a = create(&store, faulty.clone(), &[1]).await;
    let b = Arc::new(open(&store, plain(&store)).await);
    let b2 = b.clone();
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move {
            let s: SchemaRef = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
                "id",
                DataType::Utf8,
                true,
            )]));
            let batch = RecordBatch::try_new(
                s.clone(),
                vec![Arc::new(arrow_array::StringArray::from(vec!["x"])) as ArrayRef],
            )
            .unwrap();
            b2.add(s, vec![batch], AddMode::Overwrite).await.unwrap();
        })
    })));
    let e = entry(&store, "id_idx", &[0]).await;
    let err = create_index(&a, &e, false).await.unwrap_err();
    assert_eq!(err.code(), "SCHEMA_MISMATCH");
    assert!(err.to_string().contains("column 'id'"), "{err}");
    assert!(manifest(&b).await.indices.is_empty());
}

#[tokio::test]
async fn a_segment_replacement_is_planned_again_when_its_segments_changed() {
    let store = memory_store().await;
    let t = create(&store, plain(&store), &[1]).await;
    add(&t, &[2]).await.unwrap();
    let e = entry(&store, "id_idx", &[0]).await;
    create_index(&t, &e, false).await.unwrap();
    let old_seg = e.segments[0].uuid.clone();
    let delta = entry(&store, "x", &[0, 1]).await.segments.remove(0);
    let plans = std::sync::atomic::AtomicUsize::new(0);
    let (e, plans) = (&e, &plans);
    // The first plan names a segment the index no longer has (say another
    // optimize merged it): stale, planned again on the new version.
    let (v, ()) = t
        .commit(|_| {
            let n = plans.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let replaced = if n == 0 {
                vec!["gone".to_string()]
            } else {
                vec![old_seg.clone()]
            };
            let change = Change::Index(IndexChange::ReplaceSegments {
                name: "id_idx".into(),
                index_uuid: e.uuid.clone(),
                replaced,
                added: vec![delta.clone()],
            });
            async move { Ok((change, ())) }
        })
        .await
        .unwrap();
    assert_eq!(plans.load(std::sync::atomic::Ordering::SeqCst), 2);
    let m = manifest(&t).await;
    assert_eq!(m.version, v);
    assert_eq!(m.indices[0].segments, vec![delta]);
    assert_eq!(covered(&m, "id_idx"), vec![0, 1]);
}

#[tokio::test]
async fn cleanup_keeps_index_objects_a_version_names_and_removes_dropped_ones() {
    let store = memory_store().await;
    let t = create(&store, plain(&store), &[1]).await;
    let kept = entry(&store, "a", &[0]).await;
    let dropped = entry(&store, "b", &[0]).await;
    create_index(&t, &kept, false).await.unwrap();
    create_index(&t, &dropped, false).await.unwrap();
    t.drop_index("b").await.unwrap();
    // An index object no version names (a build in flight) is unverified.
    let stray = entry(&store, "c", &[0]).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let opts = OptimizeOptions {
        cleanup_older_than_ms: crate::format::manifest::now_ms(),
        delete_unverified: false,
    };
    t.optimize(opts).await.unwrap();
    assert!(exists(&store, &kept.segments[0].files[0].path).await);
    assert!(!exists(&store, &dropped.segments[0].files[0].path).await);
    assert!(exists(&store, &stray.segments[0].files[0].path).await);
    assert_eq!(t.list_indices().await.unwrap().len(), 1);
}
