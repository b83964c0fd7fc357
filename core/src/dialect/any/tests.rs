//! The multi-dialect gate over the built-in dialects: every dialect's token passes, refusals are
//! DRF-shaped, shared carriers try every verifier.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::*;
use crate::api::{AuthState, Authenticated};
use crate::dialect::{DialectContext, Dialects, Registration, amcr, meldeschein};
use crate::guard::{OpaqueVerifier, TokenVerifier};
use crate::mailer::OutboxMailer;
use crate::services::Services;
use crate::store::{TokenKind, TokenRecord};
use crate::token::OpaqueToken;
use crate::token::jwt::{JwtKey, JwtService, KeyRing, TokenType};
use crate::user::{NewUser, ProfileUpdate, User};

/// The five documented dialects (the built-in ones at the time of writing), explicitly: these
/// cases count carriers.
const FIVE: &[Registration] = &[
    Registration::of::<amcr::Amcr>(),
    Registration::of::<meldeschein::Meldeschein>(),
    Registration::of::<crate::dialect::oz::Oz>(),
    Registration::of::<crate::dialect::tdar::Tdar>(),
    Registration::of::<crate::dialect::minisass::Minisass>(),
];

struct World {
    services: Services,
    jwt: JwtService,
    dialects: Dialects,
    gate: Gate,
    user: User,
}

fn context(services: &Services, jwt: &JwtService) -> DialectContext {
    DialectContext::new(services.clone(), jwt.clone(), Arc::new(OutboxMailer::new()))
}

async fn world() -> World {
    let services = Services::in_memory().expect("services");
    let jwt = JwtService::new(
        KeyRing::new("demo", JwtKey::hs256(&[9; 32]).expect("key")).expect("ring"),
        services.clock.clone(),
    );
    let dialects = Dialects::build(FIVE, &context(&services, &jwt)).expect("dialects");
    let gate = dialects.any_gate(services.users.clone());
    let user = services
        .users
        .create(NewUser::new("ann", SystemTime::now()).with_email("ann@example.org"))
        .await
        .expect("created");
    World { services, jwt, dialects, gate, user }
}

fn head(header: Option<(&str, String)>) -> http::request::Parts {
    let mut request = http::Request::get("/api/whoami");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.body(()).expect("request").into_parts().0
}

async fn amcr_token(world: &World) -> String {
    let token = OpaqueToken::generate().expect("random");
    let record = TokenRecord::new(
        TokenKind::Access,
        world.user.id,
        amcr::AUDIENCE,
        SystemTime::now(),
        Duration::from_secs(60),
    );
    world.services.tokens.put(token.hash(), record).await.expect("stored");
    token.into_string()
}

fn meldeschein_jwt(world: &World) -> String {
    let claims = world
        .jwt
        .new_claims(world.user.id, TokenType::Access, Duration::from_secs(60))
        .expect("claims")
        .with_audience(meldeschein::AUDIENCE);
    world.jwt.sign(&claims).expect("signed")
}

/// Who the gate let in, as a whoami route would answer; or the refusal's status and body.
fn who(authenticated: &Authenticated) -> Value {
    match &authenticated.user {
        Some(user) => json!({ "id": user.id.0, "username": user.username, "email": user.email }),
        None => json!({ "id": authenticated.identity.user_id.0, "username": null, "email": null }),
    }
}

async fn status(gate: &Gate, head: &http::request::Parts) -> (u16, Value) {
    match gate.check(head).await {
        AuthState::Authenticated(authenticated) => (200, who(&authenticated)),
        AuthState::Denied(denial) => {
            let response = denial.to_response();
            (response.status().as_u16(), serde_json::from_slice(response.body()).expect("json"))
        }
    }
}

#[tokio::test]
async fn an_amcr_bearer_token_and_a_meldeschein_jwt_both_pass() {
    let world = world().await;
    let bearer = head(Some(("authorization", format!("Bearer {}", amcr_token(&world).await))));
    let (code, body) = status(&world.gate, &bearer).await;
    assert_eq!(
        (code, body),
        (200, json!({"id": world.user.id.0, "username": "ann", "email": "ann@example.org"}))
    );
    let jwt = head(Some(("authorization", format!("jwt {}", meldeschein_jwt(&world)))));
    assert_eq!(status(&world.gate, &jwt).await.0, 200);
}

