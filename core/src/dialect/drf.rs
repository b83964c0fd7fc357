//! Django REST framework conventions shared by the DRF-derived dialects (`amcr`, `meldeschein`,
//! `minisass`): field validation with DRF's exact messages, the `{"detail": ...}` and
//! `{"non_field_errors": [...]}` bodies, and an [`ErrorRenderer`] in DRF's shape.
//!
//! Field validation follows DRF's `CharField` and `IntegerField`:
//!
//! | input | `CharField` | `IntegerField` |
//! |---|---|---|
//! | missing | "This field is required." | "This field is required." |
//! | `null` | "This field may not be null." | "This field may not be null." |
//! | `""` (after trimming, when trimming) | "This field may not be blank." | "A valid integer is required." |
//! | object, array, boolean | "Not a valid string." | "A valid integer is required." |
//! | number | accepted, as its text | accepted if integral (`1.0` is 1) |
//! | string | accepted | accepted if it reads as an integer (`" 7 "`, `"7.0"`) |
//!
//! Errors keep the order the fields were checked in (the workspace builds `serde_json` with
//! `preserve_order`), as DRF's serializers do.

use std::borrow::Cow;

use http::header::{ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};

use super::kit;
use crate::api::{ApiError, ApiRequest, ApiResponse, ErrorRenderer, Refusal, Reply};
use crate::carrier::MalformedCredentials;
use crate::codec::{BodyFormat, CodecError, ResponseFormat, negotiate};
use crate::guard::{InvalidToken, Rejection};
use crate::openapi::model::schema::Schema;
use crate::openapi::{Answer, schema};
use crate::services::Services;
use crate::token::jwt::JwtError;
use crate::user::User;

/// DRF's message for a missing required field.
pub const REQUIRED: &str = "This field is required.";
/// DRF's message for `null` where a value is needed.
pub const NULL: &str = "This field may not be null.";
/// DRF's message for an empty `CharField`.
pub const BLANK: &str = "This field may not be blank.";
/// DRF's message for a `CharField` given an object, array or boolean.
pub const NOT_A_STRING: &str = "Not a valid string.";
/// DRF's message for an `IntegerField` given something that is not an integer.
pub const NOT_AN_INTEGER: &str = "A valid integer is required.";
/// DRF's `IntegerField` message for strings over 1000 characters.
pub const STRING_TOO_LARGE: &str = "String value too large.";
/// DRF's `NotAuthenticated` detail.
pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";
/// DRF's `PermissionDenied` detail.
pub const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";
/// DRF's `AuthenticationFailed` default detail.
pub const AUTHENTICATION_FAILED: &str = "Incorrect authentication credentials.";
/// The login failure of DRF's `AuthTokenSerializer` and djangorestframework-jwt.
pub const UNABLE_TO_LOG_IN: &str = "Unable to log in with provided credentials.";
/// DRF's `TokenAuthentication` detail for an unknown token.
pub const INVALID_TOKEN: &str = "Invalid token.";
/// DRF's detail for a deactivated or deleted account.
pub const USER_INACTIVE: &str = "User inactive or deleted.";
/// djangorestframework-jwt's detail for a token that does not decode or verify.
pub const JWT_DECODE_ERROR: &str = "Error decoding signature.";
/// djangorestframework-jwt's detail for an expired token.
pub const JWT_EXPIRED: &str = "Signature has expired.";
/// djangorestframework-jwt's detail for `Authorization: JWT` with nothing after the keyword.
pub const JWT_NO_CREDENTIALS: &str = "Invalid Authorization header. No credentials provided.";
/// djangorestframework-jwt's detail for `Authorization: JWT a b`.
pub const JWT_CONTAINS_SPACES: &str =
    "Invalid Authorization header. Credentials string should not contain spaces.";
/// The detail of every 503: never a reason to log in again.
pub const SERVICE_UNAVAILABLE: &str = "Service temporarily unavailable, try again later.";
/// The detail of a 500 (Django has no JSON body for it; this is DRF-shaped).
pub const SERVER_ERROR: &str = "A server error occurred.";
/// The detail of a body that stopped before its end.
pub const INCOMPLETE_BODY: &str = "The request body is incomplete.";

/// Longest string DRF's `IntegerField` parses.
const MAX_INTEGER_STRING: usize = 1000;

