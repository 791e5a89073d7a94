//! The one conformance suite every [`CommitStore`] passes. Each backend's
//! tests call [`run_all`] with a fresh store; the emulator-backed stores run
//! it through [`configured_store`], which `__test__/concurrency.test.ts`
//! starts once per backend. Test-only: none of it is in the shipped addon.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;

use super::{CommitError, CommitStore};

/// Runs every invariant check against `store`, under `table_dir`.
pub async fn run_all(store: Arc<dyn CommitStore>, table_dir: Path) {
    empty_table_has_no_version(store.as_ref(), &table_dir).await;
    one_winner_per_version(store.clone(), &table_dir).await;
    latest_never_goes_backwards(store.as_ref(), &table_dir).await;
}

async fn empty_table_has_no_version(store: &dyn CommitStore, dir: &Path) {
    assert_eq!(store.latest_version(dir).await.unwrap(), None);
    assert_eq!(store.load(dir, 1).await.unwrap(), None);
    assert!(store.list_versions(dir).await.unwrap().is_empty());
}

async fn one_winner_per_version(store: Arc<dyn CommitStore>, dir: &Path) {
    for version in 1..=5u64 {
        let mut tasks = Vec::new();
        for writer in 0..8u64 {
            let store = store.clone();
            let dir = dir.clone();
            tasks.push(tokio::spawn(async move {
                // A large manifest, so a torn write would be visible.
                let body = Bytes::from(format!("writer={writer};").repeat(20_000));
                (
                    writer,
                    body.clone(),
                    store.commit(&dir, version, body).await,
                )
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (writer, body, outcome) = t.await.unwrap();
            match outcome {
                Ok(()) => winners.push((writer, body)),
                Err(CommitError::Conflict { version: v }) => assert_eq!(v, version),
                Err(CommitError::Failed(e)) => panic!("commit failed: {e}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "version {version}: {} winners",
            winners.len()
        );
        let stored = store
            .load(dir, version)
            .await
            .unwrap()
            .expect("winner visible");
        assert_eq!(
            stored, winners[0].1,
            "version {version} is the winner's manifest, whole"
        );
        assert_eq!(store.latest_version(dir).await.unwrap(), Some(version));
    }
    assert_eq!(store.list_versions(dir).await.unwrap(), vec![1, 2, 3, 4, 5]);
}

async fn latest_never_goes_backwards(store: &dyn CommitStore, dir: &Path) {
    let before = store.latest_version(dir).await.unwrap().unwrap_or(0);
    // Re-committing an old version must fail and leave latest untouched.
    assert!(matches!(
        store.commit(dir, 1, Bytes::from_static(b"late")).await,
        Err(CommitError::Conflict { version: 1 })
    ));
    assert_eq!(store.latest_version(dir).await.unwrap(), Some(before));
    // A version far ahead (numbers with more digits) still sorts as newest.
    store
        .commit(dir, 1_000, Bytes::from_static(b"v1000"))
        .await
        .unwrap();
    assert_eq!(store.latest_version(dir).await.unwrap(), Some(1_000));
}

/// The store `STOWAGE_CONFORMANCE_URI` names (with the storage options of
/// the JSON object in `STOWAGE_CONFORMANCE_OPTIONS`), or `memory://` when
/// unset, so a plain `cargo test` runs it too.
#[cfg(test)]
mod configured_store {
    use crate::storage::{build_store, DbUri, ProcessEnv, RawOption, RawValue, StorageOptions};

    fn options() -> Vec<RawOption> {
        let Ok(json) = std::env::var("STOWAGE_CONFORMANCE_OPTIONS") else {
            return Vec::new();
        };
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&json).expect("STOWAGE_CONFORMANCE_OPTIONS is a JSON object");
        // Every registry kind parses from its string form.
        map.into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => RawOption::new(k, RawValue::Str(s)),
                other => RawOption::new(k, RawValue::Str(other.to_string())),
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conforms() {
        let uri = std::env::var("STOWAGE_CONFORMANCE_URI").unwrap_or_else(|_| "memory://".into());
        let db_uri = DbUri::parse(&uri).unwrap();
        let resolved =
            StorageOptions::resolve(db_uri.backend(), None, &options(), &ProcessEnv).unwrap();
        let store = build_store(&db_uri, &resolved).await.unwrap();
        let commits = crate::commit::for_uri(&db_uri, store.clone(), &resolved)
            .await
            .unwrap();
        let dir = store
            .root
            .clone()
            .join(format!("conformance-{}.stowage", uuid::Uuid::new_v4()));
        super::run_all(commits, dir.clone()).await;
        // The Jest suite checks the run happened where it pointed it.
        println!("conformance passed on {uri} at {dir}");
    }
}
