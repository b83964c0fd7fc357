//! tDAR (the Digital Archaeological Record): a Struts login answering a JAXB XML result
//! container, and a session key used as a cookie or as a query parameter.
//!
//! | endpoint | what it does |
//! |---|---|
//! | `POST /api/login` | form fields `userLogin.loginUsername`, `userLogin.loginPassword` (form-urlencoded or multipart) → 200 container with `username`, `sessionKeyName`, `apiToken`, the terms-of-use message; sets the session cookie |
//! | `POST /api/logout` | no parameters: ends the session of the cookie or query key, clears the cookie → 200 container; without a live session 403 with an empty body |
//!
//! Every answer, errors included, is `application/xml;charset=UTF-8`: a `tdar:resultContainer`
//! in the namespace `http://www.tdar.org/namespace` as JAXB writes it (`standalone="yes"`
//! declaration, 4-space indentation, the seed's namespace declarations and
//! `xsi:schemaLocation`), ending with `<tdar:statusCode>` (the HTTP status). Failures carry one
//! `<tdar:errors>` per message:
//!
//! | status | when | `tdar:errors` |
//! |---|---|---|
//! | 400 | a field missing or empty (both are reported, username first); an empty body without `Content-Type` is an empty form | [`MISSING_USERNAME`], [`MISSING_PASSWORD`] |
//! | 400 | unknown user or wrong password | [`AUTHENTICATION_FAILED`] |
//! | 400 | right password, deactivated account | [`ACCOUNT_INACTIVE`] |
//! | 400 | right password, not in [`TdarConfig::api_group`] | [`NO_API_ACCESS`] |
//! | 400 / 413 / 415 | a malformed, oversized or non-form body (a non-empty body without `Content-Type` is 415) | the codec's message |
//! | 405 (`Allow: POST`) | any other method, `OPTIONS` and `HEAD` included | `Method GET not allowed.` |
//! | 403 | (gate, logout) a state-changing request riding on the cookie from another site | [`CROSS_SITE_REFUSED`](crate::api::CROSS_SITE_REFUSED) |
//! | 403, empty body | (logout) no session key, or an unknown, expired, ended or malformed one | none |
//! | 403 | (gate) no session key | [`NOT_LOGGED_IN`] |
//! | 403 | (gate) an unknown, expired, ended or malformed key | [`SESSION_INVALID`] |
//! | 403 | (gate) the account was deactivated | [`ACCOUNT_INACTIVE`] |
//! | 503 | a store is down or the password hasher is busy (`Retry-After: 1`) | [`SERVICE_UNAVAILABLE`] |
//!
//! The original answers protected calls without a key with 403; invalid and expired keys get
//! 403 as well (decision: there is no HTTP authentication scheme for a cookie or query key, so a
//! 401 could not carry a meaningful `WWW-Authenticate`; the message tells the cases apart).
//!
//! ## Sessions
//!
//! Each login issues a fresh 256-bit [`OpaqueToken`], stored only as its hash as a
//! [`TokenKind::Session`] record of audience [`AUDIENCE`]. The session slides: every
//! authenticated use moves its end [`TdarConfig::idle_timeout`] ahead (default 30 minutes), up
//! to [`TdarConfig::max_session_lifetime`] after the login (default 8 hours; then the key is
//! refused and revoked). A login never reuses a session: if the login request carries a live
//! session cookie, that session is revoked once the new one is stored, so a cookie planted
//! before the login (session fixation) is worthless.
//!
//! The key is sent back as the cookie named [`TdarConfig::session_key_name`] (default
//! `session.tokenkey` as in the seed; the live system uses `crowd.token_key`) —
//! `<name>=<token>; HttpOnly; SameSite=Lax; Secure; Path=/` — or, as the seed's "Using the
//! Authentication Key" describes, as the query parameter of that name
//! (`?session.tokenkey=<apiToken>`). When a request has both, the query parameter decides (it
//! was put on this request on purpose; the cookie is ambient). Every tDAR answer (and every
//! refusal of the gate) carries `Referrer-Policy: no-referrer`, since keys travel in URLs; the
//! gate does not touch the app's own successful answers, so app routes reached with
//! `?session.tokenkey=` should send that header themselves.
//!
//! The gate of [`Tdar`] ([`Dialect::gate`](super::Dialect::gate)) turns on the
//! [cross-site protection](Gate::with_cross_site_protection) of cookie sessions; logout goes
//! through the same check. Logout without a live session (no key, or an unknown, expired or
//! ended one) answers 403 with an empty body, as the original's `ApiAuthenticationController`
//! does (its `authenticatedStack` with `@HttpForbiddenErrorResponseOnly`); it still clears the
//! cookie, which holds nothing worth keeping.
//!
//! ## Clients that post nothing
//!
//! `requests.post(url, data={})` sends `Content-Length: 0` and no `Content-Type`; Struts reads
//! that as a form without fields. So does the login: an empty body without `Content-Type` is an
//! empty form, answered 400 with both field errors. A non-empty body still needs a form type.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cookie::Cookie;
use http::header::{CONTENT_TYPE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value};

