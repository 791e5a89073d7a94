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
use object_store::CredentialProvider;

use super::credentials::aws_credentials;
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
    /// `None`: unsigned requests (`aws_skip_signature`).
    credential: Option<Arc<AwsCredential>>,
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
    let Some(cfg) = opts.config().s3() else {
        return Err(Error::NotSupported(
            "cleanupIncompleteUploads works on S3 only".into(),
        ));
    };
    let client = ReqwestConnector::default()
        .connect(&cfg.client.client_options())
        .map_err(|e| store.error(e, "Preparing the S3 client"))?;
    let credential = match aws_credentials(cfg).await {
        Some(provider) => Some(
            provider
                .get_credential()
                .await
                .map_err(|e| store.error(e, "Loading AWS credentials"))?,
        ),
        None => None,
    };
    let bucket_url = match &cfg.endpoint {
        Some(ep) if cfg.virtual_hosted_style => {
            // The registry accepted it as an http(s) URL with a host.
            let (scheme, rest) = ep.url.split_once("://").unwrap_or(("https", &ep.url));
            format!("{scheme}://{bucket}.{}", rest.trim_end_matches('/'))
        }
        Some(ep) => format!("{}/{bucket}", ep.url.trim_end_matches('/')),
        None => format!("https://s3.{}.amazonaws.com/{bucket}", cfg.region),
    };
    Ok(S3Target {
        client,
        credential,
        region: cfg.region.clone(),
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
        if let Some(credential) = &self.credential {
            AwsAuthorizer::new(credential, "s3", &self.region)
                .try_authorize(&mut req, None)
                .map_err(|e| Error::internal(format!("signing request: {e}")))?;
        }
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
