//! The application's credentials function (`connect(uri, { credentials })`)
//! for every backend: one cache shared by all the clients of a connection
//! (or of a table with its own function), and the check that turns what the
//! function returned into the credential the URI's backend signs with:
//!
//! * S3 (`s3://`, `s3+ddb://`): `{ accessKeyId, secretAccessKey, sessionToken? }`
//! * Azure (`az://`): `{ sasToken }`, `{ token }` (OAuth bearer) or `{ accountKey }`
//! * GCS (`gs://`): `{ token }` (OAuth bearer)
//!
//! each with an optional `expiresAt`. A value of the wrong shape is a
//! [`ProviderFailure`] naming the fields expected, never a value.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use object_store::aws::AwsCredential;
use object_store::azure::{AzureAccessKey, AzureCredential};
use object_store::gcp::GcpCredential;
use object_store::CredentialProvider;

use super::secret::Secret;

/// What the application's function returned: the fields the bindings found,
/// each checked for its type only (which backend it is for is not known
/// there). Secret fields are [`Secret`]s, so no `Debug` shows them.
#[derive(Debug, Default)]
pub struct ProvidedCredential {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    pub sas_token: Option<Secret>,
    pub token: Option<Secret>,
    pub account_key: Option<Secret>,
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

/// An answer the bindings could read but whose value is not an object of
/// known fields with the right types: the message (naming fields, never
/// values) is completed with the shapes the backend takes.
pub struct ShapeFailure(pub String);

/// One call to the application's credentials function (the bindings
/// implement it over a JS async function).
#[async_trait]
pub trait CredentialSource: Send + Sync + 'static {
    async fn call(&self) -> std::result::Result<ProvidedCredential, CallFailure>;
}

/// Why a call gave no credential.
pub enum CallFailure {
    /// It threw, rejected, or could not be called: the text says which.
    Failed(String),
    /// It returned something of the wrong type.
    Shape(ShapeFailure),
}

/// Which backend a credential is for: decides the shape it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Aws,
    Azure,
    Gcp,
}

impl CredentialKind {
    /// The shapes accepted, for messages.
    pub fn shapes(self) -> &'static str {
        match self {
            CredentialKind::Aws => "an s3:// or s3+ddb:// database needs { accessKeyId: string, secretAccessKey: string, sessionToken?: string, expiresAt?: Date | number }",
            CredentialKind::Azure => "an az:// database needs one of { sasToken: string }, { token: string } (an OAuth bearer token) or { accountKey: string }, each with expiresAt?: Date | number",
            CredentialKind::Gcp => "a gs:// database needs { token: string (an OAuth bearer token), expiresAt?: Date | number }",
        }
    }
}

/// A credential checked for its backend, as the object_store client of
/// that backend takes it.
#[derive(Clone)]
pub enum Credential {
    Aws(Arc<AwsCredential>),
    Azure(Arc<AzureCredential>),
    Gcp(Arc<GcpCredential>),
}

fn shape(kind: CredentialKind, what: impl std::fmt::Display) -> ProviderFailure {
    ProviderFailure(format!("{what}; {}", kind.shapes()).into())
}

/// The fields given, by name, for messages.
fn fields_given(c: &ProvidedCredential) -> Vec<&'static str> {
    [
        ("accessKeyId", c.access_key_id.is_some()),
        ("secretAccessKey", c.secret_access_key.is_some()),
        ("sessionToken", c.session_token.is_some()),
        ("sasToken", c.sas_token.is_some()),
        ("token", c.token.is_some()),
        ("accountKey", c.account_key.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect()
}

/// What a value given for another backend looks like, for a message that
/// says so ("it returned AWS keys").
fn other_backend(c: &ProvidedCredential, kind: CredentialKind) -> Option<&'static str> {
    let aws = c.access_key_id.is_some() || c.secret_access_key.is_some();
    match kind {
        CredentialKind::Aws if c.sas_token.is_some() || c.account_key.is_some() => {
            Some("Azure credentials")
        }
        CredentialKind::Aws if c.token.is_some() => Some("a bearer token (Azure or GCS)"),
        CredentialKind::Azure | CredentialKind::Gcp if aws => Some("AWS keys"),
        CredentialKind::Gcp if c.sas_token.is_some() || c.account_key.is_some() => {
            Some("Azure credentials")
        }
        _ => None,
    }
}

