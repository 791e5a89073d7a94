//! The `s3+ddb://` commit store: S3 holds the manifests, DynamoDB decides
//! who wins each version (S3 itself had no atomic create when this scheme
//! was designed; some S3-compatible stores still do not).
//!
//! Table: hash key `base_uri` (S), range key `version` (N). A commit
//! 1. stages the manifest at `_versions/_staging/<version>-<uuid>.manifest`,
//! 2. claims the version with a conditional PutItem
//!    (`attribute_not_exists(version)`): the one winner,
//! 3. copies the staged manifest to its final name,
//! 4. marks the item complete.
//!
//! A crash between 2 and 4 leaves a claimed, incomplete version: any reader
//! that meets it finishes steps 3 and 4, so the version becomes visible
//! whole and never goes missing.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ScalarAttributeType};
use aws_sdk_dynamodb::Client;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{manifest_path, CommitError, CommitStore, ConditionalPutStore, VERSIONS_DIR};
use crate::error::{Error, Result, StorageErrorKind};
use crate::storage::{StorageOptions, StoreHandle};

const STAGING_DIR: &str = "_staging";

#[derive(Debug, Clone)]
pub struct DynamoCommitStore {
    store: StoreHandle,
    /// For listings and manifest reads (the S3 side).
    objects: ConditionalPutStore,
    client: Client,
    table: String,
    /// `s3://bucket` — prefixed to table paths so tables in different
    /// buckets never share DynamoDB items.
    bucket_uri: String,
}

fn ddb_error(
    table: &str,
    what: &str,
    kind: StorageErrorKind,
    message: String,
    store: &StoreHandle,
) -> Error {
    Error::Storage {
        kind,
        context: format!("DynamoDB table '{table}': {what}"),
        message: store.redact(&message),
    }
}

/// Kind and a readable message for an SDK error: typed (dispatch failure,
/// timeout, service error code, HTTP status), never from loose text.
pub(crate) fn sdk_kind<E, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> (StorageErrorKind, String)
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_dynamodb::error::SdkError;
    if let Some(f) = crate::storage::ProviderFailure::find(e) {
        return (StorageErrorKind::CredentialProvider, f.to_string());
    }
    match e {
        SdkError::DispatchFailure(_) => (
            StorageErrorKind::Connection,
            format!(
                "could not reach DynamoDB: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            ),
        ),
        SdkError::TimeoutError(_) => (
            StorageErrorKind::Timeout,
            "the DynamoDB request timed out".to_string(),
        ),
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("unknown error").to_string();
            let msg = se.err().message().unwrap_or("").to_string();
            let status = format!("{:?}", se.raw());
            let kind = match code.as_str() {
                "ResourceNotFoundException" => StorageErrorKind::NotFound,
                _ if status.contains("StatusCode(403)") => StorageErrorKind::PermissionDenied,
                "AccessDeniedException"
                | "AccessDenied"
                | "UnrecognizedClientException"
                | "InvalidSignatureException" => StorageErrorKind::PermissionDenied,
                _ if status.contains("StatusCode(5")
                    || code.contains("InternalServerError")
                    || code.contains("ServiceUnavailable") =>
                {
                    StorageErrorKind::Server
                }
                _ => StorageErrorKind::Other,
            };
            (kind, format!("{code}: {msg}"))
        }
        SdkError::ResponseError(r) => {
            let status = format!("{:?}", r.raw());
            let kind = if status.contains("StatusCode(5") {
                StorageErrorKind::Server
            } else {
                StorageErrorKind::Other
            };
            (kind, "unexpected response from DynamoDB".to_string())
        }
        other => (
            StorageErrorKind::Other,
            aws_sdk_dynamodb::error::DisplayErrorContext(other).to_string(),
        ),
    }
}

pub(crate) fn schema_help(table: &str) -> String {
    format!(
        "create it with hash key base_uri (string) and range key version (number), e.g. `aws dynamodb create-table --table-name {table} --attribute-definitions AttributeName=base_uri,AttributeType=S AttributeName=version,AttributeType=N --key-schema AttributeName=base_uri,KeyType=HASH AttributeName=version,KeyType=RANGE --billing-mode PAY_PER_REQUEST`"
    )
}

/// The DynamoDB client of a connection: its region, retries, timeouts,
/// endpoint and credentials (the same as the S3 client's).
pub(crate) async fn client_for(cfg: &crate::storage::config::S3Config) -> Client {
    let mut conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(cfg.region.clone()))
        .retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(
                // At most 100 retries (the registry's range): fits.
                cfg.client.retry.max_retries.saturating_add(1) as u32,
            ),
        )
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .connect_timeout(cfg.client.connect_timeout)
                .operation_attempt_timeout(cfg.client.timeout)
                .build(),
        );
    if let Some(ep) = cfg.dynamodb_endpoint() {
        conf = conf.endpoint_url(ep);
    }
    // Unsigned (aws_skip_signature) gives none: DynamoDB has no
    // anonymous access, so requests fail with the service's own answer.
    if let Some(provider) = crate::storage::credentials::aws_credentials(cfg).await {
        conf = conf.credentials_provider(provider.for_sdk());
    }
    // A credentials function has its own cache, shared with the S3
    // client; the SDK's would refresh on its own schedule.
    if matches!(
        cfg.credentials,
        crate::storage::config::AwsCredentials::Provided(_)
    ) {
        conf = conf.identity_cache(aws_sdk_dynamodb::config::IdentityCache::no_cache());
    }
    Client::from_conf(conf.build())
}

