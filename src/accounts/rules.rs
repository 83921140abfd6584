//! Account rules: what makes a name, phone, password or staff login acceptable.
//! Parsed at the boundary into these types, so the rest of the code can trust them.
//! Pure: no storage, no HTTP.

use super::AccountError;

/// A display name, trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Name(String);

impl Name {
    /// Trims and checks a display name.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > 100 || t.chars().any(char::is_control) {
            return Err(AccountError::Name);
        }
        Ok(Self(t.to_string()))
    }

    /// The checked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as typed, checked loosely: 4 to 20 digits, with `+`, `-`, spaces.
#[derive(Debug, Clone, PartialEq)]
pub struct Phone(String);

impl Phone {
    /// Checks a phone number, trimmed, as typed.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        let t = s.trim();
        let digits = t.chars().filter(char::is_ascii_digit).count();
        let allowed = t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '));
        if !allowed || !(4..=20).contains(&digits) || t.len() > 32 {
            return Err(AccountError::Phone);
        }
        Ok(Self(t.to_string()))
    }

    /// The checked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password, 8 to 128 characters. Not trimmed: spaces are characters too.
#[derive(Clone, PartialEq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Checks a password's length.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        let n = s.chars().count();
        if !(8..=128).contains(&n) {
            return Err(AccountError::Password);
        }
        Ok(Self(s.to_string()))
    }

    /// The password itself, to hash.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A staff login name: 3 to 32 ASCII letters, digits, `.`, `_` or `-`, starting with
/// a letter.
#[derive(Debug, Clone, PartialEq)]
pub struct Login(String);

impl Login {
    /// Checks a staff login name.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        let ok = (3..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(AccountError::Login);
        }
        Ok(Self(s.to_string()))
    }

    /// The checked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  김민수 ").unwrap().as_str(), "김민수");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"가".repeat(101)).is_err());
        assert!(Name::parse("a\u{0}b").is_err());
    }

    #[test]
    fn phones_passwords_and_logins() {
        assert!(Phone::parse("010-1234-5678").is_ok());
        assert!(Phone::parse("+82 10 1234 5678").is_ok());
        assert!(Phone::parse("12").is_err());
        assert!(Phone::parse("call me").is_err());
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Login::parse("owner.kim").is_ok());
        assert!(Login::parse("1abc").is_err());
        assert!(Login::parse("a b c").is_err());
    }
}
