//! Property tests of the filter language: any text gives a result or an
//! INVALID_FILTER error with a short message (never a panic), and the
//! shortcuts (flat chains, runs of NOT and minus, hash sets) agree with the
//! plain forms. A fixed number of cases keeps `npm test` bounded (a few
//! seconds); `PROPTEST_CASES=100000` runs a longer fuzz.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use proptest::prelude::*;
use proptest::test_runner::Config;

use super::CompiledFilter;
use crate::error::Result;

fn batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("big", DataType::Int64, true),
        Field::new("x", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("flag", DataType::Boolean, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![
            Some(0),
            Some(1),
            None,
            Some(-7),
            Some(i32::MAX),
            Some(3),
        ])),
        Arc::new(Int64Array::from(vec![
            Some(i64::MIN),
            Some(2),
            Some(i64::MAX),
            None,
            Some(0),
            Some(-1),
        ])),
        Arc::new(Float64Array::from(vec![
            Some(0.5),
            Some(-0.0),
            Some(f64::NAN),
            None,
            Some(1e308),
            Some(3.0),
        ])),
        Arc::new(StringArray::from(vec![
            Some("a"),
            Some("3"),
            None,
            Some("it's"),
            Some(""),
            Some("%_"),
        ])),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            None,
            Some(false),
            Some(true),
            Some(false),
            None,
        ])),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

