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
                let c = handle
                    .get()
                    .await
                    .map_err(|f| object_store::Error::Generic {
                        store: "S3",
                        source: Box::new(f),
                    })?;
                return Ok((c.cred, c.expires_at));
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

/// What the application's provider handed out, checked.
pub struct ProvidedCredential {
    pub key_id: String,
    pub secret: String,
    pub token: Option<String>,
    pub expires_at: Option<SystemTime>,
}

/// A provider call that failed (it threw, rejected, or returned a value of
/// the wrong shape). The message never holds a credential.
#[derive(Debug, Clone)]
pub struct ProviderFailure(pub Arc<str>);

impl std::fmt::Display for ProviderFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the credentials provider failed: {}", self.0)
    }
}

impl std::error::Error for ProviderFailure {}

impl ProviderFailure {
    /// The failure somewhere in `e`'s source chain, if a provider failed.
    pub fn find<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a ProviderFailure> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if let Some(f) = err.downcast_ref::<ProviderFailure>() {
                return Some(f);
            }
            cur = err.source();
        }
        None
    }
}

/// One call to the application's credentials function (the bindings
/// implement it over a JS async function).
#[async_trait]
pub trait CredentialSource: Send + Sync + 'static {
    async fn call(&self) -> std::result::Result<ProvidedCredential, ProviderFailure>;
}

/// The application's credentials function with the cache every AWS client
/// of a connection (or of a table with its own provider) shares: called
/// lazily, its answer kept until shortly before `expiresAt`, refreshed in
/// the background ahead of that so requests do not wait, and one call in
/// flight at a time whatever the number of concurrent requests.
#[derive(Clone)]
pub struct ProvidedCredentials {
    inner: Arc<ProviderState>,
}

struct ProviderState {
    id: u64,
    source: Box<dyn CredentialSource>,
    state: std::sync::Mutex<CacheState>,
}

type Refresh = futures::future::Shared<
    futures::future::BoxFuture<'static, std::result::Result<Cached, ProviderFailure>>,
>;

#[derive(Default)]
struct CacheState {
    current: Option<Cached>,
    inflight: Option<Refresh>,
    /// When a background refresh last failed: no new one for a second.
    failed_at: Option<SystemTime>,
}

#[derive(Clone)]
pub struct Cached {
    pub cred: Arc<AwsCredential>,
    pub expires_at: Option<SystemTime>,
    /// From here on, a request starts a background refresh and goes on
    /// with these credentials.
    refresh_at: Option<SystemTime>,
    /// From here on, a request waits for new credentials.
    usable_until: Option<SystemTime>,
}

/// Ahead of expiry: refresh in the background from `min(5 min, lifetime/2)`
/// before it, stop using the keys `min(30 s, lifetime/10)` before it.
const BACKGROUND_AHEAD: Duration = Duration::from_secs(300);
const STOP_AHEAD: Duration = Duration::from_secs(30);

impl std::fmt::Debug for ProvidedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProvidedCredentials(#{})", self.inner.id)
    }
}

impl PartialEq for ProvidedCredentials {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl ProvidedCredentials {
    pub fn new(source: Box<dyn CredentialSource>) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        ProvidedCredentials {
            inner: Arc::new(ProviderState {
                id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                source,
                state: std::sync::Mutex::new(CacheState::default()),
            }),
        }
    }

    /// Distinguishes providers in a configuration fingerprint.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // A panic while holding this lock cannot leave the state half
        // written (every update is one assignment): keep using it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Credentials to sign a request with now.
    pub async fn get(&self) -> std::result::Result<Cached, ProviderFailure> {
        let now = SystemTime::now();
        let wait_for = {
            let mut st = self.lock();
            let current = st.current.clone();
            match current {
                Some(c) if c.usable_until.is_none_or(|u| now < u) => {
                    let due = c.refresh_at.is_some_and(|r| now >= r);
                    let backing_off = st
                        .failed_at
                        .is_some_and(|f| now < f + Duration::from_secs(1));
                    if due && st.inflight.is_none() && !backing_off {
                        let refresh = self.start_refresh(&mut st, true);
                        tokio::spawn(refresh);
                    }
                    return Ok(c);
                }
                _ => match &st.inflight {
                    Some(r) => r.clone(),
                    None => self.start_refresh(&mut st, false),
                },
            }
        };
        wait_for.await
    }

