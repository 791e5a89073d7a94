//! Blob-by-blob deletes over an Azure SAS. object_store 0.14 deletes Azure
//! blobs only through Blob Batch, whose sub-requests lose the SAS query
//! parameters, so a batch over a SAS is refused (403 on Azure, 500 on
//! Azurite). When that happens, each blob is deleted with its own
//! `DELETE {container}/{blob}?{sas}`, sent with object_store's HTTP client
//! (same TLS, proxy and timeout settings as every other request).

use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::path::Path;

use super::config::AzureConfig;
use super::options::Value;
use super::secret::Secret;
use super::StoreHandle;
use crate::error::{Error, Result, StorageErrorKind};

pub(crate) struct AzureSasDeleter {
    client: HttpClient,
    /// `{endpoint}/{container}` (endpoint with the account, as the
    /// `azure_endpoint` option takes it).
    container_url: String,
    sas: Secret,
    /// A batch was refused once: go blob by blob from then on.
    batch_refused: AtomicBool,
}

impl std::fmt::Debug for AzureSasDeleter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AzureSasDeleter({})", self.container_url)
    }
}

fn encode_path(path: &Path) -> String {
    path.parts()
        .map(|p| {
            url::form_urlencoded::byte_serialize(p.as_ref().as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl AzureSasDeleter {
    /// `None` unless the configuration authenticates with a SAS.
    pub fn new(container: &str, c: &AzureConfig) -> Option<AzureSasDeleter> {
        use object_store::azure::AzureConfigKey as K;
        let text = |key: K| {
            c.store_settings.iter().find_map(|(k, v)| match (k, v) {
                (k, Value::Text(t)) if *k == key => Some(t.clone()),
                (k, Value::Secret(s)) if *k == key => Some(s.expose().to_string()),
                _ => None,
            })
        };
        let sas = text(K::SasKey)?;
        let account = text(K::AccountName).unwrap_or_default();
        let base = match &c.endpoint {
            Some(e) => e.url.trim_end_matches('/').to_string(),
            None => format!("https://{account}.blob.core.windows.net"),
        };
        let client = ReqwestConnector::default()
            .connect(&c.client.client_options())
            .ok()?;
        Some(AzureSasDeleter {
            client,
            container_url: format!("{base}/{container}"),
            sas: Secret::new(sas.trim_start_matches('?')),
            batch_refused: AtomicBool::new(false),
        })
    }

    pub fn batch_refused(&self) -> bool {
        self.batch_refused.load(Ordering::Relaxed)
    }

    pub fn refuse_batches(&self) {
        self.batch_refused.store(true, Ordering::Relaxed);
    }

    pub async fn delete_all(&self, store: &StoreHandle, paths: Vec<Path>) -> Result<()> {
        let results: Vec<Result<()>> = futures::stream::iter(paths)
            .map(|p| async move { self.delete(store, &p).await })
            .buffer_unordered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn delete(&self, store: &StoreHandle, path: &Path) -> Result<()> {
        let url = format!(
            "{}/{}?{}",
            self.container_url,
            encode_path(path),
            self.sas.expose()
        );
        let what = format!("Deleting {path}");
        let req = http::Request::builder()
            .method(http::Method::DELETE)
            .uri(url)
            .header("x-ms-version", "2021-08-06")
            .body(HttpRequestBody::empty())
            .map_err(|e| {
                Error::internal(format!(
                    "building request: {}",
                    store.redact(&e.to_string())
                ))
            })?;
        let resp = self.client.execute(req).await.map_err(|e| Error::Storage {
            kind: StorageErrorKind::Connection,
            context: what.clone(),
            message: store.redact(&e.to_string()),
        })?;
        let status = resp.status();
        if status.is_success() || status.as_u16() == 404 {
            return Ok(());
        }
        let body = resp
            .into_body()
            .bytes()
            .await
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        Err(Error::Storage {
            kind: match status.as_u16() {
                401 => StorageErrorKind::Unauthenticated,
                403 => StorageErrorKind::PermissionDenied,
                s if s >= 500 => StorageErrorKind::Server,
                _ => StorageErrorKind::Other,
            },
            context: what,
            message: store.redact(&format!("status {status}: {body}")),
        })
    }
}
