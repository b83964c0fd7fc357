//! The vendor's error codes and the renderer that gives every failure Oz's shape.

use http::header::WWW_AUTHENTICATE;
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::CHALLENGE;
use crate::api::{ApiError, ApiResponse, ErrorRenderer, Reply};
use crate::guard::{InvalidToken, Rejection};
use crate::openapi::Answer;

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

/// `status` with the body of [`error_body`], and `WWW-Authenticate` on a 401.
pub(super) fn error_response(
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

/// Renders errors in Oz's shape (see the [module docs](super) for the table).
#[derive(Debug, Clone)]
pub struct OzRenderer {
    inactive_is_forbidden: bool,
}

impl OzRenderer {
    /// A renderer; `inactive_is_forbidden` as [`OzConfig::inactive_is_forbidden`](super::OzConfig::inactive_is_forbidden).
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
        error_response(status, code, message, details)
    }

    /// Renders `error` and adds `Retry-After` to a busy hasher's 503 (what [`Api::render`](crate::api::Api::render)
    /// does for errors the [`Api`](crate::api::Api) itself meets).
    pub fn respond(&self, error: &ApiError, head: &Parts) -> ApiResponse {
        let mut response = self.render(error, head);
        error.add_headers(&mut response);
        response
    }

    pub(super) fn inactive(&self) -> ApiResponse {
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

    /// Oz's `{"error_code", "error_message", "details"}` ([`error_schema`]), the challenge on 401s.
    fn describe(&self, status: StatusCode) -> Answer {
        let answer = Answer::common(status).json(error_schema());
        if status == StatusCode::UNAUTHORIZED {
            answer.header("WWW-Authenticate", format!("`{CHALLENGE}`"))
        } else {
            answer
        }
    }
}

/// The schema of [`error_body`]: the vendor's [`ErrorCode`] number, a message, `details` (or
/// `null`).
///
/// ```
/// let schema = serde_json::to_value(authmount::dialect::oz::error_schema()).unwrap();
/// assert_eq!(schema["required"], serde_json::json!(["error_code", "error_message", "details"]));
/// ```
pub fn error_schema() -> crate::openapi::model::schema::Schema {
    use crate::openapi::schema::{any, integer, object, string};
    object(&[("error_code", integer()), ("error_message", string()), ("details", any())], &[])
}
