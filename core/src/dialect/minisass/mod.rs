//! miniSASS (the Kartoza citizen-science river-health platform): Django REST framework with
//! SimpleJWT, and the whole account lifecycle: register, log in, refresh, check, log out,
//! reset a forgotten password.
//!
//! Every path lives under `/authentication/api/` and is served with and without its trailing
//! slash. Bodies are JSON, form-urlencoded or multipart; answers are JSON.
//!
//! | endpoint | what it does |
//! |---|---|
//! | `POST login/` | `{"email", "password", "usernameForEmailRetrieval"}` → 200 `{username, email, access_token, refresh_token, is_authenticated: true, user_id, is_admin, is_profile_updated, is_agreed_to_privacy_policy, accepted_privacy_policy_version}`; bad credentials 401 `{"error": "Invalid credentials"}` |
//! | `OPTIONS login/`, `OPTIONS register/` | DRF's endpoint description (name, description, renders, parses) |
//! | `POST token/` | `{"username", "password"}` → 200 `{"refresh", "access"}`; bad credentials 401 `{"detail": "No active account found with the given credentials"}` |
//! | `POST refresh/`, `POST token/refresh/` | `{"refresh"}` → 200 `{"access", "refresh"}` (`refresh` only with [`MinisassConfig::rotate_refresh_tokens`], on by default) |
//! | `GET check-auth-status/` | `Authorization: Bearer <access>` → 200 `{"is_authenticated": true, "user_id", "username", "email", "is_admin", ...profile}` |
//! | `POST logout/` | ends the session of the access token (`Authorization: Bearer`) and/or of `{"refresh"}` → 200 `{"message": "Logout successful"}` |
//! | `POST register/` | `username, first_name, last_name, email, password, organizationType, organizationName, country` (+ free extra fields) → 201 `{"id", "username", "email", "first_name", "last_name"}` |
//! | `POST request-reset` | `{"email"}` → always 200 `{"message": "Password reset email sent"}`; a known active address gets a reset link |
//! | `GET verify-password-reset/{uid}/{token}/` | 200 `{"message": "Token is valid"}` while the link works, else 401 `{"error": "Unauthorized"}` |
//! | `POST update-password-reset/{uid}/{token}/` | `{"newPassword"}` → 200 `{"message": "Password updated successfully"}`; the link works once |
//!
//! `login/` takes the login name from `email` (an e-mail address, or a username: both find the
//! account), or from `usernameForEmailRetrieval` when `email` is empty or absent; neither given
//! is 400 `{"email": ["This field is required."]}`. Unknown accounts, wrong passwords and
//! deactivated accounts get the same 401, after the same cost of one password hash.
//!
//! Every 401 carries `WWW-Authenticate: Bearer realm="api"`. Missing or invalid fields are 400
//! with DRF field errors (`{"field": ["This field is required."]}`); body type, size and syntax
//! problems are 415, 413 and 400 `{"detail": ...}`.
//!
//! ## Tokens
//!
//! JWTs as SimpleJWT issues them: claims `token_type` (`access`/`refresh`), `exp`, `iat`, `jti`,
//! `user_id`, plus `aud` = `minisass` and `sid` ([`SESSION_CLAIM`](crate::guard::SESSION_CLAIM)),
//! the session. Access tokens
//! live [`MinisassConfig::access_lifetime`] (5 minutes), refresh tokens
//! [`MinisassConfig::refresh_lifetime`] (1 day). Each login opens a session: the refresh token's
//! record is stored under the hash of its `jti` (kind [`TokenKind::Refresh`], family = `sid`), so
//!
//! - a refresh rotates that record atomically ([`TokenStore::rotate`](crate::store::TokenStore::rotate));
//!   presenting a refresh token that was already rotated is a replay: the whole session is
//!   revoked, its newer refresh token and its access tokens stop working at once;
//! - logout revokes the session ([`TokenStore::revoke_family`](crate::store::TokenStore::revoke_family)),
//!   and a password reset revokes all of the user's sessions
//!   ([`TokenStore::revoke_user`](crate::store::TokenStore::revoke_user)), access tokens included
//!   (they carry the `sid` that is then on the revocation list).
//!
//! Refresh failures (bad, expired, wrong type, rotated, revoked) are SimpleJWT's 401
//! `{"detail": "Token is invalid or expired", "code": "token_not_valid"}`.
//!
//! `Authorization: Bearer` is matched case-sensitively, as SimpleJWT does: another scheme or
//! casing means "no credentials", 401 `{"detail": "Authentication credentials were not
//! provided."}`. A bad, expired or revoked access token gets SimpleJWT's answer:
//! `{"detail": "Given token not valid for any token type", "code": "token_not_valid",
//! "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is
//! invalid or expired"}]}`; a deactivated account `{"detail": "User is inactive", "code":
//! "user_inactive"}`.
//!
//! ## The profile
//!
//! miniSASS keeps profile data in the user attribute [`PROFILE_ATTRIBUTE`] (`"minisass"`), an
//! object: `organisation_type`, `organisation_name`, `country` (from registration), the flags
//! `is_profile_updated` and `is_agreed_to_privacy_policy` (booleans, default `false`),
//! `accepted_privacy_policy_version` (any value, default `null`) and the free extra fields sent
//! at registration. `is_admin` is the user's admin or superuser flag.
//!
//! ## Password reset
//!
//! `request-reset` answers the same for every address (status, headers, body), and does the
//! same lookups whether or not the address is known. For an active user whose stored e-mail
//! address it is, it stores a single-use reset token (256 random bits, only its hash, kind
//! [`TokenKind::PasswordReset`], valid [`MinisassConfig::reset_token_lifetime`], 1 hour) and mails
//! the link `{reset_link_base}{uid}/{token}/` to the stored address, never one from the request,
//! built from the configured [`MinisassConfig::reset_link_base`], never from `Host` or
//! `X-Forwarded-Host`. `uid` is Django's `urlsafe_base64_encode` of the user id (`MQ` for 1).
//! The mail is sent from a spawned task: a slow or failing mail server neither delays nor
//! changes the answer (failures are logged, without the body).
//!
//! `update-password-reset` checks the link and the new password first (a password the policy
//! refuses is 400 `{"newPassword": ["This password is too short. ..."]}` and the link keeps
//! working), then consumes the token atomically, stores the new hash and revokes every session
//! and token of the user.

