//! The AWS credential chain (environment, shared config and credentials
//! files, AWS_PROFILE, SSO, web identity, ECS, IMDS) from aws-config, offered
//! to object_store as a credential provider.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use tokio::sync::Mutex;

/// Loads the SDK configuration; `profile` overrides `AWS_PROFILE`.
pub async fn load_sdk_config(profile: Option<&str>, region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    loader.load().await
}

/// Caches credentials until shortly before they expire; the chain itself
/// may be slow (SSO, STS).
#[derive(Debug)]
pub struct AwsChainProvider {
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl AwsChainProvider {
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        AwsChainProvider {
            provider,
            cached: Mutex::new(None),
        }
    }
}

const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

#[async_trait]
impl CredentialProvider for AwsChainProvider {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        // Held across the fetch so concurrent requests share one refresh.
        let mut cached = self.cached.lock().await;
        if let Some((cred, expiry)) = cached.as_ref() {
            let fresh = expiry.is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(cred.clone());
            }
        }
        let c = self.provider.provide_credentials().await.map_err(|e| object_store::Error::Generic {
            store: "S3",
            source: format!(
                "no AWS credentials found ({e}); pass awsAccessKeyId/awsSecretAccessKey, set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or configure a profile (AWS_PROFILE)"
            )
            .into(),
        })?;
        let cred = Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(str::to_string),
        });
        *cached = Some((cred.clone(), c.expiry()));
        Ok(cred)
    }
}