use super::kit::{self, BadLogin};
use super::{BuildDialect, store_error};
use crate::api::{
    Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Gate, HandlerResult, Origin, Refusal, Reply,
    Route, UserCheck,
};
use crate::carrier::{Carrier, CarrierKind, Found};
use crate::clock::SharedClock;
use crate::codec::{BodyFormat, CodecError, XmlDeclaration, XmlWriter};
use crate::guard::{Credential, Guard, Identity, InvalidToken, OpaqueVerifier, Rejection, TokenVerifier};
use crate::openapi::model::schema::Schema;
use crate::openapi::schema::xml_attribute;
use crate::openapi::{Answer, Endpoint};
use crate::services::Services;
use crate::store::{TokenKind, TokenRecord, TokenStore};
use crate::token::{OpaqueToken, TokenHash};
use crate::user::User;

/// The audience of tDAR sessions in the token store: other dialects' tokens are refused.
pub const AUDIENCE: &str = "tdar";
/// The login endpoint.
pub const LOGIN_PATH: &str = "/api/login";
/// The logout endpoint.
pub const LOGOUT_PATH: &str = "/api/logout";
/// The login form's username field.
pub const USERNAME_FIELD: &str = "userLogin.loginUsername";
/// The login form's password field.
pub const PASSWORD_FIELD: &str = "userLogin.loginPassword";
/// The namespace of the result container (prefix `tdar`).
pub const NAMESPACE: &str = "http://www.tdar.org/namespace";
/// The seed's session key name, the default of [`TdarConfig::session_key_name`].
pub const DEFAULT_SESSION_KEY_NAME: &str = "session.tokenkey";
/// The seed's `xsi:schemaLocation`, the default of [`TdarConfig::schema_location`].
pub const DEFAULT_SCHEMA_LOCATION: &str = "http://localhost:8180/schema/current schema.xsd";
/// The seed's terms-of-use notice (trailing space included), the default of
/// [`TdarConfig::message`].
pub const DEFAULT_MESSAGE: &str =
    "Please review the Terms of Use at http://www.tdar.org/about/policies/terms-of-use/ ";
/// The error for a missing or empty username (the original's `loginController.error_missing_username`
/// in `tdar-messages.properties`, prefixed by Struts' field name).
pub const MISSING_USERNAME: &str = "Field Error userLogin.loginUsername: Please enter a username";
/// The error for a missing or empty password (the original's `loginController.error_choose_password`).
pub const MISSING_PASSWORD: &str = "Field Error userLogin.loginPassword: Please enter a password";
/// The error for an unknown user or a wrong password (two spaces after the first sentence, as
/// the original writes it).
pub const AUTHENTICATION_FAILED: &str = "Could not authenticate: Authentication failed.  Please check that your username and password were entered correctly.";
/// The error for a deactivated account, given only after a correct password.
pub const ACCOUNT_INACTIVE: &str = "Could not authenticate: This account is inactive.";
/// The error for an account outside [`TdarConfig::api_group`], given only after a correct
/// password.
pub const NO_API_ACCESS: &str = "invalid user request, please request API Access";
/// The gate's error for a request without a session key.
pub const NOT_LOGGED_IN: &str = "Authentication required: log in at /api/login and send the session key.";
/// The gate's error for an unknown, expired, ended or malformed session key.
pub const SESSION_INVALID: &str = "The session key is invalid or has expired: log in again.";
/// The error of every 503: never a reason to log in again.
pub const SERVICE_UNAVAILABLE: &str = "Service temporarily unavailable, try again later.";
/// The error of a 500.
pub const SERVER_ERROR: &str = "A server error occurred.";
/// The error of a body that stopped before its end.
pub const INCOMPLETE_BODY: &str = "The request body is incomplete.";

