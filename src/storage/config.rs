//! The typed storage configuration, made once from the resolved options:
//! enums, durations, sizes and a credentials choice per backend. Client
//! builders, the multipart cleanup and the DynamoDB commit store read these
//! fields; no option string is parsed after this point, and every check that
//! names an option (pairs that must come together, plain-http endpoints,
//! missing files) happens here, while the user's spelling is known.

use std::time::Duration;

use object_store::aws::{AmazonS3ConfigKey, S3ConditionalPut};
use object_store::azure::AzureConfigKey;
use object_store::gcp::GoogleConfigKey;
use object_store::{ClientConfigKey, ClientOptions, RetryConfig};

use super::options::{ResolvedSet, Value};
use super::registry::{self as keys, Backend, KeyDef, Target};
use super::secret::{Secret, MASK};
use crate::error::quote;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub upload: UploadSettings,
    /// Bytes of decoded columns the tables may keep (0: no cache).
    pub column_cache_bytes: usize,
    pub backend: BackendConfig,
}

/// How large uploads are cut into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadSettings {
    pub part_size: usize,
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub enum BackendConfig {
    Local,
    Memory,
    S3(S3Config),
    Gcs(GcsConfig),
    Azure(AzureConfig),
}

/// The HTTP client every cloud backend shares.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    pub allow_http: bool,
    pub allow_invalid_certificates: bool,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub user_agent: Option<String>,
    pub proxy_url: Option<String>,
    pub proxy_ca_certificate: Option<String>,
    pub proxy_excludes: Option<String>,
    pub http_version: HttpVersion,
    pub pool_idle_timeout: Option<Duration>,
    pub pool_max_idle_per_host: Option<usize>,
    pub retry: RetryPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    Http1Only,
    Http2Only,
    /// Negotiated per connection (`http1_only: false`).
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub retry_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct S3Config {
    pub client: ClientConfig,
    pub region: String,
    pub endpoint: Option<Endpoint>,
    pub credentials: AwsCredentials,
    pub conditional_put: ConditionalPut,
    pub virtual_hosted_style: bool,
    /// For the s3+ddb commit store; the S3 endpoint when unset.
    pub dynamodb_endpoint: Option<String>,
    /// What object_store reads and Stowage does not (encryption, checksums,
    /// tagging, S3 Express...), under object_store's own keys.
    pub store_settings: Vec<(AmazonS3ConfigKey, Value)>,
}

/// Where the keys that sign AWS requests come from.
#[derive(Debug, Clone, PartialEq)]
pub enum AwsCredentials {
    Static {
        key_id: String,
        secret: Secret,
        token: Option<Secret>,
    },
    /// The aws-config chain (environment, shared files, SSO, web identity,
    /// ECS, IMDS) with its default profile.
    Chain,
    /// The chain with a named profile (`aws_profile` / `AWS_PROFILE`).
    Profile(String),
    /// `aws_skip_signature`: requests go unsigned.
    Unsigned,
    /// The application's provider function (`connect(uri, { credentials })`).
    Provided(super::credentials::ProvidedCredentials),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionalPut {
    /// `If-None-Match: *` on every commit.
    Enabled,
    /// Check, then put: one writer only.
    Disabled,
}

impl ConditionalPut {
    pub fn to_object_store(self) -> S3ConditionalPut {
        match self {
            ConditionalPut::Enabled => S3ConditionalPut::ETagMatch,
            ConditionalPut::Disabled => S3ConditionalPut::Disabled,
        }
    }
}

impl S3Config {
    /// The DynamoDB endpoint: its own, else the S3 one.
    pub fn dynamodb_endpoint(&self) -> Option<&str> {
        self.dynamodb_endpoint
            .as_deref()
            .or(self.endpoint.as_ref().map(|e| e.url.as_str()))
    }
}

#[derive(Debug, Clone)]
pub struct GcsConfig {
    pub client: ClientConfig,
    /// Where requests go when not to Google: `google_base_url`, or the
    /// service account's `gcs_base_url`.
    pub base_url: Option<Endpoint>,
    pub store_settings: Vec<(GoogleConfigKey, Value)>,
    /// The application's provider function (`connect(uri, { credentials })`).
    pub provided: Option<super::credentials::ProvidedCredentials>,
}

#[derive(Debug, Clone)]
pub struct AzureConfig {
    pub client: ClientConfig,
    /// Also among the store settings; here for the plain-http check.
    pub endpoint: Option<Endpoint>,
    /// An account name is given, or the emulator's is used.
    pub has_account: bool,
    /// Emulator defaults (Azurite's account and key) already filled in.
    pub store_settings: Vec<(AzureConfigKey, Value)>,
    /// The application's provider function (`connect(uri, { credentials })`).
    pub provided: Option<super::credentials::ProvidedCredentials>,
}

/// Azurite's documented development account (public, not a secret).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A value every row with a registry default has; missing only if the
/// registry lost the default, which `defaults_parse_and_are_reported` checks.
fn defaulted<T>(v: Option<T>, def: &KeyDef) -> T {
    v.unwrap_or_else(|| panic!("registry default of {} (tested)", def.name))
}

fn given_as(set: ResolvedSet<'_>, def: &'static KeyDef) -> String {
    set.get(def)
        .map(|r| quote(&r.given_as))
        .unwrap_or_else(|| def.name.to_string())
}

impl StorageConfig {
    pub fn from_resolved(set: ResolvedSet<'_>) -> Result<Self> {
        let upload = UploadSettings {
            part_size: usize::try_from(defaulted(
                set.int(&keys::UPLOAD_PART_SIZE),
                &keys::UPLOAD_PART_SIZE,
            ))
            .unwrap_or(usize::MAX),
            concurrency: defaulted(
                set.int(&keys::UPLOAD_CONCURRENCY),
                &keys::UPLOAD_CONCURRENCY,
            ) as usize,
        };
        let backend = match set.backend {
            Backend::Local => BackendConfig::Local,
            Backend::Memory => BackendConfig::Memory,
            Backend::S3 => BackendConfig::S3(s3(set)?),
            Backend::Gcs => BackendConfig::Gcs(gcs(set)?),
            Backend::Azure => BackendConfig::Azure(azure(set)?),
        };
        let column_cache_bytes = usize::try_from(defaulted(
            set.int(&keys::COLUMN_CACHE_SIZE),
            &keys::COLUMN_CACHE_SIZE,
        ))
        .unwrap_or(usize::MAX);
        Ok(StorageConfig {
            upload,
            column_cache_bytes,
            backend,
        })
    }

