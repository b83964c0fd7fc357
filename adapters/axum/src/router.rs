//! Mounting an [`Api`] as an axum [`Router`].

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;

use authmount::abuse::ClientAddr;
use authmount::api::adapter::{self, BodyError};
use authmount::api::{Api, RequestBody};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;
use futures_util::StreamExt;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderValue};
use http_body_util::LengthLimitError;

/// Mounts every route of `api` at both of its [`Route::paths`](authmount::api::Route::paths)
/// (with and without the trailing slash).
///
/// Each path answers every method (`axum::routing::any`): the method check (405 with `Allow`),
/// `OPTIONS`, `HEAD` and every other decision belong to [`Api::call`], so axum and actix answer
/// alike. The handler only translates:
///
/// - a `Content-Length` above [`Api::body_limit`] is [`RequestBody::TooLarge`] without reading
///   the body;
/// - otherwise the body is read up to the limit: a longer body (e.g. chunked, without
///   `Content-Length`) is [`RequestBody::TooLarge`], a body that fails before its end is
///   [`RequestBody::Incomplete`];
/// - the core's `http::Response<Bytes>` is sent unchanged (status, headers, body).
///
/// The router has no state of its own, so it merges into any app:
/// `Router::new().merge(authmount_axum::router(api))`. Like [`Router::route`], building it (or
/// merging it) panics if two routes claim the same path.
pub fn router<S>(api: Api) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let api = Arc::new(api);
    let mut router = Router::new();
    for (index, route) in api.routes().iter().enumerate() {
        let shared = Arc::clone(&api);
        let handler = any(move |request: Request| {
            let api = Arc::clone(&shared);
            async move { serve(&api, index, request).await }
        });
        for path in route.paths() {
            router = router.route(&path, handler.clone());
        }
    }
    router
}

/// Reads the body as the core expects it and answers with the core's response.
async fn serve(api: &Api, index: usize, request: Request) -> Response {
    let (mut head, body) = request.into_parts();
    // The socket peer (known when the app serves with `into_make_service_with_connect_info`),
    // for the per-client login limit and the audit events.
    if let Some(ConnectInfo(peer)) = head.extensions.get::<ConnectInfo<SocketAddr>>().copied() {
        head.extensions.insert(ClientAddr(peer));
    }
    let body = read_body(&head.headers, body, api.body_limit()).await;
    api.call(index, head, body).await.map(Body::from)
}

/// The body, at most `limit` bytes of it ([`adapter::read_body`]). A limit set by an outer
/// layer (such as `tower_http::limit`) reads as [`BodyError::TooLarge`] too.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> RequestBody {
    let chunks = body.into_data_stream().map(|chunk| chunk.map_err(classify));
    adapter::read_body(headers.get(CONTENT_LENGTH).map(HeaderValue::as_bytes), chunks, limit).await
}

/// A body error as the core takes it: a length limit (ours, or one set by an outer layer,
/// possibly wrapped in other errors) or a broken body.
fn classify(error: axum::Error) -> BodyError {
    let mut current: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(cause) = current {
        if cause.is::<LengthLimitError>() {
            return BodyError::TooLarge;
        }
        current = cause.source();
    }
    BodyError::Broken(Box::new(error))
}
