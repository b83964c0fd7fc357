//! Login, token, refresh, check-auth-status and logout.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use http::header::SET_COOKIE;
use serde_json::{Map, Value, json};

use super::{
    AUDIENCE, BODY_FORMATS, Inner, TOKEN_BLACKLISTED, TOKEN_NOT_VALID, TOKEN_WRONG_TYPE, field_errors,
    is_ours, ordered, reply, user_fields,
};
use crate::api::{ApiError, ApiRequest, ApiResponse, HandlerResult, Refusal};
use crate::audit::AuthEvent;
use crate::clock::from_unix_seconds;
use crate::dialect::drf::{self, CharRules, Fields};
use crate::dialect::kit;
use crate::dialect::store_error;
use crate::guard::{Credential, InvalidToken, Rejection, SESSION_CLAIM, session_of};
use crate::store::{Rotation, TokenKind, TokenRecord};
use crate::token::jwt::{Claims, JwtError, TokenType};
use crate::token::{TokenHash, random_id};
use crate::user::UserId;

/// SimpleJWT's detail for bad credentials at `token/`.
pub(super) const NO_ACTIVE_ACCOUNT: &str = "No active account found with the given credentials";
/// SimpleJWT's detail for a refresh token whose user is gone or deactivated.
pub(super) const NO_ACTIVE_ACCOUNT_FOR_TOKEN: &str = "No active account found for the given token.";
/// Trimmed, but blank allowed (the caller decides what blank means).
const OPTIONAL_TEXT: CharRules = CharRules { trim: true, allow_blank: true };

/// The login answer's keys, in the original's order.
const LOGIN_ANSWER: [&str; 10] = [
    "username",
    "email",
    "access_token",
    "refresh_token",
    "is_authenticated",
    "user_id",
    "is_admin",
    "is_profile_updated",
    "is_agreed_to_privacy_policy",
    "accepted_privacy_policy_version",
];

/// The check-auth-status answer's keys, in the original's order (its own fields, then
/// `generate_user_response`'s).
const STATUS_ANSWER: [&str; 10] = [
    "is_authenticated",
    "username",
    "email",
    "is_admin",
    "is_agreed_to_privacy_policy",
    "access_token",
    "refresh_token",
    "user_id",
    "is_profile_updated",
    "accepted_privacy_policy_version",
];

/// Whether check-auth-status tries the cookie after this refusal of the bearer token: it was
/// missing or unusable (the web app sends `Bearer dummy-token` when it has none), not a store
/// failure or a deactivated account.
fn falls_back_to_cookie(rejection: &Rejection) -> bool {
    match rejection {
        Rejection::NotProvided | Rejection::Malformed(_) | Rejection::Expired => true,
        Rejection::Invalid(why) => *why != InvalidToken::InactiveUser,
        Rejection::Unavailable(_) => false,
    }
}

/// A fresh session (refresh family) id.
fn new_session_id() -> Result<String, ApiError> {
    random_id().map_err(|e| Inner::internal("could not draw a session id", &e))
}

/// A signed token and its claims.
struct Signed {
    token: String,
    claims: Claims,
}

