//! Signing and verifying JWTs against a key ring and an injected clock.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use serde_json::{Map, Value};

use super::claims::{Claims, REGISTERED_CLAIMS, TokenType};
use super::error::{JwtError, KeyError, Malformed};
use super::header::RawHeader;
use super::key_ring::{KeyRing, MAX_KID_LEN, RingEntry, kid_is_valid};
use crate::clock::SharedClock;
use crate::token::{RandomError, crypto_provider};
use crate::user::UserId;

/// Tokens longer than this (8 KiB) are rejected before any parsing.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// The largest leeway [`JwtService::with_leeway`] accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(5);
/// The leeway a new [`JwtService`] allows for clock skew between instances: 5 seconds.
pub const DEFAULT_LEEWAY: Duration = MAX_LEEWAY;

/// Signs and verifies JWTs.
///
/// Tokens are signed with the ring's current key, with header `typ: JWT`, that key's `alg` and
/// `kid`. Verification pins the algorithm to the key the `kid` names, refuses unsigned tokens and
/// header-supplied keys, and checks `exp` (required), `nbf`, `iat`, `token_type`, `aud` and
/// `iss` against the injected clock and the configured expectations.
///
/// Cheap to share: wrap it in an `Arc`. Everything verification needs is prepared in the
/// constructor.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use authmount::clock::ManualClock;
/// use authmount::token::jwt::{JwtError, JwtKey, JwtService, KeyRing, TokenType};
/// use authmount::user::UserId;
///
/// let clock = ManualClock::at_unix(1_700_000_000);
/// let ring = KeyRing::new("k1", JwtKey::hs256(b"a secret of thirty-two bytes or more")?)?;
/// let jwt = JwtService::new(ring, Arc::new(clock.clone()))
///     .with_leeway(Duration::from_secs(2))?
///     .with_issuer("authmount")
///     .with_audience("api");
///
/// let claims = jwt
///     .new_claims(UserId(42), TokenType::Refresh, Duration::from_secs(86_400))?
///     .with_claim("username", "ann");
/// let token = jwt.sign(&claims)?;
///
/// let verified = jwt.verify(&token, TokenType::Refresh)?;
/// assert_eq!(verified.user_id, UserId(42));
/// assert_eq!(verified.extra["username"], "ann");
/// assert_eq!(verified.issuer.as_deref(), Some("authmount"));
///
/// clock.advance(Duration::from_secs(86_400 + 2));
/// assert_eq!(jwt.verify(&token, TokenType::Refresh), Err(JwtError::Expired));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct JwtService {
    ring: KeyRing,
    clock: SharedClock,
    leeway_seconds: i64,
    audience: Option<String>,
    issuer: Option<String>,
}

impl JwtService {
    /// A service signing with `ring`'s current key and reading time from `clock`, with
    /// [`DEFAULT_LEEWAY`], and no expected audience or issuer.
    pub fn new(ring: KeyRing, clock: SharedClock) -> Self {
        crypto_provider::ensure_installed();
        Self { ring, clock, leeway_seconds: leeway_seconds(DEFAULT_LEEWAY), audience: None, issuer: None }
    }

    /// Sets the leeway for `exp`, `nbf` and `iat` (whole seconds; fractions are dropped).
    /// More than [`MAX_LEEWAY`] is a configuration error.
    pub fn with_leeway(mut self, leeway: Duration) -> Result<Self, KeyError> {
        if leeway > MAX_LEEWAY {
            return Err(KeyError::LeewayTooLarge { max_seconds: MAX_LEEWAY.as_secs() });
        }
        self.leeway_seconds = leeway_seconds(leeway);
        Ok(self)
    }

    /// Requires `aud` to equal `audience` (without it, tokens with any `aud` are rejected), and
    /// puts it in [`new_claims`](Self::new_claims).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Requires `iss` to equal `issuer`, and puts it in [`new_claims`](Self::new_claims).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The key ring.
    pub fn key_ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The leeway in use.
    pub fn leeway(&self) -> Duration {
        Duration::from_secs(self.leeway_seconds.unsigned_abs())
    }

    /// Claims issued now (by the service's clock) and expiring `ttl` later, with a fresh `jti`
    /// and the configured `aud` and `iss`.
    pub fn new_claims(
        &self,
        user_id: UserId,
        token_type: TokenType,
        ttl: Duration,
    ) -> Result<Claims, RandomError> {
        let mut claims = Claims::new(user_id, token_type, self.clock.unix_seconds(), ttl)?;
        claims.audience.clone_from(&self.audience);
        claims.issuer.clone_from(&self.issuer);
        Ok(claims)
    }

    /// Signs `claims` with the current key.
    ///
    /// Fails with [`JwtError::ReservedClaim`] when [`Claims::extra`] holds a registered claim
    /// name (it would appear twice in the payload).
    pub fn sign(&self, claims: &Claims) -> Result<String, JwtError> {
        if let Some(name) = claims.extra.keys().find(|k| REGISTERED_CLAIMS.contains(&k.as_str())) {
            return Err(JwtError::ReservedClaim(name.clone()));
        }
        let key = self.ring.current_key().encoding_key().ok_or(JwtError::Signing)?;
        jsonwebtoken::encode(self.ring.header(), claims, key).map_err(|_| JwtError::Signing)
    }

