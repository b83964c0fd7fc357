//! The tower layer that runs a [`Gate`] on every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use authmount::api::{AuthState, Gate};
use http::Request;
use tower::{Layer, Service};

/// Authenticates every request with a [`Gate`] and keeps the outcome, an [`AuthState`], in the
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
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, gate: Arc::clone(&self.gate) }
    }
}

/// The service [`AuthLayer`] wraps around an inner service: runs the [`Gate`], inserts the
/// [`AuthState`] into the request extensions and calls the inner service with the request.
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
        // `self.inner` is the instance `poll_ready` readied: take it, and leave a fresh clone
        // for the next request (a clone is not necessarily ready).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = Arc::clone(&self.gate);
        Box::pin(async move {
            let (mut head, body) = request.into_parts();
            let state: AuthState = gate.check(&head).await;
            head.extensions.insert(state);
            inner.call(Request::from_parts(head, body)).await
        })
    }
}