const CONTENT_TYPE_XML: &str = "application/xml;charset=UTF-8";
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The ADS tag namespace JAXB declares in every tDAR answer (the seed's `xmlns:ns3`).
const NS3_NAMESPACE: &str = "http://archaeologydataservice.ac.uk/tag/schema";
const LOGIN_FORMATS: [BodyFormat; 2] = [BodyFormat::Form, BodyFormat::Multipart];
const REFERRER_POLICY: HeaderName = HeaderName::from_static("referrer-policy");

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent only with requests from this site.
    Strict,
    /// Also sent on top-level navigations from other sites (links), not on their POSTs or
    /// subrequests (the default).
    #[default]
    Lax,
    /// Sent with every request (needs `Secure`).
    None,
}

impl SameSite {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// How the tDAR endpoints behave where the seed and the live system differ or a deployment
/// chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdarConfig {
    /// The name of the session cookie and of the query parameter carrying the key, sent to
    /// clients as `sessionKeyName` (default `session.tokenkey`, the seed's; the live system
    /// uses `crowd.token_key`). Letters, digits and `-._~` only.
    pub session_key_name: String,
    /// The `xsi:schemaLocation` of every answer (default the seed's
    /// `http://localhost:8180/schema/current schema.xsd`).
    pub schema_location: String,
    /// The `<tdar:message>` of a successful login (default the seed's terms-of-use notice).
    pub message: String,
    /// How long a session lives without use; each authenticated request moves its end this far
    /// ahead (default 30 minutes).
    pub idle_timeout: Duration,
    /// The longest a session lives after its login however often it is used (default 8 hours;
    /// `None`: no limit besides the idle timeout).
    pub max_session_lifetime: Option<Duration>,
    /// The group a user must belong to to use the API, as the seed's "tDAR API Group" note asks.
    /// A correct login outside it is answered 400 [`NO_API_ACCESS`]. Default `None`: every
    /// active user may log in. (Checked at login: revoke a user's sessions with
    /// [`TokenStore::revoke_user`] when removing them from the group.)
    pub api_group: Option<String>,
    /// Leave `Secure` off the session cookie. Browsers (and `requests`) do not send a `Secure`
    /// cookie over plain HTTP, so a development server without TLS needs this; it also makes
    /// `http://<Host>` the server's own origin for the cross-site check. Never turn it on in
    /// production: the key would travel in clear text. Default `false`.
    pub insecure_cookies: bool,
    /// The cookie's `SameSite` (default `Lax`). `None` requires `Secure` cookies.
    pub same_site: SameSite,
    /// Sites besides this one whose pages may send state-changing requests with the session
    /// cookie (see [`Gate::with_cross_site_protection`]). Default none.
    pub trusted_origins: Vec<Origin>,
}

impl Default for TdarConfig {
    fn default() -> Self {
        Self {
            session_key_name: DEFAULT_SESSION_KEY_NAME.to_owned(),
            schema_location: DEFAULT_SCHEMA_LOCATION.to_owned(),
            message: DEFAULT_MESSAGE.to_owned(),
            idle_timeout: Duration::from_secs(30 * 60),
            max_session_lifetime: Some(Duration::from_secs(8 * 60 * 60)),
            api_group: None,
            insecure_cookies: false,
            same_site: SameSite::Lax,
            trusted_origins: Vec::new(),
        }
    }
}