mod account;
mod docs;
mod session;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::BuildDialect;
use super::drf::{self, CharRules, DrfRenderer, Fields};
use crate::api::{
    Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Gate, Refusal, Reply, Route, UserCheck,
};
use crate::carrier::Carrier;
use crate::codec::BodyFormat;
use crate::guard::{Guard, InvalidToken, JwtVerifier, Rejection};
use crate::mailer::Mailer;
use crate::openapi::Answer;
use crate::services::Services;
use crate::store::TokenKind;
use crate::token::jwt::{JwtService, TokenType};
use crate::user::User;

/// The JWT audience (`aud`) and token-store audience of miniSASS tokens.
pub const AUDIENCE: &str = "minisass";
/// The user attribute holding the miniSASS profile (an object).
pub const PROFILE_ATTRIBUTE: &str = "minisass";
/// The base of every path.
pub const BASE_PATH: &str = "/authentication/api/";
/// Log in by e-mail (or username).
pub const LOGIN_PATH: &str = "/authentication/api/login/";
/// Obtain a token pair (SimpleJWT's `TokenObtainPairView`).
pub const TOKEN_PATH: &str = "/authentication/api/token/";
/// Refresh, as the seed documents it.
pub const REFRESH_PATH: &str = "/authentication/api/refresh/";
/// Refresh, as the live system serves it.
pub const TOKEN_REFRESH_PATH: &str = "/authentication/api/token/refresh/";
/// Who is logged in.
pub const CHECK_AUTH_STATUS_PATH: &str = "/authentication/api/check-auth-status/";
/// End the session.
pub const LOGOUT_PATH: &str = "/authentication/api/logout/";
/// Create an account.
pub const REGISTER_PATH: &str = "/authentication/api/register/";
/// Ask for a reset link (documented without the trailing slash; served with it too).
pub const REQUEST_RESET_PATH: &str = "/authentication/api/request-reset";
/// Check a reset link.
pub const VERIFY_RESET_PATH: &str = "/authentication/api/verify-password-reset/{uid}/{token}/";
/// Set a new password with a reset link.
pub const UPDATE_RESET_PATH: &str = "/authentication/api/update-password-reset/{uid}/{token}/";

/// The `WWW-Authenticate` value of every miniSASS 401.
pub const WWW_AUTHENTICATE: &str = "Bearer realm=\"api\"";
/// SimpleJWT's detail for a refresh token that is not accepted.
pub const TOKEN_NOT_VALID: &str = "Token is invalid or expired";

const BODY_FORMATS: [BodyFormat; 3] = [BodyFormat::Json, BodyFormat::Form, BodyFormat::Multipart];

