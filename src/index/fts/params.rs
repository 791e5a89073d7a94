//! The options of a full-text index, as `@lancedb/lancedb`'s `FtsOptions`
//! names them, with its defaults (checked against the reference's
//! `listIndices()` details).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How text is split before the filters run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BaseTokenizer {
    /// Splits on every character that is not alphanumeric.
    #[default]
    Simple,
    /// Splits on whitespace only.
    Whitespace,
    /// The whole value is one token.
    Raw,
    /// Character n-grams of `ngram_min_length..=ngram_max_length`.
    Ngram,
}

impl BaseTokenizer {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "simple" => Ok(Self::Simple),
            "whitespace" => Ok(Self::Whitespace),
            "raw" => Ok(Self::Raw),
            "ngram" => Ok(Self::Ngram),
            other => Err(Error::invalid_argument(format!(
                "baseTokenizer {} is not one of \"simple\", \"whitespace\", \"raw\", \"ngram\"",
                crate::error::quote(other)
            ))),
        }
    }
}

/// Index options. Field names are the reference's index details
/// (`listIndices()[i].indexDetails`), so the two read alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FtsParams {
    pub with_position: bool,
    pub base_tokenizer: BaseTokenizer,
    /// A tantivy/Snowball language name, e.g. `"English"`.
    pub language: String,
    /// Tokens of this many bytes or more are dropped (tantivy's `RemoveLongFilter`).
    pub max_token_length: Option<usize>,
    pub lower_case: bool,
    pub stem: bool,
    pub remove_stop_words: bool,
    pub ascii_folding: bool,
    pub min_ngram_length: usize,
    pub max_ngram_length: usize,
    pub prefix_only: bool,
}

impl Default for FtsParams {
    fn default() -> Self {
        FtsParams {
            with_position: false,
            base_tokenizer: BaseTokenizer::Simple,
            language: "English".into(),
            max_token_length: Some(40),
            lower_case: true,
            stem: true,
            remove_stop_words: true,
            ascii_folding: true,
            min_ngram_length: 3,
            max_ngram_length: 3,
            prefix_only: false,
        }
    }
}

impl FtsParams {
    /// Checks the options once, so a bad one fails at `createIndex` with the
    /// option's name rather than at the first query.
    pub fn validate(&self) -> Result<()> {
        self.language()?;
        if self.max_token_length == Some(0) {
            return Err(Error::invalid_argument("maxTokenLength must be at least 1"));
        }
        if self.base_tokenizer == BaseTokenizer::Ngram
            && (self.min_ngram_length == 0 || self.min_ngram_length > self.max_ngram_length)
        {
            return Err(Error::invalid_argument(format!(
                "ngramMinLength ({}) must be at least 1 and at most ngramMaxLength ({})",
                self.min_ngram_length, self.max_ngram_length
            )));
        }
        Ok(())
    }

    /// The language, case-insensitively (`"english"` is `English`).
    pub fn language(&self) -> Result<tantivy::tokenizer::Language> {
        use tantivy::tokenizer::Language::*;
        const ALL: [(&str, tantivy::tokenizer::Language); 18] = [
            ("Arabic", Arabic),
            ("Danish", Danish),
            ("Dutch", Dutch),
            ("English", English),
            ("Finnish", Finnish),
            ("French", French),
            ("German", German),
            ("Greek", Greek),
            ("Hungarian", Hungarian),
            ("Italian", Italian),
            ("Norwegian", Norwegian),
            ("Portuguese", Portuguese),
            ("Romanian", Romanian),
            ("Russian", Russian),
            ("Spanish", Spanish),
            ("Swedish", Swedish),
            ("Tamil", Tamil),
            ("Turkish", Turkish),
        ];
        ALL.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&self.language))
            .map(|(_, l)| *l)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "language {} is not supported; use one of {}",
                    crate::error::quote(&self.language),
                    ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ))
            })
    }
}
