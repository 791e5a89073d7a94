//! The storage option registry: one row per key. Parsing, validation, the
//! effective-configuration report, the TypeScript option type and the docs
//! all derive from these rows; no other code compares option names.

/// Where a table's bytes live, as chosen by the URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Local,
    Memory,
    S3,
    Gcs,
    Azure,
}

impl Backend {
    /// A local directory or `memory://`: reads stay in the process (no
    /// requests, nothing worth coalescing), unlike the object stores.
    pub fn is_in_process(self) -> bool {
        matches!(self, Backend::Local | Backend::Memory)
    }

    /// Every backend, for checks that must hold on each.
    pub const ALL: [Backend; 5] = [
        Backend::Local,
        Backend::Memory,
        Backend::S3,
        Backend::Gcs,
        Backend::Azure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Memory => "memory",
            Backend::S3 => "s3",
            Backend::Gcs => "gcs",
            Backend::Azure => "azure",
        }
    }
}

use object_store::aws::AmazonS3ConfigKey;
use object_store::azure::AzureConfigKey;
use object_store::gcp::GoogleConfigKey;
use object_store::ClientConfigKey;

/// The shape of a value and how it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// A duration with a unit, e.g. `30s`, `500ms`, `2 min`.
    Duration,
    /// Like `Duration`, but a bare number means seconds (LanceDB compatibility).
    DurationSecs,
    /// A non-negative integer.
    Int,
    /// A byte size: `5MiB`, `8MB`, or a plain number of bytes.
    Size,
    /// One of a fixed set of values (matched case-insensitively).
    Enum(&'static [&'static str]),
    /// An http(s) URL.
    Url,
    /// A path on the local file system.
    Path,
    /// One or more PEM certificates.
    Pem,
    Str,
}

/// Which object_store configuration key, if any, receives the value: the
/// store's own key enums, so no key name is parsed after the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Shared by every HTTP backend.
    Client(ClientConfigKey),
    S3(AmazonS3ConfigKey),
    /// An S3 encryption key. object_store's enum for these is private, so
    /// the row holds its canonical name; `s3_key` turns it into the public
    /// `AmazonS3ConfigKey` (a test checks every row).
    S3Encryption(&'static str),
    Gcs(GoogleConfigKey),
    Azure(AzureConfigKey),
    /// Read by Stowage itself (retries, commit store, credentials chain...).
    Stowage,
}

impl Target {
    /// The object_store S3 key of an S3 row.
    pub fn s3_key(self) -> Option<AmazonS3ConfigKey> {
        match self {
            Target::S3(k) => Some(k),
            Target::S3Encryption(name) => name.parse().ok(),
            _ => None,
        }
    }
}

/// The inclusive range a number must fall in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: u64,
    pub max: u64,
}

#[derive(Debug)]
pub struct KeyDef {
    /// Canonical snake_case name, as in the guide.
    pub name: &'static str,
    /// Further accepted spellings (snake_case). The name without its
    /// `aws_`/`google_`/`azure_` prefix is always accepted as well.
    pub aliases: &'static [&'static str],
    /// Environment variables, in priority order.
    pub env: &'static [&'static str],
    pub backends: &'static [Backend],
    pub kind: Kind,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub target: Target,
    /// For integers and sizes: the values accepted; anything outside is an
    /// error, never clamped.
    pub range: Option<Range>,
    pub doc: &'static str,
}

const PREFIXES: [&str; 3] = ["aws_", "google_", "azure_"];

impl KeyDef {
    /// Every snake_case spelling that names this key.
    pub fn spellings(&self) -> impl Iterator<Item = &'static str> + '_ {
        let unprefixed = PREFIXES.iter().find_map(|p| self.name.strip_prefix(p));
        std::iter::once(self.name)
            .chain(unprefixed)
            .chain(self.aliases.iter().copied())
    }

    pub fn applies_to(&self, backend: Backend) -> bool {
        self.backends.contains(&backend)
    }

    /// A setting of the HTTP client every cloud backend shares (timeouts,
    /// retries, proxy): reported, as not applying, when given on a local or
    /// memory database.
    pub fn is_general_client(&self) -> bool {
        self.backends == HTTP
    }
}

use Backend::*;

const HTTP: &[Backend] = &[S3, Gcs, Azure];
const ALL: &[Backend] = &[Local, Memory, S3, Gcs, Azure];
const AWS: &[Backend] = &[S3];
const GCP: &[Backend] = &[Gcs];
const AZ: &[Backend] = &[Azure];

pub const SSE_ALGORITHMS: &[&str] = &["AES256", "aws:kms", "aws:kms:dsse"];
pub const KMS_ALGORITHMS: &[&str] = &["aws:kms", "aws:kms:dsse"];
/// Environment variables whose plain numbers mean MiB, not bytes.
pub const MIB_ENV: &[&str] = &["STOWAGE_CACHE_MB"];
pub const CONDITIONAL_PUT_MODES: &[&str] = &["etag", "disabled"];