/// How the miniSASS endpoints behave where a deployment chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinisassConfig {
    /// How long an access token works (default 5 minutes, SimpleJWT's `ACCESS_TOKEN_LIFETIME`).
    pub access_lifetime: Duration,
    /// How long a refresh token works (default 1 day, SimpleJWT's `REFRESH_TOKEN_LIFETIME`).
    pub refresh_lifetime: Duration,
    /// Each refresh returns a new refresh token and spends the old one (default on, with replay
    /// detection). Off: the refresh token is reused until it expires and only `access` is
    /// returned, as SimpleJWT's default.
    pub rotate_refresh_tokens: bool,
    /// How long a password-reset link works (default 1 hour).
    pub reset_token_lifetime: Duration,
    /// Where reset links point: `{reset_link_base}{uid}/{token}/`. Set it to the page of the
    /// app's frontend that asks for the new password. The default points at this API's own
    /// verify endpoint on `localhost:8000`, for development.
    pub reset_link_base: String,
    /// The subject of the reset e-mail.
    pub reset_subject: String,
}

impl Default for MinisassConfig {
    fn default() -> Self {
        Self {
            access_lifetime: Duration::from_secs(5 * 60),
            refresh_lifetime: Duration::from_secs(24 * 60 * 60),
            rotate_refresh_tokens: true,
            reset_token_lifetime: Duration::from_secs(60 * 60),
            reset_link_base: "http://localhost:8000/authentication/api/verify-password-reset/".to_owned(),
            reset_subject: "Reset your miniSASS password".to_owned(),
        }
    }
}

/// The miniSASS dialect ([`Dialect`](super::Dialect)). Cheap to clone.
///
/// - Its [`Api`]: the endpoints in this order: login, token, refresh, token/refresh,
///   check-auth-status, logout, register, request-reset, verify-password-reset,
///   update-password-reset (see the [module docs](self)).
/// - Its [`Gate`] protects an app's routes with miniSASS access tokens (`Authorization: Bearer
///   <access>`, keyword case-sensitive), checking revocations and loading the user
///   (deactivated: 401 "User is inactive").
#[derive(Clone)]
pub struct Minisass {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    jwt: JwtService,
    mailer: Arc<dyn Mailer>,
    config: MinisassConfig,
    renderer: Arc<MinisassRenderer>,
    gate: Gate,
}

dialect!(Minisass, "minisass", MinisassConfig, Infallible, |context, config| {
    Ok(Minisass::new(context.services.clone(), context.jwt.clone(), context.mailer.clone(), config))
});

impl Minisass {
    /// The dialect over `services`, signing and verifying with `jwt` (the app's key ring; its
    /// audience is set to `minisass`; it should read the same clock as `services`) and sending
    /// reset links through `mailer`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use authmount::api::RequestBody;
    /// use authmount::dialect::Dialect;
    /// use authmount::dialect::minisass::{Minisass, MinisassConfig};
    /// use authmount::mailer::OutboxMailer;
    /// use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
    /// use authmount::services::Services;
    /// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
    ///
    /// # let fast = PasswordService::new(Arc::new(Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests())?));
    /// let services = Services::in_memory()?;
    /// # let services = services.with_passwords(fast);
    /// let jwt = JwtService::new(KeyRing::new("k1", JwtKey::hs256(&[7u8; 32])?)?, services.clock.clone());
    /// let outbox = OutboxMailer::new();
    /// let config = MinisassConfig { reset_link_base: "https://minisass.example.org/reset/".into(), ..Default::default() };
    /// let minisass = Minisass::new(services, jwt, Arc::new(outbox.clone()), config);
    /// let api = minisass.api(); // mount it; protect the app's routes with `minisass.gate()`
    ///
    /// let call = |path: &'static str, body: &'static str| {
    ///     let api = api.clone();
    ///     async move {
    ///         let index = api.routes().iter().position(|r| r.match_path(path).is_some()).unwrap();
    ///         let head = http::Request::post(path).header("content-type", "application/json").body(()).unwrap().into_parts().0;
    ///         api.call(index, head, RequestBody::Complete(body.into())).await
    ///     }
    /// };
    /// let registered = call("/authentication/api/register/", r#"{"username": "ann", "first_name": "Ann",
    ///     "last_name": "Novak", "email": "ann@example.org", "password": "correct horse battery",
    ///     "organizationType": "NGO", "organizationName": "River Watch", "country": "South Africa"}"#).await;
    /// assert_eq!(registered.status(), 201);
    ///
    /// let login = call("/authentication/api/login/", r#"{"email": "ann@example.org", "password": "correct horse battery"}"#).await;
    /// assert_eq!(login.status(), 200);
    /// let body: serde_json::Value = serde_json::from_slice(login.body())?;
    /// assert_eq!(body["is_authenticated"], true);
    /// assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
    ///
    /// let reset = call("/authentication/api/request-reset", r#"{"email": "ann@example.org"}"#).await;
    /// assert_eq!(reset.status(), 200);
    /// let mail = outbox.wait_for(1, std::time::Duration::from_secs(1)).await;
    /// assert!(mail[0].text_body.contains("https://minisass.example.org/reset/MQ/"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn new(services: Services, jwt: JwtService, mailer: Arc<dyn Mailer>, config: MinisassConfig) -> Self {
        let jwt = jwt.with_audience(AUDIENCE);
        let renderer = Arc::new(MinisassRenderer::new());
        let verifier =
            JwtVerifier::new(jwt.clone(), TokenType::Access).with_revocations(services.tokens.clone());
        let guard = Guard::new().with(Carrier::authorization("Bearer", true), verifier);
        let gate = Gate::new(guard, renderer.clone() as Arc<dyn ErrorRenderer>)
            .with_user_check(UserCheck::RequireActive(services.users.clone()));
        Self { inner: Arc::new(Inner { services, jwt, mailer, config, renderer, gate }) }
    }
}

