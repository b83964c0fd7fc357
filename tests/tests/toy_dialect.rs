//! CONTRIBUTING.md's recipe for a new dialect, followed: `toy` below is written exactly as
//! `core/src/dialect/toy.rs` would be (with the public API only, so out of tree), and one
//! registry line ([`REGISTRY`]) mounts it beside the built-in dialects. Nothing else changes:
//! the conformance fixture serves its endpoints on both adapters, `/app/toy/whoami` behind its
//! gate, and `/app/any/whoami` (the multi-dialect gate) accepts its tokens.

use authmount::dialect::{BUILT_IN, Registration};
use authmount_conformance::dialect_calls as calls;
use authmount_conformance::{Case, PASSWORD, on_both_adapters_with};
use serde_json::json;

/// A dialect as small as a real one gets: a JSON login answering an opaque token, an endpoint
/// about the user, and a gate for the app's routes (the token in `X-Toy-Token`). Its items are
/// `pub` as in a module of the core.
#[allow(unreachable_pub)]
mod toy {
    use std::sync::Arc;
    use std::time::Duration;

    use authmount::api::{
        Api, ApiError, ApiRequest, ApiResponse, ErrorRenderer, Gate, HandlerResult, Refusal, Reply, Route,
        UserCheck,
    };
    use authmount::carrier::Carrier;
    use authmount::codec::BodyFormat;
    use authmount::dialect::kit::{self, BadLogin};
    use authmount::dialect::{BuildDialect, Dialect, DialectContext};
    use authmount::guard::{Guard, OpaqueVerifier};
    use authmount::services::Services;
    use authmount::store::{TokenKind, TokenRecord};
    use http::request::Parts;
    use http::{HeaderName, Method, StatusCode};
    use serde_json::json;

    pub const NAME: &str = "toy";
    pub const LOGIN_PATH: &str = "/api/toy/login/";
    pub const ME_PATH: &str = "/api/toy/me/";
    pub const TOKEN_HEADER: &str = "x-toy-token";

    /// How the toy endpoints behave.
    #[derive(Debug, Clone)]
    pub struct ToyConfig {
        /// How long a token works (default 1 hour).
        pub token_ttl: Duration,
    }

    impl Default for ToyConfig {
        fn default() -> Self {
            Self { token_ttl: Duration::from_secs(3600) }
        }
    }

    /// `{"error": "<status reason>"}` for every common failure.
    struct ToyRenderer;

    impl ErrorRenderer for ToyRenderer {
        fn render(&self, error: &ApiError, _head: &Parts) -> ApiResponse {
            let reason = error.status().canonical_reason().unwrap_or("error");
            Reply::json(error.status(), &json!({ "error": reason })).into_response()
        }
    }

    /// The dialect. Cheap to clone.
    #[derive(Clone)]
    pub struct Toy {
        inner: Arc<Inner>,
    }

    struct Inner {
        services: Services,
        config: ToyConfig,
        gate: Gate,
    }

    impl Toy {
        pub fn new(services: Services, config: ToyConfig) -> Self {
            let verifier = OpaqueVerifier::new(services.tokens.clone(), TokenKind::Access, NAME);
            let guard = Guard::new().with(Carrier::header(HeaderName::from_static(TOKEN_HEADER)), verifier);
            let gate = Gate::new(guard, Arc::new(ToyRenderer))
                .with_user_check(UserCheck::RequireActive(services.users.clone()));
            Self { inner: Arc::new(Inner { services, config, gate }) }
        }
    }

    impl Dialect for Toy {
        fn name(&self) -> &'static str {
            NAME
        }

        fn api(&self) -> Api {
            let inner = &self.inner;
            Api::new(NAME, Arc::new(ToyRenderer))
                .route(Route::stateful(LOGIN_PATH, &[Method::POST], inner.clone(), Inner::login))
                .route(Route::stateful(ME_PATH, &[Method::GET], inner.clone(), Inner::me))
        }

