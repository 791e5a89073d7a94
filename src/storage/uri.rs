//! Database URIs: where a database lives and which backend serves it.

use std::path::PathBuf;

use super::registry::Backend;
use crate::error::quote;
use crate::error::{Error, Result};

pub const ACCEPTED: &str = "a local path (relative or absolute), file:///abs/path, memory://[name], s3://bucket/path, s3+ddb://bucket/path?ddbTableName=T, gs://bucket/path or az://container/path";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local {
        path: PathBuf,
    },
    /// A process-wide in-memory store; `root` separates databases.
    Memory {
        root: String,
    },
    S3 {
        bucket: String,
        prefix: String,
        ddb_table: Option<String>,
    },
    Gcs {
        bucket: String,
        prefix: String,
    },
    Azure {
        container: String,
        prefix: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUri {
    pub raw: String,
    pub location: Location,
}

impl DbUri {
    pub fn backend(&self) -> Backend {
        match self.location {
            Location::Local { .. } => Backend::Local,
            Location::Memory { .. } => Backend::Memory,
            Location::S3 { .. } => Backend::S3,
            Location::Gcs { .. } => Backend::Gcs,
            Location::Azure { .. } => Backend::Azure,
        }
    }

    /// The object-store path prefix of the database, without slashes at the ends.
    pub fn prefix(&self) -> &str {
        match &self.location {
            Location::Local { .. } => "",
            Location::Memory { root } => root,
            Location::S3 { prefix, .. }
            | Location::Gcs { prefix, .. }
            | Location::Azure { prefix, .. } => prefix,
        }
    }

    /// Where a table lives, for messages.
    pub fn table_uri(&self, dir: &str) -> String {
        let base = self
            .raw
            .split('?')
            .next()
            .unwrap_or(&self.raw)
            .trim_end_matches('/');
        format!("{base}/{dir}")
    }

    pub fn parse(uri: &str) -> Result<Self> {
        let bad = |reason: String| Error::InvalidUri {
            uri: shown_uri(uri),
            reason,
        };
        let trimmed = uri.trim();
        if trimmed.is_empty() {
            return Err(bad(format!("it is empty; expected {ACCEPTED}")));
        }
        let Some((scheme, rest)) = split_scheme(trimmed) else {
            // No scheme: a local path.
            let path = PathBuf::from(trimmed);
            let path = if path.is_absolute() {
                path
            } else {
                std::env::current_dir()
                    .map_err(|e| bad(format!("cannot resolve a relative path: {e}")))?
                    .join(path)
            };
            return Ok(DbUri {
                raw: uri.to_string(),
                location: Location::Local { path },
            });
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let scheme_lc = scheme.to_ascii_lowercase();
        if scheme_lc != "s3+ddb" {
            if let Some(q) = query {
                return Err(bad(format!(
                    "query parameters ('?{}') are only accepted on s3+ddb:// URIs",
                    quote(q)
                )));
            }
        }
        let (host, path) = match rest.split_once('/') {
            Some((h, p)) => (h, p.trim_matches('/')),
            None => (rest, ""),
        };
        if host.contains('@') {
            return Err(bad(format!(
                "credentials in the URI ('{scheme_lc}://****@...') are not accepted and are not shown; pass them in storageOptions (e.g. awsAccessKeyId/awsSecretAccessKey) or the environment"
            )));
        }
        let location = match scheme_lc.as_str() {
            "file" => {
                if !(host.is_empty() || host == "localhost") {
                    return Err(bad(
                        "file:// URIs need an absolute path: file:///abs/path".into()
                    ));
                }
                Location::Local {
                    path: PathBuf::from(format!("/{path}")),
                }
            }
            "memory" => {
                let root = [host, path]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/");
                Location::Memory { root }
            }
            "s3" | "s3+ddb" => {
                check_bucket(host, "bucket").map_err(&bad)?;
                let ddb_table = if scheme_lc == "s3+ddb" {
                    Some(parse_ddb_query(query).map_err(&bad)?)
                } else {
                    None
                };
                Location::S3 {
                    bucket: host.to_string(),
                    prefix: path.to_string(),
                    ddb_table,
                }
            }
            "gs" => {
                check_bucket(host, "bucket").map_err(&bad)?;
                Location::Gcs {
                    bucket: host.to_string(),
                    prefix: path.to_string(),
                }
            }
            "az" => {
                check_bucket(host, "container").map_err(&bad)?;
                Location::Azure {
                    container: host.to_string(),
                    prefix: path.to_string(),
                }
            }
            other => {
                return Err(bad(format!(
                    "unknown scheme '{}://'; expected {ACCEPTED}",
                    quote(other)
                )))
            }
        };
        Ok(DbUri {
            raw: uri.to_string(),
            location,
        })
    }
}

/// The URI as a message may show it: any userinfo (`user:secret@`) masked,
/// and bounded.
fn shown_uri(uri: &str) -> String {
    let masked = match uri.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://****{}", &rest[at..]),
                None => uri.to_string(),
            }
        }
        None => uri.to_string(),
    };
    quote(&masked)
}

fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    // A one-letter "scheme" is a Windows drive, not a scheme.
    (first_ok && rest_ok && scheme.len() > 1).then_some((scheme, rest))
}

fn check_bucket(name: &str, what: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err(format!(
            "the {what} name is missing; expected e.g. s3://my-{what}/path"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(format!(
            "the {what} name '{}' contains '{c}'; {what} names use letters, digits, '-', '.' and '_'",
            quote(name)
        ));
    }
    Ok(())
}

fn parse_ddb_query(query: Option<&str>) -> std::result::Result<String, String> {
    let example = "s3+ddb://bucket/path?ddbTableName=my-table";
    let q = query
        .filter(|q| !q.is_empty())
        .ok_or_else(|| format!("s3+ddb:// needs the DynamoDB table name: {example}"))?;
    let mut table = None;
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "ddbTableName" => {
                if table.is_some() {
                    return Err("ddbTableName is given twice".into());
                }
                table = Some(v.to_string());
            }
            other => {
                return Err(format!(
                    "unknown query parameter '{}'; the only accepted parameter is ddbTableName ({example})",
                    quote(other)
                ))
            }
        }
    }
    let t = table.ok_or_else(|| format!("s3+ddb:// needs the DynamoDB table name: {example}"))?;
    let valid = (3..=255).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(format!(
            "ddbTableName '{}' is not a valid DynamoDB table name (3-255 characters of letters, digits, '_', '-' and '.')",
            quote(&t)
        ));
    }
    Ok(t)
}

/// Table names become one path segment; keep them portable.
pub fn check_table_name(name: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidTableName {
        name: quote(name),
        reason: reason.to_string(),
    };
    match segment_name_problem(name, "table") {
        Some(reason) => Err(bad(&reason)),
        None => Ok(()),
    }
}

