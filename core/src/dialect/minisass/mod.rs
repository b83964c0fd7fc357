//! miniSASS (the Kartoza citizen-science river-health platform): Django REST framework with
//! SimpleJWT and a Django session cookie, and the whole account lifecycle: register, activate,
//! log in, refresh, check, log out, edit the profile, change or reset the password, accept the
//! privacy policy.
//!
//! Every path lives under `/authentication/api/` (but the two `/privacy-policy/` ones, absolute
//! as in the original) and is served with and without its trailing slash. Bodies are JSON,
//! form-urlencoded or multipart; answers are JSON.
//!
//! | endpoint | what it does |
//! |---|---|
//! | `POST login/` | `{"email", "password", "usernameForEmailRetrieval"}` → 200 `{username, email, access_token, refresh_token, is_authenticated: true, user_id, is_admin, is_profile_updated, is_agreed_to_privacy_policy, accepted_privacy_policy_version}` and the `sessionid` cookie; bad credentials 401 `{"error": "Invalid credentials"}` |
//! | `OPTIONS login/`, `OPTIONS register/` | DRF's endpoint description (name, description, renders, parses) |
//! | `POST token/` | `{"username", "password"}` → 200 `{"refresh", "access"}` (no cookie); bad credentials 401 `{"detail": "No active account found with the given credentials"}` |
//! | `POST refresh/`, `POST token/refresh/` | `{"refresh"}` → 200 `{"access", "refresh"}` (`refresh` only with [`MinisassConfig::rotate_refresh_tokens`], on by default) |
//! | `GET check-auth-status/` | `Authorization: Bearer <access>`, else the `sessionid` cookie → 200 `{is_authenticated: true, username, email, is_admin, is_agreed_to_privacy_policy, access_token, refresh_token, user_id, is_profile_updated, accepted_privacy_policy_version}` with a fresh token pair in the session |
//! | `POST logout/` | ends the session of the access token, of `{"refresh"}` and of the cookie, whichever are present (no body is fine), clears the cookie → 200 `{"message": "Logout successful"}` |
//! | `POST register/` | `username, first_name, last_name, email, password, organizationType, organizationName, country` (+ free extra fields), or the web form's `username: "", name, surname, ..., confirmPassword, agree` → 201 `{"id", "username", "email", "first_name", "last_name"}`; refusals 400 field errors plus `error` |
//! | `GET activate/{uid}/{token}/` | with [`MinisassConfig::require_activation`]: activates the account once → 302 to the frontend (`?activation_complete=true`) or 200; else 400 `{"error": "Invalid token or expired"}` |
//! | `POST request-reset` | `{"email"}` → always 200 `{"message": "Password reset email sent"}`; a known active address gets a reset link |
//! | `GET verify-password-reset/{uid}/{token}/` | while the link works: 302 to `{frontend_url}?uid=..&token=..` with [`MinisassConfig::frontend_url`], else 200 `{"message": "Token is valid"}`; otherwise 401 `{"error": "Unauthorized"}` |
//! | `POST update-password-reset/{uid}/{token}/` | `{"newPassword"}` → 200 `{"message": "Password updated successfully"}`; the link works once |
//! | `GET`/`POST user/update/` | bearer token → 200 `{user_id, username, email, name, surname, organisation_type, organisation_name, country, is_expert, upload_preference}`; a `POST` changes e-mail, name, surname, organisation type/name, country, upload preference |
//! | `POST user/password/update/` | bearer token, `{old_password, password, confirm_password}` → 200 `{"status": "OK"}`; 400 errors under the field's name |
//! | `GET /privacy-policy/check/` | bearer token → 200 `{is_agreed_to_privacy_policy, policy: {id, version, link, file, published_at}}`; 404 `{"detail": "No privacy policy available."}` without a configured policy |
//! | `POST /privacy-policy/consent/` | bearer token, `{"agree": bool}` → 201 `{user, policy, consent_given, consent_date, ip_address}`; 404 `{"detail": "Privacy policy not found."}` without a configured policy |
//!
//! `login/` takes the login name from `email` (an e-mail address, or a username: both find the
//! account), or from `usernameForEmailRetrieval` when `email` is empty or absent; neither given
//! is 400 `{"email": ["This field is required."]}`. Unknown accounts, wrong passwords and
//! deactivated (or not yet activated) accounts get the same 401, after the same cost of one
//! password hash.
//!
//! Every 401 carries `WWW-Authenticate: Bearer realm="api"`. Missing or invalid fields are 400
//! with DRF field errors (`{"field": ["This field is required."]}`); body type, size and syntax
//! problems are 415, 413 and 400 `{"detail": ...}`. A refusal changes nothing.
//!
//! ## What the real clients rely on
//!
//! The original's own clients do more than the seed documents; `tests/tests/minisass_clients.rs`
//! replays them request by request on both adapters.
//!
//! - **The web app** (React, `minisass_frontend`): on every page load `GET check-auth-status/`
//!   with `Authorization: Bearer <stored access_token>` or the literal `Bearer dummy-token`, and
//!   the browser's cookies; it keeps the answer's `access_token` as its `Authorization` header,
//!   so a reload keeps the user signed in through the `sessionid` cookie. `login/` `{email,
//!   password, usernameForEmailRetrieval}`, then a password prompt when `is_profile_updated` is
//!   false and a consent prompt when `is_agreed_to_privacy_policy` is false
//!   (`/privacy-policy/check/`, `/privacy-policy/consent/` `{agree}`, 201). `register/` in the
//!   form's shape (`username: ""`, `name`, `surname`, `confirmPassword`, `agree`), showing the
//!   answer's `error`; the activation link from the mail. `user/update/` (GET, then POST of
//!   every field back), `user/password/update/` (showing `old_password`, `password`, `error`),
//!   `logout/` as a POST without a body, and the reset link landing on its home page with
//!   `?uid=..&token=..`. Its refresh timer posts to `/token/refresh/` at the site root, which
//!   neither the original nor this dialect serves: it never refreshes.
//! - **The Android app**: no cookies; `register/` in the seed's shape, `login/?app=mobile`
//!   `{email, password}` (stores `access_token`, `refresh_token`, reads
//!   `is_agreed_to_privacy_policy`), `check-auth-status/` with the bearer token,
//!   `user/update/` GET and POST `{email, name, surname, organisation_name, organisation_type,
//!   country, upload_preference}`, `/privacy-policy/consent/` `{agree}`, `logout/` with body
//!   `{}`. Its refresh reads `access_token` from the refresh answer, which has `access`: it
//!   never takes a refreshed token either. Hence the 1-hour access lifetime.
//!
//! Not served, on purpose: the original's `retrieve-email-by-username/<username>/` (answers a
//! username's e-mail address to anyone) and `check-registration-status/<email>/` (answers
//! whether an address is registered and activated). Both tell strangers who has an account.
//! The cost: the web app's "sign in with a username" box (it asks `retrieve-email-by-username/`
//! first when only that box is filled) shows "email not found" on the 404, so its users sign in
//! with their e-mail address, which the same form takes. Clients that can change send the
//! username to `login/` as `usernameForEmailRetrieval` (or as `email`): it finds the account
//! without telling anyone its address.
//!
//! Registration necessarily tells whether an address (or username) is taken: the refusal
//! says so, as the original's "This email is already registered." does, and nothing more (not
//! whether that account is active, nor its username). The registration endpoint has the same
//! exposure in every system that lets people sign up; the other endpoints do not add to it.
//!
//! ## Tokens and sessions
//!
//! JWTs as SimpleJWT issues them: claims `token_type` (`access`/`refresh`), `exp`, `iat`, `jti`,
//! `user_id`, plus `aud` = `minisass` and `sid` ([`SESSION_CLAIM`](crate::guard::SESSION_CLAIM)),
//! the session. Access tokens live [`MinisassConfig::access_lifetime`] (1 hour: see why there),
//! refresh tokens [`MinisassConfig::refresh_lifetime`] (1 day). Each login opens a session: the
//! refresh token's record is stored under the hash of its `jti` (kind [`TokenKind::Refresh`],
//! family = `sid`), and `login/` also stores the `sessionid` cookie's record (kind
//! [`TokenKind::Session`], only its hash, same family), so
//!
//! - a refresh rotates that record atomically ([`TokenStore::rotate`](crate::store::TokenStore::rotate));
//!   presenting a refresh token that was already rotated is a replay: the whole session is
//!   revoked, its newer refresh token, its access tokens and its cookie stop working at once.
//!   Except within [`MinisassConfig::refresh_reuse_grace`] (10 seconds) of the rotation: two
//!   tabs of the web app refreshing at once, or a retry after a lost answer, get a new pair of
//!   the same session and nothing is revoked;
//! - logout revokes the session ([`TokenStore::revoke_family`](crate::store::TokenStore::revoke_family)),
//!   a password reset or an admin's revoke all of the user's sessions
//!   ([`TokenStore::revoke_user`](crate::store::TokenStore::revoke_user)), access tokens and
//!   cookies included (the access tokens carry the `sid` that is then on the revocation list);
//! - a password change ([`Services::change_password`](crate::services::Services::change_password))
//!   revokes every session of the user but the one it was made from.
//!
//! The cookie is `sessionid=<256 random bits>; HttpOnly; SameSite=Lax; Secure; Path=/;
//! Max-Age=<refresh lifetime>` (`Secure` unless [`MinisassConfig::insecure_cookies`]); every
//! login sets a new one and revokes the one the request carried. `check-auth-status/` reads it only when the bearer
//! token is missing, `dummy-token`, invalid or expired, and answers a fresh token pair in the
//! cookie's session. A request authenticated by the cookie alone is refused from another site
//! (403, `Origin` or `Sec-Fetch-Site` not this site nor one of
//! [`MinisassConfig::trusted_origins`]): at `check-auth-status/` whatever the method (it hands
//! out tokens), at `logout/` too. Every other endpoint takes the bearer token only, as the
//! original's `JWTAuthentication`.
//!
//! Refresh failures are SimpleJWT's 401 `{"detail": ..., "code": "token_not_valid"}`, with
//! SimpleJWT's words: `"Token has wrong type"` for an access token, `"Token is blacklisted"`
//! for a rotated-away token presented again (after the grace period) or one whose session
//! was ended, `"Token is invalid or expired"` for anything else (bad signature, expired,
//! unknown).
//!
//! `Authorization: Bearer` is matched case-sensitively, as SimpleJWT does: another scheme or
//! casing means "no credentials", 401 `{"detail": "Authentication credentials were not
//! provided."}`. A bad, expired or revoked access token gets SimpleJWT's answer:
//! `{"detail": "Given token not valid for any token type", "code": "token_not_valid",
//! "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is
//! invalid or expired"}]}` (the message is `"Token has wrong type"` for a refresh token sent
//! as an access token); a deactivated account `{"detail": "User is inactive", "code":
//! "user_inactive"}`.
//!
//! ## The login flags
//!
//! As the original computes them: `is_profile_updated` is true when the password just used
//! passes today's password policy (false for accounts that must change it, such as imported
//! weak passwords; `check-auth-status/`, which sees no password, says true as the original's
//! `generate_user_response` does). `is_agreed_to_privacy_policy` is true when no privacy policy
//! is configured ([`MinisassConfig::privacy_policy`]), else when the user's recorded consent is
//! to exactly the configured version; `accepted_privacy_policy_version` is the configured
//! version (`null` without one). Consent is recorded by `POST /privacy-policy/consent/` or at
//! registration with `agree`.
//!
//! ## The profile
//!
//! miniSASS keeps profile data in the user attribute [`PROFILE_ATTRIBUTE`] (`"minisass"`), an
//! object: `organisation_type`, `organisation_name`, `country` (from registration or
//! `user/update/`), `upload_preference` (default `wifi`), `is_expert` (set by operators only),
//! `accepted_privacy_policy_version` (set by consent only) and the free extra fields sent at
//! registration (never a privileged flag, never anything named like a password). `is_admin` is
//! the user's admin or superuser flag. `user/update/` cannot change `username`, `user_id` or
//! `is_expert`; an e-mail address another account has is 400 `{"email": ["A user with that
//! email already exists."]}`.
//!
//! ## Password change
//!
//! `user/password/update/` checks every field and answers every error at once: `old_password`
//! "Wrong old password", `password` the policy's message, `confirm_password` "Confirmed password
//! is not same as new password.". Then [`Services::change_password`](crate::services::Services::change_password)
//! stores the new hash, revokes every other session of the user and emits
//! [`AuthEvent::PasswordChanged`](crate::audit::AuthEvent::PasswordChanged).
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
//!
//! ## Activation
//!
//! With [`MinisassConfig::require_activation`] (off by default; the original has it on),
//! registration creates the account inactive and mails
//! `{activation_link_base}{uid}/{token}/` (a single-use token, only its hash stored, kind
//! [`TokenKind::Activation`], valid [`MinisassConfig::activation_token_lifetime`], 3 days). Until
//! then a login gets the 401 every bad login gets. The link works once, for its own account.
//! An account whose link expired unused stays inactive (registering again says the address is
//! taken): an operator activates it ([`admin::Accounts`](crate::admin::Accounts)).

