//! Cleanup: removing old versions and the files no remaining version needs,
//! without ever removing a file a concurrent writer is about to commit.
//!
//! The rule (docs/FORMAT.md, "Compaction and cleanup"):
//!
//! * A version is removed when it is older than the cutoff (or committed in
//!   the cutoff's millisecond) and is not the latest.
//! * A data or deletion file that a removed version named and no remaining
//!   version names is *verified* garbage: removed when older than the cutoff.
//! * A file that no version names at all is *unverified*: it may belong to a
//!   commit still in flight (written, not yet committed) or to a writer that
//!   crashed. It is removed only when older than the cutoff **and** older than
//!   [`UNVERIFIED_GRACE`] (7 days, as in Lance), unless the caller passes
//!   `deleteUnverified` because it knows no other writer is active. Temporary
//!   files a local store leaves behind after a crash (`<name>#<n>`) are
//!   unverified files too.
//! * Files are listed *before* versions, and versions are listed again after
//!   old manifests are removed: a file written before the listing and
//!   committed by a version that landed during cleanup is seen as referenced.

use std::collections::HashSet;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::ObjectStoreExt;

use super::txn::TableRef;
use crate::error::Result;
use crate::format::deletion::DELETIONS_DIR;
use crate::format::index::INDICES_DIR;
use crate::format::manifest::{now_ms, Manifest};
use crate::format::DATA_DIR;

