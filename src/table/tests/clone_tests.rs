//! The first version of a new table landing beside another table's: a
//! `cloneTable` and a `createTable` of one name put different version
//! numbers, so the loop's check after the put (`created_beside`) decides.

use super::*;
use crate::table::clone::{clone_table, CloneTableRequest};

fn clone_req(target: &str) -> CloneTableRequest {
    CloneTableRequest {
        target: target.into(),
        source_uri: "memory://txn-tests/t.stowage".into(),
        source_version: None,
        source_tag: None,
        shallow: true,
    }
}

/// Table `name` created (version 1) holding `rows`, through `commits`.
async fn create_named(
    store: &StoreHandle,
    commits: &dyn CommitStore,
    name: &str,
    rows: &[i64],
) -> Result<()> {
    let dir = table_dir(&store.root, name);
    let fragment = write_fragment(store, &dir, &schema(), &[ids(rows)]).await?;
    let tref = crate::table::clone::main_line(name, store, &dir, commits);
    txn::commit(tref, None, |_| {
        let change = Change::Create {
            fragment: fragment.clone(),
            schema: schema(),
            mode: CreateMode::Create,
            exist_ok: false,
        };
        async move { Ok((change, ())) }
    })
    .await
    .map(|_| ())
}

async fn open_named(store: &StoreHandle, commits: Arc<dyn CommitStore>, name: &str) -> Table {
    Table::open(
        name,
        store.clone(),
        commits,
        options(),
        Some(std::time::Duration::ZERO),
    )
    .await
    .unwrap()
    .expect("table exists")
}

async fn pins(store: &StoreHandle) -> usize {
    use futures::TryStreamExt;
    let prefix = data_path(&table_dir(&store.root, "t"), "_refs/clones");
    let found: Vec<_> = store.store.list(Some(&prefix)).try_collect().await.unwrap();
    found.len()
}

#[tokio::test]
async fn a_clone_put_beside_a_created_table_is_taken_back() {
    let store = memory_store().await;
    let commits = plain(&store);
    let src = create(&store, commits.clone(), &[1, 2]).await;
    add(&src, &[3]).await.unwrap(); // version 2: the clone's first version is 2
    let faulty = Faulty::new(commits.clone());
    // A createTable of the same name commits version 1 after the clone
    // looked (the name was free) and before its put.
    let (s, c) = (store.clone(), commits.clone());
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move { create_named(&s, c.as_ref(), "c", &[9]).await.unwrap() })
    })));
    let uri = DbUri::parse("memory://txn-tests").unwrap();
    let err = clone_table(&uri, &store, faulty.as_ref(), &clone_req("c"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "TABLE_EXISTS");
    let c = open_named(&store, commits.clone(), "c").await;
    assert_eq!(versions(&c).await, vec![1]);
    assert_eq!(rows(&c).await, vec![9]);
    assert_eq!(pins(&store).await, 0, "the failed clone released its pin");
}

#[tokio::test]
async fn a_create_put_beside_a_clone_is_taken_back() {
    let store = memory_store().await;
    let commits = plain(&store);
    let src = create(&store, commits.clone(), &[1, 2]).await;
    add(&src, &[3]).await.unwrap();
    let faulty = Faulty::new(commits.clone());
    // The clone commits version 2 right before the create's put of version 1.
    let (s, c) = (store.clone(), commits.clone());
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move {
            let uri = DbUri::parse("memory://txn-tests").unwrap();
            clone_table(&uri, &s, c.as_ref(), &clone_req("c"))
                .await
                .unwrap();
        })
    })));
    let err = create_named(&store, faulty.as_ref(), "c", &[9])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "TABLE_EXISTS");
    let c = open_named(&store, commits.clone(), "c").await;
    assert_eq!(versions(&c).await, vec![2]);
    assert_eq!(rows(&c).await, vec![1, 2, 3]);
    assert_eq!(pins(&store).await, 1, "the live clone keeps its pin");
}
