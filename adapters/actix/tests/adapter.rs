//! The adapter against a tiny API and gate: every translation the crate does, end to end through
//! actix's own service stack.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpMessage, web};
use authmount::api::{Api, ApiError, ApiRequest, ApiResponse, AuthState, ErrorRenderer, Gate, Reply, Route};
use authmount::carrier::Carrier;
use authmount::guard::{Guard, OpaqueVerifier};
use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
use authmount::token::TokenHash;
use authmount::user::UserId;
use authmount_actix::{AuthMiddleware, AuthUser, MaybeAuthUser, configure};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "valid-token-of-user-7";
const LIMIT: usize = 16;

/// A DRF-like JSON error shape, with `WWW-Authenticate` on 401s.
struct JsonErrors;

impl ErrorRenderer for JsonErrors {
    fn render(&self, error: &ApiError, _head: &http::request::Parts) -> ApiResponse {
        let detail = match error {
            ApiError::Rejected(rejection) => rejection.to_string(),
            other => format!("{other:?}"),
        };
        let reply = Reply::json(error.status(), &json!({ "detail": detail }));
        match error {
            ApiError::Rejected(_) => {
                reply.header(header_1x("www-authenticate"), HeaderValue::from_static("Token"))
            }
            _ => reply,
        }
        .into_response()
    }
}

fn header_1x(name: &'static str) -> http::HeaderName {
    http::HeaderName::from_static(name)
}

fn api() -> Api {
    let echo = Route::new("/api/echo/", &[Method::POST], |request: ApiRequest| async move {
        Reply::json(StatusCode::OK, &json!({ "length": request.body.len() }))
            .append_header(header_1x("set-cookie"), HeaderValue::from_static("a=1; Path=/"))
            .append_header(header_1x("set-cookie"), HeaderValue::from_static("b=2; Path=/"))
            .into_response()
    })
    .with_options("Echo", "Echoes the body length.");
    let items = Route::new("/api/items/{id}/", &[Method::GET], |request: ApiRequest| async move {
        let tags: Vec<&str> =
            request.head.headers.get_all("x-tag").iter().filter_map(|v| v.to_str().ok()).collect();
        let body = json!({
            "id": request.params.get("id"),
            "query": request.head.uri.query(),
            "tags": tags,
            "version": format!("{:?}", request.head.version),
        });
        Reply::json(StatusCode::OK, &body).into_response()
    });
    Api::new("test", Arc::new(JsonErrors)).route(echo).route(items).with_body_limit(LIMIT)
}

async fn gate() -> Gate {
    let tokens = Arc::new(MemoryTokenStore::new());
    let record =
        TokenRecord::new(TokenKind::Access, UserId(7), "test", SystemTime::now(), Duration::from_secs(600));
    tokens.put(TokenHash::of(TOKEN), record).await.expect("token stored");
    let guard = Guard::new().with(Carrier::bearer(), OpaqueVerifier::new(tokens, TokenKind::Access, "test"));
    Gate::new(guard, Arc::new(JsonErrors))
}

fn app(
    gate: Gate,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .configure(configure(api()))
        .service(
            web::scope("/app")
                .wrap(AuthMiddleware::new(gate))
                .route("/me", web::get().to(|user: AuthUser| async move { user.user_id().to_string() }))
                .route(
                    "/maybe",
                    web::get().to(|user: MaybeAuthUser| async move {
                        user.user_id().map_or("anonymous".to_owned(), |id| id.to_string())
                    }),
                )
                .route("/open", web::get().to(|| async { "open" })),
        )
        .route("/bare", web::get().to(|user: AuthUser| async move { user.user_id().to_string() }))
}

async fn json_of(body: impl MessageBody) -> Value {
    let bytes = body.try_into_bytes().unwrap_or_else(|_| panic!("test bodies are in memory"));
    serde_json::from_slice(&bytes).expect("a JSON body")
}