fn config() -> Config {
    Config {
        cases: 256,
        // No regression files in the source tree; failures print their input.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Ok, or INVALID_FILTER with a bounded message; anything else (another
/// code, a panic, which proptest reports as a failure) is a bug.
fn acceptable<T>(sql: &str, r: &Result<T>) -> std::result::Result<(), TestCaseError> {
    if let Err(e) = r {
        let msg = e.to_string();
        prop_assert_eq!(e.code(), "INVALID_FILTER", "{} for {:?}", msg, sql);
        prop_assert!(msg.chars().count() < 2000, "{} characters", msg.len());
    }
    Ok(())
}

fn run_all(sql: &str) -> std::result::Result<(), TestCaseError> {
    let b = batch();
    let compiled = CompiledFilter::new(sql, &b.schema());
    acceptable(sql, &compiled)?;
    if let Ok(f) = compiled {
        let fast = f.evaluate(&b);
        acceptable(sql, &fast)?;
        acceptable(sql, &f.evaluate_value(&b))?;
        let slow = f.evaluate_term_by_term(&b);
        prop_assert_eq!(
            fast.map_err(|e| e.to_string()),
            slow.map_err(|e| e.to_string()),
            "{:?}",
            sql
        );
    }
    Ok(())
}

const TOKENS: &[&str] = &[
    "id",
    "big",
    "x",
    "name",
    "flag",
    "nope",
    "`name`",
    "name.a",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "IN",
    "BETWEEN",
    "LIKE",
    "TRUE",
    "FALSE",
    "DATE",
    "TIMESTAMP",
    "'2024-01-02'",
    "'a'",
    "'%'",
    "''",
    "'it''s'",
    "0",
    "1",
    "-1",
    "2.5",
    "1e400",
    "9223372036854775807",
    "9223372036854775808",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    ".",
    "'",
    "`",
    "é",
    "\u{0}",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|t| t.join(" "))
}

/// Random well-formed filters: comparisons and predicates under AND, OR,
/// NOT and parentheses, with long same-column equality runs mixed in.
fn expr(depth: u32) -> BoxedStrategy<String> {
    let value = prop_oneof![
        Just("id".to_string()),
        Just("big".to_string()),
        Just("x".to_string()),
        Just("name".to_string()),
        (-3i64..10).prop_map(|i| i.to_string()),
        Just("2.5".to_string()),
        Just("'3'".to_string()),
        Just("'a'".to_string()),
        Just("NULL".to_string()),
    ];
    let leaf = prop_oneof![
        (
            value.clone(),
            prop::sample::select(&["=", "!=", "<", ">="][..]),
            value.clone()
        )
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (value.clone(), any::<bool>())
            .prop_map(|(a, n)| format!("{a} IS {}NULL", if n { "NOT " } else { "" })),
        (
            prop::sample::select(&["id", "big", "x", "name"][..]),
            prop::collection::vec(value.clone(), 1..12),
            any::<bool>()
        )
            .prop_map(|(c, l, n)| format!(
                "{c} {}IN ({})",
                if n { "NOT " } else { "" },
                l.join(", ")
            )),
        (
            prop::sample::select(&["id", "big", "x", "name"][..]),
            prop::collection::vec(value.clone(), 1..12),
            any::<bool>()
        )
            .prop_map(|(c, l, and)| {
                let (op, join) = if and { ("!=", " AND ") } else { ("=", " OR ") };
                l.iter()
                    .map(|v| format!("{c} {op} {v}"))
                    .collect::<Vec<_>>()
                    .join(join)
            }),
        Just("flag".to_string()),
        Just("name LIKE 'a%'".to_string()),
        Just("id BETWEEN -1 AND 3".to_string()),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let sub = expr(depth - 1);
    prop_oneof![
        leaf,
        (sub.clone(), sub.clone(), any::<bool>())
            .prop_map(|(a, b, and)| format!("{a} {} {b}", if and { "AND" } else { "OR" })),
        (sub.clone(), 1usize..4).prop_map(|(a, n)| format!("{}({a})", "NOT ".repeat(n))),
        sub.prop_map(|a| format!("({a})")),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum Operand {
    Col(&'static str),
    Int(i64),
}

impl Operand {
    fn sql(&self) -> String {
        match self {
            Operand::Col(c) => c.to_string(),
            Operand::Int(i) => i.to_string(),
        }
    }
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        prop::sample::select(&["id", "big", "x"][..]).prop_map(Operand::Col),
        (-5i64..5).prop_map(Operand::Int),
        Just(Operand::Int(i64::MAX)),
    ]
}

fn value_of(sql: &str) -> std::result::Result<String, String> {
    let b = batch();
    let f = CompiledFilter::new(sql, &b.schema()).map_err(|e| e.code().to_string())?;
    let v = f.evaluate_value(&b).map_err(|e| e.code().to_string())?;
    Ok(format!("{v:?}"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_a_result_or_invalid_filter(sql in "[ -~]{0,120}") {
        run_all(&sql)?;
    }

    #[test]
    fn token_soup_is_a_result_or_invalid_filter(sql in token_soup()) {
        run_all(&sql)?;
    }

    #[test]
    fn well_formed_filters_agree_with_the_term_by_term_path(sql in expr(3)) {
        run_all(&sql)?;
    }

    /// `a op b op c ...` is `((a op b) op c) ...`, errors included.
    #[test]
    fn flat_chains_are_left_associative(
        first in operand(),
        rest in prop::collection::vec(
            (prop::sample::select(&["+", "-", "*", "/", "%"][..]), operand()),
            1..40,
        ),
    ) {
        let same_level = |ops: &[&str]| rest.iter().all(|(op, _)| ops.contains(op));
        let mut flat = first.sql();
        let mut nested = first.sql();
        for (op, x) in &rest {
            flat = format!("{flat} {op} {}", x.sql());
            nested = format!("({nested}) {op} {}", x.sql());
        }
        // Mixed levels follow precedence instead, so only compare one level.
        if same_level(&["+", "-"]) || same_level(&["*", "/", "%"]) {
            prop_assert_eq!(value_of(&flat), value_of(&nested), "{}", flat);
        } else {
            let r = CompiledFilter::new(&flat, &batch().schema())
                .and_then(|f| f.evaluate_value(&batch()));
            acceptable(&flat, &r)?;
        }
    }

    /// A run of n NOTs or minuses gives what applying the kernel n times does.
    #[test]
    fn runs_of_not_and_minus_are_n_applications(
        n in 1usize..60,
        x in prop::sample::select(&["id", "big", "x", "name", "flag", "NULL", "3", "2.5", "id = 1"][..]),
    ) {
        let b = batch();
        let base = CompiledFilter::new(x, &b.schema()).unwrap().evaluate_value(&b).unwrap();
        let mut neg = Ok(base.clone());
        for _ in 0..n {
            neg = neg.and_then(|v| arrow_arith::numeric::neg(&v));
        }
        let neg = neg.map(|v| format!("{v:?}")).map_err(|_| "INVALID_FILTER".to_string());
        prop_assert_eq!(value_of(&format!("{}({x})", "-".repeat(n))), neg, "-{}", x);
        let mut not = match base.data_type() {
            DataType::Boolean | DataType::Null => Ok(arrow_cast::cast(&base, &DataType::Boolean).unwrap()),
            _ => Err("INVALID_FILTER".to_string()),
        };
        for _ in 0..n {
            not = not.map(|v| {
                let v = v.as_any().downcast_ref::<BooleanArray>().unwrap();
                Arc::new(arrow_arith::boolean::not(v).unwrap()) as ArrayRef
            });
        }
        let not = not.map(|v| format!("{v:?}"));
        prop_assert_eq!(value_of(&format!("{}({x})", "NOT ".repeat(n))), not, "NOT {}", x);
    }
}