/// `{"detail": message}`.
///
/// ```
/// assert_eq!(authmount::dialect::drf::detail("Nope."), serde_json::json!({"detail": "Nope."}));
/// ```
pub fn detail(message: impl Into<String>) -> Value {
    let mut map = Map::new();
    map.insert("detail".into(), Value::String(message.into()));
    Value::Object(map)
}

/// `{"non_field_errors": [messages...]}`.
///
/// ```
/// use authmount::dialect::drf::{UNABLE_TO_LOG_IN, non_field_errors};
/// assert_eq!(
///     non_field_errors([UNABLE_TO_LOG_IN]),
///     serde_json::json!({"non_field_errors": ["Unable to log in with provided credentials."]})
/// );
/// ```
pub fn non_field_errors<S: Into<String>>(messages: impl IntoIterator<Item = S>) -> Value {
    let list = messages.into_iter().map(|m| Value::String(m.into())).collect();
    let mut map = Map::new();
    map.insert("non_field_errors".into(), Value::Array(list));
    Value::Object(map)
}

/// How a `CharField` treats its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharRules {
    /// Strip surrounding whitespace before the blank check and from the value (DRF's
    /// `trim_whitespace`, on by default; passwords turn it off).
    pub trim: bool,
    /// Accept `""` (DRF's `allow_blank`).
    pub allow_blank: bool,
}

impl CharRules {
    /// DRF's default `CharField`: trimmed, not blank.
    pub const TRIMMED: Self = Self { trim: true, allow_blank: false };
    /// A password field: never trimmed, not blank.
    pub const PASSWORD: Self = Self { trim: false, allow_blank: false };
}

/// Validates fields of a decoded body the way a DRF serializer does, collecting every error in
/// the order the fields are checked.
///
/// ```
/// use authmount::dialect::drf::{CharRules, Fields};
/// use serde_json::json;
///
/// let body = json!({"username": "  ann ", "password": null});
/// let mut fields = Fields::new(body.as_object().unwrap());
/// assert_eq!(fields.char("username", CharRules::TRIMMED).as_deref(), Some("ann"));
/// assert_eq!(fields.char("password", CharRules::PASSWORD), None);
/// assert_eq!(fields.integer("age"), None);
/// assert_eq!(
///     fields.finish().unwrap_err().into_value(),
///     json!({"password": ["This field may not be null."], "age": ["This field is required."]})
/// );
/// ```
#[derive(Debug)]
pub struct Fields<'a> {
    data: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    /// A validator over `data` (the decoded body, or a nested object).
    pub fn new(data: &'a Map<String, Value>) -> Self {
        Self { data, errors: FieldErrors::new() }
    }

    /// A required `CharField`: its value, or `None` with the error recorded.
    pub fn char(&mut self, name: &str, rules: CharRules) -> Option<String> {
        match char_value(self.data.get(name), rules) {
            Ok(Some(value)) => Some(value),
            Ok(None) => {
                self.errors.add(name, REQUIRED);
                None
            }
            Err(message) => {
                self.errors.add(name, message);
                None
            }
        }
    }

    /// An optional `CharField`: `None` when absent; `null` and wrong types are still errors.
    pub fn optional_char(&mut self, name: &str, rules: CharRules) -> Option<String> {
        match char_value(self.data.get(name), rules) {
            Ok(value) => value,
            Err(message) => {
                self.errors.add(name, message);
                None
            }
        }
    }

    /// A required `IntegerField`: its value, or `None` with the error recorded.
    pub fn integer(&mut self, name: &str) -> Option<i64> {
        let Some(value) = self.data.get(name) else {
            self.errors.add(name, REQUIRED);
            return None;
        };
        match integer_value(value) {
            Ok(value) => Some(value),
            Err(message) => {
                self.errors.add(name, message);
                None
            }
        }
    }

    /// Records an error of a field checked by other means (e.g. a nested object's errors).
    pub fn add_error(&mut self, name: &str, error: Value) {
        self.errors.insert(name, error);
    }

    /// `Ok` when every field was valid, else the collected errors.
    pub fn finish(self) -> Result<(), FieldErrors> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors) }
    }
}

