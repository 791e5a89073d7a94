//! Errors of the core, one enum for every layer, each variant holding the key,
//! path or version at fault. The binding turns `code()` into `err.code`.

use std::fmt;

use crate::StringEnum;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many characters of user input an error message quotes.
pub const QUOTE_CHARS: usize = 200;

/// `s`, or its first [`QUOTE_CHARS`] characters and its length, so that a
/// message about a megabyte of input stays short.
pub fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}… ({} characters)", &s[..cut], s.chars().count()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `key` and `value` are already quoted (see [`quote`]) where the error
    /// is made.
    #[error("Unknown storage option '{key}'{}. {hint}", suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    UnknownStorageOption {
        key: String,
        suggestion: Option<String>,
        hint: String,
    },

    #[error("Invalid value {value} for storage option '{key}': {reason}")]
    InvalidStorageOption {
        key: String,
        /// Already redacted when the key is secret.
        value: String,
        reason: String,
    },

    #[error("Invalid URI '{uri}': {reason}")]
    InvalidUri { uri: String, reason: String },

    #[error("Table '{name}' was not found{}", at.as_ref().map(|a| format!(" in {a}")).unwrap_or_default())]
    TableNotFound { name: String, at: Option<String> },

    #[error("Table '{name}' was dropped (or dropped and created again) after this handle opened it; open it again with openTable()")]
    TableDropped { name: String },

    #[error("Branch '{branch}' of table '{table}' was deleted after this handle opened it; check out another branch (table.branches().checkout) or open the table again")]
    BranchDeleted { table: String, branch: String },

    #[error("Table '{name}' already exists. Pass {{ mode: \"overwrite\" }} to replace it or {{ existOk: true }} to open it")]
    TableExists { name: String },

    #[error(
        "Table '{table}' has no version {version}; listVersions() shows the versions that exist"
    )]
    VersionNotFound { table: String, version: u64 },

    #[error("Version {version} of table '{table}' was removed by a cleanup (optimize with cleanupOlderThan) while it was being read; read again (a handle that follows the latest version does so by itself), or checkout a version that still exists")]
    VersionRemoved { table: String, version: u64 },

    #[error("Invalid table name '{name}': {reason}")]
    InvalidTableName { name: String, reason: String },

    #[error("{0}")]
    InvalidArgument(String),

    #[error("Invalid filter at position {position} ('{token}'): {reason}. Filter: {filter}")]
    InvalidFilter {
        filter: String,
        position: usize,
        token: String,
        reason: String,
    },

    #[error("Schema mismatch: {0}")]
    SchemaMismatch(String),

    #[error("{what} is closed; open it again to use it")]
    Closed { what: String },

    #[error("Commit conflict on version {version} of table '{table}': {reason}")]
    CommitConflict {
        table: String,
        version: u64,
        reason: String,
    },

    #[error("The store at {uri} ignores conditional writes (it accepted a second create-only PUT of the same object, i.e. it drops `If-None-Match: *`), so concurrent writers could overwrite each other's commits and lose acknowledged data. Refusing to commit. Use s3+ddb://bucket/path?ddbTableName=T for a DynamoDB commit store, or, if only one process ever writes, opt out with storageOptions {{ awsConditionalPut: \"disabled\" }}")]
    UnsafeStore { uri: String },

    #[error("Table '{table}' is corrupt: {reason}")]
    Corrupt { table: String, reason: String },

    #[error("{context}: {message}")]
    Storage {
        kind: StorageErrorKind,
        context: String,
        /// Already redacted.
        message: String,
    },

    #[error("Index '{name}' already exists on table '{table}'; pass replace: true to replace it, or choose another name")]
    IndexExists { table: String, name: String },

    #[error("Table '{table}' has no index named '{name}'{}", if known.is_empty() { " (it has no indexes)".to_string() } else { format!(" (its indexes: {})", known.join(", ")) })]
    IndexNotFound {
        table: String,
        name: String,
        known: Vec<String>,
    },

    /// Namespaces (src/table/namespace.rs); `path` is already displayed,
    /// e.g. `["a", "b"]`.
    #[error("Namespace {path} was not found{detail}")]
    NamespaceNotFound { path: String, detail: String },

    #[error("Namespace {path} already exists. Pass {{ mode: \"exist_ok\" }} to use it as it is, or {{ mode: \"overwrite\" }} to replace its properties")]
    NamespaceExists { path: String },

    #[error("Namespace {path} is not empty (it holds {what}). Drop those first, or pass {{ behavior: \"cascade\" }} to drop them with it")]
    NamespaceNotEmpty { path: String, what: String },

    #[error("Not supported: {0}")]
    NotSupported(String),

    #[error("Internal error: {0}")]
    Internal(String),
}

/// What a storage failure means for the user; each maps to a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Timeout,
    Connection,
    /// The server answered 5xx until the retries ran out.
    Server,
    /// The application's credentials provider threw or returned a value of
    /// the wrong shape.
    CredentialProvider,
    Other,
}

