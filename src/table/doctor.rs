//! `stowage doctor` as a core call: resolve the user's configuration as
//! `connect` would, build the clients, and run the object-store checks and,
//! for `s3+ddb://`, the DynamoDB ones.

use crate::error::Result;
use crate::storage::doctor::{object_checks, Check, Interrupt};
use crate::storage::{
    build_store, DbUri, EffectiveOption, EnvSource, Location, ProvidedCredentials, Providers,
    RawOption, StorageOptions,
};

pub struct Report {
    /// The URI as given (URIs carry no secrets: keys go in options).
    pub uri: String,
    pub backend: &'static str,
    pub checks: Vec<Check>,
    /// Every required check passed.
    pub ok: bool,
    pub configuration: Vec<EffectiveOption>,
}

pub async fn doctor(
    uri: &str,
    options: Vec<RawOption>,
    env: &dyn EnvSource,
    credentials: Option<ProvidedCredentials>,
    interrupt: &Interrupt,
) -> Result<Report> {
    let uri = DbUri::parse(uri)?;
    let env = crate::storage::snapshot_env(env);
    let opts = StorageOptions::resolve_with(
        uri.backend(),
        None,
        &options,
        &env,
        &Providers {
            table: None,
            connection: credentials,
        },
    )?;
    let store = build_store(&uri, &opts).await?;
    let ddb = match &uri.location {
        Location::S3 {
            bucket,
            ddb_table: Some(t),
            ..
        } => Some((bucket.clone(), t.clone())),
        _ => None,
    };
    let mut checks = object_checks(&store, &uri.location, &opts, ddb.is_some(), interrupt).await;
    if let (Some((bucket, table)), Some(cfg)) = (&ddb, opts.config().s3()) {
        if !interrupt.is_set() {
            checks.extend(
                crate::commit::ddb_doctor::checks(cfg, &store, bucket, table, interrupt).await,
            );
        }
    }
    let ok = !interrupt.is_set() && checks.iter().all(|c| c.ok || !c.required);
    Ok(Report {
        uri: uri.raw.clone(),
        backend: uri.backend().name(),
        checks,
        ok,
        configuration: opts.effective(),
    })
}
