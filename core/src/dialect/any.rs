//! "Accept the tokens of these dialects on my routes": one [`Gate`] over several dialects'
//! carriers, for an app whose clients come from more than one of the documented systems.

use std::sync::Arc;

use http::HeaderValue;

use super::Dialect;
use super::drf::DrfRenderer;
use crate::api::{ErrorRenderer, Gate, UserCheck};
use crate::carrier::Carrier;
use crate::guard::Guard;
use crate::store::UserStore;

/// A gate that accepts the token of any of `dialects`, in any way that dialect carries it
/// (AMCR's and miniSASS's `Authorization: Bearer`, Meldeschein's `Authorization: JWT` and
/// `?jwt=` when enabled, Oz's `X-Forensic-Access-Token`, tDAR's cookie or query key...).
///
/// The carriers are tried in the order of `dialects`, each dialect's in its own order. Where
/// two dialects use the same carrier, it appears once and its token is offered to each
/// dialect's verifier in turn: the first that accepts it decides ([`Guard::merged`]). Each
/// token is still verified by its own dialect's rules (audience, revocation, sliding expiry), so
/// a token of one dialect presented as another's is refused.
///
/// The user is loaded and must be active ([`UserCheck::RequireActive`]). Refusals are
/// DRF-shaped `{"detail": ...}` 401s whose `WWW-Authenticate` names every `Authorization`
/// scheme (`Bearer realm="api", JWT realm="api"`). No cross-site check applies: use a dialect's
/// own gate (tDAR's) on routes that change state with its cookie.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use authmount::api::AuthState;
/// use authmount::dialect::{DialectContext, Dialects, Registration, amcr::Amcr, meldeschein::Meldeschein};
/// use authmount::mailer::OutboxMailer;
/// use authmount::services::Services;
/// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
///
/// let services = Services::in_memory()?;
/// let jwt = JwtService::new(KeyRing::new("demo", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
/// let context = DialectContext::new(services.clone(), jwt, Arc::new(OutboxMailer::new()));
/// let dialects = Dialects::build(&[Registration::of::<Amcr>(), Registration::of::<Meldeschein>()], &context)?;
/// let gate = dialects.any_gate(services.users.clone()); // AMCR's or Meldeschein's tokens
///
/// let anonymous = http::Request::get("/api/whoami").body(())?.into_parts().0;
/// let AuthState::Denied(denial) = gate.check(&anonymous).await else { panic!("no token") };
/// let response = denial.to_response();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="api", JWT realm="api""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn any_gate<'d>(dialects: impl IntoIterator<Item = &'d dyn Dialect>, users: Arc<dyn UserStore>) -> Gate {
    let guard = Guard::merged(dialects.into_iter().flat_map(|dialect| dialect.carriers()));
    let renderer = Arc::new(DrfRenderer::new(challenge(&guard)));
    Gate::new(guard, renderer as Arc<dyn ErrorRenderer>).with_user_check(UserCheck::RequireActive(users))
}

/// The `WWW-Authenticate` value naming every `Authorization` scheme of `guard`
/// (`Bearer realm="api", JWT realm="api"`).
fn challenge(guard: &Guard) -> HeaderValue {
    let schemes: Vec<String> = guard
        .carriers()
        .filter_map(|carrier| match carrier {
            Carrier::Authorization { scheme, .. } => Some(format!("{scheme} realm=\"api\"")),
            _ => None,
        })
        .collect();
    let value = if schemes.is_empty() { "Bearer realm=\"api\"".to_owned() } else { schemes.join(", ") };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"api\""))
}

#[cfg(test)]
mod tests;
