//! One request per operation, as a caller (the bindings) builds it: every
//! value already checked and typed, every default already applied.

use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use super::ops::MergeFlags;
use super::AddMode;
use crate::storage::RawOption;

/// For [`super::Database::connect`].
#[derive(Debug)]
pub struct ConnectRequest {
    pub uri: String,
    pub storage_options: Vec<RawOption>,
    /// `None`: never look for other writers' versions.
    pub read_consistency_interval: Option<Duration>,
    pub credentials: Option<crate::storage::ProvidedCredentials>,
}

/// For [`super::Database::table_names`].
#[derive(Debug, Default)]
pub struct TableNamesRequest {
    /// Only names that sort after this one.
    pub start_after: Option<String>,
    pub limit: Option<usize>,
}

/// For [`super::Table::add`].
#[derive(Debug)]
pub struct AddRequest {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub mode: AddMode,
}

/// For [`super::Table::update`].
#[derive(Debug)]
pub struct UpdateRequest {
    /// `None`: every row.
    pub predicate: Option<String>,
    /// (column, SQL expression) pairs.
    pub assignments: Vec<(String, String)>,
    /// Typed values set as they are (one row).
    pub values: Option<RecordBatch>,
}

/// For [`super::Table::merge_insert`].
#[derive(Debug)]
pub struct MergeInsertRequest {
    pub on: Vec<String>,
    pub flags: MergeFlags,
    pub batches: Vec<RecordBatch>,
}
