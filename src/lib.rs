//! Stowage: an embedded table and vector database for Node.js.
//!
//! Layers (dependencies point downward only):
//! `bindings` (napi) -> `table` -> `query` -> `format` -> `commit` -> `storage`.

/// A `#[napi(string_enum)]` enum that also lists its values, so the
/// TypeScript union napi writes, the parser and the "accepted values" of an
/// error message all come from this one list. (Document an enum with `//`
/// comments above the invocation: napi would print a `///` passed through
/// the macro as a raw string literal in index.d.ts.)
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[napi_derive::napi(string_enum)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$vmeta])* #[napi(value = $value)] $variant),+
        }

        impl $crate::StringEnum for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value),+
                }
            }
        }
    };
}

/// What [`string_enum!`] gives an enum: its values, in declaration order.
pub trait StringEnum: Copy + Sized + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
}

pub mod bindings;
pub mod commit;
pub mod error;
pub mod format;
pub mod index;
pub mod query;
pub mod storage;
pub mod table;