macro_rules! key {
    ($ident:ident, $name:literal, aliases: $aliases:expr, env: $env:expr, backends: $b:expr,
     kind: $kind:expr, default: $default:expr, secret: $secret:expr, target: $target:expr, doc: $doc:literal) => {
        key!($ident, $name, aliases: $aliases, env: $env, backends: $b, kind: $kind, default: $default,
             secret: $secret, target: $target, range: None, doc: $doc);
    };
    ($ident:ident, $name:literal, aliases: $aliases:expr, env: $env:expr, backends: $b:expr,
     kind: $kind:expr, default: $default:expr, secret: $secret:expr, target: $target:expr, range: $range:expr, doc: $doc:literal) => {
        pub static $ident: KeyDef = KeyDef {
            name: $name,
            aliases: $aliases,
            env: $env,
            backends: $b,
            kind: $kind,
            default: $default,
            secret: $secret,
            target: $target,
            range: $range,
            doc: $doc,
        };
    };
}

// ---- General client configuration (every HTTP backend) ----
key!(ALLOW_HTTP, "allow_http", aliases: &["aws_allow_http", "azure_allow_http", "google_allow_http"], env: &["ALLOW_HTTP", "AWS_ALLOW_HTTP", "AZURE_ALLOW_HTTP", "GOOGLE_ALLOW_HTTP"], backends: HTTP,
     kind: Kind::Bool, default: Some("false"), secret: false, target: Target::Client(ClientConfigKey::AllowHttp),
     doc: "Allow non-TLS, i.e. non-HTTPS connections.");
key!(ALLOW_INVALID_CERTIFICATES, "allow_invalid_certificates", aliases: &[], env: &["ALLOW_INVALID_CERTIFICATES", "AWS_ALLOW_INVALID_CERTIFICATES"], backends: HTTP,
     kind: Kind::Bool, default: Some("false"), secret: false, target: Target::Client(ClientConfigKey::AllowInvalidCertificates),
     doc: "Skip certificate validation on HTTPS connections.");
key!(CONNECT_TIMEOUT, "connect_timeout", aliases: &[], env: &["CONNECT_TIMEOUT"], backends: HTTP,
     kind: Kind::Duration, default: Some("5s"), secret: false, target: Target::Client(ClientConfigKey::ConnectTimeout),
     doc: "Timeout for only the connect phase of a request.");
key!(TIMEOUT, "timeout", aliases: &[], env: &["TIMEOUT"], backends: HTTP,
     kind: Kind::Duration, default: Some("30s"), secret: false, target: Target::Client(ClientConfigKey::Timeout),
     doc: "Timeout for the entire request, from connection until the response body has finished.");
key!(USER_AGENT, "user_agent", aliases: &[], env: &["USER_AGENT"], backends: HTTP,
     kind: Kind::Str, default: None, secret: false, target: Target::Client(ClientConfigKey::UserAgent),
     doc: "User agent string to use in requests.");
key!(PROXY_URL, "proxy_url", aliases: &[], env: &["PROXY_URL"], backends: HTTP,
     kind: Kind::Url, default: None, secret: false, target: Target::Client(ClientConfigKey::ProxyUrl),
     doc: "URL of a proxy server to use for requests.");
key!(PROXY_CA_CERTIFICATE, "proxy_ca_certificate", aliases: &[], env: &["PROXY_CA_CERTIFICATE"], backends: HTTP,
     kind: Kind::Pem, default: None, secret: false, target: Target::Client(ClientConfigKey::ProxyCaCertificate),
     doc: "PEM-formatted CA certificate for proxy connections.");
key!(PROXY_EXCLUDES, "proxy_excludes", aliases: &[], env: &["PROXY_EXCLUDES"], backends: HTTP,
     kind: Kind::Str, default: None, secret: false, target: Target::Client(ClientConfigKey::ProxyExcludes),
     doc: "Comma-separated hosts and IP masks that bypass the proxy.");
key!(HTTP1_ONLY, "http1_only", aliases: &[], env: &["HTTP1_ONLY"], backends: HTTP,
     kind: Kind::Bool, default: Some("true"), secret: false, target: Target::Client(ClientConfigKey::Http1Only),
     doc: "Only use HTTP/1 (the default; faster for bulk transfer). Set false to allow HTTP/2.");
key!(HTTP2_ONLY, "http2_only", aliases: &[], env: &["HTTP2_ONLY"], backends: HTTP,
     kind: Kind::Bool, default: Some("false"), secret: false, target: Target::Client(ClientConfigKey::Http2Only),
     doc: "Only use HTTP/2.");
key!(POOL_IDLE_TIMEOUT, "pool_idle_timeout", aliases: &[], env: &["POOL_IDLE_TIMEOUT"], backends: HTTP,
     kind: Kind::Duration, default: None, secret: false, target: Target::Client(ClientConfigKey::PoolIdleTimeout),
     doc: "How long an idle pooled connection is kept.");
