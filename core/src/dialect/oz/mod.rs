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
//! The user object comes from [`User`](crate::user::User)'s core fields and these attributes:
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
//! Tokens travel in `X-Forensic-Access-Token: <access_token>`; the gate of [`Oz`]
//! ([`Dialect::gate`](super::Dialect::gate)) protects an app's routes with them. Each login
//! opens a session: a token family holding the access token ([`TokenKind::Access`], audience
//! [`AUDIENCE`], sliding) and the refresh token ([`TokenKind::Refresh`]). A refresh rotates the
//! refresh token atomically: presenting a spent refresh token again revokes the whole session
//! (401, code 7). The previous access token stays usable until the new one is first used, then
//! it is revoked. The previous refresh token is spent at once.
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

mod config;
mod device;
mod error;
mod login;
mod refresh;
mod session;
mod user;
mod validation;
mod verifier;

use std::convert::Infallible;
use std::sync::Arc;

use http::{HeaderName, Method, StatusCode};

use super::BuildDialect;
use crate::api::{Api, ErrorRenderer, Gate, Route, UserCheck};
use crate::carrier::Carrier;
use crate::codec::BodyFormat;
use crate::guard::{Guard, OpaqueVerifier};
use crate::openapi::model::schema::Schema;
use crate::openapi::{Answer, Endpoint};
use crate::services::Services;
use crate::store::TokenKind;

pub use config::OzConfig;
pub use device::{DEVICE_INFO_KEYS, DeviceInfo};
pub use error::{ErrorCode, OzRenderer, error_body, error_schema};
pub use user::user_object;
use verifier::OzVerifier;

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

/// The Oz dialect ([`Dialect`](super::Dialect)). Cheap to clone.
///
/// - Its [`Api`]: `POST /api/authorize/auth` (route 0) and `POST /api/authorize/refresh/`
///   (route 1).
/// - Its [`Gate`] protects an app's routes with Oz access tokens
///   (`X-Forensic-Access-Token: <access_token>`): each use extends the token's idle expiry,
///   retires the token it replaced at a refresh, and loads the user (deactivated: 403 code 9).
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

dialect!(Oz, "oz", OzConfig, Infallible, |context, config| Ok(Oz::new(context.services.clone(), config)));

impl Inner {
    /// `POST /api/authorize/auth` (route 0) and `POST /api/authorize/refresh/` (route 1).
    fn api(self: &Arc<Self>) -> Api {
        Api::new(Oz::NAME, self.renderer.clone())
            .route(
                Route::stateful(AUTH_PATH, &[Method::POST], self.clone(), Self::auth)
                    .with_doc(self.auth_doc()),
            )
            .route(
                Route::stateful(REFRESH_PATH, &[Method::POST], self.clone(), Self::refresh)
                    .with_doc(self.refresh_doc()),
            )
    }

    /// The answers both endpoints share: the session, field problems (400), bad credentials or
    /// tokens (401), a deactivated account (403 when so configured).
    fn session_endpoint(&self, summary: &str, body: Schema) -> Endpoint {
        let mut endpoint = Endpoint::new(summary)
            .body(&[BodyFormat::Json], body)
            .answer(
                Answer::new(StatusCode::OK, "The session object (a new token pair).").json(session_schema()),
            )
            .answer(
                Answer::new(StatusCode::BAD_REQUEST, "Missing or mistyped fields: `details` lists them.")
                    .json(error_schema()),
            )
            .fails_with(&[StatusCode::UNAUTHORIZED]);
        if self.config.inactive_is_forbidden {
            endpoint = endpoint.fails_with(&[StatusCode::FORBIDDEN]);
        }
        endpoint
    }

    fn auth_doc(&self) -> Endpoint {
        use crate::openapi::schema::{any_object, object, text};
        let credentials = object(&[("email", text()), ("password", text())], &[]);
        self.session_endpoint(
            "Log in: a session with an access token and a refresh token",
            object(&[("credentials", credentials)], &[("device_info", any_object())]),
        )
        .description(
            "`email` may hold the e-mail address or the username. A session presented in `X-Forensic-Access-Token` \
             is superseded (`old_access_token`).",
        )
        .fails_with(&[StatusCode::TOO_MANY_REQUESTS])
    }

    fn refresh_doc(&self) -> Endpoint {
        use crate::openapi::schema::{object, text};
        self.session_endpoint(
            "Renew the session with the refresh token (`expire_token`), which works once",
            object(&[("expire_token", text())], &[]),
        )
    }
}

/// The schema of the session object (keys in the seed's order).
fn session_schema() -> Schema {
    use crate::openapi::schema::{any_object, boolean, integer, nullable_string, number, object, string};
    let device: Vec<(&str, Schema)> = DEVICE_INFO_KEYS.iter().map(|key| (*key, nullable_string())).collect();
    let device = object(&device, &[]);
    let user = object(
        &[
            ("technical_meta_data", any_object()),
            ("meta_data", any_object()),
            ("user_id", string()),
            ("user_type", string()),
            ("first_name", string()),
            ("last_name", string()),
            ("middle_name", nullable_string()),
            ("email", nullable_string()),
            ("is_active", boolean()),
            ("can_start_analyse_biometry", boolean()),
            ("can_start_analyse_collection", boolean()),
            ("can_start_analyse_documents", boolean()),
            ("can_start_analyse_quality", boolean()),
            ("company_id", nullable_string()),
        ],
        &[],
    );
    object(
        &[
            ("technical_meta_data", any_object()),
            ("session_id", integer()),
            ("user_id", string()),
            ("access_token", string()),
            ("expire_token", string()),
            ("expire_date", number()),
            ("device_info", device),
            ("old_access_token", nullable_string()),
            ("user", user),
        ],
        &[],
    )
}

impl Oz {
    /// The dialect over `services` with `config`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use std::time::SystemTime;
    /// use authmount::api::{AuthState, RequestBody};
    /// use authmount::dialect::Dialect;
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

    /// The error renderer, for app routes that answer in Oz's shape.
    pub fn renderer(&self) -> &OzRenderer {
        &self.inner.renderer
    }
}

#[cfg(test)]
mod tests;