impl Inner {
    /// `POST login/`.
    pub(super) async fn login(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let data = self.decode(&request).await?;
        let mut fields = Fields::new(&data);
        let email = fields.optional_char("email", OPTIONAL_TEXT).filter(|e| !e.is_empty());
        let username =
            fields.optional_char("usernameForEmailRetrieval", OPTIONAL_TEXT).filter(|u| !u.is_empty());
        let login = email.or(username);
        let email_is_mistyped = data.get("email").is_some_and(|v| !(v.is_string() || v.is_number()));
        if login.is_none() && !email_is_mistyped {
            fields.add_error("email", json!([drf::REQUIRED]));
        }
        let password = fields.char("password", CharRules::PASSWORD);
        fields.finish().map_err(field_errors)?;
        let (Some(login), Some(password)) = (login, password) else {
            return Err(ApiError::Internal.into());
        };
        let invalid = |_| self.unauthorized(&json!({"error": "Invalid credentials"}), head).into();
        let user = kit::log_in(&self.services, head, &login, &password, invalid).await?;
        // The original's `get_is_user_password_enforced`: does the password just used pass
        // today's policy? Accounts with a weak (e.g. imported) password are asked to change it.
        let is_profile_updated = self.services.passwords.policy().check_new(&password).is_ok();
        let session = new_session_id()?;
        let (access, refresh) = self.open_session(user.id, &session).await?;
        let cookie = match self.open_cookie_session(user.id, &session).await {
            Ok(cookie) => cookie,
            Err(error) => {
                // Nothing half-open: the tokens just issued stop working.
                if let Err(revoke) = self.services.tokens.revoke_family(&session).await {
                    tracing::warn!(error = %revoke, "minisass: could not revoke a half-opened session");
                }
                return Err(error.into());
            }
        };
        self.end_previous_cookie(head).await;
        let mut body = user_fields(&user, &self.config, is_profile_updated);
        body.insert("access_token".into(), json!(access));
        body.insert("refresh_token".into(), json!(refresh));
        body.insert("is_authenticated".into(), json!(true));
        let body = ordered(body, &LOGIN_ANSWER);
        Ok(reply(StatusCode::OK, &body).no_store().header(SET_COOKIE, cookie).into_response())
    }

    /// `POST token/`.
    pub(super) async fn token(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let bad_credentials = || self.unauthorized(&drf::detail(NO_ACTIVE_ACCOUNT), head).into();
        let user =
            drf::log_in(&self.services, &request, &BODY_FORMATS, &self.renderer.drf, bad_credentials).await?;
        let (access, refresh) = self.open_session(user.id, &new_session_id()?).await?;
        Ok(reply(StatusCode::OK, &json!({"refresh": refresh, "access": access})).no_store().into_response())
    }

    /// `POST refresh/` and `POST token/refresh/`.
    pub(super) async fn refresh(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let presented = self.decode_char(&request, "refresh", CharRules::TRIMMED).await?;
        let refused = |detail: &str| -> Refusal {
            self.unauthorized(&json!({"detail": detail, "code": "token_not_valid"}), head).into()
        };
        let not_valid = || refused(TOKEN_NOT_VALID);
        let claims = match self.jwt.verify(&presented, TokenType::Refresh) {
            Ok(claims) => claims,
            Err(JwtError::WrongTokenType { .. }) => return Err(refused(TOKEN_WRONG_TYPE)),
            Err(_) => return Err(not_valid()),
        };
        let Some(session) = session_of(&claims).map(str::to_owned) else {
            return Err(not_valid());
        };
        match self.services.users.get(claims.user_id).await.map_err(store_error)? {
            Some(user) if user.is_active => {}
            _ => {
                let body = json!({"detail": NO_ACTIVE_ACCOUNT_FOR_TOKEN, "code": "no_active_account"});
                return Err(self.unauthorized(&body, head).into());
            }
        }
        let old = TokenHash::of(&claims.jti);
        if !self.config.rotate_refresh_tokens {
            let record = match self.services.tokens.get(&old).await.map_err(store_error)? {
                Some(record) if is_ours(&record, TokenKind::Refresh) && record.user_id == claims.user_id => {
                    record
                }
                _ => return Err(not_valid()),
            };
            // An access token never outlives the session record that can revoke it.
            let left = record.expires_at.duration_since(self.services.clock.now()).unwrap_or(Duration::ZERO);
            let lifetime = left.min(self.config.access_lifetime);
            let access = self.sign(claims.user_id, TokenType::Access, &session, lifetime)?;
            return Ok(reply(StatusCode::OK, &json!({"access": access.token})).no_store().into_response());
        }
        let refresh =
            self.sign(claims.user_id, TokenType::Refresh, &session, self.config.refresh_lifetime)?;
        let access = self.sign(claims.user_id, TokenType::Access, &session, self.config.access_lifetime)?;
        let record = self.refresh_record(claims.user_id, &refresh, &session);
        let new = TokenHash::of(&refresh.claims.jti);
        let tokens = &self.services.tokens;
        let grace = self.config.refresh_reuse_grace;
        match tokens.rotate(&old, new, record, grace).await.map_err(store_error)? {
            Rotation::Rotated => {}
            Rotation::WithinGrace { previous } => {
                // A twin of the refresh that just rotated this token (another tab, a retry): a
                // new pair in the same session, beside the winner's, and nothing revoked.
                let same_session = is_ours(&previous, TokenKind::Refresh)
                    && previous.user_id == claims.user_id
                    && previous.family.as_deref() == Some(session.as_str());
                if !same_session {
                    return Err(not_valid());
                }
                let Some((access, refresh)) = self.add_pair_to(claims.user_id, &session).await? else {
                    return Err(refused(TOKEN_BLACKLISTED));
                };
                let body = json!({"access": access, "refresh": refresh});
                return Ok(reply(StatusCode::OK, &body).no_store().into_response());
            }
            Rotation::Reused { user_id, family } => {
                tracing::warn!(
                    %user_id,
                    session = family.as_deref().unwrap_or_default(),
                    "minisass: a rotated refresh token was presented again; the session is revoked"
                );
                self.services
                    .audit(AuthEvent::RefreshReused { user_id, client: self.services.client_ip(head) });
                return Err(refused(TOKEN_BLACKLISTED));
            }
            Rotation::NotFound => {
                // Spent and its session ended (logout, a replay, a password change): SimpleJWT's
                // blacklist answer; otherwise unknown or expired.
                let ended = tokens.is_jwt_revoked(&claims.jti, Some(&session)).await.map_err(store_error)?;
                return Err(if ended { refused(TOKEN_BLACKLISTED) } else { not_valid() });
            }
        }
        let body = json!({"access": access.token, "refresh": refresh.token});
        Ok(reply(StatusCode::OK, &body).no_store().into_response())
    }

