//! The cost of an opaque-token lookup in the memory store, and of the whole guard around it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authmount::carrier::Carrier;
use authmount::guard::{Guard, OpaqueVerifier};
use authmount::store::{MemoryTokenStore, TokenKind, TokenRecord, TokenStore};
use authmount::token::TokenHash;
use authmount::user::UserId;
use criterion::{Criterion, criterion_group, criterion_main};

/// Sessions already in the store when measuring: lookups in a populated map, not an empty one.
const RESIDENT_TOKENS: u64 = 100_000;

fn lookups(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let store = Arc::new(MemoryTokenStore::new());
    let now = SystemTime::now();
    let hour = Duration::from_secs(3_600);
    runtime.block_on(async {
        for i in 0..RESIDENT_TOKENS {
            let record = TokenRecord::new(TokenKind::Access, UserId(i as i64), "amcr", now, hour);
            store.put(TokenHash::of(&format!("token-{i}")), record).await.expect("stored");
        }
    });
    let token = "token-4242";
    let hash = TokenHash::of(token);

    c.bench_function("memory store get (hash given)", |b| {
        b.iter(|| runtime.block_on(store.get(&hash)).expect("lookup").expect("live"))
    });
    c.bench_function("memory store hash + get", |b| {
        b.iter(|| runtime.block_on(store.get(&TokenHash::of(token))).expect("lookup").expect("live"))
    });

    let guard =
        Guard::new().with(Carrier::bearer(), OpaqueVerifier::new(store.clone(), TokenKind::Access, "amcr"));
    let request = http::Request::get("/api/uzivatel-info/")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("request");
    let (parts, ()) = request.into_parts();
    c.bench_function("guard: bearer opaque token, memory store", |b| {
        b.iter(|| runtime.block_on(guard.authenticate(&parts)).expect("authenticated"))
    });
}

criterion_group!(benches, lookups, jwt_gate);
criterion_main!(benches);

/// The whole per-request check of a JWT-protected route: the Meldeschein gate (carrier, cached
/// signature check, claims, revocation list, active-user lookup).
fn jwt_gate(c: &mut Criterion) {
    use authmount::dialect::Dialect;
    use authmount::dialect::meldeschein::{AUDIENCE, Meldeschein, MeldescheinConfig};
    use authmount::services::Services;
    use authmount::token::jwt::{JwtKey, JwtService, KeyRing, TokenType};
    use authmount::user::NewUser;

    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let services = Services::in_memory().expect("services");
    let user = runtime
        .block_on(services.users.create(
            NewUser::new("bench", SystemTime::now()).with_email("bench@example.org").with_attribute(
                "meldeschein",
                serde_json::json!({"gemeinden": [1, 2], "vermieter": [1], "objekte": [1]}),
            ),
        ))
        .expect("user");
    let ring = KeyRing::new("k", JwtKey::hs256(&[9; 32]).expect("key")).expect("ring");
    let jwt = JwtService::new(ring, services.clock.clone());
    let claims = jwt
        .new_claims(user.id, TokenType::Access, Duration::from_secs(3_600))
        .expect("claims")
        .with_audience(AUDIENCE);
    let token = jwt.sign(&claims).expect("signed");
    let users = services.users.clone();
    c.bench_function("memory user store get (a user with grants)", |b| {
        b.iter(|| runtime.block_on(users.get(user.id)).expect("lookup").expect("exists"))
    });
    let gate = Meldeschein::new(services, jwt, MeldescheinConfig::default()).gate();
    let request = http::Request::get("/api/get-config/")
        .header("authorization", format!("JWT {token}"))
        .body(())
        .expect("request");
    let (parts, ()) = request.into_parts();
    c.bench_function("gate: JWT (Meldeschein, cached signature, active user), memory stores", |b| {
        b.iter(|| match runtime.block_on(gate.check(&parts)) {
            authmount::api::AuthState::Authenticated(a) => a,
            authmount::api::AuthState::Denied(_) => panic!("refused"),
        })
    });
}