key!(POOL_MAX_IDLE_PER_HOST, "pool_max_idle_per_host", aliases: &[], env: &["POOL_MAX_IDLE_PER_HOST"], backends: HTTP,
     kind: Kind::Int, default: None, secret: false, target: Target::Client(ClientConfigKey::PoolMaxIdlePerHost),
     range: Some(Range { min: 0, max: 10_000 }),
     doc: "Maximum idle pooled connections per host.");
key!(CLIENT_MAX_RETRIES, "client_max_retries", aliases: &["max_retries"], env: &["CLIENT_MAX_RETRIES"], backends: HTTP,
     kind: Kind::Int, default: Some("10"), secret: false, target: Target::Stowage,
     range: Some(Range { min: 0, max: 100 }),
     doc: "How many times a failed request (5xx, timeout, reset) is retried.");
key!(CLIENT_RETRY_TIMEOUT, "client_retry_timeout", aliases: &["retry_timeout"], env: &["CLIENT_RETRY_TIMEOUT"], backends: HTTP,
     kind: Kind::DurationSecs, default: Some("180s"), secret: false, target: Target::Stowage,
     doc: "Total time budget for retrying one request (a bare number means seconds).");
key!(UPLOAD_PART_SIZE, "upload_part_size", aliases: &["multipart_part_size"], env: &["STOWAGE_UPLOAD_PART_SIZE"], backends: ALL,
     kind: Kind::Size, default: Some("8MiB"), secret: false, target: Target::Stowage,
     range: Some(Range { min: 5 << 20, max: 5 << 30 }),
     doc: "Part size of multipart uploads of data files (5 MiB to 5 GiB, as S3 requires).");
key!(UPLOAD_CONCURRENCY, "upload_concurrency", aliases: &["multipart_concurrency"], env: &["STOWAGE_UPLOAD_CONCURRENCY"], backends: ALL,
     kind: Kind::Int, default: Some("8"), secret: false, target: Target::Stowage,
     range: Some(Range { min: 1, max: 256 }),
     doc: "How many parts of one multipart upload are in flight at once.");

// ---- AWS S3 ----
key!(COLUMN_CACHE_SIZE, "column_cache_size", aliases: &["cache_size"], env: &["STOWAGE_CACHE_SIZE", "STOWAGE_CACHE_MB"], backends: ALL,
     kind: Kind::Size, default: Some("512MiB"), secret: false, target: Target::Stowage,
     range: Some(Range { min: 0, max: 1 << 40 }),
     doc: "Memory for decoded columns of data files, shared by the tables of every connection with the same size; 0 disables it. STOWAGE_CACHE_MB is read in MiB.");
key!(AWS_ACCESS_KEY_ID, "aws_access_key_id", aliases: &[], env: &["AWS_ACCESS_KEY_ID"], backends: AWS,
     kind: Kind::Str, default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::AccessKeyId),
     doc: "The AWS access key ID to use.");
key!(AWS_SECRET_ACCESS_KEY, "aws_secret_access_key", aliases: &[], env: &["AWS_SECRET_ACCESS_KEY"], backends: AWS,
     kind: Kind::Str, default: None, secret: true, target: Target::S3(AmazonS3ConfigKey::SecretAccessKey),
     doc: "The AWS secret access key to use.");
key!(AWS_SESSION_TOKEN, "aws_session_token", aliases: &["aws_token", "token"], env: &["AWS_SESSION_TOKEN", "AWS_TOKEN"], backends: AWS,
     kind: Kind::Str, default: None, secret: true, target: Target::S3(AmazonS3ConfigKey::Token),
     doc: "The AWS session token to use.");
key!(AWS_REGION, "aws_region", aliases: &["aws_default_region", "default_region"], env: &["AWS_REGION", "AWS_DEFAULT_REGION"], backends: AWS,
     kind: Kind::Str, default: Some("us-east-1"), secret: false, target: Target::S3(AmazonS3ConfigKey::Region),
     doc: "The AWS region the bucket is in (also signs DynamoDB requests). Unset, the region of the AWS profile in use, else us-east-1.");
key!(AWS_ENDPOINT, "aws_endpoint", aliases: &["aws_endpoint_url", "endpoint_url", "aws_endpoint_url_s3"], env: &["AWS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"], backends: AWS,
     kind: Kind::Url, default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::Endpoint),
     doc: "The endpoint to use for S3-compatible stores.");
key!(AWS_VIRTUAL_HOSTED_STYLE_REQUEST, "aws_virtual_hosted_style_request", aliases: &[], env: &["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"], backends: AWS,
     kind: Kind::Bool, default: Some("false"), secret: false, target: Target::S3(AmazonS3ConfigKey::VirtualHostedStyleRequest),
     doc: "Put the bucket name in the host name (virtual hosted-style requests).");
