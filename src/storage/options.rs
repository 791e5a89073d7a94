//! Resolution of storage options: user spellings -> registry rows, values ->
//! typed values, and the four tiers (table > connection > env > default)
//! merged deterministically, then turned into the typed [`StorageConfig`]
//! once. Everything downstream reads the typed configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use heck::{ToLowerCamelCase, ToShoutySnakeCase};

use super::config::{AwsCredentials, BackendConfig, StorageConfig};
use super::credentials::ProvidedCredentials;
use super::registry::{self, Backend, KeyDef, Kind, Lookup, REGISTRY};
use super::secret::{Redactor, Secret, MASK};
use crate::error::quote;
use crate::error::{Error, Result};

/// A value as the user gave it, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Str(String),
    Bool(bool),
    Num(f64),
    /// Anything else (object, array, null...), named by its JS type.
    Other(String),
}

/// One option as given: the spelling the user wrote, its snake_case form
/// (made with heck at the binding boundary) and the value.
#[derive(Debug, Clone)]
pub struct RawOption {
    pub given: String,
    pub key: String,
    pub value: RawValue,
}

impl RawOption {
    pub fn new(given: impl Into<String>, value: RawValue) -> Self {
        let given = given.into();
        let key = heck::ToSnakeCase::to_snake_case(given.as_str());
        RawOption { given, key, value }
    }
}

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Table,
    Connection,
    Env,
    /// The AWS shared config file (`~/.aws/config`): the region of the
    /// profile whose credentials are used, when no region is given.
    Profile,
    Default,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Table => "table",
            Source::Connection => "connection",
            Source::Env => "env",
            Source::Profile => "profile",
            Source::Default => "default",
        }
    }
}

#[derive(Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Duration(Duration),
    Int(u64),
    Text(String),
    Secret(Secret),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl Value {
    /// The value as the effective-configuration report and logs show it.
    pub fn display(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Duration(d) => humantime::format_duration(*d).to_string(),
            Value::Int(i) => i.to_string(),
            Value::Text(s) => s.clone(),
            Value::Secret(_) => MASK.to_string(),
        }
    }

    /// The canonical text object_store's config setters take. Contains the
    /// raw secret: only for handing to a builder.
    pub fn to_config_string(&self) -> String {
        match self {
            Value::Duration(d) => format!("{}ms", d.as_millis()),
            Value::Secret(s) => s.expose().to_string(),
            other => other.display(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub def: &'static KeyDef,
    pub value: Value,
    pub source: Source,
    /// The spelling or environment variable the value came through.
    pub given_as: String,
}

/// Reads environment variables; injectable so tests control the tier.
pub trait EnvSource: Sync {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

/// The values of every environment variable a registry row reads, taken
/// once (at connect): tables opened later resolve against the same values,
/// whatever changed the process environment meanwhile.
pub fn snapshot_env(env: &dyn EnvSource) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for def in super::registry::REGISTRY {
        for var in def.env {
            if let Some(v) = env.var(var) {
                out.insert(var.to_string(), v);
            }
        }
    }
    out
}

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned().filter(|v| !v.is_empty())
    }
}

/// The resolved values of one connection or table, looked up by registry
/// row. Only the typed-configuration builder reads it.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedSet<'a> {
    pub backend: Backend,
    values: &'a [Resolved],
}

