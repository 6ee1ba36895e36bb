//! User text, made safe to store, log, search or put in an LLM prompt.
//!
//! [`clean`] is the one function to run on any free text from a user before it reaches
//! storage, logs or a prompt: it normalises to Unicode NFKC (so look-alike compatibility
//! forms such as fullwidth `ｓｅｌｅｃｔ` or ligatures become their plain letters), refuses
//! control characters, removes invisible format characters (bidi overrides that reorder
//! what a reviewer sees, zero-width characters that split words, Unicode tag characters
//! that smuggle hidden instructions to LLMs), collapses white space and caps the length.
//!
//! [`SearchQuery`] is the validated form of a catalog query; [`terms`] turns any text into
//! the accent- and case-insensitive words the search index holds.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Raw input larger than this is refused before any processing.
pub const MAX_INPUT_BYTES: usize = 4096;
/// A search query's length after cleaning, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// At most this many words in a search query.
pub const MAX_QUERY_TERMS: usize = 8;
/// A searchable word's length after folding, in bytes. Words are index keys (DynamoDB caps a
/// sort key at 1,024 bytes, and folding can triple a word: one Hangul syllable is three
/// three-byte jamo), and no real title has a longer one.
pub const MAX_TERM_BYTES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Longer than `max_chars` after cleaning, or raw input over [`MAX_INPUT_BYTES`] (then
    /// `max_chars` is that byte limit, and the message says bytes).
    #[error("text too long (at most {max} {unit})", max = .limit.max, unit = .limit.unit)]
    TooLong { limit: Limit },
    #[error("text contains control characters")]
    ControlCharacter,
    #[error("text is empty")]
    Empty,
    #[error("query has no searchable words")]
    NoTerms,
    #[error("query has too many words (at most {MAX_QUERY_TERMS})")]
    TooManyTerms,
    #[error("a word is too long (at most {MAX_TERM_BYTES} bytes once accents are folded)")]
    WordTooLong,
}

/// The limit a too-long text broke, so the error can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: usize,
    pub unit: &'static str,
}

impl TextError {
    /// A stable label for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            TextError::TooLong { .. } => "too_long",
            TextError::ControlCharacter => "control_character",
            TextError::Empty => "empty",
            TextError::NoTerms => "no_terms",
            TextError::TooManyTerms => "too_many_terms",
            TextError::WordTooLong => "word_too_long",
        }
    }
}

/// Invisible characters with no business in user text: the Unicode "format" (Cf) category
/// members that matter in practice, variation selectors, and the tag block.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{034F}'                // combining grapheme joiner
        | '\u{061C}'                // Arabic letter mark
        | '\u{115F}' | '\u{1160}'   // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'   // Mongolian selectors and vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
        | '\u{3164}' | '\u{FFA0}'   // Hangul fillers
        | '\u{FE00}'..='\u{FE0F}'   // variation selectors
        | '\u{FEFF}'                // byte order mark / zero-width no-break space
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1D173}'..='\u{1D17A}' // musical formatting
        | '\u{E0000}'..='\u{E0FFF}' // tag characters and variation selectors supplement
    )
}

/// Cleans user text: NFKC, no control characters (white space excepted), no invisible
/// format characters, white space collapsed and trimmed, at most `max_chars` characters.
pub fn clean(input: &str, max_chars: usize) -> Result<String, TextError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(TextError::TooLong { limit: Limit { max: MAX_INPUT_BYTES, unit: "bytes" } });
    }
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    // Invisible characters go before normalising: one between two combining marks (a
    // combining grapheme joiner, say) keeps NFKC from reordering them, and removed after it
    // would leave text that is not NFKC, which cleaning again would change.
    for c in input.chars().filter(|c| !is_invisible(*c)).nfkc() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            return Err(TextError::ControlCharacter);
        }
        if is_invisible(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(TextError::Empty);
    }
    if out.chars().count() > max_chars {
        return Err(TextError::TooLong { limit: Limit { max: max_chars, unit: "characters" } });
    }
    Ok(out)
}

/// Accent- and case-insensitive form: NFKD, combining marks dropped, lower case.
pub fn fold(text: &str) -> String {
    text.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// The searchable words of a text: folded, split at anything that is not a letter or digit.
pub fn terms(text: &str) -> Vec<String> {
    let folded = fold(text);
    let mut out: Vec<String> = Vec::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.iter().any(|w| w == word) {
            out.push(word.to_owned());
        }
    }
    out
}

/// A validated catalog query: cleaned text and its search terms. Only [`SearchQuery::parse`]
/// makes one, so holding it proves the checks ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    text: String,
    terms: Vec<String>,
}