/// The `username` and `password` of a login body, as DRF's `AuthTokenSerializer` and
/// djangorestframework-jwt's `JSONWebTokenSerializer` read them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The login name, trimmed.
    pub username: String,
    /// The password, exactly as sent (never trimmed).
    pub password: String,
}

/// Never shows the password.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Reads a login body's `username` (a trimmed `CharField`) and `password` (an untrimmed one),
/// or gives the field errors of both, in that order, for a 400.
///
/// ```
/// use authmount::dialect::drf::credentials;
/// use serde_json::json;
///
/// let body = json!({"username": " ann ", "password": " s3cret "});
/// let read = credentials(body.as_object().unwrap()).unwrap();
/// assert_eq!((read.username.as_str(), read.password.as_str()), ("ann", " s3cret "));
///
/// let body = json!({"password": ""});
/// assert_eq!(
///     credentials(body.as_object().unwrap()).unwrap_err().into_value(),
///     json!({"username": ["This field is required."], "password": ["This field may not be blank."]})
/// );
/// ```
pub fn credentials(data: &Map<String, Value>) -> Result<Credentials, FieldErrors> {
    let mut fields = Fields::new(data);
    let username = fields.char("username", CharRules::TRIMMED);
    let password = fields.char("password", CharRules::PASSWORD);
    fields.finish()?;
    // `char` records an error whenever it gives `None`: once `finish` is `Ok`, both are here.
    username
        .zip(password)
        .map(|(username, password)| Credentials { username, password })
        .ok_or_else(FieldErrors::new)
}

/// A `CharField`'s value: `Ok(None)` when absent (the caller decides whether that is an
/// error), `Err(message)` when present and invalid.
fn char_value(value: Option<&Value>, rules: CharRules) -> Result<Option<String>, &'static str> {
    let text = match value {
        None => return Ok(None),
        Some(Value::Null) => return Err(NULL),
        Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
        Some(Value::Number(n)) => Cow::Owned(n.to_string()),
        Some(Value::Bool(_) | Value::Array(_) | Value::Object(_)) => return Err(NOT_A_STRING),
    };
    let text = if rules.trim { text.trim() } else { &text[..] };
    if text.is_empty() && !rules.allow_blank {
        return Err(BLANK);
    }
    Ok(Some(text.to_owned()))
}

/// An `IntegerField`'s value, or its error message.
fn integer_value(value: &Value) -> Result<i64, &'static str> {
    match value {
        Value::Null => Err(NULL),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else {
                // `1.0` is 1, as DRF strips a zero fraction before `int()`.
                integer_from_str(&n.to_string())
            }
        }
        Value::String(s) if s.len() > MAX_INTEGER_STRING => Err(STRING_TOO_LARGE),
        Value::String(s) => integer_from_str(s),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => Err(NOT_AN_INTEGER),
    }
}

/// Python's `int(re.sub(r"\.0*\s*$", "", text))`: surrounding whitespace, a sign, digits and an
/// all-zero fraction.
fn integer_from_str(text: &str) -> Result<i64, &'static str> {
    let trimmed = text.trim();
    let integral = match trimmed.split_once('.') {
        Some((int, fraction)) if fraction.bytes().all(|b| b == b'0') => int.trim_end(),
        Some(_) => return Err(NOT_AN_INTEGER),
        None => trimmed,
    };
    let digits = integral.strip_prefix(['+', '-']).unwrap_or(integral);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NOT_AN_INTEGER);
    }
    integral.parse::<i64>().map_err(|_| NOT_AN_INTEGER)
}

/// DRF's field errors: `{"field": ["message", ...]}` in the order they were found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldErrors(Map<String, Value>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `message` to the list of `field`.
    ///
    /// ```
    /// let mut errors = authmount::dialect::drf::FieldErrors::new();
    /// errors.add("username", "This field is required.");
    /// assert_eq!(errors.into_value(), serde_json::json!({"username": ["This field is required."]}));
    /// ```
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self.0.entry(field).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(message.into()));
        }
    }

    /// Sets the error of `field` to `error` (a nested serializer's errors, for instance).
    pub fn insert(&mut self, field: &str, error: Value) {
        self.0.insert(field.to_owned(), error);
    }

    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors as a JSON object.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// Which authentication class's wording the renderer uses for 401s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthWording {
    /// DRF's `TokenAuthentication`: every invalid or expired token is "Invalid token.".
    #[default]
    Token,
    /// djangorestframework-jwt's `JSONWebTokenAuthentication`: "Invalid Authorization header.
    /// No credentials provided." and "Invalid Authorization header. Credentials string should
    /// not contain spaces." for a malformed header, "Signature has expired." for an
    /// expired token, "Error decoding signature." for one that does not decode or verify
    /// (including `alg: none` and tampered tokens), and DRF's default "Incorrect authentication
    /// credentials." for a valid signature with the wrong claims (audience, type, not yet
    /// valid) or a revoked token.
    Jwt,
}

