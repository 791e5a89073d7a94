//! Resolution of storage options: user spellings -> registry rows, values ->
//! typed values, and the four tiers (table > connection > env > default)
//! merged deterministically. Everything downstream reads typed values.

use std::collections::BTreeMap;
use std::time::Duration;

use heck::{ToLowerCamelCase, ToShoutySnakeCase};

use super::registry::{self, Backend, KeyDef, Kind, Lookup, Target, REGISTRY};
use super::secret::{Redactor, Secret, MASK};
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
    Default,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Table => "table",
            Source::Connection => "connection",
            Source::Env => "env",
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

    /// The string object_store's config parsers accept. Contains the raw
    /// secret: only for handing to a builder.
    fn to_config_string(&self) -> String {
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

/// The resolved, validated options of one connection or table.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    backend: Backend,
    values: Vec<Resolved>,
}

/// One line of the effective-configuration report.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveOption {
    pub key: &'static str,
    pub value: String,
    pub source: Source,
    pub given_as: String,
    pub secret: bool,
}

type Tier = BTreeMap<&'static str, (String, Value)>;

impl StorageOptions {
    /// Resolves the tiers for `backend`. `table` is `None` for a connection.
    pub fn resolve(
        backend: Backend,
        table: Option<&[RawOption]>,
        connection: &[RawOption],
        env: &dyn EnvSource,
    ) -> Result<Self> {
        let table_tier = match table {
            Some(t) => parse_tier(backend, t)?,
            None => Tier::new(),
        };
        let conn_tier = parse_tier(backend, connection)?;
        let mut values = Vec::new();
        for def in REGISTRY.iter().filter(|d| d.applies_to(backend)) {
            let resolved = if let Some((given, v)) = table_tier.get(def.name) {
                Some((v.clone(), Source::Table, given.clone()))
            } else if let Some((given, v)) = conn_tier.get(def.name) {
                Some((v.clone(), Source::Connection, given.clone()))
            } else if let Some((var, raw)) =
                def.env.iter().find_map(|e| env.var(e).map(|v| (*e, v)))
            {
                let v = parse_value(def, var, &RawValue::Str(raw))?;
                Some((v, Source::Env, var.to_string()))
            } else {
                def.default.map(|d| {
                    let v = parse_value(def, def.name, &RawValue::Str(d.to_string()))
                        .expect("registry defaults parse (tested)");
                    (v, Source::Default, def.name.to_string())
                })
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
        let opts = StorageOptions { backend, values };
        opts.check_combinations()?;
        Ok(opts)
    }

    fn check_combinations(&self) -> Result<()> {
        if let Some(kms) = self.get(&registry::AWS_SSE_KMS_KEY_ID) {
            let algo = self.text(&registry::AWS_SERVER_SIDE_ENCRYPTION);
            if !algo.is_some_and(|a| registry::KMS_ALGORITHMS.contains(&a)) {
                return Err(Error::InvalidStorageOption {
                    key: kms.given_as.clone(),
                    value: format!("'{}'", kms.value.display()),
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

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn get(&self, def: &'static KeyDef) -> Option<&Resolved> {
        self.values.iter().find(|r| std::ptr::eq(r.def, def))
    }

    pub fn bool(&self, def: &'static KeyDef) -> Option<bool> {
        match self.get(def)?.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
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
    pub fn text(&self, def: &'static KeyDef) -> Option<&str> {
        match &self.get(def)?.value {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn secret(&self, def: &'static KeyDef) -> Option<&Secret> {
        match &self.get(def)?.value {
            Value::Secret(s) => Some(s),
            _ => None,
        }
    }

    /// `(target, value)` pairs for the object_store builders, raw secrets
    /// included; never log these.
    pub fn builder_pairs(&self) -> impl Iterator<Item = (Target, String)> + '_ {
        self.values
            .iter()
            .filter(|r| !matches!(r.def.target, Target::Stowage))
            .map(|r| (r.def.target, r.value.to_config_string()))
    }

    pub fn redactor(&self) -> Redactor {
        let mut r = Redactor::default();
        for v in &self.values {
            if let Value::Secret(s) = &v.value {
                r.add(s);
            }
        }
        r
    }

    pub fn effective(&self) -> Vec<EffectiveOption> {
        self.values
            .iter()
            .map(|r| EffectiveOption {
                key: r.def.name,
                value: r.value.display(),
                source: r.source,
                given_as: r.given_as.clone(),
                secret: r.def.secret,
            })
            .collect()
    }

    /// A stable fingerprint of everything that shapes a client, so equal
    /// configurations can share one object store. Secrets are included as
    /// values: the fingerprint itself is never shown.
    pub fn fingerprint(&self) -> String {
        self.values
            .iter()
            .map(|r| format!("{}={}", r.def.name, r.value.to_config_string()))
            .collect::<Vec<_>>()
            .join("\u{1}")
    }
}

fn parse_tier(backend: Backend, raw: &[RawOption]) -> Result<Tier> {
    let mut tier = Tier::new();
    for opt in raw {
        let def = match registry::lookup(&opt.key, backend) {
            Lookup::Key(def) => def,
            Lookup::OtherBackend(def) => {
                tracing::debug!(key = %opt.given, canonical = def.name, backend = backend.name(), "storage option ignored: it applies to other backends");
                continue;
            }
            Lookup::Unknown => {
                let suggestion =
                    registry::suggest(&opt.key, backend).map(|s| restyle(s, &opt.given));
                return Err(Error::UnknownStorageOption {
                    key: opt.given.clone(),
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
                    key: opt.given.clone(),
                    value: shown(def, &opt.value),
                    reason: format!(
                        "'{prev_given}' names the same option with a different value; give it once"
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

/// The value as an error message may show it.
fn shown(def: &KeyDef, raw: &RawValue) -> String {
    if def.secret {
        return MASK.to_string();
    }
    match raw {
        RawValue::Str(s) => format!("'{s}'"),
        RawValue::Bool(b) => b.to_string(),
        RawValue::Num(n) => n.to_string(),
        RawValue::Other(t) => format!("of type {t}"),
    }
}

fn parse_value(def: &'static KeyDef, given: &str, raw: &RawValue) -> Result<Value> {
    let bad = |reason: String| Error::InvalidStorageOption {
        key: given.to_string(),
        value: shown(def, raw),
        reason,
    };
    if let RawValue::Other(_) = raw {
        return Err(bad(format!("expected {}", expected(def.kind))));
    }
    let value = match def.kind {
        Kind::Bool => match raw {
            RawValue::Bool(b) => Value::Bool(*b),
            RawValue::Str(s) => Value::Bool(
                parse_bool(s).ok_or_else(|| bad(format!("expected {}", expected(def.kind))))?,
            ),
            _ => return Err(bad(format!("expected {}", expected(def.kind)))),
        },
        Kind::Duration | Kind::DurationSecs => {
            let seconds_ok = def.kind == Kind::DurationSecs;
            match raw {
                RawValue::Num(n) if seconds_ok && *n >= 0.0 && n.is_finite() => {
                    Value::Duration(Duration::from_secs_f64(*n))
                }
                RawValue::Str(s)
                    if seconds_ok
                        && s.trim()
                            .parse::<f64>()
                            .is_ok_and(|n| n >= 0.0 && n.is_finite()) =>
                {
                    Value::Duration(Duration::from_secs_f64(
                        s.trim().parse::<f64>().unwrap_or_default(),
                    ))
                }
                RawValue::Str(s) => Value::Duration(
                    humantime::parse_duration(s.trim())
                        .map_err(|_| bad(format!("expected {}", expected(def.kind))))?,
                ),
                _ => return Err(bad(format!("expected {}", expected(def.kind)))),
            }
        }
        Kind::Int => match raw {
            RawValue::Num(n) if *n >= 0.0 && n.fract() == 0.0 && *n <= u32::MAX as f64 => {
                Value::Int(*n as u64)
            }
            RawValue::Str(s) => Value::Int(
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| bad(format!("expected {}", expected(def.kind))))?,
            ),
            _ => return Err(bad(format!("expected {}", expected(def.kind)))),
        },
        Kind::Size => match raw {
            RawValue::Num(n) if *n >= 0.0 && n.fract() == 0.0 => Value::Int(*n as u64),
            RawValue::Str(s) => Value::Int(
                parse_size(s).ok_or_else(|| bad(format!("expected {}", expected(def.kind))))?,
            ),
            _ => return Err(bad(format!("expected {}", expected(def.kind)))),
        },
        Kind::Enum(values) => match raw {
            RawValue::Str(s) => {
                let found = values.iter().find(|v| v.eq_ignore_ascii_case(s.trim()));
                Value::Text(
                    found
                        .ok_or_else(|| bad(format!("expected {}", expected(def.kind))))?
                        .to_string(),
                )
            }
            _ => return Err(bad(format!("expected {}", expected(def.kind)))),
        },
        Kind::Url => match raw {
            RawValue::Str(s) => {
                let u = url::Url::parse(s.trim()).map_err(|e| {
                    bad(format!("not a URL ({e}); expected {}", expected(def.kind)))
                })?;
                if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                    return Err(bad(format!("expected {}", expected(def.kind))));
                }
                Value::Text(s.trim().to_string())
            }
            _ => return Err(bad(format!("expected {}", expected(def.kind)))),
        },
        Kind::Pem => match raw {
            RawValue::Str(s) if valid_pem(s) => Value::Text(s.clone()),
            _ => return Err(bad(format!("expected {}", expected(def.kind)))),
        },
        Kind::Path | Kind::Str => match raw {
            RawValue::Str(s) if def.secret => Value::Secret(Secret::new(s.clone())),
            RawValue::Str(s) => Value::Text(s.clone()),
            _ => return Err(bad(format!("expected {}", expected(def.kind)))),
        },
    };
    Ok(value)
}

fn expected(kind: Kind) -> String {
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
            Kind::Size => "1MiB",
            Kind::Enum(v) => v[v.len() - 1],
            Kind::Url => "http://127.0.0.1:9",
            Kind::Pem => "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----",
            Kind::Path | Kind::Str => "some-value-1234",
        }
    }

    fn backend_of(def: &KeyDef) -> Backend {
        def.backends[0]
    }

    #[test]
    fn every_row_resolves_from_camel_snake_and_upper_spellings() {
        for def in REGISTRY {
            // The KMS key id is only valid with a KMS algorithm.
            let mut extra = vec![];
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
        for b in [
            Backend::Local,
            Backend::Memory,
            Backend::S3,
            Backend::Gcs,
            Backend::Azure,
        ] {
            let r = StorageOptions::resolve(b, None, &[], &env(&[])).unwrap();
            for def in REGISTRY
                .iter()
                .filter(|d| d.applies_to(b) && d.default.is_some())
            {
                assert_eq!(r.get(def).unwrap().source, Source::Default, "{}", def.name);
            }
        }
        let r = StorageOptions::resolve(Backend::S3, None, &[], &env(&[])).unwrap();
        assert_eq!(r.duration(&TIMEOUT), Some(Duration::from_secs(30)));
        assert_eq!(r.duration(&CONNECT_TIMEOUT), Some(Duration::from_secs(5)));
        assert_eq!(r.bool(&HTTP1_ONLY), Some(true));
        assert_eq!(r.text(&AWS_CONDITIONAL_PUT), Some("etag"));
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
        assert_eq!(r.duration(&TIMEOUT), Some(Duration::from_secs(33)));
        assert_eq!(r.get(&TIMEOUT).unwrap().source, Source::Table);
        assert_eq!(r.text(&AWS_ENDPOINT), Some("http://conn:1"));
        assert_eq!(r.get(&AWS_ENDPOINT).unwrap().source, Source::Connection);
        assert_eq!(r.text(&AWS_REGION), Some("env-region"));
        assert_eq!(r.get(&AWS_REGION).unwrap().source, Source::Env);
        assert_eq!(r.duration(&CONNECT_TIMEOUT), Some(Duration::from_secs(5)));
        assert_eq!(r.get(&CONNECT_TIMEOUT).unwrap().source, Source::Default);
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
            assert_eq!(r.text(&AWS_ENDPOINT), Some("http://opt:9"), "{spelling}");
        }
        // Among env vars, the registry's order decides: AWS_ENDPOINT first.
        let r = StorageOptions::resolve(Backend::S3, None, &[], &e).unwrap();
        assert_eq!(r.text(&AWS_ENDPOINT), Some("http://env:2"));
        assert_eq!(r.get(&AWS_ENDPOINT).unwrap().given_as, "AWS_ENDPOINT");
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
        assert_eq!(r.bool(&ALLOW_HTTP), Some(true));
        assert_eq!(r.int(&CLIENT_MAX_RETRIES), Some(3));
        assert_eq!(
            r.duration(&CLIENT_RETRY_TIMEOUT),
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
        assert_eq!(ok.text(&AWS_SERVER_SIDE_ENCRYPTION), Some("aws:kms"));
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
            let r =
                StorageOptions::resolve(b, None, &raw(&[(def.name, secret)]), &env(&[])).unwrap();
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
}
