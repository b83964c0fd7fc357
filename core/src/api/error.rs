use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, Method};

use super::ApiResponse;
use crate::codec::CodecError;
use crate::guard::Rejection;

/// The failures every dialect must answer, each in its own shape. New failures may be added:
/// a renderer's `match` ends with a catch-all (a status-based generic answer).
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// The route does not answer this method (405; [`Api`](super::Api) adds the `Allow` header).
    MethodNotAllowed {
        /// The method used.
        method: Method,
        /// The methods the route allows, as an `Allow` value.
        allow: HeaderValue,
    },
    /// The body is over the limit (413).
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body stopped before its end (400).
    IncompleteBody,
    /// The body could not be decoded (415, 413 or 400 by [`CodecError::status`]).
    Codec(CodecError),
    /// The request is not authenticated (401, or 503 for [`Rejection::Unavailable`]).
    Rejected(Rejection),
    /// Authenticated, but not allowed: a cross-site request riding on a cookie, or missing rights
    /// (403).
    Forbidden(&'static str),
    /// A store is down (503). The body says so; it never asks the user to log in again.
    Unavailable,
    /// Too many logins wait for the password hasher (503 with `Retry-After`).
    Busy,
    /// Too many failed logins for this account or client: locked for a while (429 with
    /// `Retry-After`). The correct password gets no token either until the lock ends.
    TooManyAttempts {
        /// How long until the lock ends.
        retry_after: Duration,
    },
    /// A server fault (500) with a generic body.
    Internal,
}

impl ApiError {
    /// The status this error stands for, whatever the dialect's body shape.
    ///
    /// ```
    /// use authmount::api::ApiError;
    /// assert_eq!(ApiError::BodyTooLarge { limit: 10 }.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    /// assert_eq!(ApiError::Busy.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    /// ```
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::MethodNotAllowed { .. } => S::METHOD_NOT_ALLOWED,
            Self::BodyTooLarge { .. } => S::PAYLOAD_TOO_LARGE,
            Self::IncompleteBody => S::BAD_REQUEST,
            Self::Codec(error) => error.status(),
            Self::Rejected(Rejection::Unavailable(_)) | Self::Unavailable | Self::Busy => {
                S::SERVICE_UNAVAILABLE
            }
            Self::Rejected(_) => S::UNAUTHORIZED,
            Self::TooManyAttempts { .. } => S::TOO_MANY_REQUESTS,
            Self::Forbidden(_) => S::FORBIDDEN,
            Self::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `Retry-After` value (whole seconds, rounded up, at least 1) this error's response
    /// carries: 1 for a busy hasher, the lock's remaining time for [`TooManyAttempts`](Self::TooManyAttempts).
    ///
    /// ```
    /// use std::time::Duration;
    /// use authmount::api::ApiError;
    /// assert_eq!(ApiError::Busy.retry_after(), Some(1));
    /// let locked = ApiError::TooManyAttempts { retry_after: Duration::from_millis(90_500) };
    /// assert_eq!(locked.retry_after(), Some(91));
    /// assert_eq!(locked.status(), http::StatusCode::TOO_MANY_REQUESTS);
    /// assert_eq!(ApiError::Internal.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Busy => Some(1),
            Self::TooManyAttempts { retry_after } => Some(retry_after_seconds(*retry_after)),
            _ => None,
        }
    }

    /// Adds the headers this error implies to a rendered `response`: `Retry-After` for
    /// [`Busy`](Self::Busy) and [`TooManyAttempts`](Self::TooManyAttempts).
    pub fn add_headers(&self, response: &mut ApiResponse) {
        if let Some(seconds) = self.retry_after() {
            response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
}

/// Whole seconds, rounded up, at least 1: a client retrying after this finds the lock gone.
fn retry_after_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

/// Gives [`ApiError`]s a dialect's shape: DRF's `{"detail": ...}`, Oz's error codes, tDAR's XML
/// result container.
pub trait ErrorRenderer: Send + Sync + 'static {
    /// The response for `error` on the request whose head is `head` (for content negotiation).
    fn render(&self, error: &ApiError, head: &Parts) -> ApiResponse;

    /// How [`render`](Self::render) answers the errors of `status` (400, 401, 403, 413, 415, 429,
    /// 500, 503), for the OpenAPI document ([`crate::openapi`]): the body in each content type,
    /// and the headers (`Retry-After` on 429 and 503, `WWW-Authenticate` on 401). By default the
    /// status alone, without a body description: a renderer should say its shape.
    ///
    /// ```
    /// use authmount::api::{ApiError, ApiResponse, ErrorRenderer, Reply};
    /// use authmount::openapi::Answer;
    /// use authmount::openapi::schema::{object, string};
    /// use http::StatusCode;
    ///
    /// struct Plain;
    /// impl ErrorRenderer for Plain {
    ///     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
    ///         Reply::json(error.status(), &serde_json::json!({"error": error.status().as_u16()})).into_response()
    ///     }
    ///     fn describe(&self, status: StatusCode) -> Answer {
    ///         Answer::new(status, "An error.").json(object(&[("error", authmount::openapi::schema::integer())], &[]))
    ///     }
    /// }
    /// assert_eq!(Plain.describe(StatusCode::BAD_REQUEST).contents()[0].0, "application/json");
    /// # let _ = string();
    /// ```
    fn describe(&self, status: http::StatusCode) -> crate::openapi::Answer {
        crate::openapi::Answer::new(status, status.canonical_reason().unwrap_or("An error."))
    }
}
