//! Builds the object_store client for a database URI from resolved options.
//! Builders start empty (`new()`, never `from_env()`): the environment tier
//! was already merged by the registry, so an explicit option always wins.

use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ClientConfigKey, ObjectStore, RetryConfig};

use super::credentials::{load_sdk_config, AwsChainProvider};
use super::options::StorageOptions;
use super::registry::{self as keys, Target};
use super::uri::{DbUri, Location};
use super::{StoreHandle, UploadSettings};
use crate::error::{Error, Result};

fn upload_settings(opts: &StorageOptions) -> UploadSettings {
    UploadSettings {
        part_size: opts
            .int(&keys::UPLOAD_PART_SIZE)
            .unwrap_or(8 << 20)
            .max(5 << 20) as usize,
        concurrency: opts.int(&keys::UPLOAD_CONCURRENCY).unwrap_or(8).max(1) as usize,
    }
}

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
            upload: upload_settings(opts),
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
    let upload = upload_settings(opts);
    let (store, root, ordered): (Arc<dyn ObjectStore>, Path, bool) = match &uri.location {
        Location::Local { path } => {
            tokio::fs::create_dir_all(path)
                .await
                .map_err(|e| Error::InvalidUri {
                    uri: uri.raw.clone(),
                    reason: format!("cannot create directory {}: {e}", path.display()),
                })?;
            let fs = LocalFileSystem::new_with_prefix(path).map_err(|e| Error::InvalidUri {
                uri: uri.raw.clone(),
                reason: format!("cannot open directory {}: {e}", path.display()),
            })?;
            (Arc::new(fs), Path::default(), false)
        }
        // As in @lancedb/lancedb, each connection to `memory://` is its own
        // database; tables opened through one connection share its store.
        Location::Memory { root } => (Arc::new(InMemory::new()), Path::from(root.as_str()), true),
        Location::S3 { bucket, prefix, .. } => (
            build_s3(bucket, opts).await?,
            Path::from(prefix.as_str()),
            true,
        ),
        Location::Gcs { bucket, prefix } => {
            (build_gcs(bucket, opts)?, Path::from(prefix.as_str()), true)
        }
        Location::Azure { container, prefix } => (
            build_azure(container, opts)?,
            Path::from(prefix.as_str()),
            true,
        ),
    };
    Ok(StoreHandle {
        store,
        root,
        backend: uri.backend(),
        ordered_listing: ordered,
        upload,
        display_uri: uri.raw.clone(),
        scope: super::cancel::CancelScope::new_connection(),
        local_dir: match &uri.location {
            Location::Local { path } => Some(path.clone()),
            _ => None,
        },
        redactor: opts.redactor(),
    })
}

fn retry_config(opts: &StorageOptions) -> RetryConfig {
    RetryConfig {
        max_retries: opts.int(&keys::CLIENT_MAX_RETRIES).unwrap_or(10) as usize,
        retry_timeout: opts
            .duration(&keys::CLIENT_RETRY_TIMEOUT)
            .unwrap_or(std::time::Duration::from_secs(180)),
        ..Default::default()
    }
}

/// object_store refuses plain-HTTP endpoints unless allow_http is set, with
/// a message that does not name the option. Say it up front instead.
fn require_allow_http(opts: &StorageOptions, endpoint_key: &'static keys::KeyDef) -> Result<()> {
    if let Some(ep) = opts.get(endpoint_key) {
        if let Some(url) = opts.text(endpoint_key) {
            if url.starts_with("http://") && opts.bool(&keys::ALLOW_HTTP) != Some(true) {
                return Err(Error::InvalidStorageOption {
                    key: ep.given_as.clone(),
                    value: format!("'{url}'"),
                    reason: "the endpoint uses plain http:// but allow_http is not set; pass storageOptions { allowHttp: \"true\" } (or ALLOW_HTTP=true) to allow non-TLS connections, or use https://".into(),
                });
            }
        }
    }
    Ok(())
}

fn config_error(backend: &str, e: object_store::Error, redact: &dyn Fn(&str) -> String) -> Error {
    Error::InvalidArgument(format!(
        "Cannot configure the {backend} client: {}",
        redact(&e.to_string())
    ))
}

