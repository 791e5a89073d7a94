//! Builds the object_store client for a database URI from the typed
//! configuration. Builders start empty (`new()`, never `from_env()`): the
//! environment tier was already merged by the registry, so an explicit
//! option always wins.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::{AzureConfigKey, AzureCredential, MicrosoftAzureBuilder};
use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

use super::config::{AzureConfig, BackendConfig, ClientConfig, Endpoint, GcsConfig, S3Config};
use super::credentials::aws_credentials;
use super::options::StorageOptions;
use super::provided::ProvidedFor;
use super::secret::Redactor;
use super::uri::{DbUri, Location};
use super::StoreHandle;
use crate::error::quote;
use crate::error::{Error, Result};

/// The same store with a table's own options applied. A `memory://` store
/// cannot be rebuilt (its data lives in the connection's instance), and the
/// local file system has no client options, so only the settings change.
pub async fn store_for_table(
    conn: &StoreHandle,
    uri: &DbUri,
    opts: &StorageOptions,
) -> Result<StoreHandle> {
    match uri.location {
        Location::Memory { .. } | Location::Local { .. } => Ok(StoreHandle {
            upload: opts.config().upload,
            column_cache_bytes: opts.config().column_cache_bytes,
            redactor: opts.redactor(),
            ..conn.clone()
        }),
        // Uploads of a table-level client still belong to the connection.
        _ => build_store(uri, opts).await.map(|s| StoreHandle {
            scope: conn.scope.clone(),
            ..s
        }),
    }
}

pub async fn build_store(uri: &DbUri, opts: &StorageOptions) -> Result<StoreHandle> {
    let redactor = opts.redactor();
    let config = opts.config();
    let (store, root, ordered): (Arc<dyn ObjectStore>, Path, bool) =
        match (&uri.location, &config.backend) {
            (Location::Local { path }, _) => (local_store(uri, path)?, Path::default(), false),
            // As in @lancedb/lancedb, each connection to `memory://` is its own
            // database; tables opened through one connection share its store.
            (Location::Memory { root }, _) => {
                (Arc::new(InMemory::new()), Path::from(root.as_str()), true)
            }
            (Location::S3 { bucket, prefix, .. }, BackendConfig::S3(c)) => (
                build_s3(bucket, c, &redactor).await?,
                Path::from(prefix.as_str()),
                true,
            ),
            (Location::Gcs { bucket, prefix }, BackendConfig::Gcs(c)) => (
                build_gcs(bucket, c, &redactor)?,
                Path::from(prefix.as_str()),
                true,
            ),
            (Location::Azure { container, prefix }, BackendConfig::Azure(c)) => {
                let store = build_azure(container, c, &redactor)?;
                // Over a SAS, deletes go blob by blob once a batch is refused.
                let store: Arc<dyn ObjectStore> =
                    match super::azure_delete::AzureSasDeleter::new(container, c) {
                        Some(d) => Arc::new(super::azure_delete::SasFallbackStore::new(store, d)),
                        None => store,
                    };
                (store, Path::from(prefix.as_str()), true)
            }
            _ => {
                return Err(Error::internal(format!(
                    "options resolved for {} used for {}",
                    opts.backend().name(),
                    uri.backend().name()
                )))
            }
        };
    Ok(StoreHandle {
        store,
        root,
        backend: uri.backend(),
        ordered_listing: ordered,
        upload: config.upload,
        column_cache_bytes: config.column_cache_bytes,
        display_uri: uri.raw.clone(),
        scope: super::cancel::CancelScope::new_connection(),
        local_dir: match &uri.location {
            Location::Local { path } => Some(normalise_local(path)),
            _ => None,
        },
        redactor,
    })
}

/// A local database is a directory that need not exist yet: reads of a
/// missing one find nothing, and the first write creates it (object_store
/// creates parent directories on put). Nothing is created at connect.
fn local_store(uri: &DbUri, path: &std::path::Path) -> Result<Arc<dyn ObjectStore>> {
    let dir = normalise_local(path);
    let prefix = Path::from_absolute_path(&dir).map_err(|e| Error::InvalidUri {
        uri: quote(&uri.raw),
        reason: format!("cannot use directory {}: {e}", dir.display()),
    })?;
    Ok(Arc::new(PrefixStore::new(LocalFileSystem::new(), prefix)))
}