mod account;
mod activation;
mod cookie;
mod docs;
mod profile;
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
    Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Gate, Origin, Refusal, Reply, Route, UserCheck,
};
use crate::carrier::Carrier;
use crate::codec::BodyFormat;
use crate::guard::{Guard, InvalidToken, JwtVerifier, Rejection};
use crate::mailer::Mailer;
use crate::openapi::Answer;
use crate::services::Services;
use crate::store::{DEFAULT_REUSE_GRACE, TokenKind};
use crate::token::jwt::{JwtError, JwtService, TokenType};
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
/// Read and change the signed-in user's profile.
pub const USER_UPDATE_PATH: &str = "/authentication/api/user/update/";
/// Change the signed-in user's password.
pub const PASSWORD_UPDATE_PATH: &str = "/authentication/api/user/password/update/";
/// Activate an account with the mailed link (with [`MinisassConfig::require_activation`]).
pub const ACTIVATE_PATH: &str = "/authentication/api/activate/{uid}/{token}/";
/// Whether the signed-in user accepted the configured privacy policy (an absolute path, as in
/// the original).
pub const PRIVACY_CHECK_PATH: &str = "/privacy-policy/check/";
/// Record the signed-in user's answer to the configured privacy policy (absolute, as in the
/// original).
pub const PRIVACY_CONSENT_PATH: &str = "/privacy-policy/consent/";
/// The name of the cookie session `login/` opens (Django's `SESSION_COOKIE_NAME`).
pub const SESSION_COOKIE: &str = "sessionid";

