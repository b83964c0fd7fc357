//! Extractors reading what [`AuthLayer`](crate::AuthLayer) found.
//!
//! - [`AuthUser`]: the route needs an authenticated user; anything else is refused with the
//!   dialect's own 401/403/503.
//! - `Option<AuthUser>`: the user is optional; `None` when the request carries no credentials,
//!   still refused when it carries broken, expired or revoked ones.
//!
//! - [`Gated<T>`](crate::Gated): any value a dialect reads from an authenticated request and its
//!   body ([`FromGated`](authmount::api::adapter::FromGated)), such as Meldeschein's
//!   [`Meta`](crate::Meta).

use std::sync::Arc;

use authmount::api::adapter::Unauthenticated;
use authmount::api::{AuthState, Authenticated, Denial};
use axum::body::Body;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, StatusCode};

/// The body of the 500 answered when an extractor finds no [`AuthState`]: the route is not
/// wrapped in an [`AuthLayer`](crate::AuthLayer).
pub const MISSING_LAYER_MESSAGE: &str =
    "authmount: no AuthLayer ran for this route; add `.layer(authmount_axum::AuthLayer::new(gate))`";

/// The authenticated user of a request; refuses the request otherwise.
///
/// Needs [`AuthLayer`](crate::AuthLayer) on the route. A refused request gets the dialect's own
/// answer (its 401 body and `WWW-Authenticate`, or 503 when a store is down); a route without
/// the layer gets a 500 that names the problem.
///
/// ```
/// use authmount_axum::AuthUser;
///
/// async fn me(user: AuthUser) -> String {
///     format!("user {}", user.user_id())
/// }
///
/// async fn greeting(user: Option<AuthUser>) -> String {
///     match user {
///         Some(user) => format!("hello, user {}", user.user_id()),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// # let _ = axum::Router::<()>::new()
/// #     .route("/me", axum::routing::get(me))
/// #     .route("/hello", axum::routing::get(greeting));
/// ```
#[derive(Debug, Clone)]
pub struct AuthUser(pub Arc<Authenticated>);

/// `user.user_id()`, `user.user()`, `user.identity()`: what the gate established.
impl std::ops::Deref for AuthUser {
    type Target = Authenticated;

    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        AuthState::required(parts.extensions.get())
            .map(Self)
            .map_err(|refused| AuthRejection::new(refused, parts))
    }
}

/// `Option<AuthUser>`: `None` only when the request carries no credentials at all.
impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        let user = AuthState::optional(parts.extensions.get())
            .map_err(|refused| AuthRejection::new(refused, parts))?;
        Ok(user.map(Self))
    }
}

/// The authenticated user of a request that `P`'s policy allows
/// ([`authmount::authz::Authorized`]): nobody signed in is the gate's refusal, a user the policy
/// refuses gets 403 in the dialect's shape. Needs the [`AuthLayer`](crate::AuthLayer) on the
/// route, as [`AuthUser`] does.
///
/// ```
/// use authmount::authz::Admin;
/// use authmount_axum::Authorized;
///
/// async fn stats(admin: Authorized<Admin>) -> String {
///     format!("hello, admin {}", admin.user_id())
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(stats);
/// ```
pub struct Authorized<P>(pub authmount::authz::Authorized<P>);

impl<P> std::fmt::Debug for Authorized<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<P> std::ops::Deref for Authorized<P> {
    type Target = Authenticated;

    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl<S: Send + Sync, P: authmount::authz::PolicyFor> FromRequestParts<S> for Authorized<P> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        authmount::authz::Authorized::from_state(parts.extensions.get(), parts.extensions.get(), parts)
            .map(Self)
            .map_err(|refused| AuthRejection::new(refused, parts))
    }
}

/// Why [`AuthUser`] refused a request.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// The gate refused the request; the response is the dialect's own (401, 403 or 503).
    #[error("authmount: request refused with {}", .0.status())]
    Denied(Arc<Denial>),
    /// No [`AuthLayer`](crate::AuthLayer) ran for the route: a set-up mistake, answered 500 with
    /// [`MISSING_LAYER_MESSAGE`].
    #[error("{MISSING_LAYER_MESSAGE}")]
    MissingLayer,
}

impl AuthRejection {
    /// The rejection for the request whose head is `parts` (a missing layer is logged).
    pub(crate) fn new(refused: Unauthenticated, parts: &Parts) -> Self {
        match refused {
            Unauthenticated::Denied(denial) => Self::Denied(denial),
            Unauthenticated::NoGate => {
                tracing::error!(path = %parts.uri.path(), "{MISSING_LAYER_MESSAGE}");
                Self::MissingLayer
            }
        }
    }

    /// The status the rejection answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Denied(denial) => denial.status(),
            Self::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Denied(denial) => denial.to_response().map(Body::from),
            Self::MissingLayer => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
                MISSING_LAYER_MESSAGE,
            )
                .into_response(),
        }
    }
}
