//! The DynamoDB half of `stowage doctor` for `s3+ddb://`: the commit
//! table's existence and key schema, then each item operation the commit
//! store uses, on a probe item of its own (`base_uri` under
//! `s3://<bucket>/_stowage_doctor/<uuid>`), removed at the end.

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ScalarAttributeType};

use super::dynamodb::{client_for, schema_help, sdk_kind};
use crate::error::{Error, StorageErrorKind};
use crate::storage::config::S3Config;
use crate::storage::doctor::{Check, Interrupt};
use crate::storage::StoreHandle;

fn arn(cfg: &S3Config, table: &str) -> String {
    format!("arn:aws:dynamodb:{}:*:table/{table}", cfg.region)
}

fn failed<E, R>(
    name: &str,
    request: String,
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
    action: &str,
    cfg: &S3Config,
    table: &str,
    store: &StoreHandle,
) -> Check
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let (kind, message) = sdk_kind(e);
    let err = Error::Storage {
        kind,
        context: format!("DynamoDB table '{table}'"),
        message: store.redact(&message),
    };
    Check::fail(
        name,
        request,
        &err,
        &format!("dynamodb:{action} on {}", arn(cfg, table)),
        "",
    )
}

pub async fn checks(
    cfg: &S3Config,
    store: &StoreHandle,
    bucket: &str,
    table: &str,
    interrupt: &Interrupt,
) -> Vec<Check> {
    let client = client_for(cfg).await;
    let mut out = Vec::new();
    // Existence and key schema.
    let req = format!("DescribeTable {table}");
    let Some(described) = interrupt
        .guard(client.describe_table().table_name(table).send())
        .await
    else {
        return out;
    };
    let t = match described {
        Err(e) => {
            let (kind, _) = sdk_kind(&e);
            out.push(if kind == StorageErrorKind::NotFound {
                Check::failed(
                    "ddb table exists",
                    req,
                    format!("the DynamoDB table '{table}' (ddbTableName) does not exist"),
                    schema_help(table),
                )
            } else {
                failed(
                    "ddb table exists",
                    req,
                    &e,
                    "DescribeTable",
                    cfg,
                    table,
                    store,
                )
            });
            return out;
        }
        Ok(d) => d.table().cloned(),
    };
    out.push(Check::pass_named("ddb table exists", req.clone()));
    let key_of = |kind: KeyType| {
        t.as_ref().and_then(|t| {
            t.key_schema()
                .iter()
                .find(|k| *k.key_type() == kind)
                .map(|k| k.attribute_name().to_string())
        })
    };
    let type_of = |name: &str| {
        t.as_ref().and_then(|t| {
            t.attribute_definitions()
                .iter()
                .find(|a| a.attribute_name() == name)
                .map(|a| a.attribute_type().clone())
        })
    };
    let schema_ok = key_of(KeyType::Hash).as_deref() == Some("base_uri")
        && key_of(KeyType::Range).as_deref() == Some("version")
        && type_of("base_uri") == Some(ScalarAttributeType::S)
        && type_of("version") == Some(ScalarAttributeType::N);
    if !schema_ok {
        out.push(Check::failed(
            "ddb key schema",
            req,
            format!(
                "the key schema is hash {:?} / range {:?}; Stowage needs hash base_uri (S), range version (N)",
                key_of(KeyType::Hash).unwrap_or_default(),
                key_of(KeyType::Range).unwrap_or_default()
            ),
            schema_help(table),
        ));
        return out;
    }
    out.push(Check::pass_named("ddb key schema", req));

    let base = format!("s3://{bucket}/_stowage_doctor/{}", uuid::Uuid::new_v4());
    let key = |c: aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder| {
        c.key("base_uri", AttributeValue::S(base.clone()))
            .key("version", AttributeValue::N("1".into()))
    };
    // PutItem, as a commit claims a version.
    let req = format!("PutItem {table} base_uri={base} version=1 (attribute_not_exists(version))");
    let Some(put) = interrupt
        .guard(
            client
                .put_item()
                .table_name(table)
                .item("base_uri", AttributeValue::S(base.clone()))
                .item("version", AttributeValue::N("1".into()))
                .item("doctor", AttributeValue::Bool(true))
                .condition_expression("attribute_not_exists(version)")
                .send(),
        )
        .await
    else {
        return out;
    };
    let wrote = put.is_ok();
    out.push(match put {
        Ok(_) => Check::pass_named("ddb PutItem", req),
        Err(e) => failed("ddb PutItem", req, &e, "PutItem", cfg, table, store),
    });
    let req = format!("GetItem {table} base_uri={base} version=1 (consistent read)");
    if let Some(r) = interrupt
        .guard(
            key(client.get_item().table_name(table))
                .consistent_read(true)
                .send(),
        )
        .await
    {
        out.push(match r {
            Ok(_) => Check::pass_named("ddb GetItem", req),
            Err(e) => failed("ddb GetItem", req, &e, "GetItem", cfg, table, store),
        });
    }
    let req = format!("UpdateItem {table} base_uri={base} version=1 (attribute_exists(version))");
    if let Some(r) = interrupt
        .guard(
            client
                .update_item()
                .table_name(table)
                .key("base_uri", AttributeValue::S(base.clone()))
                .key("version", AttributeValue::N("1".into()))
                .update_expression("SET doctor_checked = :t")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .send(),
        )
        .await
    {
        out.push(match r {
            Ok(_) => Check::pass_named("ddb UpdateItem", req),
            Err(e) => failed("ddb UpdateItem", req, &e, "UpdateItem", cfg, table, store),
        });
    }
    let req = format!("Query {table} base_uri={base} (newest first, limit 1)");
    if let Some(r) = interrupt
        .guard(
            client
                .query()
                .table_name(table)
                .key_condition_expression("base_uri = :b")
                .expression_attribute_values(":b", AttributeValue::S(base.clone()))
                .scan_index_forward(false)
                .limit(1)
                .consistent_read(true)
                .send(),
        )
        .await
    {
        out.push(match r {
            Ok(_) => Check::pass_named("ddb Query", req),
            Err(e) => failed("ddb Query", req, &e, "Query", cfg, table, store),
        });
    }
    // The probe item, whether or not UpdateItem created one.
    let req = format!("DeleteItem {table} base_uri={base} version=1");
    let r = client
        .delete_item()
        .table_name(table)
        .key("base_uri", AttributeValue::S(base.clone()))
        .key("version", AttributeValue::N("1".into()))
        .send()
        .await;
    out.push(match r {
        Ok(_) => Check::pass_named("ddb cleanup", req)
            .optional()
            .with_note(if wrote { "removed the probe item" } else { "nothing to remove" }),
        Err(e) => {
            let mut c = failed("ddb cleanup", req, &e, "DeleteItem", cfg, table, store).optional();
            c.fix = Some(format!(
                "the probe item base_uri={base} is left in '{table}' (it belongs to no table); remove it by hand, or grant dynamodb:DeleteItem for the doctor"
            ));
            c
        }
    });
    out
}