/// The body format of a DRF-style API's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrfFormat {
    /// Always JSON (`JSONRenderer` only).
    #[default]
    Json,
    /// JSON or DRF's XML by `Accept`, falling back to the request's own body format.
    Negotiated,
}

/// Renders [`ApiError`]s in DRF's shape: `{"detail": "..."}` with DRF's wording, a
/// `WWW-Authenticate` header on every 401, JSON or negotiated JSON/XML.
///
/// | error | status | detail |
/// |---|---|---|
/// | wrong method | 405 | `Method "GET" not allowed.` |
/// | body type | 415 | `Unsupported media type "text/plain" in request.` |
/// | malformed body | 400 | `JSON parse error - ...` |
/// | body too large | 413 | `Request body is larger than the limit of 65536 bytes.` |
/// | no credentials | 401 | `Authentication credentials were not provided.` |
/// | malformed header | 401 | e.g. `Invalid token header. No credentials provided.` |
/// | invalid / expired token | 401 | per [`AuthWording`] |
/// | inactive user | 401 | `User inactive or deleted.` |
/// | forbidden | 403 | the reason given, usually `You do not have permission to perform this action.` |
/// | store down, hasher busy | 503 | `Service temporarily unavailable, try again later.` |
/// | server fault | 500 | `A server error occurred.` |
///
/// ```
/// use authmount::api::{ApiError, ErrorRenderer};
/// use authmount::dialect::drf::DrfRenderer;
/// use authmount::guard::Rejection;
///
/// let renderer = DrfRenderer::new(http::HeaderValue::from_static("Bearer"));
/// let (head, ()) = http::Request::get("/").body(()).unwrap().into_parts();
/// let response = renderer.render(&ApiError::Rejected(Rejection::NotProvided), &head);
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], "Bearer");
/// assert_eq!(&response.body()[..], br#"{"detail":"Authentication credentials were not provided."}"#);
/// ```
#[derive(Debug, Clone)]
pub struct DrfRenderer {
    www_authenticate: HeaderValue,
    format: DrfFormat,
    wording: AuthWording,
}

impl DrfRenderer {
    /// A JSON renderer with [`AuthWording::Token`] whose 401s carry
    /// `WWW-Authenticate: <www_authenticate>`.
    pub fn new(www_authenticate: HeaderValue) -> Self {
        Self { www_authenticate, format: DrfFormat::Json, wording: AuthWording::Token }
    }