impl DynamoCommitStore {
    /// Connects and checks the table exists with the guide's key schema.
    pub async fn connect(
        store: StoreHandle,
        bucket: &str,
        table: &str,
        opts: &StorageOptions,
    ) -> Result<Self> {
        let Some(cfg) = opts.config().s3() else {
            return Err(Error::invalid_argument(
                "the DynamoDB commit store needs an s3+ddb:// URI",
            ));
        };
        let client = client_for(cfg).await;
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| {
                let (kind, message) = sdk_kind(&e);
                if kind == StorageErrorKind::NotFound {
                    Error::InvalidArgument(format!(
                        "the DynamoDB commit table '{table}' (from ddbTableName) does not exist; {}",
                        schema_help(table)
                    ))
                } else {
                    ddb_error(table, "checking the commit table", kind, message, &store)
                }
            })?;
        let t = described
            .table()
            .ok_or_else(|| Error::internal("DescribeTable returned no table"))?;
        let key_of = |kind: KeyType| {
            t.key_schema()
                .iter()
                .find(|k| *k.key_type() == kind)
                .map(|k| k.attribute_name().to_string())
        };
        let type_of = |name: &str| {
            t.attribute_definitions()
                .iter()
                .find(|a| a.attribute_name() == name)
                .map(|a| a.attribute_type().clone())
        };
        let ok = key_of(KeyType::Hash).as_deref() == Some("base_uri")
            && key_of(KeyType::Range).as_deref() == Some("version")
            && type_of("base_uri") == Some(ScalarAttributeType::S)
            && type_of("version") == Some(ScalarAttributeType::N);
        if !ok {
            return Err(Error::InvalidArgument(format!(
                "the DynamoDB commit table '{table}' has the wrong key schema; {}",
                schema_help(table)
            )));
        }
        Ok(DynamoCommitStore {
            objects: ConditionalPutStore::new(store.clone()),
            store,
            client,
            table: table.to_string(),
            bucket_uri: format!("s3://{bucket}"),
        })
    }

    fn base_uri(&self, table_dir: &Path) -> String {
        format!("{}/{}", self.bucket_uri, table_dir)
    }

    fn sdk_err<E, R>(&self, what: &str, e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> Error
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (kind, message) = sdk_kind(e);
        ddb_error(&self.table, what, kind, message, &self.store)
    }

    fn os(&self) -> &Arc<dyn ObjectStore> {
        &self.store.store
    }

    /// Newest item for the table: (version, staged path, complete).
    async fn newest_item(&self, table_dir: &Path) -> Result<Option<(u64, String, bool)>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("base_uri = :b")
            .expression_attribute_values(":b", AttributeValue::S(self.base_uri(table_dir)))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.sdk_err("reading the latest version", &e))?;
        Ok(out.items().first().and_then(parse_item))
    }

    async fn item(&self, table_dir: &Path, version: u64) -> Result<Option<(u64, String, bool)>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("base_uri", AttributeValue::S(self.base_uri(table_dir)))
            .key("version", AttributeValue::N(version.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.sdk_err("reading a version", &e))?;
        Ok(out.item().and_then(parse_item))
    }

    /// Steps 3 and 4 of a commit, for whoever gets there first.
    async fn finish(&self, table_dir: &Path, version: u64, staged: &str) -> Result<()> {
        let final_path = manifest_path(table_dir, version);
        let staged_path = Path::from(staged);
        match self.os().head(&final_path).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {
                match self.os().copy(&staged_path, &final_path).await {
                    Ok(()) => {}
                    // Another finisher copied and removed the staged file.
                    Err(object_store::Error::NotFound { .. })
                        if self.os().head(&final_path).await.is_ok() => {}
                    Err(e) => {
                        return Err(self.store.error(e, format!("Publishing version {version}")))
                    }
                }
            }
            Err(e) => return Err(self.store.error(e, format!("Checking version {version}"))),
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .key("base_uri", AttributeValue::S(self.base_uri(table_dir)))
            .key("version", AttributeValue::N(version.to_string()))
            .update_expression("SET complete = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| self.sdk_err("marking a version complete", &e))?;
        let _ = self.os().delete(&staged_path).await;
        Ok(())
    }

    /// Deletes every DynamoDB item of a table (dropTable); how many.
    async fn drop_items(&self, table_dir: &Path) -> Result<u64> {
        let mut n = 0;
        let base = self.base_uri(table_dir);
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("base_uri = :b")
                .expression_attribute_values(":b", AttributeValue::S(base.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.sdk_err("listing versions to drop", &e))?;
            for item in out.items() {
                if let Some((v, _, _)) = parse_item(item) {
                    self.delete_item(table_dir, v).await?;
                    n += 1;
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(n);
            }
        }
    }

    async fn delete_item(&self, table_dir: &Path, version: u64) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("base_uri", AttributeValue::S(self.base_uri(table_dir)))
            .key("version", AttributeValue::N(version.to_string()))
            .send()
            .await
            .map_err(|e| self.sdk_err("deleting a version", &e))?;
        Ok(())
    }
}

