//! Meldeschein (the digital guest registration form): djangorestframework-jwt with the `JWT`
//! header prefix, bodies in JSON, XML or form data, and the `meta` object every business call
//! carries.
//!
//! | endpoint | what it does |
//! |---|---|
//! | `POST /api/token/` | `username` (or e-mail) + `password` in JSON, XML (`<root><username>..</username><password>..</password></root>`) or form data → 200 `{"token": "<JWT>"}` |
//! | `GET /api/get-config/` | the user and the municipality, landlord and property IDs they may post for |
//! | `GET /api/meldeschein/schema/meta/` | the JSON Schema of the `meta` object (public) |
//!
//! Answers are JSON or DRF's XML (`<?xml version="1.0" encoding="utf-8"?>\n<root>...</root>`):
//! by `Accept` when it names one of them, else in the request's own body format (an XML login
//! is answered in XML). Bad credentials (and deactivated accounts, not told apart) are 400
//! `{"non_field_errors": ["Unable to log in with provided credentials."]}`; missing fields 400
//! with field errors.
//!
//! Tokens are sent as `Authorization: JWT <token>` (prefix in any case) or, when
//! [`MeldescheinConfig::query_token`] is on, as `?jwt=<token>`. Refusals are 401
//! `{"detail": ...}` in djangorestframework-jwt's words ("Signature has expired.", "Error
//! decoding signature.", "Invalid Authorization header. No credentials provided." for a bare
//! `JWT`, "Invalid Authorization header. Credentials string should not contain spaces.") with
//! `WWW-Authenticate: JWT realm="api"`.
//!
//! The JWT carries djangorestframework-jwt's claims `user_id`, `username`, `email`, `exp`,
//! `orig_iat`, plus `iat`, `jti`, `token_type` (`access`), `aud` (`meldeschein`) and `sid`
//! ([`SESSION_CLAIM`]): every login opens a session record in the token store, so
//! [`TokenStore::revoke_user`](crate::store::TokenStore::revoke_user) or
//! [`revoke_family`](crate::store::TokenStore::revoke_family) refuse the token at once.
//!
//! Business endpoints read the `meta` object with [`extract_meta`]. A user's grants live in the
//! attribute [`GRANTS_ATTRIBUTE`] (`"meldeschein"`) as
//! `{"gemeinden": [1, 2], "vermieter": [10], "objekte": [100, 101]}`; see [`Grants`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde_json::{Map, Value, json};

use super::drf::{self, AuthWording, CharRules, DrfFormat, DrfRenderer, Fields};
use super::{BuildDialect, store_error};
use crate::api::adapter::{FromGated, GatedRequest};
use crate::api::{
    Api, ApiError, ApiRequest, ApiResponse, Authenticated, ErrorRenderer, Gate, HandlerResult, Refusal,
    Reply, RequestBody, Route, UserCheck,
};
use crate::carrier::Carrier;
use crate::clock::from_unix_seconds;
use crate::codec::{BodyFormat, BodyLimits, DecodedBody, ResponseFormat, decode_body};
use crate::guard::{Guard, JwtVerifier, SESSION_CLAIM, TokenVerifier};
use crate::openapi::{Answer, Endpoint};
use crate::services::Services;
use crate::store::{TokenKind, TokenRecord};
use crate::token::jwt::{JwtService, TokenType};
use crate::token::{TokenHash, random_id};
use crate::user::User;

/// The JWT audience (`aud`) and token-store audience of Meldeschein tokens.
pub const AUDIENCE: &str = "meldeschein";
/// The most body bytes [`extract_meta`] reads; adapters read at most this much of a business
/// request's body before handing it over (a longer body is [`RequestBody::TooLarge`], 413).
pub const META_BODY_LIMIT: usize = crate::api::DEFAULT_BODY_LIMIT;
/// The login endpoint.
pub const TOKEN_PATH: &str = "/api/token/";
/// The configuration endpoint.
pub const GET_CONFIG_PATH: &str = "/api/get-config/";
/// The endpoint serving the `meta` object's JSON Schema.
pub const META_SCHEMA_PATH: &str = "/api/meldeschein/schema/meta/";
/// The user attribute holding the IDs a user may post for.
pub const GRANTS_ATTRIBUTE: &str = "meldeschein";
/// The query parameter carrying a token when [`MeldescheinConfig::query_token`] is on.
pub const QUERY_PARAMETER: &str = "jwt";
/// The message of a `meta` object sent without data.
pub const META_ALONE: &str =
    "The meta object cannot be passed alone: send it together with the data of the call.";

