//! Oz (Oz Forensics' Oz API): a `credentials` envelope, a rich session object, opaque sliding
//! access tokens in the `X-Forensic-Access-Token` header and rotating refresh tokens.
//!
//! | endpoint | what it does |
//! |---|---|
//! | `POST /api/authorize/auth` | `{"credentials": {"email", "password"}, "device_info"?: {...}}` (JSON) → 200, the session object |
//! | `POST /api/authorize/refresh/` | `{"expire_token": "<refresh token>"}` (JSON) → 200, the same session with a new token pair |
//!
//! Both paths are served with and without the trailing slash. Only `application/json` bodies
//! are accepted (the seed shows nothing else; other types are 415). `email` may hold the
//! e-mail address or the username.
//!
//! ## The session object
//!
//! Keys in this order, as the seed documents:
//!
//! | key | value |
//! |---|---|
//! | `technical_meta_data` | `{}` |
//! | `session_id` | integer, random below 2^53 (exact in JavaScript), kept in the session's token records |
//! | `user_id` | the user's id as a string |
//! | `access_token` | opaque, 256 bits; works for [`OzConfig::access_idle_ttl`] after its last use (sliding) |
//! | `expire_token` | the refresh token; works once, until [`OzConfig::refresh_ttl`] after issue |
//! | `expire_date` | float, UNIX seconds when the access token expires if not used again |
//! | `device_info` | see [`DeviceInfo`]: the request's `device_info`, else derived from `User-Agent` and `Accept-Language`, else nulls |
//! | `old_access_token` | the token this one replaces, or `null` (see below) |
//! | `user` | `technical_meta_data`, `meta_data`, `user_id`, `user_type`, `first_name`, `last_name`, `middle_name`, `email`, `is_active`, `can_start_analyse_{biometry,collection,documents,quality}`, `company_id` |
//!
//! The user object comes from [`User`]'s core fields and these attributes:
//!
//! | key | source |
//! |---|---|
//! | `technical_meta_data`, `meta_data` | attributes `oz_technical_meta_data`, `oz_meta_data` (objects), else `{}` |
//! | `user_type` | attribute `oz_user_type` (string), else `"admin"` for admins and superusers, else `"user"` |
//! | `middle_name` | attribute `middle_name` (string), else `null` |
//! | `email` | the e-mail address, else `null` |
//! | `can_start_analyse_*` | attributes `oz_can_start_analyse_biometry` etc. (booleans), else [`OzConfig::can_start_analyse_default`] (`true`, as in the seed) |
//! | `company_id` | attribute `company_id` (string, or number given as a string), else `null` |
//!
//! `old_access_token`: tokens are stored only as hashes, so a previous token can only be named
//! if the client presents it. A login carrying `X-Forensic-Access-Token` with a live Oz access
//! token of the same user answers it here and ends that token's session (it is superseded);
//! anything else is `null`. A refresh carrying the session's current access token answers it
//! here; that token keeps working until the new access token is first used.
//!
//! ## Tokens
//!
//! Tokens travel in `X-Forensic-Access-Token: <access_token>`; [`Oz::gate`] protects an app's
//! routes with them. Each login opens a session: a token family holding the access token
//! ([`TokenKind::Access`], audience [`AUDIENCE`], sliding) and the refresh token
//! ([`TokenKind::Refresh`]). A refresh rotates the refresh token atomically: presenting a spent
//! refresh token again revokes the whole session (401, code 7). The previous access token stays
//! usable until the new one is first used, then it is revoked. The previous refresh token is
//! spent at once.
//!
//! To answer "expired" (code 8) rather than "invalid" (code 7), each token has a marker record
//! keyed by a hash derived from the token's hash, living [`OzConfig::expired_grace`] longer
//! than the token (each use of an access token moves its marker too). Revoked tokens lose their
//! marker and are "invalid".
//!
//! ## Errors
//!
//! `{"error_code": int, "error_message": str, "details": null | {...}}` with the vendor's codes
//! ([`ErrorCode`]):
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | 3 INVALID STRUCTURE | body not JSON, not an object, `credentials` missing or not an object, a required field missing (details `{"credentials.email": "required"}`), body cut off |
//! | 400 | 4 INVALID VALUE | a blank `email`, `password` or `expire_token` (`"must not be blank"`) |
//! | 400 | 5 INVALID TYPE | a field of the wrong JSON type (`"must be a string"`; `device_info` values: `"must be a string or null"`) |
//! | 401 | 6 AUTH NOT PROVIDED | no `X-Forensic-Access-Token` on a protected route |
//! | 401 | 7 AUTH INVALID | bad credentials (unknown login and wrong password alike), unknown, revoked, reused or foreign token, malformed header |
//! | 401 | 8 AUTH EXPIRED | an access token idle too long, a refresh token past its lifetime |
//! | 403 | 9 AUTH FORBIDDEN | deactivated account, after a correct password or with a live token (or 401/7: [`OzConfig::inactive_is_forbidden`]) |
//! | 405 | 1 NOT ALLOWED | wrong method (with `Allow`) |
//! | 413 | 3 INVALID STRUCTURE | body over the limit |
//! | 415 | 3 INVALID STRUCTURE | not `application/json` |
//! | 503 | 0 UNKNOWN | a store is down, or too many logins wait for the hasher (with `Retry-After: 1`) |
//! | 500 | 0 UNKNOWN | a server fault |
//!
//! Every 401 carries `WWW-Authenticate: X-Forensic-Access-Token realm="api"`. Multiple field
//! problems are all listed in `details`; the code is that of the gravest (3, then 5, then 4).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, USER_AGENT, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::store_error;
use crate::api::{Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Gate, Reply, Route, UserCheck};
use crate::carrier::{Carrier, CarrierKind, Found};
use crate::codec::{BodyFormat, BodyLimits, decode_body};
use crate::guard::{Credential, Guard, Identity, InvalidToken, OpaqueVerifier, Rejection, TokenVerifier};
use crate::login::LoginError;
use crate::services::Services;
use crate::store::{Rotation, StoreError, TokenKind, TokenRecord, TokenStore};
use crate::token::{OpaqueToken, TokenHash, random_id};
use crate::user::User;

