//! Extractors for handlers behind [`AuthMiddleware`](crate::AuthMiddleware).
//!
//! They read the [`AuthState`] the middleware kept in the request's extensions; they make no
//! decision of their own. Values a dialect reads from an authenticated request and its body
//! (such as Meldeschein's [`Meta`](crate::Meta)) come through the one generic extractor
//! [`Gated<T>`](crate::Gated).

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use authmount::api::adapter::Unauthenticated;
use authmount::api::{AuthState, Authenticated, Denial};
use authmount::guard::Identity;
use authmount::user::{User, UserId};

use crate::convert;

/// What a handler gets when a request without an [`AuthMiddleware`](crate::AuthMiddleware) in
/// front of it asks for the user: a setup mistake, answered 500 and logged.
const NO_MIDDLEWARE: &str = "authmount: no AuthMiddleware ran for this route; add \
    `.wrap(authmount_actix::AuthMiddleware::new(gate))`";

/// The authenticated user of a request: a handler taking it only runs for authenticated requests.
///
/// Any other request is answered with the [`Gate`](authmount::api::Gate)'s refusal, exactly as
/// the dialect renders it (its 401, 403 or 503 body and headers), through [`AuthRejection`].
///
/// ```
/// use authmount_actix::AuthUser;
/// async fn me(user: AuthUser) -> String {
///     format!("user {}", user.user_id())
/// }
/// # let _ = actix_web::web::get().to(me);
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

impl FromRequest for AuthUser {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = request.extensions().get::<AuthState>().cloned();
        ready(
            AuthState::required(state.as_ref())
                .map(Self)
                .map_err(|refused| AuthRejection::new(refused, request)),
        )
    }
}

/// Optional authentication: `Some` user for an authenticated request, `None` for a request that
/// sent no credentials at all, and the dialect's refusal for any other request.
///
/// A broken, expired or revoked token, or a token store that is down, is never taken for
/// "anonymous": the client is told its credentials failed (401, or 503) rather than silently
/// served the anonymous view. This is why there is a separate type: actix's own `Option<AuthUser>`
/// turns every extractor error into `None` and would hide exactly those failures. The behaviour is
/// the same as the axum adapter's optional extractor.
///
/// ```
/// use authmount_actix::MaybeAuthUser;
/// async fn greeting(user: MaybeAuthUser) -> String {
///     match user.user_id() {
///         Some(id) => format!("hello, user {id}"),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// # let _ = actix_web::web::get().to(greeting);
/// ```
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<Arc<Authenticated>>);

impl MaybeAuthUser {
    /// The verified identity, if the request is authenticated.
    pub fn identity(&self) -> Option<&Identity> {
        self.0.as_deref().map(|authenticated| &authenticated.identity)
    }

    /// The user's id, if the request is authenticated.
    pub fn user_id(&self) -> Option<UserId> {
        self.identity().map(|identity| identity.user_id)
    }

    /// The user's account, if the request is authenticated and the gate loads accounts.
    pub fn user(&self) -> Option<&User> {
        self.0.as_deref().and_then(|authenticated| authenticated.user.as_deref())
    }
}

impl FromRequest for MaybeAuthUser {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = request.extensions().get::<AuthState>().cloned();
        ready(
            AuthState::optional(state.as_ref())
                .map(Self)
                .map_err(|refused| AuthRejection::new(refused, request)),
        )
    }
}

/// The authenticated user of a request that `P`'s policy allows
/// ([`authmount::authz::Authorized`]): nobody signed in is the gate's refusal, a user the policy
/// refuses gets 403 in the dialect's shape. Needs the [`AuthMiddleware`](crate::AuthMiddleware)
/// on the route, as [`AuthUser`] does.
///
/// ```
/// use authmount::authz::Admin;
/// use authmount_actix::Authorized;
///
/// async fn stats(admin: Authorized<Admin>) -> String {
///     format!("hello, admin {}", admin.user_id())
/// }
/// # let _ = actix_web::web::get().to(stats);
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

impl<P: authmount::authz::PolicyFor> FromRequest for Authorized<P> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = request.extensions();
        let decided =
            convert::request_parts(request.head()).map_err(|_| Unauthenticated::NoGate).and_then(|head| {
                authmount::authz::Authorized::from_state(
                    extensions.get::<AuthState>(),
                    extensions.get::<authmount::api::adapter::CheckedBy>(),
                    &head,
                )
            });
        drop(extensions);
        ready(decided.map(Self).map_err(|refused| AuthRejection::new(refused, request)))
    }
}

/// Why [`AuthUser`] or [`MaybeAuthUser`] refused a request. As an actix
/// [`ResponseError`] it answers with the gate's rendered refusal, byte for byte, or with a 500
/// when no [`AuthMiddleware`](crate::AuthMiddleware) ran for the route.
#[derive(Debug, Clone)]
pub struct AuthRejection(Reason);

#[derive(Debug, Clone)]
enum Reason {
    Denied(Arc<Denial>),
    MissingMiddleware,
}

impl AuthRejection {
    pub(crate) fn denied(denial: Arc<Denial>) -> Self {
        Self(Reason::Denied(denial))
    }

    /// The rejection for `request` (a missing middleware is logged).
    pub(crate) fn new(refused: Unauthenticated, request: &HttpRequest) -> Self {
        match refused {
            Unauthenticated::Denied(denial) => Self::denied(denial),
            Unauthenticated::NoGate => {
                tracing::error!(path = request.path(), "{NO_MIDDLEWARE}");
                Self(Reason::MissingMiddleware)
            }
        }
    }

    /// The gate's refusal, or `None` when no middleware ran.
    pub fn denial(&self) -> Option<&Denial> {
        match &self.0 {
            Reason::Denied(denial) => Some(denial),
            Reason::MissingMiddleware => None,
        }
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Reason::Denied(denial) => write!(f, "authmount: request refused ({})", denial.status()),
            Reason::MissingMiddleware => f.write_str(NO_MIDDLEWARE),
        }
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            Reason::Denied(denial) => {
                StatusCode::from_u16(denial.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Reason::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        match &self.0 {
            Reason::Denied(denial) => convert::response(denial.to_response()).map_into_boxed_body(),
            Reason::MissingMiddleware => {
                convert::plain_text(StatusCode::INTERNAL_SERVER_ERROR, NO_MIDDLEWARE.to_owned())
            }
        }
    }
}