const BODY_FORMATS: [BodyFormat; 3] = [BodyFormat::Json, BodyFormat::Xml, BodyFormat::Form];
const META_FIELDS: [&str; 4] = ["gemeinde", "vermieter", "objekt", "description"];

/// How the Meldeschein endpoints behave where a deployment chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeldescheinConfig {
    /// How long a JWT works (default 300 seconds, djangorestframework-jwt's `JWT_EXPIRATION_DELTA`).
    pub token_lifetime: Duration,
    /// Accept the token as the query parameter `?jwt=<token>` too, as the vendor documents
    /// (default off: URLs end up in logs and `Referer` headers).
    pub query_token: bool,
    /// The `Authorization` prefix, matched in any case (default `JWT`). It also names the
    /// scheme in `WWW-Authenticate: <prefix> realm="api"`.
    pub header_prefix: String,
}

impl Default for MeldescheinConfig {
    fn default() -> Self {
        Self { token_lifetime: Duration::from_secs(300), query_token: false, header_prefix: "JWT".to_owned() }
    }
}

/// The `meta` object: which municipality, landlord and property a call is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The municipality's ID.
    pub gemeinde: i64,
    /// The landlord's ID.
    pub vermieter: i64,
    /// The property's ID.
    pub objekt: i64,
    /// An optional reference for the booking.
    pub description: Option<String>,
}

/// A business request's body, split into the validated [`Meta`] and the call's own data.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaRequest {
    /// The validated and authorised `meta` object.
    pub meta: Meta,
    /// Every other field of the body (never empty). From XML and form bodies, values are
    /// strings.
    pub data: Map<String, Value>,
    /// The format to answer in (by `Accept`, else the request body's own format).
    pub format: ResponseFormat,
}

/// The IDs a user may post for, from the user attribute [`GRANTS_ATTRIBUTE`]:
/// `{"gemeinden": [..], "vermieter": [..], "objekte": [..]}`. Absent lists are empty; IDs may
/// be stored as numbers or numeric strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Municipality IDs.
    pub gemeinden: Vec<i64>,
    /// Landlord IDs.
    pub vermieter: Vec<i64>,
    /// Property IDs.
    pub objekte: Vec<i64>,
}

