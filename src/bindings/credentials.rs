//! A JS credentials function as a core [`CredentialSource`]. lib/credentials.ts
//! wraps the user's async function so that it always resolves to a JSON
//! string: `{"ok":{...}}` with the checked fields, or `{"error":"..."}` saying
//! what went wrong without any credential in it.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use serde::Deserialize;

use crate::storage::secret::Secret;
use crate::storage::{
    CallFailure, CredentialSource, ProvidedCredential, ProvidedCredentials, ShapeFailure,
};

/// The wrapped function: no arguments, resolves to a JSON string. Weak: a
/// connection holding it does not keep the process alive.
pub type JsCredentialsFn = ThreadsafeFunction<(), Promise<String>, (), Status, false, true>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    ok: Option<Checked>,
    error: Option<String>,
    /// The error is about the value's shape: the core adds the shapes the
    /// database's backend takes.
    #[serde(default)]
    shape: bool,
}

/// Every field any backend takes, each checked for its type by
/// lib/credentials.ts; which are needed depends on the backend (core).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checked {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    sas_token: Option<String>,
    token: Option<String>,
    account_key: Option<String>,
    /// Milliseconds since the epoch.
    expires_at: Option<f64>,
}

struct JsSource(JsCredentialsFn);

fn failure(text: impl Into<String>) -> CallFailure {
    CallFailure::Failed(text.into())
}

#[async_trait]
impl CredentialSource for JsSource {
    async fn call(&self) -> Result<ProvidedCredential, CallFailure> {
        let promise = self
            .0
            .call_async_catch(())
            .await
            .map_err(|e| failure(format!("calling it failed ({})", e.status)))?;
        let text = promise
            .await
            .map_err(|e| failure(format!("its promise failed ({})", e.status)))?;
        let answer: Answer =
            serde_json::from_str(&text).map_err(|_| failure("its answer could not be read"))?;
        if let Some(e) = answer.error {
            return Err(if answer.shape {
                CallFailure::Shape(ShapeFailure(e))
            } else {
                failure(e)
            });
        }
        let c = answer.ok.ok_or_else(|| failure("it returned nothing"))?;
        let expires_at = match c.expires_at {
            None => None,
            Some(ms) if ms.is_finite() && ms >= 0.0 => {
                Some(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(ms / 1000.0))
            }
            Some(_) => {
                return Err(CallFailure::Shape(ShapeFailure(
                    "expiresAt is not a valid time".into(),
                )))
            }
        };
        Ok(ProvidedCredential {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key.map(Secret::new),
            session_token: c.session_token.map(Secret::new),
            sas_token: c.sas_token.map(Secret::new),
            token: c.token.map(Secret::new),
            account_key: c.account_key.map(Secret::new),
            expires_at,
        })
    }
}

pub fn provided(f: Option<JsCredentialsFn>) -> Option<ProvidedCredentials> {
    f.map(|f| ProvidedCredentials::new(Box::new(JsSource(f))))
}
