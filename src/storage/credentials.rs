//! AWS credentials, made in one place for every AWS client of a connection:
//! the S3 store, the multipart cleanup and the DynamoDB commit store. Static
//! keys, or the aws-config chain (environment, shared config and credentials
//! files, AWS_PROFILE, SSO, web identity, ECS, IMDS), offered both as an
//! object_store credential provider and as an AWS SDK one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use tokio::sync::Mutex;

use super::config::{AwsCredentials, S3Config};
use super::provided::Credential;
pub use super::provided::{
    CallFailure, CredentialKind, CredentialSource, ProvidedCredential, ProvidedCredentials,
    ProviderFailure, ShapeFailure,
};

/// The credentials that sign a connection's AWS requests; `None` when they
/// go unsigned (`aws_skip_signature`).
pub async fn aws_credentials(cfg: &S3Config) -> Option<Arc<AwsProvider>> {
    let source = match &cfg.credentials {
        AwsCredentials::Unsigned => return None,
        AwsCredentials::Static {
            key_id,
            secret,
            token,
        } => Source::Static(Arc::new(AwsCredential {
            key_id: key_id.clone(),
            secret_key: secret.expose().to_string(),
            token: token.as_ref().map(|t| t.expose().to_string()),
        })),
        AwsCredentials::Chain => Source::Chain(chain(None, &cfg.region).await),
        AwsCredentials::Profile(p) => Source::Chain(chain(Some(p), &cfg.region).await),
        AwsCredentials::Provided(handle) => Source::Provided(handle.clone()),
    };
    Some(Arc::new(AwsProvider {
        source,
        cached: Mutex::new(None),
    }))
}

/// The region is always given: resolution already chose it (option, env,
/// the profile's, or the default), so the SDK never looks for one itself.
async fn chain(profile: Option<&str>, region: &str) -> Option<SharedCredentialsProvider> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()));
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    loader.load().await.credentials_provider()
}

enum Source {
    Static(Arc<AwsCredential>),
    /// `None`: the SDK found no chain to ask (requests fail, naming the fix).
    Chain(Option<SharedCredentialsProvider>),
    /// The application's provider function, with its own shared cache.
    Provided(ProvidedCredentials),
}

/// Caches chain credentials until shortly before they expire; the chain
/// itself may be slow (SSO, STS).
pub struct AwsProvider {
    source: Source,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl std::fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source {
            Source::Static(_) => "static",
            Source::Chain(_) => "chain",
            Source::Provided(_) => "provider",
        };
        write!(f, "AwsProvider({kind})")
    }
}

fn no_credentials(why: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: format!(
            "no AWS credentials found ({why}); pass awsAccessKeyId/awsSecretAccessKey, set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or configure a profile (AWS_PROFILE)"
        )
        .into(),
    }
}

const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

impl AwsProvider {
    async fn fetch(&self) -> object_store::Result<(Arc<AwsCredential>, Option<SystemTime>)> {
        let provider = match &self.source {
            Source::Static(c) => return Ok((c.clone(), None)),
            Source::Chain(Some(p)) => p,
            Source::Chain(None) => return Err(no_credentials("no credential chain")),
            Source::Provided(handle) => {
                let failed = |f: ProviderFailure| object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(f),
                };
                let c = handle.get(CredentialKind::Aws).await.map_err(failed)?;
                return match c.cred {
                    Credential::Aws(cred) => Ok((cred, c.expires_at)),
                    _ => Err(failed(ProviderFailure(
                        "internal: not an AWS credential".into(),
                    ))),
                };
            }
        };
        // Held across the fetch so concurrent requests share one refresh.
        let mut cached = self.cached.lock().await;
        if let Some((cred, expiry)) = cached.as_ref() {
            if expiry.is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE_EXPIRY) {
                return Ok((cred.clone(), *expiry));
            }
        }
        let c = provider
            .provide_credentials()
            .await
            .map_err(|e| no_credentials(&e.to_string()))?;
        let cred = Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(str::to_string),
        });
        *cached = Some((cred.clone(), c.expiry()));
        Ok((cred, c.expiry()))
    }
}

#[async_trait]
impl CredentialProvider for AwsProvider {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.fetch().await.map(|(c, _)| c)
    }
}

impl AwsProvider {
    /// The same credentials (and cache) for the AWS SDK clients (DynamoDB).
    pub fn for_sdk(self: Arc<Self>) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(ForSdk(self))
    }
}

#[derive(Debug)]
struct ForSdk(Arc<AwsProvider>);

impl ProvideCredentials for ForSdk {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let (c, expiry) = self
                .0
                .fetch()
                .await
                .map_err(provider::error::CredentialsError::provider_error)?;
            Ok(aws_credential_types::Credentials::new(
                c.key_id.clone(),
                c.secret_key.clone(),
                c.token.clone(),
                expiry,
                "stowage",
            ))
        })
    }
}

/// A region read from the AWS shared config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRegion {
    pub region: String,
    /// For the effective-configuration report: `[profile x] in <file>`.
    pub given_as: String,
}

/// The `region` of a profile in the shared config file (`AWS_CONFIG_FILE`,
/// else `~/.aws/config`): the named one, else `AWS_PROFILE`'s, else
/// `[default]`. Read at resolution so the report shows the region used.
pub fn profile_region(profile: Option<&str>) -> Option<ProfileRegion> {
    let file = std::env::var_os("AWS_CONFIG_FILE")
        .filter(|f| !f.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".aws").join("config"))
        })?;
    let text = std::fs::read_to_string(&file).ok()?;
    let name = profile.unwrap_or("default");
    let region = region_in(&text, name)?;
    Some(ProfileRegion {
        region,
        given_as: format!("[profile {name}] in {}", file.display()),
    })
}

/// The shared config format: `[default]` or `[profile NAME]` sections of
/// `key = value` lines, `#` and `;` starting comments.
fn region_in(text: &str, profile: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.trim();
            let named = header
                .strip_prefix("profile")
                .filter(|rest| rest.starts_with(char::is_whitespace))
                .map(str::trim)
                .unwrap_or(header);
            in_section = named == profile;
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == "region" && !v.trim().is_empty() {
                return Some(v.trim().to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_of_named_and_default_profiles() {
        let text = "[default]\nregion = us-east-1\n\n# note\n[profile good]\noutput=json\nregion=eu-west-2\n[profile other]\nregion = ap-south-1\n";
        assert_eq!(region_in(text, "default").as_deref(), Some("us-east-1"));
        assert_eq!(region_in(text, "good").as_deref(), Some("eu-west-2"));
        assert_eq!(region_in(text, "missing"), None);
        assert_eq!(region_in("[profile x]\noutput = json\n", "x"), None);
    }
}
