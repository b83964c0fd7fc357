//! The demo app on either framework: every dialect's endpoints, the two protected demo routes,
//! the browser pages ([`crate::pages`]) and an access log that writes method, path (never the query), status and time.

use std::sync::Arc;
use std::time::Instant;

use authmount::api::{Api, ApiResponse, Gate, Reply};
use authmount::dialect::meldeschein::MetaRequest;
use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

/// The whoami route (also served with a trailing slash).
pub const WHOAMI_PATH: &str = "/api/whoami";
/// The Meldeschein business route (also served without the trailing slash).
pub const BOOKING_PATH: &str = "/api/meldeschein/";

/// What the server serves.
#[derive(Clone, Debug)]
pub struct DemoApp {
    /// Every mounted dialect's endpoints.
    pub apis: Vec<Api>,
    /// The gate of `GET /api/whoami` (any dialect's token: [`Dialects::any_gate`](authmount::dialect::Dialects::any_gate)).
    pub whoami: Gate,
    /// The gate of `POST /api/meldeschein/` (the Meldeschein gate).
    pub booking: Gate,
    /// The OpenAPI document served at `GET /openapi.json` ([`crate::openapi::document`]), as JSON.
    pub openapi: Arc<str>,
}

/// The answer of `POST /api/meldeschein/`: 201 `{"meta": {...}}` echoing the validated meta
/// object, in the request's negotiated format (JSON or XML).
pub fn booking_response(request: &MetaRequest) -> ApiResponse {
    let meta = &request.meta;
    let mut echoed = json!({ "gemeinde": meta.gemeinde, "vermieter": meta.vermieter, "objekt": meta.objekt });
    if let Some(description) = &meta.description {
        echoed["description"] = description.clone().into();
    }
    Reply::negotiated(StatusCode::CREATED, &json!({ "meta": echoed }), request.format)
        .no_store()
        .into_response()
}

fn log_request(method: &str, path: &str, status: u16, started: Instant) {
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let path = &*loggable_path(path);
    tracing::info!(target: "authmount_demo::access", method, path, status, elapsed_ms, "request");
}

/// `path` as the access log writes it: the `{uid}/{token}/` of a miniSASS reset link replaced
/// by `****` (the token is as good as the password until it is used).
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    use authmount::dialect::minisass::{UPDATE_RESET_PATH, VERIFY_RESET_PATH};
    for template in [VERIFY_RESET_PATH, UPDATE_RESET_PATH] {
        let prefix = template.trim_end_matches("{uid}/{token}/");
        if let Some(start) = path.find(prefix) {
            return format!("{}****", &path[..start + prefix.len()]).into();
        }
    }
    path.into()
}

/// The app as an axum router.
pub fn axum_router(app: DemoApp) -> axum::Router {
    use authmount_axum::{AuthLayer, AuthUser, Meta};
    use axum::routing::{get, post};

    fn convert(response: ApiResponse) -> axum::response::Response {
        let (parts, body) = response.into_parts();
        axum::response::Response::from_parts(parts, axum::body::Body::from(body))
    }

    async fn access_log(
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = next.run(request).await;
        log_request(method.as_str(), &path, response.status().as_u16(), started);
        response
    }

    let mut router = axum::Router::new();
    for api in app.apis {
        router = router.merge(authmount_axum::router(api));
    }
    let whoami = get(|user: AuthUser| async move { convert(crate::whoami::response(&user.0)) });
    let booking = post(|Meta(request): Meta| async move { convert(booking_response(&request)) });
    for page in crate::pages::PAGES {
        router = router.route(page.path, get(move || async move { convert(crate::pages::response(&page)) }));
    }
    let document = app.openapi.clone();
    router = router.route(
        crate::openapi::OPENAPI_PATH,
        get(move || async move { convert(crate::openapi::response(&document)) }),
    );
    router = router.merge(
        axum::Router::new()
            .route(WHOAMI_PATH, whoami.clone())
            .route(&format!("{WHOAMI_PATH}/"), whoami)
            .layer(AuthLayer::new(app.whoami)),
    );
    router = router.merge(
        axum::Router::new()
            .route(BOOKING_PATH, booking.clone())
            .route(BOOKING_PATH.trim_end_matches('/'), booking)
            .layer(AuthLayer::new(app.booking)),
    );
    router.layer(axum::middleware::from_fn(access_log))
}

