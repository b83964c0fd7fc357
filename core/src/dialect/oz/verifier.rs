//! The access-token verifier with its expiry markers: "expired" (code 8) told from "invalid"
//! (code 7), and the retirement of the tokens a refreshed access token replaces.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{MARKER_AUDIENCE, PREDECESSORS};
use crate::carrier::CarrierKind;
use crate::guard::{Credential, Identity, InvalidToken, OpaqueVerifier, Rejection, TokenVerifier};
use crate::store::{StoreError, TokenKind, TokenRecord, TokenStore};
use crate::token::TokenHash;

/// The key of the marker telling "expired" from "unknown" for the token stored under `hash`.
pub(super) fn marker_key(hash: &TokenHash) -> TokenHash {
    TokenHash::of(&format!("oz-expiry-marker:{}", hash.to_hex()))
}

/// The access-token verifier: [`OpaqueVerifier`] plus the expiry markers and the retirement of
/// the tokens a refreshed access token replaces.
pub(super) struct OzVerifier {
    pub(super) inner: OpaqueVerifier,
    pub(super) tokens: Arc<dyn TokenStore>,
}

impl OzVerifier {
    /// After a successful use: keeps the marker ahead of the token, and revokes the access
    /// tokens this one replaced (with their markers).
    async fn after_use(&self, hash: &TokenHash, record: &TokenRecord) -> Result<(), StoreError> {
        self.tokens.touch(&marker_key(hash)).await?;
        for predecessor in hashes(record.data.get(PREDECESSORS)) {
            if self.tokens.revoke(&predecessor).await? {
                self.tokens.revoke(&marker_key(&predecessor)).await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl TokenVerifier for OzVerifier {
    async fn verify(&self, token: &str, carrier: CarrierKind) -> Result<Identity, Rejection> {
        match self.inner.verify(token, carrier).await {
            Ok(identity) => {
                if let Credential::Opaque { hash, record } = &identity.credential {
                    self.after_use(hash, record).await.map_err(Rejection::Unavailable)?;
                }
                Ok(identity)
            }
            Err(Rejection::Invalid(InvalidToken::Unknown)) => {
                let marker = self
                    .tokens
                    .get(&marker_key(&TokenHash::of(token)))
                    .await
                    .map_err(Rejection::Unavailable)?;
                if marker.is_some_and(|m| m.audience == MARKER_AUDIENCE && m.kind == TokenKind::Access) {
                    Err(Rejection::Expired)
                } else {
                    Err(Rejection::Invalid(InvalidToken::Unknown))
                }
            }
            Err(other) => Err(other),
        }
    }
}

/// The token hashes listed (as hex) in a record's data value.
pub(super) fn hashes(value: Option<&Value>) -> Vec<TokenHash> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items.iter().filter_map(Value::as_str).filter_map(|h| TokenHash::from_hex(h).ok()).collect()
        })
        .unwrap_or_default()
}