key!(AWS_S3_EXPRESS, "aws_s3_express", aliases: &[], env: &["AWS_S3_EXPRESS"], backends: AWS,
     kind: Kind::Bool, default: Some("false"), secret: false, target: Target::S3(AmazonS3ConfigKey::S3Express),
     doc: "Use S3 Express One Zone endpoints (the bucket name includes its --x-s3 suffix).");
key!(AWS_SERVER_SIDE_ENCRYPTION, "aws_server_side_encryption", aliases: &[], env: &["AWS_SERVER_SIDE_ENCRYPTION"], backends: AWS,
     kind: Kind::Enum(SSE_ALGORITHMS), default: None, secret: false, target: Target::S3Encryption("aws_server_side_encryption"),
     doc: "Server-side encryption algorithm for every object written.");
key!(AWS_SSE_KMS_KEY_ID, "aws_sse_kms_key_id", aliases: &[], env: &["AWS_SSE_KMS_KEY_ID"], backends: AWS,
     kind: Kind::Str, default: None, secret: false, target: Target::S3Encryption("aws_sse_kms_key_id"),
     doc: "KMS key ID for server-side encryption; needs aws_server_side_encryption aws:kms or aws:kms:dsse.");
key!(AWS_SSE_BUCKET_KEY_ENABLED, "aws_sse_bucket_key_enabled", aliases: &[], env: &["AWS_SSE_BUCKET_KEY_ENABLED"], backends: AWS,
     kind: Kind::Bool, default: None, secret: false, target: Target::S3Encryption("aws_sse_bucket_key_enabled"),
     doc: "Use S3 bucket keys for server-side encryption.");
key!(AWS_SSE_CUSTOMER_KEY_BASE64, "aws_sse_customer_key_base64", aliases: &[], env: &["AWS_SSE_CUSTOMER_KEY_BASE64"], backends: AWS,
     kind: Kind::Str, default: None, secret: true, target: Target::S3Encryption("aws_sse_customer_key_base64"),
     doc: "Base64 customer-provided key for SSE-C.");
key!(AWS_CONDITIONAL_PUT, "aws_conditional_put", aliases: &[], env: &["AWS_CONDITIONAL_PUT"], backends: AWS,
     kind: Kind::Enum(CONDITIONAL_PUT_MODES), default: Some("etag"), secret: false, target: Target::S3(AmazonS3ConfigKey::ConditionalPut),
     doc: "How commits are made atomic on S3: `etag` (If-None-Match, the default) or `disabled` (unsafe with concurrent writers; use s3+ddb instead).");
key!(AWS_PROFILE, "aws_profile", aliases: &["profile"], env: &["AWS_PROFILE"], backends: AWS,
     kind: Kind::Str, default: None, secret: false, target: Target::Stowage,
     doc: "Named profile for the AWS credential chain (~/.aws/config, SSO).");
key!(AWS_UNSIGNED_PAYLOAD, "aws_unsigned_payload", aliases: &[], env: &["AWS_UNSIGNED_PAYLOAD"], backends: AWS,
     kind: Kind::Bool, default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::UnsignedPayload),
     doc: "Skip payload hashing when signing PUT requests.");
key!(AWS_CHECKSUM_ALGORITHM, "aws_checksum_algorithm", aliases: &[], env: &["AWS_CHECKSUM_ALGORITHM"], backends: AWS,
     kind: Kind::Enum(&["sha256"]), default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::Checksum),
     doc: "Checksum algorithm sent with uploads.");
key!(AWS_IMDSV1_FALLBACK, "aws_imdsv1_fallback", aliases: &[], env: &["AWS_IMDSV1_FALLBACK"], backends: AWS,
     kind: Kind::Bool, default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::ImdsV1Fallback),
     doc: "Fall back to IMDSv1 for instance credentials.");
key!(AWS_METADATA_ENDPOINT, "aws_metadata_endpoint", aliases: &[], env: &["AWS_METADATA_ENDPOINT"], backends: AWS,
     kind: Kind::Url, default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::MetadataEndpoint),
     doc: "Instance metadata endpoint.");
key!(AWS_SKIP_SIGNATURE, "aws_skip_signature", aliases: &[], env: &["AWS_SKIP_SIGNATURE"], backends: AWS,
     kind: Kind::Bool, default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::SkipSignature),
     doc: "Send unsigned requests (public buckets).");
key!(AWS_DISABLE_TAGGING, "aws_disable_tagging", aliases: &[], env: &["AWS_DISABLE_TAGGING"], backends: AWS,
     kind: Kind::Bool, default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::DisableTagging),
     doc: "Do not send object tags.");
key!(AWS_REQUEST_PAYER, "aws_request_payer", aliases: &[], env: &["AWS_REQUEST_PAYER"], backends: AWS,
     kind: Kind::Bool, default: None, secret: false, target: Target::S3(AmazonS3ConfigKey::RequestPayer),
     doc: "Accept requester-pays charges.");