fn parse_item(
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Option<(u64, String, bool)> {
    let v = item.get("version")?.as_n().ok()?.parse().ok()?;
    let staged = item
        .get("staged")
        .and_then(|s| s.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let complete = item
        .get("complete")
        .and_then(|c| c.as_bool().ok())
        .copied()
        .unwrap_or(false);
    Some((v, staged, complete))
}

#[async_trait]
impl CommitStore for DynamoCommitStore {
    async fn latest_version(&self, table_dir: &Path) -> Result<Option<u64>> {
        match self.newest_item(table_dir).await? {
            Some((v, staged, complete)) => {
                if !complete {
                    self.finish(table_dir, v, &staged).await?;
                }
                Ok(Some(v))
            }
            // No item: a table whose versions were committed without
            // DynamoDB (or whose items were cleaned): the manifests decide.
            None => self.objects.latest_version(table_dir).await,
        }
    }

    async fn load(&self, table_dir: &Path, version: u64) -> Result<Option<Bytes>> {
        if let Some(b) = self.objects.load(table_dir, version).await? {
            return Ok(Some(b));
        }
        match self.item(table_dir, version).await? {
            Some((v, staged, false)) => {
                self.finish(table_dir, v, &staged).await?;
                self.objects.load(table_dir, version).await
            }
            _ => Ok(None),
        }
    }

    async fn commit(
        &self,
        table_dir: &Path,
        version: u64,
        manifest: Bytes,
    ) -> Result<(), CommitError> {
        let staged = table_dir
            .clone()
            .join(VERSIONS_DIR)
            .join(STAGING_DIR)
            .join(format!("{version:020}-{}.manifest", uuid::Uuid::new_v4()));
        self.os()
            .put(&staged, PutPayload::from_bytes(manifest))
            .await
            .map_err(|e| {
                CommitError::Failed(self.store.error(e, format!("Staging version {version}")))
            })?;
        let claimed = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("base_uri", AttributeValue::S(self.base_uri(table_dir)))
            .item("version", AttributeValue::N(version.to_string()))
            .item("staged", AttributeValue::S(staged.to_string()))
            .item("complete", AttributeValue::Bool(false))
            .condition_expression("attribute_not_exists(version)")
            .send()
            .await;
        if let Err(e) = claimed {
            // A lost answer to a PutItem that did land looks like a conflict
            // (the SDK's retry finds the item) or like a failure: the item
            // itself says who won.
            match self.item(table_dir, version).await {
                Ok(Some((_, s, _))) if s == staged.as_ref() => {}
                Ok(Some(_)) => {
                    let _ = self.os().delete(&staged).await;
                    return Err(CommitError::Conflict { version });
                }
                // Not claimed as far as we can tell: keep the staged
                // manifest, since a late PutItem may still point at it.
                _ => return Err(CommitError::Failed(self.sdk_err("claiming a version", &e))),
            }
        }
        // The version is ours from here on: no other writer can take it, and
        // any reader finishes publishing it. A failure to publish now is not
        // a failed commit.
        if let Err(e) = self.finish(table_dir, version, staged.as_ref()).await {
            tracing::warn!("version {version} is committed but not yet published ({e}); the next reader publishes it");
        }
        Ok(())
    }

    async fn list_versions(&self, table_dir: &Path) -> Result<Vec<u64>> {
        // Finish a half-done newest version first, so it is listed.
        self.latest_version(table_dir).await?;
        self.objects.list_versions(table_dir).await
    }

    async fn delete_version(&self, table_dir: &Path, version: u64) -> Result<()> {
        // The item stays (a few bytes, removed with the table): while it
        // exists no writer can claim this version number again, so a writer
        // whose base a cleanup removed can never commit on it unseen.
        self.objects.delete_version(table_dir, version).await
    }

    async fn load_prefix(
        &self,
        table_dir: &Path,
        version: u64,
        max_bytes: u64,
    ) -> Result<Option<Bytes>> {
        match self
            .objects
            .load_prefix(table_dir, version, max_bytes)
            .await?
        {
            Some(b) => Ok(Some(b)),
            // Not published yet: `load` finishes a half-done commit.
            None => self.load(table_dir, version).await,
        }
    }

    async fn drop_table(&self, table_dir: &Path) -> Result<u64> {
        let manifests = self.objects.drop_table(table_dir).await?;
        Ok(manifests + self.drop_items(table_dir).await?)
    }
}
