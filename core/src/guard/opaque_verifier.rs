use std::sync::Arc;

use async_trait::async_trait;

use super::{Credential, Identity, InvalidToken, Rejection, TokenVerifier};
use crate::carrier::CarrierKind;
use crate::store::{TokenKind, TokenStore};
use crate::token::TokenHash;

/// Verifies opaque tokens against a [`TokenStore`]: the token's hash must name a live record of
/// the expected kind and audience. Sliding records (those with an idle timeout) are touched, so
/// each use extends them.
///
/// ```
/// use std::sync::Arc;
/// use authmount::guard::OpaqueVerifier;
/// use authmount::store::{MemoryTokenStore, TokenKind};
/// let verifier = OpaqueVerifier::new(Arc::new(MemoryTokenStore::new()), TokenKind::Session, "tdar");
/// # let _ = verifier;
/// ```
#[derive(Clone)]
pub struct OpaqueVerifier {
    tokens: Arc<dyn TokenStore>,
    kind: TokenKind,
    audience: Arc<str>,
}

impl std::fmt::Debug for OpaqueVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaqueVerifier")
            .field("kind", &self.kind)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl OpaqueVerifier {
    /// Accepts live tokens of `kind` issued for `audience`.
    pub fn new(tokens: Arc<dyn TokenStore>, kind: TokenKind, audience: impl Into<Arc<str>>) -> Self {
        Self { tokens, kind, audience: audience.into() }
    }
}

#[async_trait]
impl TokenVerifier for OpaqueVerifier {
    async fn verify(&self, token: &str, carrier: CarrierKind) -> Result<Identity, Rejection> {
        let hash = TokenHash::of(token);
        let record = self
            .tokens
            .touch(&hash)
            .await
            .map_err(Rejection::Unavailable)?
            .ok_or(Rejection::Invalid(InvalidToken::Unknown))?;
        if record.kind != self.kind {
            return Err(Rejection::Invalid(InvalidToken::WrongKind));
        }
        if *record.audience != *self.audience {
            return Err(Rejection::Invalid(InvalidToken::WrongAudience));
        }
        Ok(Identity { user_id: record.user_id, carrier, credential: Credential::Opaque { hash, record } })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::carrier::Carrier;
    use crate::clock::{Clock, ManualClock};
    use crate::guard::Guard;
    use crate::store::{MemoryTokenStore, TokenRecord};
    use crate::user::UserId;

    const MINUTE: Duration = Duration::from_secs(60);

    struct Fixture {
        clock: ManualClock,
        tokens: Arc<MemoryTokenStore>,
        guard: Guard,
    }

    fn fixture() -> Fixture {
        let clock = ManualClock::at_unix(1_700_000_000);
        let tokens = Arc::new(MemoryTokenStore::with_clock(Arc::new(clock.clone())));
        let guard = Guard::new()
            .with(Carrier::bearer(), OpaqueVerifier::new(tokens.clone(), TokenKind::Access, "amcr"))
            .with(Carrier::cookie("sid"), OpaqueVerifier::new(tokens.clone(), TokenKind::Session, "tdar"));
        Fixture { clock, tokens, guard }
    }

    impl Fixture {
        async fn issue(&self, token: &str, record: TokenRecord) {
            self.tokens.put(TokenHash::of(token), record).await.expect("stored");
        }

        fn record(&self, kind: TokenKind, audience: &str) -> TokenRecord {
            TokenRecord::new(kind, UserId(5), audience, self.clock.now(), MINUTE)
        }

        async fn bearer(&self, token: &str) -> Result<Identity, Rejection> {
            let request = http::Request::get("/")
                .header("authorization", format!("Bearer {token}"))
                .body(())
                .expect("valid request");
            self.guard.authenticate(&request.into_parts().0).await
        }
    }

    #[tokio::test]
    async fn live_token_authenticates() {
        let f = fixture();
        f.issue("good", f.record(TokenKind::Access, "amcr")).await;
        let identity = f.bearer("good").await.expect("authenticated");
        assert_eq!(identity.user_id, UserId(5));
        assert_eq!(identity.carrier, CarrierKind::Authorization);
        assert_eq!(identity.audience(), Some("amcr"));
    }

    #[tokio::test]
    async fn unknown_expired_and_revoked_tokens_are_invalid() {
        let f = fixture();
        assert!(matches!(f.bearer("never-issued").await, Err(Rejection::Invalid(InvalidToken::Unknown))));
        f.issue("short", f.record(TokenKind::Access, "amcr")).await;
        f.clock.advance(MINUTE);
        assert!(matches!(f.bearer("short").await, Err(Rejection::Invalid(InvalidToken::Unknown))));
        f.issue("revoked", f.record(TokenKind::Access, "amcr")).await;
        f.tokens.revoke(&TokenHash::of("revoked")).await.expect("revoked");
        assert!(matches!(f.bearer("revoked").await, Err(Rejection::Invalid(InvalidToken::Unknown))));
    }

    #[tokio::test]
    async fn other_kinds_and_audiences_are_refused() {
        let f = fixture();
        f.issue("reset", f.record(TokenKind::PasswordReset, "amcr")).await;
        assert!(matches!(f.bearer("reset").await, Err(Rejection::Invalid(InvalidToken::WrongKind))));
        f.issue("oz", f.record(TokenKind::Access, "oz")).await;
        assert!(matches!(f.bearer("oz").await, Err(Rejection::Invalid(InvalidToken::WrongAudience))));
    }

    #[tokio::test]
    async fn carriers_are_tried_in_order_and_malformed_headers_refused() {
        let f = fixture();
        f.issue("session", f.record(TokenKind::Session, "tdar").sliding(MINUTE)).await;
        let by_cookie = http::Request::get("/").header("cookie", "sid=session").body(()).expect("valid");
        let identity = f.guard.authenticate(&by_cookie.into_parts().0).await.expect("authenticated");
        assert_eq!(identity.carrier, CarrierKind::Cookie);

        let broken = http::Request::get("/")
            .header("authorization", "Bearer")
            .header("cookie", "sid=session")
            .body(())
            .expect("valid");
        assert!(matches!(f.guard.authenticate(&broken.into_parts().0).await, Err(Rejection::Malformed(_))));

        let other_scheme =
            http::Request::get("/").header("authorization", "Basic YTpi").body(()).expect("valid");
        assert!(matches!(
            f.guard.authenticate(&other_scheme.into_parts().0).await,
            Err(Rejection::NotProvided)
        ));
    }

    #[tokio::test]
    async fn sliding_sessions_are_extended_by_use() {
        let f = fixture();
        f.issue("session", f.record(TokenKind::Session, "tdar").sliding(MINUTE)).await;
        for _ in 0..5 {
            f.clock.advance(Duration::from_secs(50));
            let request = http::Request::get("/").header("cookie", "sid=session").body(()).expect("valid");
            f.guard.authenticate(&request.into_parts().0).await.expect("still live");
        }
        f.clock.advance(MINUTE);
        let request = http::Request::get("/").header("cookie", "sid=session").body(()).expect("valid");
        assert!(f.guard.authenticate(&request.into_parts().0).await.is_err(), "idle session expired");
    }
}