key!(DYNAMODB_ENDPOINT, "dynamodb_endpoint", aliases: &["aws_dynamodb_endpoint", "ddb_endpoint"], env: &["DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB"], backends: AWS,
     kind: Kind::Url, default: None, secret: false, target: Target::Stowage,
     doc: "DynamoDB endpoint for the s3+ddb commit store (defaults to the S3 endpoint when one is set).");

// ---- Google Cloud Storage ----
key!(GOOGLE_SERVICE_ACCOUNT, "google_service_account", aliases: &["google_service_account_path", "service_account_path"], env: &["GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH"], backends: GCP,
     kind: Kind::Path, default: None, secret: false, target: Target::Gcs(GoogleConfigKey::ServiceAccount),
     doc: "Path to the service account JSON file.");
key!(GOOGLE_SERVICE_ACCOUNT_KEY, "google_service_account_key", aliases: &[], env: &["GOOGLE_SERVICE_ACCOUNT_KEY"], backends: GCP,
     kind: Kind::Str, default: None, secret: true, target: Target::Gcs(GoogleConfigKey::ServiceAccountKey),
     doc: "The serialized service account key (JSON).");
key!(GOOGLE_APPLICATION_CREDENTIALS, "google_application_credentials", aliases: &[], env: &["GOOGLE_APPLICATION_CREDENTIALS"], backends: GCP,
     kind: Kind::Path, default: None, secret: false, target: Target::Gcs(GoogleConfigKey::ApplicationCredentials),
     doc: "Path to the application credentials.");
key!(GOOGLE_BEARER_TOKEN, "google_bearer_token", aliases: &[], env: &["GOOGLE_BEARER_TOKEN"], backends: GCP,
     kind: Kind::Str, default: None, secret: true, target: Target::Gcs(GoogleConfigKey::BearerToken),
     doc: "A static OAuth bearer token.");
key!(GOOGLE_BASE_URL, "google_base_url", aliases: &[], env: &["GOOGLE_BASE_URL"], backends: GCP,
     kind: Kind::Url, default: None, secret: false, target: Target::Gcs(GoogleConfigKey::BaseUrl),
     doc: "Override the GCS endpoint (e.g. a local emulator); a service account's gcs_base_url also sets it.");
key!(GOOGLE_SKIP_SIGNATURE, "google_skip_signature", aliases: &[], env: &["GOOGLE_SKIP_SIGNATURE"], backends: GCP,
     kind: Kind::Bool, default: None, secret: false, target: Target::Gcs(GoogleConfigKey::SkipSignature),
     doc: "Send unauthenticated requests (public buckets).");

// ---- Azure Blob Storage ----
key!(AZURE_STORAGE_ACCOUNT_NAME, "azure_storage_account_name", aliases: &["account_name"], env: &["AZURE_STORAGE_ACCOUNT_NAME"], backends: AZ,
     kind: Kind::Str, default: None, secret: false, target: Target::Azure(AzureConfigKey::AccountName),
     doc: "The name of the Azure storage account.");
key!(AZURE_STORAGE_ACCOUNT_KEY, "azure_storage_account_key", aliases: &["account_key", "access_key", "azure_storage_access_key", "azure_storage_master_key", "master_key"], env: &["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY"], backends: AZ,
     kind: Kind::Str, default: None, secret: true, target: Target::Azure(AzureConfigKey::AccessKey),
     doc: "The storage account's shared key.");
key!(AZURE_CLIENT_ID, "azure_client_id", aliases: &["azure_storage_client_id"], env: &["AZURE_CLIENT_ID", "AZURE_STORAGE_CLIENT_ID"], backends: AZ,
     kind: Kind::Str, default: None, secret: false, target: Target::Azure(AzureConfigKey::ClientId),
     doc: "Service principal client id.");
key!(AZURE_CLIENT_SECRET, "azure_client_secret", aliases: &["azure_storage_client_secret"], env: &["AZURE_CLIENT_SECRET", "AZURE_STORAGE_CLIENT_SECRET"], backends: AZ,
     kind: Kind::Str, default: None, secret: true, target: Target::Azure(AzureConfigKey::ClientSecret),
     doc: "Service principal client secret.");
key!(AZURE_TENANT_ID, "azure_tenant_id", aliases: &["azure_storage_tenant_id", "azure_authority_id", "azure_storage_authority_id", "authority_id"], env: &["AZURE_TENANT_ID", "AZURE_STORAGE_TENANT_ID"], backends: AZ,
     kind: Kind::Str, default: None, secret: false, target: Target::Azure(AzureConfigKey::AuthorityId),
     doc: "Tenant id used in OAuth flows.");
key!(AZURE_STORAGE_SAS_KEY, "azure_storage_sas_key", aliases: &["azure_storage_sas_token", "sas_key", "sas_token"], env: &["AZURE_STORAGE_SAS_KEY", "AZURE_STORAGE_SAS_TOKEN"], backends: AZ,
     kind: Kind::Str, default: None, secret: true, target: Target::Azure(AzureConfigKey::SasKey),
     doc: "Shared access signature, percent-encoded as the portal gives it.");
