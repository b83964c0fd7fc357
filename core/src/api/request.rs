use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;

use crate::codec::{BodyFormat, BodyLimits, CodecError, DecodedBody, decode_body};

/// A request's body as the adapter read it: complete, or cut off at the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// The whole body (at most the API's limit).
    Complete(Bytes),
    /// The body was longer than the limit (by `Content-Length` or while reading): answered 413
    /// without being read further.
    TooLarge,
    /// The body could not be read to its end (the client stopped sending, or took too long):
    /// answered 400.
    Incomplete,
}

/// Values captured by `{name}` segments of a route pattern, in pattern order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    /// The value captured for `name`.
    ///
    /// ```
    /// # use authmount::api::PathParams;
    /// let params = PathParams::from_pairs([("uid", "7")]);
    /// assert_eq!(params.get("uid"), Some("7"));
    /// assert_eq!(params.get("token"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Builds params from pairs (for tests and custom handlers).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// What a [`Handler`](super::Handler) receives: the request head, the body and the path params.
#[derive(Debug)]
pub struct ApiRequest {
    /// Method, URI, headers and extensions.
    pub head: Parts,
    /// The body bytes (never [`RequestBody::TooLarge`] by the time a handler sees it).
    pub body: bytes::Bytes,
    /// Values of the route pattern's `{name}` segments.
    pub params: PathParams,
}

impl ApiRequest {
    /// Decodes the body by its `Content-Type`, accepting `formats`, with the default
    /// [`BodyLimits`]: 415, 413 or 400 ([`CodecError::status`]) otherwise. `?` in a handler
    /// turns the error into a [`Refusal`](super::Refusal) rendered in the dialect's shape.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use authmount::api::{ApiRequest, PathParams};
    /// use authmount::codec::BodyFormat;
    /// let head = http::Request::post("/").header("content-type", "application/json").body(()).unwrap().into_parts().0;
    /// let request = ApiRequest { head, body: r#"{"a": 1}"#.into(), params: PathParams::default() };
    /// assert_eq!(request.decode(&[BodyFormat::Json]).await.unwrap().fields["a"], 1);
    /// assert_eq!(request.decode(&[BodyFormat::Form]).await.unwrap_err().status(), 415);
    /// # });
    /// ```
    pub async fn decode(&self, formats: &[BodyFormat]) -> Result<DecodedBody, CodecError> {
        decode_body(self.head.headers.get(CONTENT_TYPE), &self.body, formats, &BodyLimits::default()).await
    }
}