fn actix_response(response: ApiResponse) -> actix_web::HttpResponse<Bytes> {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let (parts, body) = response.into_parts();
    let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut converted = actix_web::HttpResponse::with_body(status, body);
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_str().as_bytes()), HeaderValue::from_bytes(value.as_bytes()))
        {
            converted.headers_mut().append(name, value);
        }
    }
    converted
}

/// The app for an actix-web `App::configure`.
pub fn actix_configure(app: DemoApp) -> impl Fn(&mut actix_web::web::ServiceConfig) + Clone {
    use actix_web::web;
    use authmount_actix::{AuthMiddleware, AuthUser, Meta};

    let app = Arc::new(app);
    move |config: &mut web::ServiceConfig| {
        // actix-web tries resources in the order they were registered, so the app's own routes
        // come first: a request to them is then not matched against every dialect route (some
        // of which have path parameters) before its own.
        for page in crate::pages::PAGES {
            let answer = move || async move { actix_response(crate::pages::response(&page)) };
            config
                .service(web::resource(page.path).route(web::get().to(answer)).route(web::head().to(answer)));
        }
        let document = app.openapi.clone();
        let openapi = move || {
            let document = document.clone();
            async move { actix_response(crate::openapi::response(&document)) }
        };
        config.service(
            web::resource(crate::openapi::OPENAPI_PATH)
                .route(web::get().to(openapi.clone()))
                .route(web::head().to(openapi)),
        );
        config.service(
            web::resource(vec![WHOAMI_PATH.to_owned(), format!("{WHOAMI_PATH}/")])
                .wrap(AuthMiddleware::new(app.whoami.clone()))
                .route(
                    web::get()
                        .to(|user: AuthUser| async move { actix_response(crate::whoami::response(&user.0)) }),
                ),
        );
        config.service(
            web::resource(vec![BOOKING_PATH.to_owned(), BOOKING_PATH.trim_end_matches('/').to_owned()])
                .wrap(AuthMiddleware::new(app.booking.clone()))
                .route(
                    web::post()
                        .to(|Meta(request): Meta| async move { actix_response(booking_response(&request)) }),
                ),
        );
        for api in &app.apis {
            authmount_actix::configure(api.clone())(config);
        }
    }
}

/// The access log as an actix-web middleware (`App::wrap(from_fn(actix_access_log))`).
pub(crate) async fn actix_access_log(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let response = next.call(request).await;
    let status = match &response {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    log_request(&method, &path, status, started);
    response
}

#[cfg(test)]
mod tests {
    use authmount::codec::ResponseFormat;
    use authmount::dialect::meldeschein::Meta;

    use super::*;

    #[test]
    fn reset_tokens_are_masked_in_the_access_log() {
        assert_eq!(
            loggable_path("/authentication/api/verify-password-reset/MQ/s3cret-token/"),
            "/authentication/api/verify-password-reset/****"
        );
        assert_eq!(
            loggable_path("/authentication/api/update-password-reset/MQ/s3cret-token"),
            "/authentication/api/update-password-reset/****"
        );
        assert_eq!(loggable_path("/api/whoami"), "/api/whoami");
    }

    #[test]
    fn the_booking_answer_echoes_the_meta_object() {
        let request = MetaRequest {
            meta: Meta { gemeinde: 1, vermieter: 2, objekt: 3, description: Some("Zimmer 4".into()) },
            data: serde_json::Map::new(),
            format: ResponseFormat::Json,
        };
        let response = booking_response(&request);
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(
            body,
            json!({"meta": {"gemeinde": 1, "vermieter": 2, "objekt": 3, "description": "Zimmer 4"}})
        );
        let xml = booking_response(&MetaRequest { format: ResponseFormat::Xml, ..request });
        assert!(std::str::from_utf8(xml.body()).expect("utf-8").contains("<gemeinde>1</gemeinde>"));
    }
}
