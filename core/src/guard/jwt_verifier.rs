use std::sync::Arc;

use async_trait::async_trait;

use super::verified_tokens::{DEFAULT_CAPACITY, VerifiedTokens};
use super::{Credential, Identity, InvalidToken, Rejection, TokenVerifier};
use crate::carrier::CarrierKind;
use crate::store::TokenStore;
use crate::token::jwt::{Claims, JwtError, JwtService, TokenType};

/// The claim naming the session (refresh family) a JWT belongs to; revoking the session through
/// [`TokenStore::revoke_family`] or [`TokenStore::revoke_user`] refuses every JWT that carries it.
pub const SESSION_CLAIM: &str = "sid";

/// Verifies JWTs: signature, algorithm, expiry and token type through a [`JwtService`], then the
/// revocation list in a [`TokenStore`] (by `jti` and by [session](SESSION_CLAIM)), so a logout
/// holds even though the token itself is still unexpired.
///
/// ```
/// use std::sync::Arc;
/// use authmount::clock::SystemClock;
/// use authmount::guard::JwtVerifier;
/// use authmount::store::MemoryTokenStore;
/// use authmount::token::jwt::{JwtKey, JwtService, KeyRing, TokenType};
///
/// let ring = KeyRing::new("k1", JwtKey::hs256(&[7u8; 32])?)?;
/// let jwt = JwtService::new(ring, Arc::new(SystemClock)).with_audience("meldeschein");
/// let verifier = JwtVerifier::new(jwt, TokenType::Access).with_revocations(Arc::new(MemoryTokenStore::new()));
/// # let _ = verifier;
/// # Ok::<(), authmount::token::jwt::KeyError>(())
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    jwt: JwtService,
    expected: TokenType,
    revocations: Option<Arc<dyn TokenStore>>,
    verified: Option<Arc<VerifiedTokens>>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("expected", &self.expected)
            .field("checks_revocations", &self.revocations.is_some())
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Accepts valid JWTs of type `expected`. Without [`with_revocations`](Self::with_revocations)
    /// no revocation is checked: only do that where tokens are never revoked.
    pub fn new(jwt: JwtService, expected: TokenType) -> Self {
        Self {
            jwt,
            expected,
            revocations: None,
            verified: Some(Arc::new(VerifiedTokens::new(DEFAULT_CAPACITY))),
        }
    }

    /// Turns the cache of verified tokens off: every request then checks the signature again.
    pub fn without_cache(mut self) -> Self {
        self.verified = None;
        self
    }

    /// Checks the revocation list in `store` for every token.
    pub fn with_revocations(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// The JWT service the verifier checks with.
    pub fn service(&self) -> &JwtService {
        &self.jwt
    }
}

impl JwtVerifier {
    /// The token's claims: from the cache (re-checked against the clock and settings), or
    /// verified in full and then remembered.
    fn verified_claims(&self, token: &str) -> Result<Arc<Claims>, JwtError> {
        let Some(cache) = &self.verified else {
            return self.jwt.verify(token, self.expected).map(Arc::new);
        };
        if let Some(claims) = cache.get(token) {
            self.jwt.check_claims(&claims, self.expected)?;
            return Ok(claims);
        }
        let claims = Arc::new(self.jwt.verify(token, self.expected)?);
        cache.insert(token, claims.clone());
        Ok(claims)
    }
}

/// The session (refresh family) a JWT belongs to, if it names one.
pub fn session_of(claims: &Claims) -> Option<&str> {
    claims.extra.get(SESSION_CLAIM).and_then(|value| value.as_str())
}

