//! Link tokens: 256 random bits, mailed once, kept at rest only as their SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A raw token as it appears in a link. Deliberately not `Debug`/`Display`, so it cannot
/// slip into a log line by accident.
pub struct LinkToken([u8; 32]);

/// The length of a token in its URL form: 32 bytes of unpadded base64url.
pub const ENCODED_LEN: usize = 43;

impl LinkToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses the token part of a link. Anything but 43 base64url characters is refused
    /// before it reaches the database.
    pub fn parse(encoded: &str) -> Option<Self> {
        if encoded.len() != ENCODED_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        let bytes: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(bytes))
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_differ() {
        let a = LinkToken::generate();
        let b = LinkToken::generate();
        assert_ne!(a.encode(), b.encode());
        assert_eq!(a.encode().len(), ENCODED_LEN);
        let parsed = LinkToken::parse(&a.encode()).unwrap();
        assert_eq!(parsed.hash(), a.hash());
        assert_eq!(a.hash().len(), 32);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        assert!(LinkToken::parse("").is_none());
        assert!(LinkToken::parse("abc").is_none());
        assert!(LinkToken::parse(&"=".repeat(ENCODED_LEN)).is_none());
        assert!(LinkToken::parse(&"a".repeat(ENCODED_LEN + 1)).is_none());
        assert!(LinkToken::parse(&format!("{}/", "a".repeat(ENCODED_LEN - 1))).is_none());
    }
}
