//! The tower layer that runs a [`Gate`] on every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use authmount::api::adapter::{CheckedBy, Unauthenticated};
use authmount::api::{AuthState, Gate};
use authmount::authz::Policy;
use axum::response::IntoResponse;
use http::Request;
use tower::{Layer, Service};

use crate::AuthRejection;

/// Authenticates every request with a [`Gate`] and keeps the outcome, an [`AuthState`](authmount::api::AuthState), in the
/// request extensions for the extractors ([`AuthUser`](crate::AuthUser),
/// `Option<AuthUser>`).
///
/// The layer never refuses a request by itself: a route that needs a user says so by taking
/// [`AuthUser`](crate::AuthUser), a route where the user is optional takes `Option<AuthUser>`,
/// and a public route takes neither. So one layer can wrap public and private routes alike.
///
/// axum applies a layer to the routes added *before* it:
///
/// ```
/// # use std::sync::Arc;
/// # use authmount::api::{ApiError, ApiResponse, ErrorRenderer, Gate, Reply};
/// # use authmount::guard::Guard;
/// # struct Plain;
/// # impl ErrorRenderer for Plain {
/// #     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
/// #         Reply::empty(error.status()).into_response()
/// #     }
/// # }
/// # let gate = Gate::new(Guard::new(), Arc::new(Plain));
/// use authmount_axum::{AuthLayer, AuthUser};
/// use axum::{Router, routing::get};
///
/// async fn me(user: AuthUser) -> String {
///     user.user_id().to_string()
/// }
/// let app: Router = Router::new().route("/me", get(me)).layer(AuthLayer::new(gate));
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer {
    gate: Arc<Gate>,
}

impl AuthLayer {
    /// A layer checking requests with `gate` (the dialect's guard and error shape).
    pub fn new(gate: Gate) -> Self {
        Self { gate: Arc::new(gate) }
    }

    /// Also requires `policy` of every request the layer wraps: nobody signed in is the gate's
    /// refusal, a user the policy refuses gets 403 in the dialect's shape, and neither reaches
    /// the routes. (Without it the layer refuses nothing: each route's extractor decides.)
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use authmount::api::{ApiError, ApiResponse, ErrorRenderer, Gate, Reply};
    /// # use authmount::guard::Guard;
    /// # struct Plain;
    /// # impl ErrorRenderer for Plain {
    /// #     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
    /// #         Reply::empty(error.status()).into_response()
    /// #     }
    /// # }
    /// # let gate = Gate::new(Guard::new(), Arc::new(Plain));
    /// use authmount::authz::Policy;
    /// use authmount_axum::AuthLayer;
    /// use axum::{Router, routing::get};
    ///
    /// let admin: Router = Router::new()
    ///     .route("/admin/stats", get(|| async { "for admins" }))
    ///     .layer(AuthLayer::new(gate).require(Policy::admin()));
    /// # let _ = admin;
    /// ```
    pub fn require(self, policy: Policy) -> PolicyLayer {
        PolicyLayer { gate: self.gate, policy }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, gate: Arc::clone(&self.gate) }
    }
}

/// The service [`AuthLayer`] wraps around an inner service: runs the [`Gate`], inserts the
/// [`AuthState`](authmount::api::AuthState) into the request extensions and calls the inner service with the request.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    gate: Arc<Gate>,
}

/// The boxed future of [`AuthService`]: the gate's check is async and borrows the request head.
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let gate = Arc::clone(&self.gate);
        Box::pin(async move {
            let (mut head, body) = request.into_parts();
            let state = gate.check(&head).await;
            keep(&mut head, state, gate);
            inner.call(Request::from_parts(head, body)).await
        })
    }
}

/// [`AuthLayer::require`]: an [`AuthLayer`] that also requires a [`Policy`] of every request and
/// answers a refused one itself (the gate's 401/503, or 403 in the dialect's shape) without
/// calling the routes. Wraps axum routes (their response is axum's `Response`).
#[derive(Debug, Clone)]
pub struct PolicyLayer {
    gate: Arc<Gate>,
    policy: Policy,
}

impl<S> Layer<S> for PolicyLayer {
    type Service = PolicyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PolicyService { inner, gate: Arc::clone(&self.gate), policy: self.policy.clone() }
    }
}

/// The service [`PolicyLayer`] wraps around an inner service.
#[derive(Debug, Clone)]
pub struct PolicyService<S> {
    inner: S,
    gate: Arc<Gate>,
    policy: Policy,
}

impl<S, B> Service<Request<B>> for PolicyService<S>
where
    S: Service<Request<B>, Response = axum::response::Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let gate = Arc::clone(&self.gate);
        let policy = self.policy.clone();
        Box::pin(async move {
            let (mut head, body) = request.into_parts();
            match gate.check_for(&head, Some(&policy)).await {
                Ok(state) => {
                    keep(&mut head, state, gate);
                    inner.call(Request::from_parts(head, body)).await
                }
                Err(denial) => Ok(AuthRejection::new(Unauthenticated::Denied(denial), &head).into_response()),
            }
        })
    }
}

/// The instance `poll_ready` readied, leaving a fresh clone for the next request (a clone is not
/// necessarily ready).
fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}

/// Keeps the gate's outcome and the gate in the request extensions, for the extractors.
fn keep(head: &mut http::request::Parts, state: AuthState, gate: Arc<Gate>) {
    head.extensions.insert(state);
    head.extensions.insert(CheckedBy(gate));
}