/// A [`TdarConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TdarConfigError {
    /// The session key name is empty or has characters other than letters, digits and `-._~`
    /// (it names a cookie and a query parameter).
    #[error("invalid session key name {0:?}: use letters, digits and -._~ only")]
    InvalidSessionKeyName(String),
    /// `SameSite=None` cookies must be `Secure`: browsers drop them otherwise.
    #[error("SameSite=None needs Secure cookies (insecure_cookies is on)")]
    SameSiteNoneNeedsSecure,
    /// A zero idle timeout would end every session at once.
    #[error("the idle timeout must be longer than zero")]
    ZeroIdleTimeout,
    /// The idle timeout or the session lifetime is longer than [`MAX_SESSION_DURATION`].
    #[error("session timeouts are limited to 366 days")]
    TimeoutTooLong,
}

/// The longest [`TdarConfig::idle_timeout`] and [`TdarConfig::max_session_lifetime`] accepted:
/// 366 days (keeps every expiry computation far from the clock's range).
pub const MAX_SESSION_DURATION: Duration = Duration::from_secs(366 * 24 * 60 * 60);

impl TdarConfig {
    fn validate(&self) -> Result<(), TdarConfigError> {
        let name = &self.session_key_name;
        let name_ok = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !name_ok {
            return Err(TdarConfigError::InvalidSessionKeyName(name.clone()));
        }
        if self.same_site == SameSite::None && self.insecure_cookies {
            return Err(TdarConfigError::SameSiteNoneNeedsSecure);
        }
        if self.idle_timeout.is_zero() {
            return Err(TdarConfigError::ZeroIdleTimeout);
        }
        if self.idle_timeout > MAX_SESSION_DURATION
            || self.max_session_lifetime.is_some_and(|cap| cap > MAX_SESSION_DURATION)
        {
            return Err(TdarConfigError::TimeoutTooLong);
        }
        Ok(())
    }

    /// The session cookie holding `value`: `<name>=<value>; HttpOnly; SameSite=Lax; Secure; Path=/`.
    fn session_cookie<'a>(&'a self, value: &'a str) -> Cookie<'a> {
        let same_site = match self.same_site {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        };
        Cookie::build((self.session_key_name.as_str(), value))
            .http_only(true)
            .same_site(same_site)
            .secure(!self.insecure_cookies)
            .path("/")
            .build()
    }
}

/// The tDAR dialect ([`Dialect`](super::Dialect)). Cheap to clone.
///
/// - Its [`Api`]: `POST /api/login` (route 0) and `POST /api/logout` (route 1).
/// - Its [`Gate`] protects an app's routes with tDAR sessions: the key in the query parameter
///   or the cookie named [`TdarConfig::session_key_name`], the user loaded and refused when
///   deactivated, cookie-borne state-changing requests from other sites refused. Refusals are
///   403 result containers (see the [module docs](self)).
#[derive(Clone)]
pub struct Tdar {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    config: TdarConfig,
    renderer: Arc<TdarRenderer>,
    cookie: Carrier,
    gate: Gate,
}

dialect!(Tdar, "tdar", TdarConfig, TdarConfigError, |context, config| Tdar::new(
    context.services.clone(),
    config
));