impl Grants {
    /// The grants of `user`.
    ///
    /// ```
    /// use authmount::dialect::meldeschein::Grants;
    /// use authmount::user::{NewUser, User, UserId};
    /// let new = NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH)
    ///     .with_attribute("meldeschein", serde_json::json!({"gemeinden": [1, "2"], "objekte": [7]}));
    /// let grants = Grants::of(&User::from_new(UserId(1), new));
    /// assert_eq!((grants.gemeinden, grants.vermieter, grants.objekte), (vec![1, 2], vec![], vec![7]));
    /// ```
    pub fn of(user: &User) -> Self {
        let grants = user.attribute(GRANTS_ATTRIBUTE);
        let ids = |key: &str| -> Vec<i64> {
            grants
                .and_then(|g| g.get(key))
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| match item {
                            Value::Number(n) => n.as_i64(),
                            Value::String(s) => s.trim().parse().ok(),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Self { gemeinden: ids("gemeinden"), vermieter: ids("vermieter"), objekte: ids("objekte") }
    }

    /// Whether `meta` names only granted IDs.
    pub fn allow(&self, meta: &Meta) -> bool {
        self.gemeinden.contains(&meta.gemeinde)
            && self.vermieter.contains(&meta.vermieter)
            && self.objekte.contains(&meta.objekt)
    }
}

/// The Meldeschein dialect ([`Dialect`](super::Dialect)). Cheap to clone.
///
/// - Its [`Api`]: `POST /api/token/` (route 0), `GET /api/get-config/` (route 1) and
///   `GET /api/meldeschein/schema/meta/` (route 2).
/// - Its [`Gate`] protects an app's routes with Meldeschein JWTs (`Authorization: JWT <token>`,
///   and `?jwt=` when enabled), checking revocations and loading the user (deactivated: 401
///   "User inactive or deleted."). Business handlers then read the `meta` object with
///   [`extract_meta`] (or an adapter's `Meta` extractor).
#[derive(Clone)]
pub struct Meldeschein {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    jwt: JwtService,
    config: MeldescheinConfig,
    renderer: Arc<DrfRenderer>,
    gate: Gate,
}

dialect!(Meldeschein, "meldeschein", MeldescheinConfig, Infallible, |context, config| {
    Ok(Meldeschein::new(context.services.clone(), context.jwt.clone(), config))
});

/// The renderer of Meldeschein errors: DRF `{"detail"}` in negotiated JSON/XML.
fn renderer(prefix: &str) -> DrfRenderer {
    let challenge = HeaderValue::from_str(&format!("{prefix} realm=\"api\""))
        .unwrap_or_else(|_| HeaderValue::from_static("JWT realm=\"api\""));
    DrfRenderer::new(challenge).with_format(DrfFormat::Negotiated).with_wording(AuthWording::Jwt)
}

impl Meldeschein {
    /// The dialect over `services`, signing and verifying with `jwt` (the app's key ring; its
    /// audience is set to `meldeschein`). `jwt` should read the same clock as `services`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use std::time::SystemTime;
    /// use authmount::api::RequestBody;
    /// use authmount::dialect::Dialect;
    /// use authmount::dialect::meldeschein::{Meldeschein, MeldescheinConfig};
    /// use authmount::password::{Argon2Params, Argon2idHasher, PasswordService};
    /// use authmount::services::Services;
    /// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
    /// use authmount::user::NewUser;
    ///
    /// # let fast = PasswordService::new(Arc::new(Argon2idHasher::insecure_for_tests(Argon2Params::insecure_fast_for_tests())?));
    /// let services = Services::in_memory()?;
    /// # let services = services.with_passwords(fast);
    /// let hash = services.passwords.hash_new_password("correct horse battery").await?;
    /// services.users.create(NewUser::new("m.mustermann", SystemTime::now()).with_password_hash(hash)).await?;
    ///
    /// let jwt = JwtService::new(KeyRing::new("k1", JwtKey::hs256(&[7u8; 32])?)?, services.clock.clone());
    /// let meldeschein = Meldeschein::new(services, jwt, MeldescheinConfig::default());
    /// let api = meldeschein.api(); // mount it; protect business routes with `meldeschein.gate()`
    ///
    /// let login = http::Request::post("/api/token/").header("content-type", "text/xml").body(())?.into_parts().0;
    /// let body = b"<root><username>m.mustermann</username><password>correct horse battery</password></root>";
    /// let response = api.call(0, login, RequestBody::Complete(body[..].into())).await;
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["content-type"], "application/xml; charset=utf-8");
    /// assert!(response.body().starts_with(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root><token>ey"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn new(services: Services, jwt: JwtService, config: MeldescheinConfig) -> Self {
        let jwt = jwt.with_audience(AUDIENCE);
        let renderer = Arc::new(renderer(&config.header_prefix));
        let verifier: Arc<dyn TokenVerifier> = Arc::new(
            JwtVerifier::new(jwt.clone(), TokenType::Access).with_revocations(services.tokens.clone()),
        );
        let mut guard = Guard::new()
            .with_shared(Carrier::authorization(config.header_prefix.clone(), false), verifier.clone());
        if config.query_token {
            guard = guard.with_shared(Carrier::query(QUERY_PARAMETER), verifier);
        }
        let gate = Gate::new(guard, renderer.clone() as Arc<dyn ErrorRenderer>)
            .with_user_check(UserCheck::RequireActive(services.users.clone()));
        Self { inner: Arc::new(Inner { services, jwt, config, renderer, gate }) }
    }
}

