//! Errors of the core, one enum for every layer, each variant holding the key,
//! path or version at fault. The binding turns `code()` into `err.code`.

use std::fmt;

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
    #[error("Unknown storage option '{}'{}. {hint}", quote(key), suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    UnknownStorageOption {
        key: String,
        suggestion: Option<String>,
        hint: String,
    },

    #[error(
        "Invalid value {} for storage option '{}': {reason}",
        quote(value),
        quote(key)
    )]
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

    #[error("Table '{name}' already exists. Pass {{ mode: \"overwrite\" }} to replace it or {{ existOk: true }} to open it")]
    TableExists { name: String },

    #[error(
        "Table '{table}' has no version {version}; listVersions() shows the versions that exist"
    )]
    VersionNotFound { table: String, version: u64 },

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
    Other,
}

impl Error {
    /// The stable `code` a JavaScript caller sees on the error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownStorageOption { .. } => "UNKNOWN_STORAGE_OPTION",
            Error::InvalidStorageOption { .. } => "INVALID_STORAGE_OPTION",
            Error::InvalidUri { .. } => "INVALID_URI",
            Error::TableNotFound { .. } => "TABLE_NOT_FOUND",
            Error::TableExists { .. } => "TABLE_EXISTS",
            Error::InvalidTableName { .. } => "INVALID_TABLE_NAME",
            Error::VersionNotFound { .. } => "VERSION_NOT_FOUND",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::SchemaMismatch(_) => "SCHEMA_MISMATCH",
            Error::InvalidFilter { .. } => "INVALID_FILTER",
            Error::Closed { .. } => "CLOSED",
            Error::CommitConflict { .. } => "COMMIT_CONFLICT",
            Error::Corrupt { .. } => "CORRUPT_TABLE",
            Error::UnsafeStore { .. } => "CONDITIONAL_PUT_UNSUPPORTED",
            Error::Storage { kind, .. } => match kind {
                StorageErrorKind::NotFound => "STORAGE_NOT_FOUND",
                StorageErrorKind::PermissionDenied => "STORAGE_PERMISSION_DENIED",
                StorageErrorKind::Unauthenticated => "STORAGE_UNAUTHENTICATED",
                StorageErrorKind::Timeout => "STORAGE_TIMEOUT",
                StorageErrorKind::Connection => "STORAGE_CONNECTION",
                StorageErrorKind::Server => "STORAGE_SERVER_ERROR",
                StorageErrorKind::Other => "STORAGE_ERROR",
            },
            Error::NotSupported(_) => "NOT_SUPPORTED",
            Error::Internal(_) => "INTERNAL",
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
