//! How any error of any crate is told to a person: with its causes.

/// The error and every cause beneath it, `: `-separated (for logs and the admin tool). A cause
/// the text already ends with (an error that prints its own source, the SDK's repeated service
/// message) is not said twice.
pub fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write keys.json: {0}")]
    struct Echoing(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("request timeout budget spent")]
    struct Budget(#[source] std::io::Error);

    #[test]
    fn the_cause_chain_names_every_level() {
        assert_eq!(cause_chain(&Outer(std::io::Error::other("disk on fire"))), "outer: disk on fire");
    }

    #[test]
    fn a_cause_the_error_already_printed_is_not_repeated() {
        assert_eq!(cause_chain(&Echoing(std::io::Error::other("disk full"))), "cannot write keys.json: disk full");
    }

    #[test]
    fn a_cause_whose_words_merely_appear_earlier_is_still_said() {
        assert_eq!(cause_chain(&Budget(std::io::Error::other("timeout"))), "request timeout budget spent: timeout");
    }
}
