//! `JwtService::verify` on arbitrary strings, against HS256, RS256 (public key only) and EdDSA
//! key rings.
//!
//! Checks: no panic, and nothing verifies: without a key no input can carry a valid signature.

#![no_main]

use std::sync::{Arc, OnceLock};

use authmount::clock::ManualClock;
use authmount::token::jwt::{JwtKey, JwtService, KeyRing, TokenType};
use libfuzzer_sys::fuzz_target;

fn services() -> &'static [JwtService] {
    static SERVICES: OnceLock<Vec<JwtService>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let clock = Arc::new(ManualClock::at_unix(1_750_000_000));
        let rsa = include_bytes!("../../core/src/token/testdata/rsa_public.pem");
        let ed_private = include_bytes!("../../core/src/token/testdata/ed25519_private.pem");
        let ed_public = include_bytes!("../../core/src/token/testdata/ed25519_public.pem");
        let keys = [
            JwtKey::hs256(b"fuzzing-secret-of-at-least-32-bytes!").expect("HS256 key"),
            JwtKey::rs256_public_pem(rsa).expect("RS256 public key"),
            JwtKey::eddsa_pem(ed_private, ed_public).expect("EdDSA key pair"),
        ];
        keys.into_iter()
            .map(|key| {
                // A verify-only ring: the RS256 public key cannot sign, so it is a second key.
                let signing = JwtKey::hs256(b"another-fuzzing-secret-of-32-bytes!!").expect("key");
                let ring = KeyRing::new("k0", signing)
                    .expect("ring")
                    .with_verification_key("k1", key)
                    .expect("ring");
                JwtService::new(ring, clock.clone()).with_audience("fuzz")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    for service in services() {
        for expected in [TokenType::Access, TokenType::Refresh] {
            assert!(service.verify(&token, expected).is_err(), "a fuzzed token verified: {token:?}");
        }
    }
});