#[tokio::test]
async fn refusals_are_drf_shaped_401s() {
    let world = world().await;
    let (code, body) = status(&world.gate, &head(None)).await;
    assert_eq!((code, body), (401, json!({"detail": "Authentication credentials were not provided."})));
    let forged = head(Some(("authorization", "Bearer not-a-token".to_owned())));
    assert_eq!(status(&world.gate, &forged).await, (401, json!({"detail": "Invalid token."})));
    // A Meldeschein JWT under the AMCR scheme is not an AMCR token.
    let crossed = head(Some(("authorization", format!("Bearer {}", meldeschein_jwt(&world)))));
    assert_eq!(status(&world.gate, &crossed).await.0, 401);
    let malformed = head(Some(("authorization", "JWT".to_owned())));
    assert_eq!(status(&world.gate, &malformed).await.0, 401);
}

#[tokio::test]
async fn a_deactivated_user_is_refused() {
    let world = world().await;
    let token = amcr_token(&world).await;
    world
        .services
        .users
        .update_profile(world.user.id, ProfileUpdate { is_active: Some(false), ..Default::default() })
        .await
        .expect("deactivated");
    let bearer = head(Some(("authorization", format!("Bearer {token}"))));
    assert_eq!(status(&world.gate, &bearer).await, (401, json!({"detail": "User inactive or deleted."})));
}

/// A dialect whose tokens also travel as `Authorization: bearer` (case-sensitive), as
/// miniSASS's JWTs do: only its carriers matter here.
struct Other {
    amcr: Arc<dyn Dialect>,
    verifier: Arc<dyn TokenVerifier>,
}

impl Dialect for Other {
    fn name(&self) -> &'static str {
        "other"
    }

    fn api(&self) -> crate::api::Api {
        self.amcr.api()
    }

    fn gate(&self) -> Gate {
        self.amcr.gate()
    }

    fn carriers(&self) -> Vec<(Carrier, Arc<dyn TokenVerifier>)> {
        vec![(Carrier::authorization("Bearer", true), self.verifier.clone())]
    }
}

#[tokio::test]
async fn a_carrier_shared_by_two_dialects_tries_both_verifiers() {
    let world = world().await;
    let verifier = Arc::new(OpaqueVerifier::new(world.services.tokens.clone(), TokenKind::Access, "other"));
    let amcr = world.dialects.get("amcr").expect("amcr").clone();
    let dialects = world.dialects.clone().with(Arc::new(Other { amcr, verifier }));
    let guard = Guard::merged(dialects.iter().flat_map(|dialect| dialect.carriers()));
    assert_eq!(guard.carriers().count(), 5, "Bearer merged: {guard:?}");
    assert!(guard.carriers().any(|c| *c == Carrier::authorization("Bearer", false)));
    let gate = dialects.any_gate(world.services.users.clone());

    let token = OpaqueToken::generate().expect("random");
    let record = TokenRecord::new(
        TokenKind::Access,
        world.user.id,
        "other",
        SystemTime::now(),
        Duration::from_secs(60),
    );
    world.services.tokens.put(token.hash(), record).await.expect("stored");
    let bearer = head(Some(("authorization", format!("Bearer {}", token.as_str()))));
    assert_eq!(status(&gate, &bearer).await.0, 200, "the second verifier accepts it");
    let amcr = head(Some(("authorization", format!("Bearer {}", amcr_token(&world).await))));
    assert_eq!(status(&gate, &amcr).await.0, 200, "the first still does");
}

#[tokio::test]
async fn the_meldeschein_query_token_counts_when_enabled() {
    let world = world().await;
    let config = meldeschein::MeldescheinConfig { query_token: true, ..Default::default() };
    let context = context(&world.services, &world.jwt).with_config(config);
    let gate = Dialects::build(FIVE, &context).expect("dialects").any_gate(world.services.users.clone());
    let uri = format!("/api/whoami?jwt={}", meldeschein_jwt(&world));
    let head = http::Request::get(uri).body(()).expect("request").into_parts().0;
    assert_eq!(status(&gate, &head).await.0, 200);
    // Off by default.
    let head2 = http::Request::get(format!("/api/whoami?jwt={}", meldeschein_jwt(&world)))
        .body(())
        .expect("request")
        .into_parts()
        .0;
    assert_eq!(status(&world.gate, &head2).await.0, 401);
}