    fn start_refresh(&self, st: &mut CacheState, background: bool) -> Refresh {
        use futures::FutureExt;
        let this = self.clone();
        let fut = async move {
            let started = SystemTime::now();
            let result = this
                .inner
                .source
                .call()
                .await
                .and_then(|c| cached(c, started));
            let mut st = this.lock();
            st.inflight = None;
            match &result {
                Ok(c) => {
                    st.current = Some(c.clone());
                    st.failed_at = None;
                }
                Err(_) if background => st.failed_at = Some(SystemTime::now()),
                Err(_) => {}
            }
            result
        }
        .boxed()
        .shared();
        st.inflight = Some(fut.clone());
        fut
    }
}

fn cached(c: ProvidedCredential, now: SystemTime) -> std::result::Result<Cached, ProviderFailure> {
    let (refresh_at, usable_until) = match c.expires_at {
        None => (None, None),
        Some(exp) => {
            let lifetime = exp
                .duration_since(now)
                .map_err(|_| ProviderFailure("it returned an expiresAt in the past".into()))?;
            (
                Some(exp - BACKGROUND_AHEAD.min(lifetime / 2)),
                Some(exp - STOP_AHEAD.min(lifetime / 10)),
            )
        }
    };
    Ok(Cached {
        cred: Arc::new(AwsCredential {
            key_id: c.key_id,
            secret_key: c.secret,
            token: c.token,
        }),
        expires_at: c.expires_at,
        refresh_at,
        usable_until,
    })
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

    struct Counting {
        calls: Arc<std::sync::atomic::AtomicUsize>,
        lifetime: Duration,
        fail: bool,
    }

    #[async_trait]
    impl CredentialSource for Counting {
        async fn call(&self) -> std::result::Result<ProvidedCredential, ProviderFailure> {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.fail {
                return Err(ProviderFailure("boom".into()));
            }
            Ok(ProvidedCredential {
                key_id: format!("AKID{n}"),
                secret: "s".into(),
                token: None,
                expires_at: Some(SystemTime::now() + self.lifetime),
            })
        }
    }

    fn provider(
        lifetime: Duration,
        fail: bool,
    ) -> (ProvidedCredentials, Arc<std::sync::atomic::AtomicUsize>) {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = ProvidedCredentials::new(Box::new(Counting {
            calls: calls.clone(),
            lifetime,
            fail,
        }));
        (p, calls)
    }

    #[tokio::test]
    async fn concurrent_first_requests_share_one_call_and_later_ones_hit_the_cache() {
        let (p, calls) = provider(Duration::from_secs(3600), false);
        let got = futures::future::join_all((0..20).map(|_| p.get())).await;
        assert!(got
            .iter()
            .all(|g| g.as_ref().unwrap().cred.key_id == "AKID0"));
        p.get().await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_in_the_background_before_expiry_without_waiting() {
        let (p, calls) = provider(Duration::from_millis(1000), false);
        assert_eq!(p.get().await.unwrap().cred.key_id, "AKID0");
        // Past half the lifetime: served from the cache, refresh started.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(p.get().await.unwrap().cred.key_id, "AKID0");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(p.get().await.unwrap().cred.key_id, "AKID1");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failing_provider_is_reported_to_every_waiting_request() {
        let (p, calls) = provider(Duration::from_secs(10), true);
        let got = futures::future::join_all((0..5).map(|_| p.get())).await;
        for g in got {
            let e = g.err().unwrap();
            assert_eq!(e.to_string(), "the credentials provider failed: boom");
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn region_of_named_and_default_profiles() {
        let text = "[default]\nregion = us-east-1\n\n# note\n[profile good]\noutput=json\nregion=eu-west-2\n[profile other]\nregion = ap-south-1\n";
        assert_eq!(region_in(text, "default").as_deref(), Some("us-east-1"));
        assert_eq!(region_in(text, "good").as_deref(), Some("eu-west-2"));
        assert_eq!(region_in(text, "missing"), None);
        assert_eq!(region_in("[profile x]\noutput = json\n", "x"), None);
    }
}
