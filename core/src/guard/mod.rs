//! The guard: authenticates a request from the token its carriers find.
//!
//! A [`Guard`] holds an ordered list of carriers, each paired with the [`TokenVerifier`] that
//! checks what it carries. It tries them in order: a carrier that finds nothing passes to the
//! next; the first token found decides. The answer is an [`Identity`] or a [`Rejection`] that
//! tells "no credentials" from "invalid credentials", so each dialect can shape its own 401.

mod any_verifier;
mod identity;
mod jwt_verifier;
mod opaque_verifier;
mod rejection;
mod verified_tokens;
mod verifier;

pub use any_verifier::AnyVerifier;
pub use identity::{Credential, Identity};
pub use jwt_verifier::{JwtVerifier, SESSION_CLAIM, session_of};
pub use opaque_verifier::OpaqueVerifier;
pub use rejection::{InvalidToken, Rejection};
pub use verifier::TokenVerifier;

use std::sync::Arc;

use http::request::Parts;

use crate::carrier::{Carrier, Found};

/// Authenticates requests: the configured carriers, in order, each with its verifier.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use authmount::carrier::Carrier;
/// use authmount::guard::{Guard, OpaqueVerifier, Rejection};
/// use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
/// use authmount::token::TokenHash;
/// use authmount::user::UserId;
///
/// let tokens = Arc::new(MemoryTokenStore::new());
/// let record = TokenRecord::new(TokenKind::Access, UserId(7), "amcr", SystemTime::now(), Duration::from_secs(60));
/// tokens.put(TokenHash::of("s3cret-token"), record).await?;
/// let guard = Guard::new().with(Carrier::bearer(), OpaqueVerifier::new(tokens, TokenKind::Access, "amcr"));
///
/// let request = http::Request::get("/").header("authorization", "Bearer s3cret-token").body(()).unwrap();
/// let identity = guard.authenticate(&request.into_parts().0).await.expect("authenticated");
/// assert_eq!(identity.user_id, UserId(7));
///
/// let anonymous = http::Request::get("/").body(()).unwrap();
/// assert!(matches!(guard.authenticate(&anonymous.into_parts().0).await, Err(Rejection::NotProvided)));
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct Guard {
    rules: Vec<(Carrier, Arc<dyn TokenVerifier>)>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.rules.iter().map(|(carrier, _)| carrier.to_string())).finish()
    }
}

impl Guard {
    /// A guard with no carriers (it rejects every request as [`Rejection::NotProvided`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a carrier, tried after those added before, with the verifier for its tokens.
    pub fn with(mut self, carrier: Carrier, verifier: impl TokenVerifier) -> Self {
        self.rules.push((carrier, Arc::new(verifier)));
        self
    }

    /// Adds a carrier with a verifier that is shared with other carriers or guards.
    pub fn with_shared(mut self, carrier: Carrier, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.rules.push((carrier, verifier));
        self
    }

    /// The carriers, in the order they are tried.
    pub fn carriers(&self) -> impl Iterator<Item = &Carrier> {
        self.rules.iter().map(|(carrier, _)| carrier)
    }

    /// The carriers with their verifiers, in the order they are tried: what an app needs to
    /// build a guard of its own over several dialects' tokens (say, one route that accepts any
    /// dialect's token).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use authmount::carrier::Carrier;
    /// use authmount::guard::{Guard, OpaqueVerifier};
    /// use authmount::store::{MemoryTokenStore, TokenKind};
    ///
    /// let verifier = OpaqueVerifier::new(Arc::new(MemoryTokenStore::new()), TokenKind::Access, "amcr");
    /// let guard = Guard::new().with(Carrier::bearer(), verifier);
    /// let copy = guard.rules().iter().fold(Guard::new(), |g, (c, v)| g.with_shared(c.clone(), v.clone()));
    /// assert!(copy.carriers().eq(guard.carriers()));
    /// ```
    pub fn rules(&self) -> &[(Carrier, Arc<dyn TokenVerifier>)] {
        &self.rules
    }

    /// Authenticates a request from its head.
    pub async fn authenticate(&self, parts: &Parts) -> Result<Identity, Rejection> {
        for (carrier, verifier) in &self.rules {
            match carrier.find(parts) {
                Found::Absent => continue,
                Found::Malformed(why) => return Err(Rejection::Malformed(why)),
                Found::Token(token) => return verifier.verify(&token, carrier.kind()).await,
            }
        }
        Err(Rejection::NotProvided)
    }
}