/// The profile values every user answer carries, from [`PROFILE_ATTRIBUTE`].
fn profile_fields(user: &User) -> Map<String, Value> {
    let profile = user.attribute(PROFILE_ATTRIBUTE).and_then(Value::as_object);
    let flag = |key: &str| profile.and_then(|p| p.get(key)).and_then(Value::as_bool).unwrap_or(false);
    let mut fields = Map::new();
    fields.insert("user_id".into(), json!(user.id.0));
    fields.insert("username".into(), json!(user.username));
    fields.insert("email".into(), json!(user.email.as_deref().unwrap_or_default()));
    fields.insert("is_admin".into(), json!(user.is_admin || user.is_superuser));
    fields.insert("is_profile_updated".into(), json!(flag("is_profile_updated")));
    fields.insert("is_agreed_to_privacy_policy".into(), json!(flag("is_agreed_to_privacy_policy")));
    let version =
        profile.and_then(|p| p.get("accepted_privacy_policy_version")).cloned().unwrap_or(Value::Null);
    fields.insert("accepted_privacy_policy_version".into(), version);
    fields
}

/// Gives miniSASS errors their shape: DRF `{"detail"}` for common failures, SimpleJWT's bodies
/// for refused access tokens, `WWW-Authenticate: Bearer realm="api"` on every 401.
#[derive(Debug, Clone)]
pub struct MinisassRenderer {
    drf: DrfRenderer,
}

impl Default for MinisassRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl MinisassRenderer {
    /// The renderer.
    ///
    /// ```
    /// use authmount::api::{ApiError, ErrorRenderer};
    /// use authmount::dialect::minisass::MinisassRenderer;
    /// use authmount::guard::Rejection;
    /// let (head, ()) = http::Request::get("/").body(()).unwrap().into_parts();
    /// let response = MinisassRenderer::new().render(&ApiError::Rejected(Rejection::Expired), &head);
    /// assert_eq!(response.status(), 401);
    /// assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"api\"");
    /// let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    /// assert_eq!(body["code"], "token_not_valid");
    /// ```
    pub fn new() -> Self {
        Self { drf: DrfRenderer::new(HeaderValue::from_static(WWW_AUTHENTICATE)) }
    }

    /// A 401 with `value` as body and `WWW-Authenticate: Bearer realm="api"`.
    pub fn unauthorized(&self, value: &Value, head: &Parts) -> ApiResponse {
        self.drf.unauthorized(value, head)
    }

    /// Renders `error` with the headers [`Api::render`](crate::api::Api::render) would add: for
    /// handlers, which answer errors themselves.
    pub fn respond(&self, error: &ApiError, head: &Parts) -> ApiResponse {
        match error {
            ApiError::Rejected(rejection) if error.status() == StatusCode::UNAUTHORIZED => {
                self.unauthorized(&rejection_body(rejection), head)
            }
            _ => self.drf.respond(error, head),
        }
    }
}

impl ErrorRenderer for MinisassRenderer {
    fn render(&self, error: &ApiError, head: &Parts) -> ApiResponse {
        match error {
            ApiError::Rejected(rejection) if error.status() == StatusCode::UNAUTHORIZED => {
                self.unauthorized(&rejection_body(rejection), head)
            }
            _ => self.drf.render(error, head),
        }
    }

    /// DRF's `{"detail"}`; 401s are SimpleJWT's `{"detail", "code"?, "messages"?}`.
    fn describe(&self, status: StatusCode) -> Answer {
        self.drf.describe(status)
    }
}