/// Turns what the function returned into the credential `kind` signs with.
pub fn convert(
    c: ProvidedCredential,
    kind: CredentialKind,
) -> std::result::Result<Credential, ProviderFailure> {
    let given = fields_given(&c);
    if let Some(other) = other_backend(&c, kind) {
        return Err(shape(
            kind,
            format!("it returned {other} ({})", given.join(", ")),
        ));
    }
    let nonempty = |name: &str, v: Option<&str>| match v {
        None => Err(shape(kind, format!("{name} is missing"))),
        Some("") => Err(shape(kind, format!("{name} is empty"))),
        Some(_) => Ok(()),
    };
    match kind {
        CredentialKind::Aws => {
            nonempty("accessKeyId", c.access_key_id.as_deref())?;
            nonempty(
                "secretAccessKey",
                c.secret_access_key.as_ref().map(Secret::expose),
            )?;
            Ok(Credential::Aws(Arc::new(AwsCredential {
                key_id: c.access_key_id.unwrap_or_default(),
                secret_key: c
                    .secret_access_key
                    .map(|s| s.expose().to_string())
                    .unwrap_or_default(),
                token: c.session_token.map(|s| s.expose().to_string()),
            })))
        }
        CredentialKind::Azure => {
            let given: Vec<&str> = given
                .into_iter()
                .filter(|f| ["sasToken", "token", "accountKey"].contains(f))
                .collect();
            if given.len() > 1 {
                return Err(shape(
                    kind,
                    format!(
                        "it returned {}; return only one of them",
                        given.join(" and ")
                    ),
                ));
            }
            let cred = if let Some(sas) = &c.sas_token {
                nonempty("sasToken", Some(sas.expose()))?;
                let pairs = object_store::azure::split_sas(sas.expose()).map_err(|_| {
                    shape(
                        kind,
                        "sasToken is not a SAS query string (key=value pairs joined by '&', as the portal gives it)",
                    )
                })?;
                if !pairs.iter().any(|(k, _)| k == "sig") {
                    return Err(shape(kind, "sasToken has no 'sig' parameter"));
                }
                AzureCredential::SASToken(pairs)
            } else if let Some(token) = &c.token {
                nonempty("token", Some(token.expose()))?;
                AzureCredential::BearerToken(token.expose().to_string())
            } else if let Some(key) = &c.account_key {
                nonempty("accountKey", Some(key.expose()))?;
                AzureCredential::AccessKey(
                    AzureAccessKey::try_new(key.expose())
                        .map_err(|_| shape(kind, "accountKey is not base64"))?,
                )
            } else {
                return Err(shape(
                    kind,
                    "sasToken, token and accountKey are all missing",
                ));
            };
            Ok(Credential::Azure(Arc::new(cred)))
        }
        CredentialKind::Gcp => {
            nonempty("token", c.token.as_ref().map(Secret::expose))?;
            Ok(Credential::Gcp(Arc::new(GcpCredential {
                bearer: c.token.map(|s| s.expose().to_string()).unwrap_or_default(),
            })))
        }
    }
}

