//! The hostile shapes of issue 9.1: each must give the right answer or an
//! INVALID_FILTER error with a short message, never a stack overflow.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use super::{CompiledFilter, MAX_DEPTH};

/// `id` 0..n (with a NULL at n - 1 when `with_null`), `name` "n<id>".
fn ids(n: i32, with_null: bool) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let id: Int32Array = (0..n)
        .map(|i| (!with_null || i != n - 1).then_some(i))
        .collect();
    let name: StringArray = (0..n).map(|i| Some(format!("n{i}"))).collect();
    RecordBatch::try_new(schema, vec![Arc::new(id), Arc::new(name)]).unwrap()
}

fn compile(sql: &str, b: &RecordBatch) -> CompiledFilter {
    CompiledFilter::new(sql, &b.schema()).unwrap()
}

fn passing(sql: &str, b: &RecordBatch) -> Vec<i32> {
    let mask = compile(sql, b).evaluate(b).unwrap();
    let id = b.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
    (0..b.num_rows())
        .filter(|i| mask.value(*i))
        .map(|i| id.value(i))
        .collect()
}

fn value(sql: &str, b: &RecordBatch) -> Vec<Option<i64>> {
    let v = compile(sql, b).evaluate_value(b).unwrap();
    let v = arrow_cast::cast(&v, &DataType::Int64).unwrap();
    let v = v.as_any().downcast_ref::<Int64Array>().unwrap();
    v.iter().collect()
}

fn invalid(r: crate::error::Result<impl std::fmt::Debug>) -> String {
    let err = r.unwrap_err();
    assert_eq!(err.code(), "INVALID_FILTER", "{err}");
    let msg = err.to_string();
    assert!(msg.chars().count() < 2000, "{} characters", msg.len());
    msg
}

fn chain(n: usize, term: impl Fn(usize) -> String, sep: &str) -> String {
    (0..n).map(term).collect::<Vec<_>>().join(sep)
}

