//! napi bindings only: Js* types, conversion to and from core types, promise
//! plumbing. No business logic here.
//!
//! Errors cross as `napi::Error` whose message starts with
//! `STOWAGE_ERR:<CODE>:`; lib/errors.ts turns that into a `StowageError`
//! with `code` set (napi's async bridge only carries its own status codes).

/// The methods both handle classes share, over their `inner` core handle
/// (napi classes cannot inherit, so a second `#[napi] impl` block each).
macro_rules! handle_methods {
    ($js:ident) => {
        #[napi_derive::napi]
        impl $js {
            #[napi]
            pub fn is_open(&self) -> bool {
                self.inner.is_open()
            }

            #[napi]
            pub fn close(&self) {
                self.inner.close()
            }

            #[napi]
            pub fn display(&self) -> String {
                self.inner.display()
            }

            /// Every resolved storage option, with its source; secrets masked.
            #[napi]
            pub fn effective_storage_options(&self) -> Vec<$crate::bindings::JsEffectiveOption> {
                self.inner
                    .effective_storage_options()
                    .into_iter()
                    .map(Into::into)
                    .collect()
            }
        }
    };
}

mod args;
mod branches;
mod connection;
mod credentials;
mod deadline;
mod doctor;
mod evolve;
mod fast_search;
mod fts;
mod index;
mod namespace;
mod prewarm;
mod query;
mod scan_pieces;
mod table;

use std::future::Future;
use std::panic::AssertUnwindSafe;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::FutureExt;
use heck::ToSnakeCase;
use napi::bindgen_prelude::Buffer;

use crate::error::Error;
use crate::storage::{EffectiveOption, RawOption, RawValue};

pub use connection::{JsConnection, JsCreateMode};
pub use doctor::{resolve_storage_options, JsDoctor};
pub use table::{JsAddMode, JsDistanceType, JsTable};

use args::Given;

pub const ERROR_PREFIX: &str = "STOWAGE_ERR:";

pub fn to_napi(e: Error) -> napi::Error {
    napi::Error::new(
        napi::Status::GenericFailure,
        format!("{ERROR_PREFIX}{}:{e}", e.code()),
    )
}

/// Runs a core future, mapping its error and any panic (code `INTERNAL`).
pub async fn guarded<T, F>(fut: F) -> napi::Result<T>
where
    F: Future<Output = crate::error::Result<T>>,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r.map_err(to_napi),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(to_napi(Error::Internal(format!(
                "a bug in Stowage: {what}; please report it"
            ))))
        }
    }
}

/// camelCase (or any) keys -> snake_case, here at the boundary, with the
/// user's spelling kept for messages.
pub fn raw_options(
    value: Option<Given<serde_json::Value>>,
) -> crate::error::Result<Vec<RawOption>> {
    const EXPECTED: &str = "an object of option names to values";
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let value = value.get("storageOptions", EXPECTED)?;
    let map = match value {
        serde_json::Value::Object(m) => m,
        serde_json::Value::Null => return Ok(Vec::new()),
        other => {
            return Err(Error::invalid_argument(format!(
                "storageOptions must be {EXPECTED}; got {}",
                json_type(&other)
            )))
        }
    };
    let mut out = Vec::with_capacity(map.len());
    for (given, v) in map {
        let value = match v {
            // An explicit null or undefined means "not given".
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => RawValue::Str(s),
            serde_json::Value::Bool(b) => RawValue::Bool(b),
            serde_json::Value::Number(n) => RawValue::Num(n.as_f64().unwrap_or(f64::NAN)),
            other => RawValue::Other(json_type(&other).into()),
        };
        let key = given.to_snake_case();
        out.push(RawOption { given, key, value });
    }
    Ok(out)
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[napi_derive::napi(object)]
pub struct JsEffectiveOption {
    pub key: String,
    pub value: String,
    pub source: String,
    pub given_as: String,
    pub secret: bool,
    /// False for a key this backend has no use for (a client timeout on a
    /// local database): reported, not applied.
    pub applies: bool,
}

impl From<EffectiveOption> for JsEffectiveOption {
    fn from(e: EffectiveOption) -> Self {
        JsEffectiveOption {
            key: e.key.to_string(),
            value: e.value,
            source: e.source.name().to_string(),
            given_as: e.given_as,
            secret: e.secret,
            applies: e.applies,
        }
    }
}

/// Keeps the JS buffer alive for as long as Arrow arrays point into it.
#[allow(dead_code)] // held only for its Drop
struct JsBytes(std::panic::AssertUnwindSafe<Buffer>);

/// Arrow IPC stream -> schema and batches, without copying: the arrays
/// point into the JS buffer, which they keep alive.
pub fn ipc_to_batches(buf: Buffer) -> crate::error::Result<(SchemaRef, Vec<RecordBatch>)> {
    let len = buf.len();
    let ptr = std::ptr::NonNull::new(buf.as_ptr() as *mut u8);
    let bytes = match ptr {
        // Safety: the pointer and length describe the JS buffer's memory,
        // which `JsBytes` keeps alive (and unmodified: it was made for this
        // call) until the last Arrow buffer referring to it is dropped.
        Some(ptr) if len > 0 => unsafe {
            arrow_buffer::Buffer::from_custom_allocation(
                ptr,
                len,
                std::sync::Arc::new(JsBytes(std::panic::AssertUnwindSafe(buf))),
            )
        },
        _ => arrow_buffer::Buffer::from_vec(Vec::<u8>::new()),
    };
    decode_ipc(bytes)
}

/// Decodes an Arrow IPC stream held in `bytes` (arrays point into it).
fn decode_ipc(
    mut bytes: arrow_buffer::Buffer,
) -> crate::error::Result<(SchemaRef, Vec<RecordBatch>)> {
    let bad = |e: arrow_schema::ArrowError| {
        Error::invalid_argument(format!("data is not a valid Arrow IPC stream: {e}"))
    };
    // Buffers not aligned for their type are copied, not rejected.
    let mut decoder = arrow_ipc::reader::StreamDecoder::new().with_require_alignment(false);
    let mut batches = Vec::new();
    while !bytes.is_empty() {
        match decoder.decode(&mut bytes).map_err(bad)? {
            Some(b) => batches.push(b),
            None if bytes.is_empty() => break,
            None => {}
        }
    }
    decoder.finish().map_err(bad)?;
    let schema = decoder.schema().ok_or_else(|| {
        Error::invalid_argument("data is not a valid Arrow IPC stream: it has no schema")
    })?;
    Ok((schema, batches))
}

/// The pieces of one Arrow IPC stream, in order -> schema and batches. The
/// pieces (views of the caller's Arrow buffers) are copied once into memory
/// of our own, so nothing decoded aliases memory JavaScript may still change.
pub fn ipc_pieces_to_batches(
    pieces: Vec<Buffer>,
) -> crate::error::Result<(SchemaRef, Vec<RecordBatch>)> {
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let mut joined = Vec::with_capacity(total);
    for p in &pieces {
        joined.extend_from_slice(p);
    }
    drop(pieces);
    decode_ipc(arrow_buffer::Buffer::from_vec(joined))
}

/// Schema and batches -> Arrow IPC stream.
pub fn batches_to_ipc(schema: &SchemaRef, batches: &[RecordBatch]) -> crate::error::Result<Buffer> {
    // Sized up front: a 50 MB result grown by doubling is copied and
    // faulted in several times over. Unused capacity is never touched.
    let body: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
    let mut buf = Vec::with_capacity(body + 4096 * (batches.len() + 1));
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, schema)?;
        for b in batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    Ok(buf.into())
}

