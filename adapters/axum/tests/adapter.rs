//! The adapter against a tiny Api and Gate, through `tower::ServiceExt::oneshot`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authmount::api::{Api, ApiError, ApiRequest, ApiResponse, AuthState, ErrorRenderer, Gate, Reply, Route};
use authmount::carrier::Carrier;
use authmount::guard::{Guard, OpaqueVerifier, Rejection};
use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
use authmount::token::TokenHash;
use authmount::user::UserId;
use authmount_axum::extract::MISSING_LAYER_MESSAGE;
use authmount_axum::{AuthLayer, AuthUser, router};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt, service_fn};

const LIMIT: usize = 16;
const GOOD_TOKEN: &str = "good-token";
const WWW_AUTH: &str = "Token realm=\"test\"";

/// A DRF-like dialect: `{"detail": ...}` and `WWW-Authenticate` on 401.
struct TestRenderer;

impl ErrorRenderer for TestRenderer {
    fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
        let detail = match error {
            ApiError::Rejected(Rejection::NotProvided) => "Authentication credentials were not provided.",
            ApiError::Rejected(Rejection::Unavailable(_)) => "Authentication is temporarily unavailable.",
            ApiError::Rejected(_) => "Invalid token.",
            ApiError::MethodNotAllowed { .. } => "Method not allowed.",
            ApiError::BodyTooLarge { .. } => "Request body too large.",
            ApiError::IncompleteBody => "Incomplete body.",
            _ => "Error.",
        };
        let reply = Reply::json(error.status(), &json!({ "detail": detail }));
        match error.status() {
            StatusCode::UNAUTHORIZED => reply.header(WWW_AUTHENTICATE, HeaderValue::from_static(WWW_AUTH)),
            _ => reply,
        }
        .into_response()
    }
}

fn api() -> Api {
    let echo = Route::new("/api/echo/", &[Method::POST], |request: ApiRequest| async move {
        Reply::json(StatusCode::OK, &json!({ "length": request.body.len() }))
            .no_store()
            .append_header(SET_COOKIE, HeaderValue::from_static("a=1; HttpOnly"))
            .append_header(SET_COOKIE, HeaderValue::from_static("b=2; Secure"))
            .into_response()
    })
    .with_options("Echo", "Echoes the body length");
    let items = Route::new("/api/items/{id}/", &[Method::GET], |request: ApiRequest| async move {
        Reply::json(StatusCode::OK, &json!({ "id": request.params.get("id") })).into_response()
    });
    Api::new("test", Arc::new(TestRenderer)).route(echo).route(items).with_body_limit(LIMIT)
}

async fn gate() -> Gate {
    let tokens = Arc::new(MemoryTokenStore::new());
    let record =
        TokenRecord::new(TokenKind::Access, UserId(7), "test", SystemTime::now(), Duration::from_secs(600));
    tokens.put(TokenHash::of(GOOD_TOKEN), record).await.expect("token stored");
    let guard = Guard::new()
        .with(Carrier::authorization("Token", false), OpaqueVerifier::new(tokens, TokenKind::Access, "test"));
    Gate::new(guard, Arc::new(TestRenderer))
}

async fn me(user: AuthUser) -> String {
    format!("user {}", user.user_id())
}

async fn maybe(user: Option<AuthUser>) -> String {
    match user {
        Some(user) => format!("user {}", user.user_id()),
        None => "anonymous".to_owned(),
    }
}

/// The app's own routes behind the layer, one route without it, and the mounted Api.
async fn app() -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .layer(AuthLayer::new(gate().await))
        .route("/unlayered", get(me))
        .merge(router(api()))
}

fn request(method: Method, uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder().method(method).uri(uri).body(body.into()).expect("valid request")
}

fn with_token(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri).header("authorization", format!("Token {token}")).body(Body::empty()).expect("valid")
}

async fn send(app: Router, request: Request<Body>) -> Response {
    app.oneshot(request).await.expect("infallible")
}

async fn body(response: Response) -> Bytes {
    axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body read")
}

async fn json_body(response: Response) -> Value {
    serde_json::from_slice(&body(response).await).expect("JSON body")
}

fn streamed(chunks: Vec<Result<&'static str, std::io::Error>>) -> Body {
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn routes_are_served_with_and_without_the_trailing_slash() {
    for uri in ["/api/echo/", "/api/echo"] {
        let response = send(app().await, request(Method::POST, uri, "hello")).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert_eq!(json_body(response).await, json!({ "length": 5 }), "{uri}");
    }
}

#[tokio::test]
async fn core_headers_come_through_unchanged() {
    let response = send(app().await, request(Method::POST, "/api/echo/", "hi")).await;
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let cookies: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
    assert_eq!(cookies, ["a=1; HttpOnly", "b=2; Secure"]);
}

#[tokio::test]
async fn wrong_method_is_the_cores_405_with_allow() {
    for uri in ["/api/echo/", "/api/echo"] {
        let response = send(app().await, request(Method::GET, uri, Body::empty())).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "POST, OPTIONS");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(json_body(response).await, json!({ "detail": "Method not allowed." }));
    }
    let response = send(app().await, request(Method::DELETE, "/api/items/1/", Body::empty())).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET, HEAD");
}