/// The audience of Oz tokens in the token store: other dialects' tokens are refused.
pub const AUDIENCE: &str = "oz";
/// The login endpoint (the seed's path, without a trailing slash).
pub const AUTH_PATH: &str = "/api/authorize/auth";
/// The refresh endpoint.
pub const REFRESH_PATH: &str = "/api/authorize/refresh/";
/// The header carrying the access token.
pub const TOKEN_HEADER: &str = "x-forensic-access-token";
/// The `WWW-Authenticate` challenge of every 401.
pub const CHALLENGE: &str = "X-Forensic-Access-Token realm=\"api\"";

/// The audience of the markers that tell expired tokens from unknown ones (never a token).
const MARKER_AUDIENCE: &str = "oz.expiry-marker";
/// Record data keys.
const SESSION_ID: &str = "session_id";
const ACCESS: &str = "access";
const PREDECESSORS: &str = "predecessors";
const DEVICE_INFO: &str = "device_info";
/// The largest session id: 2^53 - 1, exact in every JSON client.
const MAX_SESSION_ID: u64 = (1 << 53) - 1;
/// Longest device-info value derived from headers.
const MAX_DERIVED_CHARS: usize = 128;

/// How the Oz endpoints behave where the seed leaves a choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OzConfig {
    /// How long an access token works after its last use (default 15 minutes, the vendor's).
    pub access_idle_ttl: Duration,
    /// How long a refresh token works after issue (default 30 days).
    pub refresh_ttl: Duration,
    /// How long after a token expires it is still answered "expired" (code 8) rather than
    /// "invalid" (code 7) (default 24 hours).
    pub expired_grace: Duration,
    /// `can_start_analyse_*` for users without the attribute (default `true`, as in the seed).
    pub can_start_analyse_default: bool,
    /// Answer a deactivated account (correct password, or a live token) with 403 code 9
    /// (default), or with 401 code 7 like bad credentials.
    pub inactive_is_forbidden: bool,
}

impl Default for OzConfig {
    fn default() -> Self {
        Self {
            access_idle_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            expired_grace: Duration::from_secs(24 * 60 * 60),
            can_start_analyse_default: true,
            inactive_is_forbidden: true,
        }
    }
}

/// The vendor's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: unknown server error (500, 503).
    Unknown,
    /// 1: method not allowed (405).
    NotAllowed,
    /// 2: documented but not implemented.
    NotRealized,
    /// 3: wrong request structure: missing fields, unreadable body (400, 413, 415).
    InvalidStructure,
    /// 4: a parameter's value is wrong (400).
    InvalidValue,
    /// 5: a parameter's type is wrong (400).
    InvalidType,
    /// 6: no access token (401).
    AuthNotProvided,
    /// 7: the token (or the credentials) are not valid (401).
    AuthInvalid,
    /// 8: the token has expired (401).
    AuthExpired,
    /// 9: access denied for the current user (403).
    AuthForbidden,
    /// 10: the resource does not exist (404).
    NotExist,
    /// 11: an external service failed.
    ExternalService,
}

impl ErrorCode {
    /// The number sent as `error_code`.
    ///
    /// ```
    /// assert_eq!(authmount::dialect::oz::ErrorCode::AuthExpired.number(), 8);
    /// ```
    pub fn number(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::NotAllowed => 1,
            Self::NotRealized => 2,
            Self::InvalidStructure => 3,
            Self::InvalidValue => 4,
            Self::InvalidType => 5,
            Self::AuthNotProvided => 6,
            Self::AuthInvalid => 7,
            Self::AuthExpired => 8,
            Self::AuthForbidden => 9,
            Self::NotExist => 10,
            Self::ExternalService => 11,
        }
    }
}

/// `{"error_code", "error_message", "details"}`.
///
/// ```
/// use authmount::dialect::oz::{ErrorCode, error_body};
/// assert_eq!(
///     error_body(ErrorCode::NotExist, "Not found", None).to_string(),
///     r#"{"error_code":10,"error_message":"Not found","details":null}"#
/// );
/// ```
pub fn error_body(code: ErrorCode, message: &str, details: Option<Value>) -> Value {
    json!({
        "error_code": code.number(),
        "error_message": message,
        "details": details.unwrap_or(Value::Null),
    })
}

/// Renders errors in Oz's shape (see the [module docs](self) for the table).
#[derive(Debug, Clone)]
pub struct OzRenderer {
    inactive_is_forbidden: bool,
}

impl OzRenderer {
    /// A renderer; `inactive_is_forbidden` as [`OzConfig::inactive_is_forbidden`].
    pub fn new(inactive_is_forbidden: bool) -> Self {
        Self { inactive_is_forbidden }
    }

