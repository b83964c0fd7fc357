//! # authmount-axum
//!
//! The axum 0.8 adapter of [`authmount`]: it translates between axum and the framework-free
//! core and makes no auth decision of its own.
//!
//! - [`router`] mounts an [`Api`](authmount::api::Api) (a dialect's login, token, logout...
//!   endpoints) as a [`Router`](axum::Router) to merge into your app.
//! - [`AuthLayer`] runs a [`Gate`](authmount::api::Gate) on every request of the routes it
//!   wraps and keeps the outcome in the request extensions.
//! - [`AuthUser`] (and `Option<AuthUser>`) hands the authenticated user to your handlers, or
//!   answers with the dialect's own 401; [`Gated<T>`](Gated) hands on any value a dialect reads
//!   from an authenticated request (Meldeschein's [`Meta`]).
//!
//! The core is re-exported as [`authmount`](mod@authmount): `authmount_axum::authmount::...`.
//!
//! ```
//! use std::sync::Arc;
//! use authmount::api::{Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Gate, Reply, Route};
//! use authmount::carrier::Carrier;
//! use authmount::guard::{Guard, OpaqueVerifier};
//! use authmount::store::{MemoryTokenStore, TokenKind};
//! use authmount_axum::{AuthLayer, AuthUser};
//! use axum::{Router, routing::get};
//! use http::{Method, StatusCode, request::Parts};
//! use serde_json::json;
//!
//! /// How this app's errors look (a dialect brings its own).
//! struct Detail;
//! impl ErrorRenderer for Detail {
//!     fn render(&self, error: &ApiError, _head: &Parts) -> ApiResponse {
//!         Reply::json(error.status(), &json!({ "detail": format!("{error:?}") })).into_response()
//!     }
//! }
//!
//! async fn me(user: AuthUser) -> String {
//!     format!("hello, user {}", user.user_id())
//! }
//!
//! let tokens = Arc::new(MemoryTokenStore::new());
//! let guard = Guard::new().with(Carrier::bearer(), OpaqueVerifier::new(tokens, TokenKind::Access, "demo"));
//! let api = Api::new("demo", Arc::new(Detail)).route(Route::new("/api/ping/", &[Method::GET], |_: ApiRequest| async {
//!     Reply::json(StatusCode::OK, &json!({ "pong": true })).into_response()
//! }));
//!
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .layer(AuthLayer::new(Gate::new(guard, Arc::new(Detail))))
//!     .merge(authmount_axum::router(api));
//! // Then: axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await?;
//! # let _ = app;
//! ```

pub mod extract;
mod gated;
mod layer;
mod router;
mod serve;

/// The core, re-exported so an app keeps one `authmount` version in step with this adapter.
pub use authmount;
pub use extract::{AuthRejection, AuthUser, Authorized};
pub use gated::{Gated, Meta};
pub use layer::{AuthLayer, AuthService, PolicyLayer, PolicyService};
pub use router::router;
pub use serve::{ServeLimits, serve};