impl Inner {
    /// `POST /api/token/` (route 0), `GET /api/get-config/` (route 1) and
    /// `GET /api/meldeschein/schema/meta/` (route 2).
    fn api(self: &Arc<Self>) -> Api {
        let token = Route::stateful(TOKEN_PATH, &[Method::POST], self.clone(), Self::token);
        Api::new(Meldeschein::NAME, self.renderer.clone())
            .route(token.with_options_metadata(json!({
                "name": "Obtain Json Web Token",
                "description": "API View that receives a POST with a user's username and password.\n\nReturns a JSON Web Token that can be used for authenticated requests.",
                "renders": ["application/json", "application/xml"],
                "parses": ["application/json", "application/xml", "text/xml", "application/x-www-form-urlencoded"],
            })).with_doc(self.token_doc()))
            .route(
                Route::stateful(GET_CONFIG_PATH, &[Method::GET], self.clone(), Self::get_config)
                    .with_doc(self.get_config_doc()),
            )
            .route(
                Route::new(META_SCHEMA_PATH, &[Method::GET], |_request: ApiRequest| async {
                    let body = Bytes::from(meta_schema().to_string());
                    Reply::new(StatusCode::OK, HeaderValue::from_static("application/schema+json"), body)
                })
                .with_doc(meta_schema_doc()),
            )
    }

    fn token_doc(&self) -> Endpoint {
        use crate::openapi::schema::{field_errors, object, string, string_list, text};
        let credentials = object(&[("username", text()), ("password", text())], &[]);
        let answer =
            |status, description: &str, body| self.renderer.answer(Answer::new(status, description), body);
        Endpoint::new("Obtain a JSON Web Token (djangorestframework-jwt)")
            .description(
                "`username` (or the e-mail address) and `password` in JSON, XML (`<root>...</root>`) or form data. \
                 Answers are JSON or XML: by `Accept`, else in the request's own format.",
            )
            .body(&BODY_FORMATS, credentials)
            .answer(answer(StatusCode::OK, "The JWT, to send as `Authorization: JWT <token>`.", object(&[("token", string())], &[])))
            .answer(answer(StatusCode::BAD_REQUEST, "Missing or invalid fields.", field_errors()))
            .answer(answer(
                StatusCode::BAD_REQUEST,
                "Bad credentials (or a deactivated account, not told apart).",
                object(&[("non_field_errors", string_list())], &[]),
            ))
            .fails_with(&[StatusCode::TOO_MANY_REQUESTS])
    }

    fn get_config_doc(&self) -> Endpoint {
        use crate::openapi::schema::{array, integer, object};
        let user = drf::user_schema();
        let body = object(
            &[
                ("user", user),
                ("gemeinden", array(integer())),
                ("vermieter", array(integer())),
                ("objekte", array(integer())),
            ],
            &[],
        );
        Endpoint::new("The user and the municipality, landlord and property IDs they may post for")
            .secured()
            .answer(self.renderer.answer(Answer::new(StatusCode::OK, "The configuration."), body))
            .fails_with(&[StatusCode::UNAUTHORIZED])
    }

    async fn token(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
        let head = &request.head;
        let bad_credentials = || {
            let body = drf::non_field_errors([drf::UNABLE_TO_LOG_IN]);
            Refusal::from(self.renderer.reply(StatusCode::BAD_REQUEST, &body, head))
        };
        let user =
            drf::log_in(&self.services, &request, &BODY_FORMATS, &self.renderer, bad_credentials).await?;
        let token = self.issue(&user).await?;
        Ok(self.renderer.reply(StatusCode::OK, &json!({ "token": token }), head).no_store().into_response())
    }

    /// Opens a session for `user` and signs its JWT.
    async fn issue(&self, user: &User) -> Result<String, ApiError> {
        let internal = |error: &dyn std::fmt::Display| {
            tracing::error!(%error, "could not issue a Meldeschein token");
            ApiError::Internal
        };
        let session = random_id().map_err(|e| internal(&e))?;
        let claims = self
            .jwt
            .new_claims(user.id, TokenType::Access, self.config.token_lifetime)
            .map_err(|e| internal(&e))?;
        let issued_at = claims.issued_at;
        let claims = claims
            .with_claim("username", user.username.clone())
            .with_claim("email", user.email.clone().unwrap_or_default())
            .with_claim("orig_iat", issued_at)
            .with_claim(SESSION_CLAIM, session.clone());
        // The session outlives the token by the verification leeway, so revoking the user finds
        // it for as long as the token is accepted.
        let record = TokenRecord::new(
            TokenKind::Session,
            user.id,
            AUDIENCE,
            from_unix_seconds(issued_at),
            self.config.token_lifetime + self.jwt.leeway(),
        )
        .in_family(session.clone());
        let key = TokenHash::of(&format!("meldeschein-session:{session}"));
        self.services.tokens.put(key, record).await.map_err(store_error)?;
        self.jwt.sign(&claims).map_err(|e| internal(&e))
    }

