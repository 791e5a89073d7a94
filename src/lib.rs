//! Stowage: an embedded table and vector database for Node.js.
//!
//! Layers (dependencies point downward only):
//! `bindings` (napi) -> `table` -> `query` -> `format` -> `commit` -> `storage`.

pub mod bindings;
pub mod commit;
pub mod error;
pub mod format;
pub mod index;
pub mod query;
pub mod storage;
pub mod table;
