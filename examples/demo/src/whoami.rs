//! One gate for every mounted dialect's tokens: what protects `/api/whoami`.
//!
//! The guard holds each dialect's carriers in the order the dialects are mounted. Where two
//! dialects use the same carrier (say `Authorization: Bearer` for an opaque token and for a
//! JWT), the carrier appears once and its token is offered to each dialect's verifier in turn
//! ([`AnyVerifier`]): the first that accepts it decides.

use std::sync::Arc;

use async_trait::async_trait;
use authmount::api::{Authenticated, ErrorRenderer, Gate, Reply, UserCheck};
use authmount::carrier::{Carrier, CarrierKind};
use authmount::dialect::drf::DrfRenderer;
use authmount::guard::{Guard, Identity, InvalidToken, Rejection, TokenVerifier};
use authmount::store::UserStore;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::dialects::Mounted;

/// Offers a token to several verifiers in order; the first that accepts it wins. When all
/// refuse, the most telling refusal is reported (a store outage over an expiry or revocation
/// over "unknown token").
pub struct AnyVerifier {
    verifiers: Vec<Arc<dyn TokenVerifier>>,
}

impl AnyVerifier {
    /// Tries `verifiers` in order.
    pub fn new(verifiers: Vec<Arc<dyn TokenVerifier>>) -> Self {
        Self { verifiers }
    }
}

impl std::fmt::Debug for AnyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnyVerifier").field("verifiers", &self.verifiers.len()).finish()
    }
}

fn weight(rejection: &Rejection) -> u8 {
    match rejection {
        Rejection::Unavailable(_) => 3,
        Rejection::Expired | Rejection::Invalid(InvalidToken::Revoked | InvalidToken::InactiveUser) => 2,
        _ => 1,
    }
}

#[async_trait]
impl TokenVerifier for AnyVerifier {
    async fn verify(&self, token: &str, carrier: CarrierKind) -> Result<Identity, Rejection> {
        let mut refusal: Option<Rejection> = None;
        for verifier in &self.verifiers {
            match verifier.verify(token, carrier).await {
                Ok(identity) => return Ok(identity),
                Err(rejection) => {
                    if refusal.as_ref().is_none_or(|kept| weight(&rejection) > weight(kept)) {
                        refusal = Some(rejection);
                    }
                }
            }
        }
        Err(refusal.unwrap_or(Rejection::Invalid(InvalidToken::Unknown)))
    }
}

/// Two carriers read the same place of a request (the same `Authorization` scheme in any case,
/// the same header, query parameter or cookie).
fn same_place(a: &Carrier, b: &Carrier) -> bool {
    match (a, b) {
        (Carrier::Authorization { scheme: x, .. }, Carrier::Authorization { scheme: y, .. }) => {
            x.eq_ignore_ascii_case(y)
        }
        (Carrier::Header(x), Carrier::Header(y)) => x == y,
        (Carrier::Query(x), Carrier::Query(y)) | (Carrier::Cookie(x), Carrier::Cookie(y)) => x == y,
        _ => false,
    }
}

/// The guard over every carrier of `mounted`, in order, shared carriers merged.
pub fn combined_guard(mounted: &[Mounted]) -> Guard {
    let mut places: Vec<(Carrier, Vec<Arc<dyn TokenVerifier>>)> = Vec::new();
    for (carrier, verifier) in mounted.iter().flat_map(|m| m.carriers.iter()) {
        match places.iter_mut().find(|(known, _)| same_place(known, carrier)) {
            Some((known, verifiers)) => {
                // One merged carrier: a scheme matched in any case if any dialect allows that.
                if let (
                    Carrier::Authorization { case_sensitive: merged, .. },
                    Carrier::Authorization { case_sensitive, .. },
                ) = (known, carrier)
                {
                    *merged &= *case_sensitive;
                }
                verifiers.push(verifier.clone());
            }
            None => places.push((carrier.clone(), vec![verifier.clone()])),
        }
    }
    places.into_iter().fold(Guard::new(), |guard, (carrier, mut verifiers)| {
        let verifier = match verifiers.len() {
            1 => verifiers.remove(0),
            _ => Arc::new(AnyVerifier::new(verifiers)),
        };
        guard.with_shared(carrier, verifier)
    })
}

/// The `WWW-Authenticate` value naming every `Authorization` scheme of `guard`
/// (`Bearer realm="api", JWT realm="api"`).
fn challenge(guard: &Guard) -> HeaderValue {
    let schemes: Vec<String> = guard
        .carriers()
        .filter_map(|carrier| match carrier {
            Carrier::Authorization { scheme, .. } => Some(format!("{scheme} realm=\"api\"")),
            _ => None,
        })
        .collect();
    let value = if schemes.is_empty() { "Bearer realm=\"api\"".to_owned() } else { schemes.join(", ") };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"api\""))
}

/// The gate of `/api/whoami`: any mounted dialect's token, an active user, DRF-style
/// `{"detail": ...}` refusals with a `WWW-Authenticate` naming every scheme.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use authmount::api::AuthState;
/// use authmount::services::Services;
/// use authmount::token::jwt::{JwtKey, JwtService, KeyRing};
/// use authmount_demo::dialects::{self, DialectContext};
///
/// let services = Services::in_memory()?;
/// let jwt = JwtService::new(KeyRing::new("demo", JwtKey::hs256(&[7; 32])?)?, services.clock.clone());
/// let context = DialectContext { services: services.clone(), jwt, config: Default::default() };
/// let gate = authmount_demo::whoami::gate(&dialects::all(&context)?, services.users.clone());
///
/// let anonymous = http::Request::get("/api/whoami").body(())?.into_parts().0;
/// let AuthState::Denied(denial) = gate.check(&anonymous).await else { panic!("no token") };
/// let response = denial.to_response();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="api", JWT realm="api""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn gate(mounted: &[Mounted], users: Arc<dyn UserStore>) -> Gate {
    let guard = combined_guard(mounted);
    let renderer = Arc::new(DrfRenderer::new(challenge(&guard)));
    Gate::new(guard, renderer as Arc<dyn ErrorRenderer>).with_user_check(UserCheck::RequireActive(users))
}