    pub fn s3(&self) -> Option<&S3Config> {
        match &self.backend {
            BackendConfig::S3(c) => Some(c),
            _ => None,
        }
    }
}

impl ClientConfig {
    fn from_resolved(set: ResolvedSet<'_>) -> Result<Self> {
        let http_version = match (set.flag(&keys::HTTP1_ONLY), set.flag(&keys::HTTP2_ONLY)) {
            (true, true)
                if set
                    .get(&keys::HTTP1_ONLY)
                    .is_some_and(|r| r.source != super::Source::Default) =>
            {
                return Err(Error::InvalidStorageOption {
                    key: given_as(set, &keys::HTTP2_ONLY),
                    value: "true".into(),
                    reason: format!(
                        "http2_only and http1_only ('{}') are both true; set one",
                        given_as(set, &keys::HTTP1_ONLY)
                    ),
                })
            }
            // http2_only given, http1_only at its default: the explicit one wins.
            (_, true) => HttpVersion::Http2Only,
            (true, false) => HttpVersion::Http1Only,
            (false, false) => HttpVersion::Any,
        };
        Ok(ClientConfig {
            allow_http: set.flag(&keys::ALLOW_HTTP),
            allow_invalid_certificates: set.flag(&keys::ALLOW_INVALID_CERTIFICATES),
            connect_timeout: defaulted(
                set.duration(&keys::CONNECT_TIMEOUT),
                &keys::CONNECT_TIMEOUT,
            ),
            timeout: defaulted(set.duration(&keys::TIMEOUT), &keys::TIMEOUT),
            user_agent: set.text(&keys::USER_AGENT).map(str::to_string),
            proxy_url: set.text(&keys::PROXY_URL).map(str::to_string),
            proxy_ca_certificate: set.text(&keys::PROXY_CA_CERTIFICATE).map(str::to_string),
            proxy_excludes: set.text(&keys::PROXY_EXCLUDES).map(str::to_string),
            http_version,
            pool_idle_timeout: set.duration(&keys::POOL_IDLE_TIMEOUT),
            // In range (at most 10,000) by the registry.
            pool_max_idle_per_host: set.int(&keys::POOL_MAX_IDLE_PER_HOST).map(|n| n as usize),
            retry: RetryPolicy {
                max_retries: defaulted(
                    set.int(&keys::CLIENT_MAX_RETRIES),
                    &keys::CLIENT_MAX_RETRIES,
                ) as usize,
                retry_timeout: defaulted(
                    set.duration(&keys::CLIENT_RETRY_TIMEOUT),
                    &keys::CLIENT_RETRY_TIMEOUT,
                ),
            },
        })
    }

