//! A set of keys by `kid`: one current signing key plus retired keys kept for verification.

use jsonwebtoken::Header;

use super::error::KeyError;
use super::key::JwtKey;
use crate::token::crypto_provider;

/// The longest `kid` accepted, in bytes.
pub const MAX_KID_LEN: usize = 256;

/// Whether `kid` is 1..=256 bytes of `A-Z a-z 0-9 - _ . : = +`: no paths, quotes or spaces.
pub(crate) fn kid_is_valid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:=+".contains(&b))
}

/// One key of the ring under its id.
#[derive(Debug, Clone)]
pub(crate) struct RingEntry {
    pub(crate) kid: String,
    pub(crate) key: JwtKey,
}

impl RingEntry {
    fn new(kid: String, key: JwtKey) -> Result<Self, KeyError> {
        if !kid_is_valid(&kid) {
            return Err(KeyError::InvalidKid);
        }
        Ok(Self { kid, key })
    }
}

/// The keys a [`JwtService`](super::JwtService) signs and verifies with, by key id (`kid`).
///
/// Tokens are signed with the current key and carry its `kid`. For rotation, make the new key
/// current and keep the old one with [`with_verification_key`](Self::with_verification_key)
/// until the tokens it signed have expired. A token without `kid` is checked against the current
/// key only.
///
/// ```
/// use authmount::token::jwt::{JwtKey, KeyRing};
/// let ring = KeyRing::new("2025-06", JwtKey::hs256(b"the new secret, 32 bytes or more")?)?
///     .with_verification_key("2025-01", JwtKey::hs256(b"the old secret, 32 bytes or more")?)?;
/// assert_eq!(ring.current_kid(), "2025-06");
/// assert!(ring.contains("2025-01"));
/// # Ok::<(), authmount::token::jwt::KeyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct KeyRing {
    /// The signing key.
    current: RingEntry,
    /// Verification-only keys, in the order added.
    others: Vec<RingEntry>,
    /// The header every token is signed with: `typ: JWT`, the current key's `alg` and `kid`.
    header: Header,
}

impl KeyRing {
    /// A ring whose current (signing) key is `signing_key` under `kid`.
    ///
    /// Fails if the key cannot sign or `kid` is not 1–256 characters of `A-Z a-z 0-9 - _ . : = +`.
    pub fn new(kid: impl Into<String>, signing_key: JwtKey) -> Result<Self, KeyError> {
        crypto_provider::ensure_installed();
        if !signing_key.can_sign() {
            return Err(KeyError::CannotSign);
        }
        let entry = RingEntry::new(kid.into(), signing_key)?;
        let mut header = Header::new(entry.key.algorithm().to_jsonwebtoken());
        header.kid = Some(entry.kid.clone());
        Ok(Self { current: entry, others: Vec::new(), header })
    }

    /// Adds a key that verifies but never signs (e.g. the previous key during rotation).
    ///
    /// Fails on a duplicate or invalid `kid`.
    pub fn with_verification_key(mut self, kid: impl Into<String>, key: JwtKey) -> Result<Self, KeyError> {
        let kid = kid.into();
        if self.contains(&kid) {
            return Err(KeyError::DuplicateKid(kid));
        }
        self.others.push(RingEntry::new(kid, key)?);
        Ok(self)
    }

    /// The `kid` of the signing key.
    pub fn current_kid(&self) -> &str {
        &self.current().kid
    }

    /// The signing key.
    pub fn current_key(&self) -> &JwtKey {
        &self.current().key
    }

    /// Whether a key with this `kid` is in the ring.
    pub fn contains(&self, kid: &str) -> bool {
        self.find(kid).is_some()
    }

    /// The number of keys, the signing key included.
    pub fn len(&self) -> usize {
        1 + self.others.len()
    }

    /// Always `false`: a ring has at least its signing key.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub(crate) fn current(&self) -> &RingEntry {
        &self.current
    }

    /// The entry for `kid`, without allocating (rings hold a handful of keys: a scan is fastest).
    pub(crate) fn find(&self, kid: &str) -> Option<&RingEntry> {
        if self.current.kid == kid {
            return Some(&self.current);
        }
        self.others.iter().find(|entry| entry.kid == kid)
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }
}

#[cfg(test)]
mod tests {
    use super::super::key::test_keys::*;
    use super::*;

    #[test]
    fn the_current_key_must_sign() {
        let public = JwtKey::eddsa_public_pem(ED_PUBLIC).unwrap();
        assert_eq!(KeyRing::new("k", public).unwrap_err(), KeyError::CannotSign);
    }

    #[test]
    fn duplicate_kids_are_rejected() {
        let ring = KeyRing::new("k1", JwtKey::hs256(SECRET).unwrap()).unwrap();
        let err = ring.with_verification_key("k1", JwtKey::hs256(SECRET).unwrap()).unwrap_err();
        assert_eq!(err, KeyError::DuplicateKid("k1".into()));
    }

    #[test]
    fn invalid_kids_are_rejected() {
        for kid in ["", "../../etc/passwd", "k' OR '1'='1", "a b", &"k".repeat(257)] {
            assert_eq!(
                KeyRing::new(kid, JwtKey::hs256(SECRET).unwrap()).unwrap_err(),
                KeyError::InvalidKid,
                "{kid:?}"
            );
        }
        assert!(KeyRing::new("k".repeat(256), JwtKey::hs256(SECRET).unwrap()).is_ok());
    }

    #[test]
    fn verification_keys_are_found_by_kid() {
        let ring = KeyRing::new("new", JwtKey::hs256(SECRET).unwrap())
            .unwrap()
            .with_verification_key("old", JwtKey::eddsa_public_pem(ED_PUBLIC).unwrap())
            .unwrap();
        assert_eq!(ring.len(), 2);
        assert!(!ring.is_empty());
        assert_eq!(ring.current_kid(), "new");
        assert!(ring.current_key().can_sign());
        assert!(ring.contains("old"));
        assert!(!ring.contains("other"));
        assert_eq!(ring.header().kid.as_deref(), Some("new"));
        assert_eq!(ring.header().typ.as_deref(), Some("JWT"));
    }
}