    /// An error response: `status`, the body of [`error_body`], and `WWW-Authenticate` on 401.
    ///
    /// ```
    /// use authmount::dialect::oz::{ErrorCode, OzRenderer};
    /// let response = OzRenderer::new(true).reply(http::StatusCode::UNAUTHORIZED, ErrorCode::AuthInvalid, "Invalid credentials", None);
    /// assert_eq!(response.headers()["www-authenticate"], "X-Forensic-Access-Token realm=\"api\"");
    /// ```
    pub fn reply(
        &self,
        status: StatusCode,
        code: ErrorCode,
        message: &str,
        details: Option<Value>,
    ) -> ApiResponse {
        let reply = Reply::json(status, &error_body(code, message, details));
        if status == StatusCode::UNAUTHORIZED {
            reply.header(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE)).into_response()
        } else {
            reply.into_response()
        }
    }

    /// Renders `error` and adds `Retry-After` to a busy hasher's 503 (what [`Api::render`]
    /// does for errors the [`Api`] itself meets).
    pub fn respond(&self, error: &ApiError, head: &Parts) -> ApiResponse {
        let mut response = self.render(error, head);
        error.add_headers(&mut response);
        response
    }

    fn inactive(&self) -> ApiResponse {
        if self.inactive_is_forbidden {
            self.reply(StatusCode::FORBIDDEN, ErrorCode::AuthForbidden, "User is inactive", None)
        } else {
            self.reply(StatusCode::UNAUTHORIZED, ErrorCode::AuthInvalid, "Access token is invalid", None)
        }
    }
}

const UNAVAILABLE: &str = "Service temporarily unavailable, try again later";

impl ErrorRenderer for OzRenderer {
    fn render(&self, error: &ApiError, _head: &Parts) -> ApiResponse {
        use ErrorCode as C;
        use StatusCode as S;
        match error {
            ApiError::MethodNotAllowed { method, .. } => self.reply(
                S::METHOD_NOT_ALLOWED,
                C::NotAllowed,
                &format!("Method \"{method}\" not allowed"),
                None,
            ),
            ApiError::BodyTooLarge { limit } => self.reply(
                S::PAYLOAD_TOO_LARGE,
                C::InvalidStructure,
                &format!("Request body is larger than the limit of {limit} bytes"),
                None,
            ),
            ApiError::IncompleteBody => {
                self.reply(S::BAD_REQUEST, C::InvalidStructure, "The request body is incomplete", None)
            }
            ApiError::Codec(error) => {
                self.reply(error.status(), C::InvalidStructure, &error.to_string(), None)
            }
            ApiError::Rejected(rejection) => match rejection {
                Rejection::NotProvided => {
                    self.reply(S::UNAUTHORIZED, C::AuthNotProvided, "Access token not provided", None)
                }
                Rejection::Malformed(why) => {
                    self.reply(S::UNAUTHORIZED, C::AuthInvalid, &why.to_string(), None)
                }
                Rejection::Invalid(InvalidToken::InactiveUser) => self.inactive(),
                Rejection::Invalid(_) => {
                    self.reply(S::UNAUTHORIZED, C::AuthInvalid, "Access token is invalid", None)
                }
                Rejection::Expired => {
                    self.reply(S::UNAUTHORIZED, C::AuthExpired, "Access token has expired", None)
                }
                Rejection::Unavailable(_) => {
                    self.reply(S::SERVICE_UNAVAILABLE, C::Unknown, UNAVAILABLE, None)
                }
            },
            ApiError::Forbidden(message) => self.reply(S::FORBIDDEN, C::AuthForbidden, message, None),
            ApiError::Unavailable | ApiError::Busy => {
                self.reply(S::SERVICE_UNAVAILABLE, C::Unknown, UNAVAILABLE, None)
            }
            ApiError::TooManyAttempts { .. } => {
                let wait = error.retry_after().unwrap_or(1);
                let message = format!("Too many failed login attempts, try again in {wait} seconds");
                self.reply(S::TOO_MANY_REQUESTS, C::AuthForbidden, &message, None)
            }
            ApiError::Internal => {
                self.reply(S::INTERNAL_SERVER_ERROR, C::Unknown, "Unknown server side error occurred", None)
            }
        }
    }
}

/// The device a session was opened from, as the session object's `device_info` carries it.
///
/// From the login body's `device_info` object when sent (each value a string or `null`;
/// unknown keys ignored), else [`from_headers`](Self::from_headers), else all `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `device_family`, e.g. `PostmanRuntime` or `iPhone`.
    pub device_family: Option<String>,
    /// `device_platform`, e.g. `ios`.
    pub device_platform: Option<String>,
    /// `device_os`, e.g. `iOS 17.1`.
    pub device_os: Option<String>,
    /// `app_version`.
    pub app_version: Option<String>,
    /// `app_build`.
    pub app_build: Option<String>,
    /// `device_locale`, e.g. `en-US`.
    pub device_locale: Option<String>,
    /// `sdk_version`.
    pub sdk_version: Option<String>,
    /// `sdk_build`.
    pub sdk_build: Option<String>,
    /// `bundle_id`.
    pub bundle_id: Option<String>,
}

/// The keys of `device_info`, in the seed's order.
pub const DEVICE_INFO_KEYS: [&str; 9] = [
    "device_family",
    "device_platform",
    "device_os",
    "app_version",
    "app_build",
    "device_locale",
    "sdk_version",
    "sdk_build",
    "bundle_id",
];

impl DeviceInfo {
    fn slots(&mut self) -> [&mut Option<String>; 9] {
        [
            &mut self.device_family,
            &mut self.device_platform,
            &mut self.device_os,
            &mut self.app_version,
            &mut self.app_build,
            &mut self.device_locale,
            &mut self.sdk_version,
            &mut self.sdk_build,
            &mut self.bundle_id,
        ]
    }