/// The directory with `.` and `..` folded and the part that exists
/// canonicalised (symlinks resolved), as object_store's own prefix stores
/// do; the part that does not exist yet is kept as written.
fn normalise_local(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut lexical = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut missing = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return missing.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

/// object_store refuses plain-HTTP endpoints unless allow_http is set, with
/// a message that does not name the option. Say it up front instead.
fn require_allow_http(client: &ClientConfig, endpoint: Option<&Endpoint>, gcs: bool) -> Result<()> {
    match endpoint {
        Some(e) if e.url.starts_with("http://") && !client.allow_http => Err(Error::InvalidStorageOption {
            key: e.given_as.clone(),
            value: if gcs {
                format!("(GCS endpoint '{}')", quote(&e.url))
            } else {
                format!("'{}'", quote(&e.url))
            },
            reason: format!("the {}endpoint uses plain http:// but allow_http is not set; pass storageOptions {{ allowHttp: \"true\" }} (or ALLOW_HTTP=true) to allow non-TLS connections, or use https://", if gcs { "GCS " } else { "" }),
        }),
        _ => Ok(()),
    }
}

fn config_error(backend: &str, e: object_store::Error, redactor: &Redactor) -> Error {
    Error::InvalidArgument(format!(
        "Cannot configure the {backend} client: {}",
        redactor.redact(&e.to_string())
    ))
}

async fn build_s3(bucket: &str, c: &S3Config, redactor: &Redactor) -> Result<Arc<dyn ObjectStore>> {
    require_allow_http(&c.client, c.endpoint.as_ref(), false)?;
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_client_options(c.client.client_options())
        .with_retry(c.client.retry_config())
        .with_region(&c.region)
        .with_virtual_hosted_style_request(c.virtual_hosted_style)
        .with_conditional_put(c.conditional_put.to_object_store());
    if let Some(ep) = &c.endpoint {
        b = b.with_endpoint(&ep.url);
    }
    for (key, value) in &c.store_settings {
        b = b.with_config(*key, value.to_config_string());
    }
    b = match aws_credentials(c).await {
        Some(provider) => b.with_credentials(provider),
        None => b.with_skip_signature(true),
    };
    Ok(Arc::new(
        b.build().map_err(|e| config_error("S3", e, redactor))?,
    ))
}

fn build_gcs(bucket: &str, c: &GcsConfig, redactor: &Redactor) -> Result<Arc<dyn ObjectStore>> {
    require_allow_http(&c.client, c.base_url.as_ref(), true)?;
    let mut b = GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_client_options(c.client.client_options())
        .with_retry(c.client.retry_config());
    for (key, value) in &c.store_settings {
        b = b.with_config(*key, value.to_config_string());
    }
    if let Some(p) = &c.provided {
        b = b.with_credentials(ProvidedFor::<GcpCredential>::new(p.clone()));
    }
    Ok(Arc::new(
        b.build().map_err(|e| config_error("GCS", e, redactor))?,
    ))
}

fn build_azure(
    container: &str,
    c: &AzureConfig,
    redactor: &Redactor,
) -> Result<Arc<dyn ObjectStore>> {
    require_allow_http(&c.client, c.endpoint.as_ref(), false)?;
    if !c.has_account {
        return Err(Error::InvalidArgument(
            "Azure needs a storage account name: pass storageOptions { accountName } or set AZURE_STORAGE_ACCOUNT_NAME".into(),
        ));
    }
    let mut b = MicrosoftAzureBuilder::new()
        .with_container_name(container)
        .with_client_options(c.client.client_options())
        .with_retry(c.client.retry_config());
    for (key, value) in &c.store_settings {
        b = b.with_config(*key, value.to_config_string());
    }
    if let Some(p) = &c.provided {
        // object_store's emulator mode signs with its own key whatever
        // credentials are given; with an endpoint, Stowage leaves that mode.
        if c.store_settings
            .iter()
            .any(|(k, v)| *k == AzureConfigKey::UseEmulator && v.to_config_string() == "true")
        {
            return Err(Error::InvalidArgument(
                "a credentials provider function with azure_storage_use_emulator needs the emulator's endpoint: pass storageOptions { endpoint: \"http://127.0.0.1:10000/devstoreaccount1\" } (Azurite's address)".into(),
            ));
        }
        b = b.with_credentials(ProvidedFor::<AzureCredential>::new(p.clone()));
    }
    Ok(Arc::new(
        b.build().map_err(|e| config_error("Azure", e, redactor))?,
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::storage::options::{RawOption, RawValue};

    async fn s3_debug(uri: &str, pairs: &[(&str, &str)]) -> String {
        let uri = DbUri::parse(uri).unwrap();
        let raw: Vec<RawOption> = pairs
            .iter()
            .map(|(k, v)| RawOption::new(*k, RawValue::Str(v.to_string())))
            .collect();
        let opts = StorageOptions::resolve(
            uri.backend(),
            None,
            &raw,
            &BTreeMap::<String, String>::new(),
        )
        .unwrap();
        let Location::S3 { bucket, .. } = &uri.location else {
            panic!("not s3")
        };
        let c = opts.config().s3().unwrap();
        format!("{:?}", build_s3(bucket, c, &opts.redactor()).await.unwrap())
    }

    // S3 Express One Zone cannot be reached from here; what can be checked
    // is the client configuration the guide's example produces.
    #[tokio::test]
    async fn s3_express_bucket_suffix_and_option_configure_the_zonal_endpoint() {
        let keys = [
            ("awsAccessKeyId", "AKID"),
            ("awsSecretAccessKey", "secret-value-123"),
            ("region", "us-east-1"),
        ];
        let mut express = keys.to_vec();
        express.push(("s3Express", "true"));
        let dbg = s3_debug("s3://my-bucket--use1-az4--x-s3/path", &express).await;
        assert!(
            dbg.contains("s3express-use1-az4.us-east-1.amazonaws.com"),
            "{dbg}"
        );
        // Express buckets authenticate with CreateSession tokens.
        assert!(dbg.contains("session_provider: Some("), "{dbg}");
        assert!(!dbg.contains("secret-value-123"), "secret in Debug: {dbg}");
        // Without the option, the same bucket name is an ordinary bucket.
        let plain = s3_debug("s3://my-bucket--use1-az4--x-s3/path", &keys).await;
        assert!(!plain.contains("s3express-use1-az4"), "{plain}");
        assert!(plain.contains("session_provider: None"), "{plain}");
    }
}
