//! JWT sign/verify and token hashing costs.
//!
//! `cargo bench -p authmount --bench jwt -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use authmount::clock::ManualClock;
use authmount::token::TokenHash;
use authmount::token::jwt::{JwtKey, JwtService, KeyRing, TokenType};
use authmount::user::UserId;
use criterion::{Criterion, criterion_group, criterion_main};

const ED_PRIVATE: &[u8] = include_bytes!("../src/token/testdata/ed25519_private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../src/token/testdata/ed25519_public.pem");
const RSA_PRIVATE: &[u8] = include_bytes!("../src/token/testdata/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../src/token/testdata/rsa_public.pem");
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn service(key: JwtKey) -> JwtService {
    let ring = KeyRing::new("k1", key).expect("key ring");
    JwtService::new(ring, Arc::new(ManualClock::at_unix(1_700_000_000)))
}

/// A token shaped like the dialects' access tokens: the core claims plus username and e-mail.
fn token(jwt: &JwtService) -> String {
    let claims = jwt
        .new_claims(UserId(42), TokenType::Access, Duration::from_secs(300))
        .expect("claims")
        .with_claim("username", "ann")
        .with_claim("email", "ann@example.org");
    jwt.sign(&claims).expect("sign")
}

fn bench_verify(c: &mut Criterion, name: &str, key: JwtKey) {
    let jwt = service(key);
    let token = token(&jwt);
    c.bench_function(name, |b| b.iter(|| jwt.verify(black_box(&token), TokenType::Access).expect("verify")));
}

fn benches(c: &mut Criterion) {
    bench_verify(c, "jwt/verify/HS256", JwtKey::hs256(SECRET).expect("hs256"));
    bench_verify(c, "jwt/verify/EdDSA", JwtKey::eddsa_pem(ED_PRIVATE, ED_PUBLIC).expect("ed"));
    bench_verify(c, "jwt/verify/RS256", JwtKey::rs256_pem(RSA_PRIVATE, RSA_PUBLIC).expect("rs"));

    let jwt = service(JwtKey::hs256(SECRET).expect("hs256"));
    let claims = jwt
        .new_claims(UserId(42), TokenType::Access, Duration::from_secs(300))
        .expect("claims")
        .with_claim("username", "ann")
        .with_claim("email", "ann@example.org");
    c.bench_function("jwt/sign/HS256", |b| b.iter(|| jwt.sign(black_box(&claims)).expect("sign")));

    let presented = "Jx3nLq0cV7o2Tn0mWk8yq1bXo4eYp9sRzAa6dFhGuKc";
    c.bench_function("token/TokenHash::of", |b| b.iter(|| TokenHash::of(black_box(presented))));
}

criterion_group!(jwt, benches);
criterion_main!(jwt);