#[tokio::test]
async fn options_is_answered_by_the_core() {
    let response = send(app().await, request(Method::OPTIONS, "/api/echo", Body::empty())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[ALLOW], "POST, OPTIONS");
    assert_eq!(json_body(response).await["name"], "Echo");
}

#[tokio::test]
async fn body_over_the_limit_by_content_length_is_413_without_reading() {
    // The declared length alone decides: the (empty) body is never read.
    let mut too_long = request(Method::POST, "/api/echo/", Body::empty());
    too_long.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(LIMIT + 1));
    let response = send(app().await, too_long).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_body(response).await, json!({ "detail": "Request body too large." }));

    let exact = request(Method::POST, "/api/echo/", "x".repeat(LIMIT));
    let response = send(app().await, exact).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await, json!({ "length": LIMIT }));

    let over = request(Method::POST, "/api/echo/", "x".repeat(LIMIT + 1));
    assert_eq!(send(app().await, over).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn streamed_body_over_the_limit_is_413() {
    let chunks = vec![Ok("0123456789"), Ok("0123456789")];
    let response = send(app().await, request(Method::POST, "/api/echo/", streamed(chunks))).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let chunks = vec![Ok("01234567"), Ok("89")];
    let response = send(app().await, request(Method::POST, "/api/echo", streamed(chunks))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await, json!({ "length": 10 }));
}

#[tokio::test]
async fn body_that_fails_before_its_end_is_the_cores_400() {
    let chunks = vec![Ok("0123"), Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "gone"))];
    let response = send(app().await, request(Method::POST, "/api/echo/", streamed(chunks))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(response).await, json!({ "detail": "Incomplete body." }));
}

#[tokio::test]
async fn path_params_are_captured() {
    for (uri, id) in [("/api/items/42/", "42"), ("/api/items/42", "42"), ("/api/items/a%20b/", "a b")] {
        let response = send(app().await, request(Method::GET, uri, Body::empty())).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert_eq!(json_body(response).await, json!({ "id": id }), "{uri}");
    }
}

#[tokio::test]
async fn head_is_get_without_a_body() {
    let response = send(app().await, request(Method::HEAD, "/api/items/1/", Body::empty())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn router_merges_into_an_app_with_state() {
    #[derive(Clone)]
    struct AppState(&'static str);
    async fn name(State(state): State<AppState>) -> &'static str {
        state.0
    }
    let app = Router::new().route("/name", get(name)).merge(router(api())).with_state(AppState("app"));
    assert_eq!(body(send(app.clone(), request(Method::GET, "/name", Body::empty())).await).await, "app");
    let response = send(app, request(Method::GET, "/api/items/3", Body::empty())).await;
    assert_eq!(json_body(response).await, json!({ "id": "3" }));
}

#[tokio::test]
async fn auth_user_gets_the_authenticated_user() {
    let response = send(app().await, with_token("/me", GOOD_TOKEN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "user 7");
}

#[tokio::test]
async fn auth_user_refuses_a_bad_token_with_the_dialects_401() {
    let response = send(app().await, with_token("/me", "forged")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], WWW_AUTH);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(json_body(response).await, json!({ "detail": "Invalid token." }));
}

#[tokio::test]
async fn auth_user_refuses_no_token_with_the_dialects_401() {
    let response = send(app().await, request(Method::GET, "/me", Body::empty())).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], WWW_AUTH);
    assert_eq!(
        json_body(response).await,
        json!({ "detail": "Authentication credentials were not provided." })
    );
}

#[tokio::test]
async fn optional_auth_user_is_none_only_without_credentials() {
    let response = send(app().await, request(Method::GET, "/maybe", Body::empty())).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "anonymous");

    let response = send(app().await, with_token("/maybe", GOOD_TOKEN)).await;
    assert_eq!(body(response).await, "user 7");

    let response = send(app().await, with_token("/maybe", "forged")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(response).await, json!({ "detail": "Invalid token." }));

    // A malformed header is refused too, not treated as anonymous.
    let broken = Request::get("/maybe").header("authorization", "Token").body(Body::empty()).expect("valid");
    assert_eq!(send(app().await, broken).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_route_without_the_layer_says_so() {
    let response = send(app().await, with_token("/unlayered", GOOD_TOKEN)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
    let text = body(response).await;
    assert_eq!(text, MISSING_LAYER_MESSAGE);
    assert!(MISSING_LAYER_MESSAGE.contains(".layer(authmount_axum::AuthLayer::new(gate))"));
}

#[tokio::test]
async fn the_layer_works_on_any_tower_service_and_never_refuses() {
    // A plain tower service with a non-axum body: the layer only records the outcome.
    let inner = service_fn(|request: Request<&'static str>| async move {
        let state = match request.extensions().get::<AuthState>() {
            Some(AuthState::Authenticated(who)) => format!("user {}", who.identity.user_id),
            Some(AuthState::Denied(denial)) => format!("denied {}", denial.status().as_u16()),
            None => "none".to_owned(),
        };
        Ok::<_, Infallible>(state)
    });
    let service = AuthLayer::new(gate().await).layer(inner);
    let good =
        Request::get("/").header("authorization", format!("Token {GOOD_TOKEN}")).body("").expect("valid");
    assert_eq!(service.clone().oneshot(good).await, Ok("user 7".to_owned()));
    let anonymous = Request::get("/").body("").expect("valid");
    assert_eq!(service.oneshot(anonymous).await, Ok("denied 401".to_owned()));
}
