//! The Meldeschein `meta` extractor for business routes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use authmount::api::{AuthState, Denial, Reply};
use authmount::dialect::meldeschein::{META_BODY_LIMIT, MetaRequest, extract_meta};

use crate::AuthRejection;
use crate::extract::state_of;
use crate::mount::read_body;

/// A Meldeschein business request: the validated, granted `meta` object and the rest of the body.
///
/// Needs [`AuthMiddleware`](crate::AuthMiddleware) with the Meldeschein gate on the route (the
/// gate loads the user whose grants are checked). Refusals are Meldeschein's own: 401 without a
/// valid JWT, 400 with field errors for a missing or mistyped `meta`, 403 for IDs the user may
/// not post for, 413/415 for the body.
///
/// ```
/// use actix_web::HttpResponse;
/// use authmount_actix::Meta;
///
/// async fn book(Meta(request): Meta) -> HttpResponse {
///     HttpResponse::Created().body(format!("booked for municipality {}", request.meta.gemeinde))
/// }
/// # let _ = actix_web::App::new().route("/api/meldeschein/", actix_web::web::post().to(book));
/// ```
#[derive(Debug)]
pub struct Meta(pub MetaRequest);

impl FromRequest for Meta {
    type Error = AuthRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let payload = web::Payload::from_request(&request, payload).into_inner();
        Box::pin(async move {
            let authenticated = match state_of(&request) {
                Some(AuthState::Authenticated(authenticated)) => authenticated,
                Some(AuthState::Denied(denial)) => return Err(AuthRejection::denied(denial)),
                None => return Err(AuthRejection::missing_middleware(&request)),
            };
            // Unreachable in practice: the middleware converted the same head already.
            let head = crate::convert::request_parts(request.head()).map_err(|_| {
                let refusal = Reply::new(
                    http::StatusCode::BAD_REQUEST,
                    http::HeaderValue::from_static("text/plain; charset=utf-8"),
                    "malformed request head",
                );
                AuthRejection::denied(Arc::new(Denial::new(refusal.into_response(), false)))
            })?;
            let body = match payload {
                Ok(payload) => read_body(&request, payload, META_BODY_LIMIT).await,
                Err(_) => authmount::api::RequestBody::Incomplete,
            };
            extract_meta(&authenticated, &head, &body)
                .await
                .map(Meta)
                .map_err(|refusal| AuthRejection::denied(Arc::new(Denial::new(refusal, false))))
        })
    }
}
