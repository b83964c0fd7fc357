//! The middleware that runs a [`Gate`] in front of an app's own routes.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use std::sync::Arc;

use authmount::api::Gate;
use authmount::api::adapter::CheckedBy;
use authmount::authz::Policy;
use futures_util::future::LocalBoxFuture;

use crate::convert;

/// Authenticates every request of the routes it wraps with a [`Gate`] and keeps the outcome, an
/// [`AuthState`](authmount::api::AuthState), in the request's extensions for the extractors
/// ([`AuthUser`](crate::AuthUser), [`MaybeAuthUser`](crate::MaybeAuthUser)).
///
/// It never refuses a request on its own: whether authentication is required is the handler's
/// choice, by the extractor it takes. (The only answer it gives itself is a 400 for a request head
/// that `http` 1.x cannot represent, which cannot happen for a head actix parsed.)
///
/// ```
/// use std::sync::Arc;
/// use actix_web::{App, web};
/// use authmount::api::{ApiError, ApiResponse, ErrorRenderer, Gate, Reply};
/// use authmount::guard::Guard;
/// use authmount_actix::{AuthMiddleware, AuthUser};
///
/// struct Plain;
/// impl ErrorRenderer for Plain {
///     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
///         Reply::empty(error.status()).into_response()
///     }
/// }
/// let gate = Gate::new(Guard::new(), Arc::new(Plain));
/// let app = App::new().service(
///     web::scope("/app")
///         .wrap(AuthMiddleware::new(gate))
///         .route("/me", web::get().to(|user: AuthUser| async move { user.user_id().to_string() })),
/// );
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct AuthMiddleware {
    gate: Arc<Gate>,
    policy: Option<Policy>,
}

impl AuthMiddleware {
    /// A middleware checking each request with `gate`.
    pub fn new(gate: Gate) -> Self {
        Self { gate: Arc::new(gate), policy: None }
    }

    /// Also requires `policy` of every request the middleware wraps: nobody signed in is the
    /// gate's refusal, a user the policy refuses gets 403 in the dialect's shape, and neither
    /// reaches the handlers. (Without it the middleware refuses nothing: each handler's
    /// extractor decides.)
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
    /// use actix_web::{App, web};
    /// use authmount::authz::Policy;
    /// use authmount_actix::AuthMiddleware;
    ///
    /// let app = App::new().service(
    ///     web::scope("/admin")
    ///         .wrap(AuthMiddleware::new(gate).require(Policy::admin()))
    ///         .route("/stats", web::get().to(|| async { "for admins" })),
    /// );
    /// # let _ = app;
    /// ```
    pub fn require(mut self, policy: Policy) -> Self {
        self.policy = Some(policy);
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = AuthMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddlewareService {
            service: Rc::new(service),
            gate: Arc::clone(&self.gate),
            policy: self.policy.clone(),
        }))
    }
}

/// The service [`AuthMiddleware`] wraps around the inner service; built by actix, not by hand.
pub struct AuthMiddlewareService<S> {
    service: Rc<S>,
    gate: Arc<Gate>,
    policy: Option<Policy>,
}

impl<S> std::fmt::Debug for AuthMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthMiddlewareService").field("gate", &self.gate).finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for AuthMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let gate = Arc::clone(&self.gate);
        let policy = self.policy.clone();
        Box::pin(async move {
            let head = match convert::request_parts(request.head()) {
                Ok(head) => head,
                Err(error) => {
                    tracing::warn!(%error, "authmount: request head not translatable");
                    return Err(actix_web::error::ErrorBadRequest(error.to_string()));
                }
            };
            match gate.check_for(&head, policy.as_ref()).await {
                Ok(state) => {
                    request.extensions_mut().insert(state);
                    request.extensions_mut().insert(CheckedBy(gate));
                    service.call(request).await
                }
                // Answered at once, as the error's response (the dialect's 401/403/503).
                Err(denial) => Err(crate::AuthRejection::denied(denial).into()),
            }
        })
    }
}
