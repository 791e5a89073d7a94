//! `stowage doctor`: live checks, with the user's own configuration, of
//! every object-store operation Stowage relies on. Each check makes one
//! request (or a pair), and a failure names the permission it needs on the
//! resource at hand and the fix. Every object written goes under
//! `<prefix>/_stowage_doctor/<uuid>/` and is removed at the end, also when
//! the run is interrupted. Messages are redacted; no secret is shown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use tokio::sync::Notify;

use super::config::ConditionalPut;
use super::registry;
use super::uri::Location;
use super::{StorageOptions, StoreHandle};
use crate::error::{Error, StorageErrorKind};

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// Whether a table needs it (a failed optional check does not fail the run).
    pub required: bool,
    /// The request(s) made, e.g. `PUT s3://bucket/db/_stowage_doctor/…/probe`.
    pub request: String,
    /// On failure: the permission missing (when the store said "denied").
    pub permission: Option<String>,
    /// On failure: what the store answered (redacted).
    pub error: Option<String>,
    /// On failure: what to do.
    pub fix: Option<String>,
    /// On success: a note (e.g. why a check was not needed).
    pub note: Option<String>,
}

impl Check {
    pub fn pass_named(name: &str, request: String) -> Check {
        Check::pass(name, request)
    }

    fn pass(name: &str, request: String) -> Check {
        Check {
            name: name.into(),
            ok: true,
            required: true,
            request,
            permission: None,
            error: None,
            fix: None,
            note: None,
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Check {
        self.note = Some(note.into());
        self
    }

    pub fn optional(mut self) -> Check {
        self.required = false;
        self
    }

    /// A failed check: the permission is named only when the store denied it.
    pub fn fail(name: &str, request: String, e: &Error, permission: &str, fix: &str) -> Check {
        let denied = matches!(
            e,
            Error::Storage {
                kind: StorageErrorKind::PermissionDenied | StorageErrorKind::Unauthenticated,
                ..
            }
        );
        Check {
            name: name.into(),
            ok: false,
            required: true,
            request,
            permission: denied.then(|| permission.to_string()),
            error: Some(e.to_string()),
            fix: Some(if denied {
                format!("grant {permission} to the identity Stowage uses{fix}")
            } else {
                match e {
                    Error::Storage {
                        kind: StorageErrorKind::NotFound,
                        ..
                    } => "check that the bucket/container exists and the URI names it".into(),
                    Error::Storage {
                        kind: StorageErrorKind::Connection | StorageErrorKind::Timeout,
                        ..
                    } => "check the endpoint and the network (endpoint, proxy and timeout options)"
                        .into(),
                    Error::Storage {
                        kind: StorageErrorKind::CredentialProvider,
                        ..
                    } => "fix the credentials provider function".into(),
                    _ => "see the error; `stowage config` shows the configuration in use".into(),
                }
            }),
            note: None,
        }
    }

    pub fn failed(name: &str, request: String, error: String, fix: String) -> Check {
        Check {
            name: name.into(),
            ok: false,
            required: true,
            request,
            permission: None,
            error: Some(error),
            fix: Some(fix),
            note: None,
        }
    }
}

/// Lets a caller interrupt a run (SIGINT): the current request is dropped
/// and the cleanup runs before the report is returned.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Interrupt {
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Runs `fut` unless interrupted first (`None` then).
    pub async fn guard<T>(&self, fut: impl std::future::Future<Output = T>) -> Option<T> {
        if self.is_set() {
            return None;
        }
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_set() {
            return None;
        }
        tokio::select! {
            r = fut => Some(r),
            _ = notified => None,
        }
    }
}

/// How permissions are spelled for the backend at hand.
struct Perms {
    list: String,
    get: String,
    put: String,
    delete: String,
    multipart_abort: String,
    /// What to add to a fix ("to the bucket policy", the guide's policy…).
    fix_tail: &'static str,
}

fn perms(loc: &Location) -> Option<Perms> {
    match loc {
        Location::S3 { bucket, prefix, .. } => {
            let objects = if prefix.is_empty() {
                format!("arn:aws:s3:::{bucket}/*")
            } else {
                format!("arn:aws:s3:::{bucket}/{prefix}/*")
            };
            let cond = if prefix.is_empty() {
                String::new()
            } else {
                format!(" (condition s3:prefix \"{prefix}/*\")")
            };
            Some(Perms {
                list: format!("s3:ListBucket on arn:aws:s3:::{bucket}{cond}"),
                get: format!("s3:GetObject on {objects}"),
                put: format!("s3:PutObject on {objects}"),
                delete: format!("s3:DeleteObject on {objects}"),
                multipart_abort: format!("s3:AbortMultipartUpload on {objects}"),
                fix_tail:
                    " (see the IAM policy in docs/storage-options.md and the cloud storage guide)",
            })
        }
        Location::Gcs { bucket, .. } => {
            let on = format!("on projects/_/buckets/{bucket}");
            Some(Perms {
                list: format!("storage.objects.list {on}"),
                get: format!("storage.objects.get {on}"),
                put: format!("storage.objects.create {on}"),
                delete: format!("storage.objects.delete {on}"),
                multipart_abort: format!("storage.multipartUploads.abort {on}"),
                fix_tail: " (roles/storage.objectAdmin has them all)",
            })
        }
        Location::Azure { container, .. } => {
            let on = format!("on container {container}");
            let action = |a: &str, sas: &str| {
                format!("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/{a} {on} (SAS permission '{sas}')")
            };
            Some(Perms {
                list: action("read", "l"),
                get: action("read", "r"),
                put: action("write", "w' or 'c"),
                delete: action("delete", "d"),
                multipart_abort: action("write", "w"),
                fix_tail: " (the Storage Blob Data Contributor role has them all)",
            })
        }
        Location::Local { .. } | Location::Memory { .. } => None,
    }
}

/// What the object checks wrote, so the cleanup can remove it.
#[derive(Default)]
struct Written {
    objects: Vec<Path>,
}

/// Runs the object-store checks against `store` (already built from the
/// user's options). Interruptions end the checks early; the cleanup always
/// runs and is reported as its own line.
pub async fn object_checks(
    store: &StoreHandle,
    loc: &Location,
    opts: &StorageOptions,
    commits_in_dynamodb: bool,
    interrupt: &Interrupt,
) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(p) = perms(loc) else {
        out.push(
            Check::pass("local", format!("(no requests: {})", store.display_uri)).with_note(
                "a local or memory database needs no permissions beyond the file system",
            ),
        );
        return out;
    };
    let base = store.display_uri.trim_end_matches('/').to_string();
    let dir_name = format!("_stowage_doctor/{}", uuid::Uuid::new_v4());
    let dir = store
        .root
        .clone()
        .join("_stowage_doctor")
        .join(dir_name.rsplit('/').next().unwrap_or("probe").to_string());
    let show = |name: &str| format!("{base}/{dir_name}/{name}");
    let mut written = Written::default();
    run_checks(
        store,
        opts,
        commits_in_dynamodb,
        interrupt,
        &p,
        &dir,
        &show,
        &mut written,
        &mut out,
    )
    .await;
    if interrupt.is_set() {
        out.push(Check::failed(
            "interrupted",
            "(run stopped)".into(),
            "the run was interrupted before every check ran".into(),
            "run it again to see every check".into(),
        ));
    }
    out.push(cleanup(store, &written, &show_dir(&base, &dir_name)).await);
    out
}