    /// `GET /api/get-config/`; with [`MeldescheinConfig::query_token`], every answer (refusals
    /// included) carries `Referrer-Policy: no-referrer`: a token may travel in the URL.
    async fn get_config(self: Arc<Self>, request: ApiRequest) -> ApiResponse {
        let head = &request.head;
        let outcome = self.config_of(head).await;
        let mut response = outcome.unwrap_or_else(|refusal| refusal.into_response(&*self.renderer, head));
        if self.config.query_token {
            response
                .headers_mut()
                .insert(http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        }
        response
    }

    /// The user's configuration: who, and the IDs they may post for.
    async fn config_of(&self, head: &Parts) -> HandlerResult {
        let user = self.gate.require_user(head).await?;
        let grants = Grants::of(&user);
        let body = json!({
            "user": {
                "id": user.id.0,
                "username": user.username,
                "email": user.email.as_deref().unwrap_or_default(),
                "first_name": user.first_name,
                "last_name": user.last_name,
            },
            "gemeinden": grants.gemeinden,
            "vermieter": grants.vermieter,
            "objekte": grants.objekte,
        });
        Ok(self.renderer.reply(StatusCode::OK, &body, head).no_store().into_response())
    }
}

/// The description of `GET /api/meldeschein/schema/meta/`.
fn meta_schema_doc() -> Endpoint {
    Endpoint::new("The JSON Schema of the `meta` object").answer(
        Answer::new(StatusCode::OK, "A JSON Schema (draft 2020-12).")
            .content("application/schema+json", crate::openapi::schema::any_object()),
    )
}

/// The JSON Schema (draft 2020-12) of the `meta` object, as served at
/// `GET /api/meldeschein/schema/meta/`.
///
/// ```
/// let schema = authmount::dialect::meldeschein::meta_schema();
/// assert_eq!(schema["required"], serde_json::json!(["gemeinde", "vermieter", "objekt"]));
/// assert_eq!(schema["properties"]["gemeinde"]["type"], "integer");
/// ```
pub fn meta_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "meta",
        "description": "The context of an authenticated call: for which municipality, landlord and property it is made. It is sent beside the call's data, never alone.",
        "type": "object",
        "properties": {
            "gemeinde": {"type": "integer", "description": "The ID of the municipality to be posted"},
            "vermieter": {"type": "integer", "description": "The ID of the landlord to be posted"},
            "objekt": {"type": "integer", "description": "The ID of the property to be posted"},
            "description": {"type": "string", "description": "An optional reference for booking"},
        },
        "required": ["gemeinde", "vermieter", "objekt"],
        "additionalProperties": false,
    })
}