    /// Sets the response format.
    #[must_use]
    pub fn with_format(mut self, format: DrfFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets the wording of 401s.
    #[must_use]
    pub fn with_wording(mut self, wording: AuthWording) -> Self {
        self.wording = wording;
        self
    }

    /// The `WWW-Authenticate` value of this API's 401s.
    pub fn www_authenticate(&self) -> &HeaderValue {
        &self.www_authenticate
    }

    /// The format to answer the request whose head is `head` in: JSON, or by `Accept` with the
    /// request body's own format as the fallback.
    pub fn response_format(&self, head: &Parts) -> ResponseFormat {
        match self.format {
            DrfFormat::Json => ResponseFormat::Json,
            DrfFormat::Negotiated => negotiate(head.headers.get(ACCEPT), request_format(head)),
        }
    }

    /// `value` with `status` in the request's format.
    pub fn reply(&self, status: StatusCode, value: &Value, head: &Parts) -> Reply {
        Reply::negotiated(status, value, self.response_format(head))
    }

    /// DRF's field errors, `{"field": ["message", ...], ...}`, as a 400 in the request's format.
    pub fn field_errors(&self, errors: FieldErrors, head: &Parts) -> ApiResponse {
        self.reply(StatusCode::BAD_REQUEST, &errors.into_value(), head).into_response()
    }

    /// A 401 with `value` as body and this API's `WWW-Authenticate`.
    pub fn unauthorized(&self, value: &Value, head: &Parts) -> ApiResponse {
        self.reply(StatusCode::UNAUTHORIZED, value, head)
            .header(WWW_AUTHENTICATE, self.www_authenticate.clone())
            .into_response()
    }

    /// The detail text for `error`.
    pub fn message(&self, error: &ApiError) -> String {
        match error {
            ApiError::MethodNotAllowed { method, .. } => format!("Method \"{method}\" not allowed."),
            ApiError::BodyTooLarge { limit } => CodecError::BodyTooLarge { limit: *limit }.to_string(),
            ApiError::IncompleteBody => INCOMPLETE_BODY.to_owned(),
            ApiError::Codec(error) => error.to_string(),
            ApiError::Rejected(rejection) => self.rejection_message(rejection).into_owned(),
            ApiError::Forbidden(reason) => (*reason).to_owned(),
            ApiError::Unavailable | ApiError::Busy => SERVICE_UNAVAILABLE.to_owned(),
            ApiError::TooManyAttempts { .. } => throttled(error.retry_after().unwrap_or(1)),
            ApiError::Internal => SERVER_ERROR.to_owned(),
        }
    }

    fn rejection_message(&self, rejection: &Rejection) -> Cow<'static, str> {
        match (rejection, self.wording) {
            (Rejection::NotProvided, _) => Cow::Borrowed(NOT_AUTHENTICATED),
            (Rejection::Malformed(MalformedCredentials::MissingToken), AuthWording::Jwt) => {
                Cow::Borrowed(JWT_NO_CREDENTIALS)
            }
            (Rejection::Malformed(MalformedCredentials::ContainsSpaces), AuthWording::Jwt) => {
                Cow::Borrowed(JWT_CONTAINS_SPACES)
            }
            (Rejection::Malformed(why), _) => Cow::Owned(why.to_string()),
            (Rejection::Unavailable(_), _) => Cow::Borrowed(SERVICE_UNAVAILABLE),
            (Rejection::Invalid(InvalidToken::InactiveUser), _) => Cow::Borrowed(USER_INACTIVE),
            (Rejection::Expired | Rejection::Invalid(_), AuthWording::Token) => Cow::Borrowed(INVALID_TOKEN),
            (Rejection::Expired, AuthWording::Jwt) => Cow::Borrowed(JWT_EXPIRED),
            (Rejection::Invalid(InvalidToken::Jwt(error)), AuthWording::Jwt) => Cow::Borrowed(match error {
                JwtError::Expired => JWT_EXPIRED,
                JwtError::WrongTokenType { .. }
                | JwtError::WrongAudience
                | JwtError::WrongIssuer
                | JwtError::NotYetValid => AUTHENTICATION_FAILED,
                _ => JWT_DECODE_ERROR,
            }),
            (Rejection::Invalid(_), AuthWording::Jwt) => Cow::Borrowed(AUTHENTICATION_FAILED),
        }
    }

    /// Renders `error` with the headers [`Api::render`](crate::api::Api::render) would add
    /// (`Retry-After` for a busy hasher): for handlers, which answer errors themselves.
    pub fn respond(&self, error: &ApiError, head: &Parts) -> ApiResponse {
        let mut response = self.render(error, head);
        error.add_headers(&mut response);
        response
    }
}

impl ErrorRenderer for DrfRenderer {
    fn render(&self, error: &ApiError, head: &Parts) -> ApiResponse {
        let body = detail(self.message(error));
        let status = error.status();
        if status == StatusCode::UNAUTHORIZED {
            return self.unauthorized(&body, head);
        }
        self.reply(status, &body, head).into_response()
    }

    /// `{"detail": "..."}` in JSON (and DRF's XML when negotiated), `WWW-Authenticate` on 401s.
    fn describe(&self, status: StatusCode) -> Answer {
        let answer = self.answer(Answer::common(status), detail_schema());
        if status == StatusCode::UNAUTHORIZED { self.challenged(answer) } else { answer }
    }
}

/// The schema of `{"detail": "..."}`.
pub fn detail_schema() -> Schema {
    schema::object(&[("detail", schema::string())], &[])
}