impl SearchQuery {
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let text = clean(raw, MAX_QUERY_CHARS)?;
        let terms = terms(&text);
        if terms.is_empty() {
            return Err(TextError::NoTerms);
        }
        if terms.len() > MAX_QUERY_TERMS {
            return Err(TextError::TooManyTerms);
        }
        if terms.iter().any(|t| t.len() > MAX_TERM_BYTES) {
            return Err(TextError::WordTooLong);
        }
        Ok(Self { text, terms })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every term must prefix-match a word of a title (a whole word is its own prefix).
    pub fn terms(&self) -> &[String] {
        &self.terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_normalises_compatibility_forms_and_collapses_space() {
        assert_eq!(clean("  ｓｅｌｅｃｔ\u{FB01}ve   stars \n", 100).unwrap(), "selectfive stars");
    }

    #[test]
    fn clean_removes_bidi_overrides_zero_width_and_tag_characters() {
        let hidden = "safe\u{202E}txt.exe\u{200B}\u{E0041}\u{E0042}\u{FEFF}";
        assert_eq!(clean(hidden, 100).unwrap(), "safetxt.exe");
    }

    /// Found by fuzzing (`fuzz/`, target `search`): U+034F between two combining marks was
    /// removed after NFKC, leaving the marks out of canonical order.
    #[test]
    fn an_invisible_character_between_combining_marks_is_removed_before_normalising_so_cleaning_twice_changes_nothing()
    {
        for raw in ["q\u{333}\u{34F}\u{334}", "e\u{200B}\u{301}", "a\u{323}\u{2060}\u{302}x"] {
            let once = clean(raw, 100).unwrap();
            assert_eq!(once, once.nfkc().collect::<String>(), "{raw:?} cleans to NFKC");
            assert_eq!(clean(&once, 100).unwrap(), once, "{raw:?}");
        }
        assert_eq!(clean("q\u{333}\u{34F}\u{334}", 100).unwrap(), "q\u{334}\u{333}");
        assert_eq!(clean("e\u{200B}\u{301}", 100).unwrap(), "\u{e9}");
    }

    #[test]
    fn clean_refuses_control_characters_and_overlong_or_empty_text() {
        assert_eq!(clean("a\0b", 100), Err(TextError::ControlCharacter));
        assert_eq!(clean("a\u{1b}[31mb", 100), Err(TextError::ControlCharacter));
        assert_eq!(clean("a\u{85}b", 100), Ok("a b".into()), "NEL is white space");
        let too_long = clean(&"x".repeat(101), 100).unwrap_err();
        assert_eq!(too_long.to_string(), "text too long (at most 100 characters)");
        let too_big = clean(&"x".repeat(MAX_INPUT_BYTES + 1), usize::MAX).unwrap_err();
        assert_eq!(too_big.to_string(), format!("text too long (at most {MAX_INPUT_BYTES} bytes)"));
        assert_eq!(clean(" \u{200B} ", 100), Err(TextError::Empty));
    }

    #[test]
    fn terms_are_accent_and_case_insensitive() {
        assert_eq!(terms("Amélie"), vec!["amelie"]);
        assert_eq!(terms("The MATRIX: Reloaded"), vec!["the", "matrix", "reloaded"]);
        assert_eq!(terms("Noël à Zürich, NOËL"), vec!["noel", "a", "zurich"]);
        assert_eq!(terms("'; DROP TABLE titles; --"), vec!["drop", "table", "titles"]);
    }

    #[test]
    fn queries_without_words_or_with_too_many_are_refused() {
        assert_eq!(SearchQuery::parse("%_%"), Err(TextError::NoTerms));
        assert_eq!(SearchQuery::parse("a b c d e f g h i"), Err(TextError::TooManyTerms));
        // 90 Hangul syllables are 90 characters but 810 bytes once folded into jamo.
        assert_eq!(SearchQuery::parse(&"한".repeat(90)), Err(TextError::WordTooLong));
        assert!(SearchQuery::parse(&"한".repeat(28)).is_ok());
        assert_eq!(SearchQuery::parse("matr").unwrap().terms(), ["matr"]);
    }

    proptest::proptest! {
        #[test]
        fn cleaned_text_never_holds_controls_or_invisibles(s in "\\PC*|[\\x00-\\x{10FFFF}]{0,64}") {
            if let Ok(c) = clean(&s, 1000) {
                proptest::prop_assert!(!c.chars().any(|ch| (ch.is_control() && !ch.is_whitespace()) || is_invisible(ch)));
                proptest::prop_assert_eq!(c.trim(), c.as_str());
                proptest::prop_assert!(!c.is_empty());
                proptest::prop_assert_eq!(clean(&c, 1000), Ok(c.clone()), "cleaning clean text changes nothing");
            }
        }
    }
}
