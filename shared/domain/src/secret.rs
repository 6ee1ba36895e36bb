//! Secrets in memory: passwords, client secrets, refresh tokens.

use std::fmt;

use zeroize::Zeroize;

/// A secret string, wiped from memory when dropped, whose `Debug` and `Display` print `[redacted]`: a struct holding one can
/// derive `Debug` and be logged without leaking it. Read it only with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Wiped when dropped, so a secret does not linger in freed heap.
impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2-hunter2");
        assert_eq!((format!("{s:?}"), format!("{s}")), ("[redacted]".into(), "[redacted]".into()));
        assert_eq!(s.expose(), "hunter2-hunter2");
    }
}