fn one(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(&name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

fn all(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers.get_all(name).map(|v| v.to_str().expect("ASCII").to_owned()).collect()
}

/// What the gate itself answers for a request with these headers: the bytes an extractor must
/// send unchanged.
async fn expected_denial(gate: &Gate, authorization: Option<&str>) -> ApiResponse {
    let mut request = http::Request::get("/app/me");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let (head, ()) = request.body(()).expect("valid request").into_parts();
    match gate.check(&head).await {
        AuthState::Denied(denial) => denial.to_response(),
        AuthState::Authenticated(_) => panic!("expected a denial"),
    }
}

#[actix_web::test]
async fn routes_are_served_with_and_without_the_trailing_slash() {
    let app = test::init_service(app(gate().await)).await;
    for path in ["/api/echo/", "/api/echo"] {
        let request = TestRequest::post().uri(path).set_payload("hello").to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(one(response.headers(), header::CONTENT_TYPE), "application/json");
        assert_eq!(json_of(response.into_body()).await, json!({ "length": 5 }));
    }
}

#[actix_web::test]
async fn repeated_response_headers_all_arrive() {
    let app = test::init_service(app(gate().await)).await;
    let request = TestRequest::post().uri("/api/echo/").set_payload("x").to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(all(response.headers(), "set-cookie"), ["a=1; Path=/", "b=2; Path=/"]);
}

#[actix_web::test]
async fn the_core_decides_methods_options_and_head() {
    let app = test::init_service(app(gate().await)).await;

    let response = test::call_service(&app, TestRequest::get().uri("/api/echo/").to_request()).await;
    assert_eq!(response.status(), 405);
    assert_eq!(one(response.headers(), header::ALLOW), "POST, OPTIONS");
    assert_eq!(one(response.headers(), header::CONTENT_TYPE), "application/json");
    assert!(
        json_of(response.into_body()).await["detail"].as_str().expect("detail").contains("MethodNotAllowed")
    );

    let response = test::call_service(&app, TestRequest::delete().uri("/api/items/1").to_request()).await;
    assert_eq!(response.status(), 405);
    assert_eq!(one(response.headers(), header::ALLOW), "GET, HEAD");

    let options = TestRequest::default().method(actix_web::http::Method::OPTIONS).uri("/api/echo");
    let response = test::call_service(&app, options.to_request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(one(response.headers(), header::ALLOW), "POST, OPTIONS");
    assert_eq!(json_of(response.into_body()).await["name"], "Echo");

    let head = TestRequest::default().method(actix_web::http::Method::HEAD).uri("/api/items/7/");
    let response = test::call_service(&app, head.to_request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(one(response.headers(), header::CONTENT_TYPE), "application/json");
    assert!(test::read_body(response).await.is_empty(), "HEAD has no body");
}

#[actix_web::test]
async fn path_params_query_repeated_headers_and_version_reach_the_core() {
    let app = test::init_service(app(gate().await)).await;
    for path in ["/api/items/a%20b/?x=1&y=2", "/api/items/a%20b?x=1&y=2"] {
        let request = TestRequest::get()
            .uri(path)
            .append_header(("x-tag", "one"))
            .append_header(("x-tag", "two"))
            .version(actix_web::http::Version::HTTP_10)
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 200, "{path}");
        let body = json_of(response.into_body()).await;
        assert_eq!(
            body,
            json!({ "id": "a b", "query": "x=1&y=2", "tags": ["one", "two"], "version": "HTTP/1.0" })
        );
    }
}

#[actix_web::test]
async fn bodies_over_the_limit_are_413() {
    let app = test::init_service(app(gate().await)).await;

    let exact = TestRequest::post().uri("/api/echo/").set_payload(vec![b'a'; LIMIT]).to_request();
    assert_eq!(test::call_service(&app, exact).await.status(), 200);

    let over = TestRequest::post().uri("/api/echo/").set_payload(vec![b'a'; LIMIT + 1]).to_request();
    let response = test::call_service(&app, over).await;
    assert_eq!(response.status(), 413);
    assert!(json_of(response.into_body()).await["detail"].as_str().expect("detail").contains("BodyTooLarge"));

    // A declared length over the limit is refused without reading (there is nothing to read).
    let declared =
        TestRequest::post().uri("/api/echo/").insert_header((header::CONTENT_LENGTH, "1000000")).to_request();
    assert_eq!(test::call_service(&app, declared).await.status(), 413);
}

fn streamed(chunks: Vec<Result<Bytes, PayloadError>>) -> actix_web::dev::Payload {
    let stream: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::iter(chunks));
    actix_web::dev::Payload::from(stream)
}

#[actix_web::test]
async fn bodies_without_content_length_are_read_up_to_the_limit() {
    let app = test::init_service(app(gate().await)).await;
    let chunk = || Ok(Bytes::from_static(b"0123456789"));

    let request = TestRequest::post().uri("/api/echo/").to_request();
    let (request, _) = request.replace_payload(streamed(vec![chunk()]));
    assert!(request.headers().get(header::CONTENT_LENGTH).is_none());
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response.into_body()).await, json!({ "length": 10 }));

    let request = TestRequest::post().uri("/api/echo/").to_request();
    let (request, _) = request.replace_payload(streamed(vec![chunk(), chunk(), chunk()]));
    assert_eq!(test::call_service(&app, request).await.status(), 413);

    let request = TestRequest::post().uri("/api/echo/").to_request();
    let (request, _) = request.replace_payload(streamed(vec![chunk(), Err(PayloadError::Incomplete(None))]));
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 400, "a body that breaks off is the core's 400");
    assert!(
        json_of(response.into_body()).await["detail"].as_str().expect("detail").contains("IncompleteBody")
    );
}

