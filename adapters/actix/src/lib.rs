//! # authmount-actix
//!
//! The actix-web 4 adapter of [`authmount`]: it mounts a dialect's endpoints
//! ([`configure`]), authenticates an app's own routes ([`AuthMiddleware`]) and hands the user to
//! handlers ([`AuthUser`], [`MaybeAuthUser`]).
//!
//! It only translates: actix's request becomes an `http` 1.x request head for the core, and the
//! core's `http` response becomes an actix response with the same status, headers and bytes.
//! Every decision (routing methods, body limits, error shapes, authentication) is the core's, so
//! an app answers exactly as it would under the axum adapter.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//! use actix_web::{App, HttpServer, web};
//! use authmount::api::{Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Gate, Reply, Route};
//! use authmount::{carrier::Carrier, guard::{Guard, OpaqueVerifier}, store::{MemoryTokenStore, TokenKind}};
//! use authmount_actix::{AuthMiddleware, AuthUser, configure};
//! use http::{Method, StatusCode};
//!
//! struct Json; // A dialect's error shape.
//! impl ErrorRenderer for Json {
//!     fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
//!         Reply::json(error.status(), &serde_json::json!({"detail": format!("{error:?}")})).into_response()
//!     }
//! }
//!
//! fn server(tokens: Arc<MemoryTokenStore>) -> std::io::Result<actix_web::dev::Server> {
//!     let api = Api::new("hello", Arc::new(Json)).route(Route::new("/api/hello/", &[Method::GET], |_: ApiRequest| async {
//!         Reply::json(StatusCode::OK, &serde_json::json!({"hello": "world"})).into_response()
//!     }));
//!     let guard = Guard::new().with(Carrier::bearer(), OpaqueVerifier::new(tokens, TokenKind::Access, "hello"));
//!     let gate = Gate::new(guard, Arc::new(Json));
//!     let (routes, auth) = (configure(api), AuthMiddleware::new(gate));
//!     let server = HttpServer::new(move || {
//!         App::new().configure(routes.clone()).service(
//!             web::scope("/app").wrap(auth.clone())
//!                 .route("/me", web::get().to(|user: AuthUser| async move { user.user_id().to_string() })),
//!         )
//!     });
//!     Ok(server.bind(("127.0.0.1", 8080))?.run())
//! }
//! # let _ = server;
//! ```
//!
//! Optional authentication uses [`MaybeAuthUser`], not `Option<AuthUser>`: see its documentation.
//! [`Gated<T>`](Gated) hands on any value a dialect reads from an authenticated request
//! (Meldeschein's [`Meta`]). The core is re-exported as [`authmount`](mod@authmount).

mod convert;
pub mod extract;
mod gated;
mod middleware;
mod mount;

/// The core, re-exported so an app keeps one `authmount` version in step with this adapter.
pub use authmount;
pub use extract::{AuthRejection, AuthUser, Authorized, MaybeAuthUser};
pub use gated::{Gated, Meta};
pub use middleware::{AuthMiddleware, AuthMiddlewareService};
pub use mount::configure;
