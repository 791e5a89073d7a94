//! Arguments as JavaScript hands them over, and the one set of checks that
//! turns them into core values.
//!
//! napi's own conversions reject a wrong JS type with a message about Rust
//! types (`Failed to convert napi value String into rust type f64 on
//! JsVectorOptions.vector`), and a getter that throws while napi reads an
//! object escapes as a bare JS error. [`Given`] takes whatever arrived
//! instead, so the `TryFrom` into a core request can reject it with
//! `INVALID_ARGUMENT`, naming the argument and what it accepts.

use std::fmt;
use std::time::Duration;

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use crate::error::{quote, Error, Result};
use crate::StringEnum;

/// A JS value converted to `T` if it is one, or a description of what it
/// was instead. Never fails to convert, so napi never reports it.
pub struct Given<T>(std::result::Result<T, Received>);

/// What a caller passed where a value did not fit, for error messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// `typeof` and, for strings and numbers, the value (bounded).
    Value(String),
    /// Reading the value ran caller code (a getter, a proxy) that threw.
    Threw(String),
}

impl fmt::Display for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Received::Value(v) => write!(f, "got {v}"),
            Received::Threw(e) => write!(f, "reading it threw: {e}"),
        }
    }
}

impl<T> Given<T> {
    /// The value, or `INVALID_ARGUMENT` saying `name` must be `expected`.
    pub fn get(self, name: &str, expected: &str) -> Result<T> {
        self.0
            .map_err(|r| Error::invalid_argument(format!("{name} must be {expected}; {r}")))
    }

    #[cfg(test)]
    pub fn of(v: T) -> Self {
        Given(Ok(v))
    }

    #[cfg(test)]
    pub fn wrong(r: Received) -> Self {
        Given(Err(r))
    }
}

impl<T: FromNapiValue> FromNapiValue for Given<T> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // Safety (both calls): `env` and `value` are the live handles napi
        // passed to this conversion.
        match unsafe { T::from_napi_value(env, value) } {
            Ok(v) => Ok(Given(Ok(v))),
            Err(_) => Ok(Given(Err(unsafe { describe(env, value) }))),
        }
    }
}

/// Says what `value` is, clearing the exception a throwing getter left
/// pending (napi would otherwise rethrow it as a bare JS error).
unsafe fn describe(env: sys::napi_env, value: sys::napi_value) -> Received {
    let mut pending = false;
    // Safety: plain N-API calls on the live handles of this conversion.
    unsafe {
        if sys::napi_is_exception_pending(env, &mut pending) == sys::Status::napi_ok && pending {
            let mut exception = std::ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut exception);
            let text = js_string(env, exception).unwrap_or_else(|| "an exception".into());
            return Received::Threw(quote(&text));
        }
        let mut kind = 0;
        if sys::napi_typeof(env, value, &mut kind) != sys::Status::napi_ok {
            return Received::Value("a value of unknown type".into());
        }
        Received::Value(match kind {
            sys::ValueType::napi_undefined => "undefined".into(),
            sys::ValueType::napi_null => "null".into(),
            sys::ValueType::napi_boolean => "a boolean".into(),
            sys::ValueType::napi_number => match f64::from_napi_value(env, value) {
                Ok(n) => format!("the number {}", js_number(n)),
                Err(_) => "a number".into(),
            },
            sys::ValueType::napi_string => match String::from_napi_value(env, value) {
                Ok(s) => format!("the string '{}'", quote(&s)),
                Err(_) => "a string".into(),
            },
            sys::ValueType::napi_symbol => "a symbol".into(),
            sys::ValueType::napi_function => "a function".into(),
            sys::ValueType::napi_bigint => "a bigint".into(),
            _ => {
                let mut is_array = false;
                sys::napi_is_array(env, value, &mut is_array);
                if is_array { "an array" } else { "an object" }.into()
            }
        })
    }
}

