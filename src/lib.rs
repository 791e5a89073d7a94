//! Stowage: an embedded table and vector database for Node.js.
//!
//! Layers (dependencies point downward only):
//! `bindings` (napi) -> `table` / `query` -> `commit` -> `storage`.

pub mod bindings;
pub mod commit;
pub mod error;
pub mod query;
pub mod storage;
pub mod table;
