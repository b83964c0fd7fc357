//! The one generic extractor for values a dialect reads from an authenticated request and its
//! body ([`FromGated`]), and Meldeschein's [`Meta`] on top of it.

use authmount::api::adapter::{FromGated, extract_gated};
use authmount::dialect::meldeschein::MetaRequest;
use axum::extract::{FromRequest, Request};

use crate::AuthRejection;
use crate::router::read_body;

/// A [`FromGated`] value of an authenticated request: the core reads it, this only hands it on.
///
/// Needs [`AuthLayer`](crate::AuthLayer) on the route. Refusals are the dialect's own (401
/// without valid credentials, and whatever `T` refuses in its shape). As it reads the body, it
/// must be the handler's last extractor.
///
/// ```
/// use authmount::dialect::meldeschein::MetaRequest;
/// use authmount_axum::Gated;
///
/// async fn book(Gated(request): Gated<MetaRequest>) -> String {
///     format!("booked for municipality {}", request.meta.gemeinde)
/// }
/// # let _ = axum::Router::<()>::new().route("/api/meldeschein/", axum::routing::post(book));
/// ```
#[derive(Debug)]
pub struct Gated<T>(pub T);

impl<S: Send + Sync, T: FromGated> FromRequest<S> for Gated<T> {
    type Rejection = AuthRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (head, body) = request.into_parts();
        let body = read_body(&head.headers, body, T::BODY_LIMIT);
        let value = extract_gated(head.extensions.get(), head.extensions.get(), &head, body).await;
        value.map(Gated).map_err(|refused| AuthRejection::new(refused, &head))
    }
}

/// A Meldeschein business request: the validated, granted `meta` object and the rest of the body
/// ([`Gated`]`<`[`MetaRequest`]`>`).
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
    type Rejection = AuthRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Gated::from_request(request, state).await.map(|Gated(request)| Meta(request))
    }
}
