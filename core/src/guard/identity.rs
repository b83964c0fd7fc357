use std::sync::Arc;

use crate::carrier::CarrierKind;
use crate::store::TokenRecord;
use crate::token::TokenHash;
use crate::token::jwt::Claims;
use crate::user::UserId;

/// Who a request is from, as established by the [`Guard`](super::Guard).
///
/// Adapters put it into the request's extensions; extractors hand it to handlers.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The authenticated user.
    pub user_id: UserId,
    /// Where the token was found (cookie-borne credentials need cross-site checks).
    pub carrier: CarrierKind,
    /// The verified credential.
    pub credential: Credential,
}

/// The verified credential behind an [`Identity`].
#[derive(Debug, Clone, PartialEq)]
// One `Credential` lives per request, inside the `Arc<Authenticated>` the gate hands on: boxing
// the opaque record to shrink the enum would add an allocation to every opaque-token request.
#[allow(clippy::large_enum_variant)]
pub enum Credential {
    /// An opaque token found in the token store.
    Opaque {
        /// The token's hash, the key of its record (to revoke it at logout).
        hash: TokenHash,
        /// The stored record, after any sliding-expiry touch.
        record: TokenRecord,
    },
    /// A verified JWT and its claims (shared with the verifier's cache).
    Jwt(Arc<Claims>),
}

impl Identity {
    /// Which API issued the credential.
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # use authmount::{carrier::CarrierKind, guard::{Credential, Identity}, store::{TokenKind, TokenRecord}, token::TokenHash, user::UserId};
    /// let record = TokenRecord::new(TokenKind::Access, UserId(1), "amcr", SystemTime::now(), Duration::from_secs(1));
    /// let identity = Identity {
    ///     user_id: UserId(1),
    ///     carrier: CarrierKind::Authorization,
    ///     credential: Credential::Opaque { hash: TokenHash::of("t"), record },
    /// };
    /// assert_eq!(identity.audience(), Some("amcr"));
    /// ```
    pub fn audience(&self) -> Option<&str> {
        match &self.credential {
            Credential::Opaque { record, .. } => Some(&record.audience),
            Credential::Jwt(claims) => claims.audience.as_deref(),
        }
    }
}
