//! Branches through the transaction loop on `memory://`: their own version
//! lines, the race between creating a branch and a cleanup, and cleanup
//! keeping what every line needs.

use super::*;

fn cleanup_all() -> OptimizeOptions {
    OptimizeOptions {
        cleanup_older_than_ms: crate::format::manifest::now_ms() + 1000,
        delete_unverified: true,
    }
}

#[tokio::test]
async fn a_branch_has_its_own_line_and_shares_files() {
    let store = memory_store().await;
    let commits = plain(&store);
    let t = create(&store, commits.clone(), &[1, 2]).await;
    add(&t, &[3]).await.unwrap();
    let dev = t.create_branch("dev", None, None).await.unwrap();
    assert_eq!(dev.current_branch(), Some("dev"));
    assert_eq!(versions(&dev).await, vec![2]);
    assert_eq!(add(&dev, &[10]).await.unwrap(), 3);
    assert_eq!(add(&t, &[4]).await.unwrap(), 3);
    assert_eq!(rows(&dev).await, vec![1, 2, 3, 10]);
    assert_eq!(rows(&t).await, vec![1, 2, 3, 4]);
    // Racing writers on the branch rebase onto each other, as on main.
    let other = t.checkout_branch("dev", None).await.unwrap();
    let (a, b) = tokio::join!(add(&dev, &[11]), add(&other, &[12]));
    let mut got = vec![a.unwrap(), b.unwrap()];
    got.sort_unstable();
    assert_eq!(got, vec![4, 5]);
    assert_eq!(
        rows(&t.checkout_branch("dev", None).await.unwrap()).await,
        vec![1, 2, 3, 10, 11, 12]
    );
}

#[tokio::test]
async fn a_branch_whose_fork_version_a_cleanup_removed_meanwhile_is_not_created() {
    let store = memory_store().await;
    let inner = plain(&store);
    let faulty = Faulty::new(inner.clone());
    let t = create(&store, faulty.clone(), &[1]).await;
    add(&t, &[2]).await.unwrap();
    add(&t, &[3]).await.unwrap();
    // A cleanup that read the branch refs before this branch's ref existed
    // removes version 2 just before the branch's first commit.
    let (c, dir) = (inner.clone(), table_dir(&store.root, "t"));
    faulty.inject(Fault::Before(Box::new(move || {
        Box::pin(async move { c.delete_version(&dir, 2).await.unwrap() })
    })));
    let err = t.create_branch("late", None, Some(2)).await.unwrap_err();
    assert_eq!(err.code(), "VERSION_NOT_FOUND", "{err}");
    assert!(t.list_branches().await.unwrap().is_empty());
    let err = t.checkout_branch("late", None).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
    // The name is free again.
    let ok = t.create_branch("late", None, Some(3)).await.unwrap();
    assert_eq!(rows(&ok).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn cleanup_on_either_line_keeps_the_other_lines_files() {
    let store = memory_store().await;
    let commits = plain(&store);
    let t = create(&store, commits.clone(), &[1, 2]).await;
    let dev = t.create_branch("dev", None, None).await.unwrap();
    add(&dev, &[10]).await.unwrap();
    t.delete("id = 1").await.unwrap();
    t.optimize(cleanup_all()).await.unwrap();
    // Version 1 is dev's fork point: kept, like a tagged version.
    assert!(versions(&t).await.contains(&1));
    assert_eq!(
        rows(&t.checkout_branch("dev", None).await.unwrap()).await,
        vec![1, 2, 10]
    );
    dev.delete("id = 2").await.unwrap();
    dev.optimize(cleanup_all()).await.unwrap();
    assert_eq!(versions(&dev).await, vec![dev.version().await.unwrap()]);
    assert_eq!(rows(&dev).await, vec![1, 10]);
    assert_eq!(rows(&open(&store, commits.clone()).await).await, vec![2]);
    // A deleted branch's stale handle cannot commit, even into a new branch of its name.
    t.delete_branch("dev").await.unwrap();
    let again = t.create_branch("dev", None, None).await.unwrap();
    let err = add(&dev, &[99]).await.unwrap_err();
    assert_eq!(err.code(), "TABLE_NOT_FOUND", "{err}");
    assert_eq!(rows(&again).await, vec![2]);
}
