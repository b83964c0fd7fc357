//! Mounted APIs: the framework-free description of a dialect's endpoints that the adapters mount.
//!
//! A dialect builds an [`Api`]: a name, a list of [`Route`]s (a path pattern, the allowed methods,
//! a [`Handler`]), a body limit and an [`ErrorRenderer`] that gives the common failures (405,
//! 413, 415, 400, 401, 503) the dialect's own shape. An adapter mounts every route at both
//! [`Route::paths`] (with and without the trailing slash), reads the body up to
//! [`Api::body_limit`], and calls [`Api::call`]: every decision, including the method check, is
//! made here, so axum and actix answer byte for byte alike.
//!
//! Handlers return a [`HandlerResult`]: the answer, or a [`Refusal`] (a common [`ApiError`]
//! that the API renders in the dialect's shape, or an answer already shaped), so their bodies
//! read top to bottom with `?`.
//!
//! Protecting the app's own routes goes through a [`Gate`]: the dialect's guard plus its error
//! shape. Adapters run it in their middleware and keep the outcome ([`AuthState`]) in the request
//! extensions for their extractors. The [`adapter`] kit is everything else an adapter needs:
//! body reading, the required/optional user, and extractors written once for every framework.

pub mod adapter;
mod cross_site;
mod error;
mod gate;
mod mounted;
mod refusal;
mod request;
mod response;
mod route;

pub use cross_site::{CROSS_SITE_REFUSED, InvalidOrigin, Origin};
pub use error::{ApiError, ErrorRenderer};
pub use gate::{AuthState, Authenticated, Denial, Gate, UserCheck};
pub use mounted::{Api, BODY_READ_TIMEOUT, DEFAULT_BODY_LIMIT};
pub use refusal::{HandlerResult, IntoHandlerResult, Refusal};
pub use request::{ApiRequest, PathParams, RequestBody};
pub use response::{ApiResponse, Reply};
pub use route::{Handler, Route};