/// Reads, validates and authorises the `meta` object of a business request that the
/// Meldeschein [`Gate`] has authenticated; `head` and `body` are the request's.
///
/// The body may be JSON (`{"meta": {...}, ...}`), XML (`<root><meta>...</meta>...</root>`, or
/// a document whose root element is `<meta>` itself, as in the vendor's example, with the data
/// as further children) or form data (a `meta` field holding a JSON object, or fields
/// `meta.gemeinde`, `meta[gemeinde]`...). Integers may arrive as strings. Refusals, in the
/// request's negotiated format:
///
/// | problem | answer |
/// |---|---|
/// | body type, size or syntax | 415, 413 or 400 `{"detail": ...}` |
/// | no `meta` | 400 `{"meta": ["This field is required."]}` |
/// | `meta` not an object | 400 `{"meta": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}}` |
/// | missing or mistyped fields | 400 `{"meta": {"gemeinde": ["A valid integer is required."]}}` |
/// | `meta` alone, without data | 400 `{"non_field_errors": [META_ALONE]}` |
/// | an ID not granted to the user | 403 `{"detail": "You do not have permission to perform this action."}` |
///
/// Unknown keys inside `meta` are ignored, as DRF serializers ignore them. Grants come from
/// [`Grants::of`] the authenticated user; an [`Authenticated`] without a loaded user (a gate
/// with [`UserCheck::TokenOnly`]) has no grants and is refused with 403.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use authmount::api::Authenticated;
/// use authmount::carrier::CarrierKind;
/// use authmount::dialect::meldeschein::{Meta, extract_meta};
/// use authmount::guard::{Credential, Identity};
/// use authmount::token::jwt::{Claims, TokenType};
/// use authmount::user::{NewUser, User, UserId};
/// use serde_json::json;
///
/// // What the Meldeschein gate hands a business route:
/// let user = User::from_new(UserId(1), NewUser::new("ann", std::time::SystemTime::UNIX_EPOCH)
///     .with_attribute("meldeschein", json!({"gemeinden": [1], "vermieter": [2], "objekte": [3]})));
/// let claims = Claims::new(UserId(1), TokenType::Access, 0, std::time::Duration::from_secs(300))?;
/// let identity = Identity { user_id: UserId(1), carrier: CarrierKind::Authorization, credential: Credential::Jwt(claims.into()) };
/// let authenticated = Authenticated { identity, user: Some(user.into()) };
///
/// let head = http::Request::post("/api/meldeschein/").header("content-type", "application/json").body(())?.into_parts().0;
/// let body = br#"{"meta": {"gemeinde": 1, "vermieter": "2", "objekt": 3}, "gaeste": []}"#;
/// let body = authmount::api::RequestBody::Complete(bytes::Bytes::from_static(body));
/// let request = extract_meta(&authenticated, &head, &body).await.expect("valid and granted");
/// assert_eq!(request.meta, Meta { gemeinde: 1, vermieter: 2, objekt: 3, description: None });
/// assert_eq!(request.data["gaeste"], json!([]));
///
/// let forbidden = br#"{"meta": {"gemeinde": 9, "vermieter": 2, "objekt": 3}, "gaeste": []}"#;
/// let forbidden = authmount::api::RequestBody::Complete(bytes::Bytes::from_static(forbidden));
/// assert_eq!(extract_meta(&authenticated, &head, &forbidden).await.unwrap_err().status(), 403);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn extract_meta(
    authenticated: &Authenticated,
    head: &Parts,
    body: &RequestBody,
) -> Result<MetaRequest, ApiResponse> {
    let renderer = renderer("JWT");
    read_meta(authenticated, head, body, &renderer)
        .await
        .map_err(|refusal| refusal.into_response(&renderer, head))
}

/// [`extract_meta`], its refusals not yet rendered.
async fn read_meta(
    authenticated: &Authenticated,
    head: &Parts,
    body: &RequestBody,
    renderer: &DrfRenderer,
) -> Result<MetaRequest, Refusal> {
    let limits = BodyLimits { max_body_bytes: META_BODY_LIMIT, ..BodyLimits::default() };
    let body = match body {
        RequestBody::Complete(bytes) => bytes.as_ref(),
        RequestBody::TooLarge => return Err(ApiError::BodyTooLarge { limit: META_BODY_LIMIT }.into()),
        RequestBody::Incomplete => return Err(ApiError::IncompleteBody.into()),
    };
    let decoded = decode_body(head.headers.get(CONTENT_TYPE), body, &BODY_FORMATS, &limits).await?;
    let bad_request = |value: Value| Refusal::from(renderer.reply(StatusCode::BAD_REQUEST, &value, head));
    let (raw_meta, data) = split_meta(decoded, body);
    let Some(raw_meta) = raw_meta else {
        let mut errors = drf::FieldErrors::new();
        errors.add("meta", drf::REQUIRED);
        return Err(bad_request(errors.into_value()));
    };
    let meta = parse_meta(&raw_meta).map_err(|errors| {
        let mut wrapped = Map::new();
        wrapped.insert("meta".to_owned(), errors);
        bad_request(Value::Object(wrapped))
    })?;
    if data.is_empty() {
        return Err(bad_request(drf::non_field_errors([META_ALONE])));
    }
    let granted = authenticated.user.as_ref().is_some_and(|user| Grants::of(user).allow(&meta));
    if !granted {
        return Err(ApiError::Forbidden(drf::PERMISSION_DENIED).into());
    }
    Ok(MetaRequest { meta, data, format: renderer.response_format(head) })
}