/// The application's credentials function with the cache every client of a
/// connection (or of a table with its own function) shares: called lazily,
/// its answer kept until shortly before `expiresAt`, refreshed in the
/// background ahead of that so requests do not wait, and one call in
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
    pub cred: Credential,
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

    /// Credentials of `kind` to sign a request with now. One function
    /// serves one database, so every caller asks for the same kind; a
    /// cached credential of another kind is replaced.
    pub async fn get(&self, kind: CredentialKind) -> std::result::Result<Cached, ProviderFailure> {
        let now = SystemTime::now();
        let wait_for = {
            let mut st = self.lock();
            let current = st.current.clone().filter(|c| c.cred.kind() == kind);
            match current {
                Some(c) if c.usable_until.is_none_or(|u| now < u) => {
                    let due = c.refresh_at.is_some_and(|r| now >= r);
                    let backing_off = st
                        .failed_at
                        .is_some_and(|f| now < f + Duration::from_secs(1));
                    if due && st.inflight.is_none() && !backing_off {
                        let refresh = self.start_refresh(&mut st, kind, true);
                        tokio::spawn(refresh);
                    }
                    return Ok(c);
                }
                _ => match &st.inflight {
                    Some(r) => r.clone(),
                    None => self.start_refresh(&mut st, kind, false),
                },
            }
        };
        wait_for.await
    }

    fn start_refresh(
        &self,
        st: &mut CacheState,
        kind: CredentialKind,
        background: bool,
    ) -> Refresh {
        use futures::FutureExt;
        let this = self.clone();
        let fut = async move {
            let started = SystemTime::now();
            let result = match this.inner.source.call().await {
                Ok(c) => cached(c, kind, started),
                Err(CallFailure::Failed(text)) => Err(ProviderFailure(text.into())),
                Err(CallFailure::Shape(ShapeFailure(text))) => Err(shape(kind, text)),
            };
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

impl Credential {
    fn kind(&self) -> CredentialKind {
        match self {
            Credential::Aws(_) => CredentialKind::Aws,
            Credential::Azure(_) => CredentialKind::Azure,
            Credential::Gcp(_) => CredentialKind::Gcp,
        }
    }
}

fn cached(
    c: ProvidedCredential,
    kind: CredentialKind,
    now: SystemTime,
) -> std::result::Result<Cached, ProviderFailure> {
    let expires_at = c.expires_at;
    let (refresh_at, usable_until) = match expires_at {
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
        cred: convert(c, kind)?,
        expires_at,
        refresh_at,
        usable_until,
    })
}

/// The function as an object_store credential provider for Azure or GCS
/// (S3 goes through [`super::credentials::AwsProvider`], which DynamoDB
/// shares).
#[derive(Debug)]
pub struct ProvidedFor<C> {
    handle: ProvidedCredentials,
    _kind: std::marker::PhantomData<fn() -> C>,
}

impl<C> ProvidedFor<C> {
    pub fn new(handle: ProvidedCredentials) -> Arc<Self> {
        Arc::new(ProvidedFor {
            handle,
            _kind: std::marker::PhantomData,
        })
    }
}

fn failed(store: &'static str, f: ProviderFailure) -> object_store::Error {
    object_store::Error::Generic {
        store,
        source: Box::new(f),
    }
}

#[async_trait]
impl CredentialProvider for ProvidedFor<AzureCredential> {
    type Credential = AzureCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AzureCredential>> {
        match self.handle.get(CredentialKind::Azure).await {
            Ok(Cached {
                cred: Credential::Azure(c),
                ..
            }) => Ok(c),
            Ok(_) => Err(failed(
                "MicrosoftAzure",
                ProviderFailure("internal: not an Azure credential".into()),
            )),
            Err(f) => Err(failed("MicrosoftAzure", f)),
        }
    }
}

#[async_trait]
impl CredentialProvider for ProvidedFor<GcpCredential> {
    type Credential = GcpCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<GcpCredential>> {
        match self.handle.get(CredentialKind::Gcp).await {
            Ok(Cached {
                cred: Credential::Gcp(c),
                ..
            }) => Ok(c),
            Ok(_) => Err(failed(
                "GCS",
                ProviderFailure("internal: not a GCS credential".into()),
            )),
            Err(f) => Err(failed("GCS", f)),
        }
    }
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
        async fn call(&self) -> std::result::Result<ProvidedCredential, CallFailure> {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.fail {
                return Err(CallFailure::Failed("boom".into()));
            }
            Ok(ProvidedCredential {
                access_key_id: Some(format!("AKID{n}")),
                secret_access_key: Some(Secret::new("s")),
                expires_at: Some(SystemTime::now() + self.lifetime),
                ..Default::default()
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

    fn key_id(c: &Cached) -> String {
        match &c.cred {
            Credential::Aws(a) => a.key_id.clone(),
            _ => panic!("not AWS"),
        }
    }

    const AWS: CredentialKind = CredentialKind::Aws;

    #[tokio::test]
    async fn concurrent_first_requests_share_one_call_and_later_ones_hit_the_cache() {
        let (p, calls) = provider(Duration::from_secs(3600), false);
        let got = futures::future::join_all((0..20).map(|_| p.get(AWS))).await;
        assert!(got.iter().all(|g| key_id(g.as_ref().unwrap()) == "AKID0"));
        p.get(AWS).await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_in_the_background_before_expiry_without_waiting() {
        let (p, calls) = provider(Duration::from_millis(1000), false);
        assert_eq!(key_id(&p.get(AWS).await.unwrap()), "AKID0");
        // Past half the lifetime: served from the cache, refresh started.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(key_id(&p.get(AWS).await.unwrap()), "AKID0");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(key_id(&p.get(AWS).await.unwrap()), "AKID1");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failing_provider_is_reported_to_every_waiting_request() {
        let (p, calls) = provider(Duration::from_secs(10), true);
        let got = futures::future::join_all((0..5).map(|_| p.get(AWS))).await;
        for g in got {
            let e = g.err().unwrap();
            assert_eq!(e.to_string(), "the credentials provider failed: boom");
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    fn value(fields: &[(&str, &str)]) -> ProvidedCredential {
        let mut c = ProvidedCredential::default();
        for (k, v) in fields {
            let s = Some(Secret::new(*v));
            match *k {
                "accessKeyId" => c.access_key_id = Some(v.to_string()),
                "secretAccessKey" => c.secret_access_key = s,
                "sasToken" => c.sas_token = s,
                "token" => c.token = s,
                "accountKey" => c.account_key = s,
                _ => unreachable!(),
            }
        }
        c
    }

    fn err(fields: &[(&str, &str)], kind: CredentialKind) -> String {
        match convert(value(fields), kind) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted {fields:?} for {kind:?}"),
        }
    }

    #[test]
    fn each_backend_takes_its_shapes_and_names_the_fields_of_another() {
        let sas = "sv=2021-08-06&se=2030-01-01T00%3A00%3A00Z&sp=rl&sig=c2VjcmV0U2lnbmF0dXJl%2B";
        assert!(matches!(
            convert(value(&[("sasToken", sas)]), CredentialKind::Azure),
            Ok(Credential::Azure(c)) if matches!(c.as_ref(), AzureCredential::SASToken(p) if p.iter().any(|(k, v)| k == "sig" && v == "c2VjcmV0U2lnbmF0dXJl+"))
        ));
        assert!(matches!(
            convert(value(&[("token", "tok")]), CredentialKind::Azure),
            Ok(Credential::Azure(c)) if matches!(c.as_ref(), AzureCredential::BearerToken(t) if t == "tok")
        ));
        assert!(matches!(
            convert(value(&[("accountKey", "a2V5")]), CredentialKind::Azure),
            Ok(Credential::Azure(c)) if matches!(c.as_ref(), AzureCredential::AccessKey(_))
        ));
        assert!(matches!(
            convert(value(&[("token", "tok")]), CredentialKind::Gcp),
            Ok(Credential::Gcp(c)) if c.bearer == "tok"
        ));

        let keys = [
            ("accessKeyId", "AKIDSECRETISH"),
            ("secretAccessKey", "TopSecretValue"),
        ];
        let az = err(&keys, CredentialKind::Azure);
        assert!(
            az.contains("it returned AWS keys (accessKeyId, secretAccessKey)"),
            "{az}"
        );
        assert!(az.contains("{ sasToken: string }"), "{az}");
        assert!(
            !az.contains("TopSecretValue") && !az.contains("AKIDSECRETISH"),
            "{az}"
        );
        let gs = err(&keys, CredentialKind::Gcp);
        assert!(
            gs.contains("AWS keys") && gs.contains("a gs:// database needs { token"),
            "{gs}"
        );
        let s3 = err(&[("sasToken", sas)], CredentialKind::Aws);
        assert!(
            s3.contains("it returned Azure credentials (sasToken)"),
            "{s3}"
        );
        assert!(s3.contains("accessKeyId: string"), "{s3}");
        assert!(!s3.contains("sig="), "{s3}");
        assert!(err(&[("token", "t")], CredentialKind::Aws).contains("a bearer token"));

        let both = err(&[("sasToken", sas), ("token", "t")], CredentialKind::Azure);
        assert!(
            both.contains("sasToken and token; return only one"),
            "{both}"
        );
        assert!(err(&[], CredentialKind::Azure)
            .contains("sasToken, token and accountKey are all missing"));
        assert!(err(&[("sasToken", "not a sas")], CredentialKind::Azure)
            .contains("not a SAS query string"));
        assert!(err(&[("sasToken", "sv=1&sp=r")], CredentialKind::Azure).contains("no 'sig'"));
        let bad_key = err(&[("accountKey", "not*base64!")], CredentialKind::Azure);
        assert!(
            bad_key.contains("accountKey is not base64") && !bad_key.contains("not*base64!"),
            "{bad_key}"
        );
        assert!(err(&[("token", "")], CredentialKind::Gcp).contains("token is empty"));
        assert!(err(&[], CredentialKind::Gcp).contains("token is missing"));
        assert!(err(&[("accessKeyId", "A")], CredentialKind::Aws)
            .contains("secretAccessKey is missing"));
    }
}