impl Tdar {
    /// The dialect over `services` with `config`; fails on a configuration that cannot work.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use std::time::SystemTime;
    /// use authmount::api::RequestBody;
    /// use authmount::dialect::Dialect;
    /// use authmount::dialect::tdar::{Tdar, TdarConfig};
    /// use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
    /// use authmount::services::Services;
    /// use authmount::user::NewUser;
    ///
    /// # let fast = PasswordService::new(Arc::new(Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests())?));
    /// let services = Services::in_memory()?;
    /// # let services = services.with_passwords(fast);
    /// let hash = services.passwords.hash_new_password("correct horse battery").await?;
    /// services.users.create(NewUser::new("admin@tdar.org", SystemTime::now()).with_password_hash(hash)).await?;
    ///
    /// let tdar = Tdar::new(services, TdarConfig::default())?;
    /// let api = tdar.api(); // mount its routes; protect the app's routes with `tdar.gate()`
    ///
    /// let login = http::Request::post("/api/login")
    ///     .header("content-type", "application/x-www-form-urlencoded")
    ///     .body(())?
    ///     .into_parts()
    ///     .0;
    /// let body = "userLogin.loginUsername=admin%40tdar.org&userLogin.loginPassword=correct+horse+battery";
    /// let response = api.call(0, login, RequestBody::Complete(body.into())).await;
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["content-type"], "application/xml;charset=UTF-8");
    /// let cookie = response.headers()["set-cookie"].to_str()?;
    /// assert!(cookie.starts_with("session.tokenkey=") && cookie.ends_with("; HttpOnly; SameSite=Lax; Secure; Path=/"));
    /// let xml = std::str::from_utf8(response.body())?;
    /// assert!(xml.contains(r#"<tdar:resultContainer username="admin@tdar.org" sessionKeyName="session.tokenkey" apiToken=""#));
    /// assert!(xml.contains("<tdar:statusCode>200</tdar:statusCode>"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn new(services: Services, config: TdarConfig) -> Result<Self, TdarConfigError> {
        config.validate()?;
        let renderer = Arc::new(TdarRenderer { schema_location: config.schema_location.clone() });
        let verifier: Arc<dyn TokenVerifier> = Arc::new(SessionVerifier {
            sessions: OpaqueVerifier::new(services.tokens.clone(), TokenKind::Session, AUDIENCE),
            tokens: services.tokens.clone(),
            clock: services.clock.clone(),
            max_lifetime: config.max_session_lifetime,
        });
        let name = config.session_key_name.clone();
        let cookie = Carrier::cookie(name.clone());
        let guard = Guard::new()
            .with_shared(Carrier::query(name), verifier.clone())
            .with_shared(cookie.clone(), verifier);
        let mut gate = Gate::new(guard, renderer.clone() as Arc<dyn ErrorRenderer>)
            .with_user_check(UserCheck::RequireActive(services.users.clone()))
            .with_cross_site_protection(config.trusted_origins.iter().cloned());
        if config.insecure_cookies {
            gate = gate.with_plain_http_origin();
        }
        Ok(Self { inner: Arc::new(Inner { services, config, renderer, cookie, gate }) })
    }
}

impl Inner {
    /// `POST /api/login` (route 0) and `POST /api/logout` (route 1).
    fn api(self: &Arc<Self>) -> Api {
        Api::new(Tdar::NAME, self.renderer.clone())
            .route(
                Route::stateful(LOGIN_PATH, &[Method::POST], self.clone(), Self::login)
                    .with_doc(self.login_doc()),
            )
            .route(
                Route::stateful(LOGOUT_PATH, &[Method::POST], self.clone(), Self::logout)
                    .with_doc(self.logout_doc()),
            )
    }

    fn login_doc(&self) -> Endpoint {
        use crate::openapi::schema::{object, string, text};
        let fields = object(&[(USERNAME_FIELD, text()), (PASSWORD_FIELD, text())], &[]);
        let name = &self.config.session_key_name;
        let container = container_schema(&[
            ("username", xml_attribute(string())),
            ("sessionKeyName", xml_attribute(string())),
            ("apiToken", xml_attribute(string())),
            ("message", string()),
        ]);
        Endpoint::new("Log in: a session key, as a cookie and in the answer")
            .description(format!(
                "Form fields `{USERNAME_FIELD}` and `{PASSWORD_FIELD}`. The answer's `apiToken` works as the \
                 cookie `{name}` (set here) or as the query parameter `?{name}=`."
            ))
            .body(&LOGIN_FORMATS, fields)
            .answer(
                Answer::new(StatusCode::OK, "Logged in: the result container with `username`, `sessionKeyName`, `apiToken`.")
                    .content("application/xml", container)
                    .header("Set-Cookie", format!("`{name}=<apiToken>; HttpOnly; SameSite=Lax; Secure; Path=/`")),
            )
            .answer(
                Answer::new(StatusCode::BAD_REQUEST, "A field missing or empty, bad credentials, an inactive account or no API access: the messages in `tdar:errors`.")
                    .content("application/xml", container_schema(&[])),
            )
            .fails_with(&[StatusCode::TOO_MANY_REQUESTS])
    }