/// The extractor adapters offer for business routes (`authmount_axum::Meta`,
/// `authmount_actix::Meta`): [`extract_meta`] over a body of at most [`META_BODY_LIMIT`] bytes.
#[async_trait]
impl FromGated for MetaRequest {
    const BODY_LIMIT: usize = META_BODY_LIMIT;

    async fn from_gated(request: GatedRequest<'_>) -> Result<Self, ApiResponse> {
        extract_meta(request.authenticated, request.head, &request.body).await
    }
}

/// Takes the raw `meta` value out of a decoded body; the rest is the call's data.
fn split_meta(decoded: DecodedBody, body: &[u8]) -> (Option<Value>, Map<String, Value>) {
    let DecodedBody { format, mut fields } = decoded;
    if let Some(meta) = fields.shift_remove("meta") {
        let meta = match (format, meta) {
            // A form field holding the object as JSON text.
            (BodyFormat::Form | BodyFormat::Multipart, Value::String(text)) => {
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(object)) => Value::Object(object),
                    _ => Value::String(text),
                }
            }
            (_, meta) => meta,
        };
        return (Some(meta), fields);
    }
    match format {
        BodyFormat::Form | BodyFormat::Multipart => {
            let mut meta = Map::new();
            let mut data = Map::new();
            for (key, value) in fields {
                match form_meta_key(&key) {
                    Some(name) => {
                        meta.insert(name.to_owned(), value);
                    }
                    None => {
                        data.insert(key, value);
                    }
                }
            }
            ((!meta.is_empty()).then_some(Value::Object(meta)), data)
        }
        BodyFormat::Xml if xml_root_name(body).as_deref() == Some("meta") => {
            // `<meta>` as the document: its known fields are the meta object, the rest data.
            let mut meta = Map::new();
            for name in META_FIELDS {
                if let Some(value) = fields.shift_remove(name) {
                    meta.insert(name.to_owned(), value);
                }
            }
            (Some(Value::Object(meta)), fields)
        }
        BodyFormat::Json | BodyFormat::Xml => (None, fields),
    }
}

/// `meta.gemeinde` or `meta[gemeinde]` → `gemeinde`.
fn form_meta_key(key: &str) -> Option<&str> {
    key.strip_prefix("meta.")
        .or_else(|| key.strip_prefix("meta[").and_then(|rest| rest.strip_suffix(']')))
        .filter(|name| !name.is_empty())
}

/// The local name of an XML document's root element.
fn xml_root_name(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let mut reader = Reader::from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) | Event::Empty(start) => {
                return Some(start.local_name().as_ref().to_owned());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Validates the `meta` value: the [`Meta`], or the errors to put under `"meta"`.
fn parse_meta(value: &Value) -> Result<Meta, Value> {
    let object = match value {
        Value::Object(object) => object,
        Value::Null => return Err(json!([drf::NULL])),
        other => {
            let message =
                format!("Invalid data. Expected a dictionary, but got {}.", drf::python_type_name(other));
            return Err(drf::non_field_errors([message]));
        }
    };
    let mut fields = Fields::new(object);
    let gemeinde = fields.integer("gemeinde");
    let vermieter = fields.integer("vermieter");
    let objekt = fields.integer("objekt");
    let description = fields.optional_char("description", CharRules { trim: true, allow_blank: true });
    fields.finish().map_err(drf::FieldErrors::into_value)?;
    match (gemeinde, vermieter, objekt) {
        (Some(gemeinde), Some(vermieter), Some(objekt)) => {
            Ok(Meta { gemeinde, vermieter, objekt, description })
        }
        _ => Err(json!({"non_field_errors": ["Invalid data."]})),
    }
}

#[cfg(test)]
mod tests;