    /// object_store's client options, through its typed setters.
    pub fn client_options(&self) -> ClientOptions {
        let mut o = ClientOptions::new()
            .with_allow_http(self.allow_http)
            .with_allow_invalid_certificates(self.allow_invalid_certificates)
            .with_connect_timeout(self.connect_timeout)
            .with_timeout(self.timeout);
        o = match self.http_version {
            HttpVersion::Http1Only => o.with_http1_only(),
            HttpVersion::Http2Only => o.with_http2_only(),
            HttpVersion::Any => o.with_allow_http2(),
        };
        if let Some(ua) = &self.user_agent {
            // The one setter that takes a parsed header; object_store
            // checks the text when the client is built.
            o = o.with_config(ClientConfigKey::UserAgent, ua);
        }
        if let Some(p) = &self.proxy_url {
            o = o.with_proxy_url(p);
        }
        if let Some(p) = &self.proxy_ca_certificate {
            o = o.with_proxy_ca_certificate(p);
        }
        if let Some(p) = &self.proxy_excludes {
            o = o.with_proxy_excludes(p);
        }
        if let Some(t) = self.pool_idle_timeout {
            o = o.with_pool_idle_timeout(t);
        }
        if let Some(n) = self.pool_max_idle_per_host {
            o = o.with_pool_max_idle_per_host(n);
        }
        o
    }

    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig {
            max_retries: self.retry.max_retries,
            retry_timeout: self.retry.retry_timeout,
            ..Default::default()
        }
    }
}

/// An endpoint URL and the spelling it came through, so a check at build
/// time (plain http:// without allow_http) can name the option.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub url: String,
    pub given_as: String,
}

fn endpoint(set: ResolvedSet<'_>, def: &'static KeyDef) -> Option<Endpoint> {
    set.text(def).map(|url| Endpoint {
        url: url.to_string(),
        given_as: given_as(set, def),
    })
}

/// Keys Stowage reads itself; the other S3 rows go to object_store as set.
const S3_INTERPRETED: [&KeyDef; 8] = [
    &keys::AWS_ACCESS_KEY_ID,
    &keys::AWS_SECRET_ACCESS_KEY,
    &keys::AWS_SESSION_TOKEN,
    &keys::AWS_REGION,
    &keys::AWS_ENDPOINT,
    &keys::AWS_VIRTUAL_HOSTED_STYLE_REQUEST,
    &keys::AWS_SKIP_SIGNATURE,
    &keys::AWS_CONDITIONAL_PUT,
];

fn s3(set: ResolvedSet<'_>) -> Result<S3Config> {
    let client = ClientConfig::from_resolved(set)?;
    let endpoint = endpoint(set, &keys::AWS_ENDPOINT);
    let credentials = aws_credentials(set)?;
    let conditional_put = match set.text(&keys::AWS_CONDITIONAL_PUT) {
        Some("disabled") => ConditionalPut::Disabled,
        // The registry's enum allows "etag" and "disabled" only.
        _ => ConditionalPut::Enabled,
    };
    let store_settings = set
        .iter()
        .filter(|r| !S3_INTERPRETED.iter().any(|d| std::ptr::eq(*d, r.def)))
        .filter_map(|r| r.def.target.s3_key().map(|k| (k, r.value.clone())))
        .collect();
    Ok(S3Config {
        client,
        region: defaulted(set.text(&keys::AWS_REGION), &keys::AWS_REGION).to_string(),
        endpoint,
        credentials,
        conditional_put,
        virtual_hosted_style: set.flag(&keys::AWS_VIRTUAL_HOSTED_STYLE_REQUEST),
        dynamodb_endpoint: set.text(&keys::DYNAMODB_ENDPOINT).map(str::to_string),
        store_settings,
    })
}

fn aws_credentials(set: ResolvedSet<'_>) -> Result<AwsCredentials> {
    let key_id = set.text(&keys::AWS_ACCESS_KEY_ID);
    let secret = set.secret(&keys::AWS_SECRET_ACCESS_KEY);
    let token = set.secret(&keys::AWS_SESSION_TOKEN);
    match (key_id, secret) {
        (Some(key_id), Some(secret)) => {
            return Ok(AwsCredentials::Static {
                key_id: key_id.to_string(),
                secret: secret.clone(),
                token: token.cloned(),
            })
        }
        (Some(_), None) => {
            return Err(Error::InvalidStorageOption {
                key: given_as(set, &keys::AWS_ACCESS_KEY_ID),
                value: "(set)".into(),
                reason: "aws_access_key_id is set but aws_secret_access_key is not; give both (awsAccessKeyId and awsSecretAccessKey)".into(),
            })
        }
        (None, Some(_)) => {
            return Err(Error::InvalidStorageOption {
                key: given_as(set, &keys::AWS_SECRET_ACCESS_KEY),
                value: MASK.into(),
                reason: "aws_secret_access_key is set but aws_access_key_id is not; give both"
                    .into(),
            })
        }
        (None, None) => {}
    }
    if token.is_some() {
        return Err(Error::InvalidStorageOption {
            key: given_as(set, &keys::AWS_SESSION_TOKEN),
            value: MASK.into(),
            reason: "a session token needs aws_access_key_id and aws_secret_access_key beside it; give all three, or none to use the AWS credential chain".into(),
        });
    }
    if set.flag(&keys::AWS_SKIP_SIGNATURE) {
        return Ok(AwsCredentials::Unsigned);
    }
    Ok(match set.text(&keys::AWS_PROFILE) {
        Some(p) => AwsCredentials::Profile(p.to_string()),
        None => AwsCredentials::Chain,
    })
}