key!(AZURE_STORAGE_TOKEN, "azure_storage_token", aliases: &["bearer_token", "token", "azure_storage_bearer_token"], env: &["AZURE_STORAGE_TOKEN"], backends: AZ,
     kind: Kind::Str, default: None, secret: true, target: Target::Azure(AzureConfigKey::Token),
     doc: "Bearer token.");
key!(AZURE_STORAGE_USE_EMULATOR, "azure_storage_use_emulator", aliases: &["use_emulator", "azure_use_emulator"], env: &["AZURE_STORAGE_USE_EMULATOR"], backends: AZ,
     kind: Kind::Bool, default: None, secret: false, target: Target::Azure(AzureConfigKey::UseEmulator),
     doc: "Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given).");
key!(AZURE_ENDPOINT, "azure_endpoint", aliases: &["azure_storage_endpoint"], env: &["AZURE_STORAGE_ENDPOINT", "AZURE_ENDPOINT"], backends: AZ,
     kind: Kind::Url, default: None, secret: false, target: Target::Azure(AzureConfigKey::Endpoint),
     doc: "Override the endpoint used to communicate with blob storage.");
key!(AZURE_USE_FABRIC_ENDPOINT, "azure_use_fabric_endpoint", aliases: &[], env: &["AZURE_USE_FABRIC_ENDPOINT"], backends: AZ,
     kind: Kind::Bool, default: None, secret: false, target: Target::Azure(AzureConfigKey::UseFabricEndpoint),
     doc: "Use account.dfs.fabric.microsoft.com endpoints.");
key!(AZURE_MSI_ENDPOINT, "azure_msi_endpoint", aliases: &["azure_identity_endpoint", "identity_endpoint"], env: &["AZURE_MSI_ENDPOINT", "IDENTITY_ENDPOINT"], backends: AZ,
     kind: Kind::Url, default: None, secret: false, target: Target::Azure(AzureConfigKey::MsiEndpoint),
     doc: "Endpoint to request an IMDS managed identity token.");
key!(AZURE_OBJECT_ID, "azure_object_id", aliases: &[], env: &["AZURE_OBJECT_ID"], backends: AZ,
     kind: Kind::Str, default: None, secret: false, target: Target::Azure(AzureConfigKey::ObjectId),
     doc: "Object id for managed identity authentication.");
key!(AZURE_MSI_RESOURCE_ID, "azure_msi_resource_id", aliases: &[], env: &["AZURE_MSI_RESOURCE_ID"], backends: AZ,
     kind: Kind::Str, default: None, secret: false, target: Target::Azure(AzureConfigKey::MsiResourceId),
     doc: "MSI resource id for managed identity authentication.");
key!(AZURE_FEDERATED_TOKEN_FILE, "azure_federated_token_file", aliases: &[], env: &["AZURE_FEDERATED_TOKEN_FILE"], backends: AZ,
     kind: Kind::Path, default: None, secret: false, target: Target::Azure(AzureConfigKey::FederatedTokenFile),
     doc: "File with a token for Azure AD workload identity federation.");
key!(AZURE_USE_AZURE_CLI, "azure_use_azure_cli", aliases: &[], env: &["AZURE_USE_AZURE_CLI"], backends: AZ,
     kind: Kind::Bool, default: None, secret: false, target: Target::Azure(AzureConfigKey::UseAzureCli),
     doc: "Use the Azure CLI to acquire an access token.");
key!(AZURE_DISABLE_TAGGING, "azure_disable_tagging", aliases: &[], env: &["AZURE_DISABLE_TAGGING"], backends: AZ,
     kind: Kind::Bool, default: None, secret: false, target: Target::Azure(AzureConfigKey::DisableTagging),
     doc: "Do not tag objects (for stores that do not support it).");
key!(AZURE_SKIP_SIGNATURE, "azure_skip_signature", aliases: &[], env: &["AZURE_SKIP_SIGNATURE"], backends: AZ,
     kind: Kind::Bool, default: None, secret: false, target: Target::Azure(AzureConfigKey::SkipSignature),
     doc: "Send unsigned requests (public containers).");

