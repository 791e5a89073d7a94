//! Deleting many objects at once, the way each backend allows.

use futures::StreamExt;
use object_store::path::Path;

use super::StoreHandle;
use crate::error::{Error, Result};

impl StoreHandle {
    /// Deletes `paths`; objects already gone are fine.
    pub async fn delete_all(&self, paths: Vec<Path>) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        // Over an Azure SAS the store itself falls back to blob-by-blob
        // deletes when a batch is refused (azure_delete::SasFallbackStore).
        let stream = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
        let mut results = self.store.delete_stream(stream);
        while let Some(r) = results.next().await {
            match r {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.error(e, "Deleting objects")),
            }
        }
        Ok(())
    }

    /// The file-system path of `path` on a local database; `None` elsewhere.
    pub fn local_path(&self, path: &Path) -> Option<std::path::PathBuf> {
        let root = self.local_dir.clone()?;
        Some(path.parts().fold(root, |p, part| p.join(part.as_ref())))
    }

    /// On a local database, removes the (emptied) directory of `dir`, which a
    /// file system would otherwise keep and list. Whether it existed.
    pub async fn remove_local_dir(&self, dir: &Path) -> Result<bool> {
        let Some(path) = self.local_path(dir) else {
            return Ok(false);
        };
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::internal(format!("removing {}: {e}", path.display()))),
        }
    }

    /// On a local database, removes the directories of `dir` that are empty
    /// (a writer that found its table dropped removed its files; the empty
    /// directories would still list as a table). Never removes a file.
    pub async fn remove_empty_local_dirs(&self, dir: &Path) {
        let Some(path) = self.local_path(dir) else {
            return;
        };
        if let Ok(mut entries) = tokio::fs::read_dir(&path).await {
            while let Ok(Some(e)) = entries.next_entry().await {
                // Fails on a directory that is not empty, which is the point.
                let _ = tokio::fs::remove_dir(e.path()).await;
            }
        }
        let _ = tokio::fs::remove_dir(&path).await;
    }
}
