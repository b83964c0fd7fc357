use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use http::{HeaderValue, Method};
use serde_json::Value;

use super::{ApiRequest, HandlerResult, IntoHandlerResult, PathParams};
use crate::openapi::Endpoint;

/// Answers one route's requests: a response, or a [`Refusal`](super::Refusal) that the
/// [`Api`](super::Api) renders in the dialect's shape. Implemented for async functions and
/// closures `Fn(ApiRequest) -> impl Future<Output = T>` where `T` is an
/// [`ApiResponse`](super::ApiResponse), a [`Reply`](super::Reply) or a `Result` of one whose
/// error converts into a refusal ([`IntoHandlerResult`]).
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Answers a request whose method the route allows.
    async fn call(&self, request: ApiRequest) -> HandlerResult;
}

#[async_trait]
impl<F, Fut> Handler for F
where
    F: Fn(ApiRequest) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoHandlerResult,
{
    async fn call(&self, request: ApiRequest) -> HandlerResult {
        self(request).await.into_handler_result()
    }
}

/// One endpoint: a path pattern, the methods it allows and its handler.
///
/// Patterns are written as documented, with `{name}` for a captured segment
/// (`/authentication/api/verify-password-reset/{uid}/{token}/`). The route is served with and
/// without the trailing slash ([`paths`](Self::paths)): the originals answer the other form with a
/// redirect that loses POST bodies, so serving both is strictly better for clients.
///
/// ```
/// use authmount::api::{ApiRequest, Reply, Route};
/// use http::{Method, StatusCode};
/// let route = Route::new("/api/token-auth/", &[Method::POST], |_req: ApiRequest| async {
///     Reply::empty(StatusCode::NO_CONTENT).into_response()
/// })
/// .with_options("Obtain Auth Token", "");
/// assert_eq!(route.paths(), ["/api/token-auth/", "/api/token-auth"]);
/// assert_eq!(route.allow_header(), "POST, OPTIONS");
/// ```
#[derive(Clone)]
pub struct Route {
    pattern: Cow<'static, str>,
    methods: Vec<Method>,
    handler: Arc<dyn Handler>,
    options: Option<Value>,
    doc: Option<Arc<Endpoint>>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("pattern", &self.pattern)
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

/// The order DRF lists allowed methods in.
const METHOD_ORDER: [Method; 8] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
    Method::TRACE,
];

impl Route {
    /// A route answering `methods` at `pattern`. `GET` implies `HEAD`.
    pub fn new(pattern: impl Into<Cow<'static, str>>, methods: &[Method], handler: impl Handler) -> Self {
        let mut methods = methods.to_vec();
        if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
        Self { pattern: pattern.into(), methods, handler: Arc::new(handler), options: None, doc: None }
    }

    /// A route whose handler is `handler(state, request)`, `state` shared by every request: a
    /// dialect's handlers are methods of its shared state.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use authmount::api::{ApiRequest, HandlerResult, Reply, Route};
    /// use http::{Method, StatusCode};
    ///
    /// struct Greeter { greeting: &'static str }
    /// impl Greeter {
    ///     async fn greet(&self, _request: ApiRequest) -> HandlerResult {
    ///         Ok(Reply::json(StatusCode::OK, &serde_json::json!({"greeting": self.greeting})).into_response())
    ///     }
    /// }
    /// let state = Arc::new(Greeter { greeting: "hello" });
    /// let route = Route::stateful("/greet/", &[Method::GET], state, |greeter, request| async move {
    ///     greeter.greet(request).await
    /// });
    /// assert_eq!(route.pattern(), "/greet/");
    /// ```
    pub fn stateful<S, F, Fut>(
        pattern: impl Into<Cow<'static, str>>,
        methods: &[Method],
        state: Arc<S>,
        handler: F,
    ) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(Arc<S>, ApiRequest) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoHandlerResult,
    {
        Self::new(pattern, methods, move |request: ApiRequest| handler(Arc::clone(&state), request))
    }