/// `String(value)`, if that does not throw in turn.
unsafe fn js_string(env: sys::napi_env, value: sys::napi_value) -> Option<String> {
    let mut s = std::ptr::null_mut();
    // Safety: N-API calls on live handles; a throwing `toString` leaves an
    // exception pending, which is cleared so the call can still return.
    unsafe {
        if sys::napi_coerce_to_string(env, value, &mut s) != sys::Status::napi_ok {
            let mut ignored = std::ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut ignored);
            return None;
        }
        String::from_napi_value(env, s).ok()
    }
}

/// A number as JavaScript prints it (`1e+300`, `NaN`, `Infinity`), not as
/// Rust does (300 digits, `inf`).
fn js_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n != 0.0 && (n.abs() >= 1e21 || n.abs() < 1e-6) {
        let e = format!("{n:e}");
        match e.split_once('e') {
            Some((m, exp)) if !exp.starts_with('-') => format!("{m}e+{exp}"),
            _ => e,
        }
    } else {
        format!("{n}")
    }
}

/// The largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The integers an argument accepts.
#[derive(Debug, Clone, Copy)]
pub struct IntRange {
    pub min: u64,
    pub max: u64,
}

/// Counts: limits, offsets, sizes.
pub const COUNT: IntRange = IntRange {
    min: 0,
    max: MAX_SAFE_INTEGER,
};

/// Versions and other numbers that start at 1.
pub const POSITIVE: IntRange = IntRange {
    min: 1,
    max: MAX_SAFE_INTEGER,
};

impl fmt::Display for IntRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.min {
            0 => write!(f, "a non-negative integer (0 to {})", self.max),
            1 => write!(f, "a positive integer (1 to {})", self.max),
            min => write!(f, "an integer from {min} to {}", self.max),
        }
    }
}

/// The one integer check: a JS number that is whole and in `range`, never
/// wrapped, truncated or clamped.
pub fn integer(name: &str, value: Given<f64>, range: IntRange) -> Result<u64> {
    let expected = range.to_string();
    let n = value.get(name, &expected)?;
    if n.fract() == 0.0 && n >= range.min as f64 && n <= range.max as f64 {
        // In range and whole, so the conversion is exact.
        return Ok(n as u64);
    }
    Err(Error::invalid_argument(format!(
        "{name} must be {expected}; got {}",
        js_number(n)
    )))
}

pub fn opt_integer(name: &str, value: Option<Given<f64>>, range: IntRange) -> Result<Option<u64>> {
    value.map(|v| integer(name, v, range)).transpose()
}

/// As [`integer`], for a count held in a `usize`.
pub fn opt_count(name: &str, value: Option<Given<f64>>) -> Result<Option<usize>> {
    // 2^53 fits a 64-bit usize, the only kind this addon builds for.
    Ok(opt_integer(name, value, COUNT)?.map(|n| n as usize))
}

/// The longest duration an argument accepts: far beyond any real use, and
/// well inside what `Duration` and the clocks can represent.
const MAX_SECONDS: f64 = 100.0 * 365.0 * 24.0 * 3600.0;

/// A non-negative, finite duration given in `unit_secs` units (1 for
/// seconds, 0.001 for milliseconds), at most a hundred years.
pub fn duration(name: &str, unit: &str, unit_secs: f64, value: Given<f64>) -> Result<Duration> {
    let max = MAX_SECONDS / unit_secs;
    let expected = format!("a number of {unit} from 0 to {max}");
    let n = value.get(name, &expected)?;
    if n.is_finite() && (0.0..=max).contains(&n) {
        return Ok(Duration::from_secs_f64(n * unit_secs));
    }
    Err(Error::invalid_argument(format!(
        "{name} must be {expected}; got {}",
        js_number(n)
    )))
}