/// The `WWW-Authenticate` value of every miniSASS 401.
pub const WWW_AUTHENTICATE: &str = "Bearer realm=\"api\"";
/// SimpleJWT's detail for a refresh token that is not accepted.
pub const TOKEN_NOT_VALID: &str = "Token is invalid or expired";
/// SimpleJWT's detail for a token of the other type: an access token sent to refresh, a refresh
/// token sent as `Authorization: Bearer`.
pub const TOKEN_WRONG_TYPE: &str = "Token has wrong type";
/// SimpleJWT's detail (with its blacklist app) for a refresh token that was rotated away and
/// presented again, or whose session was ended.
pub const TOKEN_BLACKLISTED: &str = "Token is blacklisted";

const BODY_FORMATS: [BodyFormat; 3] = [BodyFormat::Json, BodyFormat::Form, BodyFormat::Multipart];

/// How the miniSASS endpoints behave where a deployment chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinisassConfig {
    /// How long an access token works (default 1 hour, as the live system issues them).
    ///
    /// Why not SimpleJWT's 5 minutes: neither real client ever refreshes successfully (the web
    /// app's timer posts to a path that does not exist, the Android app reads a field the
    /// refresh answer does not have), so a short lifetime would log their users out every few
    /// minutes. Revocation does not depend on the lifetime: logout, a password change or reset
    /// and an admin's revoke end the session's access tokens at once (the revocation check).
    pub access_lifetime: Duration,
    /// How long a refresh token works (default 1 day, SimpleJWT's `REFRESH_TOKEN_LIFETIME`).
    /// The cookie session a `login/` opens lives as long.
    pub refresh_lifetime: Duration,
    /// Each refresh returns a new refresh token and spends the old one (default on, with replay
    /// detection). Off: the refresh token is reused until it expires and only `access` is
    /// returned, as SimpleJWT's default.
    pub rotate_refresh_tokens: bool,
    /// How long after a rotation the same refresh token may be presented again and still get
    /// tokens of its session, revoking nothing (two tabs refreshing at once, a retry after a
    /// lost answer); later, the repeat counts as reuse and ends the session. Default
    /// [`DEFAULT_REUSE_GRACE`] (10 seconds, see there why); `Duration::ZERO` turns it off.
    pub refresh_reuse_grace: Duration,
    /// How long a password-reset link works (default 1 hour).
    pub reset_token_lifetime: Duration,
    /// Where reset links point: `{reset_link_base}{uid}/{token}/`. Set it to the page of the
    /// app's frontend that asks for the new password. The default points at this API's own
    /// verify endpoint on `localhost:8000`, for development.
    pub reset_link_base: String,
    /// The subject of the reset e-mail.
    pub reset_subject: String,
    /// The web frontend's page that opens the reset form (the original's home page, whose
    /// `MainPage` reads `?uid=..&token=..`). When set, `GET verify-password-reset/{uid}/{token}/`
    /// answers a working link with 302 to `{frontend_url}?uid={uid}&token={token}`, as the
    /// original does; unset (the default), it answers 200 `{"message": "Token is valid"}`.
    pub frontend_url: Option<String>,
    /// Leave `Secure` off the `sessionid` cookie (default: `Secure` on). Browsers do not send a
    /// `Secure` cookie over plain HTTP, so a development server without TLS needs this; it
    /// also takes `http://<Host>` as the site's own origin in the cross-site check.
    pub insecure_cookies: bool,
    /// Sites besides this one whose pages may use the `sessionid` cookie (the web frontend's
    /// origin when it is served from another host or port). Default none.
    pub trusted_origins: Vec<Origin>,
    /// The published privacy policy users must accept (default none: every user counts as
    /// agreeing, as in the original without a policy).
    pub privacy_policy: Option<PrivacyPolicy>,
    /// Registration creates the account inactive and mails an activation link (default off;
    /// the original turns it on). See [`ACTIVATE_PATH`].
    pub require_activation: bool,
    /// Where activation links point: `{activation_link_base}{uid}/{token}/`. The default is this
    /// API's own activate endpoint on `localhost:8000`, for development.
    pub activation_link_base: String,
    /// How long an activation link works (default 3 days, Django's `PASSWORD_RESET_TIMEOUT`).
    pub activation_token_lifetime: Duration,
    /// The subject of the activation e-mail.
    pub activation_subject: String,
}

