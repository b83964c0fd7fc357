//! Mounting an [`Api`] as an axum [`Router`].

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;

use authmount::abuse::ClientAddr;
use authmount::api::{Api, BODY_READ_TIMEOUT, RequestBody};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};

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

/// The body, at most `limit` bytes of it.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> RequestBody {
    let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
    if declared_length(headers).is_some_and(|length| length > limit_u64) {
        return RequestBody::TooLarge;
    }
    let Ok(collected) = tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, limit).collect()).await
    else {
        tracing::debug!("authmount: request body not complete within {BODY_READ_TIMEOUT:?}");
        return RequestBody::Incomplete;
    };
    match collected {
        Ok(collected) => RequestBody::Complete(collected.to_bytes()),
        Err(error) if is_length_limit(error.as_ref()) => RequestBody::TooLarge,
        Err(error) => {
            tracing::debug!(%error, "authmount: request body ended early");
            RequestBody::Incomplete
        }
    }
}

/// The `Content-Length` the client declared, if it is a number.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Whether a body error is a length limit: ours, or one set by an outer layer (such as
/// `tower_http::limit`), possibly wrapped in other errors.
fn is_length_limit(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<LengthLimitError>() {
            return true;
        }
        current = error.source();
    }
    false
}