/// Every key, in documentation order.
pub static REGISTRY: &[&KeyDef] = &[
    &ALLOW_HTTP,
    &ALLOW_INVALID_CERTIFICATES,
    &CONNECT_TIMEOUT,
    &TIMEOUT,
    &USER_AGENT,
    &PROXY_URL,
    &PROXY_CA_CERTIFICATE,
    &PROXY_EXCLUDES,
    &HTTP1_ONLY,
    &HTTP2_ONLY,
    &POOL_IDLE_TIMEOUT,
    &POOL_MAX_IDLE_PER_HOST,
    &CLIENT_MAX_RETRIES,
    &CLIENT_RETRY_TIMEOUT,
    &UPLOAD_PART_SIZE,
    &UPLOAD_CONCURRENCY,
    &COLUMN_CACHE_SIZE,
    &AWS_ACCESS_KEY_ID,
    &AWS_SECRET_ACCESS_KEY,
    &AWS_SESSION_TOKEN,
    &AWS_REGION,
    &AWS_ENDPOINT,
    &AWS_VIRTUAL_HOSTED_STYLE_REQUEST,
    &AWS_S3_EXPRESS,
    &AWS_SERVER_SIDE_ENCRYPTION,
    &AWS_SSE_KMS_KEY_ID,
    &AWS_SSE_BUCKET_KEY_ENABLED,
    &AWS_SSE_CUSTOMER_KEY_BASE64,
    &AWS_CONDITIONAL_PUT,
    &AWS_PROFILE,
    &AWS_UNSIGNED_PAYLOAD,
    &AWS_CHECKSUM_ALGORITHM,
    &AWS_IMDSV1_FALLBACK,
    &AWS_METADATA_ENDPOINT,
    &AWS_SKIP_SIGNATURE,
    &AWS_DISABLE_TAGGING,
    &AWS_REQUEST_PAYER,
    &DYNAMODB_ENDPOINT,
    &GOOGLE_SERVICE_ACCOUNT,
    &GOOGLE_SERVICE_ACCOUNT_KEY,
    &GOOGLE_APPLICATION_CREDENTIALS,
    &GOOGLE_BEARER_TOKEN,
    &GOOGLE_BASE_URL,
    &GOOGLE_SKIP_SIGNATURE,
    &AZURE_STORAGE_ACCOUNT_NAME,
    &AZURE_STORAGE_ACCOUNT_KEY,
    &AZURE_CLIENT_ID,
    &AZURE_CLIENT_SECRET,
    &AZURE_TENANT_ID,
    &AZURE_STORAGE_SAS_KEY,
    &AZURE_STORAGE_TOKEN,
    &AZURE_STORAGE_USE_EMULATOR,
    &AZURE_ENDPOINT,
    &AZURE_USE_FABRIC_ENDPOINT,
    &AZURE_MSI_ENDPOINT,
    &AZURE_OBJECT_ID,
    &AZURE_MSI_RESOURCE_ID,
    &AZURE_FEDERATED_TOKEN_FILE,
    &AZURE_USE_AZURE_CLI,
    &AZURE_DISABLE_TAGGING,
    &AZURE_SKIP_SIGNATURE,
];

