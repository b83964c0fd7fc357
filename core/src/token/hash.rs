//! The SHA-256 hash under which tokens are stored.

use std::fmt;

use sha2::{Digest, Sha256};

/// The SHA-256 hash of a token's text: what a store keeps instead of the token.
///
/// A stolen table of hashes does not let anyone present a token. Tokens carry 256 bits of
/// randomness, so a fast unsalted hash is enough (no password-style stretching is needed).
/// `Debug` shows only the first 4 bytes in hex.
///
/// ```
/// use authmount::token::TokenHash;
/// let hash = TokenHash::of("abc");
/// assert_eq!(hash.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// assert_eq!(format!("{hash:?}"), "TokenHash(ba7816bf…)");
/// assert_eq!(TokenHash::from_hex(&hash.to_hex())?, hash);
/// # Ok::<(), authmount::token::InvalidTokenHash>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

/// A string is not 64 hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a token hash (expected 64 hex digits)")]
pub struct InvalidTokenHash;

const HEX: &[u8; 16] = b"0123456789abcdef";

impl TokenHash {
    /// The SHA-256 of the presented token text.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// A hash read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes (for binary storage columns).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex (64 characters), for text storage keys.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// Parses the output of [`to_hex`](Self::to_hex) (either case).
    pub fn from_hex(hex: &str) -> Result<Self, InvalidTokenHash> {
        let digits = hex.as_bytes();
        if digits.len() != 64 {
            return Err(InvalidTokenHash);
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Ok(Self(bytes))
    }
}

fn hex_digit(c: u8) -> Result<u8, InvalidTokenHash> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(InvalidTokenHash),
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        write!(f, "TokenHash({}…)", &hex[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_of_the_text() {
        assert_eq!(
            TokenHash::of("").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn bytes_and_hex_round_trip() {
        let hash = TokenHash::of("token");
        assert_eq!(TokenHash::from_bytes(*hash.as_bytes()), hash);
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Ok(hash));
        assert_eq!(TokenHash::from_hex(&hash.to_hex().to_uppercase()), Ok(hash));
    }

    #[test]
    fn bad_hex_is_rejected() {
        let good = TokenHash::of("x").to_hex();
        assert_eq!(TokenHash::from_hex(&good[..63]), Err(InvalidTokenHash));
        assert_eq!(TokenHash::from_hex(&format!("g{}", &good[1..])), Err(InvalidTokenHash));
        assert_eq!(TokenHash::from_hex(&"é".repeat(32)), Err(InvalidTokenHash));
    }

    #[test]
    fn debug_shows_only_a_prefix() {
        let hash = TokenHash::of("secret");
        let shown = format!("{hash:?}");
        assert!(shown.starts_with("TokenHash("));
        assert!(!shown.contains(&hash.to_hex()));
        let inner = shown.trim_start_matches("TokenHash(").trim_end_matches("…)");
        assert_eq!(inner, &hash.to_hex()[..8]);
    }

    #[test]
    fn is_usable_as_an_ordered_map_key() {
        let mut set = std::collections::BTreeSet::new();
        set.insert(TokenHash::of("a"));
        set.insert(TokenHash::of("a"));
        set.insert(TokenHash::of("b"));
        assert_eq!(set.len(), 2);
    }
}
