//! `stowage.doctor()` and the configuration report of `stowage config`.

use napi_derive::napi;

use super::args::Given;
use super::credentials::{provided, JsCredentialsFn};
use super::{guarded, raw_options, JsEffectiveOption};
use crate::error::Result;
use crate::storage::doctor::Interrupt;
use crate::storage::{DbUri, ProcessEnv, Providers, StorageOptions};

#[napi(object, object_to_js = false)]
pub struct JsDoctorOptions {
    pub uri: String,
    #[napi(ts_type = "Record<string, unknown>")]
    pub storage_options: Option<Given<serde_json::Value>>,
    #[napi(ts_type = "() => Promise<string>")]
    pub credentials: Option<JsCredentialsFn>,
}

#[napi(object, object_from_js = false)]
pub struct JsDoctorCheck {
    pub name: String,
    pub ok: bool,
    pub required: bool,
    pub request: String,
    pub permission: Option<String>,
    pub error: Option<String>,
    pub fix: Option<String>,
    pub note: Option<String>,
}

#[napi(object, object_from_js = false)]
pub struct JsDoctorReport {
    pub uri: String,
    pub backend: String,
    pub ok: bool,
    pub checks: Vec<JsDoctorCheck>,
    pub configuration: Vec<JsEffectiveOption>,
}

/// One doctor run, interruptible (SIGINT) with its cleanup still done.
#[napi]
pub struct JsDoctor {
    interrupt: Interrupt,
}

#[napi]
impl JsDoctor {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        JsDoctor {
            interrupt: Interrupt::default(),
        }
    }

    /// Stops the checks; the objects written so far are removed and the
    /// report says the run was interrupted.
    #[napi]
    pub fn interrupt(&self) {
        self.interrupt.trigger();
    }

    #[napi]
    pub async fn run(&self, options: JsDoctorOptions) -> napi::Result<JsDoctorReport> {
        let interrupt = self.interrupt.clone();
        guarded(async move {
            let opts = raw_options(options.storage_options)?;
            let r = crate::table::doctor::doctor(
                &options.uri,
                opts,
                &ProcessEnv,
                provided(options.credentials),
                &interrupt,
            )
            .await?;
            Ok(JsDoctorReport {
                uri: r.uri,
                backend: r.backend.to_string(),
                ok: r.ok,
                checks: r
                    .checks
                    .into_iter()
                    .map(|c| JsDoctorCheck {
                        name: c.name,
                        ok: c.ok,
                        required: c.required,
                        request: c.request,
                        permission: c.permission,
                        error: c.error,
                        fix: c.fix,
                        note: c.note,
                    })
                    .collect(),
                configuration: r.configuration.into_iter().map(Into::into).collect(),
            })
        })
        .await
    }
}

/// The effective configuration for a URI and options, as a connection
/// would resolve it, without any request.
#[napi]
pub fn resolve_storage_options(options: JsDoctorOptions) -> napi::Result<Vec<JsEffectiveOption>> {
    let run = || -> Result<Vec<JsEffectiveOption>> {
        let uri = DbUri::parse(&options.uri)?;
        let raw = raw_options(options.storage_options)?;
        let env = crate::storage::snapshot_env(&ProcessEnv);
        let opts = StorageOptions::resolve_with(
            uri.backend(),
            None,
            &raw,
            &env,
            &Providers {
                table: None,
                connection: provided(options.credentials),
            },
        )?;
        Ok(opts.effective().into_iter().map(Into::into).collect())
    };
    run().map_err(super::to_napi)
}