/// Why `name` cannot be one portable path segment (the rules of table and
/// namespace names), or `None`. `kind` names what it is in the message.
pub(crate) fn segment_name_problem(name: &str, kind: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > 200 {
        return Some("it is longer than 200 characters".into());
    }
    if name.starts_with('.') {
        return Some("it starts with '.'".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Some(format!(
            "{kind} names may contain only letters, digits, '_', '-' and '.'"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(uri: &str) -> Location {
        DbUri::parse(uri).unwrap().location
    }

    #[test]
    fn parses_every_scheme() {
        assert_eq!(
            loc("/tmp/db"),
            Location::Local {
                path: "/tmp/db".into()
            }
        );
        assert_eq!(
            loc("file:///tmp/db"),
            Location::Local {
                path: "/tmp/db".into()
            }
        );
        match loc("data/db") {
            Location::Local { path } => assert!(path.is_absolute() && path.ends_with("data/db")),
            o => panic!("{o:?}"),
        }
        assert_eq!(loc("memory://"), Location::Memory { root: "".into() });
        assert_eq!(
            loc("memory://a/b/"),
            Location::Memory { root: "a/b".into() }
        );
        assert_eq!(
            loc("s3://b/p/q/"),
            Location::S3 {
                bucket: "b".into(),
                prefix: "p/q".into(),
                ddb_table: None
            }
        );
        assert_eq!(
            loc("s3://b"),
            Location::S3 {
                bucket: "b".into(),
                prefix: "".into(),
                ddb_table: None
            }
        );
        assert_eq!(
            loc("s3+ddb://b/p?ddbTableName=T-1"),
            Location::S3 {
                bucket: "b".into(),
                prefix: "p".into(),
                ddb_table: Some("T-1".into())
            }
        );
        assert_eq!(
            loc("gs://b/p"),
            Location::Gcs {
                bucket: "b".into(),
                prefix: "p".into()
            }
        );
        assert_eq!(
            loc("az://c/p"),
            Location::Azure {
                container: "c".into(),
                prefix: "p".into()
            }
        );
        assert_eq!(
            loc("S3://b/p"),
            Location::S3 {
                bucket: "b".into(),
                prefix: "p".into(),
                ddb_table: None
            }
        );
    }

    #[test]
    fn rejects_malformed_uris_clearly() {
        let cases = [
            ("", "empty"),
            ("ftp://x/y", "unknown scheme 'ftp://'"),
            ("s3://", "bucket name is missing"),
            ("s3://bu cket/x", "contains ' '"),
            ("s3://b/p?x=1", "only accepted on s3+ddb"),
            ("s3+ddb://b/p", "needs the DynamoDB table name"),
            (
                "s3+ddb://b/p?ddbTableName=",
                "not a valid DynamoDB table name",
            ),
            (
                "s3+ddb://b/p?tableName=x",
                "unknown query parameter 'tableName'",
            ),
            (
                "s3+ddb://b/p?ddbTableName=ab",
                "not a valid DynamoDB table name",
            ),
            (
                "s3+ddb://b/p?ddbTableName=aaa&ddbTableName=bbb",
                "given twice",
            ),
            ("file://host/x", "absolute path"),
            ("gs:///x", "bucket name is missing"),
            ("az://", "container name is missing"),
        ];
        for (uri, needle) in cases {
            let err = DbUri::parse(uri).unwrap_err();
            assert_eq!(err.code(), "INVALID_URI", "{uri}");
            assert!(err.to_string().contains(needle), "{uri}: {err}");
        }
        assert!(DbUri::parse("ftp://x")
            .unwrap_err()
            .to_string()
            .contains("s3+ddb://bucket/path?ddbTableName=T"));
    }

    #[test]
    fn userinfo_is_refused_and_never_echoed() {
        for uri in [
            "s3://AKID:SECRETVALUE@bucket/db",
            "s3+ddb://AKID:SECRETVALUE@bucket/db?ddbTableName=tbl",
            "gs://user:SECRETVALUE@bucket/db",
            "az://SECRETVALUE@container/db",
        ] {
            let err = DbUri::parse(uri).unwrap_err();
            assert_eq!(err.code(), "INVALID_URI", "{uri}");
            let msg = err.to_string();
            assert!(!msg.contains("SECRETVALUE"), "{msg}");
            assert!(msg.contains("credentials in the URI"), "{msg}");
        }
        // Another error of the same URI masks it too.
        let err = DbUri::parse("s3://AKID:SECRETVALUE@bucket/db?x=1").unwrap_err();
        assert!(!err.to_string().contains("SECRETVALUE"), "{err}");
    }

    #[test]
    fn huge_input_gives_bounded_messages() {
        let name = "x".repeat(100_000) + "/";
        let err = check_table_name(&name).unwrap_err();
        let msg = err.to_string();
        assert!(msg.len() < 600, "{} bytes", msg.len());
        assert!(msg.contains("… (100001 characters)"), "{msg}");
        let uri = format!("s3://b/p?{}", "q".repeat(1 << 20));
        let msg = DbUri::parse(&uri).unwrap_err().to_string();
        assert!(msg.len() < 1200, "{} bytes", msg.len());
    }

    #[test]
    fn table_names() {
        assert!(check_table_name("items_1.v-2").is_ok());
        for bad in ["", ".hidden", "a/b", "a b", "ü"] {
            assert_eq!(
                check_table_name(bad).unwrap_err().code(),
                "INVALID_TABLE_NAME",
                "{bad}"
            );
        }
    }
}
