//! The storage connector: option registry and resolution, URI parsing,
//! object_store backends, credentials and the effective-configuration report.
//! Knows nothing of tables.

pub mod backend;
pub mod credentials;
pub mod options;
pub mod registry;
pub mod secret;
pub mod uri;

use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;

use crate::error::{Error, StorageErrorKind};
pub use backend::{build_store, store_for_table};
pub use options::{
    EffectiveOption, EnvSource, ProcessEnv, RawOption, RawValue, Source, StorageOptions,
};
pub use registry::Backend;
pub use secret::Redactor;
pub use uri::{DbUri, Location};

/// How large uploads are cut into parts.
#[derive(Debug, Clone, Copy)]
pub struct UploadSettings {
    pub part_size: usize,
    pub concurrency: usize,
}

/// An object store opened for one database (or one table with its own
/// options), with what the layers above need to use it well.
#[derive(Clone)]
pub struct StoreHandle {
    pub store: Arc<dyn ObjectStore>,
    /// The database prefix inside the store.
    pub root: Path,
    pub backend: Backend,
    /// Whether `list` returns keys in lexicographic order (all cloud stores
    /// and memory; not the local file system).
    pub ordered_listing: bool,
    pub upload: UploadSettings,
    /// For messages: the URI the user gave, without secrets.
    pub display_uri: String,
    /// The database directory, for a local database.
    pub local_dir: Option<std::path::PathBuf>,
    pub(crate) redactor: Redactor,
}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHandle")
            .field("uri", &self.display_uri)
            .field("backend", &self.backend)
            .field("root", &self.root)
            .finish()
    }
}

impl StoreHandle {
    /// Maps an object_store error to ours: a stable kind, the context of what
    /// we were doing, and a message with every secret scrubbed.
    pub fn error(&self, e: object_store::Error, context: impl Into<String>) -> Error {
        let kind = match &e {
            object_store::Error::NotFound { .. } => StorageErrorKind::NotFound,
            object_store::Error::PermissionDenied { .. } => StorageErrorKind::PermissionDenied,
            object_store::Error::Unauthenticated { .. } => StorageErrorKind::Unauthenticated,
            _ => classify(&e),
        };
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        let hint = match kind {
            StorageErrorKind::Unauthenticated | StorageErrorKind::PermissionDenied => {
                " (check the credentials in storageOptions or the environment)"
            }
            StorageErrorKind::Connection => {
                " (check the endpoint and that the server is reachable)"
            }
            StorageErrorKind::Timeout => " (raise `timeout`/`connectTimeout` or check the network)",
            _ => "",
        };
        Error::Storage {
            kind,
            context: self.redactor.redact(&context.into()),
            message: format!("{}{hint}", self.redactor.redact(&message)),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }
}

/// Looks through the message chain for what kind of failure this was; the
/// HTTP client does not expose typed errors through object_store.
fn classify(e: &object_store::Error) -> StorageErrorKind {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push(' ');
        text.push_str(&s.to_string());
        source = s.source();
    }
    let t = text.to_ascii_lowercase();
    if t.contains("nosuchbucket")
        || t.contains("containernotfound")
        || t.contains("bucket not found")
        || t.contains("404 not found")
    {
        StorageErrorKind::NotFound
    } else if t.contains("403")
        || t.contains("accessdenied")
        || t.contains("forbidden")
        || t.contains("signaturedoesnotmatch")
        || t.contains("invalidaccesskeyid")
        || t.contains("authenticationfailed")
    {
        StorageErrorKind::PermissionDenied
    } else if t.contains("401") || t.contains("unauthorized") {
        StorageErrorKind::Unauthenticated
    } else if t.contains("timed out") || t.contains("timeout") {
        StorageErrorKind::Timeout
    } else if t.contains("connection refused")
        || t.contains("error sending request")
        || t.contains("dns error")
        || t.contains("connection reset")
        || t.contains("tcp connect")
    {
        StorageErrorKind::Connection
    } else {
        StorageErrorKind::Other
    }
}
