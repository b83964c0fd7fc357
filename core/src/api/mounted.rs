use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use http::header::ALLOW;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};

use super::{ApiError, ApiRequest, ApiResponse, ErrorRenderer, Refusal, Reply, RequestBody, Route};

/// How long an adapter waits for a whole request body. A client that sends its headers and then
/// dribbles (or never sends) the body would otherwise hold a connection and a task forever; a
/// login body arrives in milliseconds, so 10 s is generous. Past it the body is
/// [`RequestBody::Incomplete`] (400).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The default request body limit: 64 KiB, far above any login or registration body, small
/// enough that a flood of large bodies cannot exhaust memory.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// A dialect's endpoints, ready to be mounted by an adapter.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use authmount::api::{Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Reply, RequestBody, Route};
/// use http::{Method, StatusCode};
///
/// struct Plain;
/// impl ErrorRenderer for Plain {
///     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
///         Reply::json(error.status(), &serde_json::json!({"error": format!("{error:?}")})).into_response()
///     }
/// }
///
/// let api = Api::new("hello", Arc::new(Plain)).route(Route::new("/hello/", &[Method::GET], |_r: ApiRequest| async {
///     Reply::json(StatusCode::OK, &serde_json::json!({"hello": "world"})).into_response()
/// }));
/// let (head, ()) = http::Request::post("/hello").body(()).unwrap().into_parts();
/// let response = api.call(0, head, RequestBody::Complete(Default::default())).await;
/// assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
/// assert_eq!(response.headers()["allow"], "GET, HEAD");
/// # });
/// ```
#[derive(Clone)]
pub struct Api {
    name: Cow<'static, str>,
    routes: Vec<Route>,
    renderer: Arc<dyn ErrorRenderer>,
    body_limit: usize,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("name", &self.name)
            .field("routes", &self.routes)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// An API without routes whose common errors `renderer` shapes.
    pub fn new(name: impl Into<Cow<'static, str>>, renderer: Arc<dyn ErrorRenderer>) -> Self {
        Self { name: name.into(), routes: Vec::new(), renderer, body_limit: DEFAULT_BODY_LIMIT }
    }

    /// Adds a route.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Sets the request body limit (default [`DEFAULT_BODY_LIMIT`]).
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The API's name (e.g. `"amcr"`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The routes, in the order they were added; [`call`](Self::call) takes an index into them.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// How many body bytes an adapter reads at most; a longer body is [`RequestBody::TooLarge`].
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The renderer of the API's common errors.
    pub fn renderer(&self) -> &Arc<dyn ErrorRenderer> {
        &self.renderer
    }

    /// Renders a common error in the API's shape, with the headers the error implies (`Allow`
    /// for 405, `Retry-After` for a busy hasher or a lockout).
    pub fn render(&self, error: &ApiError, head: &Parts) -> ApiResponse {
        let mut response = self.renderer.render(error, head);
        if let ApiError::MethodNotAllowed { allow, .. } = error {
            response.headers_mut().insert(ALLOW, allow.clone());
        }
        error.add_headers(&mut response);
        response
    }

    /// Answers a request for route `index`: the method check (405 with `Allow`), `OPTIONS`
    /// descriptions, the body limit (413), then the route's handler. `HEAD` is answered as `GET`
    /// without a body. A handler that panics is answered with the API's generic 500
    /// ([`ApiError::Internal`]) and the panic goes no further. A [`Refusal::Error`] the handler
    /// returns is rendered like the API's own errors ([`render`](Self::render)); a
    /// [`Refusal::Shaped`] is sent as it is.
    pub async fn call(&self, index: usize, head: Parts, body: RequestBody) -> ApiResponse {
        let Some(route) = self.routes.get(index) else {
            return self.render(&ApiError::Internal, &head);
        };
        if !route.allows(&head.method) {
            let error =
                ApiError::MethodNotAllowed { method: head.method.clone(), allow: route.allow_header() };
            return self.render(&error, &head);
        }
        if head.method == Method::OPTIONS
            && let Some(metadata) = route.options_metadata()
        {
            return Reply::json(StatusCode::OK, metadata).header(ALLOW, route.allow_header()).into_response();
        }
        let body = match body {
            RequestBody::Complete(bytes) if bytes.len() <= self.body_limit => bytes,
            RequestBody::Incomplete => return self.render(&ApiError::IncompleteBody, &head),
            RequestBody::Complete(_) | RequestBody::TooLarge => {
                return self.render(&ApiError::BodyTooLarge { limit: self.body_limit }, &head);
            }
        };
        let params = route.match_path(head.uri.path()).unwrap_or_default();
        let is_head = head.method == Method::HEAD;
        // A panicking handler becomes a generic 500 in the API's shape; the server keeps serving
        // (the panic unwinds only this request's future). Apps should guard their own routes
        // the same way (`tower_http::catch_panic`, or an actix middleware catching unwinds).
        let error_head = head.clone();
        let request = ApiRequest { head, body, params };
        let outcome =
            AssertUnwindSafe(async move { route.handler().call(request).await }).catch_unwind().await;
        let mut response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(Refusal::Shaped(response))) => response,
            Ok(Err(Refusal::Error(error))) => self.render(&error, &error_head),
            Err(_) => {
                tracing::error!(api = %self.name, route = index, "a handler panicked; answered 500");
                return self.render(&ApiError::Internal, &error_head);
            }
        };
        if is_head {
            // The length the GET would have had (RFC 9110 §9.3.2), then no body.
            let length = HeaderValue::from(response.body().len());
            response.headers_mut().insert(http::header::CONTENT_LENGTH, length);
            *response.body_mut() = Bytes::new();
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Route;

    struct Plain;
    impl ErrorRenderer for Plain {
        fn render(&self, error: &ApiError, _head: &Parts) -> ApiResponse {
            Reply::json(error.status(), &serde_json::json!({"detail": "server error"})).into_response()
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_generic_500_and_the_api_keeps_serving() {
        let api = Api::new("t", Arc::new(Plain))
            .route(Route::new("/boom/", &[Method::GET], |_r: ApiRequest| async {
                if true {
                    panic!("handler bug");
                }
                Reply::empty(StatusCode::OK).into_response()
            }))
            .route(Route::new("/ok/", &[Method::GET], |_r: ApiRequest| async {
                Reply::empty(StatusCode::OK).into_response()
            }));
        for _ in 0..2 {
            let (head, ()) = http::Request::get("/boom/").body(()).expect("request").into_parts();
            let response = api.call(0, head, RequestBody::Complete(Bytes::new())).await;
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(&response.body()[..], br#"{"detail":"server error"}"#);
            let (head, ()) = http::Request::get("/ok/").body(()).expect("request").into_parts();
            assert_eq!(api.call(1, head, RequestBody::Complete(Bytes::new())).await.status(), StatusCode::OK);
        }
    }
}