    /// `GET check-auth-status/`: the access token, else (none, `dummy-token`, invalid or
    /// expired) the cookie session; answers the login's fields with a fresh token pair in the
    /// session's family.
    pub(super) async fn check_auth_status(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let (user, session) = match self.gate.authenticate(head).await {
            Ok(authenticated) => {
                let session = match &authenticated.identity.credential {
                    Credential::Jwt(claims) => session_of(claims).map(str::to_owned),
                    Credential::Opaque { .. } => None,
                };
                let (Some(user), Some(session)) = (authenticated.user, session) else {
                    return Err(ApiError::Internal.into());
                };
                (user, session)
            }
            Err(ApiError::Rejected(rejection)) if falls_back_to_cookie(&rejection) => {
                match self.cookie_session(head).await? {
                    Some(found) => (found.user, found.family),
                    None => return Err(ApiError::Rejected(rejection).into()),
                }
            }
            Err(error) => return Err(error.into()),
        };
        let Some((access, refresh)) = self.add_pair_to(user.id, &session).await? else {
            return Err(ApiError::Rejected(Rejection::Invalid(InvalidToken::Revoked)).into());
        };
        // The original's `generate_user_response` says `is_profile_updated: true` here: only
        // a login, which sees the password, can tell.
        let mut body = user_fields(&user, &self.config, true);
        body.insert("access_token".into(), json!(access));
        body.insert("refresh_token".into(), json!(refresh));
        body.insert("is_authenticated".into(), json!(true));
        let body = ordered(body, &STATUS_ANSWER);
        Ok(reply(StatusCode::OK, &body).no_store().into_response())
    }

    /// `POST logout/`: revokes the session of the access token, of the refresh token in the
    /// body and of the `sessionid` cookie, whichever are valid, and clears the cookie. Always
    /// 200 once the body reads: logging out twice, or with expired tokens, is not an error. A
    /// cookie-only logout from another site is 403 (nothing ended).
    pub(super) async fn logout(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let data = if request.body.is_empty() { Map::new() } else { self.decode(&request).await? };
        let mut fields = Fields::new(&data);
        let refresh = fields.optional_char("refresh", OPTIONAL_TEXT).filter(|r| !r.is_empty());
        fields.finish().map_err(field_errors)?;
        let mut sessions: Vec<String> = Vec::new();
        let mut user_id = None;
        match self.gate.guard().authenticate(head).await {
            Ok(identity) => {
                user_id = Some(identity.user_id);
                if let Credential::Jwt(claims) = &identity.credential {
                    sessions.extend(session_of(claims).map(str::to_owned));
                }
            }
            Err(Rejection::Unavailable(error)) => return Err(store_error(error).into()),
            Err(_) => {}
        }
        if let Some(refresh) = refresh
            && let Ok(claims) = self.jwt.verify(&refresh, TokenType::Refresh)
        {
            user_id = user_id.or(Some(claims.user_id));
            sessions.extend(session_of(&claims).map(str::to_owned));
        }
        if let Some((owner, family)) = self.cookie_family(head, sessions.is_empty()).await? {
            user_id = user_id.or(Some(owner));
            sessions.push(family);
        }
        sessions.sort();
        sessions.dedup();
        for session in &sessions {
            self.services.tokens.revoke_family(session).await.map_err(store_error)?;
        }
        if let Some(user_id) = user_id {
            self.services.audit(AuthEvent::LoggedOut { user_id, client: self.services.client_ip(head) });
        }
        let body = json!({"message": "Logout successful"});
        Ok(reply(StatusCode::OK, &body).header(SET_COOKIE, self.cleared_cookie()?).into_response())
    }