    /// Reads a `device_info` object: each known key a string or `null` (absent: `null`), other
    /// keys ignored. `Err` lists the keys of the wrong type.
    ///
    /// ```
    /// use authmount::dialect::oz::DeviceInfo;
    /// let info = DeviceInfo::from_object(serde_json::json!({"app_version": "1.2", "x": 1}).as_object().unwrap()).unwrap();
    /// assert_eq!(info.app_version.as_deref(), Some("1.2"));
    /// let wrong = DeviceInfo::from_object(serde_json::json!({"app_build": 7}).as_object().unwrap());
    /// assert_eq!(wrong.unwrap_err(), vec!["app_build"]);
    /// ```
    pub fn from_object(object: &Map<String, Value>) -> Result<Self, Vec<&'static str>> {
        let mut info = Self::default();
        let mut wrong = Vec::new();
        for (key, slot) in DEVICE_INFO_KEYS.into_iter().zip(info.slots()) {
            match object.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::String(value)) => *slot = Some(value.clone()),
                Some(_) => wrong.push(key),
            }
        }
        if wrong.is_empty() { Ok(info) } else { Err(wrong) }
    }

    /// Derives what the headers tell: `User-Agent`'s first product gives `device_family` and
    /// `app_version` (`PostmanRuntime/7.15.2`), its first comment `device_os`
    /// (`Mozilla/5.0 (Windows NT 10.0; Win64)` → `Windows NT 10.0`); `Accept-Language`'s first
    /// language gives `device_locale`. Values are cut to 128 characters.
    ///
    /// ```
    /// use authmount::dialect::oz::DeviceInfo;
    /// let head = http::Request::get("/")
    ///     .header("user-agent", "PostmanRuntime/7.15.2")
    ///     .header("accept-language", "de-CH, de;q=0.9")
    ///     .body(()).unwrap().into_parts().0;
    /// let info = DeviceInfo::from_headers(&head.headers);
    /// assert_eq!(info.device_family.as_deref(), Some("PostmanRuntime"));
    /// assert_eq!(info.app_version.as_deref(), Some("7.15.2"));
    /// assert_eq!(info.device_locale.as_deref(), Some("de-CH"));
    /// assert_eq!(info.device_os, None);
    /// ```
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let mut info = Self::default();
        if let Some(agent) = text(USER_AGENT).filter(|a| !a.is_empty()) {
            let (product, rest) = agent.split_once(char::is_whitespace).unwrap_or((agent, ""));
            let (name, version) = product.split_once('/').unwrap_or((product, ""));
            info.device_family = derived(name);
            info.app_version = derived(version);
            if let Some(comment) = rest.trim_start().strip_prefix('(') {
                let comment = comment.split(')').next().unwrap_or_default();
                info.device_os = derived(comment.split(';').next().unwrap_or_default());
            }
        }
        if let Some(languages) = text(ACCEPT_LANGUAGE) {
            let first = languages.split(',').next().unwrap_or_default();
            let tag = first.split(';').next().unwrap_or_default();
            if tag.trim() != "*" {
                info.device_locale = derived(tag);
            }
        }
        info
    }

    /// The `device_info` object, every key present, in the seed's order.
    pub fn to_value(&self) -> Value {
        let mut copy = self.clone();
        let mut map = Map::new();
        for (key, slot) in DEVICE_INFO_KEYS.into_iter().zip(copy.slots()) {
            map.insert(key.to_owned(), slot.take().map_or(Value::Null, Value::String));
        }
        Value::Object(map)
    }

    /// Reads back what [`to_value`](Self::to_value) wrote (wrongly typed values: `null`).
    fn from_stored(value: Option<&Value>) -> Self {
        let mut info = Self::default();
        if let Some(object) = value.and_then(Value::as_object) {
            for (key, slot) in DEVICE_INFO_KEYS.into_iter().zip(info.slots()) {
                *slot = object.get(key).and_then(Value::as_str).map(str::to_owned);
            }
        }
        info
    }
}

/// A header-derived value: trimmed, at most [`MAX_DERIVED_CHARS`], `None` when empty.
fn derived(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(MAX_DERIVED_CHARS).collect())
}

/// The Oz dialect: its [`Api`] (login, refresh) and the [`Gate`] that protects an app's routes
/// with Oz access tokens. Cheap to clone.
#[derive(Clone)]
pub struct Oz {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    config: OzConfig,
    renderer: Arc<OzRenderer>,
    gate: Gate,
    carrier: Carrier,
}