async fn build_s3(bucket: &str, opts: &StorageOptions) -> Result<Arc<dyn ObjectStore>> {
    require_allow_http(opts, &keys::AWS_ENDPOINT)?;
    let redactor = opts.redactor();
    let redact = |s: &str| redactor.redact(s);
    let mut b = AmazonS3Builder::new().with_bucket_name(bucket);
    for (target, value) in opts.builder_pairs() {
        let key = match target {
            Target::S3(k) => k.parse::<AmazonS3ConfigKey>(),
            Target::Client(k) => k.parse::<ClientConfigKey>().map(AmazonS3ConfigKey::Client),
            _ => continue,
        }
        .map_err(|e| Error::internal(format!("registry target: {e}")))?;
        b = b.with_config(key, value);
    }
    b = b.with_retry(retry_config(opts));
    b = b.with_conditional_put(match opts.text(&keys::AWS_CONDITIONAL_PUT) {
        Some("disabled") => S3ConditionalPut::Disabled,
        _ => S3ConditionalPut::ETagMatch,
    });

    let has_key = opts.get(&keys::AWS_ACCESS_KEY_ID).is_some();
    let has_secret = opts.secret(&keys::AWS_SECRET_ACCESS_KEY).is_some();
    match (has_key, has_secret) {
        (true, false) => {
            return Err(Error::InvalidStorageOption {
                key: opts.get(&keys::AWS_ACCESS_KEY_ID).map(|r| r.given_as.clone()).unwrap_or_default(),
                value: "(set)".into(),
                reason: "aws_access_key_id is set but aws_secret_access_key is not; give both (awsAccessKeyId and awsSecretAccessKey)".into(),
            })
        }
        (false, true) => {
            return Err(Error::InvalidStorageOption {
                key: opts.get(&keys::AWS_SECRET_ACCESS_KEY).map(|r| r.given_as.clone()).unwrap_or_default(),
                value: "****".into(),
                reason: "aws_secret_access_key is set but aws_access_key_id is not; give both".into(),
            })
        }
        _ => {}
    }
    let region = opts.text(&keys::AWS_REGION);
    if !has_key && opts.bool(&keys::AWS_SKIP_SIGNATURE) != Some(true) {
        // No static keys: the full AWS chain (profiles, SSO, web identity...).
        let sdk = load_sdk_config(opts.text(&keys::AWS_PROFILE), region).await;
        if region.is_none() {
            if let Some(r) = sdk.region() {
                b = b.with_region(r.to_string());
            }
        }
        if let Some(provider) = sdk.credentials_provider() {
            b = b.with_credentials(Arc::new(AwsChainProvider::new(provider)));
        }
    }
    if region.is_none() && opts.text(&keys::AWS_ENDPOINT).is_none() {
        tracing::debug!("no region given for s3://{bucket}; object_store defaults to us-east-1");
    }
    Ok(Arc::new(
        b.build().map_err(|e| config_error("S3", e, &redact))?,
    ))
}

/// The GCS endpoint a configuration will use when it is not Google's:
/// `google_base_url`, or the `gcs_base_url` of the service account.
fn gcs_base_url(opts: &StorageOptions) -> Option<(String, String)> {
    if let (Some(r), Some(u)) = (
        opts.get(&keys::GOOGLE_BASE_URL),
        opts.text(&keys::GOOGLE_BASE_URL),
    ) {
        return Some((r.given_as.clone(), u.to_string()));
    }
    let from_json = |text: &str| -> Option<String> {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()?
            .get("gcs_base_url")?
            .as_str()
            .map(str::to_string)
    };
    if let (Some(r), Some(path)) = (
        opts.get(&keys::GOOGLE_SERVICE_ACCOUNT),
        opts.text(&keys::GOOGLE_SERVICE_ACCOUNT),
    ) {
        if let Some(u) = std::fs::read_to_string(path)
            .ok()
            .as_deref()
            .and_then(from_json)
        {
            return Some((r.given_as.clone(), u));
        }
    }
    if let (Some(r), Some(key)) = (
        opts.get(&keys::GOOGLE_SERVICE_ACCOUNT_KEY),
        opts.secret(&keys::GOOGLE_SERVICE_ACCOUNT_KEY),
    ) {
        if let Some(u) = from_json(key.expose()) {
            return Some((r.given_as.clone(), u));
        }
    }
    None
}