    /// Opens the new session `session` for `user_id`: an access and a refresh token in it.
    async fn open_session(&self, user_id: UserId, session: &str) -> Result<(String, String), ApiError> {
        let (access, refresh) = self.store_pair(user_id, session).await?;
        Ok((access.token, refresh.token))
    }

    /// Adds a pair to the existing session `session` (a twin refresh, `check-auth-status/`).
    /// `None` when the session ended since the caller checked it (a logout or a replay in
    /// between): the record just stored is removed again, so no token outlives its session.
    async fn add_pair_to(
        &self,
        user_id: UserId,
        session: &str,
    ) -> Result<Option<(String, String)>, ApiError> {
        let (access, refresh) = self.store_pair(user_id, session).await?;
        let tokens = &self.services.tokens;
        if tokens.is_jwt_revoked(&refresh.claims.jti, Some(session)).await.map_err(store_error)? {
            tokens.revoke(&TokenHash::of(&refresh.claims.jti)).await.map_err(store_error)?;
            return Ok(None);
        }
        Ok(Some((access.token, refresh.token)))
    }

    /// Signs an access and a refresh token for `user_id` in `session`, then stores the refresh
    /// token's record (nothing is stored if signing fails).
    async fn store_pair(&self, user_id: UserId, session: &str) -> Result<(Signed, Signed), ApiError> {
        let refresh = self.sign(user_id, TokenType::Refresh, session, self.config.refresh_lifetime)?;
        let access = self.sign(user_id, TokenType::Access, session, self.config.access_lifetime)?;
        let record = self.refresh_record(user_id, &refresh, session);
        self.services.tokens.put(TokenHash::of(&refresh.claims.jti), record).await.map_err(store_error)?;
        Ok((access, refresh))
    }

    /// The stored record of a refresh token: kept until the token stops verifying (its lifetime
    /// plus the verification leeway), in the session's family.
    fn refresh_record(&self, user_id: UserId, refresh: &Signed, session: &str) -> TokenRecord {
        let lifetime = Duration::from_secs(
            u64::try_from(refresh.claims.expires_at - refresh.claims.issued_at).unwrap_or_default(),
        );
        TokenRecord::new(
            TokenKind::Refresh,
            user_id,
            AUDIENCE,
            from_unix_seconds(refresh.claims.issued_at),
            lifetime + self.jwt.leeway(),
        )
        .in_family(session)
    }

    /// Signs a token of `token_type` for `user_id` in `session`, valid for `lifetime`.
    fn sign(
        &self,
        user_id: UserId,
        token_type: TokenType,
        session: &str,
        lifetime: Duration,
    ) -> Result<Signed, ApiError> {
        let claims = self
            .jwt
            .new_claims(user_id, token_type, lifetime)
            .map_err(|e| Self::internal("could not draw a jti", &e))?
            .with_claim(SESSION_CLAIM, session);
        let token = self.jwt.sign(&claims).map_err(|e| Self::internal("could not sign a JWT", &e))?;
        Ok(Signed { token, claims })
    }

    /// A 401 with `body` and `WWW-Authenticate: Bearer realm="api"`.
    pub(super) fn unauthorized(&self, body: &Value, head: &http::request::Parts) -> ApiResponse {
        self.renderer.unauthorized(body, head)
    }
}