/// What a user-given key names, for one backend.
#[derive(Debug)]
pub enum Lookup {
    Key(&'static KeyDef),
    /// A real key, but for other backends only: ignored, with a debug log.
    OtherBackend(&'static KeyDef),
    Unknown,
}

/// Finds the row for a snake_case spelling. An unprefixed spelling shared by
/// two backends (`endpoint`, `token`) resolves to the row of `backend`.
pub fn lookup(snake: &str, backend: Backend) -> Lookup {
    let mut other = None;
    for def in REGISTRY {
        if def.spellings().any(|s| s == snake) {
            if def.applies_to(backend) {
                return Lookup::Key(def);
            }
            other.get_or_insert(*def);
        }
    }
    match other {
        Some(def) => Lookup::OtherBackend(def),
        None => Lookup::Unknown,
    }
}

/// Longer than any real spelling by far: no suggestion is searched for such
/// a key (the search is quadratic in the key's length).
const MAX_SUGGEST_LEN: usize = 64;

/// The closest known spelling to an unknown key, if any is close enough.
pub fn suggest(snake: &str, backend: Backend) -> Option<&'static str> {
    if snake.len() > MAX_SUGGEST_LEN {
        return None;
    }
    let mut best: Option<(f64, &'static str)> = None;
    for def in REGISTRY.iter().filter(|d| d.applies_to(backend)) {
        for s in def.spellings() {
            let score = strsim::jaro_winkler(snake, s);
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, s));
            }
        }
    }
    best.filter(|(score, _)| *score >= 0.88).map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use heck::{ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase};
    use std::collections::HashMap;

    #[test]
    fn every_spelling_round_trips_through_camel_and_upper_case() {
        for def in REGISTRY {
            for s in def.spellings() {
                assert_eq!(
                    s.to_lower_camel_case().to_snake_case(),
                    s,
                    "camelCase of {s}"
                );
                assert_eq!(
                    s.to_shouty_snake_case().to_snake_case(),
                    s,
                    "UPPER_CASE of {s}"
                );
                for b in def.backends {
                    match lookup(&s.to_lower_camel_case().to_snake_case(), *b) {
                        Lookup::Key(found) => assert_eq!(found.name, def.name, "{s} on {b:?}"),
                        other => panic!("{s} on {b:?} resolved to {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn spellings_are_unambiguous_within_a_backend() {
        for b in Backend::ALL {
            let mut seen: HashMap<&str, &str> = HashMap::new();
            for def in REGISTRY.iter().filter(|d| d.applies_to(b)) {
                for s in def.spellings() {
                    if let Some(prev) = seen.insert(s, def.name) {
                        assert_eq!(prev, def.name, "'{s}' names two keys on {b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn object_store_names_every_target_as_the_registry_does() {
        for def in REGISTRY {
            match def.target {
                Target::Client(k) => {
                    assert_eq!(k.as_ref().parse::<ClientConfigKey>().ok(), Some(k))
                }
                Target::S3(k) => {
                    assert_eq!(k.as_ref().parse::<AmazonS3ConfigKey>().ok(), Some(k));
                    assert!(def.spellings().any(|s| s == k.as_ref()), "{}", def.name);
                }
                Target::S3Encryption(name) => {
                    let key = def.target.s3_key();
                    assert!(
                        matches!(key, Some(AmazonS3ConfigKey::Encryption(_))),
                        "{name}"
                    );
                    assert_eq!(key.map(|k| k.as_ref().to_string()), Some(name.to_string()));
                }
                Target::Gcs(k) => assert_eq!(k.as_ref().parse::<GoogleConfigKey>().ok(), Some(k)),
                Target::Azure(k) => assert_eq!(k.as_ref().parse::<AzureConfigKey>().ok(), Some(k)),
                Target::Stowage => {}
            }
        }
    }

    #[test]
    fn ranges_hold_the_defaults() {
        for def in REGISTRY {
            if let (Some(r), Some(d)) = (def.range, def.default) {
                assert!(r.min <= r.max, "{}", def.name);
                assert!(matches!(def.kind, Kind::Int | Kind::Size), "{}", def.name);
                let _ = d;
            }
        }
    }

    #[test]
    fn no_suggestion_search_for_huge_keys() {
        let huge = "a".repeat(1 << 20);
        let start = std::time::Instant::now();
        assert_eq!(suggest(&huge, Backend::S3), None);
        assert!(start.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn guide_keys_are_all_present() {
        let guide = [
            "allow_http",
            "allow_invalid_certificates",
            "connect_timeout",
            "timeout",
            "user_agent",
            "proxy_url",
            "proxy_ca_certificate",
            "proxy_excludes",
            "aws_region",
            "region",
            "aws_access_key_id",
            "access_key_id",
            "aws_secret_access_key",
            "secret_access_key",
            "aws_session_token",
            "session_token",
            "aws_endpoint",
            "endpoint",
            "aws_virtual_hosted_style_request",
            "virtual_hosted_style_request",
            "aws_s3_express",
            "s3_express",
            "aws_server_side_encryption",
            "aws_sse_kms_key_id",
            "aws_sse_bucket_key_enabled",
        ];
        for k in guide {
            assert!(matches!(lookup(k, Backend::S3), Lookup::Key(_)), "{k}");
        }
        for k in [
            "google_service_account",
            "service_account",
            "google_service_account_key",
            "google_application_credentials",
        ] {
            assert!(matches!(lookup(k, Backend::Gcs), Lookup::Key(_)), "{k}");
        }
        for k in [
            "azure_storage_account_name",
            "azure_storage_account_key",
            "azure_client_id",
            "azure_client_secret",
            "azure_tenant_id",
            "azure_storage_sas_key",
            "azure_storage_token",
            "azure_storage_use_emulator",
            "azure_endpoint",
            "azure_use_fabric_endpoint",
            "azure_msi_endpoint",
            "azure_object_id",
            "azure_msi_resource_id",
            "azure_federated_token_file",
            "azure_use_azure_cli",
            "azure_disable_tagging",
            "account_name",
            "account_key",
            "endpoint",
        ] {
            assert!(matches!(lookup(k, Backend::Azure), Lookup::Key(_)), "{k}");
        }
    }

    #[test]
    fn shared_unprefixed_spellings_follow_the_backend() {
        match lookup("endpoint", Backend::S3) {
            Lookup::Key(d) => assert_eq!(d.name, "aws_endpoint"),
            o => panic!("{o:?}"),
        }
        match lookup("endpoint", Backend::Azure) {
            Lookup::Key(d) => assert_eq!(d.name, "azure_endpoint"),
            o => panic!("{o:?}"),
        }
        assert!(matches!(
            lookup("endpoint", Backend::Local),
            Lookup::OtherBackend(_)
        ));
        assert!(matches!(
            lookup("no_such_key", Backend::S3),
            Lookup::Unknown
        ));
    }

    #[test]
    fn suggestions_find_typos() {
        assert_eq!(
            suggest("aws_secret_acess_key", Backend::S3),
            Some("aws_secret_access_key")
        );
        assert_eq!(
            suggest("conect_timeout", Backend::Gcs),
            Some("connect_timeout")
        );
        assert_eq!(suggest("zzzz", Backend::S3), None);
    }
}