/// `"a", "b" or "c"`.
fn choices<E: StringEnum>() -> String {
    let quoted: Vec<String> = E::ALL
        .iter()
        .map(|e| format!("\"{}\"", e.as_str()))
        .collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// One of a string enum's values, in any letter case (as the reference
/// accepts `"L2"` for `"l2"`); anything else names the accepted values.
pub fn choice<E: StringEnum>(name: &str, value: Given<String>) -> Result<E> {
    let expected = format!("one of {}", choices::<E>());
    let s = value.get(name, &expected)?;
    E::ALL
        .iter()
        .copied()
        .find(|e| e.as_str().eq_ignore_ascii_case(&s))
        .ok_or_else(|| {
            Error::invalid_argument(format!("{name} must be {expected}; got '{}'", quote(&s)))
        })
}

pub fn opt_choice<E: StringEnum>(name: &str, value: Option<Given<String>>) -> Result<Option<E>> {
    value.map(|v| choice(name, v)).transpose()
}

/// A query vector: every element a finite number.
pub fn vector(name: &str, value: Given<Vec<Given<f64>>>) -> Result<Vec<f32>> {
    const EXPECTED: &str = "an array of numbers";
    value
        .get(name, EXPECTED)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let n = v.get(&format!("{name}[{i}]"), "a number")?;
            if !n.is_finite() {
                return Err(Error::invalid_argument(format!(
                    "{name}[{i}] must be a finite number; got {}",
                    js_number(n)
                )));
            }
            Ok(n as f32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::bindings::JsDistanceType;

    fn int(v: f64) -> Result<u64> {
        integer("limit", Given::of(v), COUNT)
    }

    #[test]
    fn integers_are_whole_and_in_range() {
        assert_eq!(int(0.0).unwrap(), 0);
        assert_eq!(int(4294967296.0).unwrap(), 4294967296);
        assert_eq!(int(MAX_SAFE_INTEGER as f64).unwrap(), MAX_SAFE_INTEGER);
        for bad in [
            -1.0,
            1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            2f64.powi(53),
        ] {
            let e = int(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            assert!(
                e.to_string().starts_with(
                    "limit must be a non-negative integer (0 to 9007199254740991); got"
                ),
                "{e}"
            );
        }
        let e = integer("version", Given::of(0.0), POSITIVE).unwrap_err();
        assert!(
            e.to_string()
                .contains("version must be a positive integer (1 to"),
            "{e}"
        );
        let e = integer(
            "limit",
            Given::wrong(Received::Value("the string '5'".into())),
            COUNT,
        )
        .unwrap_err();
        assert!(e.to_string().ends_with("; got the string '5'"), "{e}");
    }

    #[test]
    fn numbers_print_as_in_javascript() {
        assert_eq!(js_number(1e300), "1e+300");
        assert_eq!(js_number(-1.5), "-1.5");
        assert_eq!(js_number(4294967296.0), "4294967296");
        assert_eq!(js_number(f64::NAN), "NaN");
        assert_eq!(js_number(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn durations_reject_what_duration_cannot_hold() {
        let secs = |v: f64| duration("readConsistencyInterval", "seconds", 1.0, Given::of(v));
        assert_eq!(secs(1.5).unwrap(), Duration::from_millis(1500));
        assert_eq!(secs(0.0).unwrap(), Duration::ZERO);
        for bad in [1e300, f64::NAN, -1.0, f64::INFINITY] {
            let e = secs(bad).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("readConsistencyInterval must be a number of seconds from 0 to"),
                "{e}"
            );
        }
    }

    #[test]
    fn choices_ignore_case_and_list_the_values() {
        let pick = |s: &str| choice::<JsDistanceType>("distanceType", Given::of(s.to_string()));
        assert_eq!(pick("COSINE").unwrap(), JsDistanceType::Cosine);
        let e = pick("euclidean").unwrap_err();
        assert_eq!(
            e.to_string(),
            "distanceType must be one of \"l2\", \"cosine\" or \"dot\"; got 'euclidean'"
        );
        let long = pick(&"p".repeat(500)).unwrap_err().to_string();
        assert!(long.ends_with("(500 characters)'"), "{long}");
    }

    #[test]
    fn vectors_name_the_bad_element() {
        let v = Given::of(vec![
            Given::of(1.0),
            Given::wrong(Received::Value("the string 'a'".into())),
        ]);
        let e = vector("vector", v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "vector[1] must be a number; got the string 'a'"
        );
        let nan = vector("vector", Given::of(vec![Given::of(f64::NAN)])).unwrap_err();
        assert!(
            nan.to_string()
                .contains("vector[0] must be a finite number"),
            "{nan}"
        );
    }
}