        fn gate(&self) -> Gate {
            self.inner.gate.clone()
        }
    }

    impl BuildDialect for Toy {
        const NAME: &'static str = NAME;
        type Config = ToyConfig;
        type Error = std::convert::Infallible;

        fn build(context: &DialectContext, config: ToyConfig) -> Result<Self, Self::Error> {
            Ok(Self::new(context.services.clone(), config))
        }
    }

    impl Inner {
        /// `POST /api/toy/login/` `{"username", "password"}` → `{"token"}`.
        async fn login(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
            let head = &request.head;
            let fields = request.decode(&[BodyFormat::Json]).await?.fields;
            let text = |name: &str| fields.get(name).and_then(|value| value.as_str()).unwrap_or_default();
            let bad = |_: BadLogin| {
                Refusal::from(Reply::json(StatusCode::UNAUTHORIZED, &json!({"error": "bad credentials"})))
            };
            let user = kit::log_in(&self.services, head, text("username"), text("password"), bad).await?;
            let now = self.services.clock.now();
            let record = TokenRecord::new(TokenKind::Access, user.id, NAME, now, self.config.token_ttl);
            let token = kit::issue_opaque(&*self.services.tokens, record).await?;
            Ok(Reply::json(StatusCode::OK, &json!({ "token": token.as_str() })).no_store().into_response())
        }

        /// `GET /api/toy/me/` → `{"username"}`.
        async fn me(self: Arc<Self>, request: ApiRequest) -> HandlerResult {
            let user = self.gate.require_user(&request.head).await?;
            Ok(Reply::json(StatusCode::OK, &json!({ "username": user.username })).into_response())
        }
    }
}

/// authmount's registry and the toy's one line.
fn registry() -> Vec<Registration> {
    BUILT_IN.iter().copied().chain([Registration::of::<toy::Toy>()]).collect()
}

/// Logs in as ann through the toy dialect; the token (marked secret in the transcript).
async fn toy_login(t: &Case) -> String {
    let response =
        t.client.post(toy::LOGIN_PATH).json(&json!({"username": "ann", "password": PASSWORD})).send().await;
    response.assert_status(200);
    assert_eq!(response.header("cache-control"), "no-store");
    let token = response.json()["token"].as_str().expect("a token").to_owned();
    t.client.secret(&token);
    token
}

#[tokio::test]
async fn a_registered_dialect_is_served_and_guards_the_app_routes_on_both_adapters() {
    on_both_adapters_with(&registry(), |t| async move {
        let token = toy_login(&t).await;
        let me = t.client.get(toy::ME_PATH).header(toy::TOKEN_HEADER, &token).send().await;
        me.assert_status(200);
        assert_eq!(me.json(), json!({"username": "ann"}));
        let whoami = t.client.get("/app/toy/whoami").header(toy::TOKEN_HEADER, &token).send().await;
        whoami.assert_status(200);
        assert_eq!(whoami.json(), json!({"id": t.fixture.ann.id.0, "username": "ann"}));

        // Its own refusals, in its own shape.
        let wrong =
            t.client.post(toy::LOGIN_PATH).json(&json!({"username": "ann", "password": "nope"})).send().await;
        wrong.assert_status(401);
        assert_eq!(wrong.json(), json!({"error": "bad credentials"}));
        let anonymous = t.client.get(toy::ME_PATH).send().await;
        anonymous.assert_status(401);
        assert_eq!(anonymous.json(), json!({"error": "Unauthorized"}));
        let not_json = t.client.post(toy::LOGIN_PATH).form(&[("username", "ann")]).send().await;
        not_json.assert_status(415);
        let wrong_method = t.client.get(toy::LOGIN_PATH).send().await;
        wrong_method.assert_status(405);
        assert_eq!(wrong_method.header("allow"), "POST");

        // Its tokens are its own: another dialect's gate refuses them.
        let elsewhere = t.client.get("/app/oz/whoami").header("x-forensic-access-token", &token).send().await;
        elsewhere.assert_status(401);
    })
    .await;
}

#[tokio::test]
async fn the_multi_dialect_gate_takes_the_new_dialect_s_tokens_too() {
    on_both_adapters_with(&registry(), |t| async move {
        let token = toy_login(&t).await;
        let any = t.client.get("/app/any/whoami").header(toy::TOKEN_HEADER, &token).send().await;
        any.assert_status(200);
        assert_eq!(any.json(), json!({"id": t.fixture.ann.id.0, "username": "ann"}));
        // The built-in dialects still answer beside it.
        let amcr_token = calls::amcr_token(&t.client, "ann", PASSWORD).await;
        let any = t
            .client
            .get("/app/any/whoami")
            .header("authorization", format!("Bearer {amcr_token}"))
            .send()
            .await;
        any.assert_status(200);
        let anonymous = t.client.get("/app/any/whoami").send().await;
        anonymous.assert_status(401);
    })
    .await;
}