impl std::fmt::Debug for Oz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oz").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Oz {
    /// The dialect over `services` with `config`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use std::time::SystemTime;
    /// use authmount::api::{AuthState, RequestBody};
    /// use authmount::dialect::oz::{Oz, OzConfig};
    /// use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
    /// use authmount::services::Services;
    /// use authmount::user::NewUser;
    ///
    /// # let fast = PasswordService::new(Arc::new(Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests())?));
    /// let services = Services::in_memory()?;
    /// # let services = services.with_passwords(fast);
    /// let hash = services.passwords.hash_new_password("correct horse battery").await?;
    /// let user = NewUser::new("ann", SystemTime::now()).with_email("ann@example.org").with_password_hash(hash);
    /// services.users.create(user).await?;
    ///
    /// let oz = Oz::new(services, OzConfig::default());
    /// let api = oz.api(); // mount its routes; protect the app's routes with `oz.gate()`
    ///
    /// let login = http::Request::post("/api/authorize/auth")
    ///     .header("content-type", "application/json")
    ///     .body(())?
    ///     .into_parts()
    ///     .0;
    /// let body = br#"{"credentials": {"email": "ann@example.org", "password": "correct horse battery"}}"#;
    /// let response = api.call(0, login, RequestBody::Complete(body[..].into())).await;
    /// assert_eq!(response.status(), 200);
    /// let session: serde_json::Value = serde_json::from_slice(response.body())?;
    /// assert_eq!(session["user"]["email"], "ann@example.org");
    ///
    /// let call = http::Request::get("/app/anything")
    ///     .header("x-forensic-access-token", session["access_token"].as_str().unwrap())
    ///     .body(())?
    ///     .into_parts()
    ///     .0;
    /// assert!(matches!(oz.gate().check(&call).await, AuthState::Authenticated(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn new(services: Services, config: OzConfig) -> Self {
        let renderer = Arc::new(OzRenderer::new(config.inactive_is_forbidden));
        let carrier = Carrier::header(HeaderName::from_static(TOKEN_HEADER));
        let verifier = OzVerifier {
            inner: OpaqueVerifier::new(services.tokens.clone(), TokenKind::Access, AUDIENCE),
            tokens: services.tokens.clone(),
        };
        let guard = Guard::new().with(carrier.clone(), verifier);
        let gate = Gate::new(guard, renderer.clone() as Arc<dyn ErrorRenderer>)
            .with_user_check(UserCheck::RequireActive(services.users.clone()));
        Self { inner: Arc::new(Inner { services, config, renderer, gate, carrier }) }
    }

    /// The endpoints to mount: `POST /api/authorize/auth` (route 0) and
    /// `POST /api/authorize/refresh/` (route 1).
    pub fn api(&self) -> Api {
        let login = self.inner.clone();
        let refresh = self.inner.clone();
        let renderer: Arc<dyn ErrorRenderer> = self.inner.renderer.clone();
        Api::new("oz", renderer)
            .route(Route::new(AUTH_PATH, &[Method::POST], move |request: ApiRequest| {
                let inner = login.clone();
                async move { inner.auth(request).await }
            }))
            .route(Route::new(REFRESH_PATH, &[Method::POST], move |request: ApiRequest| {
                let inner = refresh.clone();
                async move { inner.refresh(request).await }
            }))
    }

    /// The gate protecting an app's routes with Oz access tokens
    /// (`X-Forensic-Access-Token: <access_token>`): each use extends the token's idle expiry,
    /// retires the token it replaced at a refresh, and loads the user (deactivated: 403 code 9).
    pub fn gate(&self) -> Gate {
        self.inner.gate.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &OzConfig {
        &self.inner.config
    }

    /// The error renderer, for app routes that answer in Oz's shape.
    pub fn renderer(&self) -> &OzRenderer {
        &self.inner.renderer
    }
}

/// The key of the marker telling "expired" from "unknown" for the token stored under `hash`.
fn marker_key(hash: &TokenHash) -> TokenHash {
    TokenHash::of(&format!("oz-expiry-marker:{}", hash.to_hex()))
}

/// The access-token verifier: [`OpaqueVerifier`] plus the expiry markers and the retirement of
/// the tokens a refreshed access token replaces.
struct OzVerifier {
    inner: OpaqueVerifier,
    tokens: Arc<dyn TokenStore>,
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
fn hashes(value: Option<&Value>) -> Vec<TokenHash> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items.iter().filter_map(Value::as_str).filter_map(|h| TokenHash::from_hex(h).ok()).collect()
        })
        .unwrap_or_default()
}

/// A refused request: status, code, message, details.
struct Failure {
    status: StatusCode,
    code: ErrorCode,
    message: &'static str,
    details: Option<Value>,
}

impl Failure {
    fn new(status: StatusCode, code: ErrorCode, message: &'static str) -> Self {
        Self { status, code, message, details: None }
    }

    fn invalid_token(message: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::AuthInvalid, message)
    }
}

/// Field problems of a request body, collected in order.
#[derive(Default)]
struct Problems {
    details: Map<String, Value>,
    worst: Option<ErrorCode>,
}

impl Problems {
    fn add(&mut self, field: &str, code: ErrorCode, message: &str) {
        self.details.insert(field.to_owned(), Value::String(message.to_owned()));
        let rank = |c: ErrorCode| match c {
            ErrorCode::InvalidStructure => 3,
            ErrorCode::InvalidType => 2,
            _ => 1,
        };
        if self.worst.is_none_or(|worst| rank(code) > rank(worst)) {
            self.worst = Some(code);
        }
    }

    /// A required string: trimmed unless `trim` is off; missing 3, not a string 5, blank 4.
    fn string(&mut self, object: &Map<String, Value>, key: &str, path: &str, trim: bool) -> Option<String> {
        match object.get(key) {
            None => self.add(path, ErrorCode::InvalidStructure, "required"),
            Some(Value::String(value)) => {
                let value = if trim { value.trim() } else { value.as_str() };
                if value.is_empty() {
                    self.add(path, ErrorCode::InvalidValue, "must not be blank");
                } else {
                    return Some(value.to_owned());
                }
            }
            Some(_) => self.add(path, ErrorCode::InvalidType, "must be a string"),
        }
        None
    }

    fn finish(self) -> Result<(), Failure> {
        let Some(code) = self.worst else { return Ok(()) };
        let message = match code {
            ErrorCode::InvalidStructure => "Invalid request structure",
            ErrorCode::InvalidType => "Invalid parameter type",
            _ => "Invalid parameter value",
        };
        Err(Failure {
            status: StatusCode::BAD_REQUEST,
            code,
            message,
            details: Some(Value::Object(self.details)),
        })
    }
}

/// What the login body holds.
struct Credentials {
    login: String,
    password: String,
    device: Option<DeviceInfo>,
}

/// A token issued with its marker.
struct Issued {
    token: OpaqueToken,
    record: TokenRecord,
}

