//! The storage connector: option registry and resolution, URI parsing,
//! object_store backends, credentials and the effective-configuration report.
//! Knows nothing of tables.

mod azure_delete;
pub mod backend;
mod bulk;
pub mod cancel;
pub mod config;
pub mod credentials;
pub mod doctor;
pub mod options;
pub mod provided;
pub mod registry;
pub mod secret;
pub mod uploads;
pub mod uri;

use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;

use crate::error::{Error, StorageErrorKind};
pub use backend::{build_store, store_for_table};
pub use config::{StorageConfig, UploadSettings};
pub use credentials::{
    CallFailure, CredentialSource, ProvidedCredential, ProvidedCredentials, ProviderFailure,
    ShapeFailure,
};
pub use options::{
    snapshot_env, EffectiveOption, EnvSource, ProcessEnv, Providers, RawOption, RawValue, Source,
    StorageOptions,
};
pub use registry::Backend;
pub use secret::Redactor;
pub use uri::{DbUri, Location};

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
    /// The column cache budget of tables read through this handle (bytes).
    pub column_cache_bytes: usize,
    /// For messages: the URI the user gave, without secrets.
    pub display_uri: String,
    /// The database directory, for a local database.
    pub local_dir: Option<std::path::PathBuf>,
    /// Uploads through this handle abort when this scope is cancelled.
    pub scope: cancel::CancelScope,
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
            _ if credentials::ProviderFailure::find(&e).is_some() => {
                StorageErrorKind::CredentialProvider
            }
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
            StorageErrorKind::Server => " (the server kept failing; retries are set by clientMaxRetries and clientRetryTimeout)",
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

    /// The object at `path` and the version it was read at (for a
    /// conditional update of it), or `None` when there is none; `what` names
    /// it in an error ("tag <path>", "namespace <name>").
    pub async fn get_versioned(
        &self,
        path: &Path,
        what: &str,
    ) -> crate::error::Result<Option<(bytes::Bytes, object_store::UpdateVersion)>> {
        use object_store::ObjectStoreExt;
        let context = || format!("Reading {what}");
        let r = match self.store.get(path).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(e, context())),
        };
        let version = object_store::UpdateVersion {
            e_tag: r.meta.e_tag.clone(),
            version: r.meta.version.clone(),
        };
        let bytes = r.bytes().await.map_err(|e| self.error(e, context()))?;
        Ok(Some((bytes, version)))
    }
}

/// What kind of failure this was: typed where object_store exposes it (the
/// HTTP error kind in the source chain), else from the HTTP status it
/// reports ("status code: 403"), never from loose words that a URL or a
/// bucket name could contain.
fn classify(e: &object_store::Error) -> StorageErrorKind {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(http) = s.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind as K;
            match http.kind() {
                K::Connect | K::Request | K::Interrupted => return StorageErrorKind::Connection,
                K::Timeout => return StorageErrorKind::Timeout,
                _ => {}
            }
        }
        text.push(' ');
        text.push_str(&s.to_string());
        source = s.source();
    }
    let status = text
        .split("status code: ")
        .nth(1)
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(401) => return StorageErrorKind::Unauthenticated,
        Some(403) => return StorageErrorKind::PermissionDenied,
        Some(404) => return StorageErrorKind::NotFound,
        Some(s) if s >= 500 => return StorageErrorKind::Server,
        _ => {}
    }
    let t = text.to_ascii_lowercase();
    if [
        "<code>nosuchbucket</code>",
        "containernotfound",
        "\"code\": 404",
    ]
    .iter()
    .any(|m| t.contains(m))
    {
        StorageErrorKind::NotFound
    } else if [
        "<code>accessdenied</code>",
        // object_store's bulk delete reports each key's error this way.
        "(code: accessdenied)",
        "<code>signaturedoesnotmatch</code>",
        "<code>invalidaccesskeyid</code>",
        "authenticationfailed",
    ]
    .iter()
    .any(|m| t.contains(m))
    {
        StorageErrorKind::PermissionDenied
    } else {
        StorageErrorKind::Other
    }
}
