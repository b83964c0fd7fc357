//! The Meldeschein `meta` extractor for business routes.

use authmount::api::{AuthState, Denial};
use authmount::dialect::meldeschein::{META_BODY_LIMIT, MetaRequest, extract_meta};
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

use crate::AuthRejection;
use crate::router::read_body;

/// A Meldeschein business request: the validated, granted `meta` object and the rest of the body.
///
/// Needs [`AuthLayer`](crate::AuthLayer) with the Meldeschein gate on the route (the gate loads
/// the user whose grants are checked). Refusals are Meldeschein's own: 401 without a valid JWT,
/// 400 with field errors for a missing or mistyped `meta`, 403 for IDs the user may not post for,
/// 413/415 for the body. As it reads the body, it must be the handler's last extractor.
///
/// ```
/// use authmount_axum::Meta;
/// use axum::http::StatusCode;
///
/// async fn book(Meta(request): Meta) -> (StatusCode, String) {
///     (StatusCode::CREATED, format!("booked for municipality {}", request.meta.gemeinde))
/// }
/// # let _ = axum::Router::<()>::new().route("/api/meldeschein/", axum::routing::post(book));
/// ```
#[derive(Debug)]
pub struct Meta(pub MetaRequest);

impl<S: Send + Sync> FromRequest<S> for Meta {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (head, body) = request.into_parts();
        let authenticated = match head.extensions.get::<AuthState>() {
            Some(AuthState::Authenticated(authenticated)) => authenticated.clone(),
            Some(AuthState::Denied(denial)) => {
                return Err(AuthRejection::Denied(denial.clone()).into_response());
            }
            None => return Err(AuthRejection::MissingLayer.into_response()),
        };
        let body = read_body(&head.headers, body, META_BODY_LIMIT).await;
        match extract_meta(&authenticated, &head, &body).await {
            Ok(request) => Ok(Meta(request)),
            Err(refusal) => Err(AuthRejection::Denied(Denial::new(refusal, false).into()).into_response()),
        }
    }
}