fn gcs(set: ResolvedSet<'_>) -> Result<GcsConfig> {
    let client = ClientConfig::from_resolved(set)?;
    for path_key in [
        &keys::GOOGLE_SERVICE_ACCOUNT,
        &keys::GOOGLE_APPLICATION_CREDENTIALS,
    ] {
        if let Some(p) = set.text(path_key) {
            if !std::path::Path::new(p).is_file() {
                return Err(Error::InvalidStorageOption {
                    key: given_as(set, path_key),
                    value: format!("'{}'", quote(p)),
                    reason: "no such file; give the path of the service account JSON file".into(),
                });
            }
        }
    }
    let store_settings = set
        .iter()
        .filter_map(|r| match r.def.target {
            Target::Gcs(k) => Some((k, r.value.clone())),
            _ => None,
        })
        .collect();
    Ok(GcsConfig {
        client,
        base_url: gcs_base_url(set),
        store_settings,
        provided: None,
    })
}

/// The GCS endpoint a configuration will use when it is not Google's:
/// `google_base_url`, or the `gcs_base_url` of the service account.
fn gcs_base_url(set: ResolvedSet<'_>) -> Option<Endpoint> {
    if let Some(e) = endpoint(set, &keys::GOOGLE_BASE_URL) {
        return Some(e);
    }
    let from_json = |text: &str| -> Option<String> {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()?
            .get("gcs_base_url")?
            .as_str()
            .map(str::to_string)
    };
    if let Some(path) = set.text(&keys::GOOGLE_SERVICE_ACCOUNT) {
        if let Some(u) = std::fs::read_to_string(path)
            .ok()
            .as_deref()
            .and_then(from_json)
        {
            return Some(Endpoint {
                url: u,
                given_as: given_as(set, &keys::GOOGLE_SERVICE_ACCOUNT),
            });
        }
    }
    if let Some(key) = set.secret(&keys::GOOGLE_SERVICE_ACCOUNT_KEY) {
        if let Some(u) = from_json(key.expose()) {
            return Some(Endpoint {
                url: u,
                given_as: given_as(set, &keys::GOOGLE_SERVICE_ACCOUNT_KEY),
            });
        }
    }
    None
}

fn azure(set: ResolvedSet<'_>) -> Result<AzureConfig> {
    let client = ClientConfig::from_resolved(set)?;
    let emulator = set.flag(&keys::AZURE_STORAGE_USE_EMULATOR);
    let has_account = set.get(&keys::AZURE_STORAGE_ACCOUNT_NAME).is_some();
    let mut store_settings: Vec<(AzureConfigKey, Value)> = Vec::new();
    // object_store's emulator mode ignores an explicit endpoint (it reads
    // AZURITE_BLOB_STORAGE_URL); with an endpoint given, talk to it with the
    // emulator's well-known account instead.
    let emulator_at_endpoint = emulator && set.get(&keys::AZURE_ENDPOINT).is_some();
    if emulator_at_endpoint {
        if !has_account {
            store_settings.push((
                AzureConfigKey::AccountName,
                Value::Text(AZURITE_ACCOUNT.into()),
            ));
        }
        let has_credential = [
            &keys::AZURE_STORAGE_ACCOUNT_KEY,
            &keys::AZURE_STORAGE_SAS_KEY,
            &keys::AZURE_STORAGE_TOKEN,
        ]
        .iter()
        .any(|k| set.get(k).is_some());
        if !has_credential {
            store_settings.push((
                AzureConfigKey::AccessKey,
                Value::Secret(Secret::new(AZURITE_KEY)),
            ));
        }
    }
    store_settings.extend(set.iter().filter_map(|r| match r.def.target {
        Target::Azure(AzureConfigKey::UseEmulator) if emulator_at_endpoint => None,
        Target::Azure(k) => Some((k, r.value.clone())),
        _ => None,
    }));
    Ok(AzureConfig {
        client,
        endpoint: endpoint(set, &keys::AZURE_ENDPOINT),
        has_account: has_account || emulator,
        store_settings,
        provided: None,
    })
}