/// A published privacy policy version ([`MinisassConfig::privacy_policy`]), as the original's
/// `PrivacyPolicy` model describes it in `GET /privacy-policy/check/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyPolicy {
    /// The policy's number (the original's primary key; `policy` in a consent answer).
    pub id: u64,
    /// The version users accept (e.g. `"v1.3"`); consent to another version does not count.
    pub version: String,
    /// Where the policy text is published.
    pub link: String,
    /// When it was published (RFC 3339), if the deployment says.
    pub published_at: Option<String>,
}

impl Default for MinisassConfig {
    fn default() -> Self {
        Self {
            access_lifetime: Duration::from_secs(60 * 60),
            refresh_lifetime: Duration::from_secs(24 * 60 * 60),
            rotate_refresh_tokens: true,
            refresh_reuse_grace: DEFAULT_REUSE_GRACE,
            reset_token_lifetime: Duration::from_secs(60 * 60),
            reset_link_base: "http://localhost:8000/authentication/api/verify-password-reset/".to_owned(),
            reset_subject: "Reset your miniSASS password".to_owned(),
            frontend_url: None,
            insecure_cookies: false,
            trusted_origins: Vec::new(),
            privacy_policy: None,
            require_activation: false,
            activation_link_base: "http://localhost:8000/authentication/api/activate/".to_owned(),
            activation_token_lifetime: Duration::from_secs(3 * 24 * 60 * 60),
            activation_subject: "Activate your miniSASS account".to_owned(),
        }
    }
}

