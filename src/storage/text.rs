//! User input quoted in messages: a bounded prefix, so a megabyte key or
//! value never becomes a megabyte error.

/// How much of a user's text a message quotes.
pub const QUOTE_LIMIT: usize = 200;

/// `s` as a message may show it: whole up to [`QUOTE_LIMIT`] characters,
/// else that many followed by "… (N characters)".
pub fn bounded(s: &str) -> String {
    match s.char_indices().nth(QUOTE_LIMIT) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}… ({} characters)", &s[..cut], s.chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_whole_long_text_is_cut_at_the_limit() {
        assert_eq!(bounded("abc"), "abc");
        let exact = "x".repeat(QUOTE_LIMIT);
        assert_eq!(bounded(&exact), exact);
        let long = "é".repeat(1_000_000);
        let b = bounded(&long);
        assert!(b.starts_with(&"é".repeat(QUOTE_LIMIT)));
        assert!(
            b.ends_with("… (1000000 characters)"),
            "{}",
            &b[b.len() - 40..]
        );
        assert_eq!(
            b.chars().count(),
            QUOTE_LIMIT + "… (1000000 characters)".chars().count()
        );
    }
}