/// SimpleJWT's `JWTAuthentication` bodies.
fn rejection_body(rejection: &Rejection) -> Value {
    match rejection {
        Rejection::NotProvided | Rejection::Unavailable(_) => drf::detail(drf::NOT_AUTHENTICATED),
        Rejection::Malformed(_) => json!({
            "detail": "Authorization header must contain two space-delimited values",
            "code": "bad_authorization_header",
        }),
        Rejection::Invalid(InvalidToken::InactiveUser) => {
            json!({"detail": "User is inactive", "code": "user_inactive"})
        }
        Rejection::Expired | Rejection::Invalid(_) => json!({
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access", "message": TOKEN_NOT_VALID}],
        }),
    }
}

/// A reply in JSON.
fn reply(status: StatusCode, value: &Value) -> Reply {
    Reply::json(status, value)
}

/// DRF field errors: 400 with the errors as JSON.
fn field_errors(errors: drf::FieldErrors) -> Refusal {
    reply(StatusCode::BAD_REQUEST, &errors.into_value()).into()
}

impl Inner {
    /// The endpoints, in this order: login, token, refresh, token/refresh, check-auth-status,
    /// logout, register, request-reset, verify-password-reset, update-password-reset.
    fn api(self: &Arc<Self>) -> Api {
        let (get, post) = (&[Method::GET], &[Method::POST]);
        let login = Route::stateful(LOGIN_PATH, post, self.clone(), Self::login).with_options(
            "Login",
            "Logs a user in with their e-mail address (or username) and password.\n\nReturns the user's details with a JWT access token and refresh token.",
        );
        let register = Route::stateful(REGISTER_PATH, post, self.clone(), Self::register).with_options(
            "Register",
            "Registers a user.\n\nRequired: username, first_name, last_name, email, password, organizationType, organizationName, country. Further fields are saved on the user's profile.",
        );
        Api::new(Minisass::NAME, self.renderer.clone())
            .route(login.with_doc(docs::login()))
            .route(Route::stateful(TOKEN_PATH, post, self.clone(), Self::token).with_doc(docs::token()))
            .route(Route::stateful(REFRESH_PATH, post, self.clone(), Self::refresh).with_doc(docs::refresh()))
            .route(
                Route::stateful(TOKEN_REFRESH_PATH, post, self.clone(), Self::refresh)
                    .with_doc(docs::refresh()),
            )
            .route(
                Route::stateful(CHECK_AUTH_STATUS_PATH, get, self.clone(), Self::check_auth_status)
                    .with_doc(docs::check_auth_status()),
            )
            .route(Route::stateful(LOGOUT_PATH, post, self.clone(), Self::logout).with_doc(docs::logout()))
            .route(register.with_doc(docs::register()))
            .route(
                Route::stateful(REQUEST_RESET_PATH, post, self.clone(), Self::request_reset)
                    .with_doc(docs::request_reset()),
            )
            .route(
                Route::stateful(VERIFY_RESET_PATH, get, self.clone(), Self::verify_reset)
                    .with_doc(docs::verify_reset()),
            )
            .route(
                Route::stateful(UPDATE_RESET_PATH, post, self.clone(), Self::update_reset)
                    .with_doc(docs::update_reset()),
            )
    }

    /// The request's body fields (JSON, form or multipart); 415, 413 or 400 `{"detail"}` when it
    /// cannot be read.
    async fn decode(&self, request: &ApiRequest) -> Result<Map<String, Value>, Refusal> {
        Ok(request.decode(&BODY_FORMATS).await?.fields)
    }

    /// The request's body fields and, of them, the one required `CharField` `name`; the refusal
    /// when the body cannot be read ([`decode`](Self::decode)) or the field is invalid (400
    /// field errors).
    async fn decode_char(
        &self,
        request: &ApiRequest,
        name: &str,
        rules: CharRules,
    ) -> Result<String, Refusal> {
        let data = self.decode(request).await?;
        let mut fields = Fields::new(&data);
        let value = fields.char(name, rules);
        fields.finish().map_err(field_errors)?;
        // Not reached: `char` records an error whenever it gives `None`.
        Ok(value.ok_or(ApiError::Internal)?)
    }

    /// Logs an internal failure and gives the 500 error.
    fn internal(what: &str, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, "minisass: {what}");
        ApiError::Internal
    }
}

/// The audience and kind checks every stored miniSASS record must pass.
fn is_ours(record: &crate::store::TokenRecord, kind: TokenKind) -> bool {
    record.kind == kind && record.audience == AUDIENCE
}

#[cfg(test)]
mod tests;
