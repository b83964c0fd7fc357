use std::sync::Arc;

use http::request::Parts;

use super::{ApiError, ApiResponse, Denial, ErrorRenderer, Reply};
use crate::codec::CodecError;

/// What a [`Handler`](super::Handler) answers when it does not succeed, so that handler bodies
/// read top to bottom with `?`.
///
/// - [`Error`](Self::Error): a common failure ([`ApiError`]: a body the codec refused, a store
///   that is down, a busy hasher, a lockout, a 403...). The [`Api`](super::Api) renders it in
///   the dialect's shape with its [`ErrorRenderer`], adding the headers the error implies
///   (`Retry-After`), exactly as it renders the failures it meets itself (405, 413).
/// - [`Shaped`](Self::Shaped): an answer the handler already shaped in the dialect's own words
///   (DRF field errors, a dialect's bad-credentials body, a gate's [`Denial`]); sent as it is.
///
/// `?` converts an [`ApiError`] or a [`CodecError`] into a refusal, and an [`ApiResponse`], a
/// [`Reply`] or a [`Denial`] into a shaped one.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use authmount::api::{Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Refusal, Reply, RequestBody, Route};
/// use authmount::codec::BodyFormat;
/// use http::{Method, StatusCode};
/// use serde_json::json;
///
/// struct Detail;
/// impl ErrorRenderer for Detail {
///     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
///         Reply::json(error.status(), &json!({"detail": error.status().as_u16()})).into_response()
///     }
/// }
///
/// async fn greet(request: ApiRequest) -> Result<ApiResponse, Refusal> {
///     let body = request.decode(&[BodyFormat::Json]).await?; // 415, 413, 400 in the API's shape
///     let Some(name) = body.fields.get("name").and_then(|n| n.as_str()) else {
///         return Err(Reply::json(StatusCode::BAD_REQUEST, &json!({"name": ["required"]})).into());
///     };
///     Ok(Reply::json(StatusCode::OK, &json!({"hello": name})).into_response())
/// }
///
/// let api = Api::new("hello", Arc::new(Detail)).route(Route::new("/hello/", &[Method::POST], greet));
/// let head = |content_type: &str| {
///     http::Request::post("/hello/").header("content-type", content_type).body(()).unwrap().into_parts().0
/// };
/// let ok = api.call(0, head("application/json"), RequestBody::Complete(r#"{"name": "ann"}"#.into())).await;
/// assert_eq!(&ok.body()[..], br#"{"hello":"ann"}"#);
/// let refused = api.call(0, head("text/plain"), RequestBody::Complete("ann".into())).await;
/// assert_eq!((refused.status(), &refused.body()[..]), (StatusCode::UNSUPPORTED_MEDIA_TYPE, &br#"{"detail":415}"#[..]));
/// let shaped = api.call(0, head("application/json"), RequestBody::Complete("{}".into())).await;
/// assert_eq!(&shaped.body()[..], br#"{"name":["required"]}"#);
/// # });
/// ```
#[derive(Debug)]
pub enum Refusal {
    /// A common failure, rendered by the API's [`ErrorRenderer`].
    Error(ApiError),
    /// A complete answer in the dialect's own shape.
    Shaped(ApiResponse),
}

impl Refusal {
    /// The response: [`Shaped`](Self::Shaped) as it is, [`Error`](Self::Error) rendered by
    /// `renderer` for the request whose head is `head`, with the headers the error implies
    /// (`Retry-After`; [`Api`](super::Api) adds `Allow` to its own 405s as well).
    pub fn into_response(self, renderer: &dyn ErrorRenderer, head: &Parts) -> ApiResponse {
        match self {
            Self::Shaped(response) => response,
            Self::Error(error) => {
                let mut response = renderer.render(&error, head);
                error.add_headers(&mut response);
                response
            }
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Self::Error(error)
    }
}

impl From<CodecError> for Refusal {
    fn from(error: CodecError) -> Self {
        Self::Error(ApiError::Codec(error))
    }
}

impl From<ApiResponse> for Refusal {
    fn from(response: ApiResponse) -> Self {
        Self::Shaped(response)
    }
}

impl From<Reply> for Refusal {
    fn from(reply: Reply) -> Self {
        Self::Shaped(reply.into_response())
    }
}

impl From<&Denial> for Refusal {
    fn from(denial: &Denial) -> Self {
        Self::Shaped(denial.to_response())
    }
}

impl From<Arc<Denial>> for Refusal {
    fn from(denial: Arc<Denial>) -> Self {
        Self::from(&*denial)
    }
}

/// What a handler's future returns: its answer, or the [`Refusal`] the [`Api`](super::Api)
/// turns into one.
pub type HandlerResult = Result<ApiResponse, Refusal>;

/// What a handler's future may yield: a finished [`ApiResponse`] (or [`Reply`]), or a
/// `Result` of one whose error converts into a [`Refusal`] (a [`HandlerResult`], or
/// `Result<ApiResponse, ApiError>`).
pub trait IntoHandlerResult {
    /// The value as a [`HandlerResult`].
    // A refusal is as large as the response it stands for (`Shaped`), and so is the `Ok`
    // variant: boxing the error would make the result no smaller.
    #[allow(clippy::result_large_err)]
    fn into_handler_result(self) -> HandlerResult;
}

impl IntoHandlerResult for ApiResponse {
    fn into_handler_result(self) -> HandlerResult {
        Ok(self)
    }
}

impl IntoHandlerResult for Reply {
    fn into_handler_result(self) -> HandlerResult {
        Ok(self.into_response())
    }
}

impl<T: Into<ApiResponse>, E: Into<Refusal>> IntoHandlerResult for Result<T, E> {
    fn into_handler_result(self) -> HandlerResult {
        self.map(Into::into).map_err(Into::into)
    }
}