#[actix_web::test]
async fn auth_user_gets_the_user_or_the_gates_refusal_byte_for_byte() {
    let gate = gate().await;
    let app = test::init_service(app(gate.clone())).await;

    let ok = TestRequest::get().uri("/app/me").insert_header(("authorization", format!("Bearer {TOKEN}")));
    let response = test::call_service(&app, ok.to_request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(test::read_body(response).await, "7");

    for authorization in [Some("Bearer not-a-token"), None] {
        let mut request = TestRequest::get().uri("/app/me");
        if let Some(value) = authorization {
            request = request.insert_header(("authorization", value));
        }
        let response = test::call_service(&app, request.to_request()).await;
        let expected = expected_denial(&gate, authorization).await;
        assert_eq!(response.status().as_u16(), 401, "{authorization:?}");
        assert_eq!(response.status().as_u16(), expected.status().as_u16());
        assert_eq!(one(response.headers(), header::WWW_AUTHENTICATE), "Token");
        assert_eq!(one(response.headers(), header::CONTENT_TYPE), "application/json");
        assert_eq!(response.headers().len(), expected.headers().len(), "no header added or lost");
        assert_eq!(test::read_body(response).await, expected.body(), "{authorization:?}");
    }
    let no_token = expected_denial(&gate, None).await;
    assert_eq!(
        serde_json::from_slice::<Value>(no_token.body()).expect("JSON")["detail"],
        "Authentication credentials were not provided."
    );
}

#[actix_web::test]
async fn maybe_auth_user_is_none_only_without_credentials() {
    let gate = gate().await;
    let app = test::init_service(app(gate.clone())).await;

    let response = test::call_service(&app, TestRequest::get().uri("/app/maybe").to_request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(test::read_body(response).await, "anonymous");

    let ok = TestRequest::get().uri("/app/maybe").insert_header(("authorization", format!("Bearer {TOKEN}")));
    assert_eq!(test::read_body(test::call_service(&app, ok.to_request()).await).await, "7");

    let bad =
        TestRequest::get().uri("/app/maybe").insert_header(("authorization", "Bearer revoked-or-wrong"));
    let response = test::call_service(&app, bad.to_request()).await;
    assert_eq!(response.status(), 401);
    let expected = expected_denial(&gate, Some("Bearer revoked-or-wrong")).await;
    assert_eq!(test::read_body(response).await, expected.body());
}

#[actix_web::test]
async fn the_middleware_never_refuses_by_itself() {
    let app = test::init_service(app(gate().await)).await;
    let bad = TestRequest::get().uri("/app/open").insert_header(("authorization", "Bearer nope"));
    let response = test::call_service(&app, bad.to_request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(test::read_body(response).await, "open");
}

#[actix_web::test]
async fn a_missing_middleware_is_a_500_that_says_so() {
    let app = test::init_service(app(gate().await)).await;
    let request = TestRequest::get().uri("/bare").insert_header(("authorization", format!("Bearer {TOKEN}")));
    let response = test::call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), 500);
    assert_eq!(one(response.headers(), header::CONTENT_TYPE), "text/plain; charset=utf-8");
    let body = test::read_body(response).await;
    assert_eq!(
        body,
        "authmount: no AuthMiddleware ran for this route; add `.wrap(authmount_actix::AuthMiddleware::new(gate))`"
    );
}
