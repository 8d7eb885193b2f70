//! Confirmation tokens: unguessable, personal, single-use, stored only as a hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A confirmation token as mailed to one party: 256 bits from the OS, unpadded base64url.
///
/// It has no `Display` and its `Debug` hides it, so it cannot slip into a log line or an
/// error by accident; [`Token::expose`] is the one door, used to write the email.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    const BYTES: usize = 32;
    /// The length of [`Token::BYTES`] in unpadded base64url.
    const TEXT_LEN: usize = 43;

    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::BYTES];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as typed or pasted by a person. `None` when it cannot be one of ours: such an
    /// input is answered like any token that does not match.
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        let shaped = input.len() == Self::TEXT_LEN && input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self(input.to_owned()))
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The token's text, for the confirmation email and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What is stored of a token: its SHA-256. The token has 256 bits of entropy, so a plain
/// hash (no salt, no stretching) cannot be reversed, and a leaked table confirms nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Compares in constant time, so response timing says nothing about how close a guess was.
    pub fn matches(&self, token: &Token) -> bool {
        self.0.ct_eq(&token.hash().0).into()
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_43_base64url_characters_and_never_repeats() {
        let tokens: Vec<Token> = (0..100).map(|_| Token::generate()).collect();
        for token in &tokens {
            assert_eq!(token.expose().len(), 43);
            assert!(token.expose().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        let mut texts: Vec<&str> = tokens.iter().map(Token::expose).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), 100);
    }

    #[test]
    fn a_hash_matches_its_own_token_only() {
        let token = Token::generate();
        let hash = token.hash();
        assert!(hash.matches(&token));
        assert!(!hash.matches(&Token::generate()));
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
    }

    #[test]
    fn a_token_never_shows_in_debug_output() {
        let token = Token::generate();
        assert!(!format!("{token:?} {:?}", token.hash()).contains(token.expose()));
    }

    #[test]
    fn parsing_refuses_what_cannot_be_a_token() {
        let token = Token::generate();
        assert_eq!(Token::parse(&format!(" {} ", token.expose())), Some(token));
        assert_eq!(Token::parse("short"), None);
        assert_eq!(Token::parse(&"=".repeat(43)), None);
    }
}