    fn logout_doc(&self) -> Endpoint {
        let name = &self.config.session_key_name;
        Endpoint::new("Log out: end the session of the cookie or query key")
            .description("Without a live session (no key, an unknown, expired or ended one) the answer is a bare 403, as the original's authenticated stack gives; a cross-site request riding on the cookie is 403 too.")
            .secured()
            .answer(
                Answer::new(StatusCode::OK, "Logged out: an empty result container; the cookie is cleared.")
                    .content("application/xml", container_schema(&[]))
                    .header("Set-Cookie", format!("`{name}=; Max-Age=0` (the cookie cleared)")),
            )
            .answer(
                Answer::new(
                    StatusCode::FORBIDDEN,
                    "No live session: an empty body (the cookie is cleared). A cross-site request riding on the cookie: the refusal in a result container.",
                )
                .header("Set-Cookie", format!("`{name}=; Max-Age=0` (the cookie cleared)")),
            )
    }

    async fn login(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let fields = login_fields(&request).await?;
        let username = text_field(&fields, USERNAME_FIELD).map(str::trim).filter(|u| !u.is_empty());
        let password = text_field(&fields, PASSWORD_FIELD).filter(|p| !p.is_empty());
        let (Some(username), Some(password)) = (username, password) else {
            let mut errors = Vec::new();
            if username.is_none() {
                errors.push(MISSING_USERNAME);
            }
            if password.is_none() {
                errors.push(MISSING_PASSWORD);
            }
            return Err(self.renderer.failure(StatusCode::BAD_REQUEST, &errors).into());
        };
        let bad = |why| {
            let error = match why {
                BadLogin::Invalid => AUTHENTICATION_FAILED,
                BadLogin::Inactive => ACCOUNT_INACTIVE,
            };
            Refusal::Shaped(self.renderer.failure(StatusCode::BAD_REQUEST, &[error]))
        };
        let user = kit::log_in(&self.services, head, username, password, bad).await?;
        if !self.has_access(&user) {
            return Err(self.renderer.failure(StatusCode::BAD_REQUEST, &[NO_API_ACCESS]).into());
        }
        let token = self.issue(&user).await?;
        let Ok(cookie) = HeaderValue::from_str(&self.config.session_cookie(token.as_str()).to_string())
        else {
            // The name is validated and the token is base64url: not reached.
            return Err(ApiError::Internal.into());
        };
        self.end_previous_session(head).await;
        let attributes = [
            ("username", username),
            ("sessionKeyName", self.config.session_key_name.as_str()),
            ("apiToken", token.as_str()),
        ];
        let body = self.renderer.document(&attributes, Some(&self.config.message), &[], StatusCode::OK);
        Ok(self.renderer.reply(StatusCode::OK, body).no_store().header(SET_COOKIE, cookie).into_response())
    }

    /// A fresh sliding session for `user`, stored by hash.
    async fn issue(&self, user: &User) -> Result<OpaqueToken, ApiError> {
        let idle = self.config.idle_timeout;
        let first_expiry = self.config.max_session_lifetime.map_or(idle, |cap| idle.min(cap));
        let record =
            TokenRecord::new(TokenKind::Session, user.id, AUDIENCE, self.services.clock.now(), first_expiry)
                .sliding(idle);
        kit::issue_opaque(&*self.services.tokens, record).await
    }