/// Seconds since the epoch as a float.
fn unix_float(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A random session id in 1..=2^53-1.
fn new_session_id() -> Result<u64, ApiError> {
    let random = getrandom::u64().map_err(|error| {
        tracing::error!(%error, "could not generate an Oz session id");
        ApiError::Internal
    })?;
    Ok((random & MAX_SESSION_ID).max(1))
}

fn generate() -> Result<OpaqueToken, ApiError> {
    OpaqueToken::generate().map_err(|error| {
        tracing::error!(%error, "could not generate an Oz token");
        ApiError::Internal
    })
}

impl Inner {
    fn fail(&self, failure: Failure) -> ApiResponse {
        self.renderer.reply(failure.status, failure.code, failure.message, failure.details)
    }

    /// Decodes a JSON object body (415/413/400 as code 3).
    async fn body(&self, request: &ApiRequest) -> Result<Map<String, Value>, ApiResponse> {
        let content_type = request.head.headers.get(CONTENT_TYPE);
        decode_body(content_type, &request.body, &[BodyFormat::Json], &BodyLimits::default())
            .await
            .map(|decoded| decoded.fields)
            .map_err(|error| self.renderer.respond(&ApiError::Codec(error), &request.head))
    }

    fn credentials(body: &Map<String, Value>) -> Result<Credentials, Failure> {
        let mut problems = Problems::default();
        let mut credentials = None;
        match body.get("credentials") {
            None => problems.add("credentials", ErrorCode::InvalidStructure, "required"),
            Some(Value::Object(object)) => {
                let login = problems.string(object, "email", "credentials.email", true);
                let password = problems.string(object, "password", "credentials.password", false);
                credentials = login.zip(password);
            }
            Some(_) => problems.add("credentials", ErrorCode::InvalidStructure, "must be an object"),
        }
        let device = match body.get(DEVICE_INFO) {
            None | Some(Value::Null) => None,
            Some(Value::Object(object)) => match DeviceInfo::from_object(object) {
                Ok(info) => Some(info),
                Err(wrong) => {
                    for key in wrong {
                        problems.add(
                            &format!("device_info.{key}"),
                            ErrorCode::InvalidType,
                            "must be a string or null",
                        );
                    }
                    None
                }
            },
            Some(_) => {
                problems.add(DEVICE_INFO, ErrorCode::InvalidType, "must be an object");
                None
            }
        };
        problems.finish()?;
        let (login, password) = credentials.ok_or_else(|| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Unknown,
                "Unknown server side error occurred",
            )
        })?;
        Ok(Credentials { login, password, device })
    }

    async fn auth(&self, request: ApiRequest) -> ApiResponse {
        let head = &request.head;
        let body = match self.body(&request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        let credentials = match Self::credentials(&body) {
            Ok(credentials) => credentials,
            Err(failure) => return self.fail(failure),
        };
        let user = match self
            .services
            .authenticator()
            .authenticate_request(head, &credentials.login, &credentials.password)
            .await
        {
            Ok(user) => user,
            Err(LoginError::InvalidCredentials) => {
                return self.fail(Failure::invalid_token("Invalid credentials"));
            }
            Err(LoginError::Inactive(_)) if self.config.inactive_is_forbidden => {
                return self.renderer.inactive();
            }
            Err(LoginError::Inactive(_)) => {
                return self.fail(Failure::invalid_token("Invalid credentials"));
            }
            Err(error) => {
                let error = super::login_failure(error).unwrap_or(ApiError::Internal);
                return self.renderer.respond(&error, head);
            }
        };
        let previous = match self.presented_session(head, &user).await {
            Ok(previous) => previous,
            Err(error) => return self.renderer.respond(&error, head),
        };
        let device = credentials.device.unwrap_or_else(|| DeviceInfo::from_headers(&head.headers));
        let session = match self.open_session(&user, &device).await {
            Ok(session) => session,
            Err(error) => return self.renderer.respond(&error, head),
        };
        let old_access_token = match previous {
            None => None,
            Some((token, family)) => {
                if let Err(error) = self.end_session(family.as_deref(), &token).await {
                    self.rollback(&session.family).await;
                    return self.renderer.respond(&store_error(error), head);
                }
                Some(token)
            }
        };
        self.session_response(&user, &session, &device, old_access_token)
    }

    /// The live Oz access token of `user` presented with a login, and its session.
    async fn presented_session(
        &self,
        head: &Parts,
        user: &User,
    ) -> Result<Option<(String, Option<String>)>, ApiError> {
        let Found::Token(token) = self.carrier.find(head) else { return Ok(None) };
        let record = self.services.tokens.get(&TokenHash::of(&token)).await.map_err(store_error)?;
        Ok(record
            .filter(|r| r.kind == TokenKind::Access && r.audience == AUDIENCE && r.user_id == user.id)
            .map(|r| (token.into_owned(), r.family)))
    }

    /// Ends the session of a superseded access token.
    async fn end_session(&self, family: Option<&str>, token: &str) -> Result<(), StoreError> {
        match family {
            Some(family) => self.services.tokens.revoke_family(family).await.map(drop),
            None => {
                let hash = TokenHash::of(token);
                self.services.tokens.revoke(&hash).await?;
                self.services.tokens.revoke(&marker_key(&hash)).await.map(drop)
            }
        }
    }

    /// Best-effort removal of a session whose request failed.
    async fn rollback(&self, family: &str) {
        if let Err(error) = self.services.tokens.revoke_family(family).await {
            tracing::warn!(%error, "could not roll back an Oz session");
        }
    }

    /// The access token record, in `family`, replacing `predecessors`.
    fn access_record(
        &self,
        user: &User,
        family: &str,
        session_id: u64,
        predecessors: &[TokenHash],
    ) -> TokenRecord {
        let now = self.services.clock.now();
        let mut record =
            TokenRecord::new(TokenKind::Access, user.id, AUDIENCE, now, self.config.access_idle_ttl)
                .sliding(self.config.access_idle_ttl)
                .in_family(family)
                .with_data(SESSION_ID, session_id);
        if !predecessors.is_empty() {
            let list: Vec<Value> = predecessors.iter().map(|h| Value::String(h.to_hex())).collect();
            record = record.with_data(PREDECESSORS, list);
        }
        record
    }

    fn refresh_record(
        &self,
        user: &User,
        family: &str,
        session_id: u64,
        access: &TokenHash,
        device: &DeviceInfo,
    ) -> TokenRecord {
        let now = self.services.clock.now();
        TokenRecord::new(TokenKind::Refresh, user.id, AUDIENCE, now, self.config.refresh_ttl)
            .in_family(family)
            .with_data(SESSION_ID, session_id)
            .with_data(ACCESS, access.to_hex())
            .with_data(DEVICE_INFO, device.to_value())
    }

    /// The marker of the token stored as `record`: the same kind and family, living
    /// [`OzConfig::expired_grace`] longer (and sliding along with a sliding token).
    fn marker(&self, record: &TokenRecord) -> TokenRecord {
        let now = self.services.clock.now();
        let ttl = record.expires_at.duration_since(now).unwrap_or_default() + self.config.expired_grace;
        let mut marker = TokenRecord::new(record.kind, record.user_id, MARKER_AUDIENCE, now, ttl);
        marker.family = record.family.clone();
        if let Some(idle) = record.idle_timeout {
            marker = marker.sliding(idle + self.config.expired_grace);
        }
        marker
    }

    /// Stores a token and its marker (the marker first, so a token never lacks one).
    async fn store(&self, token: &OpaqueToken, record: &TokenRecord) -> Result<(), StoreError> {
        self.services.tokens.put(marker_key(&token.hash()), self.marker(record)).await?;
        self.services.tokens.put(token.hash(), record.clone()).await
    }

    async fn open_session(&self, user: &User, device: &DeviceInfo) -> Result<Session, ApiError> {
        let family = random_id().map_err(|error| {
            tracing::error!(%error, "could not generate an Oz session family");
            ApiError::Internal
        })?;
        let session_id = new_session_id()?;
        let access = generate()?;
        let refresh = generate()?;
        let access = Issued { record: self.access_record(user, &family, session_id, &[]), token: access };
        let refresh_record = self.refresh_record(user, &family, session_id, &access.token.hash(), device);
        let refresh = Issued { token: refresh, record: refresh_record };
        let stored = async {
            self.store(&access.token, &access.record).await?;
            self.store(&refresh.token, &refresh.record).await
        }
        .await;
        if let Err(error) = stored {
            self.rollback(&family).await;
            return Err(store_error(error));
        }
        Ok(Session { family, session_id, access, refresh })
    }

    fn session_response(
        &self,
        user: &User,
        session: &Session,
        device: &DeviceInfo,
        old: Option<String>,
    ) -> ApiResponse {
        let body = json!({
            "technical_meta_data": {},
            "session_id": session.session_id,
            "user_id": user.id.to_string(),
            "access_token": session.access.token.as_str(),
            "expire_token": session.refresh.token.as_str(),
            "expire_date": unix_float(session.access.record.expires_at),
            "device_info": device.to_value(),
            "old_access_token": old,
            "user": user_object(user, &self.config),
        });
        Reply::json(StatusCode::OK, &body).no_store().into_response()
    }

    async fn refresh(&self, request: ApiRequest) -> ApiResponse {
        let head = &request.head;
        let body = match self.body(&request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        let mut problems = Problems::default();
        let token = problems.string(&body, "expire_token", "expire_token", true);
        if let Err(failure) = problems.finish() {
            return self.fail(failure);
        }
        let Some(token) = token else { return self.renderer.respond(&ApiError::Internal, head) };
        match self.rotate(head, &token).await {
            Ok(Ok(response)) => response,
            Ok(Err(failure)) => self.fail(failure),
            Err(error) => self.renderer.respond(&error, head),
        }
    }

    /// Why a refresh token that is not live was refused: reused (its session is now revoked),
    /// expired, or unknown.
    async fn dead_refresh_token(&self, hash: &TokenHash) -> Result<Failure, ApiError> {
        let now = self.services.clock.now();
        // A probe that can never be stored (it is born expired): rotating a dead token only
        // tells a replay (which revokes the family) from an unknown or expired token.
        let probe = TokenRecord::new(
            TokenKind::Refresh,
            crate::user::UserId(0),
            MARKER_AUDIENCE,
            now,
            Duration::ZERO,
        );
        let probe_key = TokenHash::of(&format!("oz-refresh-probe:{}", hash.to_hex()));
        match self.services.tokens.rotate(hash, probe_key, probe).await.map_err(store_error)? {
            Rotation::Reused { user_id, .. } => {
                tracing::warn!(user = %user_id, "Oz refresh token reused: the session is revoked");
                self.services.audit(crate::audit::AuthEvent::RefreshReused { user_id, client: None });
                Ok(Failure::invalid_token("Refresh token has already been used; the session is revoked"))
            }
            Rotation::Rotated => {
                tracing::error!("a dead Oz refresh token rotated");
                Err(ApiError::Internal)
            }
            Rotation::NotFound => {
                let marker = self.services.tokens.get(&marker_key(hash)).await.map_err(store_error)?;
                if marker.is_some_and(|m| m.audience == MARKER_AUDIENCE && m.kind == TokenKind::Refresh) {
                    Ok(Failure::new(
                        StatusCode::UNAUTHORIZED,
                        ErrorCode::AuthExpired,
                        "Refresh token has expired",
                    ))
                } else {
                    Ok(Failure::invalid_token("Refresh token is invalid"))
                }
            }
        }
    }

    async fn rotate(&self, head: &Parts, token: &str) -> Result<Result<ApiResponse, Failure>, ApiError> {
        let tokens = &self.services.tokens;
        let old_hash = TokenHash::of(token);
        let old = match tokens.get(&old_hash).await.map_err(store_error)? {
            Some(record) if record.kind == TokenKind::Refresh && record.audience == AUDIENCE => record,
            Some(_) => return Ok(Err(Failure::invalid_token("Refresh token is invalid"))),
            None => return self.dead_refresh_token(&old_hash).await.map(Err),
        };
        let user = match self.services.users.get(old.user_id).await {
            Ok(Some(user)) if user.is_active => user,
            Ok(Some(_)) if self.config.inactive_is_forbidden => return Ok(Ok(self.renderer.inactive())),
            Ok(_) => return Ok(Err(Failure::invalid_token("Refresh token is invalid"))),
            Err(error) => {
                tracing::warn!(%error, "user store unavailable during an Oz refresh");
                return Err(ApiError::Unavailable);
            }
        };
        let session_id = old.data.get(SESSION_ID).and_then(Value::as_u64).unwrap_or_default();
        let family = match old.family.clone() {
            Some(family) => family,
            None => random_id().map_err(|_| ApiError::Internal)?,
        };
        let device = DeviceInfo::from_stored(old.data.get(DEVICE_INFO));
        // The access token paired with the old refresh token, and those it still replaces.
        let current = old.data.get(ACCESS).and_then(Value::as_str).and_then(|h| TokenHash::from_hex(h).ok());
        let mut predecessors: Vec<TokenHash> = current.into_iter().collect();
        if let Some(current) = current
            && let Some(record) = tokens.get(&current).await.map_err(store_error)?
        {
            predecessors.extend(hashes(record.data.get(PREDECESSORS)));
        }
        let access_token = generate()?;
        let refresh_token = generate()?;
        let access = Issued {
            record: self.access_record(&user, &family, session_id, &predecessors),
            token: access_token,
        };
        let refresh_record = self.refresh_record(&user, &family, session_id, &access.token.hash(), &device);
        let refresh = Issued { token: refresh_token, record: refresh_record };

        // Everything new is stored before the old refresh token is spent; if the rotation
        // does not happen, it is removed again.
        let new_keys =
            [access.token.hash(), marker_key(&access.token.hash()), marker_key(&refresh.token.hash())];
        let prepared = async {
            self.store(&access.token, &access.record).await?;
            tokens.put(marker_key(&refresh.token.hash()), self.marker(&refresh.record)).await?;
            tokens.rotate(&old_hash, refresh.token.hash(), refresh.record.clone()).await
        }
        .await;
        let outcome = match prepared {
            Ok(Rotation::Rotated) => None,
            Ok(Rotation::Reused { .. }) => Some(Ok(Failure::invalid_token(
                "Refresh token has already been used; the session is revoked",
            ))),
            Ok(Rotation::NotFound) => Some(self.dead_refresh_token(&old_hash).await),
            Err(error) => Some(Err(store_error(error))),
        };
        if let Some(outcome) = outcome {
            for key in &new_keys {
                if let Err(error) = tokens.revoke(key).await {
                    tracing::warn!(%error, "could not remove the tokens of a failed Oz refresh");
                }
            }
            return outcome.map(Err);
        }
        let presented = match self.carrier.find(head) {
            Found::Token(presented) if predecessors.contains(&TokenHash::of(&presented)) => {
                Some(presented.into_owned())
            }
            _ => None,
        };
        let session = Session { family, session_id, access, refresh };
        Ok(Ok(self.session_response(&user, &session, &device, presented)))
    }
}

/// A session's new token pair.
struct Session {
    family: String,
    session_id: u64,
    access: Issued,
    refresh: Issued,
}

/// A string attribute, numbers given as strings.
fn text_attribute(user: &User, key: &str) -> Value {
    match user.attribute(key) {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Number(n)) => Value::String(n.to_string()),
        _ => Value::Null,
    }
}