/// The answer of `/api/whoami`: 200 `{"id", "username", "email"}` (e-mail `null` when none),
/// `Cache-Control: no-store` and `Referrer-Policy: no-referrer` (the tDAR key may be in the URL).
pub fn response(authenticated: &Authenticated) -> authmount::api::ApiResponse {
    let body = match &authenticated.user {
        Some(user) => json!({ "id": user.id.0, "username": user.username, "email": user.email }),
        None => json!({ "id": authenticated.identity.user_id.0, "username": null, "email": null }),
    };
    Reply::json(StatusCode::OK, &body)
        .no_store()
        .header(http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"))
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use authmount::api::AuthState;
    use authmount::guard::OpaqueVerifier;
    use authmount::services::Services;
    use authmount::store::{TokenKind, TokenRecord};
    use authmount::token::OpaqueToken;
    use authmount::token::jwt::{JwtKey, JwtService, KeyRing, TokenType};
    use authmount::user::{NewUser, ProfileUpdate};

    use super::*;
    use crate::dialects::{self, DialectContext, LoginRequest};

    struct World {
        services: Services,
        jwt: JwtService,
        mounted: Vec<Mounted>,
        gate: Gate,
        user: authmount::user::User,
    }

    async fn world() -> World {
        let services = Services::in_memory().expect("services");
        let jwt = JwtService::new(
            KeyRing::new("demo", JwtKey::hs256(&[9; 32]).expect("key")).expect("ring"),
            services.clock.clone(),
        );
        let context =
            DialectContext { services: services.clone(), jwt: jwt.clone(), config: Default::default() };
        let mounted = dialects::all(&context).expect("dialects");
        let gate = gate(&mounted, services.users.clone());
        let user = services
            .users
            .create(NewUser::new("ann", SystemTime::now()).with_email("ann@example.org"))
            .await
            .expect("created");
        World { services, jwt, mounted, gate, user }
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
            authmount::dialect::amcr::AUDIENCE,
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
            .with_audience(authmount::dialect::meldeschein::AUDIENCE);
        world.jwt.sign(&claims).expect("signed")
    }

    async fn status(gate: &Gate, head: &http::request::Parts) -> (u16, serde_json::Value) {
        match gate.check(head).await {
            AuthState::Authenticated(authenticated) => {
                let response = response(&authenticated);
                (response.status().as_u16(), serde_json::from_slice(response.body()).expect("json"))
            }
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

    #[tokio::test]
    async fn a_carrier_shared_by_two_dialects_tries_both_verifiers() {
        let world = world().await;
        // A second dialect whose tokens also travel as `Authorization: bearer` (case-sensitive),
        // as miniSASS's JWTs will.
        let other = Arc::new(OpaqueVerifier::new(world.services.tokens.clone(), TokenKind::Access, "other"));
        let second = Mounted {
            name: "other",
            carriers: vec![(Carrier::authorization("Bearer", true), other as Arc<dyn TokenVerifier>)],
            login: |_| LoginRequest {
                path: "/",
                content_type: "application/json",
                body: String::new(),
                cookie_jar: None,
            },
            usage: "",
            ..world.mounted[0].clone()
        };
        let mut mounted = world.mounted.clone();
        mounted.push(second);
        let guard = combined_guard(&mounted);
        assert_eq!(guard.carriers().count(), 5, "Bearer merged: {guard:?}");
        assert!(guard.carriers().any(|c| *c == Carrier::authorization("Bearer", false)));
        let gate = gate(&mounted, world.services.users.clone());

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
    async fn the_most_telling_refusal_is_reported() {
        struct Fixed(fn() -> Rejection);
        #[async_trait]
        impl TokenVerifier for Fixed {
            async fn verify(&self, _token: &str, _carrier: CarrierKind) -> Result<Identity, Rejection> {
                Err((self.0)())
            }
        }
        let any = AnyVerifier::new(vec![
            Arc::new(Fixed(|| Rejection::Invalid(InvalidToken::Unknown))),
            Arc::new(Fixed(|| Rejection::Expired)),
            Arc::new(Fixed(|| Rejection::Invalid(InvalidToken::WrongAudience))),
        ]);
        assert!(matches!(any.verify("t", CarrierKind::Authorization).await, Err(Rejection::Expired)));
        let none = AnyVerifier::new(Vec::new());
        assert!(matches!(
            none.verify("t", CarrierKind::Authorization).await,
            Err(Rejection::Invalid(InvalidToken::Unknown))
        ));
    }

    #[tokio::test]
    async fn the_meldeschein_query_token_counts_when_enabled() {
        let world = world().await;
        let mut config = crate::config::DemoConfig::default();
        config.meldeschein.query_token = true;
        let context = DialectContext { services: world.services.clone(), jwt: world.jwt.clone(), config };
        let gate = gate(&dialects::all(&context).expect("dialects"), world.services.users.clone());
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
}