#[test]
fn two_thousand_parentheses_are_refused_naming_the_limit() {
    let b = ids(4, false);
    let deep = format!("{}id = 1{}", "(".repeat(2000), ")".repeat(2000));
    let msg = invalid(CompiledFilter::new(&deep, &b.schema()));
    assert!(
        msg.contains("nesting limit is 256") && msg.contains("position 256"),
        "{msg}"
    );
    assert!(msg.contains("… (4006 characters)"), "{msg}");
    // At the limit itself the filter works.
    let ok = format!("{}id = 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(passing(&ok, &b), [1]);
    let over = format!(
        "{}id = 1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    invalid(CompiledFilter::new(&over, &b.schema()));
    // IN lists count as a level.
    let in_list = format!(
        "{}id IN (1){}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    invalid(CompiledFilter::new(&in_list, &b.schema()));
}

#[test]
fn or_chain_of_3000_terms() {
    let b = ids(5000, true);
    let sql = chain(3000, |i| format!("id = {i}"), " OR ");
    let want: Vec<i32> = (0..3000).collect();
    assert_eq!(passing(&sql, &b), want);
    // The same through the term-by-term path, and reversed operands.
    let f = compile(&sql, &b);
    assert_eq!(
        f.evaluate(&b).unwrap(),
        f.evaluate_term_by_term(&b).unwrap()
    );
    let reversed = chain(3000, |i| format!("{i} = id"), " OR ");
    assert_eq!(passing(&reversed, &b), want);
    // And as an AND of inequalities.
    let not_any = chain(3000, |i| format!("id != {i}"), " AND ");
    let rest: Vec<i32> = (3000..4999).collect();
    assert_eq!(passing(&not_any, &b), rest);
}

#[test]
fn or_chain_of_50000_terms_over_100000_rows_is_fast() {
    let b = ids(100_000, true);
    let sql = chain(50_000, |i| format!("id = {}", i * 2), " OR ");
    let t = Instant::now();
    let f = compile(&sql, &b);
    let mask = f.evaluate(&b).unwrap();
    let took = t.elapsed();
    assert_eq!(mask.true_count(), 50_000);
    assert!(mask.value(0) && !mask.value(1) && mask.value(99_998));
    // Generous for a shared CI machine; it takes tens of milliseconds.
    assert!(took.as_secs_f64() < 5.0, "{took:?}");
    eprintln!("50,000-term OR over 100,000 rows: {took:?}");
    let list = format!("id IN ({})", chain(50_000, |i| (i * 2).to_string(), ", "));
    assert_eq!(compile(&list, &b).evaluate(&b).unwrap(), mask);
    let not_in = format!(
        "id NOT IN ({})",
        chain(50_000, |i| (i * 2).to_string(), ", ")
    );
    // The NULL id (the last row) is neither in nor out.
    assert_eq!(
        compile(&not_in, &b).evaluate(&b).unwrap().true_count(),
        49_999
    );
}

#[test]
fn five_thousand_nots() {
    let b = ids(4, true);
    let even = format!("{}id = 1", "NOT ".repeat(5000));
    assert_eq!(passing(&even, &b), [1]);
    // Odd: NOT (id = 1); the NULL row stays NULL, so it does not pass.
    let odd = format!("{}id = 1", "NOT ".repeat(5001));
    assert_eq!(passing(&odd, &b), [0, 2]);
    // Still a type error on a number, however many NOTs.
    let msg = invalid(compile(&format!("{}id", "NOT ".repeat(5000)), &b).evaluate(&b));
    assert!(msg.contains("need true/false"), "{msg}");
}

#[test]
fn five_thousand_term_sums_and_products() {
    let b = ids(3, false);
    let sum = chain(5000, |i| (i + 1).to_string(), " + ");
    assert_eq!(value(&sum, &b), [Some(12_502_500); 3]);
    // Left to right: 10000 - 1 - 1 - ... is 10000 - 4999.
    let diff = format!("10000{}", " - 1".repeat(4999));
    assert_eq!(value(&diff, &b), [Some(5001); 3]);
    let mixed = format!("id{}", " + 2 - 1".repeat(2500));
    assert_eq!(value(&mixed, &b), [Some(2500), Some(2501), Some(2502)]);
    let prod = format!("id{}", " * 2 / 2".repeat(2500));
    assert_eq!(value(&prod, &b), [Some(0), Some(1), Some(2)]);
    // Overflow inside a long chain is an error, not a wrap.
    let msg = invalid(
        compile(&format!("9223372036854775807{}", " + 1".repeat(5000)), &b).evaluate_value(&b),
    );
    assert!(msg.to_lowercase().contains("overflow"), "{msg}");
}

#[test]
fn ten_thousand_unary_minuses() {
    let b = ids(3, true);
    let even = format!("{}id", "-".repeat(10_000));
    assert_eq!(value(&even, &b), [Some(0), Some(1), None]);
    let odd = format!("{}id", "-".repeat(10_001));
    assert_eq!(value(&odd, &b), [Some(0), Some(-1), None]);
    assert_eq!(
        value(&format!("{}5", "- ".repeat(10_000)), &b),
        [Some(5); 3]
    );
    assert_eq!(
        value(&format!("{}5", "-".repeat(10_001)), &b),
        [Some(-5); 3]
    );
    // Exactly as negating twice: i64::MIN overflows on the first negation.
    let schema = Arc::new(Schema::new(vec![Field::new("big", DataType::Int64, true)]));
    let big =
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![i64::MIN]))]).unwrap();
    let msg = invalid(compile("- - big", &big).evaluate_value(&big));
    assert!(msg.to_lowercase().contains("overflow"), "{msg}");
    invalid(compile(&format!("{}big", "-".repeat(10_000)), &big).evaluate_value(&big));
    // Text cannot be negated, however often.
    invalid(compile(&format!("{}name", "-".repeat(10_000)), &b).evaluate_value(&b));
}