/// The session object's `user` (see the [module docs](self) for the sources).
///
/// ```
/// use authmount::dialect::oz::{OzConfig, user_object};
/// use authmount::user::{NewUser, User, UserId};
/// let new = NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH)
///     .with_attribute("company_id", "c-1")
///     .with_attribute("oz_can_start_analyse_quality", false);
/// let user = user_object(&User::from_new(UserId(7), new), &OzConfig::default());
/// assert_eq!(user["user_id"], "7");
/// assert_eq!(user["user_type"], "user");
/// assert_eq!(user["company_id"], "c-1");
/// assert_eq!(user["can_start_analyse_quality"], false);
/// assert_eq!(user["can_start_analyse_biometry"], true);
/// ```
pub fn user_object(user: &User, config: &OzConfig) -> Value {
    let object =
        |key: &str| user.attribute(key).filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({}));
    let can = |what: &str| {
        user.attribute(&format!("oz_can_start_analyse_{what}"))
            .and_then(Value::as_bool)
            .unwrap_or(config.can_start_analyse_default)
    };
    let user_type = match user.attribute("oz_user_type").and_then(Value::as_str) {
        Some(kind) => kind.to_owned(),
        None if user.is_admin || user.is_superuser => "admin".to_owned(),
        None => "user".to_owned(),
    };
    json!({
        "technical_meta_data": object("oz_technical_meta_data"),
        "meta_data": object("oz_meta_data"),
        "user_id": user.id.to_string(),
        "user_type": user_type,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "middle_name": user.attribute("middle_name").and_then(Value::as_str),
        "email": user.email,
        "is_active": user.is_active,
        "can_start_analyse_biometry": can("biometry"),
        "can_start_analyse_collection": can("collection"),
        "can_start_analyse_documents": can("documents"),
        "can_start_analyse_quality": can("quality"),
        "company_id": text_attribute(user, "company_id"),
    })
}

#[cfg(test)]
mod tests;
