//! Opaque bearer tokens and random ids from the operating system's CSPRNG.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::hash::TokenHash;

/// Random bytes in an [`OpaqueToken`] (256 bits).
const TOKEN_BYTES: usize = 32;
/// Length of an [`OpaqueToken`]'s text: 32 bytes in unpadded base64.
const TOKEN_CHARS: usize = 43;
/// Random bytes in a [`random_id`] (128 bits).
const ID_BYTES: usize = 16;

/// The operating system's random number generator failed.
///
/// This practically never happens on a running system; a caller answers it with a server error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// Fills `buf` from the OS CSPRNG.
fn fill_random(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(RandomError)
}

/// A fresh random id: 16 bytes (128 bits) from the OS CSPRNG, URL-safe base64 without padding
/// (22 characters). Used for JWT `jti`s and refresh-token family ids.
///
/// ```
/// let id = authmount::token::random_id()?;
/// assert_eq!(id.len(), 22);
/// assert_ne!(id, authmount::token::random_id()?);
/// # Ok::<(), authmount::token::RandomError>(())
/// ```
pub fn random_id() -> Result<String, RandomError> {
    let mut bytes = [0u8; ID_BYTES];
    fill_random(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A presented string is not an opaque token of the form [`OpaqueToken`] issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid opaque token")]
pub struct InvalidOpaqueToken;

/// An opaque bearer token: 32 bytes (256 bits) from the OS CSPRNG, as URL-safe base64 without
/// padding (43 characters).
///
/// The text is what the client holds; the server keeps only [`TokenHash`] of it. `Debug` never
/// shows the value, and `==` compares in constant time.
///
/// ```
/// use authmount::token::OpaqueToken;
/// let token = OpaqueToken::generate()?;
/// assert_eq!(token.as_str().len(), 43);
/// assert_eq!(format!("{token:?}"), "OpaqueToken(<redacted>)");
/// # Ok::<(), authmount::token::RandomError>(())
/// ```
#[derive(Clone)]
pub struct OpaqueToken(String);

impl OpaqueToken {
    /// A fresh token from the OS CSPRNG.
    pub fn generate() -> Result<Self, RandomError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        fill_random(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts a presented token if it has the exact form [`generate`](Self::generate) produces
    /// (43 characters of canonical URL-safe base64 encoding 32 bytes).
    ///
    /// Anything else is rejected before it reaches a store. (A store holding tokens of another
    /// format, e.g. migrated 40-hex-digit DRF tokens, can look them up with [`TokenHash::of`]
    /// directly.)
    ///
    /// ```
    /// use authmount::token::OpaqueToken;
    /// assert!(OpaqueToken::from_string("not a token".to_owned()).is_err());
    /// ```
    pub fn from_string(token: String) -> Result<Self, InvalidOpaqueToken> {
        if token.len() != TOKEN_CHARS {
            return Err(InvalidOpaqueToken);
        }
        let mut bytes = [0u8; TOKEN_BYTES + 2];
        match URL_SAFE_NO_PAD.decode_slice(token.as_bytes(), &mut bytes) {
            Ok(TOKEN_BYTES) => Ok(Self(token)),
            _ => Err(InvalidOpaqueToken),
        }
    }

    /// The token text, as sent to and presented by the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token text, consuming the token.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The SHA-256 hash under which the token is stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl FromStr for OpaqueToken {
    type Err = InvalidOpaqueToken;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != TOKEN_CHARS {
            return Err(InvalidOpaqueToken);
        }
        Self::from_string(s.to_owned())
    }
}

impl PartialEq for OpaqueToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for OpaqueToken {}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_43_url_safe_chars_of_32_bytes() {
        let token = OpaqueToken::generate().unwrap();
        assert_eq!(token.as_str().len(), 43);
        assert!(token.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(token.as_str()).unwrap().len(), 32);
    }

    #[test]
    fn generated_tokens_differ() {
        let a = OpaqueToken::generate().unwrap();
        let b = OpaqueToken::generate().unwrap();
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn a_generated_token_round_trips_through_parsing() {
        let token = OpaqueToken::generate().unwrap();
        let parsed: OpaqueToken = token.as_str().parse().unwrap();
        assert_eq!(parsed, token);
        assert_eq!(OpaqueToken::from_string(token.clone().into_string()).unwrap(), token);
        assert_eq!(parsed.hash(), TokenHash::of(token.as_str()));
    }

    #[test]
    fn malformed_presented_tokens_are_rejected() {
        let good = OpaqueToken::generate().unwrap().into_string();
        let padded = format!("{good}=");
        let short = &good[..42];
        let with_plus = format!("+{}", &good[1..]);
        let with_space = format!(" {}", &good[1..]);
        // 43 characters carry 258 bits: the last one's 2 low bits must be zero ('B' has them set).
        let non_canonical = format!("{}B", &good[..42]);
        for bad in
            ["", "abc", short, &padded, &with_plus, &with_space, &non_canonical, "ä".repeat(21).as_str()]
        {
            assert_eq!(bad.parse::<OpaqueToken>(), Err(InvalidOpaqueToken), "{bad:?}");
        }
    }

    #[test]
    fn debug_redacts_the_value() {
        let token = OpaqueToken::generate().unwrap();
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.as_str()));
        assert_eq!(shown, "OpaqueToken(<redacted>)");
    }

    #[test]
    fn random_ids_are_22_chars_of_16_bytes_and_differ() {
        let a = random_id().unwrap();
        let b = random_id().unwrap();
        assert_eq!(a.len(), 22);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 16);
        assert_ne!(a, b);
    }
}