/// The schema of a Django user as the DRF APIs answer it: `id`, `username`, `email`,
/// `first_name`, `last_name` (Meldeschein's config, miniSASS's registration).
///
/// ```
/// let user = serde_json::to_value(authmount::dialect::drf::user_schema()).unwrap();
/// assert_eq!(user["required"], serde_json::json!(["id", "username", "email", "first_name", "last_name"]));
/// ```
pub fn user_schema() -> Schema {
    use schema::{integer, string};
    schema::object(
        &[
            ("id", integer()),
            ("username", string()),
            ("email", string()),
            ("first_name", string()),
            ("last_name", string()),
        ],
        &[],
    )
}

impl DrfRenderer {
    /// `answer` with `body` in the formats this renderer answers in: JSON, and DRF's XML
    /// (`<root>`) when [negotiated](DrfFormat::Negotiated).
    ///
    /// ```
    /// use authmount::dialect::drf::{DrfFormat, DrfRenderer, detail_schema};
    /// use authmount::openapi::Answer;
    /// let renderer = DrfRenderer::new(http::HeaderValue::from_static("JWT realm=\"api\"")).with_format(DrfFormat::Negotiated);
    /// let answer = renderer.answer(Answer::new(http::StatusCode::OK, "ok"), detail_schema());
    /// let types: Vec<&str> = answer.contents().iter().map(|(media_type, _)| media_type.as_str()).collect();
    /// assert_eq!(types, ["application/json", "application/xml"]);
    /// ```
    pub fn answer(&self, answer: Answer, body: Schema) -> Answer {
        match self.format {
            DrfFormat::Json => answer.json(body),
            DrfFormat::Negotiated => answer.json(body.clone()).xml(schema::xml_root("root", body)),
        }
    }

    /// `answer` with this API's `WWW-Authenticate` header (a 401).
    pub fn challenged(&self, answer: Answer) -> Answer {
        let value = self.www_authenticate.to_str().unwrap_or("Bearer");
        answer.header("WWW-Authenticate", format!("`{value}`"))
    }
}

/// The login prologue of the DRF dialects (DRF's `ObtainAuthToken`, djangorestframework-jwt,
/// SimpleJWT): decodes the body in one of `formats` (415, 413, 400 in the API's shape), reads
/// `username` and `password` ([`credentials`]; 400 with field errors in `renderer`'s format)
/// and checks them ([`kit::log_in`]). Unknown logins, wrong passwords and deactivated accounts
/// alike are answered `bad_credentials()`, in the dialect's words.
pub async fn log_in(
    services: &Services,
    request: &ApiRequest,
    formats: &[BodyFormat],
    renderer: &DrfRenderer,
    bad_credentials: impl FnOnce() -> Refusal,
) -> Result<User, Refusal> {
    let head = &request.head;
    let decoded = request.decode(formats).await?;
    let Credentials { username, password } = credentials(&decoded.fields)
        .map_err(|errors| Refusal::Shaped(renderer.field_errors(errors, head)))?;
    kit::log_in(services, head, &username, &password, |_| bad_credentials()).await
}

/// DRF's `Throttled` detail: "Request was throttled. Expected available in N seconds."
///
/// ```
/// assert_eq!(authmount::dialect::drf::throttled(1), "Request was throttled. Expected available in 1 second.");
/// assert_eq!(authmount::dialect::drf::throttled(900), "Request was throttled. Expected available in 900 seconds.");
/// ```
pub fn throttled(wait_seconds: u64) -> String {
    let unit = if wait_seconds == 1 { "second" } else { "seconds" };
    format!("Request was throttled. Expected available in {wait_seconds} {unit}.")
}

/// The request body's own format as an answer format: XML for `application/xml` and `text/xml`,
/// JSON for anything else (including no body).
pub fn request_format(head: &Parts) -> ResponseFormat {
    let essence = head
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim())
        .unwrap_or_default();
    if essence.eq_ignore_ascii_case("application/xml") || essence.eq_ignore_ascii_case("text/xml") {
        ResponseFormat::Xml
    } else {
        ResponseFormat::Json
    }
}

/// Python's name of a JSON value's type, as DRF puts it in "Expected a dictionary, but got
/// str."
pub fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

#[cfg(test)]
mod tests;