/// The miniSASS dialect ([`Dialect`](super::Dialect)). Cheap to clone.
///
/// - Its [`Api`]: the endpoints in this order: login, token, refresh, token/refresh,
///   check-auth-status, logout, register, request-reset, verify-password-reset,
///   update-password-reset, user/update, user/password/update, activate,
///   `/privacy-policy/check/`, `/privacy-policy/consent/` (see the [module docs](self)).
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
    /// The cookie session: `sessionid`, user loaded, cross-site protected.
    cookie_gate: Gate,
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
        let cookie_gate = cookie::gate(&services, &config, renderer.clone());
        Self { inner: Arc::new(Inner { services, jwt, mailer, config, renderer, gate, cookie_gate }) }
    }
}

/// The login answer's fields about `user` (the original's `generate_user_response`, without
/// the tokens): `username, email, user_id, is_admin, is_profile_updated,
/// is_agreed_to_privacy_policy, accepted_privacy_policy_version`. `is_profile_updated` is the
/// caller's (see [`Inner::login`]); the privacy fields follow [`MinisassConfig::privacy_policy`].
fn user_fields(user: &User, config: &MinisassConfig, is_profile_updated: bool) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("username".into(), json!(user.username));
    fields.insert("email".into(), json!(user.email.as_deref().unwrap_or_default()));
    fields.insert("user_id".into(), json!(user.id.0));
    fields.insert("is_admin".into(), json!(user.is_admin || user.is_superuser));
    fields.insert("is_profile_updated".into(), json!(is_profile_updated));
    fields.insert("is_agreed_to_privacy_policy".into(), json!(has_accepted_policy(user, config)));
    let version = config.privacy_policy.as_ref().map_or(Value::Null, |policy| json!(policy.version));
    fields.insert("accepted_privacy_policy_version".into(), version);
    fields
}

