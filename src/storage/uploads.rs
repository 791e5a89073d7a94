//! Incomplete multipart uploads left by crashed writers (S3): list the
//! uploads under a prefix and abort those older than a cutoff. object_store
//! has no API for this, so the two S3 calls (ListMultipartUploads,
//! AbortMultipartUpload) are made here, signed with object_store's SigV4
//! authorizer and sent with its HTTP client (same TLS, proxy and timeout
//! settings as every other request).
//!
//! GCS's XML multipart uploads and Azure's uncommitted blocks have no
//! equivalent listing to act on: uncommitted Azure blocks are discarded by
//! the service after 7 days, and GCS multipart uploads are removed by a
//! bucket lifecycle rule (AbortIncompleteMultipartUpload).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::{ClientOptions, CredentialProvider};

use super::registry::{self as keys, Target};
use super::{StorageOptions, StoreHandle};
use crate::error::{Error, Result, StorageErrorKind};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupStats {
    /// Incomplete uploads found under the prefix.
    pub found: u64,
    /// Of those, aborted (older than the cutoff).
    pub aborted: u64,
}

struct S3Target {
    client: HttpClient,
    credential: Arc<AwsCredential>,
    region: String,
    /// `{endpoint}/{bucket}` (path style) or the virtual-hosted bucket URL.
    bucket_url: String,
}

fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|p| {
            url::form_urlencoded::byte_serialize(p.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

async fn target(store: &StoreHandle, opts: &StorageOptions, bucket: &str) -> Result<S3Target> {
    let mut client_opts = ClientOptions::new();
    for (t, value) in opts.builder_pairs() {
        if let Target::Client(k) = t {
            if let Ok(key) = k.parse() {
                client_opts = client_opts.with_config(key, value);
            }
        }
    }
    let client = ReqwestConnector::default()
        .connect(&client_opts)
        .map_err(|e| store.error(e, "Preparing the S3 client"))?;
    let region = opts
        .text(&keys::AWS_REGION)
        .unwrap_or("us-east-1")
        .to_string();
    let credential = match (
        opts.text(&keys::AWS_ACCESS_KEY_ID),
        opts.secret(&keys::AWS_SECRET_ACCESS_KEY),
    ) {
        (Some(id), Some(secret)) => Arc::new(AwsCredential {
            key_id: id.to_string(),
            secret_key: secret.expose().to_string(),
            token: opts
                .secret(&keys::AWS_SESSION_TOKEN)
                .map(|t| t.expose().to_string()),
        }),
        _ => {
            let sdk =
                super::credentials::load_sdk_config(opts.text(&keys::AWS_PROFILE), Some(&region))
                    .await;
            let provider = sdk
                .credentials_provider()
                .ok_or_else(|| Error::InvalidArgument("no AWS credentials configured".into()))?;
            super::credentials::AwsChainProvider::new(provider)
                .get_credential()
                .await
                .map_err(|e| store.error(e, "Loading AWS credentials"))?
        }
    };
    let virtual_hosted = opts.bool(&keys::AWS_VIRTUAL_HOSTED_STYLE_REQUEST) == Some(true);
    let bucket_url = match opts.text(&keys::AWS_ENDPOINT) {
        Some(ep) if virtual_hosted => {
            let u = url::Url::parse(ep)
                .map_err(|e| Error::invalid_argument(format!("endpoint: {e}")))?;
            format!(
                "{}://{bucket}.{}",
                u.scheme(),
                ep.trim_start_matches(&format!("{}://", u.scheme()))
                    .trim_end_matches('/')
            )
        }
        Some(ep) => format!("{}/{bucket}", ep.trim_end_matches('/')),
        None => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    };
    Ok(S3Target {
        client,
        credential,
        region,
        bucket_url,
    })
}

impl S3Target {
    async fn send(
        &self,
        store: &StoreHandle,
        method: http::Method,
        url: &str,
        what: &str,
    ) -> Result<String> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(url)
            .body(HttpRequestBody::empty())
            .map_err(|e| Error::internal(format!("building request: {e}")))?;
        AwsAuthorizer::new(&self.credential, "s3", &self.region)
            .try_authorize(&mut req, None)
            .map_err(|e| Error::internal(format!("signing request: {e}")))?;
        let resp = self.client.execute(req).await.map_err(|e| Error::Storage {
            kind: StorageErrorKind::Connection,
            context: what.to_string(),
            message: store.redact(&e.to_string()),
        })?;
        let status = resp.status();
        let body = resp
            .into_body()
            .bytes()
            .await
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        if !status.is_success() {
            let kind = match status.as_u16() {
                403 => StorageErrorKind::PermissionDenied,
                404 => StorageErrorKind::NotFound,
                s if s >= 500 => StorageErrorKind::Server,
                _ => StorageErrorKind::Other,
            };
            return Err(Error::Storage {
                kind,
                context: what.to_string(),
                message: store.redact(&format!("status {status}: {body}")),
            });
        }
        Ok(body)
    }
}

/// Aborts incomplete multipart uploads under `prefix` started before
/// `now - older_than`.
pub async fn cleanup_incomplete_uploads(
    store: &StoreHandle,
    opts: &StorageOptions,
    bucket: &str,
    prefix: &str,
    older_than: Duration,
) -> Result<CleanupStats> {
    let t = target(store, opts, bucket).await?;
    let cutoff = SystemTime::now() - older_than;
    let mut stats = CleanupStats::default();
    let mut markers: Option<(String, String)> = None;
    loop {
        let mut url = format!(
            "{}?uploads&prefix={}",
            t.bucket_url,
            url::form_urlencoded::byte_serialize(prefix.as_bytes()).collect::<String>()
        );
        if let Some((k, u)) = &markers {
            url.push_str(&format!(
                "&key-marker={}&upload-id-marker={}",
                url::form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>(),
                url::form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>()
            ));
        }
        let body = t
            .send(
                store,
                http::Method::GET,
                &url,
                "Listing incomplete multipart uploads",
            )
            .await?;
        for part in body.split("<Upload>").skip(1) {
            let (Some(key), Some(id)) = (tag(part, "Key"), tag(part, "UploadId")) else {
                continue;
            };
            let (key, id) = (unescape(key), unescape(id));
            stats.found += 1;
            let initiated = tag(part, "Initiated").and_then(|s| {
                humantime::parse_rfc3339_weak(
                    s.trim_end_matches('Z').split('.').next().unwrap_or(s),
                )
                .ok()
            });
            if initiated.is_some_and(|i| i <= cutoff) {
                let abort = format!(
                    "{}/{}?uploadId={}",
                    t.bucket_url,
                    encode_key(&key),
                    url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
                );
                match t
                    .send(
                        store,
                        http::Method::DELETE,
                        &abort,
                        "Aborting an incomplete multipart upload",
                    )
                    .await
                {
                    Ok(_) => stats.aborted += 1,
                    // Completed or aborted meanwhile.
                    Err(Error::Storage {
                        kind: StorageErrorKind::NotFound,
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if tag(&body, "IsTruncated") == Some("true") {
            markers = Some((
                tag(&body, "NextKeyMarker")
                    .map(unescape)
                    .unwrap_or_default(),
                tag(&body, "NextUploadIdMarker")
                    .map(unescape)
                    .unwrap_or_default(),
            ));
        } else {
            return Ok(stats);
        }
    }
}