    /// Answers `OPTIONS` with DRF's endpoint description: `name`, `description`, `renders` and
    /// `parses` (as DRF's `SimpleMetadata` does for every API view).
    pub fn with_options(self, name: &str, description: &str) -> Self {
        self.with_options_metadata(serde_json::json!({
            "name": name,
            "description": description,
            "renders": ["application/json"],
            "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
        }))
    }

    /// Answers `OPTIONS` with this JSON document.
    pub fn with_options_metadata(mut self, metadata: Value) -> Self {
        self.options = Some(metadata);
        self
    }

    /// Describes the route for the OpenAPI document ([`crate::openapi`]): its body, answers and
    /// security. The description sits next to the handler, so the two are changed together.
    ///
    /// ```
    /// use authmount::api::{ApiRequest, Reply, Route};
    /// use authmount::openapi::{Answer, Endpoint};
    /// use http::{Method, StatusCode};
    /// let route = Route::new("/ping/", &[Method::GET], |_r: ApiRequest| async { Reply::empty(StatusCode::NO_CONTENT) })
    ///     .with_doc(Endpoint::new("Ping").answer(Answer::new(StatusCode::NO_CONTENT, "Alive.")));
    /// assert_eq!(route.doc().map(Endpoint::summary), Some("Ping"));
    /// ```
    #[must_use]
    pub fn with_doc(mut self, endpoint: Endpoint) -> Self {
        self.doc = Some(Arc::new(endpoint));
        self
    }

    /// The route's description, if it has one.
    pub fn doc(&self) -> Option<&Endpoint> {
        self.doc.as_deref()
    }

    /// The methods the route answers besides `OPTIONS` (`HEAD` wherever `GET` is).
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    /// The pattern as documented.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The documented path and its twin with the trailing slash added or removed (just `/` for
    /// the root). Adapters mount the route at each.
    pub fn paths(&self) -> Vec<String> {
        let documented = self.pattern.to_string();
        let twin = match documented.strip_suffix('/') {
            Some("") => return vec![documented],
            Some(stripped) => stripped.to_owned(),
            None => format!("{documented}/"),
        };
        vec![documented, twin]
    }

    /// Whether `method` is answered (including `OPTIONS` when described).
    pub fn allows(&self, method: &Method) -> bool {
        self.methods.contains(method) || (*method == Method::OPTIONS && self.options.is_some())
    }

    /// The `Allow` header value, in DRF's order (`POST, OPTIONS`).
    pub fn allow_header(&self) -> HeaderValue {
        let allowed: Vec<&str> = METHOD_ORDER.iter().filter(|m| self.allows(m)).map(Method::as_str).collect();
        HeaderValue::from_str(&allowed.join(", ")).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The `OPTIONS` description, if the route has one.
    pub fn options_metadata(&self) -> Option<&Value> {
        self.options.as_ref()
    }

    /// The handler.
    pub fn handler(&self) -> &Arc<dyn Handler> {
        &self.handler
    }

    /// Captures the `{name}` segments of `path` (with or without the trailing slash); `None`
    /// when the path does not fit the pattern.
    ///
    /// ```
    /// # use authmount::api::{ApiRequest, Reply, Route};
    /// # let handler = |_r: ApiRequest| async { Reply::empty(http::StatusCode::OK).into_response() };
    /// let route = Route::new("/reset/{uid}/{token}/", &[http::Method::GET], handler);
    /// let params = route.match_path("/reset/7/abc").unwrap();
    /// assert_eq!((params.get("uid"), params.get("token")), (Some("7"), Some("abc")));
    /// assert!(route.match_path("/reset/7").is_none());
    /// ```
    pub fn match_path(&self, path: &str) -> Option<PathParams> {
        let mut pattern = self.pattern.trim_end_matches('/').split('/');
        let mut actual = path.trim_end_matches('/').split('/');
        let mut params = Vec::new();
        loop {
            match (pattern.next(), actual.next()) {
                (None, None) => return Some(PathParams::from_pairs(params)),
                (Some(expected), Some(segment)) => {
                    if let Some(name) = expected.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                        let value = percent_encoding::percent_decode_str(segment).decode_utf8().ok()?;
                        params.push((name.to_owned(), value.into_owned()));
                    } else if expected != segment {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }
}
