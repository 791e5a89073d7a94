//! Text analysis: one tantivy pipeline (base tokenizer, then filters)
//! built from [`FtsParams`] and used both when indexing and when querying,
//! so the two can never disagree. The filter order is the reference's:
//! drop long tokens, lower-case, stem, drop stop words, fold to ASCII.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, NgramTokenizer, RawTokenizer, RemoveLongFilter,
    SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, TextAnalyzerBuilder, TokenStream,
    WhitespaceTokenizer,
};

use super::params::{BaseTokenizer, FtsParams};
use crate::error::{Error, Result};

/// A configured pipeline. Cloning is cheap (tantivy analyzers clone their
/// boxed stages); a clone per thread avoids sharing the mutable state a
/// token stream needs.
#[derive(Clone)]
pub struct Analyzer {
    inner: TextAnalyzer,
}

/// One token: its text and its position (index in the token sequence
/// after filtering gaps, as tantivy numbers them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    pub text: String,
    pub position: u32,
}

impl Analyzer {
    pub fn new(p: &FtsParams) -> Result<Self> {
        p.validate()?;
        let lang = p.language()?;
        let mut b: TextAnalyzerBuilder = match p.base_tokenizer {
            BaseTokenizer::Simple => TextAnalyzer::builder(SimpleTokenizer::default()).dynamic(),
            BaseTokenizer::Whitespace => {
                TextAnalyzer::builder(WhitespaceTokenizer::default()).dynamic()
            }
            BaseTokenizer::Raw => TextAnalyzer::builder(RawTokenizer::default()).dynamic(),
            BaseTokenizer::Ngram => TextAnalyzer::builder(
                NgramTokenizer::new(p.min_ngram_length, p.max_ngram_length, p.prefix_only)
                    .map_err(|e| Error::invalid_argument(format!("ngram tokenizer: {e}")))?,
            )
            .dynamic(),
        };
        if let Some(n) = p.max_token_length {
            b = b.filter_dynamic(RemoveLongFilter::limit(n));
        }
        if p.lower_case {
            b = b.filter_dynamic(LowerCaser);
        }
        if p.stem {
            b = b.filter_dynamic(Stemmer::new(lang));
        }
        if p.remove_stop_words {
            let f = StopWordFilter::new(lang).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "removeStopWords: no stop word list for language {}",
                    p.language
                ))
            })?;
            b = b.filter_dynamic(f);
        }
        if p.ascii_folding {
            b = b.filter_dynamic(AsciiFoldingFilter);
        }
        Ok(Analyzer { inner: b.build() })
    }

    /// The tokens of `text`, in order.
    pub fn tokens(&mut self, text: &str) -> Vec<Tok> {
        let mut out = Vec::new();
        let mut s = self.inner.token_stream(text);
        while s.advance() {
            let t = s.token();
            out.push(Tok {
                text: t.text.clone(),
                position: t.position as u32,
            });
        }
        out
    }

    /// The token texts of `text`, in order (duplicates kept).
    pub fn terms(&mut self, text: &str) -> Vec<String> {
        self.tokens(text).into_iter().map(|t| t.text).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(p: &FtsParams, s: &str) -> Vec<String> {
        Analyzer::new(p).unwrap().terms(s)
    }

    #[test]
    fn default_pipeline_lowercases_stems_drops_stop_words_and_folds() {
        let p = FtsParams::default();
        assert_eq!(
            terms(&p, "The quick brown foxes JUMPED over the lazy dogs"),
            vec!["quick", "brown", "fox", "jump", "over", "lazi", "dog"]
        );
        assert_eq!(terms(&p, "Café crème"), vec!["cafe", "creme"]);
        // 40 bytes or more: dropped.
        assert_eq!(terms(&p, &format!("{} b", "a".repeat(49))), vec!["b"]);
    }

    #[test]
    fn options_switch_stages_off() {
        let p = FtsParams {
            stem: false,
            remove_stop_words: false,
            ..Default::default()
        };
        assert_eq!(
            terms(&p, "The dogs, running!"),
            vec!["the", "dogs", "running"]
        );
        let p = FtsParams {
            base_tokenizer: BaseTokenizer::Whitespace,
            lower_case: false,
            stem: false,
            remove_stop_words: false,
            ascii_folding: false,
            ..Default::default()
        };
        assert_eq!(terms(&p, "Hello, wörld"), vec!["Hello,", "wörld"]);
        let p = FtsParams {
            base_tokenizer: BaseTokenizer::Raw,
            ..Default::default()
        };
        assert_eq!(terms(&p, "New York"), vec!["new york"]);
        let p = FtsParams {
            base_tokenizer: BaseTokenizer::Ngram,
            stem: false,
            remove_stop_words: false,
            ..Default::default()
        };
        assert_eq!(terms(&p, "abcd"), vec!["abc", "bcd"]);
    }

    #[test]
    fn positions_count_tokens() {
        let p = FtsParams {
            stem: false,
            remove_stop_words: false,
            ..Default::default()
        };
        let t = Analyzer::new(&p).unwrap().tokens("brown dogs are brown");
        assert_eq!(
            t.iter().map(|t| t.position).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
    }

    #[test]
    fn bad_options_name_the_option() {
        let p = FtsParams {
            language: "Klingon".into(),
            ..Default::default()
        };
        let e = Analyzer::new(&p).err().unwrap();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        assert!(e.to_string().contains("Klingon"), "{e}");
        let p = FtsParams {
            base_tokenizer: BaseTokenizer::Ngram,
            min_ngram_length: 4,
            max_ngram_length: 2,
            ..Default::default()
        };
        assert!(Analyzer::new(&p)
            .err()
            .unwrap()
            .to_string()
            .contains("ngramMinLength"));
    }
}
