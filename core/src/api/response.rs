use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use crate::codec::{Encoded, ResponseFormat, encode};

/// What every handler answers: a complete `http` response.
pub type ApiResponse = http::Response<Bytes>;

/// A small builder for [`ApiResponse`]s.
///
/// ```
/// use authmount::api::Reply;
/// use http::StatusCode;
/// let response = Reply::json(StatusCode::OK, &serde_json::json!({"token": "t"})).no_store().into_response();
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(&response.body()[..], br#"{"token":"t"}"#);
/// ```
#[derive(Debug)]
pub struct Reply {
    response: ApiResponse,
}

impl Reply {
    /// A response with `status`, `body` and a `Content-Type`.
    pub fn new(status: StatusCode, content_type: HeaderValue, body: impl Into<Bytes>) -> Self {
        let mut response = http::Response::new(body.into());
        *response.status_mut() = status;
        response.headers_mut().insert(CONTENT_TYPE, content_type);
        Self { response }
    }

    /// A response without a body.
    pub fn empty(status: StatusCode) -> Self {
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = status;
        Self { response }
    }

    /// `value` as JSON.
    pub fn json(status: StatusCode, value: &Value) -> Self {
        Self::encoded(status, encode(value, ResponseFormat::Json))
    }

    /// `value` as JSON or as DRF-style XML.
    pub fn negotiated(status: StatusCode, value: &Value, format: ResponseFormat) -> Self {
        Self::encoded(status, encode(value, format))
    }

    /// An already encoded body.
    pub fn encoded(status: StatusCode, encoded: Encoded) -> Self {
        Self::new(status, encoded.content_type, encoded.body)
    }

    /// `document` as `application/xml; charset=utf-8`.
    pub fn xml(status: StatusCode, document: String) -> Self {
        Self::new(status, HeaderValue::from_static("application/xml; charset=utf-8"), document)
    }

    /// Marks the response as not to be stored by any cache: every response carrying a token or
    /// personal data gets this (`Cache-Control: no-store`, and `Pragma: no-cache` for HTTP/1.0
    /// caches).
    pub fn no_store(mut self) -> Self {
        let headers = self.response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        self
    }

    /// Adds (or replaces) a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.response.headers_mut().insert(name, value);
        self
    }

    /// Appends a header, keeping earlier values (e.g. several `Set-Cookie`).
    pub fn append_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.response.headers_mut().append(name, value);
        self
    }

    /// The finished response.
    pub fn into_response(self) -> ApiResponse {
        self.response
    }
}

impl From<Reply> for ApiResponse {
    fn from(reply: Reply) -> Self {
        reply.into_response()
    }
}
