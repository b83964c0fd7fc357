//! Mounting an [`Api`] into an actix-web app.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, HttpResponse, web};
use authmount::abuse::ClientAddr;
use authmount::api::adapter::{self, BodyError};
use authmount::api::{Api, RequestBody};
use futures_util::StreamExt;

use crate::convert;

/// Mounts every route of `api`: the configuration function for
/// [`App::configure`](actix_web::App::configure).
///
/// Each route is registered at both of its [`Route::paths`](authmount::api::Route::paths) (with
/// and without the trailing slash) for every method, so the method check (405 with `Allow`),
/// `OPTIONS` and `HEAD` are decided by the core, as are the body limit (413) and every error
/// shape. The handler uses no actix extractor that can fail, so no actix-specific error answer
/// ever reaches a client of these routes.
///
/// The body is read chunk by chunk up to [`Api::body_limit`]: a `Content-Length` over the limit
/// is refused without reading, a longer body is cut off at the limit (both
/// [`RequestBody::TooLarge`]), and a body that breaks off is [`RequestBody::Incomplete`].
///
/// Mount it at the root of the app, not inside a `web::scope`: route patterns are the dialect's
/// documented absolute paths, and the core matches path parameters against the full request path.
/// actix-web tries resources in registration order and matches patterns with parameters by
/// regex: register the app's own busy routes before these.
///
/// The returned function is cheap to clone and `Send`, so it can be built once and cloned into
/// each worker's app inside `HttpServer::new(move || ...)`.
pub fn configure(api: Api) -> impl Fn(&mut web::ServiceConfig) + Clone {
    let api = Arc::new(api);
    move |config: &mut web::ServiceConfig| {
        for (index, route) in api.routes().iter().enumerate() {
            for path in route.paths() {
                let api = Arc::clone(&api);
                let handler = move |request: HttpRequest, payload: web::Payload| {
                    let api = Arc::clone(&api);
                    async move { answer(&api, index, request, payload).await }
                };
                config.service(web::resource(path).route(web::route().to(handler)));
            }
        }
    }
}

/// Translates one request for route `index`, calls the core, translates the answer back.
async fn answer(api: &Api, index: usize, request: HttpRequest, payload: web::Payload) -> HttpResponse {
    let mut head = match convert::request_parts(request.head()) {
        Ok(head) => head,
        Err(error) => {
            tracing::warn!(%error, "authmount: request head not translatable");
            return convert::plain_text(StatusCode::BAD_REQUEST, error.to_string());
        }
    };
    // The socket peer, for the per-client login limit and the audit events.
    if let Some(peer) = request.head().peer_addr {
        head.extensions.insert(ClientAddr(peer));
    }
    let body = read_body(&request, payload, api.body_limit()).await;
    convert::response(api.call(index, head, body).await).map_into_boxed_body()
}

/// Reads the body up to `limit` bytes ([`adapter::read_body`]).
pub(crate) async fn read_body(request: &HttpRequest, payload: web::Payload, limit: usize) -> RequestBody {
    let content_length = request.headers().get(CONTENT_LENGTH).map(|value| value.as_bytes());
    let chunks = payload.map(|chunk| chunk.map_err(|error| BodyError::Broken(Box::new(error))));
    adapter::read_body(content_length, chunks, limit).await
}
