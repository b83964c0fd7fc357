//! `GET /api/whoami`: who a token of any mounted dialect belongs to.
//!
//! The route's gate is authmount's multi-dialect gate
//! ([`Dialects::any_gate`](authmount::dialect::Dialects::any_gate)): each dialect's carriers in
//! the order the dialects are mounted; where two dialects use the same carrier (say
//! `Authorization: Bearer` for an opaque token and for a JWT), the carrier appears once and its
//! token is offered to each dialect's verifier in turn.

use authmount::api::{Authenticated, Reply};
use http::{HeaderValue, StatusCode};
use serde_json::json;

/// The answer of `/api/whoami`: 200 `{"id", "username", "email"}` (e-mail `null` when none),
/// `Cache-Control: no-store` and `Referrer-Policy: no-referrer` (the tDAR key may be in the URL).
pub fn response(authenticated: &Authenticated) -> authmount::api::ApiResponse {
    let body = match &authenticated.user {
        Some(user) => json!({ "id": user.id.0, "username": user.username, "email": user.email }),
        None => json!({ "id": authenticated.identity.user_id.0, "username": null, "email": null }),
    };
    Reply::json(StatusCode::OK, &body)
        .no_store()
        .header(http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"))
        .into_response()
}