/// One registry row, for generated docs and TypeScript types.
#[napi_derive::napi(object)]
pub struct JsOptionKey {
    pub name: String,
    pub spellings: Vec<String>,
    pub env: Vec<String>,
    pub backends: Vec<String>,
    pub kind: String,
    pub default: Option<String>,
    pub secret: bool,
    pub doc: String,
}

/// The storage option registry.
#[napi_derive::napi]
pub fn storage_option_registry() -> Vec<JsOptionKey> {
    use crate::storage::registry::{Kind, REGISTRY};
    REGISTRY
        .iter()
        .map(|d| JsOptionKey {
            name: d.name.to_string(),
            spellings: d.spellings().map(str::to_string).collect(),
            env: d.env.iter().map(|s| s.to_string()).collect(),
            backends: d.backends.iter().map(|b| b.name().to_string()).collect(),
            kind: match (d.kind, d.range) {
                (Kind::Int | Kind::Size, Some(r)) => {
                    format!(
                        "{} ({} to {})",
                        if d.kind == Kind::Int {
                            "integer"
                        } else {
                            "size"
                        },
                        r.min,
                        r.max
                    )
                }
                _ => kind_name(d.kind),
            },
            default: d.default.map(str::to_string),
            secret: d.secret,
            doc: d.doc.to_string(),
        })
        .collect()
}

fn kind_name(kind: crate::storage::registry::Kind) -> String {
    use crate::storage::registry::Kind;
    match kind {
        Kind::Bool => "bool".into(),
        Kind::Duration => "duration".into(),
        Kind::DurationSecs => "duration (or seconds)".into(),
        Kind::Int => "integer".into(),
        Kind::Size => "size".into(),
        Kind::Enum(v) => format!("one of {}", v.join(" | ")),
        Kind::Url => "url".into(),
        Kind::Path => "path".into(),
        Kind::Pem => "PEM certificate(s)".into(),
        Kind::Str => "string".into(),
    }
}

/// Checks a count argument (a limit, an offset) where the API takes it,
/// with the same rule the request conversion applies later.
#[napi_derive::napi(js_name = "_checkCount")]
pub fn check_count(
    name: String,
    #[napi(ts_arg_type = "unknown")] value: Given<f64>,
) -> napi::Result<f64> {
    args::integer(&name, value, args::COUNT)
        .map(|n| n as f64)
        .map_err(to_napi)
}

/// As [`check_count`], for arguments that start at 1 (nprobes, refine factor).
#[napi_derive::napi(js_name = "_checkPositive")]
pub fn check_positive(
    name: String,
    #[napi(ts_arg_type = "unknown")] value: Given<f64>,
) -> napi::Result<f64> {
    args::integer(&name, value, args::POSITIVE)
        .map(|n| n as f64)
        .map_err(to_napi)
}

/// Checks a distance type where the query builder takes it; returns it in
/// canonical (lower) case.
#[napi_derive::napi(js_name = "_checkDistanceType")]
pub fn check_distance_type(
    #[napi(ts_arg_type = "unknown")] value: Given<String>,
) -> napi::Result<JsDistanceType> {
    args::choice("distanceType", value).map_err(to_napi)
}

/// Aborts every upload in flight in this process (the SIGINT/SIGTERM path)
/// and waits up to `timeout_ms` for them to finish aborting. Returns how
/// many were still running at the deadline. Further uploads fail.
#[napi_derive::napi]
pub async fn abort_inflight_uploads(timeout_ms: u32) -> napi::Result<u32> {
    let left =
        crate::storage::cancel::abort_all(std::time::Duration::from_millis(timeout_ms as u64))
            .await;
    Ok(left as u32)
}