/// How old an unreferenced file must be before cleanup assumes no writer will
/// ever commit it (unless `deleteUnverified`).
pub const UNVERIFIED_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// What `optimize()` removes.
#[derive(Debug, Clone, Copy)]
pub struct OptimizeOptions {
    /// Versions committed before this time (ms since the epoch) are removed,
    /// never the latest.
    pub cleanup_older_than_ms: u64,
    /// Also remove unreferenced files younger than [`UNVERIFIED_GRACE`]
    /// (still older than the cutoff). Only safe when no other process writes.
    pub delete_unverified: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct OptimizeStats {
    pub fragments_removed: u64,
    pub fragments_added: u64,
    pub old_versions_removed: u64,
    pub files_removed: u64,
    pub bytes_removed: u64,
}

/// One object cleanup may remove.
#[derive(Debug)]
struct Candidate {
    /// Relative to the table directory, as manifests name files.
    rel: String,
    location: CandidateLocation,
    size: u64,
    modified_ms: u64,
}

#[derive(Debug)]
enum CandidateLocation {
    Object(object_store::path::Path),
    /// A local store's temporary file, invisible to object_store listings.
    LocalTemp(std::path::PathBuf),
}

/// Files a manifest names (data files, column files, deletion files and
/// index objects).
fn files_of(m: &Manifest, into: &mut HashSet<String>) {
    for f in &m.fragments {
        into.extend(f.files().map(str::to_string));
        if let Some(d) = &f.deletion {
            into.insert(d.path.clone());
        }
    }
    for f in m.indices.iter().flat_map(|i| i.files()) {
        into.insert(f.path.clone());
    }
}

pub(crate) async fn run(
    table: TableRef<'_>,
    latest: u64,
    opts: &OptimizeOptions,
) -> Result<OptimizeStats> {
    let mut stats = OptimizeStats::default();
    let now = now_ms();
    let cutoff = opts.cleanup_older_than_ms;
    // 1. Files first (see the module doc for why the order matters).
    let candidates = list_files(&table).await?;
    // Tagged versions (of main) stay, with their files, whatever their age; so
    // do the versions shallow clones were made of (pins apply to main only).
    let mut tagged = match table.branch {
        None => {
            let mut v = super::tags::tagged_versions(&table).await?;
            v.extend(super::clone::pinned_versions(&table).await?);
            v
        }
        Some(_) => HashSet::new(),
    };
    // So do the versions branches forked from, and every file another line
    // (main, or any branch) names. Read before removing anything: a branch
    // created from here on finds its version still there (and re-checks it).
    let mut others: HashSet<String> = HashSet::new();
    tagged.extend(super::branches::other_lines(&table, files_of, &mut others).await?);

    // 2. Versions: which go, and what the remaining ones name.
    let mut retained: HashSet<String> = HashSet::new();
    let mut removed_files: HashSet<String> = HashSet::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut to_remove = Vec::new();
    for v in table.commits.list_versions(table.versions).await? {
        seen.insert(v);
        let Some(snap) = table.load_version(v).await? else {
            continue; // removed by a concurrent cleanup
        };
        // Manifests keep milliseconds: a version committed within the
        // cutoff's own millisecond counts as older, so that
        // `cleanupOlderThan: new Date()` right after a commit keeps only the
        // latest version, as documented for @lancedb/lancedb.
        if v < latest && snap.manifest.timestamp_ms <= cutoff && !tagged.contains(&v) {
            files_of(&snap.manifest, &mut removed_files);
            to_remove.push(v);
        } else {
            files_of(&snap.manifest, &mut retained);
        }
    }
    // Manifests before files, so no reader opens a version whose files are
    // already gone (a reader already on it re-reads the latest version).
    for v in to_remove {
        table.commits.delete_version(table.versions, v).await?;
        stats.old_versions_removed += 1;
    }
    // 3. Versions committed while this ran name files too.
    for v in table.commits.list_versions(table.versions).await? {
        if seen.contains(&v) {
            continue;
        }
        if let Some(snap) = table.load_version(v).await? {
            files_of(&snap.manifest, &mut retained);
        }
    }

    // Lines (branches) created while this ran, and their new versions.
    super::branches::other_lines(&table, files_of, &mut others).await?;
    retained.extend(others);

    // 4. Files.
    let grace_ms = UNVERIFIED_GRACE.as_millis() as u64;
    for c in candidates {
        if retained.contains(&c.rel) || c.modified_ms >= cutoff {
            continue;
        }
        let verified = removed_files.contains(&c.rel);
        let old_enough = now.saturating_sub(c.modified_ms) >= grace_ms;
        if !verified && !old_enough && !opts.delete_unverified {
            continue;
        }
        let ok = match &c.location {
            CandidateLocation::Object(p) => match table.store.store.delete(p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => true,
                Err(e) => return Err(table.store.error(e, format!("Deleting {p}"))),
            },
            CandidateLocation::LocalTemp(p) => match tokio::fs::remove_file(p).await {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => {
                    return Err(crate::error::Error::internal(format!(
                        "removing {}: {e}",
                        p.display()
                    )))
                }
            },
        };
        if ok {
            stats.files_removed += 1;
            stats.bytes_removed += c.size;
        }
    }
    Ok(stats)
}

async fn list_files(table: &TableRef<'_>) -> Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for sub in [DATA_DIR, DELETIONS_DIR, INDICES_DIR] {
        let prefix = table.dir.clone().join(sub);
        let objects: Vec<object_store::ObjectMeta> =
            match table.store.store.list(Some(&prefix)).try_collect().await {
                Ok(o) => o,
                Err(object_store::Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(table.store.error(e, format!("Listing {prefix}"))),
            };
        for o in objects {
            // Index objects sit one level deeper (`_indices/<uuid>/<file>`).
            let rel = o
                .location
                .prefix_match(table.dir)
                .map(|parts| {
                    parts
                        .map(|p| p.as_ref().to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_else(|| format!("{sub}/{}", o.location.filename().unwrap_or_default()));
            out.push(Candidate {
                rel,
                size: o.size,
                modified_ms: o.last_modified.timestamp_millis().max(0) as u64,
                location: CandidateLocation::Object(o.location),
            });
        }
    }
    // A local store writes `<file>#<n>` and renames it into place; object
    // listings skip these, so a crashed writer's would stay forever.
    if let Some(table_path) = table.store.local_path(table.dir) {
        let mut dirs: Vec<String> = [DATA_DIR, DELETIONS_DIR, crate::commit::VERSIONS_DIR]
            .map(String::from)
            .to_vec();
        // Each index segment has its own directory.
        if let Ok(mut segs) = tokio::fs::read_dir(table_path.join(INDICES_DIR)).await {
            while let Ok(Some(e)) = segs.next_entry().await {
                dirs.push(format!("{INDICES_DIR}/{}", e.file_name().to_string_lossy()));
            }
        }
        for sub in dirs {
            let dir = table_path.join(&sub);
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(e) => e,
                Err(_) => continue,
            };
            while let Ok(Some(entry)) = entries.next_entry().await {
                let name = entry.file_name().to_string_lossy().to_string();
                if !is_local_temp(&name) {
                    continue;
                }
                let Ok(meta) = entry.metadata().await else {
                    continue;
                };
                let modified_ms = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                out.push(Candidate {
                    rel: format!("{sub}/{name}"),
                    size: meta.len(),
                    modified_ms,
                    location: CandidateLocation::LocalTemp(entry.path()),
                });
            }
        }
    }
    Ok(out)
}

/// object_store's local staging names: `<name>#<digits>`.
fn is_local_temp(name: &str) -> bool {
    match name.rsplit_once('#') {
        Some((_, n)) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_temp_names() {
        assert!(is_local_temp("a.parquet#1"));
        assert!(is_local_temp("18446744073709551614.manifest#12"));
        assert!(!is_local_temp("a.parquet"));
        assert!(!is_local_temp("a#b"));
        assert!(!is_local_temp("a#"));
    }
}