fn show_dir(base: &str, dir_name: &str) -> String {
    format!("{base}/{dir_name}/")
}

#[allow(clippy::too_many_arguments)]
async fn run_checks(
    store: &StoreHandle,
    opts: &StorageOptions,
    commits_in_dynamodb: bool,
    interrupt: &Interrupt,
    p: &Perms,
    dir: &Path,
    show: &(dyn Fn(&str) -> String + Sync),
    written: &mut Written,
    out: &mut Vec<Check>,
) {
    let os = &store.store;
    let ctx = |what: &str| format!("doctor: {what}");
    // 1. list with the database prefix.
    let req = format!(
        "LIST {}/ (list with prefix)",
        store.display_uri.trim_end_matches('/')
    );
    let Some(r) = interrupt
        .guard(os.list_with_delimiter(Some(&store.root)))
        .await
    else {
        return;
    };
    out.push(match r {
        Ok(_) => Check::pass("list", req),
        Err(e) => Check::fail(
            "list",
            req,
            &store.error(e, ctx("listing")),
            &p.list,
            p.fix_tail,
        ),
    });

    // 2. put.
    let probe = dir.clone().join("probe");
    let req = format!("PUT {}", show("probe"));
    let Some(r) = interrupt
        .guard(os.put(&probe, PutPayload::from_static(b"stowage doctor probe")))
        .await
    else {
        return;
    };
    let put_ok = r.is_ok();
    let put_error = r.as_ref().err().map(|e| e.to_string());
    out.push(match r {
        Ok(_) => {
            written.objects.push(probe.clone());
            Check::pass("put", req)
        }
        Err(e) => {
            // A put refused for its KMS key names the KMS permissions.
            let kms = opts
                .set()
                .text(&registry::AWS_SSE_KMS_KEY_ID)
                .filter(|_| e.to_string().to_ascii_lowercase().contains("kms"));
            let permission = match kms {
                Some(key) => format!("kms:GenerateDataKey and kms:Decrypt on the KMS key {key}"),
                None => p.put.clone(),
            };
            Check::fail(
                "put",
                req,
                &store.error(e, ctx("writing")),
                &permission,
                p.fix_tail,
            )
        }
    });

    // 3. get (of the probe, or of a missing object when the put failed:
    //    "not found" then shows reads are allowed).
    let req = format!("GET {}", show("probe"));
    let Some(r) = interrupt.guard(os.get(&probe)).await else {
        return;
    };
    let r = match r {
        Ok(g) => interrupt
            .guard(g.bytes())
            .await
            .unwrap_or(Ok(Default::default()))
            .map(|_| ()),
        Err(e) => Err(e),
    };
    let get_ok = r.is_ok();
    out.push(match r {
        Ok(()) => Check::pass("get", req),
        Err(object_store::Error::NotFound { .. }) if !put_ok => Check::pass("get", req)
            .with_note("the probe was not written; reading a missing object was allowed (404)"),
        Err(e) => Check::fail(
            "get",
            req,
            &store.error(e, ctx("reading")),
            &p.get,
            p.fix_tail,
        ),
    });

    // SSE-KMS: the put and get above ran with the configured key.
    if let Some(key) = opts.set().text(&registry::AWS_SSE_KMS_KEY_ID) {
        let req = format!("PUT + GET {} with SSE-KMS key {key}", show("probe"));
        let kms_perm = format!("kms:GenerateDataKey and kms:Decrypt on the KMS key {key}");
        out.push(if put_ok && get_ok {
            Check::pass("sse-kms", req)
        } else {
            let text = put_error.unwrap_or_default();
            if text.to_ascii_lowercase().contains("kms") {
                Check {
                    permission: Some(kms_perm.clone()),
                    ..Check::failed(
                        "sse-kms",
                        req,
                        store.redact(&text),
                        format!("grant {kms_perm} (key policy or IAM), or check the key id in awsSseKmsKeyId"),
                    )
                }
            } else {
                Check::failed(
                    "sse-kms",
                    req,
                    "the put or get above failed".into(),
                    "fix the put/get checks first".into(),
                )
            }
        });
    }

    // 4. create-only put (commits rely on it unless DynamoDB decides).
    let conditional_needed = !commits_in_dynamodb
        && !matches!(
            opts.config().s3().map(|c| c.conditional_put),
            Some(ConditionalPut::Disabled)
        );
    let once = dir.clone().join("create-only");
    let req = format!("PUT {} If-None-Match: * (twice)", show("create-only"));
    let create = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    let Some(first) = interrupt
        .guard(os.put_opts(&once, PutPayload::from_static(b"1"), create.clone()))
        .await
    else {
        return;
    };
    let check = match first {
        Err(e) => Check::fail(
            "create-only put",
            req,
            &store.error(e, ctx("create-only put")),
            &p.put,
            p.fix_tail,
        ),
        Ok(_) => {
            written.objects.push(once.clone());
            let Some(second) = interrupt
                .guard(os.put_opts(&once, PutPayload::from_static(b"2"), create))
                .await
            else {
                return;
            };
            match second {
                Err(object_store::Error::AlreadyExists { .. }) => Check::pass("create-only put", req)
                    .with_note("the second create-only put was refused, as it must be"),
                Ok(_) => Check::failed(
                    "create-only put",
                    req,
                    "the store accepted a second create-only put of the same object (it ignores If-None-Match: *)".into(),
                    "use s3+ddb://bucket/path?ddbTableName=T (DynamoDB decides commits), or, with one writer only, storageOptions { awsConditionalPut: \"disabled\" }".into(),
                ),
                Err(e) => Check::fail(
                    "create-only put",
                    req,
                    &store.error(e, ctx("create-only put")),
                    &p.put,
                    p.fix_tail,
                ),
            }
        }
    };
    out.push(if conditional_needed {
        check
    } else {
        let why = if commits_in_dynamodb {
            "not needed: DynamoDB decides commits"
        } else {
            "not needed: awsConditionalPut is disabled (one writer only)"
        };
        Check {
            required: false,
            ..check
        }
        .with_note(why)
    });

    // 5. multipart create and abort.
    let mp = dir.clone().join("multipart");
    let req = format!(
        "POST {}?uploads, then DELETE ?uploadId (create and abort a multipart upload)",
        show("multipart")
    );
    let Some(created) = interrupt.guard(os.put_multipart(&mp)).await else {
        return;
    };
    out.push(match created {
        Err(e) => Check::fail("multipart create", req, &store.error(e, ctx("starting a multipart upload")), &p.put, p.fix_tail),
        Ok(mut upload) => {
            // Azure and GCS only start an upload with the first part.
            let _ = interrupt
                .guard(upload.put_part(PutPayload::from_static(b"part")))
                .await;
            match upload.abort().await {
                Ok(()) => Check::pass("multipart create/abort", req),
                Err(e) => Check::fail(
                    "multipart abort",
                    req,
                    &store.error(e, ctx("aborting a multipart upload")),
                    &p.multipart_abort,
                    " (without it, interrupted uploads leave parts until a lifecycle rule removes them)",
                )
                .optional(),
            }
        }
    });

    // 6. delete (the probe; the cleanup removes the rest), the way Stowage
    //    deletes (S3: DeleteObjects; Azure: a batch, or blob by blob over a SAS).
    let req = format!("DELETE {}", show("probe"));
    let Some(r) = interrupt.guard(store.delete_all(vec![probe.clone()])).await else {
        return;
    };
    out.push(match r {
        Ok(()) if put_ok => {
            written.objects.retain(|o| o != &probe);
            Check::pass("delete", req)
        }
        Ok(()) => Check::pass("delete", req)
            .with_note("the probe was not written; deleting a missing object was allowed"),
        Err(e) => Check::fail("delete", req, &e, &p.delete, p.fix_tail),
    });
}

async fn cleanup(store: &StoreHandle, written: &Written, dir: &str) -> Check {
    let mut left = Vec::new();
    for o in &written.objects {
        if store.delete_all(vec![o.clone()]).await.is_err() {
            left.push(o.to_string());
        }
    }
    let req = format!("DELETE everything under {dir}");
    if left.is_empty() {
        Check::pass("cleanup", req).optional().with_note(format!(
            "removed {} object(s) the doctor wrote",
            written.objects.len()
        ))
    } else {
        Check {
            required: false,
            ..Check::failed(
                "cleanup",
                req,
                format!("could not remove: {}", left.join(", ")),
                "remove these objects by hand (they are not part of any table)".into(),
            )
        }
    }
}