#[async_trait]
impl TokenVerifier for JwtVerifier {
    async fn verify(&self, token: &str, carrier: CarrierKind) -> Result<Identity, Rejection> {
        let claims = self.verified_claims(token).map_err(|error| match error {
            JwtError::Expired => Rejection::Expired,
            other => Rejection::Invalid(InvalidToken::Jwt(other)),
        })?;
        if let Some(store) = &self.revocations {
            let revoked = store
                .is_jwt_revoked(&claims.jti, session_of(&claims))
                .await
                .map_err(Rejection::Unavailable)?;
            if revoked {
                return Err(Rejection::Invalid(InvalidToken::Revoked));
            }
        }
        Ok(Identity { user_id: claims.user_id, carrier, credential: Credential::Jwt(claims) })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::carrier::Carrier;
    use crate::clock::{Clock, ManualClock};
    use crate::guard::Guard;
    use crate::store::MemoryTokenStore;
    use crate::token::jwt::{JwtKey, KeyRing};
    use crate::user::UserId;

    struct Fixture {
        clock: ManualClock,
        jwt: JwtService,
        store: Arc<MemoryTokenStore>,
        guard: Guard,
    }

    fn fixture() -> Fixture {
        let clock = ManualClock::at_unix(1_700_000_000);
        let ring = KeyRing::new("k1", JwtKey::hs256(&[42u8; 32]).expect("key")).expect("ring");
        let jwt = JwtService::new(ring, Arc::new(clock.clone())).with_audience("meldeschein");
        let store = Arc::new(MemoryTokenStore::with_clock(Arc::new(clock.clone())));
        let verifier = JwtVerifier::new(jwt.clone(), TokenType::Access).with_revocations(store.clone());
        let guard = Guard::new().with(Carrier::authorization("JWT", false), verifier);
        Fixture { clock, jwt, store, guard }
    }

    impl Fixture {
        fn token(&self, token_type: TokenType, session: &str) -> (String, Claims) {
            let claims = self
                .jwt
                .new_claims(UserId(9), token_type, Duration::from_secs(300))
                .expect("claims")
                .with_audience("meldeschein")
                .with_claim(SESSION_CLAIM, session);
            (self.jwt.sign(&claims).expect("signed"), claims)
        }

        async fn call(&self, token: &str) -> Result<Identity, Rejection> {
            let request = http::Request::get("/")
                .header("authorization", format!("JWT {token}"))
                .body(())
                .expect("valid");
            self.guard.authenticate(&request.into_parts().0).await
        }
    }

    #[tokio::test]
    async fn valid_access_token_authenticates() {
        let f = fixture();
        let (token, claims) = f.token(TokenType::Access, "s1");
        let identity = f.call(&token).await.expect("authenticated");
        assert_eq!(identity.user_id, UserId(9));
        assert_eq!(identity.audience(), Some("meldeschein"));
        assert_eq!(identity.credential, Credential::Jwt(Arc::new(claims)));
    }

    #[tokio::test]
    async fn expired_wrong_type_and_tampered_tokens_are_refused() {
        let f = fixture();
        let (refresh, _) = f.token(TokenType::Refresh, "s1");
        assert!(matches!(
            f.call(&refresh).await,
            Err(Rejection::Invalid(InvalidToken::Jwt(JwtError::WrongTokenType { .. })))
        ));
        let (token, _) = f.token(TokenType::Access, "s1");
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(matches!(f.call(&tampered).await, Err(Rejection::Invalid(InvalidToken::Jwt(_)))));
        f.clock.advance(Duration::from_secs(306));
        assert!(matches!(f.call(&token).await, Err(Rejection::Expired)));
    }

    #[tokio::test]
    async fn revoked_by_jti_or_session_is_refused_at_once() {
        let f = fixture();
        let (by_jti, claims) = f.token(TokenType::Access, "s1");
        let (by_session, _) = f.token(TokenType::Access, "s2");
        let (untouched, _) = f.token(TokenType::Access, "s3");
        f.store.revoke_jti(&claims.jti, f.clock.now() + Duration::from_secs(300)).await.expect("revoked");
        f.store.revoke_family("s2").await.expect("revoked");
        assert!(matches!(f.call(&by_jti).await, Err(Rejection::Invalid(InvalidToken::Revoked))));
        assert!(matches!(f.call(&by_session).await, Err(Rejection::Invalid(InvalidToken::Revoked))));
        f.call(&untouched).await.expect("other sessions are unaffected");
    }

    #[tokio::test]
    async fn cached_tokens_are_still_revoked_and_expire() {
        let f = fixture();
        let (token, claims) = f.token(TokenType::Access, "s1");
        f.call(&token).await.expect("first use verifies and caches");
        f.call(&token).await.expect("second use comes from the cache");
        f.store.revoke_family("s1").await.expect("revoked");
        assert!(matches!(f.call(&token).await, Err(Rejection::Invalid(InvalidToken::Revoked))));

        let (other, _) = f.token(TokenType::Access, "s2");
        f.call(&other).await.expect("cached");
        f.clock.advance(Duration::from_secs(306));
        assert!(matches!(f.call(&other).await, Err(Rejection::Expired)), "the cache re-checks the clock");
        let _ = claims;
    }

    #[tokio::test]
    async fn a_cached_token_is_not_accepted_as_another_type() {
        let f = fixture();
        let (token, _) = f.token(TokenType::Access, "s1");
        f.call(&token).await.expect("cached as an access token");
        let refresh_verifier = JwtVerifier::new(f.jwt.clone(), TokenType::Refresh);
        assert!(refresh_verifier.verify(&token, CarrierKind::Authorization).await.is_err());
    }
}