    /// Revokes the tDAR session whose key the login request carried in its cookie (session
    /// fixation: whatever was planted before the login stops working). Best effort: the browser
    /// replaces the cookie anyway, so a store failure is logged, not answered.
    async fn end_previous_session(&self, head: &Parts) {
        let Found::Token(previous) = self.cookie.find(head) else {
            return;
        };
        let hash = TokenHash::of(&previous);
        let outcome = match self.services.tokens.get(&hash).await {
            Ok(Some(record)) if record.kind == TokenKind::Session && record.audience == AUDIENCE => {
                self.services.tokens.revoke(&hash).await.map(drop)
            }
            Ok(_) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, "could not revoke the session a tDAR login replaced");
        }
    }

    fn has_access(&self, user: &User) -> bool {
        self.config.api_group.as_ref().is_none_or(|group| user.groups.iter().any(|g| g == group))
    }

    async fn logout(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        match self.gate.guard().authenticate(head).await {
            Ok(identity) => {
                self.gate.check_cross_site(head, &identity)?;
                self.end(&identity).await?;
                let client = self.services.client_ip(head);
                self.services.audit(crate::audit::AuthEvent::LoggedOut { user_id: identity.user_id, client });
            }
            Err(rejection @ Rejection::Unavailable(_)) => return Err(ApiError::Rejected(rejection).into()),
            // No live session: the original's authenticated stack answers a bare 403.
            Err(_) => {
                let refused = Reply::empty(StatusCode::FORBIDDEN)
                    .header(REFERRER_POLICY, HeaderValue::from_static("no-referrer"))
                    .header(SET_COOKIE, self.cleared_cookie()?);
                return Err(Refusal::Shaped(refused.no_store().into_response()));
            }
        }
        let body = self.renderer.document(&[], None, &[], StatusCode::OK);
        let reply =
            self.renderer.reply(StatusCode::OK, body).no_store().header(SET_COOKIE, self.cleared_cookie()?);
        Ok(reply.into_response())
    }

    /// The session cookie (same name, path and attributes), empty and expired at once.
    fn cleared_cookie(&self) -> Result<HeaderValue, ApiError> {
        let mut clear = self.config.session_cookie("");
        clear.set_max_age(cookie::time::Duration::ZERO);
        // The name is validated: not reached.
        HeaderValue::from_str(&clear.to_string()).map_err(|_| ApiError::Internal)
    }

    async fn end(&self, identity: &Identity) -> Result<(), ApiError> {
        if let Credential::Opaque { hash, .. } = &identity.credential {
            self.services.tokens.revoke(hash).await.map_err(store_error)?;
        }
        Ok(())
    }
}

/// The login form's fields. An empty body without `Content-Type` (what
/// `requests.post(url, data={})` sends) is an empty form, as Struts reads it; anything else is
/// decoded by its type (415 for a non-empty body without one).
async fn login_fields(request: &ApiRequest) -> Result<Map<String, Value>, CodecError> {
    if request.body.is_empty() && !request.head.headers.contains_key(CONTENT_TYPE) {
        return Ok(Map::new());
    }
    Ok(request.decode(&LOGIN_FORMATS).await?.fields)
}

/// The schema of the `tdar:resultContainer` document: `extra` (attributes and elements of a
/// successful answer), the `tdar:errors` messages of a failure, and `tdar:statusCode`.
fn container_schema(extra: &[(&str, Schema)]) -> Schema {
    use crate::openapi::schema::{array, object, string, xml_root};
    let mut optional: Vec<(&str, Schema)> = extra.to_vec();
    optional.push(("errors", array(string())));
    xml_root("tdar:resultContainer", object(&[("statusCode", string())], &optional))
}

/// A form field's text (form and multipart values are always strings).
fn text_field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

/// Verifies tDAR session keys: a live sliding [`TokenKind::Session`] record of audience
/// [`AUDIENCE`] (each use extends it), no older than the absolute lifetime.
struct SessionVerifier {
    sessions: OpaqueVerifier,
    tokens: Arc<dyn TokenStore>,
    clock: SharedClock,
    max_lifetime: Option<Duration>,
}

#[async_trait]
impl TokenVerifier for SessionVerifier {
    async fn verify(&self, token: &str, carrier: CarrierKind) -> Result<Identity, Rejection> {
        let identity = self.sessions.verify(token, carrier).await?;
        if let (Some(cap), Credential::Opaque { hash, record }) = (self.max_lifetime, &identity.credential)
            && record.issued_at.checked_add(cap).is_none_or(|end| self.clock.now() >= end)
        {
            if let Err(error) = self.tokens.revoke(hash).await {
                tracing::warn!(%error, "could not revoke a tDAR session past its lifetime");
            }
            return Err(Rejection::Expired);
        }
        Ok(identity)
    }
}

