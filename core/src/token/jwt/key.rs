//! Signing and verification keys, each pinned to one algorithm.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::error::KeyError;
use crate::token::crypto_provider;

/// The minimum HS256 secret length in bytes (RFC 7518 §3.2: at least the hash output size).
pub const MIN_HS256_SECRET_LEN: usize = 32;

/// The JWT signature algorithms authmount signs and verifies with.
///
/// ```
/// use authmount::token::jwt::JwtAlgorithm;
/// assert_eq!(JwtAlgorithm::EdDsa.as_str(), "EdDSA");
/// assert_eq!(JwtAlgorithm::Hs256.to_string(), "HS256");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256, a shared secret.
    Hs256,
    /// Ed25519 signatures.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl JwtAlgorithm {
    /// The `alg` header value (`HS256`, `EdDSA`, `RS256`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }

    pub(crate) const fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One key, pinned to one algorithm: a token naming this key is only accepted with that `alg`.
///
/// Built from an HS256 secret, or from PEM files (PKCS#8; RSA also PKCS#1) for EdDSA and RS256,
/// with or without the private half. `Debug` shows the algorithm only, never key material.
///
/// ```
/// use authmount::token::jwt::{JwtAlgorithm, JwtKey, KeyError};
/// let key = JwtKey::hs256(b"an HS256 secret of at least 32 bytes!")?;
/// assert_eq!(key.algorithm(), JwtAlgorithm::Hs256);
/// assert!(key.can_sign());
/// assert_eq!(JwtKey::hs256(b"short").unwrap_err(), KeyError::SecretTooShort { min: 32 });
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone)]
pub struct JwtKey {
    algorithm: JwtAlgorithm,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
}

impl JwtKey {
    /// An HS256 key from a shared secret of at least [`MIN_HS256_SECRET_LEN`] (32) bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HS256_SECRET_LEN {
            return Err(KeyError::SecretTooShort { min: MIN_HS256_SECRET_LEN });
        }
        // jsonwebtoken only refuses an empty secret, which the length check above already did.
        let algorithm = JwtAlgorithm::Hs256;
        let encoding =
            EncodingKey::from_secret(secret).map_err(|_| invalid(algorithm, "not an HMAC secret"))?;
        let decoding =
            DecodingKey::from_secret(secret).map_err(|_| invalid(algorithm, "not an HMAC secret"))?;
        Ok(Self { algorithm, encoding: Some(encoding), decoding })
    }

    /// An Ed25519 key pair from PKCS#8 PEM (`openssl genpkey -algorithm ed25519`, and
    /// `openssl pkey -pubout` for the public half). Checks that the halves belong together.
    pub fn eddsa_pem(private_pem: &[u8], public_pem: &[u8]) -> Result<Self, KeyError> {
        let algorithm = JwtAlgorithm::EdDsa;
        let encoding = EncodingKey::from_ed_pem(private_pem)
            .map_err(|_| invalid(algorithm, "not a PKCS#8 Ed25519 private key PEM"))?;
        let key = Self { algorithm, encoding: Some(encoding), decoding: ed_public(public_pem)? };
        key.check_pair()?;
        Ok(key)
    }

    /// A verify-only Ed25519 key from a public key PEM (SubjectPublicKeyInfo).
    pub fn eddsa_public_pem(public_pem: &[u8]) -> Result<Self, KeyError> {
        Ok(Self { algorithm: JwtAlgorithm::EdDsa, encoding: None, decoding: ed_public(public_pem)? })
    }

    /// An RSA key pair for RS256 from PEM (PKCS#8 or PKCS#1). Checks that the halves belong
    /// together.
    pub fn rs256_pem(private_pem: &[u8], public_pem: &[u8]) -> Result<Self, KeyError> {
        let algorithm = JwtAlgorithm::Rs256;
        let encoding = EncodingKey::from_rsa_pem(private_pem)
            .map_err(|_| invalid(algorithm, "not an RSA private key PEM"))?;
        let key = Self { algorithm, encoding: Some(encoding), decoding: rsa_public(public_pem)? };
        key.check_pair()?;
        Ok(key)
    }

    /// A verify-only RS256 key from an RSA public key PEM.
    pub fn rs256_public_pem(public_pem: &[u8]) -> Result<Self, KeyError> {
        Ok(Self { algorithm: JwtAlgorithm::Rs256, encoding: None, decoding: rsa_public(public_pem)? })
    }

    /// The algorithm this key is pinned to.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Whether this key has a private half (or is an HMAC secret) and can sign.
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    pub(crate) fn encoding_key(&self) -> Option<&EncodingKey> {
        self.encoding.as_ref()
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// Signs a probe with the private half and verifies it with the public half.
    fn check_pair(&self) -> Result<(), KeyError> {
        let algorithm = self.algorithm;
        let Some(encoding) = &self.encoding else {
            return Ok(());
        };
        crypto_provider::ensure_installed();
        let probe = b"authmount key pair check";
        let alg = algorithm.to_jsonwebtoken();
        let signature = jsonwebtoken::crypto::sign(probe, encoding, alg)
            .map_err(|_| invalid(algorithm, "the private key cannot sign"))?;
        match jsonwebtoken::crypto::verify(&signature, probe, &self.decoding, alg) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(KeyError::KeyPairMismatch { algorithm }),
        }
    }
}

