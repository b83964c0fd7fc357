//! Errors of key set-up ([`KeyError`]) and of signing and verifying ([`JwtError`]).
//!
//! No message ever contains a token, a secret or key material.

use super::claims::TokenType;
use super::key::JwtAlgorithm;

/// A key, key ring or verifier setting is unusable: a start-up (configuration) error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An HS256 secret shorter than 32 bytes (256 bits, RFC 7518 §3.2).
    #[error("HS256 secret too short: at least {min} bytes are required")]
    SecretTooShort {
        /// The minimum length in bytes.
        min: usize,
    },
    /// A PEM key could not be read as a key for `algorithm`.
    #[error("invalid {algorithm} key: {reason}")]
    InvalidKey {
        /// The algorithm the key was meant for.
        algorithm: JwtAlgorithm,
        /// What was wrong, without key material.
        reason: &'static str,
    },
    /// The private and public key given together do not belong to one key pair.
    #[error("the {algorithm} private and public keys do not form a pair")]
    KeyPairMismatch {
        /// The key pair's algorithm.
        algorithm: JwtAlgorithm,
    },
    /// The key ring's signing key has no private part.
    #[error("the current key of a key ring must be able to sign")]
    CannotSign,
    /// A `kid` is empty, longer than 256 bytes, or has characters outside `A-Z a-z 0-9 - _ . : = +`.
    #[error("invalid key id: 1 to 256 characters from A-Z a-z 0-9 - _ . : = + are allowed")]
    InvalidKid,
    /// Two keys in one ring have the same `kid`.
    #[error("duplicate key id {0:?} in the key ring")]
    DuplicateKid(String),
    /// A verification leeway above the allowed maximum.
    #[error("JWT leeway too large: at most {max_seconds} seconds are allowed")]
    LeewayTooLarge {
        /// The maximum in seconds.
        max_seconds: u64,
    },
}

/// Which part of a token could not be decoded (see [`JwtError::Malformed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// Not `header.payload.signature` (one segment, or more than three).
    Segments,
    /// A segment is not unpadded URL-safe base64.
    Base64,
    /// The header is not a JSON object with a string `alg`.
    Header,
    /// The payload is not a JSON object.
    Payload,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Segments => "not three dot-separated segments",
            Self::Base64 => "a segment is not URL-safe base64",
            Self::Header => "the header is not valid JSON with an `alg`",
            Self::Payload => "the payload is not a JSON object",
        })
    }
}

/// Why a JWT was not issued or not accepted.
///
/// Every rejection has its own variant so callers and tests can tell them apart; an HTTP layer
/// usually maps them all to 401. Messages never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is longer than the maximum; it was not parsed.
    #[error("token too long: at most {max} bytes are accepted")]
    TooLarge {
        /// The maximum length in bytes.
        max: usize,
    },
    /// The token could not be decoded.
    #[error("malformed token: {0}")]
    Malformed(Malformed),
    /// The header says `alg: none` (in any casing): unsigned tokens are never accepted.
    #[error("unsigned token (alg none)")]
    AlgNone,
    /// The header's `alg` is not the pinned algorithm of the key it names.
    #[error("token algorithm does not match the key's pinned algorithm {expected}")]
    AlgorithmMismatch {
        /// The key's algorithm.
        expected: JwtAlgorithm,
    },
    /// The header carries a parameter that points at or embeds keys or demands extensions
    /// (`jku`, `jwk`, `x5u`, `x5c`, `crit`); keys are never taken from a token.
    #[error("forbidden header parameter `{0}`")]
    ForbiddenHeader(&'static str),
    /// The header's `typ` is present and not `JWT`.
    #[error("unexpected token `typ`")]
    UnexpectedTyp,
    /// The header's `kid` is longer than 256 bytes.
    #[error("key id too long")]
    KidTooLong,
    /// The header's `kid` has characters no key id of ours has (e.g. a path or SQL).
    #[error("invalid key id")]
    InvalidKid,
    /// The header's `kid` names no key in the ring.
    #[error("unknown key id")]
    UnknownKid,
    /// The signature segment is missing or empty.
    #[error("missing signature")]
    MissingSignature,
    /// The signature does not verify (wrong key, or header/payload tampered with).
    #[error("invalid signature")]
    BadSignature,
    /// The payload has no `exp` claim.
    #[error("missing `exp` claim")]
    MissingExp,
    /// The `exp` claim is not an integer (e.g. a string).
    #[error("`exp` claim is not an integer")]
    InvalidExp,
    /// Another claim is missing or has the wrong type (`user_id`, `token_type`, `jti`, `iat`,
    /// `nbf`, `aud`, `iss`), or a registered claim appears twice.
    #[error("missing or invalid claims")]
    InvalidClaims,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// The token is of the other type (a refresh token presented as an access token, or the
    /// reverse).
    #[error("wrong token type: expected {expected}, got {found}")]
    WrongTokenType {
        /// What the caller asked for.
        expected: TokenType,
        /// What the token says.
        found: TokenType,
    },
    /// `aud` is not the expected audience (or is present when none is expected).
    #[error("wrong audience")]
    WrongAudience,
    /// `iss` is not the expected issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// [`Claims::extra`](super::Claims::extra) contains a registered claim name; it would be
    /// written twice.
    #[error("extra claim `{0}` collides with a registered claim")]
    ReservedClaim(String),
    /// The crypto backend failed to sign (should not happen with a key that passed set-up).
    #[error("signing failed")]
    Signing,
    /// The crypto backend failed in an unexpected way while verifying.
    #[error("token verification failed in the crypto backend")]
    Crypto,
}
