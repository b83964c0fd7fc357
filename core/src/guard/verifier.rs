use async_trait::async_trait;

use super::{Identity, Rejection};
use crate::carrier::CarrierKind;

/// Checks one kind of token and says whose it is.
///
/// Implemented by [`OpaqueVerifier`](super::OpaqueVerifier) (tokens in a
/// [`TokenStore`](crate::store::TokenStore)) and the JWT verifier; apps can add their own, e.g.
/// for API keys.
#[async_trait]
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token`, which arrived in a carrier of kind `carrier`.
    async fn verify(&self, token: &str, carrier: CarrierKind) -> Result<Identity, Rejection>;
}