fn build_gcs(bucket: &str, opts: &StorageOptions) -> Result<Arc<dyn ObjectStore>> {
    if let Some((given, url)) = gcs_base_url(opts) {
        if url.starts_with("http://") && opts.bool(&keys::ALLOW_HTTP) != Some(true) {
            return Err(Error::InvalidStorageOption {
                key: given,
                value: format!("(GCS endpoint '{url}')"),
                reason: "the GCS endpoint uses plain http:// but allow_http is not set; pass storageOptions { allowHttp: \"true\" } (or ALLOW_HTTP=true) to allow non-TLS connections, or use https://".into(),
            });
        }
    }
    let redactor = opts.redactor();
    let redact = |s: &str| redactor.redact(s);
    let mut b = GoogleCloudStorageBuilder::new().with_bucket_name(bucket);
    for (target, value) in opts.builder_pairs() {
        let key = match target {
            Target::Gcs(k) => k.parse::<GoogleConfigKey>(),
            Target::Client(k) => k.parse::<ClientConfigKey>().map(GoogleConfigKey::Client),
            _ => continue,
        }
        .map_err(|e| Error::internal(format!("registry target: {e}")))?;
        b = b.with_config(key, value);
    }
    for path_key in [
        &keys::GOOGLE_SERVICE_ACCOUNT,
        &keys::GOOGLE_APPLICATION_CREDENTIALS,
    ] {
        if let (Some(r), Some(p)) = (opts.get(path_key), opts.text(path_key)) {
            if !std::path::Path::new(p).is_file() {
                return Err(Error::InvalidStorageOption {
                    key: r.given_as.clone(),
                    value: format!("'{p}'"),
                    reason: "no such file; give the path of the service account JSON file".into(),
                });
            }
        }
    }
    b = b.with_retry(retry_config(opts));
    Ok(Arc::new(
        b.build().map_err(|e| config_error("GCS", e, &redact))?,
    ))
}

/// Azurite's documented development account (public, not a secret).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn build_azure(container: &str, opts: &StorageOptions) -> Result<Arc<dyn ObjectStore>> {
    require_allow_http(opts, &keys::AZURE_ENDPOINT)?;
    let redactor = opts.redactor();
    let redact = |s: &str| redactor.redact(s);
    if opts.get(&keys::AZURE_STORAGE_ACCOUNT_NAME).is_none()
        && opts.bool(&keys::AZURE_STORAGE_USE_EMULATOR) != Some(true)
    {
        return Err(Error::InvalidArgument(
            "Azure needs a storage account name: pass storageOptions { accountName } or set AZURE_STORAGE_ACCOUNT_NAME".into(),
        ));
    }
    let mut b = MicrosoftAzureBuilder::new().with_container_name(container);
    // object_store's emulator mode ignores an explicit endpoint (it reads
    // AZURITE_BLOB_STORAGE_URL); with an endpoint given, talk to it with the
    // emulator's well-known account instead.
    let emulator_at_endpoint = opts.bool(&keys::AZURE_STORAGE_USE_EMULATOR) == Some(true)
        && opts.text(&keys::AZURE_ENDPOINT).is_some();
    if emulator_at_endpoint {
        if opts.get(&keys::AZURE_STORAGE_ACCOUNT_NAME).is_none() {
            b = b.with_account(AZURITE_ACCOUNT);
        }
        let has_credential = [
            &keys::AZURE_STORAGE_ACCOUNT_KEY,
            &keys::AZURE_STORAGE_SAS_KEY,
            &keys::AZURE_STORAGE_TOKEN,
        ]
        .iter()
        .any(|k| opts.get(k).is_some());
        if !has_credential {
            b = b.with_access_key(AZURITE_KEY);
        }
    }
    for (target, value) in opts.builder_pairs() {
        if emulator_at_endpoint && target == Target::Azure("azure_storage_use_emulator") {
            continue;
        }
        let key = match target {
            Target::Azure(k) => k.parse::<AzureConfigKey>(),
            Target::Client(k) => k.parse::<ClientConfigKey>().map(AzureConfigKey::Client),
            _ => continue,
        }
        .map_err(|e| Error::internal(format!("registry target: {e}")))?;
        b = b.with_config(key, value);
    }
    b = b.with_retry(retry_config(opts));
    Ok(Arc::new(
        b.build().map_err(|e| config_error("Azure", e, &redact))?,
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
        format!("{:?}", build_s3(bucket, &opts).await.unwrap())
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
