use std::sync::Arc;

use async_trait::async_trait;

use super::{Guard, Identity, InvalidToken, Rejection, TokenVerifier};
use crate::carrier::{Carrier, CarrierKind};

/// Offers a token to several verifiers in order; the first that accepts it wins. When all
/// refuse, the most telling refusal is reported: a store outage over an expiry or revocation,
/// those over "unknown token".
///
/// What a carrier shared by several dialects is verified with (see [`Guard::merged`]): an
/// `Authorization: Bearer` token may be an AMCR opaque token or a miniSASS JWT.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use authmount::carrier::CarrierKind;
/// use authmount::guard::{AnyVerifier, OpaqueVerifier, TokenVerifier};
/// use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
/// use authmount::token::TokenHash;
/// use authmount::user::UserId;
///
/// let tokens = Arc::new(MemoryTokenStore::new());
/// let record = TokenRecord::new(TokenKind::Access, UserId(2), "b", SystemTime::now(), Duration::from_secs(60));
/// tokens.put(TokenHash::of("token-of-b"), record).await?;
/// let any = AnyVerifier::new(vec![
///     Arc::new(OpaqueVerifier::new(tokens.clone(), TokenKind::Access, "a")),
///     Arc::new(OpaqueVerifier::new(tokens, TokenKind::Access, "b")),
/// ]);
/// assert_eq!(any.verify("token-of-b", CarrierKind::Authorization).await.unwrap().user_id, UserId(2));
/// # Ok::<(), authmount::store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct AnyVerifier {
    verifiers: Vec<Arc<dyn TokenVerifier>>,
}

impl AnyVerifier {
    /// Tries `verifiers` in order.
    pub fn new(verifiers: Vec<Arc<dyn TokenVerifier>>) -> Self {
        Self { verifiers }
    }
}

impl std::fmt::Debug for AnyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnyVerifier").field("verifiers", &self.verifiers.len()).finish()
    }
}

/// How telling a refusal is: what the client should hear when every verifier refuses.
fn weight(rejection: &Rejection) -> u8 {
    match rejection {
        Rejection::Unavailable(_) => 3,
        Rejection::Expired | Rejection::Invalid(InvalidToken::Revoked | InvalidToken::InactiveUser) => 2,
        _ => 1,
    }
}

#[async_trait]
impl TokenVerifier for AnyVerifier {
    async fn verify(&self, token: &str, carrier: CarrierKind) -> Result<Identity, Rejection> {
        let mut refusal: Option<Rejection> = None;
        for verifier in &self.verifiers {
            match verifier.verify(token, carrier).await {
                Ok(identity) => return Ok(identity),
                Err(rejection) => {
                    if refusal.as_ref().is_none_or(|kept| weight(&rejection) > weight(kept)) {
                        refusal = Some(rejection);
                    }
                }
            }
        }
        Err(refusal.unwrap_or(Rejection::Invalid(InvalidToken::Unknown)))
    }
}

/// Two carriers read the same place of a request (the same `Authorization` scheme in any case,
/// the same header, query parameter or cookie, or one custom carrier).
fn same_place(a: &Carrier, b: &Carrier) -> bool {
    match (a, b) {
        (Carrier::Authorization { scheme: x, .. }, Carrier::Authorization { scheme: y, .. }) => {
            x.eq_ignore_ascii_case(y)
        }
        (Carrier::Header(x), Carrier::Header(y)) => x == y,
        (Carrier::Query(x), Carrier::Query(y)) | (Carrier::Cookie(x), Carrier::Cookie(y)) => x == y,
        (Carrier::Custom(x), Carrier::Custom(y)) => x == y,
        _ => false,
    }
}

impl Guard {
    /// A guard over `rules` in order, where rules whose carriers read the same place of a
    /// request (say `Authorization: Bearer` for an opaque token and for a JWT) become one
    /// carrier, at the place of the first, whose token each of their verifiers is offered in
    /// turn ([`AnyVerifier`]). A merged `Authorization` scheme is matched in any case if any of
    /// its rules allows that.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use authmount::carrier::Carrier;
    /// use authmount::guard::{Guard, OpaqueVerifier, TokenVerifier};
    /// use authmount::store::{MemoryTokenStore, TokenKind};
    ///
    /// let tokens = Arc::new(MemoryTokenStore::new());
    /// let verifier = |audience| -> Arc<dyn TokenVerifier> { Arc::new(OpaqueVerifier::new(tokens.clone(), TokenKind::Access, audience)) };
    /// let guard = Guard::merged([
    ///     (Carrier::bearer(), verifier("a")),
    ///     (Carrier::cookie("sid"), verifier("b")),
    ///     (Carrier::authorization("Bearer", true), verifier("c")),
    /// ]);
    /// assert_eq!(guard.carriers().collect::<Vec<_>>(), [&Carrier::bearer(), &Carrier::cookie("sid")]);
    /// ```
    pub fn merged(rules: impl IntoIterator<Item = (Carrier, Arc<dyn TokenVerifier>)>) -> Self {
        let mut places: Vec<(Carrier, Vec<Arc<dyn TokenVerifier>>)> = Vec::new();
        for (carrier, verifier) in rules {
            match places.iter_mut().find(|(known, _)| same_place(known, &carrier)) {
                Some((known, verifiers)) => {
                    if let (
                        Carrier::Authorization { case_sensitive: merged, .. },
                        Carrier::Authorization { case_sensitive, .. },
                    ) = (known, &carrier)
                    {
                        *merged &= *case_sensitive;
                    }
                    verifiers.push(verifier);
                }
                None => places.push((carrier, vec![verifier])),
            }
        }
        places.into_iter().fold(Guard::new(), |guard, (carrier, mut verifiers)| {
            let verifier = match verifiers.len() {
                1 => verifiers.remove(0),
                _ => Arc::new(AnyVerifier::new(verifiers)),
            };
            guard.with_shared(carrier, verifier)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_most_telling_refusal_is_reported() {
        struct Fixed(fn() -> Rejection);
        #[async_trait]
        impl TokenVerifier for Fixed {
            async fn verify(&self, _token: &str, _carrier: CarrierKind) -> Result<Identity, Rejection> {
                Err((self.0)())
            }
        }
        let any = AnyVerifier::new(vec![
            Arc::new(Fixed(|| Rejection::Invalid(InvalidToken::Unknown))),
            Arc::new(Fixed(|| Rejection::Expired)),
            Arc::new(Fixed(|| Rejection::Invalid(InvalidToken::WrongAudience))),
        ]);
        assert!(matches!(any.verify("t", CarrierKind::Authorization).await, Err(Rejection::Expired)));
        let none = AnyVerifier::new(Vec::new());
        assert!(matches!(
            none.verify("t", CarrierKind::Authorization).await,
            Err(Rejection::Invalid(InvalidToken::Unknown))
        ));
    }
}
