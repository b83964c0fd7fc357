//! OpenAPI 3.1 documents of the mounted APIs, built from the same route table the adapters
//! mount, so the document cannot drift from what is served.
//!
//! - Each [`Route`](crate::api::Route) carries an [`Endpoint`]
//!   ([`Route::with_doc`](crate::api::Route::with_doc)): its request body per accepted
//!   [`BodyFormat`](crate::codec::BodyFormat), its [`Answer`]s (status, body per content type,
//!   headers such as `WWW-Authenticate`, `Set-Cookie`, `Retry-After`), whether it needs the
//!   dialect's token.
//! - Each API's [`ErrorRenderer`](crate::api::ErrorRenderer) describes its common failures
//!   ([`ErrorRenderer::describe`](crate::api::ErrorRenderer::describe)): 400/413/415 for a bad
//!   body, 429, 500, 503, in the dialect's own shape.
//! - Each [`Dialect`](crate::dialect::Dialect) yields its document
//!   ([`Dialect::openapi`](crate::dialect::Dialect::openapi)); its carriers become security
//!   schemes ([`security_scheme`]).
//! - An [`ApiDocument`] merges several dialects and the app's own routes
//!   ([`ApiDocument::with_route`]).
//!
//! The model is utoipa's ([`model`]), so an app can change the document further
//! ([`ApiDocument::into_openapi`]) before serving it.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use authmount::dialect::{DialectContext, Dialects};
//! use authmount::mailer::OutboxMailer;
//! use authmount::openapi::ApiDocument;
//! use authmount::services::Services;
//! use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
//!
//! let services = Services::in_memory()?;
//! let jwt = JwtService::new(KeyRing::new("k1", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
//! let dialects = Dialects::built_in(&DialectContext::new(services, jwt, Arc::new(OutboxMailer::new())))?;
//! let document = ApiDocument::new("authmount", "0.1.0").with_dialects(&dialects);
//! let json: serde_json::Value = serde_json::from_str(&document.to_json())?;
//! assert!(json["paths"]["/api/token/"]["post"]["requestBody"]["content"]["application/xml"].is_object());
//! # Ok(()) }
//! ```

mod document;
mod endpoint;
pub mod schema;
mod security;

pub use document::{ApiDocument, describe_api, documented_operations, mounted_operations};
pub use endpoint::{Answer, Endpoint, Security};
pub use security::{scheme_name, security_scheme};
/// utoipa's OpenAPI model, which the documents are built with.
pub use utoipa::openapi as model;

#[cfg(test)]
mod tests;