    /// Verifies `token` and returns its claims if it is a valid token of type `expected`.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, JwtError> {
        let result = self.verify_inner(token, expected);
        if let Err(error) = &result {
            tracing::debug!(%error, "JWT rejected");
        }
        result
    }

    fn verify_inner(&self, token: &str, expected: TokenType) -> Result<Claims, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::TooLarge { max: MAX_TOKEN_LEN });
        }
        let mut segments = token.split('.');
        let header_b64 = segments.next().unwrap_or_default();
        let payload_b64 = segments.next().ok_or(JwtError::Malformed(Malformed::Segments))?;
        let signature_b64 = segments.next();
        if segments.next().is_some() {
            return Err(JwtError::Malformed(Malformed::Segments));
        }

        let entry = self.check_header(header_b64)?;
        let signature_b64 = match signature_b64 {
            Some(signature) if !signature.is_empty() => signature,
            _ => return Err(JwtError::MissingSignature),
        };

        // The signed message is `header.payload`: everything before the second dot. The
        // algorithm is the key's pinned one (the header was checked to name it).
        let message = token.get(..header_b64.len() + 1 + payload_b64.len()).unwrap_or_default();
        let algorithm = entry.key.algorithm();
        match jsonwebtoken::crypto::verify(
            signature_b64,
            message.as_bytes(),
            entry.key.decoding_key(),
            algorithm.to_jsonwebtoken(),
        ) {
            Ok(true) => {}
            Ok(false) => return Err(JwtError::BadSignature),
            Err(error) => {
                return Err(match error.kind() {
                    ErrorKind::Base64(_) => JwtError::Malformed(Malformed::Base64),
                    ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => {
                        JwtError::AlgorithmMismatch { expected: algorithm }
                    }
                    _ => JwtError::Crypto,
                });
            }
        }

        // Only now, with the signature verified, is the payload read.
        let payload =
            URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| JwtError::Malformed(Malformed::Base64))?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| diagnose_claims(&payload))?;
        self.check_claims(&claims, expected)?;
        Ok(claims)
    }

    /// Reads the header and picks the key, refusing what must never reach signature checking.
    fn check_header(&self, header_b64: &str) -> Result<&RingEntry, JwtError> {
        let bytes = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| JwtError::Malformed(Malformed::Base64))?;
        let header: RawHeader<'_> =
            serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed(Malformed::Header))?;
        if header.alg.eq_ignore_ascii_case("none") {
            return Err(JwtError::AlgNone);
        }
        if let Some(name) = header.forbidden_parameter() {
            return Err(JwtError::ForbiddenHeader(name));
        }
        if header.typ.as_deref().is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT")) {
            return Err(JwtError::UnexpectedTyp);
        }
        let entry = match header.kid.as_deref() {
            None => self.ring.current(),
            Some(kid) if kid.len() > MAX_KID_LEN => return Err(JwtError::KidTooLong),
            Some(kid) if !kid_is_valid(kid) => return Err(JwtError::InvalidKid),
            Some(kid) => self.ring.find(kid).ok_or(JwtError::UnknownKid)?,
        };
        if header.alg != entry.key.algorithm().as_str() {
            return Err(JwtError::AlgorithmMismatch { expected: entry.key.algorithm() });
        }
        Ok(entry)
    }

    /// Checks time (with the leeway), token type, audience and issuer of claims against the
    /// service's clock and settings: what [`verify`](Self::verify) checks after the signature.
    /// A cache of verified tokens calls this on every reuse, since time moves on.
    pub fn check_claims(&self, claims: &Claims, expected: TokenType) -> Result<(), JwtError> {
        let now = self.clock.unix_seconds();
        let leeway = self.leeway_seconds;
        // RFC 7519 §4.1.4: valid only *before* `exp`.
        if now >= claims.expires_at.saturating_add(leeway) {
            return Err(JwtError::Expired);
        }
        let latest_start = now.saturating_add(leeway);
        if claims.not_before.is_some_and(|nbf| nbf > latest_start) || claims.issued_at > latest_start {
            return Err(JwtError::NotYetValid);
        }
        if claims.token_type != expected {
            return Err(JwtError::WrongTokenType { expected, found: claims.token_type });
        }
        if claims.audience != self.audience {
            return Err(JwtError::WrongAudience);
        }
        if self.issuer.is_some() && claims.issuer != self.issuer {
            return Err(JwtError::WrongIssuer);
        }
        Ok(())
    }
}

fn leeway_seconds(leeway: Duration) -> i64 {
    i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX)
}

/// Names what is wrong with a signed, decoded payload that did not deserialise into [`Claims`]. Runs only
/// on that error path, after the signature was verified.
fn diagnose_claims(payload: &[u8]) -> JwtError {
    let Ok(payload) = serde_json::from_slice::<Map<String, Value>>(payload) else {
        return JwtError::Malformed(Malformed::Payload);
    };
    match payload.get("exp") {
        None => JwtError::MissingExp,
        Some(exp) if exp.as_i64().is_none() => JwtError::InvalidExp,
        Some(_) => JwtError::InvalidClaims,
    }
}
