//! The one generic extractor for values a dialect reads from an authenticated request and its
//! body ([`FromGated`]), and Meldeschein's [`Meta`] on top of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use authmount::api::adapter::{CheckedBy, FromGated, extract_gated};
use authmount::api::{AuthState, Denial, Reply, RequestBody};
use authmount::dialect::meldeschein::MetaRequest;

use crate::AuthRejection;
use crate::mount::read_body;

/// A [`FromGated`] value of an authenticated request: the core reads it, this only hands it on.
///
/// Needs [`AuthMiddleware`](crate::AuthMiddleware) on the route. Refusals are the dialect's own
/// (401 without valid credentials, and whatever `T` refuses in its shape).
///
/// ```
/// use authmount::dialect::meldeschein::MetaRequest;
/// use authmount_actix::Gated;
///
/// async fn book(Gated(request): Gated<MetaRequest>) -> String {
///     format!("booked for municipality {}", request.meta.gemeinde)
/// }
/// # let _ = actix_web::App::new().route("/api/meldeschein/", actix_web::web::post().to(book));
/// ```
#[derive(Debug)]
pub struct Gated<T>(pub T);

impl<T: FromGated> FromRequest for Gated<T> {
    type Error = AuthRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let payload = web::Payload::from_request(&request, payload).into_inner();
        Box::pin(async move {
            let state = request.extensions().get::<AuthState>().cloned();
            let gate = request.extensions().get::<CheckedBy>().cloned();
            // Unreachable in practice: the middleware converted the same head already.
            let head = crate::convert::request_parts(request.head()).map_err(|_| {
                let refusal = Reply::new(
                    http::StatusCode::BAD_REQUEST,
                    http::HeaderValue::from_static("text/plain; charset=utf-8"),
                    "malformed request head",
                );
                AuthRejection::denied(Arc::new(Denial::new(refusal.into_response(), false)))
            })?;
            let body = async {
                match payload {
                    Ok(payload) => read_body(&request, payload, T::BODY_LIMIT).await,
                    Err(_) => RequestBody::Incomplete,
                }
            };
            let value = extract_gated(state.as_ref(), gate.as_ref(), &head, body).await;
            value.map(Gated).map_err(|refused| AuthRejection::new(refused, &request))
        })
    }
}

/// A Meldeschein business request: the validated, granted `meta` object and the rest of the body
/// ([`Gated`]`<`[`MetaRequest`]`>`).
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
        let gated = Gated::<MetaRequest>::from_request(request, payload);
        Box::pin(async move { gated.await.map(|Gated(request)| Meta(request)) })
    }
}