fn invalid(algorithm: JwtAlgorithm, reason: &'static str) -> KeyError {
    KeyError::InvalidKey { algorithm, reason }
}

fn ed_public(public_pem: &[u8]) -> Result<DecodingKey, KeyError> {
    let algorithm = JwtAlgorithm::EdDsa;
    let key = DecodingKey::from_ed_pem(public_pem)
        .map_err(|_| invalid(algorithm, "not an Ed25519 public key PEM"))?;
    // The backends slice the first 32 bytes: anything else would fail (or panic) at first use.
    match key.try_get_as_bytes() {
        Ok(bytes) if bytes.len() == 32 => Ok(key),
        _ => Err(invalid(algorithm, "an Ed25519 public key has 32 bytes")),
    }
}

fn rsa_public(public_pem: &[u8]) -> Result<DecodingKey, KeyError> {
    DecodingKey::from_rsa_pem(public_pem)
        .map_err(|_| invalid(JwtAlgorithm::Rs256, "not an RSA public key PEM"))
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! The PEM test keys under `testdata/`, generated with openssl.

    pub(crate) const ED_PRIVATE: &[u8] = include_bytes!("../testdata/ed25519_private.pem");
    pub(crate) const ED_PUBLIC: &[u8] = include_bytes!("../testdata/ed25519_public.pem");
    pub(crate) const ED_OTHER_PUBLIC: &[u8] = include_bytes!("../testdata/ed25519_other_public.pem");
    pub(crate) const RSA_PRIVATE: &[u8] = include_bytes!("../testdata/rsa_private.pem");
    pub(crate) const RSA_PUBLIC: &[u8] = include_bytes!("../testdata/rsa_public.pem");
    pub(crate) const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
}

#[cfg(test)]
mod tests {
    use super::test_keys::*;
    use super::*;

    #[test]
    fn hs256_needs_32_bytes() {
        assert_eq!(JwtKey::hs256(&SECRET[..31]).unwrap_err(), KeyError::SecretTooShort { min: 32 });
        assert_eq!(JwtKey::hs256(b"").unwrap_err(), KeyError::SecretTooShort { min: 32 });
        let key = JwtKey::hs256(SECRET).unwrap();
        assert_eq!(key.algorithm(), JwtAlgorithm::Hs256);
        assert!(key.can_sign());
    }

    #[test]
    fn eddsa_pair_and_public_only() {
        let pair = JwtKey::eddsa_pem(ED_PRIVATE, ED_PUBLIC).unwrap();
        assert_eq!(pair.algorithm(), JwtAlgorithm::EdDsa);
        assert!(pair.can_sign());
        let public = JwtKey::eddsa_public_pem(ED_PUBLIC).unwrap();
        assert!(!public.can_sign());
    }

    #[test]
    fn rs256_pair_and_public_only() {
        let pair = JwtKey::rs256_pem(RSA_PRIVATE, RSA_PUBLIC).unwrap();
        assert_eq!(pair.algorithm(), JwtAlgorithm::Rs256);
        assert!(pair.can_sign());
        assert!(!JwtKey::rs256_public_pem(RSA_PUBLIC).unwrap().can_sign());
    }

    #[test]
    fn mismatched_pairs_are_rejected() {
        assert_eq!(
            JwtKey::eddsa_pem(ED_PRIVATE, ED_OTHER_PUBLIC).unwrap_err(),
            KeyError::KeyPairMismatch { algorithm: JwtAlgorithm::EdDsa }
        );
    }

    #[test]
    fn wrong_pem_kinds_are_rejected() {
        assert!(matches!(
            JwtKey::eddsa_pem(RSA_PRIVATE, ED_PUBLIC),
            Err(KeyError::InvalidKey { algorithm: JwtAlgorithm::EdDsa, .. })
        ));
        assert!(matches!(
            JwtKey::eddsa_public_pem(RSA_PUBLIC),
            Err(KeyError::InvalidKey { algorithm: JwtAlgorithm::EdDsa, .. })
        ));
        assert!(matches!(
            JwtKey::rs256_public_pem(ED_PUBLIC),
            Err(KeyError::InvalidKey { algorithm: JwtAlgorithm::Rs256, .. })
        ));
        assert!(matches!(
            JwtKey::rs256_pem(ED_PRIVATE, RSA_PUBLIC),
            Err(KeyError::InvalidKey { algorithm: JwtAlgorithm::Rs256, .. })
        ));
        assert!(matches!(
            JwtKey::rs256_public_pem(b"not a pem"),
            Err(KeyError::InvalidKey { algorithm: JwtAlgorithm::Rs256, .. })
        ));
    }

    #[test]
    fn debug_never_shows_key_material() {
        let shown = format!("{:?}", JwtKey::hs256(SECRET).unwrap());
        assert!(!shown.contains("0123456789abcdef"));
        assert!(shown.contains("Hs256"));
        let shown = format!("{:?}", JwtKey::eddsa_pem(ED_PRIVATE, ED_PUBLIC).unwrap());
        assert!(!shown.contains("MC"), "{shown}");
    }
}