/// Renders tDAR's result container, for answers and for [`ApiError`]s.
#[derive(Debug)]
struct TdarRenderer {
    schema_location: String,
}

impl TdarRenderer {
    /// The container: `attributes` on the root (before the namespace declarations, as JAXB
    /// orders them), an optional `<tdar:message>`, one `<tdar:errors>` per error, the status.
    fn document(
        &self,
        attributes: &[(&str, &str)],
        message: Option<&str>,
        errors: &[&str],
        status: StatusCode,
    ) -> String {
        let mut root: Vec<(&str, &str)> = attributes.to_vec();
        root.extend([
            ("xsi:schemaLocation", self.schema_location.as_str()),
            ("xmlns:tdar", NAMESPACE),
            ("xmlns:ns3", NS3_NAMESPACE),
            ("xmlns:xsi", XSI_NAMESPACE),
        ]);
        let mut w = XmlWriter::new(XmlDeclaration::JaxbStandalone).pretty();
        w.start("tdar:resultContainer", &root);
        if let Some(message) = message {
            w.leaf("tdar:message", &[], message);
        }
        for error in errors {
            w.leaf("tdar:errors", &[], error);
        }
        w.leaf("tdar:statusCode", &[], status.as_str());
        w.end();
        // JAXB indents by 4 spaces, the writer by 2. The container is flat, and `<` never
        // appears unescaped in text or attribute values, so only indentation matches.
        w.finish().replace("\n  <", "\n    <")
    }

    fn reply(&self, status: StatusCode, document: String) -> Reply {
        Reply::new(status, HeaderValue::from_static(CONTENT_TYPE_XML), document)
            .header(REFERRER_POLICY, HeaderValue::from_static("no-referrer"))
    }

    fn failure(&self, status: StatusCode, errors: &[&str]) -> ApiResponse {
        self.reply(status, self.document(&[], None, errors, status)).into_response()
    }
}

impl ErrorRenderer for TdarRenderer {
    fn render(&self, error: &ApiError, _head: &Parts) -> ApiResponse {
        let message = match error {
            ApiError::MethodNotAllowed { method, .. } => format!("Method {method} not allowed."),
            ApiError::BodyTooLarge { limit } => CodecError::BodyTooLarge { limit: *limit }.to_string(),
            ApiError::IncompleteBody => INCOMPLETE_BODY.to_owned(),
            ApiError::Codec(error) => error.to_string(),
            ApiError::Rejected(Rejection::NotProvided) => NOT_LOGGED_IN.to_owned(),
            ApiError::Rejected(Rejection::Invalid(InvalidToken::InactiveUser)) => ACCOUNT_INACTIVE.to_owned(),
            ApiError::Rejected(Rejection::Unavailable(_)) | ApiError::Unavailable | ApiError::Busy => {
                SERVICE_UNAVAILABLE.to_owned()
            }
            ApiError::Rejected(Rejection::Malformed(_) | Rejection::Invalid(_) | Rejection::Expired) => {
                SESSION_INVALID.to_owned()
            }
            ApiError::Forbidden(reason) => (*reason).to_owned(),
            ApiError::TooManyAttempts { .. } => {
                format!(
                    "Too many failed login attempts. Try again in {} seconds.",
                    error.retry_after().unwrap_or(1)
                )
            }
            ApiError::Internal => SERVER_ERROR.to_owned(),
        };
        // No HTTP authentication scheme fits a cookie or query key: refusals are 403, as the
        // original answers unauthenticated calls.
        let status = match error.status() {
            StatusCode::UNAUTHORIZED => StatusCode::FORBIDDEN,
            other => other,
        };
        self.failure(status, &[&message])
    }

    /// The result container with its `tdar:errors` ([`container_schema`]); tDAR's refusals are
    /// 403, never 401.
    fn describe(&self, status: StatusCode) -> Answer {
        Answer::common(status).content(CONTENT_TYPE_XML, container_schema(&[]))
    }
}

#[cfg(test)]
mod tests;