impl<'a> ResolvedSet<'a> {
    pub fn get(&self, def: &'static KeyDef) -> Option<&'a Resolved> {
        self.values.iter().find(|r| std::ptr::eq(r.def, def))
    }

    pub fn bool(&self, def: &'static KeyDef) -> Option<bool> {
        match self.get(def)?.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// A flag: unset means false.
    pub fn flag(&self, def: &'static KeyDef) -> bool {
        self.bool(def) == Some(true)
    }

    pub fn duration(&self, def: &'static KeyDef) -> Option<Duration> {
        match self.get(def)?.value {
            Value::Duration(d) => Some(d),
            _ => None,
        }
    }

    pub fn int(&self, def: &'static KeyDef) -> Option<u64> {
        match self.get(def)?.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// A non-secret text value.
    pub fn text(&self, def: &'static KeyDef) -> Option<&'a str> {
        match &self.get(def)?.value {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn secret(&self, def: &'static KeyDef) -> Option<&'a Secret> {
        match &self.get(def)?.value {
            Value::Secret(s) => Some(s),
            _ => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a Resolved> {
        self.values.iter()
    }
}

/// The resolved, validated options of one connection or table, and the
/// typed configuration made from them.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    backend: Backend,
    values: Vec<Resolved>,
    /// General client keys given for a backend without an HTTP client
    /// (local, memory): validated, reported as not applying, unused.
    not_applying: Vec<Resolved>,
    config: StorageConfig,
    /// The application's credentials function in use, and the tier it came
    /// from (table or connection).
    provider: Option<(ProvidedCredentials, Source)>,
}

/// Credentials functions given beside the options, per tier.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    pub table: Option<ProvidedCredentials>,
    pub connection: Option<ProvidedCredentials>,
}

/// One line of the effective-configuration report.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveOption {
    pub key: &'static str,
    pub value: String,
    pub source: Source,
    pub given_as: String,
    pub secret: bool,
    /// False for a key given that this backend has no use for (a client
    /// timeout on a local database).
    pub applies: bool,
}

type Tier = BTreeMap<&'static str, (String, Value)>;

impl StorageOptions {
    /// Resolves the tiers for `backend`. `table` is `None` for a connection.
    /// Every value given is validated, whatever backend its key is for.
    pub fn resolve(
        backend: Backend,
        table: Option<&[RawOption]>,
        connection: &[RawOption],
        env: &dyn EnvSource,
    ) -> Result<Self> {
        Self::resolve_with(backend, table, connection, env, &Providers::default())
    }

    /// [`resolve`](Self::resolve) with credentials functions. A function
    /// takes the place of the key options (`aws_access_key_id`,
    /// `aws_secret_access_key`, `aws_session_token`, `aws_profile`) at its
    /// tier: keys from a higher tier win over it, keys from a lower tier or
    /// the environment are not used, and both at one tier is an error.
    pub fn resolve_with(
        backend: Backend,
        table: Option<&[RawOption]>,
        connection: &[RawOption],
        env: &dyn EnvSource,
        providers: &Providers,
    ) -> Result<Self> {
        let table_tier = match table {
            Some(t) => parse_tier(backend, t)?,
            None => Tier::new(),
        };
        let conn_tier = parse_tier(backend, connection)?;
        let mut values = Vec::new();
        let mut not_applying = Vec::new();
        for def in REGISTRY {
            let given = table_tier
                .get(def.name)
                .map(|(g, v)| (v.clone(), Source::Table, g.clone()))
                .or_else(|| {
                    conn_tier
                        .get(def.name)
                        .map(|(g, v)| (v.clone(), Source::Connection, g.clone()))
                });
            if !def.applies_to(backend) {
                if let Some((value, source, given_as)) = given {
                    if def.is_general_client() {
                        not_applying.push(Resolved {
                            def,
                            value,
                            source,
                            given_as,
                        });
                    } else {
                        tracing::debug!(key = %given_as, canonical = def.name, backend = backend.name(), "storage option ignored: it applies to other backends");
                    }
                }
                continue;
            }
            let resolved = match given {
                Some(g) => Some(g),
                None => match def.env.iter().find_map(|e| env.var(e).map(|v| (*e, v))) {
                    Some((var, raw)) => {
                        let raw = match raw.trim().parse::<u64>() {
                            Ok(n) if registry::MIB_ENV.contains(&var) => format!("{n}MiB"),
                            _ => raw,
                        };
                        let v = parse_value(def, var, &RawValue::Str(raw))?;
                        Some((v, Source::Env, var.to_string()))
                    }
                    None => def.default.map(|d| {
                        let v = parse_value(def, def.name, &RawValue::Str(d.to_string()))
                            .expect("registry defaults parse (defaults_parse_and_are_reported)");
                        (v, Source::Default, def.name.to_string())
                    }),
                },
            };
            if let Some((value, source, given_as)) = resolved {
                values.push(Resolved {
                    def,
                    value,
                    source,
                    given_as,
                });
            }
        }
        let provider = choose_provider(backend, &mut values, providers)?;
        if backend == Backend::S3 && provider.is_none() {
            apply_profile_region(&mut values);
        }
        let set = ResolvedSet {
            backend,
            values: &values,
        };
        check_combinations(set)?;
        let mut config = StorageConfig::from_resolved(set)?;
        if let Some((p, _)) = &provider {
            match &mut config.backend {
                BackendConfig::S3(s3) => s3.credentials = AwsCredentials::Provided(p.clone()),
                BackendConfig::Azure(az) => az.provided = Some(p.clone()),
                BackendConfig::Gcs(gcs) => gcs.provided = Some(p.clone()),
                BackendConfig::Local | BackendConfig::Memory => {}
            }
        }
        Ok(StorageOptions {
            backend,
            values,
            not_applying,
            config,
            provider,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The resolved values, by registry row.
    pub fn set(&self) -> ResolvedSet<'_> {
        ResolvedSet {
            backend: self.backend,
            values: &self.values,
        }
    }

    /// The typed configuration: what every client of this connection or
    /// table is built from.
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    pub fn redactor(&self) -> Redactor {
        let mut r = Redactor::default();
        for v in self.values.iter().chain(&self.not_applying) {
            if let Value::Secret(s) = &v.value {
                r.add(s);
            }
        }
        r
    }

    pub fn effective(&self) -> Vec<EffectiveOption> {
        let line = |r: &Resolved, applies: bool| EffectiveOption {
            key: r.def.name,
            value: r.value.display(),
            source: r.source,
            given_as: r.given_as.clone(),
            secret: r.def.secret,
            applies,
        };
        self.values
            .iter()
            .map(|r| line(r, true))
            .chain(self.not_applying.iter().map(|r| line(r, false)))
            .chain(self.provider.as_ref().map(|(_, source)| EffectiveOption {
                key: "credentials",
                value: "(from the credentials provider function)".into(),
                source: *source,
                given_as: "credentials".into(),
                secret: false,
                applies: true,
            }))
            .collect()
    }

    /// A stable fingerprint of everything that shapes a client, so equal
    /// configurations can share one object store. Secrets are included as
    /// values: the fingerprint itself is never shown.
    pub fn fingerprint(&self) -> String {
        self.values
            .iter()
            .map(|r| format!("{}={}", r.def.name, r.value.to_config_string()))
            .chain(
                self.provider
                    .iter()
                    .map(|(p, _)| format!("credentials=provider#{}", p.id())),
            )
            .collect::<Vec<_>>()
            .join("\u{1}")
    }
}

/// The key options a credentials function replaces, per backend.
const S3_PROVIDED_KEYS: [&KeyDef; 4] = [
    &registry::AWS_ACCESS_KEY_ID,
    &registry::AWS_SECRET_ACCESS_KEY,
    &registry::AWS_SESSION_TOKEN,
    &registry::AWS_PROFILE,
];
const AZURE_PROVIDED_KEYS: [&KeyDef; 5] = [
    &registry::AZURE_STORAGE_ACCOUNT_KEY,
    &registry::AZURE_STORAGE_SAS_KEY,
    &registry::AZURE_STORAGE_TOKEN,
    &registry::AZURE_CLIENT_SECRET,
    &registry::AZURE_FEDERATED_TOKEN_FILE,
];
const GCS_PROVIDED_KEYS: [&KeyDef; 4] = [
    &registry::GOOGLE_SERVICE_ACCOUNT,
    &registry::GOOGLE_SERVICE_ACCOUNT_KEY,
    &registry::GOOGLE_APPLICATION_CREDENTIALS,
    &registry::GOOGLE_BEARER_TOKEN,
];

fn provided_keys(backend: Backend) -> &'static [&'static KeyDef] {
    match backend {
        Backend::S3 => &S3_PROVIDED_KEYS,
        Backend::Azure => &AZURE_PROVIDED_KEYS,
        Backend::Gcs => &GCS_PROVIDED_KEYS,
        Backend::Local | Backend::Memory => &[],
    }
}

fn tier_rank(s: Source) -> u8 {
    match s {
        Source::Table => 3,
        Source::Connection => 2,
        Source::Env | Source::Profile => 1,
        Source::Default => 0,
    }
}

/// Which credentials function applies (see [`StorageOptions::resolve_with`]),
/// removing the key rows it replaces.
fn choose_provider(
    backend: Backend,
    values: &mut Vec<Resolved>,
    providers: &Providers,
) -> Result<Option<(ProvidedCredentials, Source)>> {
    let given = match (&providers.table, &providers.connection) {
        (Some(p), _) => (p.clone(), Source::Table),
        (None, Some(p)) => (p.clone(), Source::Connection),
        (None, None) => return Ok(None),
    };
    if backend.is_in_process() {
        return Err(Error::NotSupported(format!(
            "a credentials provider function is for s3://, s3+ddb://, az:// and gs:// databases; a {} database needs no credentials",
            backend.name()
        )));
    }
    let replaced = provided_keys(backend);
    let is_replaced = |r: &Resolved| replaced.iter().any(|d| std::ptr::eq(*d, r.def));
    let keys: Vec<&Resolved> = values.iter().filter(|r| is_replaced(r)).collect();
    if let Some(same) = keys.iter().find(|r| r.source == given.1) {
        return Err(Error::invalid_argument(format!(
            "both a credentials provider function and '{}' are given for the {}; give one of them",
            same.given_as,
            given.1.name()
        )));
    }
    if keys
        .iter()
        .any(|r| tier_rank(r.source) > tier_rank(given.1))
    {
        // Keys given for the table win over the connection's function.
        return Ok(None);
    }
    values.retain(|r| !is_replaced(r));
    Ok(Some(given))
}

/// No region given: when the AWS credential chain signs (no static keys, not
/// unsigned), the region of the profile it reads, as the AWS SDKs do.
fn apply_profile_region(values: &mut [Resolved]) {
    let find = |values: &[Resolved], def: &'static KeyDef| {
        values.iter().position(|r| std::ptr::eq(r.def, def))
    };
    let uses_chain = find(values, &registry::AWS_ACCESS_KEY_ID).is_none()
        && !values.iter().any(|r| {
            std::ptr::eq(r.def, &registry::AWS_SKIP_SIGNATURE) && r.value == Value::Bool(true)
        });
    let Some(region) = find(values, &registry::AWS_REGION) else {
        return;
    };
    if !uses_chain || values[region].source != Source::Default {
        return;
    }
    let profile = find(values, &registry::AWS_PROFILE).and_then(|i| match &values[i].value {
        Value::Text(p) => Some(p.clone()),
        _ => None,
    });
    if let Some(found) = super::credentials::profile_region(profile.as_deref()) {
        values[region] = Resolved {
            def: &registry::AWS_REGION,
            value: Value::Text(found.region),
            source: Source::Profile,
            given_as: found.given_as,
        };
    }
}

fn check_combinations(set: ResolvedSet<'_>) -> Result<()> {
    if let Some(kms) = set.get(&registry::AWS_SSE_KMS_KEY_ID) {
        let algo = set.text(&registry::AWS_SERVER_SIDE_ENCRYPTION);
        if !algo.is_some_and(|a| registry::KMS_ALGORITHMS.contains(&a)) {
            return Err(Error::InvalidStorageOption {
                key: kms.given_as.clone(),
                value: format!("'{}'", quote(&kms.value.display())),
                reason: format!(
                    "a KMS key id needs aws_server_side_encryption set to one of {} (it is {})",
                    registry::KMS_ALGORITHMS.join(", "),
                    algo.map(|a| format!("'{a}'"))
                        .unwrap_or_else(|| "not set".into())
                ),
            });
        }
    }
    Ok(())
}

fn parse_tier(backend: Backend, raw: &[RawOption]) -> Result<Tier> {
    let mut tier = Tier::new();
    for opt in raw {
        let def = match registry::lookup(&opt.key, backend) {
            // A key of another backend does not apply, but its value is
            // still checked: a typo fails in development, not in production.
            Lookup::Key(def) | Lookup::OtherBackend(def) => def,
            Lookup::Unknown => {
                let suggestion =
                    registry::suggest(&opt.key, backend).map(|s| restyle(s, &opt.given));
                return Err(Error::UnknownStorageOption {
                    key: quote(&opt.given),
                    suggestion,
                    hint: format!(
                        "See the storage options of the {} backend in the README (keys are case-insensitive: camelCase, snake_case and UPPER_CASE all work)",
                        backend.name()
                    ),
                });
            }
        };
        let value = parse_value(def, &opt.given, &opt.value)?;
        if let Some((prev_given, prev)) = tier.get(def.name) {
            if *prev != value {
                return Err(Error::InvalidStorageOption {
                    key: quote(&opt.given),
                    value: shown(def, &opt.value),
                    reason: format!(
                        "'{}' names the same option with a different value; give it once",
                        quote(prev_given)
                    ),
                });
            }
            continue;
        }
        tier.insert(def.name, (opt.given.clone(), value));
    }
    Ok(tier)
}

/// Spells a snake_case key the way the user spelled theirs.
fn restyle(snake: &str, like: &str) -> String {
    let has_lower = like.chars().any(|c| c.is_ascii_lowercase());
    let has_upper = like.chars().any(|c| c.is_ascii_uppercase());
    if has_upper && !has_lower {
        snake.to_shouty_snake_case()
    } else if has_upper && !like.contains('_') {
        snake.to_lower_camel_case()
    } else {
        snake.to_string()
    }
}

/// The value as an error message may show it: masked when secret, bounded.
fn shown(def: &KeyDef, raw: &RawValue) -> String {
    if def.secret {
        return MASK.to_string();
    }
    match raw {
        RawValue::Str(s) => format!("'{}'", quote(s)),
        RawValue::Bool(b) => b.to_string(),
        RawValue::Num(n) => n.to_string(),
        RawValue::Other(t) => format!("of type {}", quote(t)),
    }
}

fn parse_value(def: &'static KeyDef, given: &str, raw: &RawValue) -> Result<Value> {
    let bad = |reason: String| Error::InvalidStorageOption {
        key: quote(given),
        value: shown(def, raw),
        reason,
    };
    let expected = || bad(format!("expected {}", expected(def)));
    if let RawValue::Other(_) = raw {
        return Err(expected());
    }
    let value = match def.kind {
        Kind::Bool => match raw {
            RawValue::Bool(b) => Value::Bool(*b),
            RawValue::Str(s) => Value::Bool(parse_bool(s).ok_or_else(expected)?),
            _ => return Err(expected()),
        },
        Kind::Duration | Kind::DurationSecs => {
            let seconds_ok = def.kind == Kind::DurationSecs;
            let secs = |n: f64| {
                (n >= 0.0)
                    .then(|| Duration::try_from_secs_f64(n).ok())
                    .flatten()
            };
            match raw {
                RawValue::Num(n) if seconds_ok => Value::Duration(secs(*n).ok_or_else(expected)?),
                RawValue::Str(s) if seconds_ok && s.trim().parse::<f64>().is_ok() => {
                    Value::Duration(
                        s.trim()
                            .parse::<f64>()
                            .ok()
                            .and_then(secs)
                            .ok_or_else(expected)?,
                    )
                }
                RawValue::Str(s) => {
                    Value::Duration(humantime::parse_duration(s.trim()).map_err(|_| expected())?)
                }
                _ => return Err(expected()),
            }
        }
        Kind::Int => {
            let n = match raw {
                RawValue::Num(n) if *n >= 0.0 && n.fract() == 0.0 && *n <= u32::MAX as f64 => {
                    *n as u64
                }
                RawValue::Str(s) => s.trim().parse::<u64>().map_err(|_| expected())?,
                _ => return Err(expected()),
            };
            Value::Int(in_range(def, n).ok_or_else(expected)?)
        }
        Kind::Size => {
            let n = match raw {
                RawValue::Num(n) if *n >= 0.0 && n.fract() == 0.0 => *n as u64,
                RawValue::Str(s) => parse_size(s).ok_or_else(expected)?,
                _ => return Err(expected()),
            };
            Value::Int(in_range(def, n).ok_or_else(expected)?)
        }
        Kind::Enum(values) => match raw {
            RawValue::Str(s) => {
                let found = values.iter().find(|v| v.eq_ignore_ascii_case(s.trim()));
                Value::Text(found.ok_or_else(expected)?.to_string())
            }
            _ => return Err(expected()),
        },
        Kind::Url => match raw {
            RawValue::Str(s) => {
                let u = url::Url::parse(s.trim()).map_err(|e| {
                    bad(format!(
                        "not a URL ({e}); expected {}",
                        expected_kind(def.kind)
                    ))
                })?;
                if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                    return Err(expected());
                }
                Value::Text(s.trim().to_string())
            }
            _ => return Err(expected()),
        },
        Kind::Pem => match raw {
            RawValue::Str(s) if valid_pem(s) => Value::Text(s.clone()),
            _ => return Err(expected()),
        },
        Kind::Path | Kind::Str => match raw {
            RawValue::Str(s) if def.secret => Value::Secret(Secret::new(s.clone())),
            RawValue::Str(s) => Value::Text(s.clone()),
            _ => return Err(expected()),
        },
    };
    Ok(value)
}

fn in_range(def: &KeyDef, n: u64) -> Option<u64> {
    match def.range {
        Some(r) if n < r.min || n > r.max => None,
        _ => Some(n),
    }
}

/// What a key accepts, its range included.
fn expected(def: &KeyDef) -> String {
    let Some(r) = def.range else {
        return expected_kind(def.kind);
    };
    match def.kind {
        Kind::Size => format!(
            "a size from {} to {}, e.g. \"8MiB\", \"5MB\" or a number of bytes",
            show_size(r.min),
            show_size(r.max)
        ),
        _ => format!("a non-negative integer from {} to {}", r.min, r.max),
    }
}

/// `5MiB (5242880 bytes)`: the unit users write, and the exact number.
fn show_size(n: u64) -> String {
    let unit = [(30, "GiB"), (20, "MiB"), (10, "KiB")]
        .into_iter()
        .find(|(shift, _)| n >= 1 << shift && n.is_multiple_of(1 << shift));
    match unit {
        Some((shift, name)) => format!("{}{name} ({n} bytes)", n >> shift),
        None => format!("{n} bytes"),
    }
}

fn expected_kind(kind: Kind) -> String {
    match kind {
        Kind::Bool => "a boolean: true or false (or the strings \"true\"/\"false\")".into(),
        Kind::Duration => "a duration with a unit, e.g. \"30s\", \"500ms\" or \"2min\"".into(),
        Kind::DurationSecs => "a duration, e.g. \"30s\", or a number of seconds".into(),
        Kind::Int => "a non-negative integer".into(),
        Kind::Size => "a size, e.g. \"8MiB\", \"5MB\" or a number of bytes".into(),
        Kind::Enum(values) => format!(
            "one of {}",
            values
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kind::Url => "an http:// or https:// URL".into(),
        Kind::Path => "a file path (string)".into(),
        Kind::Pem => {
            "PEM text: one or more -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- blocks"
                .into()
        }
        Kind::Str => "a string".into(),
    }
}

/// One or more well-formed PEM certificate blocks (base64 bodies).
fn valid_pem(s: &str) -> bool {
    use base64::Engine;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut rest = s;
    let mut blocks = 0;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else {
            return false;
        };
        let body: String = after[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        match base64::engine::general_purpose::STANDARD.decode(body) {
            Ok(der) if is_der_sequence(&der) => {}
            _ => return false,
        }
        blocks += 1;
        rest = &after[end + END.len()..];
    }
    blocks > 0
}

/// A certificate's DER is one SEQUENCE spanning exactly the bytes given.
fn is_der_sequence(der: &[u8]) -> bool {
    let (Some(&0x30), Some(&first)) = (der.first(), der.get(1)) else {
        return false;
    };
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || der.len() < 2 + n {
            return false;
        }
        (
            der[2..2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize),
            2 + n,
        )
    };
    header + len == der.len() && len > 0
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        _ => return None,
    };
    let v = n * mult as f64;
    (v.is_finite() && v >= 0.0).then_some(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::registry::*;
    use heck::{ToLowerCamelCase, ToShoutySnakeCase};

    fn raw(pairs: &[(&str, &str)]) -> Vec<RawOption> {
        pairs
            .iter()
            .map(|(k, v)| RawOption::new(*k, RawValue::Str(v.to_string())))
            .collect()
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sample_value(def: &KeyDef) -> &'static str {
        match def.kind {
            Kind::Bool => "true",
            Kind::Duration | Kind::DurationSecs => "7s",
            Kind::Int => "3",
            Kind::Size => "8MiB",
            Kind::Enum(v) => v[v.len() - 1],
            Kind::Url => "https://127.0.0.1:9",
            Kind::Pem => "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----",
            // Service account paths must name a file.
            Kind::Path => concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
            Kind::Str => "some-value-1234",
        }
    }

    /// What a row needs beside it to resolve: AWS keys come in pairs.
    fn companions(def: &KeyDef) -> Vec<(&'static str, &'static str)> {
        let key = ("aws_access_key_id", "AKIDTEST");
        let secret = ("aws_secret_access_key", "secret-test-value");
        match def.name {
            "aws_access_key_id" => vec![secret],
            "aws_secret_access_key" => vec![key],
            "aws_session_token" => vec![key, secret],
            _ => vec![],
        }
    }

    fn backend_of(def: &KeyDef) -> Backend {
        def.backends[0]
    }

    #[test]
    fn every_row_resolves_from_camel_snake_and_upper_spellings() {
        for def in REGISTRY {
            // The KMS key id is only valid with a KMS algorithm.
            let mut extra = companions(def);
            if def.name == "aws_sse_kms_key_id" {
                extra.push(("aws_server_side_encryption", "aws:kms"));
            }
            for spelling in def.spellings() {
                for given in [
                    spelling.to_string(),
                    spelling.to_lower_camel_case(),
                    spelling.to_shouty_snake_case(),
                ] {
                    let mut opts = raw(&extra);
                    opts.push(RawOption::new(
                        given.clone(),
                        RawValue::Str(sample_value(def).into()),
                    ));
                    let r =
                        StorageOptions::resolve(backend_of(def), None, &opts, &env(&[])).unwrap();
                    let got = r
                        .set()
                        .get(def)
                        .unwrap_or_else(|| panic!("{given} did not set {}", def.name));
                    assert_eq!(got.source, Source::Connection, "{given}");
                    assert_eq!(got.given_as, given);
                }
            }
        }
    }

    #[test]
    fn defaults_parse_and_are_reported() {
        for b in Backend::ALL {
            let r = StorageOptions::resolve(b, None, &[], &env(&[])).unwrap();
            for def in REGISTRY
                .iter()
                .filter(|d| d.applies_to(b) && d.default.is_some())
            {
                assert_eq!(
                    r.set().get(def).unwrap().source,
                    Source::Default,
                    "{}",
                    def.name
                );
            }
        }
        let r = StorageOptions::resolve(Backend::S3, None, &[], &env(&[])).unwrap();
        assert_eq!(r.set().duration(&TIMEOUT), Some(Duration::from_secs(30)));
        assert_eq!(
            r.set().duration(&CONNECT_TIMEOUT),
            Some(Duration::from_secs(5))
        );
        assert_eq!(r.set().bool(&HTTP1_ONLY), Some(true));
        assert_eq!(r.set().text(&AWS_CONDITIONAL_PUT), Some("etag"));
    }

    #[test]
    fn precedence_table_over_connection_over_env_over_default() {
        let e = env(&[
            ("TIMEOUT", "11s"),
            ("AWS_ENDPOINT", "http://env:1"),
            ("AWS_REGION", "env-region"),
        ]);
        let conn = raw(&[("timeout", "22s"), ("endpoint", "http://conn:1")]);
        let table = raw(&[("TIMEOUT", "33s")]);
        let r = StorageOptions::resolve(Backend::S3, Some(&table), &conn, &e).unwrap();
        assert_eq!(r.set().duration(&TIMEOUT), Some(Duration::from_secs(33)));
        assert_eq!(r.set().get(&TIMEOUT).unwrap().source, Source::Table);
        assert_eq!(r.set().text(&AWS_ENDPOINT), Some("http://conn:1"));
        assert_eq!(
            r.set().get(&AWS_ENDPOINT).unwrap().source,
            Source::Connection
        );
        assert_eq!(r.set().text(&AWS_REGION), Some("env-region"));
        assert_eq!(r.set().get(&AWS_REGION).unwrap().source, Source::Env);
        assert_eq!(
            r.set().duration(&CONNECT_TIMEOUT),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            r.set().get(&CONNECT_TIMEOUT).unwrap().source,
            Source::Default
        );
    }

    #[test]
    fn explicit_option_beats_env_whatever_the_alias() {
        // The reference lets a stray AWS_ENDPOINT beat an explicit option in
        // some processes; here any explicit spelling always wins.
        let e = env(&[
            ("AWS_ENDPOINT_URL", "http://env:1"),
            ("AWS_ENDPOINT", "http://env:2"),
        ]);
        for spelling in [
            "endpoint",
            "awsEndpoint",
            "AWS_ENDPOINT",
            "endpoint_url",
            "awsEndpointUrl",
        ] {
            let r =
                StorageOptions::resolve(Backend::S3, None, &raw(&[(spelling, "http://opt:9")]), &e)
                    .unwrap();
            assert_eq!(
                r.set().text(&AWS_ENDPOINT),
                Some("http://opt:9"),
                "{spelling}"
            );
        }
        // Among env vars, the registry's order decides: AWS_ENDPOINT first.
        let r = StorageOptions::resolve(Backend::S3, None, &[], &e).unwrap();
        assert_eq!(r.set().text(&AWS_ENDPOINT), Some("http://env:2"));
        assert_eq!(r.set().get(&AWS_ENDPOINT).unwrap().given_as, "AWS_ENDPOINT");
    }

    #[test]
    fn unknown_key_suggests_in_the_users_style() {
        let err = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[("awsSecretAcessKey", "x")]),
            &env(&[]),
        )
        .unwrap_err();
        assert_eq!(err.code(), "UNKNOWN_STORAGE_OPTION");
        let msg = err.to_string();
        assert!(
            msg.contains("'awsSecretAcessKey'")
                && msg.contains("did you mean 'awsSecretAccessKey'"),
            "{msg}"
        );
        let err = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[("AWS_SECRET_ACESS_KEY", "x")]),
            &env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("'AWS_SECRET_ACCESS_KEY'"), "{err}");
        let err = StorageOptions::resolve(Backend::Local, None, &raw(&[("bogus", "x")]), &env(&[]))
            .unwrap_err();
        assert_eq!(err.code(), "UNKNOWN_STORAGE_OPTION");
    }

    #[test]
    fn keys_of_other_backends_are_ignored() {
        let r = StorageOptions::resolve(
            Backend::Local,
            None,
            &raw(&[("awsRegion", "x"), ("accountName", "y")]),
            &env(&[]),
        )
        .unwrap();
        assert!(r.effective().iter().all(|e| e.key != "aws_region"));
    }

    #[test]
    fn bad_values_name_the_key_and_the_accepted_forms() {
        let cases: &[(&str, RawValue, &str)] = &[
            ("allowHttp", RawValue::Str("maybe".into()), "true or false"),
            ("timeout", RawValue::Str("soon".into()), "\"30s\""),
            ("timeout", RawValue::Num(60.0), "with a unit"),
            (
                "awsServerSideEncryption",
                RawValue::Str("rot13".into()),
                "\"AES256\", \"aws:kms\", \"aws:kms:dsse\"",
            ),
            ("endpoint", RawValue::Str("not a url".into()), "URL"),
            (
                "clientMaxRetries",
                RawValue::Num(-1.0),
                "non-negative integer",
            ),
            ("region", RawValue::Other("object".into()), "a string"),
            (
                "proxyCaCertificate",
                RawValue::Str("not a pem".into()),
                "BEGIN CERTIFICATE",
            ),
            (
                "proxyCaCertificate",
                RawValue::Str("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----".into()),
                "BEGIN CERTIFICATE",
            ),
        ];
        for (key, value, needle) in cases {
            let opts = vec![RawOption::new(*key, value.clone())];
            let err = StorageOptions::resolve(Backend::S3, None, &opts, &env(&[])).unwrap_err();
            assert_eq!(err.code(), "INVALID_STORAGE_OPTION", "{key}");
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("'{key}'")) && msg.contains(needle),
                "{key}: {msg}"
            );
        }
        let err = StorageOptions::resolve(Backend::S3, None, &[], &env(&[("TIMEOUT", "forever")]))
            .unwrap_err();
        assert!(err.to_string().contains("'TIMEOUT'"), "{err}");
    }

    #[test]
    fn unambiguous_non_strings_are_accepted() {
        let opts = vec![
            RawOption::new("allowHttp", RawValue::Bool(true)),
            RawOption::new("clientMaxRetries", RawValue::Num(3.0)),
            RawOption::new("clientRetryTimeout", RawValue::Num(60.0)),
        ];
        let r = StorageOptions::resolve(Backend::S3, None, &opts, &env(&[])).unwrap();
        assert_eq!(r.set().bool(&ALLOW_HTTP), Some(true));
        assert_eq!(r.set().int(&CLIENT_MAX_RETRIES), Some(3));
        assert_eq!(
            r.set().duration(&CLIENT_RETRY_TIMEOUT),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn kms_key_needs_a_kms_algorithm() {
        let err = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[("awsSseKmsKeyId", "k1")]),
            &env(&[]),
        )
        .unwrap_err();
        assert_eq!(err.code(), "INVALID_STORAGE_OPTION");
        assert!(
            err.to_string().contains("aws_server_side_encryption"),
            "{err}"
        );
        let err = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[
                ("awsSseKmsKeyId", "k1"),
                ("awsServerSideEncryption", "AES256"),
            ]),
            &env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("'AES256'"), "{err}");
        let ok = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[
                ("awsSseKmsKeyId", "k1"),
                ("awsServerSideEncryption", "aws:KMS"),
            ]),
            &env(&[]),
        )
        .unwrap();
        assert_eq!(ok.set().text(&AWS_SERVER_SIDE_ENCRYPTION), Some("aws:kms"));
    }

    #[test]
    fn same_key_twice_with_different_values_is_an_error() {
        let err = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[("region", "a"), ("awsRegion", "b")]),
            &env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("'region'"), "{err}");
        assert!(StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[("region", "a"), ("awsRegion", "a")]),
            &env(&[])
        )
        .is_ok());
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        for def in REGISTRY.iter().filter(|d| d.secret) {
            let secret = "TOPSECRET-value-0123456789";
            let b = backend_of(def);
            let mut opts = raw(&companions(def));
            opts.push(RawOption::new(def.name, RawValue::Str(secret.into())));
            let r = StorageOptions::resolve(b, None, &opts, &env(&[])).unwrap();
            let report = format!("{:?} {:?}", r, r.effective());
            assert!(!report.contains(secret), "{} leaked: {report}", def.name);
            assert!(r
                .effective()
                .iter()
                .any(|e| e.key == def.name && e.value == MASK));
            // A bad value of a secret key never echoes the value.
            let err = StorageOptions::resolve(
                b,
                None,
                &[RawOption::new(def.name, RawValue::Num(1.0))],
                &env(&[]),
            )
            .unwrap_err();
            assert!(err.to_string().contains(MASK), "{err}");
            // And the redactor scrubs it from foreign text.
            assert!(!r
                .redactor()
                .redact(&format!("url?key={secret}"))
                .contains(secret));
        }
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("8MiB"), Some(8 << 20));
        assert_eq!(parse_size("5MB"), Some(5_000_000));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("lots"), None);
    }

    fn effective_entry(r: &StorageOptions, key: &str) -> EffectiveOption {
        r.effective()
            .into_iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("{key} not reported"))
    }

    #[test]
    fn every_applied_default_is_reported_with_source_default_region_included() {
        let r = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[
                ("awsAccessKeyId", "AKID"),
                ("awsSecretAccessKey", "secret-test-value"),
            ]),
            &env(&[]),
        )
        .unwrap();
        let region = effective_entry(&r, "aws_region");
        assert_eq!(
            (region.value.as_str(), region.source),
            ("us-east-1", Source::Default)
        );
        let c = r.config().s3().unwrap();
        assert_eq!(c.region, "us-east-1");
        for (key, value) in [
            ("client_max_retries", "10"),
            ("client_retry_timeout", "3m"),
            ("timeout", "30s"),
            ("connect_timeout", "5s"),
            ("upload_part_size", "8388608"),
            ("upload_concurrency", "8"),
            ("aws_conditional_put", "etag"),
        ] {
            let e = effective_entry(&r, key);
            assert_eq!(
                (e.value.as_str(), e.source),
                (value, Source::Default),
                "{key}"
            );
        }
        // ...and the typed configuration holds exactly those values.
        assert_eq!(c.client.retry.max_retries, 10);
        assert_eq!(c.client.retry.retry_timeout, Duration::from_secs(180));
        assert_eq!(c.client.timeout, Duration::from_secs(30));
        assert_eq!(c.client.connect_timeout, Duration::from_secs(5));
        assert_eq!(r.config().upload.part_size, 8 << 20);
        assert_eq!(r.config().upload.concurrency, 8);
    }

    #[test]
    fn typed_configuration_follows_the_options() {
        use crate::storage::config::{AwsCredentials, ConditionalPut, HttpVersion};
        let r = StorageOptions::resolve(
            Backend::S3,
            Some(&raw(&[("timeout", "45s")])),
            &raw(&[
                ("region", "eu-central-1"),
                ("endpoint", "https://s3.example.com"),
                ("awsAccessKeyId", "AKID"),
                ("awsSecretAccessKey", "secret-test-value"),
                ("sessionToken", "token-test-value"),
                ("awsConditionalPut", "Disabled"),
                ("timeout", "10s"),
                ("http1Only", "false"),
                ("clientMaxRetries", "2"),
                ("uploadPartSize", "16MiB"),
                ("awsServerSideEncryption", "AES256"),
            ]),
            &env(&[("CLIENT_RETRY_TIMEOUT", "7")]),
        )
        .unwrap();
        let c = r.config().s3().unwrap();
        assert_eq!(c.region, "eu-central-1");
        assert_eq!(
            c.endpoint.as_ref().map(|e| e.url.as_str()),
            Some("https://s3.example.com")
        );
        assert_eq!(c.dynamodb_endpoint(), Some("https://s3.example.com"));
        assert!(
            matches!(&c.credentials, AwsCredentials::Static { key_id, token: Some(_), .. } if key_id == "AKID")
        );
        assert_eq!(c.conditional_put, ConditionalPut::Disabled);
        assert_eq!(
            c.client.timeout,
            Duration::from_secs(45),
            "table beats connection"
        );
        assert_eq!(c.client.http_version, HttpVersion::Any);
        assert_eq!(c.client.retry.max_retries, 2);
        assert_eq!(c.client.retry.retry_timeout, Duration::from_secs(7));
        assert_eq!(r.config().upload.part_size, 16 << 20);
        assert!(c
            .store_settings
            .iter()
            .any(|(k, v)| k.as_ref() == "aws_server_side_encryption" && v.display() == "AES256"));
        // Interpreted keys are not handed over a second time.
        assert!(c
            .store_settings
            .iter()
            .all(|(k, _)| k.as_ref() != "aws_region"));
        // The typed client options say what the registry rows say.
        let o = c.client.client_options();
        use object_store::ClientConfigKey as K;
        assert_eq!(o.get_config_value(&K::Timeout).as_deref(), Some("45s"));
        assert_eq!(o.get_config_value(&K::Http1Only).as_deref(), Some("false"));

        let profile =
            StorageOptions::resolve(Backend::S3, None, &raw(&[("awsProfile", "dev")]), &env(&[]))
                .unwrap();
        assert_eq!(
            profile.config().s3().unwrap().credentials,
            AwsCredentials::Profile("dev".into())
        );
        let chain = StorageOptions::resolve(Backend::S3, None, &[], &env(&[])).unwrap();
        assert_eq!(
            chain.config().s3().unwrap().credentials,
            AwsCredentials::Chain
        );
        assert_eq!(
            chain.config().s3().unwrap().conditional_put,
            ConditionalPut::Enabled
        );
        let unsigned = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[("skipSignature", "true")]),
            &env(&[]),
        )
        .unwrap();
        assert_eq!(
            unsigned.config().s3().unwrap().credentials,
            AwsCredentials::Unsigned
        );
    }

    #[test]
    fn half_given_credentials_and_plain_http_endpoints_name_the_option() {
        for (opts, needle) in [
            (vec![("awsAccessKeyId", "AKID")], "'awsAccessKeyId'"),
            (
                vec![("secretAccessKey", "s3cr3t-value")],
                "'secretAccessKey'",
            ),
            (
                vec![("AWS_SESSION_TOKEN", "tok-value")],
                "'AWS_SESSION_TOKEN'",
            ),
        ] {
            let err =
                StorageOptions::resolve(Backend::S3, None, &raw(&opts), &env(&[])).unwrap_err();
            assert_eq!(err.code(), "INVALID_STORAGE_OPTION");
            assert!(err.to_string().contains(needle), "{err}");
            assert!(
                !err.to_string().contains("s3cr3t-value") && !err.to_string().contains("tok-value"),
                "{err}"
            );
        }
        let err = StorageOptions::resolve(
            Backend::S3,
            None,
            &raw(&[("http1Only", "true"), ("http2Only", "true")]),
            &env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("'http2Only'"), "{err}");
    }

    #[test]
    fn out_of_range_numbers_are_errors_naming_the_key_and_range() {
        let cases: &[(&str, RawValue, &str)] = &[
            (
                "uploadPartSize",
                RawValue::Str("1MiB".into()),
                "from 5MiB (5242880 bytes) to 5GiB (5368709120 bytes)",
            ),
            ("upload_part_size", RawValue::Num(6e9), "to 5GiB"),
            ("uploadConcurrency", RawValue::Num(0.0), "from 1 to 256"),
            (
                "UPLOAD_CONCURRENCY",
                RawValue::Str("100000".into()),
                "from 1 to 256",
            ),
            ("clientMaxRetries", RawValue::Num(1000.0), "from 0 to 100"),
        ];
        for backend in [Backend::Memory, Backend::Local, Backend::S3] {
            for (key, value, needle) in cases {
                if *key == "clientMaxRetries" && backend != Backend::S3 {
                    continue;
                }
                let opts = vec![RawOption::new(*key, value.clone())];
                let err = StorageOptions::resolve(backend, None, &opts, &env(&[])).unwrap_err();
                assert_eq!(err.code(), "INVALID_STORAGE_OPTION", "{key}");
                let msg = err.to_string();
                assert!(
                    msg.contains(&format!("'{key}'")) && msg.contains(needle),
                    "{key}: {msg}"
                );
            }
        }
        let err = StorageOptions::resolve(
            Backend::Memory,
            None,
            &[],
            &env(&[("STOWAGE_UPLOAD_PART_SIZE", "1KiB")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("'STOWAGE_UPLOAD_PART_SIZE'"),
            "{err}"
        );
        // The bounds themselves are accepted.
        let ok = StorageOptions::resolve(
            Backend::Memory,
            None,
            &raw(&[("uploadPartSize", "5MiB"), ("uploadConcurrency", "1")]),
            &env(&[]),
        )
        .unwrap();
        assert_eq!(ok.config().upload.part_size, 5 << 20);
        assert_eq!(ok.config().upload.concurrency, 1);
    }

    #[test]
    fn values_are_checked_whatever_the_backend() {
        for backend in [
            Backend::Memory,
            Backend::Local,
            Backend::Gcs,
            Backend::Azure,
        ] {
            for (key, value) in [
                ("timeout", "sixty"),
                ("awsServerSideEncryption", "rot13"),
                ("endpoint", "not a url"),
                ("googleBaseUrl", "ftp://x"),
            ] {
                let err = StorageOptions::resolve(backend, None, &raw(&[(key, value)]), &env(&[]))
                    .unwrap_err();
                assert_eq!(err.code(), "INVALID_STORAGE_OPTION", "{key} on {backend:?}");
                assert!(err.to_string().contains(&format!("'{key}'")), "{err}");
            }
        }
    }

    #[test]
    fn general_client_keys_on_local_and_memory_are_reported_as_not_applying() {
        for backend in [Backend::Memory, Backend::Local] {
            let r = StorageOptions::resolve(
                backend,
                Some(&raw(&[("timeout", "9s")])),
                &raw(&[
                    ("timeout", "5s"),
                    ("clientMaxRetries", "3"),
                    ("awsRegion", "x"),
                    ("uploadConcurrency", "2"),
                ]),
                &env(&[("CONNECT_TIMEOUT", "1s")]),
            )
            .unwrap();
            let t = effective_entry(&r, "timeout");
            assert_eq!(
                (t.value.as_str(), t.source, t.applies),
                ("9s", Source::Table, false)
            );
            let m = effective_entry(&r, "client_max_retries");
            assert_eq!(
                (m.value.as_str(), m.source, m.applies),
                ("3", Source::Connection, false)
            );
            assert!(effective_entry(&r, "upload_concurrency").applies);
            let keys: Vec<_> = r.effective().iter().map(|e| e.key).collect();
            assert!(
                !keys.contains(&"aws_region") && !keys.contains(&"connect_timeout"),
                "{keys:?}"
            );
            // Not applying means not part of the client either.
            assert!(!r.fingerprint().contains("timeout"));
        }
    }

    #[test]
    fn huge_keys_and_values_give_bounded_messages_quickly() {
        let start = std::time::Instant::now();
        let key = "k".repeat(1 << 20);
        let err =
            StorageOptions::resolve(Backend::S3, None, &raw(&[(key.as_str(), "x")]), &env(&[]))
                .unwrap_err();
        assert_eq!(err.code(), "UNKNOWN_STORAGE_OPTION");
        let msg = err.to_string();
        assert!(
            msg.len() < 1000 && msg.contains("… (1048576 characters)"),
            "{} bytes",
            msg.len()
        );
        let value = "v".repeat(10 << 20);
        for k in [
            "timeout",
            "allowHttp",
            "endpoint",
            "uploadPartSize",
            "awsServerSideEncryption",
        ] {
            let err =
                StorageOptions::resolve(Backend::S3, None, &raw(&[(k, value.as_str())]), &env(&[]))
                    .unwrap_err();
            assert_eq!(err.code(), "INVALID_STORAGE_OPTION", "{k}");
            let msg = err.to_string();
            assert!(
                msg.len() < 1000 && msg.contains("… (10485760 characters)"),
                "{k}: {} bytes",
                msg.len()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// Keys near real ones (any spelling, mangled), and arbitrary text.
        fn key() -> impl Strategy<Value = String> {
            let spellings: Vec<String> = REGISTRY
                .iter()
                .flat_map(|d| d.spellings())
                .flat_map(|s| {
                    [
                        s.to_string(),
                        s.to_lower_camel_case(),
                        s.to_shouty_snake_case(),
                    ]
                })
                .collect();
            prop_oneof![
                proptest::sample::select(spellings.clone()),
                (
                    proptest::sample::select(spellings),
                    any::<String>(),
                    0usize..40
                )
                    .prop_map(|(s, junk, at)| {
                        let at = s.char_indices().map(|(i, _)| i).nth(at).unwrap_or(s.len());
                        format!("{}{junk}{}", &s[..at], &s[at..])
                    }),
                any::<String>(),
            ]
        }

        fn value() -> impl Strategy<Value = RawValue> {
            prop_oneof![
                any::<String>().prop_map(RawValue::Str),
                proptest::sample::select(vec![
                    "true",
                    "FALSE",
                    "0",
                    "1",
                    "30s",
                    "-1",
                    "8MiB",
                    "5GiB",
                    "6GiB",
                    "1e400",
                    "NaN",
                    "18446744073709551616",
                    "https://h",
                    "http://h:1",
                    "etag",
                    "aws:kms",
                    " ",
                    "",
                ])
                .prop_map(|s| RawValue::Str(s.to_string())),
                any::<bool>().prop_map(RawValue::Bool),
                any::<f64>().prop_map(RawValue::Num),
                Just(RawValue::Other("object".into())),
            ]
        }

        fn backend() -> impl Strategy<Value = Backend> {
            proptest::sample::select(Backend::ALL.to_vec())
        }

        proptest! {
            // A few hundred cases: about a second in release builds.
            #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
            #[test]
            fn the_parser_never_panics_and_errors_are_coded_and_bounded(
                b in backend(),
                table in proptest::collection::vec((key(), value()), 0..4),
                conn in proptest::collection::vec((key(), value()), 0..6),
                env_pairs in proptest::collection::vec((proptest::sample::select(vec!["TIMEOUT", "AWS_REGION", "STOWAGE_UPLOAD_PART_SIZE", "ALLOW_HTTP", "CLIENT_MAX_RETRIES"]), any::<String>()), 0..3),
            ) {
                let to_raw = |v: &[(String, RawValue)]| v.iter().map(|(k, v)| RawOption::new(k.clone(), v.clone())).collect::<Vec<_>>();
                let e: BTreeMap<String, String> = env_pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                match StorageOptions::resolve(b, Some(&to_raw(&table)), &to_raw(&conn), &e) {
                    Ok(r) => {
                        let _ = (r.effective(), r.fingerprint(), format!("{r:?}"));
                    }
                    Err(err) => {
                        prop_assert!(matches!(err.code(), "UNKNOWN_STORAGE_OPTION" | "INVALID_STORAGE_OPTION" | "INVALID_ARGUMENT"), "{}: {}", err.code(), err);
                        // Three quoted inputs at most (key, value, an earlier spelling) plus the text.
                        prop_assert!(err.to_string().chars().count() < 3 * 260 + 600, "{} chars", err.to_string().chars().count());
                    }
                }
            }
        }
    }
}
