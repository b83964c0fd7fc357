//! Login, token, refresh, check-auth-status and logout.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::{
    AUDIENCE, BODY_FORMATS, Inner, TOKEN_BLACKLISTED, TOKEN_NOT_VALID, TOKEN_WRONG_TYPE, field_errors,
    is_ours, profile_fields, reply,
};
use crate::api::{ApiError, ApiRequest, ApiResponse, HandlerResult, Refusal};
use crate::audit::AuthEvent;
use crate::clock::from_unix_seconds;
use crate::dialect::drf::{self, CharRules, Fields};
use crate::dialect::kit;
use crate::dialect::store_error;
use crate::guard::{Credential, Rejection, SESSION_CLAIM, session_of};
use crate::store::{Rotation, TokenKind, TokenRecord};
use crate::token::jwt::{Claims, JwtError, TokenType};
use crate::token::{TokenHash, random_id};
use crate::user::{User, UserId};

/// SimpleJWT's detail for bad credentials at `token/`.
pub(super) const NO_ACTIVE_ACCOUNT: &str = "No active account found with the given credentials";
/// SimpleJWT's detail for a refresh token whose user is gone or deactivated.
pub(super) const NO_ACTIVE_ACCOUNT_FOR_TOKEN: &str = "No active account found for the given token.";
/// Trimmed, but blank allowed (the caller decides what blank means).
const OPTIONAL_TEXT: CharRules = CharRules { trim: true, allow_blank: true };

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
        let (access, refresh) = self.issue_pair(&user).await?;
        let mut body = profile_fields(&user);
        body.insert("access_token".into(), json!(access));
        body.insert("refresh_token".into(), json!(refresh));
        body.insert("is_authenticated".into(), json!(true));
        let order = [
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
        let ordered: Map<String, Value> =
            order.iter().filter_map(|k| body.remove(*k).map(|v| ((*k).to_owned(), v))).collect();
        Ok(reply(StatusCode::OK, &Value::Object(ordered)).no_store().into_response())
    }

    /// `POST token/`.
    pub(super) async fn token(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let bad_credentials = || self.unauthorized(&drf::detail(NO_ACTIVE_ACCOUNT), head).into();
        let user =
            drf::log_in(&self.services, &request, &BODY_FORMATS, &self.renderer.drf, bad_credentials).await?;
        let (access, refresh) = self.issue_pair(&user).await?;
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
        match tokens.rotate(&old, new, record.clone(), grace).await.map_err(store_error)? {
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
                tokens.put(new, record).await.map_err(store_error)?;
                // The session may have ended between the rotation and this put (a logout, a
                // replay after the grace period): then the new token must not outlive it.
                if tokens.is_jwt_revoked(&refresh.claims.jti, Some(&session)).await.map_err(store_error)? {
                    tokens.revoke(&new).await.map_err(store_error)?;
                    return Err(refused(TOKEN_BLACKLISTED));
                }
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

    /// `GET check-auth-status/`.
    pub(super) async fn check_auth_status(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let user = self.gate.require_user(&request.head).await?;
        let mut body = Map::new();
        body.insert("is_authenticated".into(), json!(true));
        body.extend(profile_fields(&user));
        Ok(reply(StatusCode::OK, &Value::Object(body)).no_store().into_response())
    }

    /// `POST logout/`: revokes the session of the access token and of the refresh token in the
    /// body, whichever are valid. Always 200 once the body reads: logging out twice, or with
    /// expired tokens, is not an error.
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
        sessions.sort();
        sessions.dedup();
        for session in &sessions {
            self.services.tokens.revoke_family(session).await.map_err(store_error)?;
        }
        if let Some(user_id) = user_id {
            self.services.audit(AuthEvent::LoggedOut { user_id, client: self.services.client_ip(head) });
        }
        Ok(reply(StatusCode::OK, &json!({"message": "Logout successful"})).into_response())
    }

    /// Opens a session for `user`: signs an access and a refresh token, then stores the refresh
    /// token's record (nothing is stored if signing fails).
    async fn issue_pair(&self, user: &User) -> Result<(String, String), ApiError> {
        let session = random_id().map_err(|e| Self::internal("could not draw a session id", &e))?;
        let refresh = self.sign(user.id, TokenType::Refresh, &session, self.config.refresh_lifetime)?;
        let access = self.sign(user.id, TokenType::Access, &session, self.config.access_lifetime)?;
        let record = self.refresh_record(user.id, &refresh, &session);
        self.services.tokens.put(TokenHash::of(&refresh.claims.jti), record).await.map_err(store_error)?;
        Ok((access.token, refresh.token))
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
