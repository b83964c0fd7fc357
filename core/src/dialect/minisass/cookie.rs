//! The cookie session beside the JWTs: Django's `sessionid`, which the original's `login/`
//! opens and its `check-auth-status/` falls back to.
//!
//! The cookie holds an opaque token (256 random bits); only its hash is stored, as a
//! [`TokenKind::Session`] record of audience [`AUDIENCE`] in the same family (`sid`) as the
//! login's refresh token. So everything that ends the family ends the cookie too: logout,
//! refresh-token reuse detection, a password change or reset, an admin's revoke.

use std::sync::Arc;

use cookie::Cookie;
use http::HeaderValue;
use http::request::Parts;

use super::{AUDIENCE, Inner, MinisassConfig, MinisassRenderer, SESSION_COOKIE};
use crate::api::{ApiError, ErrorRenderer, Gate, UserCheck};
use crate::carrier::{Carrier, Found};
use crate::dialect::{kit, store_error};
use crate::guard::{Credential, Guard, InvalidToken, OpaqueVerifier, Rejection};
use crate::services::Services;
use crate::store::{TokenKind, TokenRecord};
use crate::token::TokenHash;
use crate::user::{User, UserId};

/// The gate of the cookie session: the `sessionid` cookie, a live miniSASS session record, an
/// active user, and the cross-site check of cookie-borne requests (the configured trusted
/// origins; `http://<Host>` too with [`MinisassConfig::insecure_cookies`]).
pub(super) fn gate(services: &Services, config: &MinisassConfig, renderer: Arc<MinisassRenderer>) -> Gate {
    let verifier = OpaqueVerifier::new(services.tokens.clone(), TokenKind::Session, AUDIENCE);
    let guard = Guard::new().with(Carrier::cookie(SESSION_COOKIE), verifier);
    let gate = Gate::new(guard, renderer as Arc<dyn ErrorRenderer>)
        .with_user_check(UserCheck::RequireActive(services.users.clone()))
        .with_cross_site_protection(config.trusted_origins.iter().cloned());
    if config.insecure_cookies { gate.with_plain_http_origin() } else { gate }
}

/// The `Set-Cookie` value of the session cookie holding `value`:
/// `sessionid=<value>; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=<refresh lifetime>`
/// (`Secure` unless [`MinisassConfig::insecure_cookies`]; kept across browser restarts, as
/// Django's session cookie); `clear` gives the same cookie, empty, with `Max-Age=0`.
fn set_cookie(config: &MinisassConfig, value: &str, clear: bool) -> Result<HeaderValue, ApiError> {
    let mut cookie = Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(!config.insecure_cookies)
        .path("/")
        .build();
    let seconds =
        if clear { 0 } else { i64::try_from(config.refresh_lifetime.as_secs()).unwrap_or(i64::MAX) };
    cookie.set_max_age(cookie::time::Duration::seconds(seconds));
    // The name is a constant and the value base64url: not reached.
    HeaderValue::from_str(&cookie.to_string()).map_err(|_| ApiError::Internal)
}

/// A cookie session, found and checked.
pub(super) struct CookieSession {
    /// Its user (active).
    pub(super) user: Arc<User>,
    /// Its family: the `sid` of the login that opened it.
    pub(super) family: String,
}

impl Inner {
    /// Opens the cookie session of a login in `family` (stored by hash, kept as long as the
    /// login's refresh token) and gives its `Set-Cookie` value.
    pub(super) async fn open_cookie_session(
        &self,
        user_id: UserId,
        family: &str,
    ) -> Result<HeaderValue, ApiError> {
        let lifetime = self.config.refresh_lifetime + self.jwt.leeway();
        let record =
            TokenRecord::new(TokenKind::Session, user_id, AUDIENCE, self.services.clock.now(), lifetime)
                .in_family(family);
        let token = kit::issue_opaque(&*self.services.tokens, record).await?;
        set_cookie(&self.config, token.as_str(), false)
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub(super) fn cleared_cookie(&self) -> Result<HeaderValue, ApiError> {
        set_cookie(&self.config, "", true)
    }

    /// Revokes the cookie session a login request carried (session fixation: a cookie planted
    /// before the login is worthless after it). Best effort: the browser replaces the cookie
    /// anyway, so a store failure is logged, not answered.
    pub(super) async fn end_previous_cookie(&self, head: &Parts) {
        let Found::Token(previous) = Carrier::cookie(SESSION_COOKIE).find(head) else {
            return;
        };
        let hash = TokenHash::of(&previous);
        let outcome = match self.services.tokens.get(&hash).await {
            Ok(Some(record)) if super::is_ours(&record, TokenKind::Session) => {
                self.services.tokens.revoke(&hash).await.map(drop)
            }
            Ok(_) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, "minisass: could not revoke the cookie session a login replaced");
        }
    }

    /// The request's cookie session: `Ok(None)` without a usable one (no cookie, unknown,
    /// expired or ended); an error when the store is down, the account is inactive, or the
    /// request comes from another site (403, whatever its method: the caller hands out
    /// credentials on the cookie's strength).
    pub(super) async fn cookie_session(&self, head: &Parts) -> Result<Option<CookieSession>, ApiError> {
        let authenticated = match self.cookie_gate.authenticate(head).await {
            Ok(authenticated) => authenticated,
            Err(ApiError::Rejected(Rejection::Invalid(InvalidToken::InactiveUser))) => {
                return Err(ApiError::Rejected(Rejection::Invalid(InvalidToken::InactiveUser)));
            }
            Err(ApiError::Rejected(Rejection::Unavailable(error))) => return Err(store_error(error)),
            Err(ApiError::Rejected(_)) => return Ok(None),
            Err(error) => return Err(error),
        };
        self.cookie_gate.check_cross_site_any_method(head, &authenticated.identity)?;
        let Credential::Opaque { record, .. } = &authenticated.identity.credential else {
            return Ok(None);
        };
        let (Some(family), Some(user)) = (record.family.clone(), authenticated.user.clone()) else {
            return Ok(None);
        };
        Ok(Some(CookieSession { user, family }))
    }

    /// The family of the request's cookie session for a logout, without loading the user (a
    /// deactivated account can still end its session): `Ok(None)` without a live one; 403 for
    /// a cross-site request when `cookie_only` (no bearer token vouches for it).
    pub(super) async fn cookie_family(
        &self,
        head: &Parts,
        cookie_only: bool,
    ) -> Result<Option<(UserId, String)>, ApiError> {
        let identity = match self.cookie_gate.guard().authenticate(head).await {
            Ok(identity) => identity,
            Err(Rejection::Unavailable(error)) => return Err(store_error(error)),
            Err(_) => return Ok(None),
        };
        if cookie_only {
            self.cookie_gate.check_cross_site(head, &identity)?;
        }
        let Credential::Opaque { record, .. } = identity.credential else {
            return Ok(None);
        };
        Ok(record.family.map(|family| (record.user_id, family)))
    }
}