/// The user's miniSASS profile object ([`PROFILE_ATTRIBUTE`]), empty when unset.
fn profile_of(user: &User) -> Map<String, Value> {
    user.attribute(PROFILE_ATTRIBUTE).and_then(Value::as_object).cloned().unwrap_or_default()
}

/// The profile key holding the policy version the user accepted.
const ACCEPTED_VERSION: &str = "accepted_privacy_policy_version";

/// Whether `user` accepted the configured privacy policy: always with none configured, else
/// when the recorded consent is to exactly its version.
fn has_accepted_policy(user: &User, config: &MinisassConfig) -> bool {
    let Some(policy) = &config.privacy_policy else {
        return true;
    };
    profile_of(user).get(ACCEPTED_VERSION).and_then(Value::as_str) == Some(policy.version.as_str())
}

/// Orders `fields` by `order`, dropping the others.
fn ordered(mut fields: Map<String, Value>, order: &[&str]) -> Value {
    Value::Object(order.iter().filter_map(|k| fields.remove(*k).map(|v| ((*k).to_owned(), v))).collect())
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
        Rejection::Expired | Rejection::Invalid(_) => {
            let message = match rejection {
                Rejection::Invalid(InvalidToken::Jwt(JwtError::WrongTokenType { .. })) => TOKEN_WRONG_TYPE,
                _ => TOKEN_NOT_VALID,
            };
            json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
            })
        }
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
    /// logout, register, request-reset, verify-password-reset, update-password-reset,
    /// user/update, user/password/update, activate, privacy-policy/check, privacy-policy/consent.
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
            .route(
                Route::stateful(
                    USER_UPDATE_PATH,
                    &[Method::GET, Method::POST],
                    self.clone(),
                    Self::user_update,
                )
                .with_doc(docs::user_update()),
            )
            .route(
                Route::stateful(PASSWORD_UPDATE_PATH, post, self.clone(), Self::password_update)
                    .with_doc(docs::password_update()),
            )
            .route(
                Route::stateful(ACTIVATE_PATH, get, self.clone(), Self::activate).with_doc(docs::activate()),
            )
            .route(
                Route::stateful(PRIVACY_CHECK_PATH, get, self.clone(), Self::privacy_check)
                    .with_doc(docs::privacy_check()),
            )
            .route(
                Route::stateful(PRIVACY_CONSENT_PATH, post, self.clone(), Self::privacy_consent)
                    .with_doc(docs::privacy_consent()),
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