// Every `code` a `StowageError` can carry. The TypeScript `ErrorCode`
// type is generated from this list, and a test holds the README's list
// to it.
string_enum! {
    pub enum ErrorCode {
        InvalidUri = "INVALID_URI",
        UnknownStorageOption = "UNKNOWN_STORAGE_OPTION",
        InvalidStorageOption = "INVALID_STORAGE_OPTION",
        TableNotFound = "TABLE_NOT_FOUND",
        TableExists = "TABLE_EXISTS",
        InvalidTableName = "INVALID_TABLE_NAME",
        VersionNotFound = "VERSION_NOT_FOUND",
        InvalidArgument = "INVALID_ARGUMENT",
        InvalidFilter = "INVALID_FILTER",
        SchemaMismatch = "SCHEMA_MISMATCH",
        Closed = "CLOSED",
        CommitConflict = "COMMIT_CONFLICT",
        ConditionalPutUnsupported = "CONDITIONAL_PUT_UNSUPPORTED",
        CorruptTable = "CORRUPT_TABLE",
        StorageNotFound = "STORAGE_NOT_FOUND",
        StoragePermissionDenied = "STORAGE_PERMISSION_DENIED",
        StorageUnauthenticated = "STORAGE_UNAUTHENTICATED",
        StorageTimeout = "STORAGE_TIMEOUT",
        StorageConnection = "STORAGE_CONNECTION",
        StorageServerError = "STORAGE_SERVER_ERROR",
        StorageError = "STORAGE_ERROR",
        IndexExists = "INDEX_EXISTS",
        IndexNotFound = "INDEX_NOT_FOUND",
        CredentialProviderFailed = "CREDENTIAL_PROVIDER_FAILED",
        NamespaceNotFound = "NAMESPACE_NOT_FOUND",
        NamespaceExists = "NAMESPACE_EXISTS",
        NamespaceNotEmpty = "NAMESPACE_NOT_EMPTY",
        NotSupported = "NOT_SUPPORTED",
        Internal = "INTERNAL",
        // Raised by lib/native.ts when no addon binary loads (no prebuilt
        // package for the platform, or the optional dependency was skipped);
        // listed here so the codes stay one list.
        NativeBindingMissing = "NATIVE_BINDING_MISSING",
    }
}

impl Error {
    /// The stable `code` a JavaScript caller sees on the error.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    pub fn error_code(&self) -> ErrorCode {
        match self {
            Error::UnknownStorageOption { .. } => ErrorCode::UnknownStorageOption,
            Error::InvalidStorageOption { .. } => ErrorCode::InvalidStorageOption,
            Error::InvalidUri { .. } => ErrorCode::InvalidUri,
            Error::TableNotFound { .. }
            | Error::TableDropped { .. }
            | Error::BranchDeleted { .. } => ErrorCode::TableNotFound,
            Error::TableExists { .. } => ErrorCode::TableExists,
            Error::InvalidTableName { .. } => ErrorCode::InvalidTableName,
            Error::VersionNotFound { .. } | Error::VersionRemoved { .. } => {
                ErrorCode::VersionNotFound
            }
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::SchemaMismatch(_) => ErrorCode::SchemaMismatch,
            Error::InvalidFilter { .. } => ErrorCode::InvalidFilter,
            Error::Closed { .. } => ErrorCode::Closed,
            Error::CommitConflict { .. } => ErrorCode::CommitConflict,
            Error::Corrupt { .. } => ErrorCode::CorruptTable,
            Error::UnsafeStore { .. } => ErrorCode::ConditionalPutUnsupported,
            Error::Storage { kind, .. } => match kind {
                StorageErrorKind::NotFound => ErrorCode::StorageNotFound,
                StorageErrorKind::PermissionDenied => ErrorCode::StoragePermissionDenied,
                StorageErrorKind::Unauthenticated => ErrorCode::StorageUnauthenticated,
                StorageErrorKind::Timeout => ErrorCode::StorageTimeout,
                StorageErrorKind::Connection => ErrorCode::StorageConnection,
                StorageErrorKind::Server => ErrorCode::StorageServerError,
                StorageErrorKind::CredentialProvider => ErrorCode::CredentialProviderFailed,
                StorageErrorKind::Other => ErrorCode::StorageError,
            },
            Error::IndexExists { .. } => ErrorCode::IndexExists,
            Error::IndexNotFound { .. } => ErrorCode::IndexNotFound,
            Error::NamespaceNotFound { .. } => ErrorCode::NamespaceNotFound,
            Error::NamespaceExists { .. } => ErrorCode::NamespaceExists,
            Error::NamespaceNotEmpty { .. } => ErrorCode::NamespaceNotEmpty,
            Error::NotSupported(_) => ErrorCode::NotSupported,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn invalid_argument(msg: impl fmt::Display) -> Self {
        Error::InvalidArgument(msg.to_string())
    }

    pub fn internal(msg: impl fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::Internal(format!("arrow: {e}"))
    }
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Error::Internal(format!("parquet: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_quoted_by_prefix_and_length() {
        assert_eq!(quote("short"), "short");
        let q = quote(&"x".repeat(1000));
        assert!(q.starts_with(&"x".repeat(QUOTE_CHARS)), "{q}");
        assert!(q.ends_with("\u{2026} (1000 characters)"), "{q}");
        assert_eq!(q.matches('x').count(), QUOTE_CHARS);
    }

    #[test]
    fn short_text_is_whole_long_text_is_cut_at_the_limit() {
        assert_eq!(quote("abc"), "abc");
        let exact = "x".repeat(QUOTE_CHARS);
        assert_eq!(quote(&exact), exact);
        let long = "é".repeat(1_000_000);
        let b = quote(&long);
        assert!(b.starts_with(&"é".repeat(QUOTE_CHARS)));
        assert!(b.ends_with("… (1000000 characters)"));
        assert_eq!(
            b.chars().count(),
            QUOTE_CHARS + "… (1000000 characters)".chars().count()
        );
    }
}