#[test]
fn messages_quote_a_bounded_prefix() {
    let b = ids(3, false);
    let long = format!(
        "{} OR id = ",
        chain(40_000, |i| format!("id = {i}"), " OR ")
    );
    let msg = invalid(CompiledFilter::new(&long, &b.schema()));
    assert!(msg.contains("ends early"), "{msg}");
    assert!(
        msg.contains(&format!("… ({} characters)", long.chars().count())),
        "{msg}"
    );
    let big_literal = format!("id = '{}'", "x".repeat(100_000));
    let msg = invalid(compile(&big_literal, &b).evaluate(&b));
    assert!(msg.contains("is not a valid Int32"), "{msg}");
    let big_column = format!("`{}` = 1", "c".repeat(100_000));
    let msg = invalid(CompiledFilter::new(&big_column, &b.schema()));
    assert!(msg.contains("no column"), "{msg}");
    let bad_like = format!("name LIKE '{}'", "(".repeat(50_000));
    let _ = compile(&bad_like, &b).evaluate(&b).map_err(|e| {
        assert!(e.to_string().chars().count() < 2000);
    });
}

#[test]
fn set_shortcut_matches_term_by_term() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int32, true),
        Field::new("f", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let b = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![
                Some(1),
                None,
                Some(3),
                Some(-4),
                Some(5),
            ])),
            Arc::new(arrow_array::Float64Array::from(vec![
                Some(0.0),
                Some(-0.0),
                Some(f64::NAN),
                None,
                Some(2.5),
            ])),
            Arc::new(StringArray::from(vec![
                Some("1"),
                Some("x"),
                None,
                Some("3"),
                Some("2.5"),
            ])),
        ],
    )
    .unwrap();
    let lits = [
        "1", "3", "-4", "2.5", "0.0", "'3'", "'1'", "NULL", "7", "8", "9", "10", "TRUE",
    ];
    for col in ["i", "f", "s"] {
        for skip in 0..lits.len() {
            let terms: Vec<String> = lits
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != skip)
                .map(|(k, l)| {
                    if k % 2 == 0 {
                        format!("{col} = {l}")
                    } else {
                        format!("{l} = {col}")
                    }
                })
                .collect();
            for sql in [
                terms.join(" OR "),
                format!("i > 4 OR {}", terms.join(" OR ")),
                terms
                    .join(" OR ")
                    .replace(" = ", " != ")
                    .replace(" OR ", " AND "),
                format!(
                    "{col} IN ({})",
                    lits.iter()
                        .enumerate()
                        .filter(|(k, _)| *k != skip)
                        .map(|(_, l)| *l)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ] {
                let f = compile(&sql, &b);
                let fast = f.evaluate(&b).map_err(|e| e.to_string());
                let slow = f.evaluate_term_by_term(&b).map_err(|e| e.to_string());
                assert_eq!(fast, slow, "{sql}");
            }
        }
    }
}

/// The deepest tree the parser admits, parsed and evaluated on a thread
/// with half of a runtime worker's 2 MiB stack.
#[test]
fn deepest_filter_fits_a_small_stack() {
    let b = ids(8, true);
    let mut sql = "id".to_string();
    for _ in 0..MAX_DEPTH {
        // Each level of parentheses holds the most tree levels one can: OR,
        // AND, NOT, =, +, * and a unary minus.
        sql = format!("id = 1 OR name = 'a' AND NOT id = 1 + 2 * -({sql})");
    }
    let schema = b.schema();
    let run = move || {
        let f = CompiledFilter::new(&sql, &schema)?;
        let _ = format!("{f:?}");
        let _ = f.clone();
        f.evaluate(&b)
    };
    // Release builds need about 768 KiB here (measured), debug builds several times more.
    let stack = if cfg!(debug_assertions) {
        64 << 20
    } else {
        1 << 20
    };
    let out = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(run)
        .unwrap()
        .join()
        .expect("no stack overflow");
    // The second level negates a boolean, which is refused; what matters is
    // that the walk got there and back.
    let msg = invalid(out);
    assert!(msg.contains("Boolean"), "{msg}");
}
